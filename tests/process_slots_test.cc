// More processes than process slots (issue 10): a parent keeps its
// receiving end and forks 300 workers onto a pipe with 255 slots. Each
// worker closes its copy of the receiving end and sends one message. The
// workers that got a slot deliver, exactly once; the others get
// ResourceExhausted at their first call; and nothing a slotless worker does
// changes what the others see (the parent's receiving end keeps counting:
// no broken pipe, and end of stream only when every sender has gone).

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "buffered_pipe/internal/layout.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/status.h"
#include "gtest/gtest.h"
#include "tests/test_support.h"

namespace buffered_pipe {
namespace {

using namespace std::chrono_literals;
using ::buffered_pipe::testing::ForkChild;
using ::buffered_pipe::testing::SharedMemory;
using ::buffered_pipe::testing::WaitForChild;

constexpr int kWorkers = 300;

struct Shared {
  std::atomic<int> go;
  std::atomic<int> done;
  std::atomic<int> reported;
  // absl::StatusCode of each worker's send, +1 (0: not yet reported).
  std::atomic<int> result[kWorkers];
};

TEST(ProcessSlotsTest, WorkersBeyondTheTableGetResourceExhaustedAndChangeNothingElse) {
  SharedMemory memory(sizeof(Shared));
  Shared& shared = *memory.as<Shared>();
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = Pipe({.buffer_size = 64 * 1024});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  // Named references, not a structured binding: clang 14 cannot capture one.
  PipeEnd& receiver = pipe->first;
  PipeEnd& sender = pipe->second;

  std::vector<pid_t> workers;
  for (int w = 0; w < kWorkers; ++w) {
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
  while (shared.reported.load() < kWorkers && std::chrono::steady_clock::now() < give_up) {
    absl::StatusOr<std::string> message = receiver.recv_bytes_for(20ms);
    if (message.ok()) {
      received.insert(std::stoi(*message));
    } else {
      ASSERT_TRUE(IsTimeout(message.status())) << message.status();
    }
  }
  ASSERT_EQ(shared.reported.load(), kWorkers);
  // The messages sent before the last report may still be in the pipe.
  for (;;) {
    absl::StatusOr<std::string> message = receiver.try_recv_bytes();
    if (!message.ok()) break;
    received.insert(std::stoi(*message));
  }

  std::set<int> delivered_ok;
  int exhausted = 0;
  for (int w = 0; w < kWorkers; ++w) {
    const auto code = static_cast<absl::StatusCode>(shared.result[w].load() - 1);
    if (code == absl::StatusCode::kOk) {
      delivered_ok.insert(w);
    } else {
      EXPECT_EQ(code, absl::StatusCode::kResourceExhausted) << "worker " << w;
      ++exhausted;
    }
  }
  // The parent holds one slot: 254 workers fit.
  EXPECT_EQ(delivered_ok.size(), internal::kProcessSlotCount - 1);
  EXPECT_EQ(exhausted, kWorkers - static_cast<int>(internal::kProcessSlotCount - 1));
  EXPECT_EQ(received.size(), delivered_ok.size());
  EXPECT_EQ(std::set<int>(received.begin(), received.end()), delivered_ok);  // exactly once

  shared.done.store(1);
  for (pid_t worker : workers) EXPECT_TRUE(WaitForChild(worker));
  // Every sender is gone: end of stream, not a hang.
  EXPECT_TRUE(IsEndOfStream(receiver.recv_bytes_for(10s).status()));
}

}  // namespace
}  // namespace buffered_pipe
