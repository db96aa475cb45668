// One test template, run for every codec (raw bytes, trivially copyable,
// cereal, a user codec): empty, small and larger-than-ring values, through
// generic and typed ends, across threads and forked processes, with many
// senders and receivers.
//
// Sized for seconds; BUFFERED_PIPE_TEST_SCALE=N multiplies the message
// counts, BUFFERED_PIPE_TEST_SEED replays a run.

#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "buffered_pipe/codecs/cereal.h"
#include "buffered_pipe/codecs/codec.h"
#include "buffered_pipe/codecs/typed_pipe.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/status.h"
#include "gtest/gtest.h"
#include "tests/codecs/codec_cases.h"
#include "tests/test_support.h"

namespace buffered_pipe {
namespace {

using ::buffered_pipe::testing::CerealCase;
using ::buffered_pipe::testing::CheckValue;
using ::buffered_pipe::testing::Delivery;
using ::buffered_pipe::testing::DeliveryLog;
using ::buffered_pipe::testing::ForkChild;
using ::buffered_pipe::testing::Identity;
using ::buffered_pipe::testing::RawBytesCase;
using ::buffered_pipe::testing::TestScale;
using ::buffered_pipe::testing::TestSeed;
using ::buffered_pipe::testing::TriviallyCopyableCase;
using ::buffered_pipe::testing::UniqueName;
using ::buffered_pipe::testing::UserCodecCase;
using ::buffered_pipe::testing::VerifyDeliveries;
using ::buffered_pipe::testing::WaitForChild;

constexpr std::uint64_t kSmallRing = 256;    // bytes: every "large" value is bigger
constexpr std::uint64_t kLargeRing = 64 << 10;
constexpr std::size_t kLargeValue = 4096;    // > kSmallRing

template <typename Case>
class CodecRoundTripTest : public ::testing::Test {
 protected:
  using Value = typename Case::Value;
  using Codec = typename Case::Codec;

  // Sizes for message `sequence`: a mix of empty-ish, small and large.
  static std::size_t SizeFor(std::uint64_t sequence) {
    static constexpr std::size_t kSizes[] = {0, 1, 17, 64, 200, 1000, kLargeValue, 3 * kLargeValue};
    return kSizes[sequence % std::size(kSizes)];
  }

  static ::testing::AssertionResult Received(const absl::StatusOr<Value>& value,
                                            std::uint32_t sender, std::uint64_t sequence) {
    if (!value.ok()) return ::testing::AssertionFailure() << value.status();
    Identity identity;
    if (absl::Status status = CheckValue<Case>(*value, &identity); !status.ok()) {
      return ::testing::AssertionFailure() << status;
    }
    if (identity.sender != sender || identity.sequence != sequence) {
      return ::testing::AssertionFailure()
             << "got value " << identity.sequence << " of sender " << identity.sender
             << ", expected " << sequence << " of " << sender;
    }
    return ::testing::AssertionSuccess();
  }
};

using Cases = ::testing::Types<RawBytesCase, TriviallyCopyableCase, CerealCase, UserCodecCase>;

class CaseNames {
 public:
  template <typename Case>
  static std::string GetName(int) {
    if (std::is_same_v<Case, RawBytesCase>) return "RawBytes";
    if (std::is_same_v<Case, TriviallyCopyableCase>) return "TriviallyCopyable";
    if (std::is_same_v<Case, CerealCase>) return "Cereal";
    return "UserCodec";
  }
};
TYPED_TEST_SUITE(CodecRoundTripTest, Cases, CaseNames);

TYPED_TEST(CodecRoundTripTest, EmptyValueRoundTripsInMemoryAndThroughBothKindsOfEnd) {
  using Value = typename TypeParam::Value;
  using Codec = typename TypeParam::Codec;
  const Value empty = TypeParam::Empty();

  absl::StatusOr<std::string> bytes = EncodeValue<Value, Codec>(empty);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  absl::StatusOr<Value> decoded = DecodeValue<Value, Codec>(*bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(*decoded == empty);

  // Sent and received by one thread: the value must fit in the ring.
  auto generic = Pipe({.buffer_size = kLargeRing});
  ASSERT_TRUE(generic.ok()) << generic.status();
  auto& receiver = generic->first;
  auto& sender = generic->second;
  ASSERT_TRUE((sender.send<Value, Codec>(empty).ok()));
  absl::StatusOr<Value> received = receiver.recv<Value, Codec>();
  ASSERT_TRUE(received.ok()) << received.status();
  EXPECT_TRUE(*received == empty);

  auto typed = TypedPipe<Value, Codec>({.buffer_size = kLargeRing});
  ASSERT_TRUE(typed.ok()) << typed.status();
  auto& typed_receiver = typed->first;
  auto& typed_sender = typed->second;
  ASSERT_TRUE(typed_sender.send(empty).ok());
  received = typed_receiver.recv();
  ASSERT_TRUE(received.ok()) << received.status();
  EXPECT_TRUE(*received == empty);
}

TYPED_TEST(CodecRoundTripTest, SmallValuesArriveInOrderThroughOneThread) {
  using Value = typename TypeParam::Value;
  using Codec = typename TypeParam::Codec;
  auto pipe = TypedPipe<Value, Codec>({.buffer_size = kLargeRing});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  auto& receiver = pipe->first;
  auto& sender = pipe->second;
  for (std::uint64_t sequence = 0; sequence < 50; ++sequence) {
    ASSERT_TRUE(sender.send(TypeParam::Make(7, sequence, sequence % 100)).ok());
  }
  for (std::uint64_t sequence = 0; sequence < 50; ++sequence) {
    EXPECT_TRUE(this->Received(receiver.try_recv(), 7, sequence));
  }
  EXPECT_TRUE(IsWouldBlock(receiver.try_recv().status()));
}

TYPED_TEST(CodecRoundTripTest, LargerThanRingValuesStreamBetweenThreads) {
  using Value = typename TypeParam::Value;
  using Codec = typename TypeParam::Codec;
  auto pipe = Pipe({.buffer_size = kSmallRing});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  auto& receiver = pipe->first;
  auto& sender = pipe->second;
  const std::uint64_t count = 40 * TestScale();
  {
    const Value large = TypeParam::Make(1, 0, kLargeValue);
    absl::StatusOr<std::string> bytes = EncodeValue<Value, Codec>(large);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    ASSERT_GT(bytes->size(), kSmallRing) << "the test needs values larger than the ring";
  }
  std::thread writer([&] {
    for (std::uint64_t sequence = 0; sequence < count; ++sequence) {
      ASSERT_TRUE((sender.send<Value, Codec>(TypeParam::Make(1, sequence, kLargeValue)).ok()));
    }
    ASSERT_TRUE(sender.close().ok());
  });
  for (std::uint64_t sequence = 0; sequence < count; ++sequence) {
    EXPECT_TRUE(this->Received(receiver.recv<Value, Codec>(), 1, sequence));
  }
  EXPECT_TRUE(IsEndOfStream(receiver.recv<Value, Codec>().status()));
  writer.join();
}

TYPED_TEST(CodecRoundTripTest, ManySendersAndReceiversInThreadsReceiveEachValueOnce) {
  using Value = typename TypeParam::Value;
  using Codec = typename TypeParam::Codec;
  constexpr int kSenders = 3;
  constexpr int kReceivers = 3;
  const std::uint64_t per_sender = 60 * TestScale();
  auto pipe = TypedPipe<Value, Codec>({.buffer_size = 1024});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  auto& receiver = pipe->first;
  auto& sender = pipe->second;
  DeliveryLog log(kSenders * per_sender + 16);

  std::vector<std::thread> threads;
  for (int id = 0; id < kSenders; ++id) {
    threads.emplace_back([&, id] {
      for (std::uint64_t sequence = 0; sequence < per_sender; ++sequence) {
        const Value value = TypeParam::Make(id, sequence, this->SizeFor(sequence + id));
        if (!sender.send(value).ok()) log.RecordError();
      }
    });
  }
  for (int id = 0; id < kReceivers; ++id) {
    threads.emplace_back([&, id] {
      for (;;) {
        const std::uint64_t start = log.Ticket();
        absl::StatusOr<Value> value = receiver.recv();
        const std::uint64_t end = log.Ticket();
        if (IsEndOfStream(value.status())) return;
        Identity identity;
        if (!value.ok() || !CheckValue<TypeParam>(*value, &identity).ok()) {
          log.RecordError();
          continue;
        }
        log.Record(Delivery{identity.sender, static_cast<std::uint32_t>(id), identity.sequence,
                            start, end});
      }
    });
  }
  for (int id = 0; id < kSenders; ++id) threads[id].join();
  ASSERT_TRUE(sender.close().ok());  // end of stream for the receivers
  for (std::size_t i = kSenders; i < threads.size(); ++i) threads[i].join();
  EXPECT_EQ(log.errors(), 0u);
  EXPECT_TRUE(VerifyDeliveries(log.Deliveries(), std::vector<std::uint64_t>(kSenders, per_sender)));
}

TYPED_TEST(CodecRoundTripTest, ForkedSenderToThisProcessThroughASmallRing) {
  using Value = typename TypeParam::Value;
  using Codec = typename TypeParam::Codec;
  const std::uint64_t count = 50 * TestScale();
  auto pipe = TypedPipe<Value, Codec>({.buffer_size = kSmallRing});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  auto& receiver = pipe->first;
  auto& sender = pipe->second;
  const pid_t child = ForkChild([&] {
    for (std::uint64_t sequence = 0; sequence < count; ++sequence) {
      if (!sender.send(TypeParam::Make(2, sequence, this->SizeFor(sequence))).ok()) return 1;
    }
    return 0;
  });
  ASSERT_TRUE(sender.close().ok());  // the child's copy stays open until it exits
  for (std::uint64_t sequence = 0; sequence < count; ++sequence) {
    ASSERT_TRUE(this->Received(receiver.recv(), 2, sequence)) << "value " << sequence;
  }
  EXPECT_TRUE(IsEndOfStream(receiver.recv().status()));
  EXPECT_TRUE(WaitForChild(child));
}

// Senders and receivers in forked processes (each single-threaded, so that
// ThreadSanitizer sees every ordering it needs), a small ring so that large
// values stream while others wait.
TYPED_TEST(CodecRoundTripTest, ManySendersAndReceiversInProcessesReceiveEachValueOnce) {
  using Value = typename TypeParam::Value;
  using Codec = typename TypeParam::Codec;
  constexpr int kSenders = 2;
  constexpr int kReceivers = 2;
  const std::uint64_t per_sender = 40 * TestScale();
  auto pipe = TypedPipe<Value, Codec>({.buffer_size = 512});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  auto& receiver = pipe->first;
  auto& sender = pipe->second;
  DeliveryLog log(kSenders * per_sender + 16);

  std::vector<pid_t> children;
  for (int id = 0; id < kSenders; ++id) {
    children.push_back(ForkChild([&, id] {
      (void)receiver.close();
      for (std::uint64_t sequence = 0; sequence < per_sender; ++sequence) {
        if (!sender.send(TypeParam::Make(id, sequence, this->SizeFor(sequence * 3 + id))).ok()) {
          return 1;
        }
      }
      return 0;
    }));
  }
  for (int id = 0; id < kReceivers; ++id) {
    children.push_back(ForkChild([&, id] {
      (void)sender.close();
      for (;;) {
        const std::uint64_t start = log.Ticket();
        absl::StatusOr<Value> value = receiver.recv();
        const std::uint64_t end = log.Ticket();
        if (IsEndOfStream(value.status())) return 0;
        Identity identity;
        if (!value.ok() || !CheckValue<TypeParam>(*value, &identity).ok()) {
          log.RecordError();
          continue;
        }
        log.Record(Delivery{identity.sender, static_cast<std::uint32_t>(id), identity.sequence,
                            start, end});
      }
    }));
  }
  // This process only watches: its ends would otherwise keep the stream open.
  ASSERT_TRUE(sender.close().ok());
  ASSERT_TRUE(receiver.close().ok());
  for (pid_t child : children) EXPECT_TRUE(WaitForChild(child));
  EXPECT_EQ(log.errors(), 0u);
  EXPECT_TRUE(VerifyDeliveries(log.Deliveries(), std::vector<std::uint64_t>(kSenders, per_sender)));
}

TYPED_TEST(CodecRoundTripTest, NamedTypedPipeOpenedByAForkedProcess) {
  using Value = typename TypeParam::Value;
  using Codec = typename TypeParam::Codec;
  const std::string name = UniqueName("codec-named");
  auto pipe = CreateTypedNamedPipe<Value, Codec>(name, {.buffer_size = 1024});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  auto& receiver = pipe->first;
  auto& creator_sender = pipe->second;
  const pid_t child = ForkChild([&] {
    // Open the sending side by name as an unrelated process would, then
    // forget the inherited ends (not before: for a moment there would be no
    // sender at all, which is end of stream for the parent).
    absl::StatusOr<TypedPipeEnd<Value, Codec>> sender =
        OpenTypedNamedPipe<Value, Codec>(name, kSendingSide);
    (void)creator_sender.close();
    (void)receiver.close();
    if (!sender.ok()) return 2;
    for (std::uint64_t sequence = 0; sequence < 20; ++sequence) {
      if (!sender->send(TypeParam::Make(3, sequence, this->SizeFor(sequence))).ok()) return 1;
    }
    return 0;
  });
  ASSERT_TRUE(creator_sender.close().ok());
  for (std::uint64_t sequence = 0; sequence < 20; ++sequence) {
    ASSERT_TRUE(this->Received(receiver.recv_for(std::chrono::seconds(30)), 3, sequence));
  }
  EXPECT_TRUE(WaitForChild(child));
  EXPECT_TRUE(IsEndOfStream(receiver.recv_for(std::chrono::seconds(30)).status()));
}

TYPED_TEST(CodecRoundTripTest, EveryStrictPrefixOfAnEncodingIsRejected) {
  using Value = typename TypeParam::Value;
  using Codec = typename TypeParam::Codec;
  if (!TypeParam::kDetectsTruncation) GTEST_SKIP() << "every prefix of raw bytes is raw bytes";
  for (std::size_t size : {std::size_t{0}, std::size_t{30}, std::size_t{300}}) {
    absl::StatusOr<std::string> bytes = EncodeValue<Value, Codec>(TypeParam::Make(4, 9, size));
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    for (std::size_t length = 0; length < bytes->size(); ++length) {
      absl::StatusOr<Value> value = DecodeValue<Value, Codec>(bytes->substr(0, length));
      ASSERT_FALSE(value.ok()) << "a prefix of " << length << " of " << bytes->size()
                               << " bytes decoded";
      EXPECT_TRUE(absl::IsDataLoss(value.status())) << value.status();
    }
    absl::StatusOr<Value> value = DecodeValue<Value, Codec>(*bytes + "x");
    EXPECT_TRUE(absl::IsDataLoss(value.status())) << "a trailing byte: " << value.status();
  }
}

TYPED_TEST(CodecRoundTripTest, RandomlyCorruptedEncodingsNeverCrash) {
  using Value = typename TypeParam::Value;
  using Codec = typename TypeParam::Codec;
  std::mt19937_64 random(TestSeed());
  absl::StatusOr<std::string> bytes = EncodeValue<Value, Codec>(TypeParam::Make(5, 1, 300));
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  for (int round = 0; round < 2000 * TestScale(); ++round) {
    std::string corrupted = *bytes;
    const int flips = 1 + static_cast<int>(random() % 4);
    for (int flip = 0; flip < flips; ++flip) {
      corrupted[random() % corrupted.size()] ^= static_cast<char>(1 + random() % 255);
    }
    corrupted.resize(random() % (corrupted.size() + 1) + (round % 2 == 0 ? 0 : random() % 8));
    absl::StatusOr<Value> value = DecodeValue<Value, Codec>(corrupted);
    if (!value.ok()) {
      EXPECT_TRUE(absl::IsDataLoss(value.status())) << value.status();
    }
  }
}

}  // namespace
}  // namespace buffered_pipe
