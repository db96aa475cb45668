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

#include "absl/strings/str_cat.h"
#include "buffered_pipe/pipe.h"
#include "gtest/gtest.h"
#include "mpmc_harness.h"
#include "test_support.h"

namespace buffered_pipe {
namespace {

using ::buffered_pipe::testing::kMessageHeaderSize;
using ::buffered_pipe::testing::MakeMessage;
using ::buffered_pipe::testing::MpmcParties;
using ::buffered_pipe::testing::RunSplit;
using ::buffered_pipe::testing::Split;
using ::buffered_pipe::testing::TestScale;
using ::buffered_pipe::testing::TestSeed;

struct Config {
  Split split;
  std::uint64_t buffer_size = 0;
  std::size_t max_length = 0;
  std::uint64_t messages_per_sender = 0;
};

void RunConfig(const Config& config) {
  const std::string description =
      absl::StrCat(config.split.Describe(), ", buffer ", config.buffer_size, ", lengths up to ",
                   config.max_length, ", ", config.messages_per_sender, " per sender");
  SCOPED_TRACE(description);
  std::fprintf(stderr, "config: %s\n", description.c_str());
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = Pipe({.buffer_size = config.buffer_size});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  PipeEnd& receiver = pipe->first;
  PipeEnd& sender = pipe->second;
  MpmcParties parties;
  parties.send_all = [&](std::uint32_t id, std::uint64_t count) {
    // Lengths from a generator seeded by the sender id; receivers check each
    // message against its own header.
    std::mt19937_64 random(TestSeed() ^ (std::uint64_t{id} * 0x9E3779B97F4A7C15ULL));
    std::uniform_int_distribution<std::size_t> length(kMessageHeaderSize, config.max_length);
    for (std::uint64_t sequence = 0; sequence < count; ++sequence) {
      if (!sender.send_bytes(MakeMessage(id, sequence, length(random))).ok()) return false;
    }
    return true;
  };
  parties.receive_one = [&](std::string& message, std::uint64_t) {
    return receiver.recv_bytes_into(message);
  };
  parties.close_sending_end = [&] { (void)sender.close(); };
  parties.close_receiving_end = [&] { (void)receiver.close(); };
  RunSplit(config.split, config.messages_per_sender, parties);
}

Config RandomConfig(std::mt19937_64& random, bool streaming) {
  Config config;
  config.split = testing::RandomSplit(random);
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
  RunConfig({.split = testing::EightByEight(),
             .buffer_size = 64,
             .max_length = 200,
             .messages_per_sender = static_cast<std::uint64_t>(TestScale()) * 200});
}

}  // namespace
}  // namespace buffered_pipe
