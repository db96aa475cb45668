#include "buffered_pipe/network/internal/zmq_link.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace buffered_pipe::network_internal {
namespace {

std::string ZmqError(std::string_view what) {
  return absl::StrCat(std::string(what), ": ", zmq_strerror(zmq_errno()));
}

void SetInt(void* socket, int option, int value) { zmq_setsockopt(socket, option, &value, sizeof(value)); }

int FileDescriptorOf(void* socket) {
  int fd = -1;
  std::size_t size = sizeof(fd);
  zmq_getsockopt(socket, ZMQ_FD, &fd, &size);
  return fd;
}

// Receives one message part, retrying on EINTR. false: nothing waiting.
bool ReceivePart(void* socket, zmq_msg_t* message) {
  for (;;) {
    if (zmq_msg_recv(message, socket, ZMQ_DONTWAIT) >= 0) return true;
    if (zmq_errno() != EINTR) return false;
  }
}

bool HasMore(zmq_msg_t* message) { return zmq_msg_more(message) != 0; }

}  // namespace

absl::StatusOr<std::unique_ptr<ZmqLink>> ZmqLink::Open(const std::string& address,
                                                        const LinkOptions& options) {
  std::unique_ptr<ZmqLink> link(new ZmqLink());
  link->router_ = options.bind;
  link->context_ = zmq_ctx_new();
  if (link->context_ == nullptr) return absl::InternalError(ZmqError("zmq_ctx_new"));
  link->socket_ = zmq_socket(link->context_, options.bind ? ZMQ_ROUTER : ZMQ_DEALER);
  if (link->socket_ == nullptr) return absl::InternalError(ZmqError("zmq_socket"));
  SetInt(link->socket_, ZMQ_SNDHWM, 0);
  SetInt(link->socket_, ZMQ_RCVHWM, 0);
  SetInt(link->socket_, ZMQ_LINGER, 0);
  SetInt(link->socket_, ZMQ_HEARTBEAT_IVL, static_cast<int>(options.heartbeat_interval.count()));
  SetInt(link->socket_, ZMQ_HEARTBEAT_TIMEOUT, static_cast<int>(options.heartbeat_timeout.count()));
  SetInt(link->socket_, ZMQ_HEARTBEAT_TTL, static_cast<int>(options.heartbeat_timeout.count()));
  // A frame for a peer that is gone is an error, not a silent drop.
  if (options.bind) SetInt(link->socket_, ZMQ_ROUTER_MANDATORY, 1);

  static std::atomic<std::uint64_t> monitor_count{0};
  // relaxed: only uniqueness matters.
  const std::string monitor_address =
      absl::StrCat("inproc://buffered-pipe-monitor-", getpid(), "-",
                   monitor_count.fetch_add(1, std::memory_order_relaxed));
  if (zmq_socket_monitor(link->socket_, monitor_address.c_str(),
                         ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0) {
    return absl::InternalError(ZmqError("zmq_socket_monitor"));
  }
  link->monitor_ = zmq_socket(link->context_, ZMQ_PAIR);
  if (link->monitor_ == nullptr || zmq_connect(link->monitor_, monitor_address.c_str()) != 0) {
    return absl::InternalError(ZmqError("monitor socket"));
  }
  SetInt(link->monitor_, ZMQ_LINGER, 0);

  const int rc = options.bind ? zmq_bind(link->socket_, address.c_str())
                              : zmq_connect(link->socket_, address.c_str());
  if (rc != 0) {
    const int error = zmq_errno();
    const std::string message = ZmqError(absl::StrCat(options.bind ? "bind " : "connect ", address));
    if (error == EADDRINUSE) return absl::UnavailableError(message);
    if (error == EINVAL || error == EPROTONOSUPPORT || error == ENOCOMPATPROTO ||
        error == EADDRNOTAVAIL || error == ENODEV) {
      return absl::InvalidArgumentError(message);
    }
    return absl::InternalError(message);
  }
  link->address_ = address;
  if (options.bind) {
    char endpoint[1024];
    std::size_t size = sizeof(endpoint);
    if (zmq_getsockopt(link->socket_, ZMQ_LAST_ENDPOINT, endpoint, &size) == 0 && size > 1) {
      link->address_.assign(endpoint, size - 1);
    }
  }
  link->socket_fd_ = FileDescriptorOf(link->socket_);
  link->monitor_fd_ = FileDescriptorOf(link->monitor_);
  link->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (link->socket_fd_ < 0 || link->monitor_fd_ < 0 || link->wake_fd_ < 0) {
    return absl::InternalError("cannot get the sockets' file descriptors");
  }
  return link;
}

ZmqLink::~ZmqLink() {
  if (socket_ != nullptr) zmq_close(socket_);
  if (monitor_ != nullptr) zmq_close(monitor_);
  if (context_ != nullptr) zmq_ctx_term(context_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

absl::Status ZmqLink::Send(std::string_view routing_id, char kind_byte, std::string_view body) {
  socket_drained_ = false;  // a send may process the socket's commands
  // The frame is made first: a ROUTER's routing id part, once sent, must be
  // followed by the frame.
  zmq_msg_t message;
  const std::size_t size = 1 + body.size();
  if (size < BufferPool::kSmallestPooled) {
    if (zmq_msg_init_size(&message, size) != 0) {
      return absl::ResourceExhaustedError(ZmqError("zmq_msg_init_size"));
    }
  } else {
    char* buffer = payloads_.Take(size);
    if (buffer == nullptr) return absl::ResourceExhaustedError("no memory for a message");
    if (zmq_msg_init_data(&message, buffer, size, &BufferPool::GiveBack, &payloads_) != 0) {
      payloads_.Give(buffer);
      return absl::ResourceExhaustedError(ZmqError("zmq_msg_init_data"));
    }
  }
  auto* data = static_cast<char*>(zmq_msg_data(&message));
  data[0] = kind_byte;
  if (!body.empty()) std::memcpy(data + 1, body.data(), body.size());
  if (router_ &&
      zmq_send(socket_, routing_id.data(), routing_id.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
    std::string error = ZmqError("send to a peer");
    zmq_msg_close(&message);
    return absl::UnavailableError(error);
  }
  for (;;) {
    // HWM 0: a send never waits; it fails only for a peer that is gone.
    if (zmq_msg_send(&message, socket_, ZMQ_DONTWAIT) >= 0) return absl::OkStatus();
    if (zmq_errno() != EINTR) break;
  }
  std::string error = ZmqError("send");
  zmq_msg_close(&message);
  return absl::UnavailableError(error);
}

std::optional<ZmqLink::Received> ZmqLink::TryReceive() {
  Received received;
  if (router_) {
    ZmqMessage identity;
    if (!ReceivePart(socket_, identity.get())) {
      socket_drained_ = true;
      return std::nullopt;
    }
    received.routing_id.assign(identity.bytes());
    // A ROUTER always delivers the routing id and the frame together.
    if (!HasMore(identity.get()) || !ReceivePart(socket_, received.frame.get())) {
      return std::nullopt;
    }
  } else if (!ReceivePart(socket_, received.frame.get())) {
    socket_drained_ = true;
    return std::nullopt;
  }
  socket_drained_ = false;
  // Our frames are single parts: a multipart message is not ours; take all
  // of it and report it as malformed.
  received.multipart = HasMore(received.frame.get());
  for (bool more = received.multipart; more;) {
    ZmqMessage rest;
    if (!ReceivePart(socket_, rest.get())) break;
    more = HasMore(rest.get());
  }
  return received;
}

std::optional<ZmqLink::ConnectionEvent> ZmqLink::TryReceiveConnectionEvent() {
  for (;;) {
    ZmqMessage event;
    if (!ReceivePart(monitor_, event.get())) {
      monitor_drained_ = true;
      return std::nullopt;
    }
    monitor_drained_ = false;
    bool more = HasMore(event.get());
    const std::string_view bytes = event.bytes();
    while (more) {  // the endpoint's address
      ZmqMessage address;
      if (!ReceivePart(monitor_, address.get())) break;
      more = HasMore(address.get());
    }
    if (bytes.size() < 6) continue;
    std::uint16_t kind;
    std::uint32_t value;
    std::memcpy(&kind, bytes.data(), sizeof(kind));
    std::memcpy(&value, bytes.data() + 2, sizeof(value));
    if (kind == ZMQ_EVENT_ACCEPTED || kind == ZMQ_EVENT_DISCONNECTED) {
      return ConnectionEvent{.kind = kind == ZMQ_EVENT_ACCEPTED ? ConnectionEvent::Kind::kAccepted
                                                                : ConnectionEvent::Kind::kDisconnected,
                             .fd = static_cast<int>(value)};
    }
  }
}

bool ZmqLink::HasInput() {
  for (auto [socket, drained] : {std::pair{socket_, &socket_drained_},
                                 std::pair{monitor_, &monitor_drained_}}) {
    if (*drained) continue;  // its descriptor will signal what comes next
    int events = 0;
    std::size_t size = sizeof(events);
    // An error (a context being terminated) is no input: the caller would
    // otherwise never sleep.
    if (zmq_getsockopt(socket, ZMQ_EVENTS, &events, &size) != 0) continue;
    if ((events & ZMQ_POLLIN) != 0) return true;
    *drained = true;
  }
  return false;
}

void ZmqLink::WaitForInput(std::chrono::milliseconds timeout) {
  pollfd fds[3] = {{socket_fd_, POLLIN, 0}, {monitor_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  const int milliseconds = static_cast<int>(timeout.count());
  if (poll(fds, 3, milliseconds < 0 ? 0 : milliseconds) > 0 && (fds[2].revents & POLLIN) != 0) {
    std::uint64_t count;
    (void)!read(wake_fd_, &count, sizeof(count));
  }
}

void ZmqLink::Wake() {
  const std::uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

void ZmqLink::SetLinger(std::chrono::milliseconds linger) {
  socket_drained_ = false;
  SetInt(socket_, ZMQ_LINGER, static_cast<int>(linger.count()));
}

}  // namespace buffered_pipe::network_internal
