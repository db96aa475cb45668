// Sending: claiming frames at the tail, publishing them, the stream writer's
// hold, and SendTransaction (layout.h, "Claim" and "Commit").

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

// --- Claiming ----------------------------------------------------------------

absl::StatusOr<std::uint64_t> Ring::AdvanceReleased(std::uint64_t tail) {
  // SYNC POINT READ: acquire pairs with the acq_rel CAS of other walkers.
  std::uint64_t released = control_->released.load(std::memory_order_acquire);
  // Walk the RELEASED frames from `released` on, then move `released` past
  // all of them with one CAS.
  std::uint64_t walked = released;
  for (std::uint64_t steps = 0; steps <= spec_.capacity_blocks && walked < tail; ++steps) {
    Cell& cell = CellAt(walked);
    // SYNC POINT READ: acquire pairs with the receiver's release store of
    // RELEASED: its reads of the payload happen before our reuse of the
    // blocks. seq_cst: also the re-check of a parked sender (wait.h).
    const std::uint64_t observed = cell.stamp.load(std::memory_order_seq_cst);
    // Relaxed: written by the frame's claimer before its commit, which the
    // receiver acquired before its RELEASED store, which we acquired above.
    const std::uint64_t extent_word = cell.extent.load(std::memory_order_relaxed);
    if (observed == stamp::Make(walked, 0, CellState::kPadding)) {
      // Padding (an aborted message) is normally skipped by receivers; while
      // none is receiving, its blocks would stay taken. The frames before it
      // are all received (RELEASED), so it lies at `head`: we receive and
      // drop it as a receiver would, which keeps released <= head. That is
      // a claim at head, made under the head lock; if another party holds
      // the lock, it is at head and drops the padding itself, and its
      // unlock wakes us.
      if (absl::Status status = ValidateExtent(extent_word); !status.ok()) return status;
      HeadLock lock = TryLockHead(client_->owner(), nullptr);
      if (!lock.held()) break;
      // seq_cst: as the load above; under the lock the padding stays.
      if (cell.stamp.load(std::memory_order_seq_cst) == observed &&
          control_->head.load(std::memory_order_seq_cst) == walked) {
        Drop(walked, observed, extent::Blocks(extent_word), client_->owner());
      }
      continue;  // look at the same position again: now RELEASED, or taken
    }
    if (observed != stamp::Make(walked, 0, CellState::kReleased)) break;
    if (absl::Status status = ValidateExtent(extent_word); !status.ok()) return status;
    walked += extent::Blocks(extent_word);
  }
  while (walked > released) {
    ReachSchedulePoint(SchedulePoint::kWalkerFoundReleased);
    std::uint64_t expected = released;
    // acq_rel: senders that read the new `released` may overwrite the blocks
    // (release); the walk of whoever moved it before us (acquire). The
    // frames in [released, walked) stay RELEASED until `released` passes
    // them, so a CAS from a value another walker left is still right.
    if (control_->released.compare_exchange_strong(expected, walked,
                                                   std::memory_order_acq_rel)) {
      released = walked;
    } else {
      released = expected;  // another sender walked (maybe further)
    }
  }
  return released;
}

Ring::ClaimAttempt Ring::TryClaim(std::uint64_t blocks, std::uint32_t owner,
                                  std::uint64_t writer_token, const CallContext& context,
                                  bool recount, OwnerWatch& watch, std::uint64_t room_wanted) {
  if (Cancelled(context)) return Attempt::Done(ClosedError());
  if (!AnyEndOpen(/*senders=*/false, recount)) return Attempt::Done(BrokenPipeError());
  // Another sender streams a long message: wait for it (its release wakes us).
  const std::uint64_t writer = control_->stream_writer.load(std::memory_order_seq_cst);
  if (writer != 0 && writer != writer_token) {
    watch.Blocked(token::Owner(writer));
    return Attempt::Blocked();
  }

  // seq_cst (free on x86): keeps this re-check ordered in the parked protocol.
  const std::uint64_t tail = control_->tail.load(std::memory_order_seq_cst);
  // SYNC POINT READ: acquire pairs with the release store of the hint by the
  // sender that read `released` (itself acquired from the releaser): the
  // receivers' reads of the blocks we are about to reuse happen before.
  const std::uint64_t hint = control_->released_hint.load(std::memory_order_acquire);
  const std::uint64_t wanted = std::max(blocks, std::min(room_wanted, spec_.capacity_blocks));
  if (hint > tail || tail + wanted - hint > spec_.capacity_blocks) {
    // Short of space by the hint (or a stale tail): look at `released`, and
    // walk past frames released out of order.
    const std::uint64_t released = control_->released.load(std::memory_order_seq_cst);
    if (released > tail || tail - released > spec_.capacity_blocks) {
      // `released` is read after `tail`; both only grow, so a fresher
      // `released` may pass a stale `tail`: look again before calling it
      // corrupt.
      if (control_->tail.load(std::memory_order_seq_cst) == tail) {
        return Attempt::Done(Corrupt("tail and released positions are inconsistent"));
      }
      return Attempt::Retry();
    }
    absl::StatusOr<std::uint64_t> advanced = AdvanceReleased(tail);
    if (!advanced.ok()) return Attempt::Done(advanced.status());
    // Release: see the load of the hint above. Racing senders may store an
    // older value; the hint then lags, which only costs a look at `released`.
    control_->released_hint.store(*advanced, std::memory_order_release);
    if (tail + wanted > *advanced + spec_.capacity_blocks) return Attempt::Blocked();
  }
  if (tail + blocks >= stamp::kPositionLimit) {
    return Attempt::Done(absl::ResourceExhaustedError("the ring's 2^53 positions are used up"));
  }
  Cell& cell = CellAt(tail);
  std::uint64_t observed = cell.stamp.load(std::memory_order_seq_cst);
  // A stamp at `tail`: another sender claimed it and is about to advance the
  // tail (stamps of a cell only grow, see layout.h). Claims are made only at
  // the tail, and the tail is advanced before the claim is published, so
  // with the tail unmoved the stamp must be exactly (tail, CLAIMED): anything
  // else (a stamp beyond the tail, another state) is corrupt and would be
  // retried for ever.
  if (stamp::Position(observed) >= tail) {
    if (control_->tail.load(std::memory_order_seq_cst) != tail) return Attempt::Retry();
    if (stamp::Position(observed) != tail || stamp::State(observed) != CellState::kClaimed) {
      return Attempt::Done(Corrupt("a frame stamp is beyond the tail"));
    }
    watch.Blocked(stamp::Owner(observed));
    return Attempt::Retry();
  }
  // SYNC POINT WRITE: the claim. One CAS both takes the position and records
  // the owner. seq_cst: a streaming sender takes its hold (seq_cst) and then
  // claims; our seq_cst load of the hold below is ordered after this claim,
  // so either we see its hold or it sees our claim (and queues behind it).
  if (!cell.stamp.compare_exchange_strong(observed,
                                          stamp::Make(tail, owner, CellState::kClaimed),
                                          std::memory_order_seq_cst)) {
    return Attempt::Retry();
  }
  ReachSchedulePoint(SchedulePoint::kSenderClaimed);
  const std::uint64_t writer_now = control_->stream_writer.load(std::memory_order_seq_cst);
  if (writer_now != 0 && writer_now != writer_token) {
    // A stream began between our check and our claim: give the position back
    // as one block of padding, so the stream's chunks stay together.
    cell.extent.store(extent::Make(1, FrameKind::kSingle, 0), std::memory_order_relaxed);
    control_->tail.store(tail + 1, std::memory_order_release);
    (void)Publish(tail, owner, CellState::kPadding);
    return Attempt::Blocked();
  }
  // Relaxed: readers of the extent first acquire either the commit (receivers)
  // or the tail store below (resolvers of a dead claim).
  cell.extent.store(extent::Make(blocks, FrameKind::kSingle, 0), std::memory_order_relaxed);
  // SYNC POINT WRITE: release publishes the extent to whoever reads tail > P.
  control_->tail.store(tail + blocks, std::memory_order_release);
  ReachSchedulePoint(SchedulePoint::kSenderTailAdvanced);
  ClaimAttempt claimed;
  claimed.position = tail;
  return claimed;
}

Ring::ClaimAttempt Ring::Claim(std::uint64_t blocks, std::uint32_t owner,
                               std::uint64_t writer_token, const CallContext& context) {
  OwnerWatch watch;
  // The common case needs no waiting: try once before setting up the loop.
  ClaimAttempt claim = TryClaim(blocks, owner, writer_token, context, false, watch, 0);
  if (!claim.done()) {
    // A full ring: while spinning, a blocking sender waits for a sixteenth
    // of the ring to be free, not just for its frame. Claiming each frame as
    // soon as the receivers free it kept the sender walking `released` and
    // reading the cells receivers were writing, one frame at a time, which
    // slowed the receivers it waited for (bp_generic 64 B, see the commit).
    // After the spin, in the yield and park phases, its own frame is enough
    // (so no sender waits on more than the ring can give), and a
    // non-blocking call never waits for more than it asks.
    const std::uint64_t batch =
        context.deadline.is_non_blocking() ? 0 : spec_.capacity_blocks / kRefillFraction;
    int attempts = 0;
    claim = WaitLoop(
        control_->space, context.deadline,
        [&](bool polled) {
          ++attempts;
          const std::uint64_t room = attempts <= kSpinRounds ? batch : 0;
          // Between looks while it waits for the batch, a few more pauses:
          // each look reads `released`, which a receiver alone in the ring
          // writes per message (layout.h, "Receive"); looking at every
          // message took that line from the receiver each time (bp_generic
          // 64 B, see the commit).
          if (room != 0 && attempts > 1) {
            for (int pause = 0; pause < kRefillPauses; ++pause) CpuRelax();
          }
          // From the first poll on, recount open ends (see AnyEndOpen).
          return TryClaim(blocks, owner, writer_token, context, polled, watch, room);
        },
        [&] { return PollFor(watch); });
  }
  return claim;
}


absl::Status Ring::Publish(std::uint64_t position, std::uint32_t owner, CellState state) {
  ReachSchedulePoint(SchedulePoint::kSenderBeforeCommit);
  std::atomic<std::uint64_t>& stamp = CellAt(position).stamp;
  // Relaxed: our own claim, read back only to detect corruption. Nobody else
  // writes a live owner's CLAIMED stamp (recovery takes over dead owners'
  // claims only), so the check and the store below cannot be split by a
  // legitimate writer.
  if (stamp.load(std::memory_order_relaxed) != stamp::Make(position, owner, CellState::kClaimed)) {
    return Corrupt("a claimed frame changed under its owner");
  }
  // SYNC POINT WRITE: commit (or padding). Release publishes the payload and
  // the extent to the receiver that acquires this stamp; the load of
  // `parked` after it is ordered by the wake-up pairing (wait.h (b)).
  stamp.store(stamp::Make(position, 0, state), std::memory_order_release);
  ReachSchedulePoint(SchedulePoint::kSenderCommitted);
  WakeParkedAfterStore(control_->data);
  return absl::OkStatus();
}

absl::StatusOr<SendTransaction> Ring::BeginSend(std::uint64_t size, const CallContext& context) {
  SendTransaction transaction;
  transaction.context_ = context;
  transaction.owner_ = client_->owner();
  transaction.total_ = size;
  if (size != kUnknownSize && size <= max_frame_payload()) {
    const std::uint64_t blocks = BlocksFor(size);
    ClaimAttempt claim = Claim(blocks, transaction.owner_, 0, context);
    if (!claim.status.ok()) return std::move(claim.status);
    transaction.position_ = claim.position;
    transaction.ring_ = this;
    transaction.frame_blocks_ = blocks;
    transaction.frame_capacity_ = blocks * spec_.block_size;
    return transaction;
  }
  // A long message: take the writer hold, then stream chunks.
  const std::uint64_t token = NewStreamToken(transaction.owner_);
  OwnerWatch watch;
  absl::Status status =
      WaitLoop(
          control_->space, context.deadline,
          [&](bool polled) {
            if (Cancelled(context)) return Attempt::Done(ClosedError());
            if (!AnyEndOpen(/*senders=*/false, polled)) return Attempt::Done(BrokenPipeError());
            std::uint64_t expected = 0;
            // SYNC POINT WRITE: the hold; seq_cst, see TryClaim.
            if (control_->stream_writer.compare_exchange_strong(expected, token,
                                                                std::memory_order_seq_cst)) {
              ReachSchedulePoint(SchedulePoint::kStreamHoldTaken);
              return Attempt::Done();
            }
            watch.Blocked(token::Owner(expected));  // another sender streams
            return Attempt::Blocked();
          },
          [&] { return PollFor(watch); })
          .status;
  if (!status.ok()) return status;
  transaction.ring_ = this;
  transaction.streaming_ = true;
  transaction.first_chunk_ = true;
  transaction.writer_token_ = token;
  if (status = transaction.NextChunk(); !status.ok()) {
    transaction.Abort();
    return status;
  }
  return transaction;
}

void Ring::ReleaseWriterHold(std::uint64_t token) {
  std::uint64_t expected = token;
  // seq_cst: a state change that parked senders and receivers re-check.
  control_->stream_writer.compare_exchange_strong(expected, 0, std::memory_order_seq_cst);
  WakeParked(control_->data);
  WakeParked(control_->space);
}

// --- SendTransaction -----------------------------------------------------------

SendTransaction::SendTransaction(SendTransaction&& other) noexcept { *this = std::move(other); }

SendTransaction& SendTransaction::operator=(SendTransaction&& other) noexcept {
  if (this != &other) {
    Abort();
    SendTransactionState::operator=(other);
    other.ring_ = nullptr;
  }
  return *this;
}

absl::Status SendTransaction::NextChunk() {
  const std::uint64_t header = first_chunk_ ? sizeof(StreamHeader) : 0;
  // Chunks of at most 64 KiB: the receiver starts copying one out while the
  // sender fills the next, and both stay in cache (1 MiB messages through a
  // 1 MiB ring: ~13 GB/s with half-ring chunks, ~18 GB/s with 64 KiB ones).
  const std::uint64_t chunk_blocks =
      std::max<std::uint64_t>(1, kStreamChunkBytes / ring_->spec_.block_size);
  std::uint64_t blocks = std::min(ring_->spec_.max_frame_blocks, chunk_blocks);
  if (total_ != kUnknownSize) {
    blocks = std::min(blocks, ring_->BlocksFor(header + (total_ - written_)));
  }
  frame_blocks_ = 0;
  Ring::ClaimAttempt claim = ring_->Claim(blocks, owner_, writer_token_, context_);
  if (!claim.status.ok()) return std::move(claim.status);
  position_ = claim.position;
  frame_blocks_ = blocks;
  frame_capacity_ = blocks * ring_->spec_.block_size;
  frame_used_ = 0;
  if (first_chunk_) {
    const StreamHeader stream_header{total_, writer_token_};
    ring_->CopyIn(position_, 0, reinterpret_cast<const std::byte*>(&stream_header),
                  sizeof(stream_header));
    frame_used_ = sizeof(stream_header);
  }
  return absl::OkStatus();
}

absl::Status SendTransaction::CommitCurrentFrame(FrameKind kind) {
  Cell& cell = ring_->CellAt(position_);
  // Relaxed: published by the commit exchange in Publish.
  cell.extent.store(extent::Make(frame_blocks_, kind, frame_used_), std::memory_order_relaxed);
  frame_blocks_ = 0;
  return ring_->Publish(position_, owner_, CellState::kCommitted);
}

absl::Status SendTransaction::Write(const void* data, std::size_t size) {
  if (ring_ == nullptr) return absl::InvalidArgumentError("no message is being sent");
  if (total_ != kUnknownSize && size > total_ - written_) {
    Abort();
    return absl::InvalidArgumentError("more bytes written than the message's announced size");
  }
  const auto* source = static_cast<const std::byte*>(data);
  while (size > 0) {
    if (frame_used_ == frame_capacity_) {
      absl::Status status = CommitCurrentFrame(first_chunk_ ? FrameKind::kFirst : FrameKind::kMiddle);
      first_chunk_ = false;
      if (status.ok()) status = NextChunk();
      if (!status.ok()) {
        Abort();
        return status;
      }
    }
    const std::uint64_t count = std::min<std::uint64_t>(size, frame_capacity_ - frame_used_);
    ring_->CopyIn(position_, frame_used_, source, count);
    frame_used_ += count;
    written_ += count;
    source += count;
    size -= static_cast<std::size_t>(count);
  }
  return absl::OkStatus();
}

std::span<std::byte> SendTransaction::WritableSpan() {
  if (ring_ == nullptr || frame_blocks_ == 0) return {};
  std::uint64_t room = frame_capacity_ - frame_used_;
  if (total_ != kUnknownSize) room = std::min(room, total_ - written_);
  const std::span<std::byte> span = ring_->Contiguous(position_, frame_used_, room);
  return span.size() == room ? span : std::span<std::byte>();
}

void SendTransaction::Advance(std::size_t size) {
  frame_used_ += size;
  written_ += size;
}

absl::Status SendTransaction::Commit() {
  if (ring_ == nullptr) return absl::InvalidArgumentError("no message is being sent");
  if (total_ != kUnknownSize && written_ != total_) {
    const std::uint64_t written = written_;
    Abort();
    return absl::InvalidArgumentError(
        absl::StrCat("message committed after ", written, " of ", total_, " bytes"));
  }
  absl::Status status;
  if (!streaming_) {
    status = CommitCurrentFrame(FrameKind::kSingle);
  } else {
    if (first_chunk_) {
      // An unknown-size message that fit its first chunk: a stream still
      // needs a LAST chunk, an empty one.
      status = CommitCurrentFrame(FrameKind::kFirst);
      first_chunk_ = false;
      total_ = written_;
      if (status.ok()) status = NextChunk();
      if (!status.ok()) {
        Abort();
        return status;
      }
    }
    status = CommitCurrentFrame(FrameKind::kLast);
    ring_->ReleaseWriterHold(writer_token_);
  }
  ring_ = nullptr;
  return status;
}

void SendTransaction::Abort() {
  if (ring_ == nullptr) return;
  if (frame_blocks_ != 0) {
    (void)ring_->Publish(position_, owner_, CellState::kPadding);
    frame_blocks_ = 0;
  }
  if (streaming_) ring_->ReleaseWriterHold(writer_token_);
  ring_ = nullptr;
}

}  // namespace buffered_pipe::internal
