// The transports the shared end tests run over: a pipe and network ends over
// tcp:// and ipc://, with either role binding. Each makes one connected
// (receiving end, sending end) pair.

#ifndef BUFFERED_PIPE_TESTS_NETWORK_TRANSPORTS_H_
#define BUFFERED_PIPE_TESTS_NETWORK_TRANSPORTS_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "buffered_pipe/network/network_end.h"
#include "buffered_pipe/pipe.h"
#include "tests/test_support.h"

namespace buffered_pipe::testing {

// `window`: the pipe's buffer, or the network receiver's credit, in bytes.
template <typename End>
struct EndPair {
  End receiver;
  End sender;
};

struct PipeTransport {
  using End = PipeEnd;
  static constexpr const char* kName = "pipe";
  static absl::StatusOr<EndPair<End>> Make(std::uint64_t window) {
    absl::StatusOr<std::pair<PipeEnd, PipeEnd>> ends = Pipe({.buffer_size = window});
    if (!ends.ok()) return ends.status();
    return EndPair<End>{std::move(ends->first), std::move(ends->second)};
  }
};

// A path of its own in /tmp: sandboxed test runs share /tmp but may have the
// same small pids, so UniqueName's random part keeps them apart (a pid alone
// let two parallel runs bind one path and take each other's peers).
inline std::string IpcAddress() { return absl::StrCat("ipc:///tmp/", UniqueName("net")); }

// kSenderBinds: the sender binds, the receiver connects; else the opposite.
template <bool kTcp, bool kSenderBinds>
struct NetworkTransport {
  using End = NetworkEnd;
  static absl::StatusOr<EndPair<End>> Make(std::uint64_t window) {
    const NetworkOptions options{.credit_bytes = window,
                                 .connect_timeout = std::chrono::seconds(20),
                                 .close_timeout = std::chrono::seconds(20)};
    const std::string address = kTcp ? "tcp://127.0.0.1:*" : IpcAddress();
    const NetworkRole binder_role = kSenderBinds ? NetworkRole::kSender : NetworkRole::kReceiver;
    const NetworkRole connector_role =
        kSenderBinds ? NetworkRole::kReceiver : NetworkRole::kSender;
    absl::StatusOr<NetworkEnd> binder = BindNetworkEnd(address, binder_role, options);
    if (!binder.ok()) return binder.status();
    absl::StatusOr<NetworkEnd> connector =
        ConnectNetworkEnd(binder->address(), connector_role, options);
    if (!connector.ok()) return connector.status();
    if (kSenderBinds) return EndPair<End>{*std::move(connector), *std::move(binder)};
    return EndPair<End>{*std::move(binder), *std::move(connector)};
  }
};

}  // namespace buffered_pipe::testing

#endif  // BUFFERED_PIPE_TESTS_NETWORK_TRANSPORTS_H_
