// fork() and the process table. Before fork() the parent reserves a slot
// for the child (PrepareFork: the slot becomes RESERVED under the parent's
// pid, then the reservation time is written) and counts the child's copies
// of its ends; the child adopts the slot in its atfork handler. Two windows:
//
// - between the reservation and the write of its time, a scan for dead
//   processes in another process read time 0, found the reservation older
//   than kForkReservationTimeoutNs and reaped it, uncounting the child's
//   ends before the child could adopt them (a parent closing its own end
//   right after fork() could then make receivers see end of stream, the
//   very thing the reservation is for). Fixed.
// - a child killed before fork() returns in it never adopts its
//   reservation, which stayed alive (under the live parent's pid) for
//   kForkReservationTimeoutNs = 10 s; until then its ends counted as open
//   and survivors blocked on them waited. Fixed: the parent's after-fork
//   handler learns the child's pid (the newest entry of
//   /proc/thread-self/children) and hands the reservation to it, so the
//   child's death is found by the next poll.

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <cstdio>

#include "buffered_pipe/internal/attachment.h"
#include "buffered_pipe/internal/layout.h"
#include "buffered_pipe/internal/process_identity.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/status.h"
#include "gtest/gtest.h"

namespace buffered_pipe {
namespace {

namespace in = ::buffered_pipe::internal;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A child handler registered before the library's (static initialisation
// precedes the first pipe), so it runs first in the child: with the flag
// set, the child dies before the library's handler adopts its slot.
volatile bool die_in_child_handler = false;
void DieInChildHandler() {
  if (die_in_child_handler) raise(SIGKILL);
}
const int registered = pthread_atfork(nullptr, nullptr, DieInChildHandler);

TEST(ForkWindowTest, AReservationWhoseTimeIsNotYetWrittenBelongsToALiveParent) {
  auto owned = std::make_unique<in::ProcessSlot>();  // heap: over-aligned type
  in::ProcessSlot& slot = *owned;
  slot.state.store(in::slot_state::Make(1, in::SlotTag::kReserved, static_cast<std::uint32_t>(getpid())));
  slot.reserved_at_ns.store(0);  // PrepareFork has taken the slot, not yet written the time
  EXPECT_TRUE(in::IsSlotOccupantAlive(slot));
  // Once the parent is gone, so is the reservation.
  slot.state.store(in::slot_state::Make(1, in::SlotTag::kReserved, 0x7FFFFFF0));
  EXPECT_FALSE(in::IsSlotOccupantAlive(slot));
}

// Fixed (issue 9, the double kill of the long crash campaign): a reaper
// killed while REAPING left its pid in the slot, checked without a start
// time; once the pid was reused (pid_max is 32768 here) the slot looked alive
// for ever and the name could never be found stale. The reaper's start time
// is now recorded and checked, and so is a CLAIMING process's.
TEST(SlotLivenessTest, AReaperOrClaimerWhosePidWasReusedIsDead) {
  const std::uint32_t live_pid = static_cast<std::uint32_t>(getpid());
  const std::uint64_t live_start = in::ReadStartTime(live_pid);
  ASSERT_NE(live_start, 0u);
  auto owned = std::make_unique<in::ProcessSlot>();  // heap: over-aligned type
  in::ProcessSlot& slot = *owned;
  slot.state.store(in::slot_state::Make(1, in::SlotTag::kReaping, live_pid));
  slot.reaper_start_time.store(live_start);
  EXPECT_TRUE(in::IsSlotOccupantAlive(slot));
  slot.reaper_start_time.store(live_start + 12345);  // the pid is another process's now
  EXPECT_FALSE(in::IsSlotOccupantAlive(slot));
  slot.state.store(in::slot_state::Make(1, in::SlotTag::kClaiming, live_pid));
  slot.start_time.store(live_start + 12345);
  EXPECT_FALSE(in::IsSlotOccupantAlive(slot));
  slot.start_time.store(0);  // not yet written: the pid alone
  EXPECT_TRUE(in::IsSlotOccupantAlive(slot));
}

TEST(ForkWindowTest, AChildKilledBeforeForkReturnsIsFoundDeadWithinASecond) {
  ASSERT_EQ(registered, 0);
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = Pipe({.buffer_size = 64});
  ASSERT_TRUE(pipe.ok());
  die_in_child_handler = true;
  const pid_t child = fork();
  if (child == 0) _exit(0);  // not reached: the handler killed it
  die_in_child_handler = false;
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  // The child's copy of the receiving end was the only other one.
  ASSERT_TRUE(pipe->first.close().ok());
  ASSERT_TRUE(pipe->second.send_bytes("fills the ring").ok());
  const Clock::time_point begin = Clock::now();
  const absl::Status blocked = pipe->second.send_bytes_for("blocked", 15s);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin);
  std::fprintf(stderr, "the blocked send returned %s after %lld ms\n", blocked.ToString().c_str(),
               static_cast<long long>(took.count()));
  EXPECT_TRUE(IsBrokenPipe(blocked)) << blocked;
  EXPECT_LT(took, 1s);
}

}  // namespace
}  // namespace buffered_pipe
