// A separate executable that opens a named pipe by name, as an unrelated
// process would:
//
//   named_peer NAME first|second send|recv COUNT [wait]
//
// wait: after opening, wait (up to 30 s) for the other side to open.
// send: sends COUNT messages ShortMessage(i, i % 700) and exits.
// recv: receives COUNT messages, checks each, then expects end of stream.
// Exit status 0 on success; the reason of a failure goes to stderr.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "buffered_pipe/pipe.h"
#include "buffered_pipe/status.h"
#include "test_support.h"

int main(int argc, char** argv) {
  if (argc != 5 && argc != 6) {
    std::fprintf(stderr, "usage: named_peer NAME first|second send|recv COUNT [wait]\n");
    return 2;
  }
  const std::string name = argv[1];
  const buffered_pipe::Side side =
      std::string(argv[2]) == "first" ? buffered_pipe::Side::kFirst : buffered_pipe::Side::kSecond;
  const bool send = std::string(argv[3]) == "send";
  const int count = std::atoi(argv[4]);
  absl::StatusOr<buffered_pipe::PipeEnd> end = buffered_pipe::OpenNamedPipe(name, side);
  if (!end.ok()) {
    std::fprintf(stderr, "open: %s\n", end.status().ToString().c_str());
    return 1;
  }
  if (argc == 6 && std::string(argv[5]) == "wait") {
    if (absl::Status status = end->wait_for_peer(std::chrono::seconds(30)); !status.ok()) {
      std::fprintf(stderr, "wait_for_peer: %s\n", status.ToString().c_str());
      return 1;
    }
  }
  for (int i = 0; i < count; ++i) {
    const std::string expected = buffered_pipe::testing::ShortMessage(i, i % 700);
    if (send) {
      if (absl::Status status = end->send_bytes(expected); !status.ok()) {
        std::fprintf(stderr, "send %d: %s\n", i, status.ToString().c_str());
        return 1;
      }
    } else {
      absl::StatusOr<std::string> message = end->recv_bytes();
      if (!message.ok() || *message != expected) {
        std::fprintf(stderr, "recv %d: %s\n", i, message.status().ToString().c_str());
        return 1;
      }
    }
  }
  if (!send) {
    const absl::Status last = end->recv_bytes().status();
    if (!buffered_pipe::IsEndOfStream(last)) {
      std::fprintf(stderr, "expected end of stream, got %s\n", last.ToString().c_str());
      return 1;
    }
  }
  return 0;
}
