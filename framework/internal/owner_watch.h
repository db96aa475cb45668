// OwnerWatch: how a blocked call tells a slow peer from one that can never
// go on.
//
// A blocked call waits for some owner: the claimer of the frame at head or at
// tail, the holder of a stream's writer or reader hold. While that owner's
// process lives, waiting is right (it is preempted, stopped, or working). When
// it dies, the poll for dead peers reaps its slot and resolves its claims and
// holds, so the wait ends by itself. What never ends by itself is a claim or
// hold naming a process slot that is FREE: only a reap or a clean leave frees
// a slot, and both resolve what the slot's process held first. Such an owner
// can only come from corrupted memory, and a call without a deadline would
// wait for it forever.
//
// So the attempts of a blocking call name the owner they are blocked on
// (`Blocked`, on the blocked branches only: the fast path pays nothing), and
// every poll looks at the owner last named since the previous poll: found
// with a free slot at kOrphanPolls polls in a row, the call returns DataLoss
// (the poll's error ends the wait, see WaitLoop). Two in a row, not one: a
// slot may be freed just after an attempt saw its claim, by a leave that
// resolved it; the attempts after that no longer name it.
//
// Where the owner's slot holds a live process, the watch cannot tell a
// forged claim from a real one; README.md ("What a corrupted segment can
// still do") lists those states.
//
// Thread-safety: one watch per call, used by the calling thread only.

#ifndef BUFFERED_PIPE_INTERNAL_OWNER_WATCH_H_
#define BUFFERED_PIPE_INTERNAL_OWNER_WATCH_H_

#include <cstdint>

namespace buffered_pipe::internal {

class OwnerWatch {
 public:
  static constexpr int kOrphanPolls = 2;

  // The attempt is blocked on `owner` (a process slot id, 0 for "none" read
  // from a corrupted word: that counts as a free slot too).
  void Blocked(std::uint32_t owner) {
    waiting_for_ = owner;
    waiting_ = true;
  }

  // After a poll for dead peers: `slot_is_free(owner)` says whether the
  // owner's slot is free now. Forgets the owner named: the attempts until
  // the next poll name it again if they are still blocked on it.
  template <typename SlotIsFree>
  void AfterPoll(SlotIsFree&& slot_is_free) {
    if (waiting_ && slot_is_free(waiting_for_)) {
      ++polls_with_free_owner_;
    } else {
      polls_with_free_owner_ = 0;
    }
    waiting_ = false;
  }

  // The owner waited for has had a free slot for kOrphanPolls polls in a row.
  bool orphaned() const { return polls_with_free_owner_ >= kOrphanPolls; }

 private:
  std::uint32_t waiting_for_ = 0;
  bool waiting_ = false;
  int polls_with_free_owner_ = 0;
};

}  // namespace buffered_pipe::internal

#endif  // BUFFERED_PIPE_INTERNAL_OWNER_WATCH_H_
