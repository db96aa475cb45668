// A port of the original's static-pipe matrix: object sizes from 4 B to
// 1 KiB, object_count from 1 to 1024,
// - one sender and one receiver, across threads and across fork: every
//   record arrives intact, in order (checked by exact content);
// - many senders and many receivers (1-8 of each, split at random between
//   threads and forked processes): every record is received exactly once and
//   intact, and one sender's records in the order it sent them, across all
//   receivers together (VerifyDeliveries).
// Senders and receivers rotate through every way of sending and receiving
// (copying, in place, blocking, timed, non-blocking).
//
// Sized for seconds in CI; BUFFERED_PIPE_TEST_SCALE=N multiplies the number
// of messages and of random configurations. BUFFERED_PIPE_TEST_SEED replays
// a run.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "buffered_pipe/static_pipe.h"
#include "buffered_pipe/status.h"
#include "gtest/gtest.h"
#include "tests/mpmc_harness.h"
#include "tests/test_support.h"

namespace buffered_pipe {
namespace {

using namespace std::chrono_literals;
using ::buffered_pipe::testing::CheckMessage;
using ::buffered_pipe::testing::Delivery;
using ::buffered_pipe::testing::DeliveryLog;
using ::buffered_pipe::testing::ForkChild;
using ::buffered_pipe::testing::kMessageHeaderSize;
using ::buffered_pipe::testing::MakeMessage;
using ::buffered_pipe::testing::ShortMessage;
using ::buffered_pipe::testing::TestScale;
using ::buffered_pipe::testing::TestSeed;
using ::buffered_pipe::testing::VerifyDeliveries;
using ::buffered_pipe::testing::WaitForChild;

// --- Records -----------------------------------------------------------------------
//
// Records of at least kMessageHeaderSize bytes are test_support messages
// (sender, sequence, length, checksum, pattern). Smaller ones (4 to 19
// bytes) carry a compact header, sender (8 bits) and sequence (24 bits),
// followed by pattern bytes derived from both; the whole record is compared.

constexpr std::size_t kCompactHeaderSize = 4;

std::string MakeRecord(std::uint32_t sender, std::uint64_t sequence, std::size_t size) {
  if (size >= kMessageHeaderSize) return MakeMessage(sender, sequence, size);
  std::string record = ShortMessage((std::uint64_t{sender} << 32) ^ sequence, size);
  const std::uint32_t header = (sender & 0xFFu) | static_cast<std::uint32_t>(sequence << 8);
  std::memcpy(record.data(), &header, kCompactHeaderSize);
  return record;
}

absl::Status CheckRecord(std::string_view record, std::uint32_t* sender, std::uint64_t* sequence) {
  if (record.size() >= kMessageHeaderSize) return CheckMessage(record, sender, sequence);
  if (record.size() < kCompactHeaderSize) return absl::DataLossError("record too short");
  std::uint32_t header = 0;
  std::memcpy(&header, record.data(), kCompactHeaderSize);
  *sender = header & 0xFFu;
  *sequence = header >> 8;
  if (record != MakeRecord(*sender, *sequence, record.size())) {
    return absl::DataLossError(absl::StrCat("record ", *sequence, " of sender ", *sender,
                                            " has wrong content"));
  }
  return absl::OkStatus();
}

// --- Every way of sending and receiving ---------------------------------------------

// Sends `record` the `way`-th way (0..3).
absl::Status SendOneWay(StaticPipeEnd& sender, const std::string& record, std::uint64_t way) {
  switch (way % 4) {
    case 0:
      return sender.send_bytes(record);
    case 1: {
      absl::StatusOr<OutgoingRecord> outgoing = sender.begin_send();
      if (!outgoing.ok()) return outgoing.status();
      std::memcpy(outgoing->bytes().data(), record.data(), record.size());
      return outgoing->commit();
    }
    case 2:
      for (;;) {
        absl::Status status = sender.try_send_bytes(record);
        if (!IsWouldBlock(status)) return status;
        std::this_thread::yield();
      }
    default:
      for (;;) {
        absl::Status status = sender.send_bytes_for(record, 1ms);
        if (!IsTimeout(status)) return status;
      }
  }
}

// Receives one record the `way`-th way (0..3) into `record`.
absl::Status ReceiveOneWay(StaticPipeEnd& receiver, std::string& record, std::uint64_t way) {
  switch (way % 4) {
    case 0: {
      absl::StatusOr<std::string> received = receiver.recv_bytes();
      if (!received.ok()) return received.status();
      record = std::move(*received);
      return absl::OkStatus();
    }
    case 1: {
      record.resize(receiver.object_size());
      return receiver.recv_bytes_into(std::as_writable_bytes(std::span(record.data(), record.size())));
    }
    case 2: {
      absl::StatusOr<IncomingRecord> incoming = receiver.begin_recv();
      if (!incoming.ok()) return incoming.status();
      record.assign(reinterpret_cast<const char*>(incoming->bytes().data()),
                    incoming->bytes().size());
      return absl::OkStatus();
    }
    default:
      for (;;) {
        absl::StatusOr<std::string> received = receiver.try_recv_bytes();
        if (received.ok()) {
          record = std::move(*received);
          return absl::OkStatus();
        }
        if (!IsWouldBlock(received.status())) return received.status();
        std::this_thread::yield();
      }
  }
}

std::pair<StaticPipeEnd, StaticPipeEnd> MakePipe(std::uint64_t object_size,
                                                 std::uint64_t object_count) {
  absl::StatusOr<std::pair<StaticPipeEnd, StaticPipeEnd>> pipe =
      StaticPipe({.object_size = object_size, .object_count = object_count});
  EXPECT_TRUE(pipe.ok()) << pipe.status();
  return std::move(*pipe);
}

// --- One sender, one receiver --------------------------------------------------------

enum class Transport { kThread, kFork };

using SpscParameters = std::tuple<std::size_t, std::uint64_t, Transport>;

class StaticSpscTest : public ::testing::TestWithParam<SpscParameters> {};

TEST_P(StaticSpscTest, RecordsArriveIntactAndInOrder) {
  // Not a structured binding: clang 14 cannot capture one in a lambda.
  const std::size_t object_size = std::get<0>(GetParam());
  const std::uint64_t object_count = std::get<1>(GetParam());
  const Transport transport = std::get<2>(GetParam());
  // Enough records to wrap the ring at least twice.
  const std::uint64_t count =
      static_cast<std::uint64_t>(TestScale()) * std::max<std::uint64_t>(300, 2 * object_count + 37);
  auto [receiver, sender] = MakePipe(object_size, object_count);

  auto send_all = [&, &sender = sender]() -> bool {
    for (std::uint64_t i = 0; i < count; ++i) {
      // Rotate ways with a period (3) prime to the receiver's (4).
      if (!SendOneWay(sender, MakeRecord(0, i, object_size), i % 3).ok()) return false;
    }
    return sender.close().ok();
  };
  pid_t child = -1;
  std::thread writer;
  if (transport == Transport::kFork) {
    child = ForkChild([&, &receiver = receiver] {
      (void)receiver.close();
      return send_all() ? 0 : 1;
    });
    ASSERT_TRUE(sender.close().ok());  // the child's copy is the sender
  } else {
    writer = std::thread([&] { EXPECT_TRUE(send_all()); });
  }
  std::string record;
  for (std::uint64_t i = 0; i < count; ++i) {
    const absl::Status status = ReceiveOneWay(receiver, record, i);
    ASSERT_TRUE(status.ok()) << "record " << i << ": " << status;
    ASSERT_EQ(record, MakeRecord(0, i, object_size)) << "record " << i;
  }
  EXPECT_TRUE(IsEndOfStream(receiver.recv_bytes_for(10s).status()));
  if (writer.joinable()) writer.join();
  if (child > 0) {
    EXPECT_TRUE(WaitForChild(child));
  }
}

std::string SpscName(const ::testing::TestParamInfo<SpscParameters>& info) {
  const auto [object_size, object_count, transport] = info.param;
  return absl::StrCat("size", object_size, "_count", object_count,
                      transport == Transport::kFork ? "_fork" : "_thread");
}

INSTANTIATE_TEST_SUITE_P(
    Matrix, StaticSpscTest,
    ::testing::Combine(::testing::Values<std::size_t>(4, 5, 8, 13, 16, 20, 33, 64, 100, 256, 1000,
                                                      1024),
                       ::testing::Values<std::uint64_t>(1, 2, 3, 16, 1024),
                       ::testing::Values(Transport::kThread, Transport::kFork)),
    SpscName);

// --- Many senders, many receivers ----------------------------------------------------

struct Config {
  testing::Split split;
  std::size_t object_size = 0;
  std::uint64_t object_count = 0;
  std::uint64_t records_per_sender = 0;
};

void RunConfig(const Config& config) {
  SCOPED_TRACE(absl::StrCat(config.object_count, " records of ", config.object_size, " bytes, ",
                            config.records_per_sender, " per sender"));
  auto [receiver, sender] = MakePipe(config.object_size, config.object_count);
  testing::MpmcParties parties;
  // Senders and receivers rotate through every send and receive function.
  parties.send_all = [&, &sender = sender](std::uint32_t id, std::uint64_t count) {
    for (std::uint64_t sequence = 0; sequence < count; ++sequence) {
      if (!SendOneWay(sender, MakeRecord(id, sequence, config.object_size), sequence + id).ok()) {
        return false;
      }
    }
    return true;
  };
  parties.receive_one = [&receiver = receiver](std::string& record, std::uint64_t call) {
    return ReceiveOneWay(receiver, record, call);
  };
  parties.check = CheckRecord;
  parties.close_sending_end = [&sender = sender] { (void)sender.close(); };
  parties.close_receiving_end = [&receiver = receiver] { (void)receiver.close(); };
  testing::RunSplit(config.split, config.records_per_sender, parties);
}

Config RandomConfig(std::mt19937_64& random) {
  Config config;
  config.split = testing::RandomSplit(random);
  const std::size_t sizes[] = {4, 8, 13, 20, 64, 100, 256, 1024};
  config.object_size = sizes[std::uniform_int_distribution<int>(0, 7)(random)];
  const std::uint64_t counts[] = {1, 2, 3, 16, 100, 1024};
  config.object_count = counts[std::uniform_int_distribution<int>(0, 5)(random)];
  config.records_per_sender = static_cast<std::uint64_t>(TestScale()) * 600;
  return config;
}

TEST(StaticMpmcTest, RandomSplitsBetweenThreadsAndProcesses) {
  std::mt19937_64 random(TestSeed());
  for (int i = 0; i < 10 * TestScale(); ++i) RunConfig(RandomConfig(random));
}

TEST(StaticMpmcTest, EightByEightThroughOneSlot) {
  for (std::size_t object_size : {4u, 1024u}) {
    Config config;
    config.split = testing::EightByEight();
    config.object_size = object_size;
    config.object_count = 1;
    config.records_per_sender = static_cast<std::uint64_t>(TestScale()) * 300;
    RunConfig(config);
  }
}

}  // namespace
}  // namespace buffered_pipe
