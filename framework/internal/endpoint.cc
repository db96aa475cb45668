#include "buffered_pipe/internal/endpoint.h"

namespace buffered_pipe::internal {

Endpoint& Endpoint::operator=(Endpoint&& other) noexcept {
  if (this != &other) {
    (void)Close();
    attachment_ = std::move(other.attachment_);
    roles_ = std::exchange(other.roles_, EndRoles{});
    send_ring_ = std::exchange(other.send_ring_, nullptr);
    receive_ring_ = std::exchange(other.receive_ring_, nullptr);
    closed_.store(other.closed_.exchange(false, std::memory_order_relaxed),
                  std::memory_order_relaxed);
    partial_receive_.TakeFrom(other.partial_receive_);
  }
  return *this;
}

Endpoint::~Endpoint() { (void)Close(); }

absl::StatusOr<Endpoint> Endpoint::Open(std::shared_ptr<Attachment> attachment, EndRoles roles) {
  if (absl::Status status = attachment->AddEnd(roles); !status.ok()) return status;
  Endpoint endpoint;
  if (roles.send_ring >= 0) {
    endpoint.send_ring_ = &attachment->ring(static_cast<std::uint32_t>(roles.send_ring));
  }
  if (roles.receive_ring >= 0) {
    endpoint.receive_ring_ = &attachment->ring(static_cast<std::uint32_t>(roles.receive_ring));
  }
  endpoint.attachment_ = std::move(attachment);
  endpoint.roles_ = roles;
  return endpoint;
}

EndRoles Endpoint::RolesOfSide(std::uint32_t ring_count, int side) {
  if (ring_count == 1) return side == 0 ? EndRoles{-1, 0} : EndRoles{0, -1};
  // Ring 0 carries messages from side 1 to side 0, ring 1 the other way.
  return side == 0 ? EndRoles{1, 0} : EndRoles{0, 1};
}

absl::StatusOr<Endpoint> Endpoint::OpenSide(
    absl::StatusOr<std::shared_ptr<Attachment>> attachment, int side) {
  if (!attachment.ok()) return attachment.status();
  const std::uint32_t rings = (*attachment)->ring_count();
  return Open(std::move(*attachment), RolesOfSide(rings, side));
}

absl::StatusOr<std::pair<Endpoint, Endpoint>> Endpoint::OpenPair(
    std::shared_ptr<Attachment> attachment) {
  const std::uint32_t rings = attachment->ring_count();
  absl::StatusOr<Endpoint> first = Open(attachment, RolesOfSide(rings, 0));
  absl::StatusOr<Endpoint> second =
      first.ok() ? Open(attachment, RolesOfSide(rings, 1)) : first.status();
  // A new named segment is opened to others only now that the creator's
  // ends are counted (Segment::CreateNamed); also when opening failed, so
  // that its name is an ordinary one to reclaim.
  attachment->segment().Publish();
  if (!second.ok()) return second.status();
  return std::make_pair(std::move(*first), std::move(*second));
}

absl::Status Endpoint::CheckUsable() const {
  if (attachment_ == nullptr) {
    return absl::InvalidArgumentError("this end is empty (moved from or default-constructed)");
  }
  if (closed_.load(std::memory_order_acquire)) return absl::CancelledError("this end is closed");
  return absl::OkStatus();
}

absl::StatusOr<Ring*> Endpoint::RingOrWhyNot(bool send) const {
  if (absl::Status status = CheckUsable(); !status.ok()) return status;
  Ring* ring = send ? send_ring_ : receive_ring_;
  if (ring == nullptr) {
    return absl::InvalidArgumentError(send ? "this end can only receive" : "this end can only send");
  }
  // Open, of the right direction: this process has no slot (the table was
  // full when it forked or registered). Try again: one may have been freed.
  if (absl::Status status = attachment_->RegisterProcess(); !status.ok()) return status;
  return ring;
}

absl::Status Endpoint::Close() {
  if (attachment_ == nullptr) return absl::OkStatus();
  // seq_cst: blocked callers on this end re-check the flag after parking.
  if (closed_.exchange(true, std::memory_order_seq_cst)) return absl::OkStatus();
  // A message this end was in the middle of is dropped with it, and its
  // stream released for the other receivers.
  partial_receive_.Clear();
  attachment_->RemoveEnd(roles_);  // also wakes every waiter of its rings
  return absl::OkStatus();
}

PeerCount Endpoint::Peers() const {
  PeerCount count;
  if (!is_open()) return count;
  // Acquire: only counts; any value is harmless (they come from shared
  // memory and are only reported).
  if (receive_ring_ != nullptr) {
    count.senders = receive_ring_->control().senders_open.load(std::memory_order_acquire);
  }
  if (send_ring_ != nullptr) {
    count.receivers = send_ring_->control().receivers_open.load(std::memory_order_acquire);
  }
  return count;
}

absl::Status Endpoint::WaitForPeer(const Deadline& deadline) const {
  if (receive_ring_ != nullptr || send_ring_ == nullptr) {
    absl::StatusOr<Ring*> ring = ReceiveRing();
    if (!ring.ok()) return ring.status();
    if (absl::Status status = (*ring)->WaitForEnds(/*senders=*/true, Context(deadline));
        !status.ok()) {
      return status;
    }
  }
  if (send_ring_ != nullptr) {
    absl::StatusOr<Ring*> ring = SendRing();
    if (!ring.ok()) return ring.status();
    return (*ring)->WaitForEnds(/*senders=*/false, Context(deadline));
  }
  return absl::OkStatus();
}

absl::Status Endpoint::RegisterProcess() {
  if (absl::Status status = CheckUsable(); !status.ok()) return status;
  return attachment_->RegisterProcess();
}

}  // namespace buffered_pipe::internal
