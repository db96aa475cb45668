// A downstream program of the installed network ends (target
// buffered_pipe::network; pkg-config buffered_pipe_network): a receiver
// binds a tcp:// port on loopback, a sender in a thread connects and sends
// one message and closes; the receiver prints it, then sees end of stream.
#include <cstdio>
#include <string>
#include <thread>

#include "buffered_pipe/network/network_end.h"
#include "buffered_pipe/status.h"

int main() {
  using buffered_pipe::NetworkRole;
  auto receiver = buffered_pipe::BindNetworkEnd("tcp://127.0.0.1:*", NetworkRole::kReceiver);
  if (!receiver.ok()) {
    std::fprintf(stderr, "%s\n", receiver.status().ToString().c_str());
    return 1;
  }
  bool sent = false;
  std::thread sender_thread([&sent, address = receiver->address()] {
    auto sender = buffered_pipe::ConnectNetworkEnd(address, NetworkRole::kSender);
    sent = sender.ok() &&
           sender->send_bytes(std::string("network consumer: hello over ") + address).ok() &&
           sender->close().ok();
  });
  absl::StatusOr<std::string> message = receiver->recv_bytes();
  absl::StatusOr<std::string> after = receiver->recv_bytes();
  sender_thread.join();
  if (!message.ok() || !sent || !buffered_pipe::IsEndOfStream(after.status())) {
    std::fprintf(stderr, "network consumer: %s / %s\n", message.status().ToString().c_str(),
                 after.status().ToString().c_str());
    return 1;
  }
  std::printf("%s\n", message->c_str());
  return 0;
}
