// Interleaving exploration of the ring protocol. This binary's library is
// built with scheduling points (framework/internal/schedule_point.h,
// bazel/schedule_points.bzl): places between two protocol steps that other
// parties can observe apart.
//
// - Preemption: a hook preempts the caller at random at every point (a
//   yield, a short spin or a sleep of a few microseconds), so that in tiny
//   rings every step of claim / commit / receive / release / walk / park /
//   stream hold meets every other. Many senders and receivers in threads and
//   processes; the harness checks exactly-once and per-sender order, and
//   the test checks that every point was reached.
// - Kills: for each point, a process that sends and receives is killed
//   (SIGKILL) at a random visit of that point, while a surviving process
//   sends and receives too. What the dead one had committed is delivered
//   intact and at most once, in order; at most the one message it was
//   receiving is lost; the survivor's messages all arrive; nobody hangs.
//
// BUFFERED_PIPE_TEST_SEED replays a run; BUFFERED_PIPE_TEST_SCALE=N runs N
// times as many configurations.

#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "buffered_pipe/internal/schedule_point.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/status.h"
#include "gtest/gtest.h"
#include "tests/mpmc_harness.h"
#include "tests/test_support.h"

#if !defined(BUFFERED_PIPE_SCHEDULE_POINTS)
#error "build this test through schedule_points_test (bazel/schedule_points.bzl)"
#endif

namespace buffered_pipe {
namespace {

using internal::SchedulePoint;
using testing::Delivery;
using testing::DeliveryLog;
using testing::kMessageHeaderSize;
using testing::MakeMessage;
using testing::SharedMemory;
using testing::TestScale;
using testing::TestSeed;

constexpr int kPointCount = static_cast<int>(SchedulePoint::kCount);

// Visits of each point, in all processes (shared memory made before forks).
struct Visits {
  std::atomic<std::uint64_t> count[kPointCount];
};
Visits* visits = nullptr;

std::uint64_t NextRandom() {
  thread_local std::uint64_t state = 0;
  if (state == 0) {
    const std::uint64_t thread = std::hash<std::thread::id>{}(std::this_thread::get_id());
    state = (TestSeed() ^ (thread * 0x9E3779B97F4A7C15ULL) ^
             (static_cast<std::uint64_t>(getpid()) << 32)) |
            1;
  }
  state ^= state << 13;  // xorshift64
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

void PreemptAtRandom(SchedulePoint point) {
  visits->count[static_cast<int>(point)].fetch_add(1, std::memory_order_relaxed);
  const std::uint64_t random = NextRandom();
  const unsigned roll = random % 100;
  if (roll < 2) {
    std::this_thread::sleep_for(std::chrono::microseconds((random >> 8) % 40));
  } else if (roll < 10) {
    sched_yield();
  } else if (roll < 20) {
    for (std::uint64_t i = (random >> 8) % 300; i > 0; --i) internal::CpuRelax();
  }
}

// The kill plan of a child process (a copy per process after fork).
int kill_point = -1;
std::uint64_t kill_at_visit = 0;
std::atomic<std::uint64_t> visits_of_kill_point{0};

void KillAtPlannedVisit(SchedulePoint point) {
  PreemptAtRandom(point);
  if (static_cast<int>(point) != kill_point) return;
  if (visits_of_kill_point.fetch_add(1, std::memory_order_relaxed) + 1 == kill_at_visit) {
    kill(getpid(), SIGKILL);
  }
}

class InterleavingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    visits_memory_ = std::make_unique<SharedMemory>(sizeof(Visits));
    visits = visits_memory_->as<Visits>();
    for (auto& count : visits->count) count.store(0);
  }
  void TearDown() override {
    internal::schedule_point_hook.store(nullptr, std::memory_order_release);
    visits = nullptr;
  }
  std::unique_ptr<SharedMemory> visits_memory_;
};

TEST_F(InterleavingTest, RandomPreemptionAtEveryPoint) {
  internal::schedule_point_hook.store(&PreemptAtRandom, std::memory_order_release);
  std::mt19937_64 random(TestSeed());
  for (int round = 0; round < 6 * TestScale(); ++round) {
    // Rings of one to four blocks (64 B each) and messages up to three times
    // the ring: wrap-around, waits for space, walks and streams all the time.
    const std::uint64_t buffer_size = std::uint64_t{64} << (round % 3);
    const std::size_t max_length = static_cast<std::size_t>(buffer_size) * 3;
    // Under TSan all in threads or all in processes (see RandomSplit): it
    // cannot see synchronization made in another process.
    const testing::Split split = testing::RandomSplit(random);
    SCOPED_TRACE(absl::StrCat(split.Describe(), ", buffer ", buffer_size));
    std::fprintf(stderr, "round %d: %s, buffer %llu\n", round, split.Describe().c_str(),
                 static_cast<unsigned long long>(buffer_size));
    absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = Pipe({.buffer_size = buffer_size});
    ASSERT_TRUE(pipe.ok()) << pipe.status();
    PipeEnd& receiver = pipe->first;
    PipeEnd& sender = pipe->second;
    testing::MpmcParties parties;
    parties.send_all = [&](std::uint32_t id, std::uint64_t count) {
      std::mt19937_64 lengths_random(TestSeed() ^ (std::uint64_t{id} * 0x9E3779B97F4A7C15ULL));
      std::uniform_int_distribution<std::size_t> length(kMessageHeaderSize, max_length);
      for (std::uint64_t sequence = 0; sequence < count; ++sequence) {
        if (!sender.send_bytes(MakeMessage(id, sequence, length(lengths_random))).ok()) {
          return false;
        }
      }
      return true;
    };
    parties.receive_one = [&](std::string& message, std::uint64_t) {
      return receiver.recv_bytes_into(message);
    };
    parties.close_sending_end = [&] { (void)sender.close(); };
    parties.close_receiving_end = [&] { (void)receiver.close(); };
    testing::RunSplit(split, 150 * static_cast<std::uint64_t>(TestScale()), parties);
  }
  for (int point = 0; point < kPointCount; ++point) {
    EXPECT_GT(visits->count[point].load(), 0u)
        << "never reached: " << internal::SchedulePointName(static_cast<SchedulePoint>(point));
  }
}

// One party: sends `count` messages as `sender_id` from one thread and
// receives into `log` as `receiver_id` from another, until end of stream.
// Returns false on any error.
bool SendAndReceive(PipeEnd& sender, PipeEnd& receiver, std::uint32_t sender_id,
                    std::uint32_t receiver_id, std::uint64_t count, std::size_t max_length,
                    DeliveryLog& log) {
  std::atomic<bool> receive_ok{true};
  std::thread receiving([&] {
    std::string message;
    for (;;) {
      const std::uint64_t start = log.Ticket();
      // Bounded: a hang anywhere in the protocol fails instead of stalling.
      const absl::Status status = receiver.recv_bytes_into(message, Deadline::After(std::chrono::seconds(60)));
      const std::uint64_t end = log.Ticket();
      if (IsEndOfStream(status)) return;
      Delivery delivery{};
      if (!status.ok() ||
          !testing::CheckMessage(message, &delivery.sender, &delivery.sequence).ok()) {
        std::fprintf(stderr, "receiver %u: %s\n", receiver_id, status.ToString().c_str());
        log.RecordError();
        receive_ok = false;
        return;
      }
      delivery.receiver = receiver_id;
      delivery.start_ticket = start;
      delivery.end_ticket = end;
      log.Record(delivery);
    }
  });
  std::mt19937_64 lengths(TestSeed() + sender_id);
  std::uniform_int_distribution<std::size_t> length(kMessageHeaderSize, max_length);
  bool send_ok = true;
  for (std::uint64_t sequence = 0; sequence < count && send_ok; ++sequence) {
    send_ok = sender.send_bytes_for(MakeMessage(sender_id, sequence, length(lengths)),
                                    std::chrono::seconds(60))
                  .ok();
  }
  (void)sender.close();
  receiving.join();
  return send_ok && receive_ok;
}

TEST_F(InterleavingTest, KillAtEveryPoint) {
  if (testing::kThreadSanitizer) {
    // Two threads in each of two processes: TSan cannot see the
    // synchronization made in the other process and would report races
    // that are not there. The plain and ASan builds run this test.
    GTEST_SKIP() << "threads in two processes: not under TSan";
  }
  std::mt19937_64 random(TestSeed());
  int killed = 0;
  for (int round = 0; round < TestScale(); ++round) {
    for (int point = 0; point < kPointCount; ++point) {
      const char* name = internal::SchedulePointName(static_cast<SchedulePoint>(point));
      const std::uint64_t visit = std::uniform_int_distribution<std::uint64_t>(1, 30)(random);
      SCOPED_TRACE(absl::StrCat("kill at visit ", visit, " of \"", name, "\""));
      constexpr std::uint64_t kCount = 200;
      constexpr std::uint64_t kBufferSize = 256;  // four blocks: messages up to 600 B stream
      constexpr std::size_t kMaxLength = 600;
      absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = Pipe({.buffer_size = kBufferSize});
      ASSERT_TRUE(pipe.ok()) << pipe.status();
      PipeEnd& receiver = pipe->first;
      PipeEnd& sender = pipe->second;
      DeliveryLog log(4 * kCount);
      internal::schedule_point_hook.store(&PreemptAtRandom, std::memory_order_release);
      const pid_t child = testing::ForkChild([&] {
        kill_point = point;
        kill_at_visit = visit;
        internal::schedule_point_hook.store(&KillAtPlannedVisit, std::memory_order_release);
        return SendAndReceive(sender, receiver, 0, 0, kCount, kMaxLength, log) ? 0 : 1;
      });
      ASSERT_GT(child, 0);
      EXPECT_TRUE(SendAndReceive(sender, receiver, 1, 1, kCount, kMaxLength, log));
      int status = 0;
      ASSERT_EQ(waitpid(child, &status, 0), child);
      const bool child_killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
      if (!child_killed) {
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
      }
      killed += child_killed ? 1 : 0;
      EXPECT_EQ(log.errors(), 0u);
      // The dead sender's messages: a prefix 0..M of its sequence (it died
      // during M + 1 at the latest), less at most the one it was receiving.
      const std::vector<Delivery> deliveries = log.Deliveries();
      std::uint64_t sent_by_child = child_killed ? 0 : kCount;
      if (child_killed) {
        for (const Delivery& delivery : deliveries) {
          if (delivery.sender == 0) sent_by_child = std::max(sent_by_child, delivery.sequence + 1);
        }
      }
      EXPECT_TRUE(testing::VerifyDeliveries(deliveries, {sent_by_child, kCount},
                                            child_killed ? 1 : 0));
    }
  }
  // Most points are reached within 30 visits by a sending and receiving
  // process; a plan that was never reached leaves the child alive.
  EXPECT_GE(killed, kPointCount / 2 * TestScale());
  std::fprintf(stderr, "killed %d of %d children\n", killed, kPointCount * TestScale());
}

}  // namespace
}  // namespace buffered_pipe
