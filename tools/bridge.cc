#include "tools/bridge.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "buffered_pipe/deadline.h"
#include "buffered_pipe/message_end.h"
#include "buffered_pipe/network/network_end.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/status.h"

namespace buffered_pipe::tools {
namespace {

// How often a blocked bridge looks at its stop flag.
constexpr std::chrono::milliseconds kPoll{100};
// A connecting bridge tries again this often until its binder answers.
constexpr std::chrono::milliseconds kConnectAttempt{1000};

// Set by BridgeMain's signal handlers (a lock-free atomic: safe in one).
std::atomic<bool> stop_requested{false};
extern "C" void RequestStop(int) { stop_requested.store(true, std::memory_order_relaxed); }

std::optional<std::uint64_t> ParseBytes(const std::string& text) {
  std::uint64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value == 0) return std::nullopt;
  return value;
}

// What the two directions share: relaxed flags, since each is only a
// request to stop (no data is published through them).
struct Control {
  const std::atomic<bool>& stop;
  std::atomic<bool> direction_ended{false};
  bool stopping() const {
    return stop.load(std::memory_order_relaxed) ||
           direction_ended.load(std::memory_order_relaxed);
  }
};

struct DirectionResult {
  std::uint64_t forwarded = 0;
  std::uint64_t lost = 0;
  absl::Status status;
};

// One direction: from `source` to `destination`, one message at a time,
// until the source's end of stream, an error, or a stop. A message taken is
// handed on for as long as it takes while running, and for at most
// `hand_over_timeout` once stopping.
template <MessageEnd Source, MessageEnd Destination>
DirectionResult Forward(Source& source, Destination& destination, Control& control,
                        std::chrono::milliseconds hand_over_timeout, const char* what) {
  DirectionResult result;
  std::string message;
  while (!control.stopping()) {
    const absl::Status received = source.recv_bytes_into(message, Deadline::After(kPoll));
    if (IsTimeout(received)) continue;
    if (!received.ok()) {
      if (!IsEndOfStream(received)) {
        result.status = absl::Status(received.code(), absl::StrCat(what, ": receiving: ",
                                                                   received.message()));
      }
      break;
    }
    std::optional<Deadline> give_up;
    absl::Status sent;
    for (;;) {
      sent = destination.send_bytes_until(message, Deadline::After(kPoll));
      if (!IsTimeout(sent)) break;
      if (!control.stopping()) continue;
      if (!give_up.has_value()) give_up = Deadline::After(hand_over_timeout);
      if (give_up->has_passed()) break;
    }
    if (!sent.ok()) {
      ++result.lost;
      result.status = absl::DataLossError(
          absl::StrCat(what, ": a message taken could not be handed on: ", sent.message()));
      break;
    }
    ++result.forwarded;
  }
  control.direction_ended.store(true, std::memory_order_relaxed);
  return result;
}

absl::StatusOr<PipeEnd> OpenPipeEnd(const BridgeOptions& options) {
  if (!options.create) return OpenNamedPipe(options.name, options.side);
  const bool duplex = !options.out_address.empty() && !options.in_address.empty();
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> ends = CreateNamedPipe(
      options.name, PipeOptions{.buffer_size = options.create_buffer_size, .duplex = duplex});
  if (!ends.ok()) return ends.status();
  const bool first = options.side == Side::kFirst;
  (void)(first ? ends->second : ends->first).close();  // the local programs open it
  return std::move(first ? ends->first : ends->second);
}

// Binds, or connects, retrying until the binder answers or a stop.
absl::StatusOr<NetworkEnd> OpenNetwork(const BridgeOptions& options, const std::string& address,
                                       NetworkRole role, PipeEnd::MessageType type,
                                       const std::atomic<bool>& stop) {
  if (options.bind) return OpenNetworkEnd(address, true, role, type, options.network);
  NetworkOptions network = options.network;
  network.connect_timeout = std::min(network.connect_timeout, kConnectAttempt);
  for (;;) {
    absl::StatusOr<NetworkEnd> end = OpenNetworkEnd(address, false, role, type, network);
    if (end.ok() || !IsTimeout(end.status())) return end;
    if (stop.load(std::memory_order_relaxed)) return absl::CancelledError("stopped");
  }
}

}  // namespace

absl::StatusOr<BridgeOptions> ParseBridgeArguments(const std::vector<std::string>& args) {
  BridgeOptions options;
  for (const std::string& arg : args) {
    auto value_of = [&arg](const std::string& flag) -> std::optional<std::string> {
      if (arg.compare(0, flag.size(), flag) != 0) return std::nullopt;
      return arg.substr(flag.size());
    };
    std::optional<std::string> value;
    if (arg == "--bind") {
      options.bind = true;
    } else if (arg == "--create") {
      options.create = true;
    } else if ((value = value_of("--create="))) {
      std::optional<std::uint64_t> bytes = ParseBytes(*value);
      if (!bytes.has_value()) return absl::InvalidArgumentError("--create=BYTES: a positive number");
      options.create = true;
      options.create_buffer_size = *bytes;
    } else if ((value = value_of("--credit="))) {
      std::optional<std::uint64_t> bytes = ParseBytes(*value);
      if (!bytes.has_value()) return absl::InvalidArgumentError("--credit=BYTES: a positive number");
      options.network.credit_bytes = *bytes;
    } else if ((value = value_of("--side="))) {
      if (*value == "first") {
        options.side = Side::kFirst;
      } else if (*value == "second") {
        options.side = Side::kSecond;
      } else {
        return absl::InvalidArgumentError("--side: first or second");
      }
    } else if ((value = value_of("--out="))) {
      options.out_address = *value;
    } else if ((value = value_of("--in="))) {
      options.in_address = *value;
    } else if (absl::StartsWith(arg, "-")) {
      return absl::InvalidArgumentError(absl::StrCat("unknown option ", arg));
    } else if (options.name.empty()) {
      options.name = arg;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("one pipe name only (also got ", arg, ")"));
    }
  }
  if (options.name.empty()) return absl::InvalidArgumentError("no pipe name");
  if (options.out_address.empty() && options.in_address.empty()) {
    return absl::InvalidArgumentError("nothing to forward: give --out=ADDRESS, --in=ADDRESS or both");
  }
  if (options.out_address == options.in_address) {
    return absl::InvalidArgumentError("--out and --in need two addresses");
  }
  return options;
}

BridgeResult RunBridge(const BridgeOptions& options, const std::atomic<bool>& stop,
                       std::ostream& log) {
  BridgeResult result;
  absl::StatusOr<PipeEnd> end = OpenPipeEnd(options);
  if (!end.ok()) {
    result.status = absl::Status(end.status().code(), absl::StrCat("pipe \"", options.name, "\": ",
                                                                   end.status().message()));
    return result;
  }
  const std::string side = options.side == Side::kFirst ? "first" : "second";
  const bool out = !options.out_address.empty();
  const bool in = !options.in_address.empty();
  if ((out && !end->can_recv()) || (in && !end->can_send())) {
    result.status = absl::InvalidArgumentError(
        absl::StrCat("side ", side, " of \"", options.name, "\" does not ",
                     out && !end->can_recv() ? "receive (--out)" : "send (--in)"));
    return result;
  }
  // The network ends carry the types the pipe records for its rings.
  auto open_network = [&](const std::string& address, NetworkRole role,
                          PipeEnd::MessageType type) -> absl::StatusOr<NetworkEnd> {
    absl::StatusOr<NetworkEnd> opened = OpenNetwork(options, address, role, type, stop);
    if (!opened.ok()) {
      return absl::Status(opened.status().code(),
                          absl::StrCat(address, ": ", opened.status().message()));
    }
    log << "bpipe bridge: " << options.name << (role == NetworkRole::kSender ? " out" : " in")
        << (options.bind ? " bound at " : " connected to ") << opened->address() << std::endl;
    return opened;
  };
  NetworkEnd out_end;
  NetworkEnd in_end;
  for (const bool sender : {true, false}) {
    if (!(sender ? out : in)) continue;
    absl::StatusOr<NetworkEnd> opened =
        sender ? open_network(options.out_address, NetworkRole::kSender, end->received_message_type())
               : open_network(options.in_address, NetworkRole::kReceiver, end->sent_message_type());
    if (!opened.ok()) {
      if (!IsClosed(opened.status())) result.status = opened.status();  // else: stopped
      return result;
    }
    (sender ? out_end : in_end) = *std::move(opened);
  }
  for (;;) {  // a local peer first: before it comes, the pipe is at its end
    const absl::Status met = end->wait_for_peer(Deadline::After(kPoll));
    if (met.ok()) break;
    if (!IsTimeout(met)) {
      result.status = met;
      return result;
    }
    if (stop.load(std::memory_order_relaxed)) return result;
  }

  Control control{stop};
  DirectionResult out_result;
  DirectionResult in_result;
  const std::chrono::milliseconds hand_over = options.network.close_timeout;
  std::thread out_thread;
  std::thread in_thread;
  if (out) {
    out_thread = std::thread([&] {
      out_result = Forward(*end, out_end, control, hand_over, "pipe to network");
    });
  }
  if (in) {
    in_thread = std::thread([&] {
      in_result = Forward(in_end, *end, control, hand_over, "network to pipe");
    });
  }
  if (out_thread.joinable()) out_thread.join();
  if (in_thread.joinable()) in_thread.join();

  // The network ends first (a sender's close waits for its messages to
  // arrive; a receiver's hands back what it had not taken), then the pipe's
  // end: end of stream travels on.
  result.forwarded_out = out_result.forwarded;
  result.forwarded_in = in_result.forwarded;
  result.lost = out_result.lost + in_result.lost;
  for (const absl::Status& status :
       {out_result.status, in_result.status, out ? out_end.close() : absl::OkStatus(),
        in ? in_end.close() : absl::OkStatus(), end->close()}) {
    if (result.status.ok() && !status.ok()) result.status = status;
  }
  return result;
}

int BridgeMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  absl::StatusOr<BridgeOptions> options = ParseBridgeArguments(args);
  if (!options.ok()) {
    err << "bpipe bridge: " << options.status().message() << "\n";
    return 2;
  }
  struct sigaction action = {};
  action.sa_handler = RequestStop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  const BridgeResult result = RunBridge(*options, stop_requested, err);
  out << "bpipe bridge: " << options->name << ": " << result.forwarded_out << " messages out, "
      << result.forwarded_in << " in, " << result.lost << " lost\n";
  if (!result.status.ok()) {
    err << "bpipe bridge: " << result.status.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace buffered_pipe::tools
