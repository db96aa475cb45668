// Endpoint: what every kind of pipe end (generic, static, typed) has in
// common: the attachment to its segment, the rings it sends on and receives
// from, and its open/closed state.
//
// Thread-safety: any number of threads may call the const members and
// Close() at once; moving and destroying must not race with other calls.

#ifndef BUFFERED_PIPE_INTERNAL_ENDPOINT_H_
#define BUFFERED_PIPE_INTERNAL_ENDPOINT_H_

#include <atomic>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "buffered_pipe/deadline.h"
#include "buffered_pipe/internal/attachment.h"
#include "buffered_pipe/internal/ring.h"

namespace buffered_pipe::internal {

struct PeerCount {
  std::uint32_t senders = 0;    // sending ends of the ring this end receives from
  std::uint32_t receivers = 0;  // receiving ends of the ring this end sends on
};

class Endpoint {
 public:
  Endpoint() = default;
  Endpoint(Endpoint&& other) noexcept { *this = std::move(other); }
  Endpoint& operator=(Endpoint&& other) noexcept;
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;
  ~Endpoint();

  // Opens an end with `roles` on `attachment` (counts it in the segment).
  static absl::StatusOr<Endpoint> Open(std::shared_ptr<Attachment> attachment, EndRoles roles);

  // Builds the two ends of a pipe over a fresh attachment: for one ring,
  // (receiving end, sending end); for two rings, two ends that each send on
  // one ring and receive from the other. Then publishes a new named
  // segment (Segment::Publish): openers of its name meet both ends.
  static absl::StatusOr<std::pair<Endpoint, Endpoint>> OpenPair(
      std::shared_ptr<Attachment> attachment);
  // Roles of side 0 or 1 of a pipe with `ring_count` rings.
  static EndRoles RolesOfSide(std::uint32_t ring_count, int side);
  // Opens side 0 or 1 of a pipe just opened (by name or by descriptor), or
  // passes on why it could not be opened.
  static absl::StatusOr<Endpoint> OpenSide(absl::StatusOr<std::shared_ptr<Attachment>> attachment,
                                           int side);

  bool is_open() const {
    return attachment_ != nullptr && !closed_.load(std::memory_order_acquire);
  }
  bool can_send() const { return roles_.send_ring >= 0; }
  bool can_receive() const { return roles_.receive_ring >= 0; }

  // The ring to send on / receive from, or the reason this end cannot.
  // A process without a slot in the segment (more processes than slots)
  // gets ResourceExhausted, after one more attempt to take a slot.
  absl::StatusOr<Ring*> SendRing() const {
    // Acquire: pairs with Close(); a closed end stops here.
    if (send_ring_ != nullptr && !closed_.load(std::memory_order_acquire) &&
        attachment_->owner() != 0) {
      return send_ring_;
    }
    return RingOrWhyNot(/*send=*/true);
  }
  absl::StatusOr<Ring*> ReceiveRing() const {
    if (receive_ring_ != nullptr && !closed_.load(std::memory_order_acquire) &&
        attachment_->owner() != 0) {
      return receive_ring_;
    }
    return RingOrWhyNot(/*send=*/false);
  }
  CallContext Context(const Deadline& deadline) const {
    return CallContext{deadline, &closed_, &partial_receive_};
  }

  // Open ends of the other kind (see PipeEnd::peers); zeros for a closed end.
  PeerCount Peers() const;
  // Waits until each direction of this end has a peer (PipeEnd::wait_for_peer).
  absl::Status WaitForPeer(const Deadline& deadline) const;

  // Idempotent. Wakes callers blocked on this end (they return Cancelled).
  absl::Status Close();
  absl::Status RegisterProcess();

  const std::shared_ptr<Attachment>& attachment() const { return attachment_; }

 private:
  absl::Status CheckUsable() const;
  // The slow path of SendRing / ReceiveRing: the reason this end cannot, or
  // the ring once this process has taken a slot.
  absl::StatusOr<Ring*> RingOrWhyNot(bool send) const;

  std::shared_ptr<Attachment> attachment_;
  EndRoles roles_;
  // The rings of `roles_` in `attachment_` (null: this end does not).
  Ring* send_ring_ = nullptr;
  Ring* receive_ring_ = nullptr;
  std::atomic<bool> closed_{false};
  // A streamed message a receive of this end timed out in the middle of; the
  // next receive resumes it (see Ring::ReceiveInto). Mutable: receiving is a
  // const use of the end.
  mutable PartialReceiveSlot partial_receive_;
};

}  // namespace buffered_pipe::internal

#endif  // BUFFERED_PIPE_INTERNAL_ENDPOINT_H_
