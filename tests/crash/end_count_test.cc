// The open-end counts under SIGKILL. A ring counts its open ends twice: per
// process slot (ProcessSlot::senders / receivers) and as a total
// (RingControl::senders_open / receivers_open), which decides end of stream
// and broken pipe. The two change in separate steps, in an order that makes
// a process killed between them leave the total too high, never too low
// (framework/internal/attachment.h, "Counting open ends"); callers that have
// waited a poll interval recount from the slots.
//
// The windows are a few instructions wide. The test samples a child that
// opens and closes a sending end by name in a loop: SIGSTOP, compare the
// total with the sum of the slots, SIGCONT, until they differ (the child is
// inside a window), then SIGKILL it there. Once it is reaped: no end of
// stream while this process's sending end is open (the total is never too
// low), and end of stream within about a second of closing it (a total left
// too high is recounted).

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
  for (std::uint32_t owner = 1; owner <= in::kMaxProcessSlotCount; ++owner) {
    const in::ProcessSlot& slot = segment.slot(owner);
    if (in::slot_state::Tag(slot.state.load()) == in::SlotTag::kFree) continue;
    sum += slot.senders[0].load();
  }
  return sum;
}

TEST(EndCountTest, AProcessKilledWhileOpeningOrClosingAnEndNeverEndsTheStreamEarly) {
  const std::string name = UniqueName("end-count");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name, {.buffer_size = 256});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  absl::StatusOr<in::Segment> segment = in::Segment::OpenNamed(name);
  ASSERT_TRUE(segment.ok());
  std::atomic<std::uint32_t>& senders_open = segment->ring(0).control->senders_open;
  // This process holds one sending end (and the receiving end) throughout.
  ASSERT_EQ(senders_open.load(), 1u);

  const Clock::time_point give_up = Clock::now() + 15s;
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
    EXPECT_GE(senders_open.load(), 1u) << "the total fell below the ends open";
    EXPECT_FALSE(IsEndOfStream(pipe->first.try_recv_bytes().status()))
        << "end of stream, although this process's sending end is open (child " << children
        << ", sample " << samples << ")";
  }
  // Whatever the kills left in the total, closing the last sending end ends
  // the stream for a blocked receiver within about a second.
  ASSERT_TRUE(pipe->second.close().ok());
  const Clock::time_point closed_at = Clock::now();
  EXPECT_TRUE(IsEndOfStream(pipe->first.recv_bytes_for(5s).status()));
  EXPECT_LT(Clock::now() - closed_at, 1s);
  std::fprintf(stderr, "%d children, %d samples, %d kills inside a count update\n", children,
               samples, hits);
  if (hits == 0) {
    // Sampling a window of a few instructions is chance: on a loaded machine
    // it may miss for the whole budget. Say so instead of passing.
    GTEST_SKIP() << "no kill landed inside a count update in " << samples << " samples";
  }
}

}  // namespace
}  // namespace buffered_pipe
