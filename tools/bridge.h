// bpipe bridge: one end of a local named pipe, forwarded to network ends and
// back, so that programs on two hosts share one work queue without a change.
//
//   bpipe bridge NAME [--side=first|second] [--out=ADDRESS] [--in=ADDRESS]
//                [--bind] [--create[=BYTES]] [--credit=BYTES]
//
// The bridge opens one end of the named pipe NAME (side first: the
// receiving end of a simplex pipe; --side=second: its sending end) and
// forwards
//   --out=ADDRESS  every message it receives from the pipe to a network
//                  sending end at ADDRESS (NetworkRole::kSender), and
//   --in=ADDRESS   every message a network receiving end at ADDRESS takes
//                  into the pipe (the bridge's end sends on it).
// At least one of them. With --bind the network ends bind ADDRESS (remote
// ends connect to them); otherwise they connect, retrying until the binder
// is there. --create[=BYTES] creates the pipe (duplex if the bridge goes
// both ways, ring BYTES, 1 MiB by default) for the local programs to open
// by name; the bridge keeps one end and closes the other. --credit: the
// network receiver's credit window (NetworkOptions::credit_bytes).
//
// A work queue whose workers move to host B:
//   host A$ bpipe bridge jobs --out=tcp://0.0.0.0:7000 --bind
//   host B$ bpipe bridge jobs --create --side=second --in=tcp://hostA:7000
//   host B$ ./worker      # opens "jobs", kReceivingSide, as before
// And back: a duplex pipe "work" (side first sends jobs, receives results):
//   host A$ bpipe bridge work --side=second --bind
//               --out=tcp://0.0.0.0:7000 --in=tcp://0.0.0.0:7001   (one line)
//   host B$ bpipe bridge work --create --side=first
//               --in=tcp://hostA:7000 --out=tcp://hostA:7001       (one line)
//
// What holds
// - Types: the network ends carry the pipe's recorded message types (a typed
//   pipe's; an untyped pipe's ends are untyped), so a typed remote end of
//   another type or codec is refused at connect, as on the pipe.
// - Order and exactly-once: messages go one at a time (a message is taken
//   from its source only after the previous one was handed on), so the
//   bridge keeps each direction's order and adds no duplicate. The network
//   ends' guarantees (network_end.h) and the pipe's apply on either side.
// - The bridge waits for a local peer (wait_for_peer) before forwarding.
//   It ends when a direction ends: the pipe's end of stream (every local
//   sender closed), the network's end of stream (every remote sender
//   closed), a broken pipe on either side, or a stop request (SIGINT or
//   SIGTERM for the command). It then closes the network ends (a sender's
//   close flushes, a receiver's close hands back what it had not taken) and
//   its pipe end, so that end of stream travels on to the other host.
// - A message in the bridge's hands when its destination breaks (or does
//   not take it within the network's close_timeout after a stop) is lost;
//   the bridge reports how many (DataLoss) and exits 1.

#ifndef BUFFERED_PIPE_TOOLS_BRIDGE_H_
#define BUFFERED_PIPE_TOOLS_BRIDGE_H_

#include <atomic>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "buffered_pipe/network/network_end.h"
#include "buffered_pipe/pipe.h"

namespace buffered_pipe::tools {

struct BridgeOptions {
  std::string name = {};
  Side side = Side::kFirst;
  std::string out_address = {};  // empty: no pipe -> network direction
  std::string in_address = {};   // empty: no network -> pipe direction
  bool bind = false;
  bool create = false;
  std::uint64_t create_buffer_size = 1 << 20;
  NetworkOptions network = {};
};

// The options of `bpipe bridge ARGS...` (ARGS without the word "bridge").
// InvalidArgument, naming the problem, for a bad command line.
absl::StatusOr<BridgeOptions> ParseBridgeArguments(const std::vector<std::string>& args);

struct BridgeResult {
  std::uint64_t forwarded_out = 0;  // pipe -> network
  std::uint64_t forwarded_in = 0;   // network -> pipe
  std::uint64_t lost = 0;           // taken from a source, not delivered
  // OK, or why the bridge could not start, or what was lost (DataLoss), or
  // the first error of a close.
  absl::Status status;
};

// Runs the bridge until a direction ends or `stop` becomes true (looked at
// every 100 ms). Writes a line for each address bound or connected to `log`.
BridgeResult RunBridge(const BridgeOptions& options, const std::atomic<bool>& stop,
                       std::ostream& log);

// `bpipe bridge ARGS...`: installs SIGINT/SIGTERM handlers that stop it,
// runs it, prints what it forwarded. Exit code as bpipe_lib.h's Main.
int BridgeMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace buffered_pipe::tools

#endif  // BUFFERED_PIPE_TOOLS_BRIDGE_H_
