// buffered_pipe's network ends (network/network_end.h) as adapters of the
// comparison, beside raw ZeroMQ over the same scheme (system_transports.h):
//
//   net_ipc   NetworkEnd over ipc:// (baseline: zmq, PUSH/PULL over ipc://)
//   net_tcp   NetworkEnd over tcp://127.0.0.1 (baseline: zmq_tcp)
//
// The passive end (receiver, pong) binds, the other connects. A round trip
// uses two ends per side, one per direction (network ends are one-way).
// send_bytes / recv_bytes_into (a reused string, as raw ZeroMQ receives
// into a reused buffer). The byte budget is the receiver's credit window:
// NetworkOptions::credit_bytes = budget.

#ifndef BUFFERED_PIPE_BENCHMARKS_NETWORK_TRANSPORTS_H_
#define BUFFERED_PIPE_BENCHMARKS_NETWORK_TRANSPORTS_H_

#include <span>
#include <string>

#include "absl/status/status.h"
#include "benchmarks/common.h"
#include "benchmarks/transport.h"
#include "buffered_pipe/network/network_end.h"

namespace buffered_pipe::bench {

class NetworkTransport {
 public:
  explicit NetworkTransport(Scheme scheme = Scheme::kIpc) : scheme_(scheme) {}
  static Traits traits();
  absl::Status Open(const Geometry& g);
  void Close();

  class End {
   public:
    End(NetworkTransport& t, Role role, int index);
    ~End();  // closes both ends (the close handshake: see network_end.h)
    End(const End&) = delete;
    End& operator=(const End&) = delete;
    void send(std::span<const std::byte> message);
    std::span<const std::byte> recv();

   private:
    NetworkEnd sending_;
    NetworkEnd receiving_;
    std::string received_;
  };

 private:
  Scheme scheme_;
  Geometry geometry_;
  // [0] sender -> receiver (ping -> pong), [1] pong -> ping.
  std::string endpoints_[2];
};

class NetworkTcpTransport : public NetworkTransport {
 public:
  NetworkTcpTransport() : NetworkTransport(Scheme::kTcp) {}
  static Traits traits();
};

}  // namespace buffered_pipe::bench

#endif  // BUFFERED_PIPE_BENCHMARKS_NETWORK_TRANSPORTS_H_
