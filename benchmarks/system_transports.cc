#include "benchmarks/system_transports.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>

#include "absl/strings/str_cat.h"

namespace buffered_pipe::bench {
namespace {

namespace bip = boost::interprocess;

constexpr std::size_t kReadBuffer = 64 * 1024;

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

absl::Status ErrnoStatus(const char* what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

// --- FramedStream --------------------------------------------------------------

FramedStream::FramedStream(int read_fd, int write_fd)
    : read_fd_(read_fd), write_fd_(write_fd), buffer_(read_fd >= 0 ? kReadBuffer : 0) {}

void FramedStream::Send(std::span<const std::byte> message) {
  std::uint64_t length = message.size();
  iovec iov[2] = {{&length, sizeof(length)},
                  {const_cast<std::byte*>(message.data()), message.size()}};
  iovec* next = iov;
  int count = 2;
  while (count > 0) {
    const ssize_t n = writev(write_fd_, next, count);
    if (n < 0) {
      if (errno == EINTR) continue;
      DieErrno("writev");
    }
    std::size_t left = static_cast<std::size_t>(n);
    while (count > 0 && left >= next->iov_len) {
      left -= next->iov_len;
      ++next;
      --count;
    }
    if (count > 0) {
      next->iov_base = static_cast<char*>(next->iov_base) + left;
      next->iov_len -= left;
    }
  }
}

void FramedStream::Fill(std::size_t at_least) {
  if (end_ - begin_ >= at_least) return;
  if (begin_ + at_least > buffer_.size()) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  while (end_ - begin_ < at_least) {
    const ssize_t n = read(read_fd_, buffer_.data() + end_, buffer_.size() - end_);
    if (n < 0) {
      if (errno == EINTR) continue;
      DieErrno("read");
    }
    if (n == 0) Die("unexpected end of stream");
    end_ += static_cast<std::size_t>(n);
  }
}

std::span<const std::byte> FramedStream::Recv() {
  Fill(sizeof(std::uint64_t));
  std::uint64_t length;
  std::memcpy(&length, buffer_.data() + begin_, sizeof(length));
  begin_ += sizeof(length);
  if (length <= buffer_.size()) {
    Fill(length);
    const std::span<const std::byte> frame(buffer_.data() + begin_, length);
    begin_ += length;
    return frame;
  }
  // Larger than the read buffer: what is buffered, then read() straight
  // into the message (large_ keeps its capacity between messages).
  if (large_.size() < length) large_.resize(length);
  const std::size_t buffered = end_ - begin_;
  std::memcpy(large_.data(), buffer_.data() + begin_, buffered);
  begin_ = end_ = 0;
  for (std::size_t have = buffered; have < length;) {
    const ssize_t n = read(read_fd_, large_.data() + have, length - have);
    if (n < 0) {
      if (errno == EINTR) continue;
      DieErrno("read");
    }
    if (n == 0) Die("unexpected end of stream");
    have += static_cast<std::size_t>(n);
  }
  return {large_.data(), length};
}

// --- pipe(2) ---------------------------------------------------------------------

Traits PipeTransport::traits() {
  Traits t;
  t.name = "pipe";
  t.description = "pipe(2), 8-byte length prefix";
  t.knob = "fcntl(F_SETPIPE_SZ, budget)";
  t.oversize = true;
  return t;
}

absl::Status PipeTransport::Open(const Geometry& g) {
  for (int* fds : {forward_, backward_}) {
    if (fds == backward_ && !g.duplex) break;
    if (pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus("pipe2");
    if (fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(g.budget)) < 0) {
      return ErrnoStatus("F_SETPIPE_SZ");
    }
  }
  return absl::OkStatus();
}

void PipeTransport::Close() {
  for (int* fds : {forward_, backward_}) {
    CloseFd(fds[0]);
    CloseFd(fds[1]);
  }
}

PipeTransport::End::End(PipeTransport& t, Role role, int)
    : stream_(role == Role::kReceiver || role == Role::kPong ? t.forward_[0]
              : role == Role::kPing                          ? t.backward_[0]
                                                             : -1,
              role == Role::kSender || role == Role::kPing ? t.forward_[1]
              : role == Role::kPong                        ? t.backward_[1]
                                                           : -1) {}

// --- socketpair ------------------------------------------------------------------

Traits SocketpairTransport::traits() {
  Traits t;
  t.name = "socketpair";
  t.description = "socketpair(AF_UNIX, SOCK_STREAM), 8-byte length prefix";
  t.knob = "SO_SNDBUF = SO_RCVBUF = budget on both sockets (the kernel reports twice that)";
  t.oversize = true;
  return t;
}

absl::Status SocketpairTransport::Open(const Geometry& g) {
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds_) != 0) {
    return ErrnoStatus("socketpair");
  }
  const int budget = static_cast<int>(g.budget);
  for (int fd : fds_) {
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &budget, sizeof(budget)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &budget, sizeof(budget)) != 0) {
      return ErrnoStatus("setsockopt");
    }
  }
  socklen_t length = sizeof(reported_sndbuf_);
  getsockopt(fds_[0], SOL_SOCKET, SO_SNDBUF, &reported_sndbuf_, &length);
  return absl::OkStatus();
}

void SocketpairTransport::Close() {
  CloseFd(fds_[0]);
  CloseFd(fds_[1]);
}

SocketpairTransport::End::End(SocketpairTransport& t, Role role, int)
    : stream_(IsPassive(role) ? t.fds_[1] : t.fds_[0], IsPassive(role) ? t.fds_[1] : t.fds_[0]) {}

// --- Boost.Interprocess message_queue ------------------------------------------------

Traits BoostQueueTransport::traits() {
  Traits t;
  t.name = "boost_mq";
  t.description = "Boost.Interprocess message_queue";
  t.knob = "max_msg x max_msg_size = budget (max_msg_size = message size)";
  t.many = true;
  return t;
}

absl::Status BoostQueueTransport::Open(const Geometry& g) {
  geometry_ = g;
  const std::size_t max_messages = std::max<std::size_t>(1, g.budget / g.message_size);
  try {
    for (int i = 0; i < (g.duplex ? 2 : 1); ++i) {
      names_[i] = UniqueName("bp_bench_mq_");
      Queue::remove(names_[i].c_str());
      queues_[i] = std::make_unique<Queue>(bip::create_only, names_[i].c_str(), max_messages,
                                           g.message_size);
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("boost message_queue: ", e.what()));
  }
  return absl::OkStatus();
}

void BoostQueueTransport::Close() {
  for (int i = 0; i < 2; ++i) {
    queues_[i].reset();
    if (!names_[i].empty()) Queue::remove(names_[i].c_str());
    names_[i].clear();
  }
}

BoostQueueTransport::End::End(BoostQueueTransport& t, Role role, int)
    : out_(role == Role::kSender || role == Role::kPing ? t.queues_[0].get()
           : role == Role::kPong                        ? t.queues_[1].get()
                                                        : nullptr),
      in_(role == Role::kReceiver || role == Role::kPong ? t.queues_[0].get()
          : role == Role::kPing                          ? t.queues_[1].get()
                                                         : nullptr),
      buffer_(t.geometry_.message_size, 0) {}

void BoostQueueTransport::End::send(std::span<const std::byte> message) {
  try {
    out_->send(message.data(), message.size(), 0);
  } catch (const std::exception& e) {
    Die(absl::StrCat("message_queue::send: ", e.what()));
  }
}

std::span<const std::byte> BoostQueueTransport::End::recv() {
  Queue::size_type received = 0;
  unsigned int priority = 0;
  try {
    in_->receive(buffer_.data(), buffer_.size(), received, priority);
  } catch (const std::exception& e) {
    Die(absl::StrCat("message_queue::receive: ", e.what()));
  }
  return {buffer_.data(), static_cast<std::size_t>(received)};
}

// --- ZeroMQ --------------------------------------------------------------------------

Traits ZmqTransport::traits() {
  Traits t;
  t.name = "zmq";
  t.description = "ZeroMQ PUSH/PULL (PAIR for round trips) over ipc://";
  t.knob = "SNDHWM = RCVHWM = budget / size / 2 messages (at least 1), plus kernel socket buffers";
  t.oversize = true;
  t.threads = 2;  // the caller and the context's I/O thread
  return t;
}

Traits ZmqTcpTransport::traits() {
  Traits t = ZmqTransport::traits();
  t.name = "zmq_tcp";
  t.description = "ZeroMQ PUSH/PULL (PAIR for round trips) over tcp://127.0.0.1";
  return t;
}

absl::Status ZmqTransport::Open(const Geometry& g) {
  geometry_ = g;
  endpoint_ = LoopbackEndpoint(scheme_, "zmq");
  return absl::OkStatus();
}

void ZmqTransport::Close() {
  if (const std::string path = IpcPath(endpoint_); !path.empty()) unlink(path.c_str());
  endpoint_.clear();
}

ZmqTransport::End::End(ZmqTransport& t, Role role, int)
    : context_(zmq_ctx_new()), socket_(nullptr), buffer_(t.geometry_.message_size, 0) {
  if (context_ == nullptr) DieErrno("zmq_ctx_new");
  const int type = role == Role::kSender     ? ZMQ_PUSH
                   : role == Role::kReceiver ? ZMQ_PULL
                                             : ZMQ_PAIR;
  socket_ = zmq_socket(context_, type);
  if (socket_ == nullptr) Die(absl::StrCat("zmq_socket: ", zmq_strerror(zmq_errno())));
  const int hwm = static_cast<int>(
      std::max<std::size_t>(1, t.geometry_.budget / t.geometry_.message_size / 2));
  const int linger_ms = 10'000;  // a stuck peer must not hang the run forever
  zmq_setsockopt(socket_, ZMQ_SNDHWM, &hwm, sizeof(hwm));
  zmq_setsockopt(socket_, ZMQ_RCVHWM, &hwm, sizeof(hwm));
  zmq_setsockopt(socket_, ZMQ_LINGER, &linger_ms, sizeof(linger_ms));
  const int rc = IsPassive(role) ? zmq_bind(socket_, t.endpoint_.c_str())
                                 : zmq_connect(socket_, t.endpoint_.c_str());
  if (rc != 0) {
    Die(absl::StrCat("zmq bind/connect ", t.endpoint_, ": ", zmq_strerror(zmq_errno())));
  }
}

ZmqTransport::End::~End() {
  zmq_close(socket_);
  zmq_ctx_term(context_);
}

void ZmqTransport::End::send(std::span<const std::byte> message) {
  while (zmq_send(socket_, message.data(), message.size(), 0) < 0) {
    if (zmq_errno() != EINTR) Die(absl::StrCat("zmq_send: ", zmq_strerror(zmq_errno())));
  }
}

std::span<const std::byte> ZmqTransport::End::recv() {
  int n;
  while ((n = zmq_recv(socket_, buffer_.data(), buffer_.size(), 0)) < 0) {
    if (zmq_errno() != EINTR) Die(absl::StrCat("zmq_recv: ", zmq_strerror(zmq_errno())));
  }
  if (static_cast<std::size_t>(n) > buffer_.size()) Die("zmq_recv: message truncated");
  return {buffer_.data(), static_cast<std::size_t>(n)};
}

}  // namespace buffered_pipe::bench
