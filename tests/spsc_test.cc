// One sender, one receiver, across threads and across fork (either side in
// the child): a port of the original's matrix of message lengths x buffer
// sizes, including buffers much smaller than the messages. Every message
// must arrive intact and in order.

#include <random>
#include <string>
#include <thread>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/status.h"
#include "gtest/gtest.h"
#include "test_support.h"

namespace buffered_pipe {
namespace {

using ::buffered_pipe::testing::ForkChild;
using ::buffered_pipe::testing::ShortMessage;
using ::buffered_pipe::testing::TestScale;
using ::buffered_pipe::testing::TestSeed;
using ::buffered_pipe::testing::WaitForChild;

enum class Placement { kThreads, kForkedSender, kForkedReceiver };

struct Case {
  std::uint64_t buffer_size;
  std::size_t min_length;
  std::size_t max_length;
  int count;
};

std::string Name(Placement placement) {
  switch (placement) {
    case Placement::kThreads:
      return "threads";
    case Placement::kForkedSender:
      return "forked sender";
    case Placement::kForkedReceiver:
      return "forked receiver";
  }
  return "?";
}

std::vector<std::size_t> Lengths(const Case& test_case) {
  std::mt19937_64 random(TestSeed() ^ test_case.buffer_size ^ (test_case.max_length << 20));
  std::uniform_int_distribution<std::size_t> length(test_case.min_length, test_case.max_length);
  std::vector<std::size_t> lengths(static_cast<std::size_t>(test_case.count));
  for (std::size_t& value : lengths) value = length(random);
  return lengths;
}

bool SendAll(PipeEnd& sender, const std::vector<std::size_t>& lengths) {
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    if (!sender.send_bytes(ShortMessage(i, lengths[i])).ok()) return false;
  }
  return true;
}

// Receives every message, checks content and order, then end of stream.
bool ReceiveAll(PipeEnd& receiver, const std::vector<std::size_t>& lengths) {
  std::string message;
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    if (!receiver.recv_bytes_into(message).ok()) return false;
    if (message != ShortMessage(i, lengths[i])) return false;
  }
  return IsEndOfStream(receiver.recv_bytes_into(message));
}

void RunCase(const Case& test_case, Placement placement) {
  SCOPED_TRACE(absl::StrCat(Name(placement), ", buffer ", test_case.buffer_size, ", lengths ",
                            test_case.min_length, "..", test_case.max_length));
  const std::vector<std::size_t> lengths = Lengths(test_case);
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = Pipe({.buffer_size = test_case.buffer_size});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  PipeEnd& receiver = pipe->first;
  PipeEnd& sender = pipe->second;
  switch (placement) {
    case Placement::kThreads: {
      bool sent = false;
      std::thread writer([&] {
        sent = SendAll(sender, lengths);
        (void)sender.close();
      });
      EXPECT_TRUE(ReceiveAll(receiver, lengths));
      writer.join();
      EXPECT_TRUE(sent);
      break;
    }
    case Placement::kForkedSender: {
      const pid_t child = ForkChild([&] {
        (void)receiver.close();
        return SendAll(sender, lengths) ? 0 : 1;
      });
      ASSERT_TRUE(sender.close().ok());
      EXPECT_TRUE(ReceiveAll(receiver, lengths));
      EXPECT_TRUE(WaitForChild(child));
      break;
    }
    case Placement::kForkedReceiver: {
      const pid_t child = ForkChild([&] {
        (void)sender.close();
        return ReceiveAll(receiver, lengths) ? 0 : 1;
      });
      ASSERT_TRUE(receiver.close().ok());
      EXPECT_TRUE(SendAll(sender, lengths));
      ASSERT_TRUE(sender.close().ok());
      EXPECT_TRUE(WaitForChild(child));
      break;
    }
  }
}

class SpscTest : public ::testing::TestWithParam<std::tuple<Case, Placement>> {};

TEST_P(SpscTest, DeliversEveryMessageInOrder) {
  RunCase(std::get<0>(GetParam()), std::get<1>(GetParam()));
}

// The original tested 4-byte messages through 2..20-byte buffers, up to
// 2^10-byte messages through 2^10 buffers and up to 2^16-byte messages
// through 2^18 buffers; our smallest ring is one 64-byte block.
const Case kCases[] = {
    {64, 0, 8, 2000},         {64, 1, 1024, 300},     {128, 4, 4, 2000},
    {192, 1, 300, 500},       {1024, 1, 1024, 1000},  {1024, 1000, 5000, 100},
    {1 << 18, 1, 1 << 16, 300}, {1 << 18, 0, 64, 5000},
};

Case Scaled(Case test_case) {
  test_case.count *= TestScale();
  return test_case;
}

std::vector<Case> ScaledCases() {
  std::vector<Case> cases;
  for (const Case& test_case : kCases) cases.push_back(Scaled(test_case));
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Matrix, SpscTest,
                         ::testing::Combine(::testing::ValuesIn(ScaledCases()),
                                            ::testing::Values(Placement::kThreads,
                                                              Placement::kForkedSender,
                                                              Placement::kForkedReceiver)));

}  // namespace
}  // namespace buffered_pipe
