// The C++ side of the Python <-> C++ named pipe tests (test_named.py).
//
//   named_peer send NAME COUNT   opens NAME's sending side, sends "cpp <i>"
//                                for i in [0, COUNT), closes
//   named_peer recv NAME COUNT   opens NAME's receiving side, receives COUNT
//                                messages and prints each on its own line
// Exit status 0 on success; errors go to stderr.

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

#include "buffered_pipe/buffered_pipe.h"

namespace {

int Fail(const absl::Status& status) {
  std::cerr << "named_peer: " << status << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: named_peer send|recv NAME COUNT\n";
    return 2;
  }
  const std::string mode = argv[1];
  const std::string name = argv[2];
  const int count = std::atoi(argv[3]);
  const bool sending = mode == "send";
  absl::StatusOr<buffered_pipe::PipeEnd> end = buffered_pipe::OpenNamedPipe(
      name, sending ? buffered_pipe::kSendingSide : buffered_pipe::kReceivingSide);
  if (!end.ok()) return Fail(end.status());
  if (absl::Status status = end->wait_for_peer(std::chrono::seconds(30)); !status.ok()) {
    return Fail(status);
  }
  for (int i = 0; i < count; ++i) {
    if (sending) {
      if (absl::Status status = end->send_bytes("cpp " + std::to_string(i)); !status.ok()) {
        return Fail(status);
      }
    } else {
      absl::StatusOr<std::string> message = end->recv_bytes_for(std::chrono::seconds(30));
      if (!message.ok()) return Fail(message.status());
      std::cout << *message << "\n";
    }
  }
  return 0;
}
