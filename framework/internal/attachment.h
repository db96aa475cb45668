// Attachment: this process's use of one segment.
//
// One Attachment exists per process per segment, shared (std::shared_ptr) by
// every end of that pipe in the process. It owns the mapping, the process's
// slot in the segment's process table (its owner id), the count of open
// ends per ring, and the rings. It is where processes come and go:
//
// - Registration: opening or creating a pipe takes a free slot and records
//   this process's pid and start time in it.
// - fork(): a pthread_atfork handler reserves a slot for the child BEFORE the
//   fork, copying the parent's open-end counts into it (so a parent that
//   closes its copy right after fork cannot make a receiver see end of stream
//   before the child's copy counts), and the child adopts that slot. Nothing
//   is needed from the user; register_process() exists for children made
//   without fork() (raw clone), see pipe.h.
// - Death: PollPeers() (called by parked waiters every poll interval, rate
//   limited across the segment) finds slots whose process is gone, resolves
//   their claims and stream holds in every ring, subtracts their open ends
//   and frees the slot.
// - Last close in the process (close() of its last open end, or its
//   destruction): frees the slot; for a named segment with
//   `remove_when_unused`, the last process to leave (crashed ones are reaped
//   first) removes the name.
//
// Counting open ends. Each ring counts its open ends twice: per process slot
// (exact, owned by that process) and as a total in RingControl (one load for
// the end-of-stream and broken-pipe checks). The two cannot change in one
// atomic step, so the order is fixed: an end is added to the total before
// its slot, and taken out of its slot before the total (reaping subtracts
// what the dead slot says). A process killed between the two steps thus
// leaves a total too HIGH, never too low: end of stream or broken pipe is
// never announced while an end is open. A total left too high is caught by
// blocked callers, which recount the ends from the slots
// (CountOpenEnds) every poll interval.
//
// Thread-safety: all members may be called from any thread.

#ifndef BUFFERED_PIPE_INTERNAL_ATTACHMENT_H_
#define BUFFERED_PIPE_INTERNAL_ATTACHMENT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "buffered_pipe/internal/layout.h"
#include "buffered_pipe/internal/process_identity.h"
#include "buffered_pipe/internal/ring.h"
#include "buffered_pipe/internal/segment.h"

namespace buffered_pipe::internal {

// Which rings an end sends on and receives from (-1: none).
struct EndRoles {
  int send_ring = -1;
  int receive_ring = -1;
};

// A reservation older than this whose child never adopted it (fork failed,
// or the child died at once) is treated as dead.
inline constexpr std::int64_t kForkReservationTimeoutNs = 10'000'000'000;

// Whether the process that occupies `slot` is alive (false for a free slot,
// and for a fork reservation older than kForkReservationTimeoutNs). With the
// segment's `mapping_size`, an occupant that no longer maps the segment (it
// has called exec()) counts as dead too.
bool IsSlotOccupantAlive(const ProcessSlot& slot, std::uint64_t mapping_size = 0);

class Attachment final : public RingClient, public std::enable_shared_from_this<Attachment> {
 public:
  // Registers this process in `segment` and builds its rings. For a named
  // segment whose flags hold kRemoveWhenUnused, the last process to leave
  // removes the name. A process that already has the same named segment
  // attached with a slot gets that attachment back (its new mapping is
  // dropped): one process holds one slot however often it opens a name. The
  // caller must then add an end (AddEnd) before the attachment can leave.
  static absl::StatusOr<std::shared_ptr<Attachment>> Attach(Segment segment);

  Attachment(const Attachment&) = delete;
  Attachment& operator=(const Attachment&) = delete;
  ~Attachment();

  std::uint32_t owner() const override { return owner_.load(std::memory_order_relaxed); }
  void PollPeers() override;
  std::uint32_t CountOpenEnds(const Ring& ring, bool senders) const override;
  bool IsSlotFree(std::uint32_t owner) const override;

  const Segment& segment() const { return segment_; }
  Ring& ring(std::uint32_t index) const { return *rings_[index]; }
  std::uint32_t ring_count() const { return segment_.spec().ring_count; }

  // Counts an end of this process as open / closed in the segment. Closing
  // wakes every waiter so they can notice end of stream or a broken pipe.
  absl::Status AddEnd(EndRoles roles);
  void RemoveEnd(EndRoles roles);

  // Makes sure this process has its own slot (re-registers in a child that
  // was created without fork(), i.e. without the atfork handlers).
  absl::Status RegisterProcess();

  // Scans the process table now (not rate limited) and reaps dead processes.
  // Returns how many were reaped.
  int ReapDeadProcesses();

  // Whether the process holding `slot_owner` is alive (false for a free slot).
  bool IsSlotAlive(std::uint32_t slot_owner) const;

  // Fork handlers (called by the process-wide registry, under its lock).
  void PrepareFork();
  // `child_pid`: the new child, or 0 if it could not be told.
  void ParentAfterFork(std::uint32_t child_pid);
  void ChildAfterFork();

 private:
  explicit Attachment(Segment segment);

  // Takes a free slot for this process with its open-end counts.
  absl::Status TakeSlot();
  // Takes a free slot in state `tag` for `identity`, writing this process's
  // open-end counts into it; returns its owner id (0 if the table is full).
  std::uint32_t ClaimFreeSlot(SlotTag tag, const ProcessIdentity& identity,
                              std::int64_t reserved_at_ns, std::uint32_t* generation);
  // Adds this process's open ends to the rings' totals, or takes them out.
  void ChangeTotalsByLocalCounts(bool add);
  bool Reap(std::uint32_t slot_owner, std::uint64_t observed_state);
  bool AnySlotOccupied() const;
  void LeaveSegment();

  Segment segment_;
  std::unique_ptr<Ring> rings_[kMaxRings];
  std::atomic<std::uint32_t> owner_{0};
  std::uint32_t registered_pid_ = 0;  // guarded by the registry lock
  // Ends open in this process, per ring (guarded by the registry lock).
  std::uint32_t local_senders_[kMaxRings] = {};
  std::uint32_t local_receivers_[kMaxRings] = {};
  // Slot reserved for the child during fork (registry lock).
  std::uint32_t child_slot_ = 0;
  // This process has left the segment: its last end closed (registry lock).
  bool left_ = false;
  // Attach() calls that returned this attachment again and whose AddEnd has
  // not come yet: the attachment does not leave while one is pending
  // (registry lock).
  std::uint32_t pending_opens_ = 0;
};

}  // namespace buffered_pipe::internal

#endif  // BUFFERED_PIPE_INTERNAL_ATTACHMENT_H_
