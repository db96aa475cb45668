#include "buffered_pipe/internal/schedule_point.h"

namespace buffered_pipe::internal {

const char* SchedulePointName(SchedulePoint point) {
  switch (point) {
    case SchedulePoint::kSenderClaimed: return "sender claimed";
    case SchedulePoint::kSenderTailAdvanced: return "sender advanced tail";
    case SchedulePoint::kSenderBeforeCommit: return "sender before commit";
    case SchedulePoint::kSenderCommitted: return "sender committed";
    case SchedulePoint::kHeadLocked: return "head locked";
    case SchedulePoint::kReceiverTookUnderLock: return "receiver took a frame under the lock";
    case SchedulePoint::kHeadUnlocked: return "head unlocked";
    case SchedulePoint::kReceiverClaimed: return "receiver claimed";
    case SchedulePoint::kReceiverBeforeRelease: return "receiver before release";
    case SchedulePoint::kReceiverReleased: return "receiver released";
    case SchedulePoint::kWalkerFoundReleased: return "walker found a released cell";
    case SchedulePoint::kWaiterAnnounced: return "waiter announced";
    case SchedulePoint::kStreamHoldTaken: return "stream hold taken";
    case SchedulePoint::kCount: break;
  }
  return "unknown";
}

#if defined(BUFFERED_PIPE_SCHEDULE_POINTS)
std::atomic<SchedulePointHook> schedule_point_hook{nullptr};
#endif

}  // namespace buffered_pipe::internal
