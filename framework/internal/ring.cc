// The ring's shared pieces: geometry, copies in and out of the data region,
// waiting for ends, wake-ups and the inspection snapshot. The protocol itself
// is in ring_send.cc, ring_receive.cc, ring_messages.cc and ring_recovery.cc
// (layout.h documents it).

#include "buffered_pipe/internal/ring.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "buffered_pipe/internal/ring_status.h"

namespace buffered_pipe::internal {

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


absl::Status Ring::WaitForEnds(bool senders, const CallContext& context) {
  // Receivers wait for senders on the data line, senders for receivers on
  // the space line; opening an end wakes both (Attachment::AddEnd), after
  // its seq_cst increment of the total that AnyEndOpen re-checks.
  return WaitLoop(
             senders ? control_->data : control_->space, context.deadline,
             [&](bool) {
               if (Cancelled(context)) return Attempt::Done(ClosedError());
               if (!AnyEndOpen(senders, /*recount=*/false)) return Attempt::Blocked();
               return Attempt::Done();
             },
             [&] {
               client_->PollPeers();
               return absl::OkStatus();
             })
      .status;
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
  // Frames received since the last walk (RELEASED cells from `released`
  // on) are free although `released` has not moved past them yet.
  std::uint64_t free_up_to = snapshot.released;
  for (std::uint64_t steps = 0; steps < spec_.capacity_blocks && free_up_to < snapshot.head;
       ++steps) {
    const Cell& cell = CellAt(free_up_to);
    if (cell.stamp.load(std::memory_order_acquire) !=
        stamp::Make(free_up_to, 0, CellState::kReleased)) {
      break;
    }
    const std::uint64_t extent_word = cell.extent.load(std::memory_order_relaxed);
    if (!ValidateExtent(extent_word).ok()) break;
    free_up_to += extent::Blocks(extent_word);
  }
  if (snapshot.tail >= free_up_to) snapshot.blocks_in_flight = snapshot.tail - free_up_to;
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
