#include "buffered_pipe/internal/ring.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"

namespace buffered_pipe::internal {
namespace {

// Largest chunk a streamed message is cut into (see SendTransaction::NextChunk).
constexpr std::uint64_t kStreamChunkBytes = 64 * 1024;

absl::Status BrokenPipeError() {
  return absl::FailedPreconditionError("broken pipe: every receiving end is closed");
}
absl::Status EndOfStreamError() {
  return absl::OutOfRangeError("end of stream: every sending end is closed");
}
absl::Status ClosedError() { return absl::CancelledError("this end is closed"); }
absl::Status StreamAbortedError() {
  return absl::AbortedError("the sender abandoned the message while streaming it");
}

}  // namespace

std::uint64_t NewStreamToken(std::uint32_t owner) {
  // Relaxed: the counter only has to hand out distinct values in this
  // process; the owner id makes tokens of different processes distinct.
  static std::atomic<std::uint64_t> next_nonce{1};
  const std::uint64_t nonce =
      next_nonce.fetch_add(1, std::memory_order_relaxed) & ((std::uint64_t{1} << 48) - 1);
  return token::Make(nonce == 0 ? 1 : nonce, owner);
}

Ring::Ring(const RingView& view, RingClient* client)
    : spec_(view.spec),
      control_(view.control),
      cells_(view.cells),
      data_(view.data),
      data_size_(view.spec.block_count * view.spec.block_size),
      client_(client) {}

absl::Status Ring::Corrupt(const char* what) const {
  return absl::DataLossError(absl::StrCat("shared memory is corrupted: ", what));
}

std::uint64_t Ring::BlocksFor(std::uint64_t payload_bytes) const {
  return std::max<std::uint64_t>(1, (payload_bytes + spec_.block_size - 1) / spec_.block_size);
}

absl::Status Ring::ValidateExtent(std::uint64_t extent_word) const {
  const std::uint64_t blocks = extent::Blocks(extent_word);
  if (blocks == 0 || blocks > spec_.max_frame_blocks) return Corrupt("frame length out of range");
  if (extent::Bytes(extent_word) > blocks * spec_.block_size) {
    return Corrupt("frame payload larger than its blocks");
  }
  return absl::OkStatus();
}

// --- Copies ----------------------------------------------------------------

std::span<std::byte> Ring::Contiguous(std::uint64_t position, std::uint64_t offset,
                                      std::uint64_t size) const {
  std::uint64_t start = (position & (spec_.block_count - 1)) * spec_.block_size + offset;
  if (start >= data_size_) start -= data_size_;
  return {data_ + start, static_cast<std::size_t>(std::min(size, data_size_ - start))};
}

void Ring::CopyIn(std::uint64_t position, std::uint64_t offset, const std::byte* source,
                  std::uint64_t size) const {
  const std::span<std::byte> first = Contiguous(position, offset, size);
  std::memcpy(first.data(), source, first.size());
  if (first.size() < size) std::memcpy(data_, source + first.size(), size - first.size());
}

void Ring::CopyOut(std::uint64_t position, std::uint64_t offset, std::byte* target,
                   std::uint64_t size) const {
  const std::span<std::byte> first = Contiguous(position, offset, size);
  std::memcpy(target, first.data(), first.size());
  if (first.size() < size) std::memcpy(target + first.size(), data_, size - first.size());
}

// --- Claiming ----------------------------------------------------------------

absl::StatusOr<std::uint64_t> Ring::AdvanceReleased(std::uint64_t tail) {
  // SYNC POINT READ: acquire pairs with the acq_rel CAS of other walkers.
  std::uint64_t released = control_->released.load(std::memory_order_acquire);
  for (std::uint64_t steps = 0; steps <= spec_.capacity_blocks && released < tail; ++steps) {
    Cell& cell = CellAt(released);
    // SYNC POINT READ: seq_cst pairs with the receiver's RELEASED exchange
    // (also the Dekker re-check of a parked sender); acquire would order the
    // receiver's reads of the payload before our reuse of its blocks.
    const std::uint64_t observed = cell.stamp.load(std::memory_order_seq_cst);
    // Relaxed: written by the frame's claimer before its commit, which the
    // receiver acquired before its RELEASED exchange, which we acquired above.
    const std::uint64_t extent_word = cell.extent.load(std::memory_order_relaxed);
    if (observed == stamp::Make(released, 0, CellState::kPadding)) {
      // Padding (an aborted message) is normally skipped by receivers; while
      // none is receiving, its blocks would stay taken. Padding at
      // `released` is also at `head` (only claimed frames lie between the
      // two), so we receive and drop it as a receiver would, which keeps
      // released <= head.
      if (absl::Status status = ValidateExtent(extent_word); !status.ok()) return status;
      Drop(released, observed, extent::Blocks(extent_word), client_->owner());
      continue;  // look at the same position again: now RELEASED, or gone
    }
    if (observed != stamp::Make(released, 0, CellState::kReleased)) break;
    if (absl::Status status = ValidateExtent(extent_word); !status.ok()) return status;
    std::uint64_t expected = released;
    // acq_rel: senders that read the new `released` may overwrite the blocks.
    if (control_->released.compare_exchange_strong(expected,
                                                   released + extent::Blocks(extent_word),
                                                   std::memory_order_acq_rel)) {
      released += extent::Blocks(extent_word);
    } else {
      released = expected;  // another sender walked further; continue from there
    }
  }
  return released;
}

Step Ring::TryClaim(std::uint64_t blocks, std::uint32_t owner, std::uint64_t writer_token,
                    const CallContext& context, bool recount, OwnerWatch& watch,
                    std::uint64_t* position, absl::Status* result) {
  if (Cancelled(context)) {
    *result = ClosedError();
    return Step::kDone;
  }
  if (!AnyEndOpen(/*senders=*/false, recount)) {
    *result = BrokenPipeError();
    return Step::kDone;
  }
  // Another sender streams a long message: wait for it (its release wakes us).
  const std::uint64_t writer = control_->stream_writer.load(std::memory_order_seq_cst);
  if (writer != 0 && writer != writer_token) {
    watch.Blocked(token::Owner(writer));
    return Step::kBlocked;
  }

  // seq_cst (free on x86): keeps this re-check ordered in the parked protocol.
  const std::uint64_t tail = control_->tail.load(std::memory_order_seq_cst);
  // SYNC POINT READ: acquire pairs with the release store of the hint by the
  // sender that read `released` (itself acquired from the releaser): the
  // receivers' reads of the blocks we are about to reuse happen before.
  const std::uint64_t hint = control_->released_hint.load(std::memory_order_acquire);
  if (hint > tail || tail + blocks - hint > spec_.capacity_blocks) {
    // Short of space by the hint (or a stale tail): look at `released`, and
    // walk past frames released out of order.
    const std::uint64_t released = control_->released.load(std::memory_order_seq_cst);
    if (released > tail || tail - released > spec_.capacity_blocks) {
      // `released` is read after `tail`; both only grow, so a fresher
      // `released` may pass a stale `tail`: look again before calling it
      // corrupt.
      if (control_->tail.load(std::memory_order_seq_cst) == tail) {
        *result = Corrupt("tail and released positions are inconsistent");
        return Step::kDone;
      }
      return Step::kRetry;
    }
    absl::StatusOr<std::uint64_t> advanced = AdvanceReleased(tail);
    if (!advanced.ok()) {
      *result = advanced.status();
      return Step::kDone;
    }
    // Release: see the load of the hint above. Racing senders may store an
    // older value; the hint then lags, which only costs a look at `released`.
    control_->released_hint.store(*advanced, std::memory_order_release);
    if (tail + blocks > *advanced + spec_.capacity_blocks) return Step::kBlocked;
  }
  if (tail + blocks >= stamp::kPositionLimit) {
    *result = absl::ResourceExhaustedError("the ring's 2^53 positions are used up");
    return Step::kDone;
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
    if (control_->tail.load(std::memory_order_seq_cst) != tail) return Step::kRetry;
    if (stamp::Position(observed) != tail || stamp::State(observed) != CellState::kClaimed) {
      *result = Corrupt("a frame stamp is beyond the tail");
      return Step::kDone;
    }
    watch.Blocked(stamp::Owner(observed));
    return Step::kRetry;
  }
  // SYNC POINT WRITE: the claim. One CAS both takes the position and records
  // the owner. seq_cst: a streaming sender takes its hold (seq_cst) and then
  // claims; our seq_cst load of the hold below is ordered after this claim,
  // so either we see its hold or it sees our claim (and queues behind it).
  if (!cell.stamp.compare_exchange_strong(observed,
                                          stamp::Make(tail, owner, CellState::kClaimed),
                                          std::memory_order_seq_cst)) {
    return Step::kRetry;
  }
  const std::uint64_t writer_now = control_->stream_writer.load(std::memory_order_seq_cst);
  if (writer_now != 0 && writer_now != writer_token) {
    // A stream began between our check and our claim: give the position back
    // as one block of padding, so the stream's chunks stay together.
    cell.extent.store(extent::Make(1, FrameKind::kSingle, 0), std::memory_order_relaxed);
    control_->tail.store(tail + 1, std::memory_order_release);
    (void)Publish(tail, owner, CellState::kPadding);
    return Step::kBlocked;
  }
  // Relaxed: readers of the extent first acquire either the commit (receivers)
  // or the tail store below (resolvers of a dead claim).
  cell.extent.store(extent::Make(blocks, FrameKind::kSingle, 0), std::memory_order_relaxed);
  // SYNC POINT WRITE: release publishes the extent to whoever reads tail > P.
  control_->tail.store(tail + blocks, std::memory_order_release);
  *position = tail;
  *result = absl::OkStatus();
  return Step::kDone;
}

absl::Status Ring::Claim(std::uint64_t blocks, std::uint32_t owner, std::uint64_t writer_token,
                         const CallContext& context, std::uint64_t* position) {
  absl::Status result;
  OwnerWatch watch;
  // The common case needs no waiting: try once before setting up the loop.
  if (TryClaim(blocks, owner, writer_token, context, false, watch, position, &result) ==
      Step::kDone) {
    return result;
  }
  bool polled = false;  // from the first poll on, recount open ends (see AnyEndOpen)
  return WaitLoop(
      control_->space, context.deadline,
      [&](absl::Status* result) {
        return TryClaim(blocks, owner, writer_token, context, polled, watch, position, result);
      },
      [&] {
        polled = true;
        return PollFor(watch);
      });
}

absl::Status Ring::PollFor(OwnerWatch& watch) {
  client_->PollPeers();
  watch.AfterPoll([this](std::uint32_t owner) { return client_->IsSlotFree(owner); });
  if (watch.orphaned()) {
    return Corrupt("a call waits for a claim or stream hold of a free process slot");
  }
  return absl::OkStatus();
}

bool Ring::AnyEndOpen(bool senders, bool recount) const {
  // seq_cst: part of the parked re-check; pairs with the last close.
  const std::atomic<std::uint32_t>& total = senders ? control_->senders_open : control_->receivers_open;
  if (total.load(std::memory_order_seq_cst) == 0) return false;
  // A total may be too high after a crash (never too low, see
  // attachment.h): a caller that has waited a poll interval recounts.
  return !recount || client_->CountOpenEnds(*this, senders) != 0;
}

absl::Status Ring::Publish(std::uint64_t position, std::uint32_t owner, CellState state) {
  // SYNC POINT WRITE: commit (or padding). The exchange releases the payload
  // and extent; seq_cst orders the load of `parked` in WakeParked after it.
  const std::uint64_t previous =
      CellAt(position).stamp.exchange(stamp::Make(position, 0, state), std::memory_order_seq_cst);
  WakeParked(control_->data);
  if (previous != stamp::Make(position, owner, CellState::kClaimed)) {
    return Corrupt("a claimed frame changed under its owner");
  }
  return absl::OkStatus();
}

absl::StatusOr<SendTransaction> Ring::BeginSend(std::uint64_t size, const CallContext& context) {
  SendTransaction transaction;
  transaction.context_ = context;
  transaction.owner_ = client_->owner();
  transaction.total_ = size;
  if (size != kUnknownSize && size <= max_frame_payload()) {
    const std::uint64_t blocks = BlocksFor(size);
    if (absl::Status status =
            Claim(blocks, transaction.owner_, 0, context, &transaction.position_);
        !status.ok()) {
      return status;
    }
    transaction.ring_ = this;
    transaction.frame_blocks_ = blocks;
    transaction.frame_capacity_ = blocks * spec_.block_size;
    return transaction;
  }
  // A long message: take the writer hold, then stream chunks.
  const std::uint64_t token = NewStreamToken(transaction.owner_);
  bool polled = false;
  OwnerWatch watch;
  absl::Status status = WaitLoop(
      control_->space, context.deadline,
      [&](absl::Status* result) {
        if (Cancelled(context)) {
          *result = ClosedError();
          return Step::kDone;
        }
        if (!AnyEndOpen(/*senders=*/false, polled)) {
          *result = BrokenPipeError();
          return Step::kDone;
        }
        std::uint64_t expected = 0;
        // SYNC POINT WRITE: the hold; seq_cst, see TryClaim.
        if (control_->stream_writer.compare_exchange_strong(expected, token,
                                                            std::memory_order_seq_cst)) {
          *result = absl::OkStatus();
          return Step::kDone;
        }
        watch.Blocked(token::Owner(expected));  // another sender streams
        return Step::kBlocked;
      },
      [&] {
        polled = true;
        return PollFor(watch);
      });
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

void Ring::ReleaseReaderHold(std::uint64_t token, std::uint64_t replacement) {
  std::uint64_t expected = token;
  // seq_cst: a state change that parked receivers re-check.
  control_->stream_reader.compare_exchange_strong(expected, replacement,
                                                  std::memory_order_seq_cst);
  WakeParked(control_->data);
}

// --- SendTransaction -----------------------------------------------------------

SendTransaction::SendTransaction(SendTransaction&& other) noexcept { *this = std::move(other); }

SendTransaction& SendTransaction::operator=(SendTransaction&& other) noexcept {
  if (this != &other) {
    Abort();
    ring_ = std::exchange(other.ring_, nullptr);
    context_ = other.context_;
    owner_ = other.owner_;
    total_ = other.total_;
    written_ = other.written_;
    streaming_ = other.streaming_;
    first_chunk_ = other.first_chunk_;
    writer_token_ = other.writer_token_;
    position_ = other.position_;
    frame_blocks_ = other.frame_blocks_;
    frame_capacity_ = other.frame_capacity_;
    frame_used_ = other.frame_used_;
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
  if (absl::Status status = ring_->Claim(blocks, owner_, writer_token_, context_, &position_);
      !status.ok()) {
    return status;
  }
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

absl::Status Ring::ReleaseRead(std::uint64_t position, std::uint64_t blocks,
                              std::uint32_t owner) {
  Cell& cell = CellAt(position);
  // Relaxed: our own claim, read back only to detect corruption.
  if (cell.stamp.load(std::memory_order_relaxed) !=
      stamp::Make(position, owner, CellState::kReading)) {
    return Corrupt("a frame being read changed under its reader");
  }
  std::uint64_t expected = position;
  // SYNC POINT WRITE: the oldest frame is released by moving `released` past
  // it (no write to its cell). seq_cst: ordered before our load of `parked`
  // in WakeParked (Dekker); release for our reads of the payload.
  if (!control_->released.compare_exchange_strong(expected, position + blocks,
                                                  std::memory_order_seq_cst)) {
    // Not the oldest: mark the cell; a walking sender moves `released` past
    // it once the frames before it are released.
    cell.stamp.store(stamp::Make(position, 0, CellState::kReleased), std::memory_order_seq_cst);
  }
  WakeParked(control_->space);
  return absl::OkStatus();
}

void Ring::Drop(std::uint64_t head, std::uint64_t observed, std::uint64_t blocks,
                std::uint32_t owner) {
  if (ClaimForReading(head, observed, blocks, owner)) (void)ReleaseRead(head, blocks, owner);
}

Step Ring::LookAtHead(std::uint32_t owner, OwnerWatch& watch, HeadFrame* frame,
                      absl::Status* result) {
  *result = absl::OkStatus();
  frame->head = control_->head.load(std::memory_order_seq_cst);
  Cell& cell = CellAt(frame->head);
  // SYNC POINT READ: seq_cst pairs with the commit exchange (and acquires the
  // extent and payload).
  frame->observed = cell.stamp.load(std::memory_order_seq_cst);
  const std::uint64_t position = stamp::Position(frame->observed);
  frame->empty = position < frame->head;  // nothing claimed at head yet
  if (frame->empty) return Step::kDone;
  if (position > frame->head) {
    // Head moved on meanwhile: a stamp a lap ahead is written only after
    // head has passed this cell, so a second look at head sees it moved. If
    // it has not, the stamp is corrupt (retrying would never end).
    if (control_->head.load(std::memory_order_seq_cst) == frame->head) {
      *result = Corrupt("a frame stamp is ahead of head");
      return Step::kDone;
    }
    return Step::kRetry;
  }
  const CellState state = stamp::State(frame->observed);
  if (state == CellState::kClaimed) {  // its commit wakes us
    watch.Blocked(stamp::Owner(frame->observed));
    return Step::kBlocked;
  }
  if (state == CellState::kReading || state == CellState::kReleased) {
    // Another receiver's frame. The protocol only ever writes valid
    // extents; with an invalid one head could never move and the retry
    // would never end.
    if (!ValidateExtent(cell.extent.load(std::memory_order_relaxed)).ok()) {
      *result = Corrupt("a frame being read at head has an invalid length");
      return Step::kDone;
    }
    // READING: its claimer is about to move head (a few instructions; if it
    // died there, the resolution of its claim moves head). RELEASED at head:
    // a dead reader's claim was just resolved; finish moving head for it.
    if (state == CellState::kReleased) {
      HelpHead(frame->head, frame->observed);
    } else {
      watch.Blocked(stamp::Owner(frame->observed));
    }
    return Step::kRetry;
  }
  if (state != CellState::kCommitted && state != CellState::kPadding) {
    *result = Corrupt("unknown frame state");
    return Step::kDone;
  }
  frame->extent_word = cell.extent.load(std::memory_order_relaxed);
  if (absl::Status status = ValidateExtent(frame->extent_word); !status.ok()) {
    *result = status;
    return Step::kDone;
  }
  if (state == CellState::kPadding) {
    Drop(frame->head, frame->observed, extent::Blocks(frame->extent_word), owner);
    return Step::kRetry;
  }
  return Step::kDone;
}

Step Ring::TryBeginReceive(const CallContext& context, bool recount, OwnerWatch& watch,
                           ReceiveTransaction* transaction, absl::Status* result) {
  if (Cancelled(context)) {
    *result = ClosedError();
    return Step::kDone;
  }
  if (context.partial != nullptr && context.partial->occupied()) {
    // This end stopped in the middle of a streamed message: it resumes that
    // one first (its chunks are its alone). Done with no transaction.
    *result = absl::OkStatus();
    return Step::kDone;
  }
  const std::uint32_t owner = transaction->owner_;
  HeadFrame frame;
  if (const Step step = LookAtHead(owner, watch, &frame, result);
      step != Step::kDone || !result->ok()) {
    return step;
  }
  const std::uint64_t head = frame.head;
  if (frame.empty) {
    if (AnyEndOpen(/*senders=*/true, recount)) return Step::kBlocked;
    // No sender is left. A sender commits before it closes, so a look at the
    // cell after seeing the close finds its last message if there is one.
    if (CellAt(head).stamp.load(std::memory_order_seq_cst) != frame.observed ||
        control_->head.load(std::memory_order_seq_cst) != head) {
      return Step::kRetry;
    }
    *result = EndOfStreamError();
    return Step::kDone;
  }
  const std::uint64_t observed = frame.observed;
  const std::uint64_t extent_word = frame.extent_word;
  const std::uint64_t blocks = extent::Blocks(extent_word);
  const FrameKind kind = extent::Kind(extent_word);
  switch (kind) {
    case FrameKind::kSingle:
      if (!ClaimForReading(head, observed, blocks, owner)) return Step::kRetry;
      transaction->size_ = extent::Bytes(extent_word);
      break;
    case FrameKind::kFirst: {
      std::uint64_t reader = control_->stream_reader.load(std::memory_order_seq_cst);
      if (reader == token::kDiscard) {
        // The stream being discarded was cut short; this is a new one.
        ReleaseReaderHold(token::kDiscard, 0);
        return Step::kRetry;
      }
      if (reader != 0) {  // another receiver is taking a stream
        watch.Blocked(token::Owner(reader));
        return Step::kBlocked;
      }
      const std::uint64_t token = NewStreamToken(owner);
      // SYNC POINT WRITE: the reader hold, taken before the FIRST chunk so
      // that whoever holds the chunk always holds the hold.
      if (!control_->stream_reader.compare_exchange_strong(reader, token,
                                                           std::memory_order_seq_cst)) {
        return Step::kRetry;
      }
      if (!ClaimForReading(head, observed, blocks, owner)) {
        ReleaseReaderHold(token, 0);
        return Step::kRetry;
      }
      if (extent::Bytes(extent_word) < sizeof(StreamHeader)) {
        transaction->position_ = head;
        (void)ReleaseRead(head, blocks, owner);
        ReleaseReaderHold(token, token::kDiscard);
        *result = Corrupt("first chunk shorter than its header");
        return Step::kDone;
      }
      transaction->streaming_ = true;
      transaction->reader_token_ = token;
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
        return Step::kRetry;
      }
      watch.Blocked(token::Owner(reader));
      return Step::kBlocked;  // belongs to the stream's reader
    }
  }
  transaction->ring_ = this;
  transaction->HoldFrame(head, extent_word);
  *result = absl::OkStatus();
  return Step::kDone;
}

absl::Status Ring::WaitForMessage(const CallContext& context, ReceiveTransaction* transaction) {
  transaction->context_ = context;
  transaction->owner_ = client_->owner();
  absl::Status status;
  OwnerWatch watch;
  // The common case needs no waiting: try once before setting up the loop.
  if (TryBeginReceive(context, false, watch, transaction, &status) != Step::kDone) {
    bool polled = false;  // from the first poll on, recount open ends (see AnyEndOpen)
    status = WaitLoop(
        control_->data, context.deadline,
        [&](absl::Status* result) {
          return TryBeginReceive(context, polled, watch, transaction, result);
        },
        [&] {
          polled = true;
          return PollFor(watch);
        });
  }
  if (!status.ok() || !transaction->streaming_) return status;
  StreamHeader header;
  CopyOut(transaction->position_, 0, reinterpret_cast<std::byte*>(&header), sizeof(header));
  if (header.writer_token == 0) {
    // Tokens are never 0, the free hold: a stream naming 0 would be waited
    // for (TryNextChunk) for as long as nobody else streams.
    transaction->Abandon();
    return Corrupt("a streamed message names no writer");
  }
  transaction->size_ = header.total_bytes;
  transaction->writer_token_ = header.writer_token;
  transaction->frame_offset_ = sizeof(header);
  return absl::OkStatus();
}

absl::StatusOr<ReceiveTransaction> Ring::BeginReceive(const CallContext& context) {
  CallContext without_partial = context;
  without_partial.partial = nullptr;
  ReceiveTransaction transaction;
  if (absl::Status status = WaitForMessage(without_partial, &transaction); !status.ok()) {
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
    if (absl::Status status = WaitForMessage(context, &message.transaction); !status.ok()) {
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

absl::Status Ring::Send(const void* data, std::uint64_t size, const CallContext& context) {
  if (size > max_frame_payload()) {
    absl::StatusOr<SendTransaction> transaction = BeginSend(size, context);
    if (!transaction.ok()) return transaction.status();
    if (absl::Status status = transaction->Write(data, size); !status.ok()) return status;
    return transaction->Commit();
  }
  const std::uint32_t owner = client_->owner();
  const std::uint64_t blocks = BlocksFor(size);
  std::uint64_t position = 0;
  if (absl::Status status = Claim(blocks, owner, 0, context, &position); !status.ok()) {
    return status;
  }
  CopyIn(position, 0, static_cast<const std::byte*>(data), size);
  // Relaxed: published by the commit exchange in Publish.
  CellAt(position).extent.store(extent::Make(blocks, FrameKind::kSingle, size),
                                std::memory_order_relaxed);
  return Publish(position, owner, CellState::kCommitted);
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

absl::Status Ring::ReceiveInto(std::string& message, const CallContext& context) {
  for (;;) {
    ReceiveTransaction transaction;
    if (absl::Status status = WaitForMessage(context, &transaction); !status.ok()) return status;
    if (!transaction.active()) {
      // A streamed message this end began before: finish it first.
      std::unique_ptr<PartialReceive> kept = context.partial->Take();
      if (kept == nullptr) continue;  // another thread of this end took it
      transaction = std::move(kept->transaction);
      transaction.context_ = context;
      message = std::move(kept->bytes);
    } else {
      if (!transaction.streaming_) {
        // One frame: copy it out and release it, no piece loop.
        const std::span<std::byte> first =
            Contiguous(transaction.position_, 0, transaction.frame_bytes_);
        message.assign(reinterpret_cast<const char*>(first.data()), first.size());
        if (first.size() < transaction.frame_bytes_) {
          message.append(reinterpret_cast<const char*>(data_),
                         transaction.frame_bytes_ - first.size());
        }
        transaction.frame_held_ = false;
        transaction.ring_ = nullptr;
        return ReleaseRead(transaction.position_, transaction.frame_blocks_, transaction.owner_);
      }
      // A stream: its announced size is untrusted, so it only bounds the
      // pre-allocation.
      constexpr std::uint64_t kTrustedReserve = std::uint64_t{64} << 20;
      message.clear();
      if (transaction.size() != kUnknownSize) {
        message.reserve(static_cast<std::size_t>(std::min(transaction.size(), kTrustedReserve)));
      }
    }
    const absl::Status status = ReadRest(transaction, message, context.deadline);
    if (TimedOut(status) && transaction.active()) {
      // Keep our place in the stream: the next receive on this end resumes.
      KeepPartial(context, PartialReceive{std::move(transaction), std::move(message)});
      message.clear();
      return status;
    }
    // The sender gave up or died in the middle: never delivered; next one.
    if (absl::IsAborted(status)) continue;
    if (!status.ok()) return status;
    if (transaction.size() != kUnknownSize && message.size() != transaction.size()) {
      return absl::DataLossError(absl::StrCat("message announced ", transaction.size(),
                                              " bytes but carried ", message.size()));
    }
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
    if (absl::Status status = WaitForMessage(context, &transaction); !status.ok()) return status;
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
      transaction.frame_held_ = false;
      transaction.ring_ = nullptr;
      return ReleaseRead(transaction.position_, transaction.frame_blocks_, transaction.owner_);
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

Step Ring::TryNextChunk(ReceiveTransaction* transaction, OwnerWatch& watch,
                        absl::Status* result) {
  if (Cancelled(transaction->context_)) {
    *result = ClosedError();
    return Step::kDone;
  }
  const std::uint32_t owner = transaction->owner_;
  HeadFrame frame;
  if (const Step step = LookAtHead(owner, watch, &frame, result);
      step != Step::kDone || !result->ok()) {
    return step;
  }
  const std::uint64_t head = frame.head;
  if (frame.empty) {
    // The writer commits every chunk before it releases its hold: if the
    // hold is gone and the cell is still empty, the stream was cut short.
    if (control_->stream_writer.load(std::memory_order_seq_cst) != transaction->writer_token_) {
      if (CellAt(head).stamp.load(std::memory_order_seq_cst) != frame.observed) return Step::kRetry;
      *result = StreamAbortedError();
      return Step::kDone;
    }
    watch.Blocked(token::Owner(transaction->writer_token_));
    return Step::kBlocked;
  }
  const std::uint64_t observed = frame.observed;
  const std::uint64_t extent_word = frame.extent_word;
  const std::uint64_t blocks = extent::Blocks(extent_word);
  const FrameKind kind = extent::Kind(extent_word);
  if (kind == FrameKind::kSingle || kind == FrameKind::kFirst) {
    *result = StreamAbortedError();  // a new message where our chunk should be
    return Step::kDone;
  }
  if (!ClaimForReading(head, observed, blocks, owner)) return Step::kRetry;
  transaction->HoldFrame(head, extent_word);
  *result = absl::OkStatus();
  return Step::kDone;
}

// --- ReceiveTransaction -------------------------------------------------------

ReceiveTransaction::ReceiveTransaction(ReceiveTransaction&& other) noexcept {
  *this = std::move(other);
}

ReceiveTransaction& ReceiveTransaction::operator=(ReceiveTransaction&& other) noexcept {
  if (this != &other) {
    Abandon();
    ring_ = std::exchange(other.ring_, nullptr);
    context_ = other.context_;
    owner_ = other.owner_;
    size_ = other.size_;
    streaming_ = other.streaming_;
    finished_ = other.finished_;
    reader_token_ = other.reader_token_;
    writer_token_ = other.writer_token_;
    frame_held_ = std::exchange(other.frame_held_, false);
    position_ = other.position_;
    frame_blocks_ = other.frame_blocks_;
    frame_bytes_ = other.frame_bytes_;
    frame_offset_ = other.frame_offset_;
    kind_ = other.kind_;
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

void ReceiveTransaction::ReleaseFrame() {
  frame_held_ = false;
  (void)ring_->ReleaseRead(position_, frame_blocks_, owner_);
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
      ReleaseFrame();
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
        [&](absl::Status* result) { return ring->TryNextChunk(this, watch, result); },
        [&] { return ring->PollFor(watch); });
    if (absl::IsDeadlineExceeded(status) || absl::IsUnavailable(status)) return status;
    if (!status.ok()) {
      Abandon();
      return status;
    }
  }
}

void ReceiveTransaction::Abandon() {
  if (ring_ == nullptr) return;
  if (frame_held_) ReleaseFrame();
  if (streaming_ && !finished_) {
    // Whatever chunks are still to come are dropped by whoever meets them.
    ring_->ReleaseReaderHold(reader_token_, token::kDiscard);
  }
  ring_ = nullptr;
}

// --- Recovery --------------------------------------------------------------------

void Ring::ResolveDeadClaim(Cell& cell, std::uint64_t observed) {
  const std::uint64_t position = stamp::Position(observed);
  const std::uint32_t me = client_->owner();
  std::uint64_t expected = observed;
  // Take the dead sender's claim over (if we die too, someone takes it from us).
  if (!cell.stamp.compare_exchange_strong(expected,
                                          stamp::Make(position, me, CellState::kClaimed),
                                          std::memory_order_seq_cst)) {
    return;
  }
  const std::uint64_t tail = control_->tail.load(std::memory_order_seq_cst);
  if (tail == position) {
    // It died before advancing the tail: nobody else can, so we do, with a
    // one-block frame (its intended length is unknown and irrelevant).
    cell.extent.store(extent::Make(1, FrameKind::kSingle, 0), std::memory_order_relaxed);
    control_->tail.store(position + 1, std::memory_order_release);
  } else {
    // The extent was published by the tail store we just acquired.
    const std::uint64_t extent_word = cell.extent.load(std::memory_order_relaxed);
    std::uint64_t blocks = extent::Blocks(extent_word);
    if (!ValidateExtent(extent_word).ok() || tail < position || blocks > tail - position) {
      blocks = std::clamp<std::uint64_t>(blocks, 1,
                                         std::min(spec_.max_frame_blocks,
                                                  tail > position ? tail - position : 1));
      cell.extent.store(extent::Make(blocks, FrameKind::kSingle, 0), std::memory_order_relaxed);
    }
  }
  (void)Publish(position, me, CellState::kPadding);
}

void Ring::ResolveDeadRead(Cell& cell, std::uint64_t observed) {
  const std::uint64_t position = stamp::Position(observed);
  std::uint64_t expected = observed;
  // The message goes with the receiver that took it (see layout.h).
  if (!cell.stamp.compare_exchange_strong(expected,
                                          stamp::Make(position, 0, CellState::kReleased),
                                          std::memory_order_seq_cst)) {
    return;
  }
  HelpHead(position, observed);
  WakeParked(control_->space);
}

void Ring::ResolveDeadOwner(std::uint32_t dead_owner) {
  for (std::uint64_t index = 0; index < spec_.block_count; ++index) {
    Cell& cell = cells_[index];
    const std::uint64_t observed = cell.stamp.load(std::memory_order_seq_cst);
    if (stamp::Owner(observed) != dead_owner) continue;
    if (stamp::State(observed) == CellState::kClaimed) {
      ResolveDeadClaim(cell, observed);
    } else if (stamp::State(observed) == CellState::kReading) {
      ResolveDeadRead(cell, observed);
    }
  }
  const std::uint64_t writer = control_->stream_writer.load(std::memory_order_seq_cst);
  if (writer != 0 && token::Owner(writer) == dead_owner) ReleaseWriterHold(writer);
  const std::uint64_t reader = control_->stream_reader.load(std::memory_order_seq_cst);
  if (reader != 0 && reader != token::kDiscard && token::Owner(reader) == dead_owner) {
    // If the dead reader had not yet taken the FIRST chunk, the stream is
    // intact for someone else; otherwise the rest of it is discarded.
    const std::uint64_t head = control_->head.load(std::memory_order_seq_cst);
    const Cell& cell = CellAt(head);
    const std::uint64_t observed = cell.stamp.load(std::memory_order_seq_cst);
    const bool untouched = stamp::Position(observed) == head &&
                           stamp::State(observed) == CellState::kCommitted &&
                           extent::Kind(cell.extent.load(std::memory_order_relaxed)) ==
                               FrameKind::kFirst;
    ReleaseReaderHold(reader, untouched ? 0 : token::kDiscard);
  }
  WakeAll();
}

absl::Status Ring::WaitForEnds(bool senders, const CallContext& context) {
  // Receivers wait for senders on the data line, senders for receivers on
  // the space line; opening an end wakes both (Attachment::AddEnd), after
  // its seq_cst increment of the total that AnyEndOpen re-checks.
  return WaitLoop(
      senders ? control_->data : control_->space, context.deadline,
      [&](absl::Status* result) {
        if (Cancelled(context)) {
          *result = ClosedError();
          return Step::kDone;
        }
        if (!AnyEndOpen(senders, /*recount=*/false)) return Step::kBlocked;
        *result = absl::OkStatus();
        return Step::kDone;
      },
      [&] {
        client_->PollPeers();
        return absl::OkStatus();
      });
}

void Ring::WakeAll() {
  WakeParked(control_->data);
  WakeParked(control_->space);
}

RingSnapshot Ring::Snapshot() const {
  RingSnapshot snapshot;
  snapshot.tail = control_->tail.load(std::memory_order_acquire);
  snapshot.head = control_->head.load(std::memory_order_acquire);
  snapshot.released = control_->released.load(std::memory_order_acquire);
  snapshot.senders_open = control_->senders_open.load(std::memory_order_acquire);
  snapshot.receivers_open = control_->receivers_open.load(std::memory_order_acquire);
  if (snapshot.tail >= snapshot.released) {
    snapshot.blocks_in_flight = snapshot.tail - snapshot.released;
  }
  std::uint64_t position = snapshot.head;
  for (std::uint64_t steps = 0; steps < spec_.capacity_blocks && position < snapshot.tail;
       ++steps) {
    const Cell& cell = CellAt(position);
    const std::uint64_t observed = cell.stamp.load(std::memory_order_acquire);
    if (stamp::Position(observed) != position) break;
    const std::uint64_t extent_word = cell.extent.load(std::memory_order_relaxed);
    if (!ValidateExtent(extent_word).ok()) break;
    if (stamp::State(observed) == CellState::kCommitted) {
      ++snapshot.messages_in_flight;
      snapshot.bytes_in_flight += extent::Bytes(extent_word);
    }
    position += extent::Blocks(extent_word);
  }
  return snapshot;
}

}  // namespace buffered_pipe::internal
