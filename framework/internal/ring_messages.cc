// Whole-message calls built on the transactions: Send, ReceiveInto and
// ReceiveExactly, including the resumption of a stream that timed out.

#include "buffered_pipe/internal/ring.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "buffered_pipe/internal/ring_status.h"

namespace buffered_pipe::internal {

absl::Status Ring::Send(const void* data, std::uint64_t size, const CallContext& context) {
  if (size > max_frame_payload()) {
    absl::StatusOr<SendTransaction> transaction = BeginSend(size, context);
    if (!transaction.ok()) return transaction.status();
    if (absl::Status status = transaction->Write(data, size); !status.ok()) return status;
    return transaction->Commit();
  }
  const std::uint32_t owner = client_->owner();
  const std::uint64_t blocks = BlocksFor(size);
  ClaimAttempt claim = Claim(blocks, owner, 0, context);
  if (!claim.status.ok()) return std::move(claim.status);
  CopyIn(claim.position, 0, static_cast<const std::byte*>(data), size);
  // Relaxed: published by the commit exchange in Publish.
  CellAt(claim.position).extent.store(extent::Make(blocks, FrameKind::kSingle, size),
                                      std::memory_order_relaxed);
  return Publish(claim.position, owner, CellState::kCommitted);
}

absl::Status Ring::ReadRest(ReceiveTransaction& transaction, std::string& message,
                            const Deadline& deadline) {
  for (;;) {
    absl::StatusOr<std::span<const std::byte>> piece = transaction.NextPiece(deadline);
    if (!piece.ok()) return piece.status();
    if (piece->empty()) return absl::OkStatus();
    message.append(reinterpret_cast<const char*>(piece->data()), piece->size());
  }
}

namespace {

// Whether a stream receive stopped at its deadline (and may be resumed).
bool TimedOut(const absl::Status& status) {
  return absl::IsDeadlineExceeded(status) || absl::IsUnavailable(status);
}

}  // namespace

inline absl::Status Ring::TakeFrame(ReceiveTransaction& transaction, std::string& message) {
  const std::span<std::byte> first = Contiguous(transaction.position_, 0, transaction.frame_bytes_);
  message.assign(reinterpret_cast<const char*>(first.data()), first.size());
  if (first.size() < transaction.frame_bytes_) {
    message.append(reinterpret_cast<const char*>(data_), transaction.frame_bytes_ - first.size());
  }
  absl::Status status = transaction.ReleaseFrame();
  transaction.ring_ = nullptr;
  return status;
}

Ring::WholeMessage Ring::TakeWhole(ReceiveTransaction& transaction, std::string& message,
                                   const CallContext& context) {
  if (!transaction.active()) {
    // A streamed message this end began before: finish it first.
    std::unique_ptr<PartialReceive> kept = context.partial->Take();
    if (kept == nullptr) return {.skipped = true};  // another thread of this end took it
    transaction = std::move(kept->transaction);
    transaction.context_ = context;
    message = std::move(kept->bytes);
  } else {
    if (!transaction.streaming_) return {.status = TakeFrame(transaction, message)};
    // A stream: its announced size is untrusted, so it only bounds the
    // pre-allocation.
    constexpr std::uint64_t kTrustedReserve = std::uint64_t{64} << 20;
    message.clear();
    if (transaction.size() != kUnknownSize) {
      message.reserve(static_cast<std::size_t>(std::min(transaction.size(), kTrustedReserve)));
    }
  }
  absl::Status status = ReadRest(transaction, message, context.deadline);
  if (TimedOut(status) && transaction.active()) {
    // Keep our place in the stream: the next receive on this end resumes.
    KeepPartial(context, PartialReceive{std::move(transaction), std::move(message)});
    message.clear();
    return {.status = std::move(status)};
  }
  // The sender gave up or died in the middle: never delivered; next one.
  if (absl::IsAborted(status)) return {.skipped = true};
  if (!status.ok()) return {.status = std::move(status)};
  if (transaction.size() != kUnknownSize && message.size() != transaction.size()) {
    return {.status = absl::DataLossError(absl::StrCat(
                "message announced ", transaction.size(), " bytes but carried ", message.size()))};
  }
  return {};
}

absl::Status Ring::ReceiveInto(std::string& message, const CallContext& context) {
  for (;;) {
    ReceiveTransaction transaction;
    if (absl::Status status = WaitForMessage(context, transaction, /*copy_at_once=*/true);
        !status.ok()) {
      return status;
    }
    // One frame (the hot path): copied out and released, no piece loop.
    if (transaction.active() && !transaction.streaming_) return TakeFrame(transaction, message);
    WholeMessage taken = TakeWhole(transaction, message, context);
    if (!taken.skipped) return std::move(taken.status);
  }
}

absl::Status Ring::ReceiveVisiting(absl::FunctionRef<void(std::span<const std::byte>)> visit,
                                   std::string& scratch, const CallContext& context) {
  for (;;) {
    ReceiveTransaction transaction;
    if (absl::Status status = WaitForMessage(context, transaction, /*copy_at_once=*/true);
        !status.ok()) {
      return status;
    }
    // A frame taken under the head lock goes through `scratch` (copied and
    // released at once): no user code runs under the lock.
    if (transaction.active() && !transaction.streaming_ && transaction.head_lock_ == 0) {
      const std::span<std::byte> first =
          Contiguous(transaction.position_, 0, transaction.frame_bytes_);
      if (first.size() == transaction.frame_bytes_) {
        // In place: the frame stays held while `visit` reads it, and is
        // released on the way out, also if `visit` throws.
        transaction.frame_held_ = false;
        transaction.ring_ = nullptr;
        struct ReleaseOnExit {
          Ring& ring;
          const std::uint64_t position;
          const std::uint32_t owner;
          bool released = false;
          ~ReleaseOnExit() {
            if (!released) (void)ring.ReleaseRead(position, owner);
          }
        } release{*this, transaction.position_, transaction.owner_};
        visit(first);
        release.released = true;
        return ReleaseRead(transaction.position_, transaction.owner_);
      }
    }
    // Wrapped at the ring's end, streamed, or resumed: whole into `scratch`.
    WholeMessage taken = TakeWhole(transaction, scratch, context);
    if (taken.skipped) continue;
    if (!taken.status.ok()) return std::move(taken.status);
    visit(std::as_bytes(std::span(scratch)));
    return absl::OkStatus();
  }
}

absl::Status Ring::ReceiveExactly(void* target, std::uint64_t size, const CallContext& context) {
  auto* out = static_cast<std::byte*>(target);
  const auto wrong_size = [size](std::uint64_t found) {
    return absl::DataLossError(
        absl::StrCat("a message of ", found, " bytes where ", size, " were expected"));
  };
  for (;;) {
    ReceiveTransaction transaction;
    if (absl::Status status = WaitForMessage(context, transaction, /*copy_at_once=*/true);
        !status.ok()) {
      return status;
    }
    if (!transaction.active()) {
      // A streamed message this end began before: the whole-message path
      // finishes it, then it is checked against `size` like any other.
      std::string message;
      if (absl::Status status = ReceiveInto(message, context); !status.ok()) return status;
      if (message.size() != size) return wrong_size(message.size());
      std::memcpy(out, message.data(), size);
      return absl::OkStatus();
    }
    if (!transaction.streaming_) {
      if (transaction.frame_bytes_ != size) {
        transaction.Abandon();
        return wrong_size(transaction.frame_bytes_);
      }
      CopyOut(transaction.position_, 0, out, size);
      absl::Status status = transaction.ReleaseFrame();
      transaction.ring_ = nullptr;
      return status;
    }
    // A stream: copied piece by piece, never past `size`.
    std::uint64_t received = 0;
    absl::Status status;
    for (;;) {
      absl::StatusOr<std::span<const std::byte>> piece = transaction.NextPiece(context.deadline);
      if (!piece.ok()) {
        status = piece.status();
        break;
      }
      if (piece->empty()) break;
      if (piece->size() > size - received) {
        transaction.Abandon();
        status = wrong_size(received + piece->size());
        break;
      }
      std::memcpy(out + received, piece->data(), piece->size());
      received += piece->size();
    }
    if (TimedOut(status) && transaction.active()) {
      // Keep our place: the bytes so far go with the transaction.
      KeepPartial(context, PartialReceive{std::move(transaction),
                                          std::string(reinterpret_cast<const char*>(out),
                                                      static_cast<std::size_t>(received))});
      return status;
    }
    if (absl::IsAborted(status)) continue;  // cut short by its sender: next one
    if (!status.ok()) return status;
    if (received != size) return wrong_size(received);
    return absl::OkStatus();
  }
}

}  // namespace buffered_pipe::internal
