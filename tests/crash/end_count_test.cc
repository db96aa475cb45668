// The open-end counts under SIGKILL. A ring counts its open ends twice: per
// process slot (ProcessSlot::senders / receivers) and as a total
// (RingControl::senders_open / receivers_open), which decides end of stream
// and broken pipe. Opening or closing an end, taking or leaving a slot, and
// reaping a dead process each update the two in separate steps; a process
// killed between the steps leaves the total wrong for good (reaping
// subtracts what the slot says): one too low, and receivers may see end of
// stream while a living sender's end is open; one too high, and end of
// stream never comes.
//
// The windows are a few instructions wide. The test samples a child that
// opens and closes a sending end by name in a loop: SIGSTOP, compare the
// total with the sum of the slots, SIGCONT, until they differ (the child is
// inside a window), then SIGKILL it there; once it is reaped, the total
// must again be what the living hold.
//
// Not fixed (it needs the counting redesigned, e.g. totals derived from the
// slots, or per-slot "applied" marks): the test is DISABLED_ and fails when
// it hits a window (it usually does within seconds).

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "buffered_pipe/internal/layout.h"
#include "buffered_pipe/internal/segment.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/status.h"
#include "gtest/gtest.h"
#include "tests/test_support.h"

namespace buffered_pipe {
namespace {

namespace in = ::buffered_pipe::internal;
using namespace std::chrono_literals;
using ::buffered_pipe::testing::UniqueName;
using Clock = std::chrono::steady_clock;

std::uint64_t SumOfSlots(const in::Segment& segment) {
  std::uint64_t sum = 0;
  for (std::uint32_t owner = 1; owner <= in::kProcessSlotCount; ++owner) {
    const in::ProcessSlot& slot = segment.slot(owner);
    if (in::slot_state::Tag(slot.state.load()) == in::SlotTag::kFree) continue;
    sum += slot.senders[0].load();
  }
  return sum;
}

TEST(EndCountTest, DISABLED_AProcessKilledWhileOpeningOrClosingAnEndLeavesTheCountsRight) {
  const std::string name = UniqueName("end-count");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name, {.buffer_size = 256});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  absl::StatusOr<in::Segment> segment = in::Segment::OpenNamed(name);
  ASSERT_TRUE(segment.ok());
  std::atomic<std::uint32_t>& senders_open = segment->ring(0).control->senders_open;
  // This process holds one sending end (and the receiving end) throughout.
  ASSERT_EQ(senders_open.load(), 1u);

  const Clock::time_point give_up = Clock::now() + 30s;
  int children = 0, samples = 0, hits = 0;
  while (Clock::now() < give_up && hits == 0) {
    const pid_t child = fork();
    if (child == 0) {
      (void)pipe->first.close();
      (void)pipe->second.close();  // leaves: from now on only the loop's ends count
      for (;;) {
        absl::StatusOr<PipeEnd> end = OpenNamedPipe(name, kSendingSide);
        if (end.ok()) (void)end->close();
      }
    }
    ++children;
    std::this_thread::sleep_for(2ms);
    bool inside = false;
    for (int sample = 0; sample < 20000 && !inside; ++sample) {
      kill(child, SIGSTOP);
      int status = 0;
      waitpid(child, &status, WUNTRACED);
      ++samples;
      inside = senders_open.load() != SumOfSlots(*segment);
      if (!inside) kill(child, SIGCONT);
    }
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    if (inside) ++hits;
    // Reap it: a blocked call polls the process table.
    (void)pipe->first.recv_bytes_for(300ms);
    if (senders_open.load() == 0) {
      // What a receiver makes of it while our sending end is open.
      EXPECT_FALSE(IsEndOfStream(pipe->first.try_recv_bytes().status()))
          << "end of stream, although this process's sending end is open";
    }
    ASSERT_EQ(senders_open.load(), 1u)
        << "after child " << children << " was killed inside an update of the open-end counts "
        << "(sample " << samples << ") and reaped, the pipe counts " << senders_open.load()
        << " open sending ends; this process holds the only one";
  }
  std::fprintf(stderr, "%d children, %d samples, %d kills inside a count update\n", children,
               samples, hits);
  EXPECT_EQ(hits, 0) << "the window was hit, and the counts survived it";
}

}  // namespace
}  // namespace buffered_pipe
