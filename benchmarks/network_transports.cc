#include "benchmarks/network_transports.h"

#include <unistd.h>

#include <chrono>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace buffered_pipe::bench {
namespace {

NetworkOptions Options(const Geometry& g) {
  NetworkOptions options;
  options.credit_bytes = g.budget;
  // A worker that cannot reach its peer dies instead of hanging the run.
  options.connect_timeout = std::chrono::seconds(30);
  options.close_timeout = std::chrono::seconds(30);
  return options;
}

NetworkEnd OpenEnd(const std::string& address, bool bind, NetworkRole role, const Geometry& g) {
  absl::StatusOr<NetworkEnd> end =
      bind ? BindNetworkEnd(address, role, Options(g)) : ConnectNetworkEnd(address, role, Options(g));
  if (!end.ok()) Die(absl::StrCat(bind ? "bind " : "connect ", address, ": ", end.status().ToString()));
  return std::move(*end);
}

}  // namespace

Traits NetworkTransport::traits() {
  Traits t;
  t.name = "net_ipc";
  t.description = "buffered_pipe network ends over ipc:// (send_bytes / recv_bytes_into)";
  t.knob = "NetworkOptions::credit_bytes = budget";
  t.oversize = true;
  t.threads = 2;  // the caller and ZeroMQ's I/O thread
  return t;
}

Traits NetworkTcpTransport::traits() {
  Traits t = NetworkTransport::traits();
  t.name = "net_tcp";
  t.description = "buffered_pipe network ends over tcp://127.0.0.1 (send_bytes / recv_bytes_into)";
  return t;
}

absl::Status NetworkTransport::Open(const Geometry& g) {
  geometry_ = g;
  for (std::string& endpoint : endpoints_) endpoint = LoopbackEndpoint(scheme_, "net");
  return absl::OkStatus();
}

void NetworkTransport::Close() {
  for (std::string& endpoint : endpoints_) {
    if (const std::string path = IpcPath(endpoint); !path.empty()) unlink(path.c_str());
    endpoint.clear();
  }
}

NetworkTransport::End::End(NetworkTransport& t, Role role, int) {
  const Geometry& g = t.geometry_;
  switch (role) {
    case Role::kSender:
      sending_ = OpenEnd(t.endpoints_[0], false, NetworkRole::kSender, g);
      break;
    case Role::kReceiver:
      receiving_ = OpenEnd(t.endpoints_[0], true, NetworkRole::kReceiver, g);
      break;
    case Role::kPong:  // passive: binds both directions
      receiving_ = OpenEnd(t.endpoints_[0], true, NetworkRole::kReceiver, g);
      sending_ = OpenEnd(t.endpoints_[1], true, NetworkRole::kSender, g);
      break;
    case Role::kPing:
      sending_ = OpenEnd(t.endpoints_[0], false, NetworkRole::kSender, g);
      receiving_ = OpenEnd(t.endpoints_[1], false, NetworkRole::kReceiver, g);
      break;
  }
}

NetworkTransport::End::~End() {
  // A sender's close waits until its receiver confirmed every message.
  (void)sending_.close();
  (void)receiving_.close();
}

void NetworkTransport::End::send(std::span<const std::byte> message) {
  const absl::Status sent = sending_.send_bytes(
      std::string_view(reinterpret_cast<const char*>(message.data()), message.size()));
  if (!sent.ok()) Die(absl::StrCat("send_bytes: ", sent.ToString()));
}

std::span<const std::byte> NetworkTransport::End::recv() {
  const absl::Status received = receiving_.recv_bytes_into(received_);
  if (!received.ok()) Die(absl::StrCat("recv_bytes_into: ", received.ToString()));
  return {reinterpret_cast<const std::byte*>(received_.data()), received_.size()};
}

}  // namespace buffered_pipe::bench
