// Recovery: resolving the claims and stream holds of a dead process
// (layout.h, "Crash safety").

#include "buffered_pipe/internal/ring.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "buffered_pipe/internal/ring_status.h"

namespace buffered_pipe::internal {

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

void Ring::ResolveDeadHeadLock(std::uint32_t dead_owner) {
  std::uint64_t holder = control_->head_lock.load(std::memory_order_seq_cst);
  if (holder == 0 || token::Owner(holder) != dead_owner) return;
  // While the dead holder's lock stands nobody else moves head (a RELEASED
  // frame at head, the only other case, was resolved by the cell scan
  // before), so head and the frame are as it left them. Acquire: the head
  // store that published locked_frame (a dead process's stores are all
  // visible anyway; this keeps the argument within the memory model).
  const std::uint64_t head = control_->head.load(std::memory_order_acquire);
  const std::uint64_t frame = control_->locked_frame.load(std::memory_order_relaxed);
  const std::uint64_t released = control_->released.load(std::memory_order_seq_cst);
  if (released <= frame && frame < head) {
    // It moved head past the frame it copied: the frame is lost with it,
    // as a READING frame of a dead receiver is (layout.h, "Crash safety").
    // If the cell no longer says COMMITTED(frame), that frame was released
    // (locked_frame left from an earlier holding) and the CAS fails.
    std::uint64_t expected = stamp::Make(frame, 0, CellState::kCommitted);
    CellAt(frame).stamp.compare_exchange_strong(
        expected, stamp::Make(frame, 0, CellState::kReleased), std::memory_order_seq_cst);
  }
  // seq_cst: a state change that parked receivers re-check (WakeAll follows
  // in ResolveDeadOwner).
  control_->head_lock.compare_exchange_strong(holder, 0, std::memory_order_seq_cst);
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
  ResolveDeadHeadLock(dead_owner);
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

}  // namespace buffered_pipe::internal
