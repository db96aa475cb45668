// Scheduling points: the places in the ring protocol between two steps that
// other threads and processes can observe apart (a claim and its tail
// store, a commit and its wake-up, a receive claim and the head store, ...).
//
// The interleaving tests (tests/interleaving_test.cc) build the library with
// BUFFERED_PIPE_SCHEDULE_POINTS defined (bazel/schedule_points.bzl) and
// install a hook that preempts the caller at random at every point, or kills
// its process at a chosen visit of one point. In every other build a point
// compiles to nothing.
//
// Thread-safety: the hook is installed before the threads under test start
// and called from any thread.

#ifndef BUFFERED_PIPE_INTERNAL_SCHEDULE_POINT_H_
#define BUFFERED_PIPE_INTERNAL_SCHEDULE_POINT_H_

#include <atomic>

namespace buffered_pipe::internal {

enum class SchedulePoint : int {
  kSenderClaimed,        // stamp CLAIMED, tail not yet advanced
  kSenderTailAdvanced,   // tail advanced, payload not yet written
  kSenderBeforeCommit,   // payload written, stamp still CLAIMED
  kSenderCommitted,      // stamp COMMITTED, parked receivers not yet woken
  kHeadLocked,           // head lock taken, head not yet looked at again
  kReceiverTookUnderLock,  // head moved past a frame taken under the lock, not yet copied
  kHeadUnlocked,         // head lock dropped, waiters not yet woken
  kReceiverClaimed,      // stamp READING, head not yet advanced
  kReceiverBeforeRelease,  // payload copied, frame not yet released
  kReceiverReleased,     // `released` moved or cell RELEASED, senders not yet woken
  kWalkerFoundReleased,  // a sender saw a RELEASED cell, `released` not yet moved
  kWaiterAnnounced,      // `parked` incremented, barrier and re-check to come
  kStreamHoldTaken,      // a stream writer or reader hold just taken
  kCount,
};

const char* SchedulePointName(SchedulePoint point);

#if defined(BUFFERED_PIPE_SCHEDULE_POINTS)
using SchedulePointHook = void (*)(SchedulePoint point);
// Acquire/release: the hook's own state is set up before it is installed.
extern std::atomic<SchedulePointHook> schedule_point_hook;
inline void ReachSchedulePoint(SchedulePoint point) {
  if (SchedulePointHook hook = schedule_point_hook.load(std::memory_order_acquire)) hook(point);
}
#else
inline void ReachSchedulePoint(SchedulePoint) {}
#endif

}  // namespace buffered_pipe::internal

#endif  // BUFFERED_PIPE_INTERNAL_SCHEDULE_POINT_H_
