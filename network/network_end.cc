#include "buffered_pipe/network/network_end.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <mutex>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "buffered_pipe/deadline.h"
#include "buffered_pipe/network/internal/session.h"

namespace buffered_pipe {
namespace {

// This process's id, checked on every call. getpid() is a system call
// (glibc no longer caches it), so it is cached here and forgotten in a
// fork()ed child by an atfork handler. (A child made by a raw clone() runs
// no handlers: like PipeEnd, such children are not supported.) Relaxed
// order suffices: the value is per process, and the child handler runs
// while the child has one thread.
std::atomic<pid_t> cached_process_id{0};

pid_t CurrentProcess() {
  pid_t pid = cached_process_id.load(std::memory_order_relaxed);
  if (pid != 0) return pid;
  static std::once_flag once;
  std::call_once(once, [] {
    pthread_atfork(nullptr, nullptr,
                   [] { cached_process_id.store(0, std::memory_order_relaxed); });
  });
  pid = getpid();
  cached_process_id.store(pid, std::memory_order_relaxed);
  return pid;
}

}  // namespace

NetworkEnd::NetworkEnd() = default;
NetworkEnd::NetworkEnd(NetworkEnd&&) noexcept = default;
NetworkEnd& NetworkEnd::operator=(NetworkEnd&& other) noexcept {
  if (this != &other) {
    (void)close();
    session_ = std::move(other.session_);
    owner_ = other.owner_;
  }
  return *this;
}
NetworkEnd::~NetworkEnd() {
  // A fork()ed child's copy: the parent's ZeroMQ context is not ours to use.
  if (session_ != nullptr && owner_ != CurrentProcess()) (void)session_.release();
}

NetworkEnd::NetworkEnd(std::unique_ptr<network_internal::Session> session)
    : session_(std::move(session)), owner_(CurrentProcess()) {}

absl::StatusOr<network_internal::Session*> NetworkEnd::session() const {
  if (session_ == nullptr) return absl::InvalidArgumentError("empty network end");
  if (owner_ != CurrentProcess()) {
    return absl::FailedPreconditionError(
        "a network end belongs to the process that made it (this one was inherited by fork)");
  }
  return session_.get();
}

bool NetworkEnd::is_open() const { return session().ok() && session_->is_open(); }
bool NetworkEnd::can_send() const { return is_open() && session_->sends(); }
bool NetworkEnd::can_recv() const { return is_open() && !session_->sends(); }
std::string NetworkEnd::address() const { return session_ ? session_->address() : ""; }

absl::Status NetworkEnd::send_bytes_until(std::string_view message, const Deadline& deadline) {
  absl::StatusOr<network_internal::Session*> session = this->session();
  if (!session.ok()) return session.status();
  return (*session)->Send(message, deadline);
}

absl::StatusOr<std::string> NetworkEnd::recv_bytes_until(const Deadline& deadline) {
  std::string message;
  if (absl::Status status = recv_bytes_into(message, deadline); !status.ok()) return status;
  return message;
}

absl::Status NetworkEnd::recv_bytes_into(std::string& message, const Deadline& deadline) {
  absl::StatusOr<network_internal::Session*> session = this->session();
  if (!session.ok()) return session.status();
  return (*session)->Receive(message, deadline);
}

std::size_t NetworkEnd::peer_count() const {
  absl::StatusOr<network_internal::Session*> session = this->session();
  return session.ok() ? (*session)->peer_count() : 0;
}

absl::Status NetworkEnd::wait_for_peer(const Deadline& deadline) {
  absl::StatusOr<network_internal::Session*> session = this->session();
  if (!session.ok()) return session.status();
  return (*session)->WaitForPeer(deadline);
}

PipeEnd::MessageType NetworkEnd::message_type() const {
  if (session_ == nullptr) return {};
  return {.fingerprint = session_->fingerprint(), .codec_id = session_->codec_id()};
}

absl::Status NetworkEnd::close() {
  if (session_ == nullptr || owner_ != CurrentProcess()) return absl::OkStatus();
  return session_->Close();
}

absl::StatusOr<NetworkEnd> OpenNetworkEnd(const std::string& address, bool bind, NetworkRole role,
                                          PipeEnd::MessageType type,
                                          const NetworkOptions& options) {
  network_internal::SessionOptions session_options{
      .bind = bind,
      .sends = role == NetworkRole::kSender,
      .fingerprint = type.fingerprint,
      .codec_id = type.codec_id,
      .credit_bytes = options.credit_bytes,
      .close_timeout = options.close_timeout,
      .link = {.heartbeat_interval = options.heartbeat_interval,
               .heartbeat_timeout = options.heartbeat_timeout},
  };
  absl::StatusOr<std::unique_ptr<network_internal::Session>> session =
      network_internal::Session::Open(address, session_options,
                                      Deadline::After(options.connect_timeout));
  if (!session.ok()) return session.status();
  return NetworkEnd(*std::move(session));
}

absl::StatusOr<NetworkEnd> BindNetworkEnd(const std::string& address, NetworkRole role,
                                          const NetworkOptions& options) {
  return OpenNetworkEnd(address, true, role, {}, options);
}

absl::StatusOr<NetworkEnd> ConnectNetworkEnd(const std::string& address, NetworkRole role,
                                             const NetworkOptions& options) {
  return OpenNetworkEnd(address, false, role, {}, options);
}

}  // namespace buffered_pipe
