// One ZeroMQ socket of a network end, with what it needs around it: its own
// context, a monitor that reports accepted and ended connections, and an
// eventfd that wakes a thread waiting for input.
//
// The binding end's socket is a ROUTER (many peers, each with a routing id);
// a connecting end's is a DEALER (one peer). High-water marks are off: the
// ends' credit bounds what is queued, so a send never blocks or drops.
//
// Thread-safety: ZeroMQ sockets are not thread-safe, so every call but
// WaitForInput and Wake must be made under the owner's lock (session.h).
// WaitForInput only polls file descriptors: one thread may wait in it while
// others call the rest under the lock; such a thread must call Wake after
// anything that may have consumed the sockets' readiness signal.

#ifndef BUFFERED_PIPE_NETWORK_INTERNAL_ZMQ_LINK_H_
#define BUFFERED_PIPE_NETWORK_INTERNAL_ZMQ_LINK_H_

#include <zmq.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "buffered_pipe/network/internal/buffer_pool.h"

namespace buffered_pipe::network_internal {

// One received ZeroMQ message, owned (move-only).
class ZmqMessage {
 public:
  ZmqMessage() { zmq_msg_init(&message_); }
  ZmqMessage(ZmqMessage&& other) noexcept {
    zmq_msg_init(&message_);
    zmq_msg_move(&message_, &other.message_);
  }
  ZmqMessage& operator=(ZmqMessage&&) = delete;
  ZmqMessage(const ZmqMessage&) = delete;
  ~ZmqMessage() { zmq_msg_close(&message_); }

  std::string_view bytes() {
    return {static_cast<const char*>(zmq_msg_data(&message_)), zmq_msg_size(&message_)};
  }
  zmq_msg_t* get() { return &message_; }
  // The file descriptor of the connection it came in on (ZMQ_SRCFD: a
  // lookup by name and a parse in libzmq 4.3, so asked only when needed).
  int source_fd() { return zmq_msg_get(&message_, ZMQ_SRCFD); }

 private:
  zmq_msg_t message_;
};

struct LinkOptions {
  bool bind = false;  // bind (ROUTER) or connect (DEALER)
  // ZMTP heartbeats: a link silent for `heartbeat_timeout` is closed, which
  // the monitor reports like a peer's exit.
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds heartbeat_timeout{5000};
};

class ZmqLink {
 public:
  // Errors: InvalidArgument (an address ZeroMQ does not accept),
  // Unavailable (bind: the address is in use), Internal.
  static absl::StatusOr<std::unique_ptr<ZmqLink>> Open(const std::string& address,
                                                       const LinkOptions& options);
  ~ZmqLink();
  ZmqLink(const ZmqLink&) = delete;
  ZmqLink& operator=(const ZmqLink&) = delete;

  bool is_router() const { return router_; }
  // The address bound, with the port the system chose for "tcp://host:*".
  const std::string& address() const { return address_; }

  // Sends one frame to `routing_id` (ignored by a DEALER): `kind_byte`
  // followed by `body`. Fails (Unavailable) if the peer is no longer
  // connected.
  absl::Status Send(std::string_view routing_id, char kind_byte, std::string_view body);

  struct Received {
    std::string routing_id;  // empty on a DEALER
    ZmqMessage frame;
    bool multipart = false;  // not a frame of ours
  };
  // The next frame, or nullopt if none is waiting.
  std::optional<Received> TryReceive();
  // A connection accepted (binder only) or ended, by its file descriptor.
  // The system reuses descriptors, so one fd names a sequence of
  // connections; ZeroMQ's single I/O thread reports them in order, each
  // connection's end before the accept of the next one on the same fd, and
  // an accept before the connection's first frame can be received.
  struct ConnectionEvent {
    enum class Kind { kAccepted, kDisconnected };
    Kind kind = Kind::kAccepted;
    int fd = -1;
  };
  // The next connection event, or nullopt.
  std::optional<ConnectionEvent> TryReceiveConnectionEvent();
  // Whether TryReceive / TryReceiveConnectionEvent would return something, after
  // ZeroMQ has processed its pending commands. A socket found empty since it
  // was last used needs no look (a system call): ZeroMQ signals its
  // descriptor for the next input once it has seen the socket empty, unless
  // a later call (a send) processed commands again.
  bool HasInput();

  // Waits until input may have arrived, Wake is called, or `timeout` passes.
  void WaitForInput(std::chrono::milliseconds timeout);
  void Wake();

  // Keeps unsent frames for up to `linger` when the socket closes.
  void SetLinger(std::chrono::milliseconds linger);

 private:
  ZmqLink() = default;

  // Free payload buffers kept for the next sends (buffer_pool.h): about
  // four credit windows of the default size. Declared first, so that it is
  // destroyed last, after the destructor's zmq_ctx_term has released every
  // message made from it.
  BufferPool payloads_{std::size_t{4} << 20};

  void* context_ = nullptr;
  void* socket_ = nullptr;
  void* monitor_ = nullptr;
  int socket_fd_ = -1;
  int monitor_fd_ = -1;
  int wake_fd_ = -1;
  bool router_ = false;
  // Found empty (a receive or HasInput saw nothing) and not used since, so
  // its descriptor signals new input: HasInput need not look.
  bool socket_drained_ = false;
  bool monitor_drained_ = false;
  std::string address_;
};

}  // namespace buffered_pipe::network_internal

#endif  // BUFFERED_PIPE_NETWORK_INTERNAL_ZMQ_LINK_H_
