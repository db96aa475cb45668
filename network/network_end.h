// Network ends: the pipe's calls between hosts, over ZeroMQ.
//
// A NetworkEnd sends or receives messages like a PipeEnd (pipe.h) does,
// with the same calls, timeouts, codecs and status codes, so that code
// written against buffered_pipe::MessageEnd (message_end.h) runs on either:
//
//   // The producer binds; workers on other hosts connect.
//   absl::StatusOr<NetworkEnd> jobs =
//       buffered_pipe::BindNetworkEnd("tcp://0.0.0.0:5555", NetworkRole::kSender);
//   (void)jobs->send(Job{...});
//
//   absl::StatusOr<NetworkEnd> worker =
//       buffered_pipe::ConnectNetworkEnd("tcp://producer:5555", NetworkRole::kReceiver);
//   absl::StatusOr<Job> job = worker->recv<Job>();
//
// Addresses are ZeroMQ's: "tcp://host:port" (a bind may use port "*": see
// address()), "ipc:///path/to/socket".
//
// Shape: a star. One end binds; any number of ends of the other role
// connect to it. A binding sender hands each message to one of its
// connected receivers (round robin among those with credit); a binding
// receiver takes the messages of all its connected senders. (For many
// senders and many receivers, bridge a named pipe: bpipe bridge.)
//
// Guarantees
// - Each message is delivered whole and at most once, to one receiver; the
//   messages of one sending end reach one receiver in the order they were
//   sent. Messages of any size (each is one ZeroMQ message; memory for it
//   is needed on both sides).
// - Flow control: a receiver lends each sender `credit_bytes` of credit
//   (a message costs its size plus 64 bytes) and gives it back as its
//   application takes messages; a sender without credit waits (or times
//   out) instead of queueing more. Memory is thus bounded on both sides.
// - End of stream (IsEndOfStream): a receiver gets it once a sender has
//   connected and every sender has closed or is gone, after the messages
//   that arrived. Broken pipe (IsBrokenPipe): a sender gets it once a
//   receiver has connected and every receiver has closed or is gone.
//   Until the first peer comes, a binding end's calls wait (wait_for_peer).
// - Clean close loses nothing silently (unlike a bare PUSH socket, which
//   drops what is queued at close). A sender's close() waits (up to
//   close_timeout) until each receiver confirms that every message sent to
//   it has arrived: they are then in the receiving end's hands, as messages
//   in a pipe's ring are once the sender has closed. A receiver's close()
//   hands the messages it has not taken back to their senders, which send
//   them to another receiver before anything newer (so per-sender order can
//   break only for them). What cannot be delivered is reported by close():
//   DataLoss (messages returned to a sender that was itself closing or had
//   no receiver left, or left untaken at a receiver whose sender is gone)
//   or DeadlineExceeded (a peer did not confirm in time).
// - Crashes (a process killed, a link cut): a dead peer is noticed when its
//   connection closes (at once on loopback or a live host; after
//   heartbeat_timeout for a cut link). A dead sender's messages that
//   arrived are delivered; nothing is half-delivered. A dead receiver's
//   messages not yet taken (at most its credit window per sender) are lost,
//   never duplicated: nothing is re-sent after a crash.
// - Connecting: ConnectNetworkEnd returns once the binder has accepted the
//   handshake. A typed end (BindTypedNetworkEnd / ConnectTypedNetworkEnd)
//   sends its message type's fingerprint and codec id: a binder of another
//   type or codec, or an untyped binder, refuses it (InvalidArgument at
//   connect, naming what differs). An untyped connector accepts any binder
//   and then refuses send<U> / recv<U> of another type, like a generic end
//   of a typed pipe (codecs/typed_pipe.h). A sender connecting to a sender
//   (or receiver to receiver) is refused the same way.
//
// Security: no authentication or encryption; anyone who reaches the
// address may connect. Bind to loopback or a trusted network.
//
// Errors (status.h): as PipeEnd, plus at bind/connect InvalidArgument (an
// address ZeroMQ does not accept, a refused handshake), Unavailable (bind:
// address in use), DeadlineExceeded (connect: nobody answered).
//
// Thread-safety: one NetworkEnd may be used by many threads at once,
// including close() while others are blocked in it (they return
// Cancelled). An end belongs to the process that made it: after fork(), a
// child must not use the parent's ends (their calls return
// FailedPrecondition, their destruction does nothing); it makes its own.

#ifndef BUFFERED_PIPE_NETWORK_NETWORK_END_H_
#define BUFFERED_PIPE_NETWORK_NETWORK_END_H_

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "buffered_pipe/codecs/codec.h"
#include "buffered_pipe/deadline.h"
#include "buffered_pipe/message_end.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/status.h"

namespace buffered_pipe {

namespace network_internal {
class Session;
}  // namespace network_internal

enum class NetworkRole { kSender, kReceiver };

struct NetworkOptions {
  // A receiver's credit window per sender, in bytes (1 to 2^40).
  std::uint64_t credit_bytes = 1 << 20;
  // How long ConnectNetworkEnd waits for the binder's answer.
  std::chrono::milliseconds connect_timeout{10000};
  // How long close() waits for its peers' confirmations.
  std::chrono::milliseconds close_timeout{10000};
  // ZeroMQ's heartbeats: a link silent for heartbeat_timeout is dead.
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds heartbeat_timeout{5000};
};

class NetworkEnd {
 public:
  // An empty end; every call returns InvalidArgument.
  NetworkEnd();
  NetworkEnd(NetworkEnd&&) noexcept;
  NetworkEnd& operator=(NetworkEnd&&) noexcept;
  ~NetworkEnd();  // closes (see close())

  bool is_open() const;
  bool can_send() const;
  bool can_recv() const;
  // The address this end bound (with the port chosen for "tcp://host:*") or
  // connected to.
  std::string address() const;

  // --- Sending: blocks while no receiver has credit for the message.
  absl::Status send_bytes(std::string_view message) {
    return send_bytes_until(message, Deadline::Infinite());
  }
  absl::Status send_bytes_for(std::string_view message, Deadline::Clock::duration timeout) {
    return send_bytes_until(message, Deadline::After(timeout));
  }
  absl::Status send_bytes_until(std::string_view message, const Deadline& deadline);
  absl::Status try_send_bytes(std::string_view message) {
    return send_bytes_until(message, Deadline::NonBlocking());
  }

  // --- Receiving: blocks while no message has arrived.
  absl::StatusOr<std::string> recv_bytes() { return recv_bytes_until(Deadline::Infinite()); }
  absl::StatusOr<std::string> recv_bytes_for(Deadline::Clock::duration timeout) {
    return recv_bytes_until(Deadline::After(timeout));
  }
  absl::StatusOr<std::string> recv_bytes_until(const Deadline& deadline);
  absl::StatusOr<std::string> try_recv_bytes() { return recv_bytes_until(Deadline::NonBlocking()); }
  // Into an existing string (its capacity is reused: no allocation when the
  // message fits), as PipeEnd::recv_bytes_into. On an error `message` is
  // unchanged.
  absl::Status recv_bytes_into(std::string& message,
                               const Deadline& deadline = Deadline::Infinite());

  // --- Typed messages, with the codecs of codecs/codec.h (the same bytes as
  // on a pipe): errors as PipeEnd::send<T> / recv<T>.
  template <typename T, typename Codec = DefaultCodecFor<T>>
  absl::Status send(const T& value) {
    return send_until<T, Codec>(value, Deadline::Infinite());
  }
  template <typename T, typename Codec = DefaultCodecFor<T>>
  absl::Status send_for(const T& value, Deadline::Clock::duration timeout) {
    return send_until<T, Codec>(value, Deadline::After(timeout));
  }
  template <typename T, typename Codec = DefaultCodecFor<T>>
  absl::Status send_until(const T& value, const Deadline& deadline);
  template <typename T, typename Codec = DefaultCodecFor<T>>
  absl::Status try_send(const T& value) {
    return send_until<T, Codec>(value, Deadline::NonBlocking());
  }

  template <typename T, typename Codec = DefaultCodecFor<T>>
  absl::StatusOr<T> recv() {
    return recv_until<T, Codec>(Deadline::Infinite());
  }
  template <typename T, typename Codec = DefaultCodecFor<T>>
  absl::StatusOr<T> recv_for(Deadline::Clock::duration timeout) {
    return recv_until<T, Codec>(Deadline::After(timeout));
  }
  template <typename T, typename Codec = DefaultCodecFor<T>>
  absl::StatusOr<T> recv_until(const Deadline& deadline);
  template <typename T, typename Codec = DefaultCodecFor<T>>
  absl::StatusOr<T> try_recv() {
    return recv_until<T, Codec>(Deadline::NonBlocking());
  }

  // --- Peers.
  // Connected ends of the other role now (a connector: 1, or 0 once its
  // binder is gone).
  std::size_t peer_count() const;
  // Blocks until a first peer has connected (at once on a connector).
  // Errors: DeadlineExceeded, Unavailable (try), Cancelled.
  absl::Status wait_for_peer(const Deadline& deadline = Deadline::Infinite());
  absl::Status wait_for_peer(Deadline::Clock::duration timeout) {
    return wait_for_peer(Deadline::After(timeout));
  }

  // The message type this end carries ({} if untyped): its own, or for an
  // untyped connector the binder's.
  PipeEnd::MessageType message_type() const;

  // Closes this end after the close handshake (see "Clean close" above);
  // idempotent. Callers blocked on it return Cancelled, later calls too.
  absl::Status close();

 private:
  friend absl::StatusOr<NetworkEnd> OpenNetworkEnd(const std::string& address, bool bind,
                                                   NetworkRole role, PipeEnd::MessageType type,
                                                   const NetworkOptions& options);
  explicit NetworkEnd(std::unique_ptr<network_internal::Session> session);
  // The session, or the error of an empty end or one used after fork().
  absl::StatusOr<network_internal::Session*> session() const;

  std::unique_ptr<network_internal::Session> session_;
  pid_t owner_ = 0;  // the process that made it
};

static_assert(MessageEnd<NetworkEnd>);

// Binds `address` and returns an end of `role` that peers of the other role
// connect to. Returns at once; calls wait for a first peer.
absl::StatusOr<NetworkEnd> BindNetworkEnd(const std::string& address, NetworkRole role,
                                          const NetworkOptions& options = {});
// Connects to the end bound at `address` (of the other role) and completes
// the handshake, waiting up to options.connect_timeout for it.
absl::StatusOr<NetworkEnd> ConnectNetworkEnd(const std::string& address, NetworkRole role,
                                             const NetworkOptions& options = {});

// As above, for ends that carry values of type T with Codec only (see
// "Connecting" above).
template <typename T, typename Codec = DefaultCodecFor<T>>
absl::StatusOr<NetworkEnd> BindTypedNetworkEnd(const std::string& address, NetworkRole role,
                                               const NetworkOptions& options = {}) {
  return OpenNetworkEnd(address, true, role, MessageTypeOf<T, Codec>(), options);
}
template <typename T, typename Codec = DefaultCodecFor<T>>
absl::StatusOr<NetworkEnd> ConnectTypedNetworkEnd(const std::string& address, NetworkRole role,
                                                  const NetworkOptions& options = {}) {
  return OpenNetworkEnd(address, false, role, MessageTypeOf<T, Codec>(), options);
}

// The common constructor (bind or connect; `type` {} for untyped).
absl::StatusOr<NetworkEnd> OpenNetworkEnd(const std::string& address, bool bind, NetworkRole role,
                                          PipeEnd::MessageType type, const NetworkOptions& options);

// --- The typed calls ------------------------------------------------------------

template <typename T, typename Codec>
absl::Status NetworkEnd::send_until(const T& value, const Deadline& deadline) {
  if (absl::Status status =
          codecs_internal::CheckRingCarries<T, Codec>(message_type(), "send");
      !status.ok()) {
    return status;
  }
  if constexpr (requires {
                  { Codec::Bytes(value) } -> std::convertible_to<std::span<const std::byte>>;
                }) {
    const std::span<const std::byte> bytes = Codec::Bytes(value);
    return send_bytes_until(
        std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), deadline);
  } else {
    absl::StatusOr<std::string> bytes = EncodeValue<T, Codec>(value);
    if (!bytes.ok()) return bytes.status();
    return send_bytes_until(*bytes, deadline);
  }
}

template <typename T, typename Codec>
absl::StatusOr<T> NetworkEnd::recv_until(const Deadline& deadline) {
  if (absl::Status status =
          codecs_internal::CheckRingCarries<T, Codec>(message_type(), "receive");
      !status.ok()) {
    return status;
  }
  absl::StatusOr<std::string> bytes = recv_bytes_until(deadline);
  if (!bytes.ok()) return bytes.status();
  if constexpr (std::is_same_v<T, std::string> && std::is_same_v<Codec, RawBytesCodec>) {
    return bytes;  // the message is the value
  } else {
    return DecodeValue<T, Codec>(std::string_view(*bytes));
  }
}

}  // namespace buffered_pipe

#endif  // BUFFERED_PIPE_NETWORK_NETWORK_END_H_
