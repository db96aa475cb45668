// More processes than process slots (issue 10): a parent keeps its
// receiving end and forks 300 workers onto a pipe with 255 slots. Each
// worker closes its copy of the receiving end and sends one message. The
// workers that got a slot deliver, exactly once; the others get
// ResourceExhausted at their first call; and nothing a slotless worker does
// changes what the others see (the parent's receiving end keeps counting:
// no broken pipe, and end of stream only when every sender has gone).

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <set>
#include <string_view>
#include <string>
#include <thread>
#include <vector>

#include "buffered_pipe/internal/layout.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/static_pipe.h"
#include "buffered_pipe/status.h"
#include "gtest/gtest.h"
#include "tests/test_support.h"

namespace buffered_pipe {
namespace {

using namespace std::chrono_literals;
using ::buffered_pipe::testing::ForkChild;
using ::buffered_pipe::testing::SharedMemory;
using ::buffered_pipe::testing::WaitForChild;

constexpr int kMostWorkers = 300;

struct Shared {
  std::atomic<int> go;
  std::atomic<int> done;
  std::atomic<int> reported;
  // absl::StatusCode of each worker's send, +1 (0: not yet reported).
  std::atomic<int> result[kMostWorkers];
};

// Forks `workers` senders onto a pipe with `options` and checks that exactly
// max_processes - 1 of them (the parent holds a slot) deliver, exactly once,
// and the others get ResourceExhausted and change nothing else.
void RunMoreWorkersThanSlots(const PipeOptions& options, int workers_count) {
  ASSERT_LE(workers_count, kMostWorkers);
  SharedMemory memory(sizeof(Shared));
  Shared& shared = *memory.as<Shared>();
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = Pipe(options);
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  // Named references, not a structured binding: clang 14 cannot capture one.
  PipeEnd& receiver = pipe->first;
  PipeEnd& sender = pipe->second;

  std::vector<pid_t> workers;
  for (int w = 0; w < workers_count; ++w) {
    workers.push_back(ForkChild([&, w] {
      (void)receiver.close();
      while (shared.go.load() == 0) std::this_thread::sleep_for(1ms);
      const absl::Status status = sender.send_bytes_for(std::to_string(w), 30s);
      shared.result[w].store(static_cast<int>(status.code()) + 1);
      shared.reported.fetch_add(1);
      // Keep the slot until every worker has sent.
      while (shared.done.load() == 0) std::this_thread::sleep_for(1ms);
      return 0;
    }));
    ASSERT_GT(workers.back(), 0);
  }
  ASSERT_TRUE(sender.close().ok());
  shared.go.store(1);

  std::multiset<int> received;
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  while (shared.reported.load() < workers_count && std::chrono::steady_clock::now() < give_up) {
    absl::StatusOr<std::string> message = receiver.recv_bytes_for(20ms);
    if (message.ok()) {
      received.insert(std::stoi(*message));
    } else {
      ASSERT_TRUE(IsTimeout(message.status())) << message.status();
    }
  }
  ASSERT_EQ(shared.reported.load(), workers_count);
  // The messages sent before the last report may still be in the pipe.
  for (;;) {
    absl::StatusOr<std::string> message = receiver.try_recv_bytes();
    if (!message.ok()) break;
    received.insert(std::stoi(*message));
  }

  std::set<int> delivered_ok;
  int exhausted = 0;
  for (int w = 0; w < workers_count; ++w) {
    const auto code = static_cast<absl::StatusCode>(shared.result[w].load() - 1);
    if (code == absl::StatusCode::kOk) {
      delivered_ok.insert(w);
    } else {
      EXPECT_EQ(code, absl::StatusCode::kResourceExhausted) << "worker " << w;
      ++exhausted;
    }
  }
  const int fit = static_cast<int>(options.max_processes) - 1;
  EXPECT_EQ(static_cast<int>(delivered_ok.size()), fit);
  EXPECT_EQ(exhausted, workers_count - fit);
  EXPECT_EQ(received.size(), delivered_ok.size());
  EXPECT_EQ(std::set<int>(received.begin(), received.end()), delivered_ok);  // exactly once

  shared.done.store(1);
  for (pid_t worker : workers) EXPECT_TRUE(WaitForChild(worker));
  // Every sender is gone: end of stream, not a hang.
  EXPECT_TRUE(IsEndOfStream(receiver.recv_bytes_for(10s).status()));
}

TEST(ProcessSlotsTest, WorkersBeyondTheTableGetResourceExhaustedAndChangeNothingElse) {
  static_assert(kMaxProcesses == 255);
  RunMoreWorkersThanSlots({.buffer_size = 64 * 1024}, kMostWorkers);
}

TEST(ProcessSlotsTest, TheTableSizeIsACreationOption) {
  RunMoreWorkersThanSlots({.buffer_size = 4096, .max_processes = 4}, 10);
}

TEST(ProcessSlotsTest, TableSizesOutsideOneTo255AreInvalidArguments) {
  for (std::uint32_t bad : {0u, 256u, 100000u}) {
    EXPECT_TRUE(absl::IsInvalidArgument(Pipe({.max_processes = bad}).status())) << bad;
    EXPECT_TRUE(absl::IsInvalidArgument(
        StaticPipe({.object_size = 8, .object_count = 4, .max_processes = bad}).status()))
        << bad;
  }
  EXPECT_TRUE(Pipe({.max_processes = 1}).ok());
  EXPECT_TRUE(Pipe({.max_processes = 255}).ok());
}

// A process that closes its ends frees its slot for the next one: with two
// slots (the parent's and one more), workers that come one after another
// all get through.
TEST(ProcessSlotsTest, AClosedProcessFreesItsSlot) {
  absl::StatusOr<std::pair<StaticPipeEnd, StaticPipeEnd>> pipe =
      StaticPipe({.object_size = 8, .object_count = 4, .max_processes = 2});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  StaticPipeEnd& receiver = pipe->first;
  StaticPipeEnd& sender = pipe->second;
  for (std::uint64_t w = 0; w < 3; ++w) {
    const pid_t worker = ForkChild([&, w] {
      (void)receiver.close();
      const absl::Status sent = sender.send_bytes_for(
          std::string_view(reinterpret_cast<const char*>(&w), sizeof(w)), 10s);
      return sent.ok() ? 0 : 1;
    });
    ASSERT_GT(worker, 0);
    ASSERT_TRUE(WaitForChild(worker)) << "worker " << w;
    absl::StatusOr<std::string> record = receiver.recv_bytes_for(10s);
    ASSERT_TRUE(record.ok()) << record.status();
    ASSERT_EQ(record->size(), sizeof(std::uint64_t));
    std::uint64_t value = 0;
    std::memcpy(&value, record->data(), sizeof(value));
    EXPECT_EQ(value, w);
  }
}

// A named pipe's table is part of its file: a smaller table is a smaller
// file, and an opener sees the creator's size.
TEST(ProcessSlotsTest, ANamedPipeKeepsItsTableSize) {
  const std::string small_name = ::buffered_pipe::testing::UniqueName("slots_small");
  const std::string large_name = ::buffered_pipe::testing::UniqueName("slots_large");
  auto small = CreateNamedPipe(small_name, {.buffer_size = 4096, .max_processes = 1});
  auto large = CreateNamedPipe(large_name, {.buffer_size = 4096});
  ASSERT_TRUE(small.ok()) << small.status();
  ASSERT_TRUE(large.ok()) << large.status();
  struct stat small_file {};
  struct stat large_file {};
  ASSERT_EQ(stat(("/dev/shm/" + small_name).c_str(), &small_file), 0);
  ASSERT_EQ(stat(("/dev/shm/" + large_name).c_str(), &large_file), 0);
  EXPECT_LT(small_file.st_size + 254 * 64 - 4096, large_file.st_size + 1);
  // One slot, held by this process: a forked opener finds none.
  const pid_t opener = ForkChild([&] {
    small->first.close().IgnoreError();
    small->second.close().IgnoreError();
    absl::StatusOr<PipeEnd> end = OpenNamedPipe(small_name, kSendingSide);
    return absl::IsResourceExhausted(end.status()) ? 0 : 1;
  });
  ASSERT_GT(opener, 0);
  EXPECT_TRUE(WaitForChild(opener));
  // The opener in this process shares the creator's slot.
  absl::StatusOr<PipeEnd> same_process = OpenNamedPipe(small_name, kSendingSide);
  EXPECT_TRUE(same_process.ok()) << same_process.status();
}

// Opening a name again in a process that has it attached shares the
// process's slot; the last end to close still lets the name go.
TEST(ProcessSlotsTest, OneProcessHoldsOneSlotHoweverOftenItOpens) {
  const std::string name = ::buffered_pipe::testing::UniqueName("slots_reopen");
  auto pipe = CreateNamedPipe(name, {.buffer_size = 4096, .max_processes = 1});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  std::vector<PipeEnd> senders;
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<PipeEnd> sender = OpenNamedPipe(name, kSendingSide);
    ASSERT_TRUE(sender.ok()) << "open " << i << ": " << sender.status();
    senders.push_back(std::move(*sender));
  }
  ASSERT_TRUE(pipe->second.close().ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(senders[i].send_bytes(std::to_string(i)).ok());
    ASSERT_TRUE(senders[i].close().ok());
    absl::StatusOr<std::string> message = pipe->first.recv_bytes_for(10s);
    ASSERT_TRUE(message.ok()) << message.status();
    EXPECT_EQ(*message, std::to_string(i));
  }
  EXPECT_TRUE(IsEndOfStream(pipe->first.recv_bytes_for(10s).status()));
  ASSERT_TRUE(pipe->first.close().ok());
  struct stat file {};
  EXPECT_NE(stat(("/dev/shm/" + name).c_str(), &file), 0) << "the last close removes the name";
}

}  // namespace
}  // namespace buffered_pipe
