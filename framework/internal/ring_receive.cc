// Receiving: claiming the frame at the head, releasing it, the stream
// reader's hold, chunks of a streamed message, ReceiveTransaction and the
// PartialReceiveSlot that keeps a timed-out stream (layout.h, "Receive",
// "Release" and "Streams").

#include "buffered_pipe/internal/ring.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "buffered_pipe/internal/ring_status.h"
#include "buffered_pipe/internal/schedule_point.h"

namespace buffered_pipe::internal {

void Ring::ReleaseReaderHold(std::uint64_t token, std::uint64_t replacement) {
  std::uint64_t expected = token;
  // seq_cst: a state change that parked receivers re-check.
  control_->stream_reader.compare_exchange_strong(expected, replacement,
                                                  std::memory_order_seq_cst);
  WakeParked(control_->data);
}

// --- The head lock --------------------------------------------------------------

Ring::HeadLock Ring::TryLockHead(std::uint32_t owner, OwnerWatch* watch) {
  // seq_cst (free on x86): the re-check of a receiver parked behind the
  // lock (pairing (b) with UnlockHead). A held lock is waited for without
  // writing its line.
  std::uint64_t holder = control_->head_lock.load(std::memory_order_seq_cst);
  if (holder == 0) {
    // The token only has to name the owner: the holder knows it holds, and
    // recovery frees the lock of a dead owner only.
    const std::uint64_t token = token::Make(1, owner);
    // SYNC POINT READ+WRITE: the head lock. Acquire pairs with the previous
    // holder's release in UnlockHead: its moves of head (and `released`)
    // happen before our look at head.
    if (control_->head_lock.compare_exchange_strong(holder, token, std::memory_order_acquire,
                                                    std::memory_order_relaxed)) {
      ReachSchedulePoint(SchedulePoint::kHeadLocked);
      return HeadLock(this, token);
    }
  }
  if (watch != nullptr) watch->Blocked(token::Owner(holder));
  return HeadLock();
}

void Ring::UnlockHead(std::uint64_t token) {
  (void)token;  // only the holder drops a live holder's lock: a plain store
  // SYNC POINT WRITE: release, see TryLockHead. The loads of `parked` below
  // are ordered after it by the wake-up pairing (wait.h (b)).
  control_->head_lock.store(0, std::memory_order_release);
  ReachSchedulePoint(SchedulePoint::kHeadUnlocked);
  WakeParkedAfterStore(control_->data);
  WakeParkedAfterStore(control_->space);
}

// --- Receiving -----------------------------------------------------------------

bool Ring::ClaimForReading(std::uint64_t head, std::uint64_t observed, std::uint64_t blocks,
                           std::uint32_t owner) {
  std::uint64_t expected = observed;
  // SYNC POINT READ+WRITE: the receive claim. Acquire pairs with the commit
  // (the payload is visible); the owner is recorded in the same step.
  if (!CellAt(head).stamp.compare_exchange_strong(
          expected, stamp::Make(head, owner, CellState::kReading), std::memory_order_seq_cst)) {
    return false;
  }
  ReachSchedulePoint(SchedulePoint::kReceiverClaimed);
  // Only the claimer of the frame at head moves head past it (or, if the
  // claimer died right here, whoever resolves its claim): a plain store.
  // Release: receivers that see the new head see our claim.
  control_->head.store(head + blocks, std::memory_order_release);
  return true;
}

void Ring::HelpHead(std::uint64_t head, std::uint64_t observed) {
  (void)observed;
  // Only for a frame whose claimer is dead (its claim resolved to RELEASED):
  // nobody else will move head past it. A CAS, because two resolvers may
  // race. Relaxed: the extent was published by the frame's commit, which
  // the stamp load that found it acquired; if the cell has been reused
  // since, head has moved and the CAS fails.
  const std::uint64_t extent_word = CellAt(head).extent.load(std::memory_order_relaxed);
  if (!ValidateExtent(extent_word).ok()) return;
  std::uint64_t expected = head;
  control_->head.compare_exchange_strong(expected, head + extent::Blocks(extent_word),
                                         std::memory_order_seq_cst);
}

absl::Status Ring::ReleaseRead(std::uint64_t position, std::uint32_t owner) {
  Cell& cell = CellAt(position);
  // Relaxed: our own claim, read back only to detect corruption.
  if (cell.stamp.load(std::memory_order_relaxed) !=
      stamp::Make(position, owner, CellState::kReading)) {
    return Corrupt("a frame being read changed under its reader");
  }
  ReachSchedulePoint(SchedulePoint::kReceiverBeforeRelease);
  // SYNC POINT WRITE: the release. Receivers never move `released`: the
  // cell says RELEASED, on the line our claim just wrote, and senders move
  // `released` past RELEASED cells when they run short of space
  // (AdvanceReleased), many frames at a time. Release: our reads of the
  // payload happen before a walker that acquires this stamp reuses the
  // blocks.
  cell.stamp.store(stamp::Make(position, 0, CellState::kReleased), std::memory_order_release);
  ReachSchedulePoint(SchedulePoint::kReceiverReleased);
  // The load of `parked` is ordered after the store by the wake-up pairing
  // (wait.h (b)).
  WakeParkedAfterStore(control_->space);
  return absl::OkStatus();
}

absl::Status Ring::ReleaseLocked(std::uint64_t position, std::uint64_t blocks,
                                 std::uint64_t token) {
  ReachSchedulePoint(SchedulePoint::kReceiverBeforeRelease);
  // Under the head lock with `released` == position, nobody else can move
  // `released` (layout.h, "Receive"); a stale smaller value only makes us
  // take the cell's way. Relaxed: a comparison only.
  if (control_->released.load(std::memory_order_relaxed) == position) {
    // SYNC POINT WRITE: the release, without a write to the cell. Release:
    // our reads of the payload happen before a sender that acquires
    // `released` reuses the blocks.
    control_->released.store(position + blocks, std::memory_order_release);
  } else {
    // Frames before this one are still being read: the cell's way, as
    // ReleaseRead (a walker passes it once they are released).
    CellAt(position).stamp.store(stamp::Make(position, 0, CellState::kReleased),
                                 std::memory_order_release);
  }
  ReachSchedulePoint(SchedulePoint::kReceiverReleased);
  // Wakes parked senders as well as receivers (after both stores).
  UnlockHead(token);
  return absl::OkStatus();
}

void Ring::Drop(std::uint64_t head, std::uint64_t observed, std::uint64_t blocks,
                std::uint32_t owner) {
  if (ClaimForReading(head, observed, blocks, owner)) (void)ReleaseRead(head, owner);
}

Ring::HeadFrame Ring::LookAtHead(const CallContext& context, std::uint32_t owner,
                                 OwnerWatch& watch) {
  if (Cancelled(context)) return Attempt::Done(ClosedError());
  HeadFrame frame;
  frame.head = control_->head.load(std::memory_order_seq_cst);
  Cell& cell = CellAt(frame.head);
  // SYNC POINT READ: seq_cst pairs with the commit exchange (and acquires the
  // extent and payload).
  frame.observed = cell.stamp.load(std::memory_order_seq_cst);
  const std::uint64_t position = stamp::Position(frame.observed);
  frame.empty = position < frame.head;  // nothing claimed at head yet
  if (frame.empty) return frame;
  if (position > frame.head) {
    // Head moved on meanwhile: a stamp a lap ahead is written only after
    // head has passed this cell, so a second look at head sees it moved. If
    // it has not, the stamp is corrupt (retrying would never end).
    if (control_->head.load(std::memory_order_seq_cst) == frame.head) {
      return Attempt::Done(Corrupt("a frame stamp is ahead of head"));
    }
    return Attempt::Retry();
  }
  const CellState state = stamp::State(frame.observed);
  if (state == CellState::kClaimed) {  // its commit wakes us
    watch.Blocked(stamp::Owner(frame.observed));
    return Attempt::Blocked();
  }
  if (state == CellState::kReading || state == CellState::kReleased) {
    // Another receiver's frame. The protocol only ever writes valid
    // extents; with an invalid one head could never move and the retry
    // would never end.
    if (!ValidateExtent(cell.extent.load(std::memory_order_relaxed)).ok()) {
      return Attempt::Done(Corrupt("a frame being read at head has an invalid length"));
    }
    // READING: its claimer is about to move head (a few instructions; if it
    // died there, the resolution of its claim moves head). RELEASED at head:
    // a dead reader's claim was just resolved; finish moving head for it.
    if (state == CellState::kReleased) {
      HelpHead(frame.head, frame.observed);
    } else {
      watch.Blocked(stamp::Owner(frame.observed));
    }
    return Attempt::Retry();
  }
  if (state != CellState::kCommitted && state != CellState::kPadding) {
    return Attempt::Done(Corrupt("unknown frame state"));
  }
  // A frame to take: only under the head lock. Its holder is a few steps
  // from dropping it (or dead, which the poll finds): retry soon.
  frame.lock = TryLockHead(owner, &watch);
  if (!frame.lock.held()) return Attempt::Retry();
  // The frame may have been taken before we locked; under the lock, what
  // we see now stays (layout.h, "Receive"). seq_cst as above.
  if (control_->head.load(std::memory_order_seq_cst) != frame.head ||
      cell.stamp.load(std::memory_order_seq_cst) != frame.observed) {
    return Attempt::Retry();
  }
  frame.extent_word = cell.extent.load(std::memory_order_relaxed);
  if (absl::Status status = ValidateExtent(frame.extent_word); !status.ok()) {
    return Attempt::Done(std::move(status));
  }
  if (state == CellState::kPadding) {
    Drop(frame.head, frame.observed, extent::Blocks(frame.extent_word), owner);
    return Attempt::Retry();
  }
  return frame;
}

Attempt Ring::TryBeginReceive(const CallContext& context, bool recount, bool copy_at_once,
                              OwnerWatch& watch, ReceiveTransaction& transaction) {
  if (context.partial != nullptr && context.partial->occupied() && !Cancelled(context)) {
    // This end stopped in the middle of a streamed message: it resumes that
    // one first (its chunks are its alone). Done with no transaction.
    return Attempt::Done();
  }
  const std::uint32_t owner = transaction.owner_;
  HeadFrame frame = LookAtHead(context, owner, watch);
  if (!frame.succeeded()) return frame;
  const std::uint64_t head = frame.head;
  if (frame.empty) {
    if (AnyEndOpen(/*senders=*/true, recount)) return Attempt::Blocked();
    // No sender is left. A sender commits before it closes, so a look at the
    // cell after seeing the close finds its last message if there is one.
    if (CellAt(head).stamp.load(std::memory_order_seq_cst) != frame.observed ||
        control_->head.load(std::memory_order_seq_cst) != head) {
      return Attempt::Retry();
    }
    return Attempt::Done(EndOfStreamError());
  }
  const std::uint64_t observed = frame.observed;
  const std::uint64_t extent_word = frame.extent_word;
  const std::uint64_t blocks = extent::Blocks(extent_word);
  const FrameKind kind = extent::Kind(extent_word);
  switch (kind) {
    case FrameKind::kSingle:
      transaction.size_ = extent::Bytes(extent_word);
      if (copy_at_once && transaction.size_ <= kLockedCopyBytes) {
        // Taken under the lock, which the transaction keeps until the
        // caller has copied the payload out. Relaxed: read only by the
        // resolution of a dead holder, after it acquires the head below.
        control_->locked_frame.store(head, std::memory_order_relaxed);
        // Release: see ClaimForReading.
        control_->head.store(head + blocks, std::memory_order_release);
        ReachSchedulePoint(SchedulePoint::kReceiverTookUnderLock);
        transaction.head_lock_ = frame.lock.Keep();
        break;
      }
      if (!ClaimForReading(head, observed, blocks, owner)) return Attempt::Retry();
      break;
    case FrameKind::kFirst: {
      std::uint64_t reader = control_->stream_reader.load(std::memory_order_seq_cst);
      if (reader == token::kDiscard) {
        // The stream being discarded was cut short; this is a new one.
        ReleaseReaderHold(token::kDiscard, 0);
        return Attempt::Retry();
      }
      if (reader != 0) {  // another receiver is taking a stream
        watch.Blocked(token::Owner(reader));
        return Attempt::Blocked();
      }
      const std::uint64_t token = NewStreamToken(owner);
      // SYNC POINT WRITE: the reader hold, taken before the FIRST chunk so
      // that whoever holds the chunk always holds the hold.
      if (!control_->stream_reader.compare_exchange_strong(reader, token,
                                                           std::memory_order_seq_cst)) {
        return Attempt::Retry();
      }
      ReachSchedulePoint(SchedulePoint::kStreamHoldTaken);
      if (!ClaimForReading(head, observed, blocks, owner)) {
        ReleaseReaderHold(token, 0);
        return Attempt::Retry();
      }
      if (extent::Bytes(extent_word) < sizeof(StreamHeader)) {
        transaction.position_ = head;
        (void)ReleaseRead(head, owner);
        ReleaseReaderHold(token, token::kDiscard);
        return Attempt::Done(Corrupt("first chunk shorter than its header"));
      }
      transaction.streaming_ = true;
      transaction.reader_token_ = token;
      break;
    }
    case FrameKind::kMiddle:
    case FrameKind::kLast: {
      const std::uint64_t reader = control_->stream_reader.load(std::memory_order_seq_cst);
      if (reader == 0 || reader == token::kDiscard) {
        // A chunk nobody is entitled to: its reader gave up or died.
        Drop(head, observed, blocks, owner);
        if (kind == FrameKind::kLast && reader == token::kDiscard) {
          ReleaseReaderHold(token::kDiscard, 0);
        }
        return Attempt::Retry();
      }
      watch.Blocked(token::Owner(reader));
      return Attempt::Blocked();  // belongs to the stream's reader
    }
  }
  transaction.ring_ = this;
  transaction.HoldFrame(head, extent_word);
  return Attempt::Done();
}

absl::Status Ring::WaitForMessage(const CallContext& context, ReceiveTransaction& transaction,
                                  bool copy_at_once) {
  transaction.context_ = context;
  transaction.owner_ = client_->owner();
  OwnerWatch watch;
  // The common case needs no waiting: try once before setting up the loop.
  Attempt begun = TryBeginReceive(context, false, copy_at_once, watch, transaction);
  if (!begun.done()) {
    begun = WaitLoop(
        control_->data, context.deadline,
        [&](bool polled) {
          // From the first poll on, recount open ends (see AnyEndOpen).
          return TryBeginReceive(context, polled, copy_at_once, watch, transaction);
        },
        [&] { return PollFor(watch); });
  }
  if (!begun.status.ok()) return std::move(begun.status);
  if (!transaction.streaming_) return absl::OkStatus();
  StreamHeader header;
  CopyOut(transaction.position_, 0, reinterpret_cast<std::byte*>(&header), sizeof(header));
  if (header.writer_token == 0) {
    // Tokens are never 0, the free hold: a stream naming 0 would be waited
    // for (TryNextChunk) for as long as nobody else streams.
    transaction.Abandon();
    return Corrupt("a streamed message names no writer");
  }
  transaction.size_ = header.total_bytes;
  transaction.writer_token_ = header.writer_token;
  transaction.frame_offset_ = sizeof(header);
  return absl::OkStatus();
}

absl::StatusOr<ReceiveTransaction> Ring::BeginReceive(const CallContext& context) {
  CallContext without_partial = context;
  without_partial.partial = nullptr;
  ReceiveTransaction transaction;
  // Piecewise: the caller holds the frame as long as it likes.
  if (absl::Status status = WaitForMessage(without_partial, transaction, /*copy_at_once=*/false);
      !status.ok()) {
    return status;
  }
  return transaction;
}

absl::StatusOr<PartialReceive> Ring::BeginReceiveResuming(const CallContext& context) {
  for (;;) {
    if (context.partial != nullptr) {
      if (std::unique_ptr<PartialReceive> kept = context.partial->Take()) {
        kept->transaction.context_ = context;
        return std::move(*kept);
      }
    }
    PartialReceive message;
    if (absl::Status status =
            WaitForMessage(context, message.transaction, /*copy_at_once=*/false);
        !status.ok()) {
      return status;
    }
    if (message.transaction.active()) return message;
    // Another thread of this end kept a partial message meanwhile: take it.
  }
}

void Ring::KeepPartial(const CallContext& context, PartialReceive message) {
  if (context.partial == nullptr || !message.active()) return;  // drops the rest
  auto partial = std::make_unique<PartialReceive>(std::move(message));
  partial->pid = static_cast<std::uint32_t>(getpid());
  context.partial->Keep(std::move(partial));
  // A receive of this end parked behind the stream must now resume it.
  WakeParked(control_->data);
}

// --- PartialReceiveSlot -------------------------------------------------------

std::unique_ptr<PartialReceive> PartialReceiveSlot::Take() {
  // acq_rel: acquires the partial message a Keep() released; one taker wins.
  std::unique_ptr<PartialReceive> partial(partial_.exchange(nullptr, std::memory_order_acq_rel));
  if (partial != nullptr && partial->pid != static_cast<std::uint32_t>(getpid())) {
    // Inherited through fork(): the stream belongs to the parent.
    partial->transaction.Forget();
    partial.reset();
  }
  return partial;
}

void PartialReceiveSlot::Keep(std::unique_ptr<PartialReceive> partial) {
  // seq_cst: a parked receive of this end re-checks occupied() after
  // announcing itself (Dekker, see wait.h); release publishes the object.
  PartialReceive* previous = partial_.exchange(partial.release(), std::memory_order_seq_cst);
  // At most one partial message exists per end; a second would be a bug,
  // but must not leak a stream hold.
  delete previous;
}

void PartialReceiveSlot::Clear() { (void)Take(); }

void PartialReceiveSlot::TakeFrom(PartialReceiveSlot& other) {
  Clear();
  partial_.store(other.partial_.exchange(nullptr, std::memory_order_acq_rel),
                 std::memory_order_release);
}

Attempt Ring::TryNextChunk(ReceiveTransaction& transaction, OwnerWatch& watch) {
  HeadFrame frame = LookAtHead(transaction.context_, transaction.owner_, watch);
  if (!frame.succeeded()) return frame;
  const std::uint64_t head = frame.head;
  if (frame.empty) {
    // The writer commits every chunk before it releases its hold: if the
    // hold is gone and the cell is still empty, the stream was cut short.
    if (control_->stream_writer.load(std::memory_order_seq_cst) != transaction.writer_token_) {
      if (CellAt(head).stamp.load(std::memory_order_seq_cst) != frame.observed) {
        return Attempt::Retry();
      }
      return Attempt::Done(StreamAbortedError());
    }
    watch.Blocked(token::Owner(transaction.writer_token_));
    return Attempt::Blocked();
  }
  const std::uint64_t observed = frame.observed;
  const std::uint64_t extent_word = frame.extent_word;
  const std::uint64_t blocks = extent::Blocks(extent_word);
  const FrameKind kind = extent::Kind(extent_word);
  if (kind == FrameKind::kSingle || kind == FrameKind::kFirst) {
    return Attempt::Done(StreamAbortedError());  // a new message where our chunk should be
  }
  if (!ClaimForReading(head, observed, blocks, transaction.owner_)) return Attempt::Retry();
  transaction.HoldFrame(head, extent_word);
  return Attempt::Done();
}

// --- ReceiveTransaction -------------------------------------------------------

ReceiveTransaction::ReceiveTransaction(ReceiveTransaction&& other) noexcept {
  *this = std::move(other);
}

ReceiveTransaction& ReceiveTransaction::operator=(ReceiveTransaction&& other) noexcept {
  if (this != &other) {
    Abandon();
    ReceiveTransactionState::operator=(other);
    other.ring_ = nullptr;
    other.frame_held_ = false;
    other.head_lock_ = 0;
  }
  return *this;
}

void ReceiveTransaction::HoldFrame(std::uint64_t position, std::uint64_t extent_word) {
  frame_held_ = true;
  position_ = position;
  frame_blocks_ = extent::Blocks(extent_word);
  frame_bytes_ = extent::Bytes(extent_word);
  frame_offset_ = 0;
  kind_ = extent::Kind(extent_word);
}

absl::Status ReceiveTransaction::ReleaseFrame() {
  frame_held_ = false;
  if (head_lock_ != 0) {
    return ring_->ReleaseLocked(position_, frame_blocks_, std::exchange(head_lock_, 0));
  }
  return ring_->ReleaseRead(position_, owner_);
}

absl::StatusOr<std::span<const std::byte>> ReceiveTransaction::NextPiece() {
  return NextPiece(context_.deadline);
}

absl::StatusOr<std::span<const std::byte>> ReceiveTransaction::NextPiece(
    const Deadline& deadline) {
  if (ring_ == nullptr) return absl::InvalidArgumentError("no message is being received");
  for (;;) {
    if (frame_held_ && frame_offset_ < frame_bytes_) {
      const std::span<std::byte> piece =
          ring_->Contiguous(position_, frame_offset_, frame_bytes_ - frame_offset_);
      frame_offset_ += piece.size();
      return std::span<const std::byte>(piece);
    }
    if (frame_held_) {
      (void)ReleaseFrame();
      if (kind_ == FrameKind::kSingle || kind_ == FrameKind::kLast) {
        finished_ = true;
        if (streaming_) ring_->ReleaseReaderHold(reader_token_, 0);
      }
    }
    if (finished_) return std::span<const std::byte>();
    // The rest of a stream, until the deadline. Between chunks this
    // transaction holds no frame, only the stream's reader hold: a timeout
    // leaves it as it is, and the next call carries on from here.
    Ring* ring = ring_;
    OwnerWatch watch;
    absl::Status status = WaitLoop(
                              ring->control_->data, deadline,
                              [&](bool) { return ring->TryNextChunk(*this, watch); },
                              [&] { return ring->PollFor(watch); })
                              .status;
    if (absl::IsDeadlineExceeded(status) || absl::IsUnavailable(status)) return status;
    if (!status.ok()) {
      Abandon();
      return status;
    }
  }
}

void ReceiveTransaction::Abandon() {
  if (ring_ == nullptr) return;
  if (frame_held_) (void)ReleaseFrame();
  if (streaming_ && !finished_) {
    // Whatever chunks are still to come are dropped by whoever meets them.
    ring_->ReleaseReaderHold(reader_token_, token::kDiscard);
  }
  ring_ = nullptr;
}

}  // namespace buffered_pipe::internal
