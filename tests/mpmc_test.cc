// Many senders and many receivers, split at random between threads and
// forked processes (a port of the original's MPMC matrix): every message is
// received exactly once and intact, and one sender's messages are received
// in the order it sent them, across all receivers together.
//
// Sized for seconds in CI; BUFFERED_PIPE_TEST_SCALE=N multiplies the number
// of configurations and of messages. BUFFERED_PIPE_TEST_SEED replays a run.

#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/status.h"
#include "gtest/gtest.h"
#include "test_support.h"

namespace buffered_pipe {
namespace {

using ::buffered_pipe::testing::CheckMessage;
using ::buffered_pipe::testing::Delivery;
using ::buffered_pipe::testing::DeliveryLog;
using ::buffered_pipe::testing::ForkChild;
using ::buffered_pipe::testing::kMessageHeaderSize;
using ::buffered_pipe::testing::kThreadSanitizer;
using ::buffered_pipe::testing::MakeMessage;
using ::buffered_pipe::testing::TestScale;
using ::buffered_pipe::testing::TestSeed;
using ::buffered_pipe::testing::VerifyDeliveries;
using ::buffered_pipe::testing::WaitForChild;

struct Config {
  int sender_threads = 0;
  int sender_processes = 0;
  int receiver_threads = 0;
  int receiver_processes = 0;
  std::uint64_t buffer_size = 0;
  std::size_t max_length = 0;
  std::uint64_t messages_per_sender = 0;

  std::string Describe() const {
    return absl::StrCat("senders ", sender_threads, " threads + ", sender_processes,
                        " processes, receivers ", receiver_threads, " threads + ",
                        receiver_processes, " processes, buffer ", buffer_size,
                        ", lengths up to ", max_length, ", ", messages_per_sender, " per sender");
  }
};

// Sends `count` messages as sender `id`; lengths drawn from a generator
// seeded by the sender id, so the test can recompute nothing: receivers
// check each message against its own header.
bool SendAll(PipeEnd& sender, std::uint32_t id, const Config& config) {
  std::mt19937_64 random(TestSeed() ^ (std::uint64_t{id} * 0x9E3779B97F4A7C15ULL));
  std::uniform_int_distribution<std::size_t> length(kMessageHeaderSize, config.max_length);
  for (std::uint64_t sequence = 0; sequence < config.messages_per_sender; ++sequence) {
    if (!sender.send_bytes(MakeMessage(id, sequence, length(random))).ok()) return false;
  }
  return true;
}

// Receives until end of stream, recording every message in `log`.
bool ReceiveAll(PipeEnd& receiver, std::uint32_t id, DeliveryLog& log) {
  std::string message;
  for (;;) {
    const std::uint64_t start = log.Ticket();
    const absl::Status status = receiver.recv_bytes_into(message);
    const std::uint64_t end = log.Ticket();
    if (IsEndOfStream(status)) return true;
    if (!status.ok()) {
      log.RecordError();
      return false;
    }
    Delivery delivery{};
    if (!CheckMessage(message, &delivery.sender, &delivery.sequence).ok()) {
      log.RecordError();
      return false;
    }
    delivery.receiver = id;
    delivery.start_ticket = start;
    delivery.end_ticket = end;
    log.Record(delivery);
  }
}

void RunConfig(const Config& config) {
  SCOPED_TRACE(config.Describe());
  std::fprintf(stderr, "config: %s\n", config.Describe().c_str());
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = Pipe({.buffer_size = config.buffer_size});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  PipeEnd& receiver = pipe->first;
  PipeEnd& sender = pipe->second;
  const int senders = config.sender_threads + config.sender_processes;
  const int receivers = config.receiver_threads + config.receiver_processes;
  DeliveryLog log(static_cast<std::size_t>(senders) * config.messages_per_sender + 16);

  // Fork first: children then inherit no threads.
  std::vector<pid_t> children;
  std::uint32_t next_sender = 0;
  std::uint32_t next_receiver = 0;
  for (int i = 0; i < config.sender_processes; ++i) {
    const std::uint32_t id = next_sender++;
    children.push_back(ForkChild([&, id] {
      (void)receiver.close();
      return SendAll(sender, id, config) ? 0 : 1;
    }));
  }
  for (int i = 0; i < config.receiver_processes; ++i) {
    const std::uint32_t id = next_receiver++;
    children.push_back(ForkChild([&, id] {
      (void)sender.close();  // or the pipe could never reach end of stream
      return ReceiveAll(receiver, id, log) ? 0 : 1;
    }));
  }
  std::vector<std::thread> sender_threads;
  std::vector<std::thread> receiver_threads;
  std::atomic<int> thread_failures{0};
  for (int i = 0; i < config.sender_threads; ++i) {
    const std::uint32_t id = next_sender++;
    sender_threads.emplace_back([&, id] {
      if (!SendAll(sender, id, config)) ++thread_failures;
    });
  }
  for (int i = 0; i < config.receiver_threads; ++i) {
    const std::uint32_t id = next_receiver++;
    receiver_threads.emplace_back([&, id] {
      if (!ReceiveAll(receiver, id, log)) ++thread_failures;
    });
  }
  for (std::thread& thread : sender_threads) thread.join();
  ASSERT_TRUE(sender.close().ok());
  if (config.receiver_threads == 0) {
    ASSERT_TRUE(receiver.close().ok());
  }
  for (std::thread& thread : receiver_threads) thread.join();
  for (pid_t child : children) EXPECT_TRUE(WaitForChild(child, std::chrono::seconds(120)));
  EXPECT_EQ(thread_failures.load(), 0);
  EXPECT_EQ(log.errors(), 0u);
  const std::vector<std::uint64_t> sent(static_cast<std::size_t>(senders),
                                        config.messages_per_sender);
  EXPECT_TRUE(VerifyDeliveries(log.Deliveries(), sent));
  (void)receivers;
}

Config RandomConfig(std::mt19937_64& random, bool streaming) {
  Config config;
  std::uniform_int_distribution<int> parties(1, 8);
  const int senders = parties(random);
  const int receivers = parties(random);
  config.sender_processes = std::uniform_int_distribution<int>(0, senders)(random);
  config.sender_threads = senders - config.sender_processes;
  config.receiver_processes = std::uniform_int_distribution<int>(0, receivers)(random);
  config.receiver_threads = receivers - config.receiver_processes;
  if (kThreadSanitizer) {
    const bool threads = std::uniform_int_distribution<int>(0, 1)(random) == 0;
    config.sender_threads = threads ? senders : 0;
    config.sender_processes = threads ? 0 : senders;
    config.receiver_threads = threads ? receivers : 0;
    config.receiver_processes = threads ? 0 : receivers;
  }
  const std::uint64_t buffers[] = {64, 256, 2048, 1 << 14, 1 << 18};
  config.buffer_size = buffers[std::uniform_int_distribution<int>(0, 4)(random)];
  if (streaming) {
    // Up to four times the ring: many messages are streamed, by several
    // senders to several receivers at once.
    config.max_length = static_cast<std::size_t>(config.buffer_size) * 4;
    config.messages_per_sender =
        static_cast<std::uint64_t>(TestScale()) * (config.buffer_size >= (1 << 14) ? 20 : 100);
  } else {
    const std::size_t lengths[] = {kMessageHeaderSize, 64, 300, 2000};
    config.max_length = lengths[std::uniform_int_distribution<int>(0, 3)(random)];
    config.messages_per_sender = static_cast<std::uint64_t>(TestScale()) * 400;
  }
  return config;
}

TEST(MpmcTest, RandomSplitsOfSmallMessages) {
  std::mt19937_64 random(TestSeed());
  for (int i = 0; i < 6 * TestScale(); ++i) RunConfig(RandomConfig(random, /*streaming=*/false));
}

TEST(MpmcTest, RandomSplitsWithMessagesLargerThanTheRing) {
  std::mt19937_64 random(TestSeed() + 1);
  for (int i = 0; i < 4 * TestScale(); ++i) RunConfig(RandomConfig(random, /*streaming=*/true));
}

TEST(MpmcTest, EightByEightThroughTheSmallestRing) {
  Config config;
  config.sender_threads = kThreadSanitizer ? 8 : 4;
  config.sender_processes = kThreadSanitizer ? 0 : 4;
  config.receiver_threads = kThreadSanitizer ? 8 : 4;
  config.receiver_processes = kThreadSanitizer ? 0 : 4;
  config.buffer_size = 64;
  config.max_length = 200;
  config.messages_per_sender = static_cast<std::uint64_t>(TestScale()) * 200;
  RunConfig(config);
}

}  // namespace
}  // namespace buffered_pipe
