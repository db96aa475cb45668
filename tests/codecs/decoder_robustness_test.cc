// Decoders never trust their input: truncated, corrupted, oversized or
// over-long messages give an error (DataLoss), never a crash, a read past the
// message, or an allocation larger than the message could hold. Run under
// --config=asan too: there a huge allocation would abort the test.

#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <new>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "buffered_pipe/codecs/cereal.h"
#include "buffered_pipe/codecs/codec.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/status.h"
#include "gtest/gtest.h"
#include "tests/codecs/codec_cases.h"

namespace buffered_pipe {
namespace {

using ::buffered_pipe::testing::CerealCase;
using ::buffered_pipe::testing::CerealRecord;
using ::buffered_pipe::testing::Note;
using ::buffered_pipe::testing::NoteCodec;
using ::buffered_pipe::testing::PodRecord;

constexpr std::uint64_t kHugeLength = std::uint64_t{1} << 60;

template <typename T>
std::string BytesOf(const T& value) {
  return std::string(reinterpret_cast<const char*>(&value), sizeof value);
}

// A cereal length prefix of 2^60 followed by a few bytes.
std::string HugeLengthPrefix() { return BytesOf(kHugeLength) + std::string(16, 'x'); }

template <typename T>
void ExpectFastDataLoss(const std::string& bytes, const char* what) {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<T> value = DecodeValue<T, CerealCodec>(bytes);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(absl::IsDataLoss(value.status())) << what << ": " << value.status();
  EXPECT_LT(elapsed, std::chrono::milliseconds(500)) << what << " did not fail fast";
}

TEST(CerealDecoderTest, LengthPrefixOfTwoToTheSixtyFailsAtOnceForEveryContainer) {
  const std::string bytes = HugeLengthPrefix();
  ExpectFastDataLoss<std::string>(bytes, "std::string");
  ExpectFastDataLoss<std::u32string>(bytes, "std::u32string");
  ExpectFastDataLoss<std::vector<std::uint64_t>>(bytes, "std::vector<uint64_t>");
  ExpectFastDataLoss<std::vector<char>>(bytes, "std::vector<char>");
  ExpectFastDataLoss<std::vector<bool>>(bytes, "std::vector<bool>");
  ExpectFastDataLoss<std::vector<std::string>>(bytes, "std::vector<std::string>");
  ExpectFastDataLoss<std::vector<std::vector<int>>>(bytes, "std::vector<std::vector<int>>");
  ExpectFastDataLoss<std::deque<int>>(bytes, "std::deque<int>");
  ExpectFastDataLoss<std::list<int>>(bytes, "std::list<int>");
  ExpectFastDataLoss<std::map<std::string, int>>(bytes, "std::map");
  ExpectFastDataLoss<std::unordered_map<int, int>>(bytes, "std::unordered_map");
  ExpectFastDataLoss<std::set<int>>(bytes, "std::set");
  ExpectFastDataLoss<CerealRecord>(BytesOf(std::uint32_t{1}) + BytesOf(std::uint64_t{2}) +
                                       BytesOf(std::uint64_t{3}) + bytes,
                                   "a struct whose string says 2^60");
}

TEST(CerealDecoderTest, LengthJustOverTheBytesLeftIsRejected) {
  // Ten bytes of text announced, nine present.
  std::string bytes = BytesOf(std::uint64_t{10}) + std::string(9, 'a');
  EXPECT_TRUE(absl::IsDataLoss(DecodeValue<std::string, CerealCodec>(bytes).status()));
  bytes += "a";
  absl::StatusOr<std::string> text = DecodeValue<std::string, CerealCodec>(bytes);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, std::string(10, 'a'));
  // Four uint64 announced: 32 bytes needed, 31 present.
  bytes = BytesOf(std::uint64_t{4}) + std::string(31, '\0');
  EXPECT_TRUE(absl::IsDataLoss(DecodeValue<std::vector<std::uint64_t>, CerealCodec>(bytes).status()));
}

// An allocator that remembers the largest allocation it made.
inline std::size_t largest_allocation = 0;
template <typename T>
struct RecordingAllocator {
  using value_type = T;
  RecordingAllocator() = default;
  template <typename U>
  RecordingAllocator(const RecordingAllocator<U>&) {}
  T* allocate(std::size_t count) {
    largest_allocation = std::max(largest_allocation, count * sizeof(T));
    return std::allocator<T>().allocate(count);
  }
  void deallocate(T* pointer, std::size_t count) { std::allocator<T>().deallocate(pointer, count); }
  friend bool operator==(const RecordingAllocator&, const RecordingAllocator&) = default;
};

TEST(CerealDecoderTest, NoAllocationLargerThanTheMessageCouldHold) {
  // A length that passes the element-count bound (one byte per element) but
  // not the byte bound of a vector of 8-byte numbers: nothing is allocated.
  const std::string bytes = BytesOf(std::uint64_t{64}) + std::string(64, '\0');
  largest_allocation = 0;
  absl::StatusOr<std::vector<std::uint64_t, RecordingAllocator<std::uint64_t>>> numbers =
      DecodeValue<std::vector<std::uint64_t, RecordingAllocator<std::uint64_t>>, CerealCodec>(
          bytes);
  EXPECT_TRUE(absl::IsDataLoss(numbers.status())) << numbers.status();
  EXPECT_EQ(largest_allocation, 0u);

  // Strings: at most the bytes left.
  using RecordedString = std::basic_string<char, std::char_traits<char>, RecordingAllocator<char>>;
  largest_allocation = 0;
  EXPECT_TRUE(absl::IsDataLoss(DecodeValue<RecordedString, CerealCodec>(
                                   BytesOf(std::uint64_t{1000}) + std::string(999, 'a'))
                                   .status()));
  EXPECT_EQ(largest_allocation, 0u);

  // Other containers: at most one element per byte left.
  largest_allocation = 0;
  absl::StatusOr<std::vector<std::string, RecordingAllocator<std::string>>> words =
      DecodeValue<std::vector<std::string, RecordingAllocator<std::string>>, CerealCodec>(
          BytesOf(std::uint64_t{64}) + std::string(64, '\0'));
  EXPECT_TRUE(absl::IsDataLoss(words.status())) << words.status();
  EXPECT_LE(largest_allocation, 64 * sizeof(std::string));
}

TEST(CerealDecoderTest, BoolBytesOtherThanZeroOrOneAreRejected) {
  EXPECT_TRUE(absl::IsDataLoss(DecodeValue<bool, CerealCodec>(std::string(1, '\2')).status()));
  absl::StatusOr<bool> value = DecodeValue<bool, CerealCodec>(std::string(1, '\1'));
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_TRUE(*value);
  // Inside a struct (CerealRecord ends with a bool).
  absl::StatusOr<std::string> bytes = EncodeValue<CerealRecord, CerealCodec>(CerealCase::Make(1, 3, 40));
  ASSERT_TRUE(bytes.ok());
  ASSERT_EQ(bytes->back(), '\1');
  bytes->back() = '\7';
  EXPECT_TRUE(absl::IsDataLoss(DecodeValue<CerealRecord, CerealCodec>(*bytes).status()));
}

TEST(CerealDecoderTest, ErrorsNameTheTypeAndTheCodec) {
  absl::StatusOr<CerealRecord> value = DecodeValue<CerealRecord, CerealCodec>(std::string(3, 'x'));
  ASSERT_TRUE(absl::IsDataLoss(value.status()));
  EXPECT_NE(value.status().message().find("CerealRecord"), absl::string_view::npos)
      << value.status();
  EXPECT_NE(value.status().message().find("cereal binary"), absl::string_view::npos)
      << value.status();
}

// A type whose loader throws: the exception is caught and reported.
struct Picky {
  int value = 0;
  template <class Archive>
  void save(Archive& archive) const {
    archive(value);
  }
  template <class Archive>
  void load(Archive& archive) {
    archive(value);
    if (value < 0) throw std::invalid_argument("negative");
  }
};

TEST(CerealDecoderTest, ExceptionsOfUserLoadersBecomeDataLoss) {
  absl::StatusOr<Picky> value = DecodeValue<Picky, CerealCodec>(BytesOf(-1));
  EXPECT_TRUE(absl::IsDataLoss(value.status())) << value.status();
  EXPECT_NE(value.status().message().find("negative"), absl::string_view::npos);
  value = DecodeValue<Picky, CerealCodec>(BytesOf(5));
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->value, 5);
}

TEST(TriviallyCopyableDecoderTest, SizeMustBeExactlySizeofT) {
  const std::string bytes = BytesOf(PodRecord{});
  EXPECT_TRUE(DecodeValue<PodRecord>(bytes).ok());
  for (std::size_t size : {std::size_t{0}, bytes.size() - 1, bytes.size() + 1, 2 * bytes.size()}) {
    std::string other = bytes;
    other.resize(size);
    absl::StatusOr<PodRecord> value = DecodeValue<PodRecord>(other);
    EXPECT_TRUE(absl::IsDataLoss(value.status())) << size << ": " << value.status();
  }
  EXPECT_TRUE(absl::IsDataLoss(DecodeValue<bool>(std::string(1, '\2')).status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeValue<std::uint64_t>(std::string(7, '\0')).status()));
}

struct NotDefaultConstructible {
  explicit NotDefaultConstructible(int value) : value(value) {}
  int value;
};

TEST(TriviallyCopyableDecoderTest, DecodesTypesWithoutADefaultConstructor) {
  absl::StatusOr<NotDefaultConstructible> value = DecodeValue<NotDefaultConstructible>(BytesOf(42));
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->value, 42);
}

TEST(UserCodecDecoderTest, ItsOwnLengthCheckAndTheTrailingByteCheckHold) {
  absl::StatusOr<std::string> bytes = EncodeValue<Note, NoteCodec>(Note{1, 2, "body"});
  ASSERT_TRUE(bytes.ok());
  std::string huge = *bytes;
  std::memcpy(huge.data() + 12, &kHugeLength, sizeof kHugeLength);
  EXPECT_TRUE(absl::IsDataLoss(DecodeValue<Note, NoteCodec>(huge).status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeValue<Note, NoteCodec>(*bytes + "!").status()));
}

// --- Through a pipe ------------------------------------------------------------------

TEST(PipeDecodingTest, AnUndecodableMessageIsConsumedAndReportedThenTheNextArrives) {
  auto pipe = Pipe({.buffer_size = 4096});
  ASSERT_TRUE(pipe.ok());
  auto& receiver = pipe->first;
  auto& sender = pipe->second;
  ASSERT_TRUE(sender.send_bytes(HugeLengthPrefix()).ok());
  ASSERT_TRUE(sender.send(std::vector<std::uint64_t>{1, 2, 3}).ok());
  absl::StatusOr<std::vector<std::uint64_t>> value = receiver.recv<std::vector<std::uint64_t>>();
  EXPECT_TRUE(absl::IsDataLoss(value.status())) << value.status();
  value = receiver.recv<std::vector<std::uint64_t>>();
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, (std::vector<std::uint64_t>{1, 2, 3}));
}

// recv<T> of a plain record receives straight into its result (codec.h,
// ReceiveInPlace): every way it can fail leaves the pipe as it was, and a
// record larger than the ring still arrives whole.
TEST(PipeDecodingTest, APlainRecordReceivedInPlaceFailsCleanlyAndArrivesWhole) {
  struct Block {
    std::uint64_t words[4096];  // 32 KiB: streamed through a 4 KiB ring
  };
  auto pipe = Pipe({.buffer_size = 4096});
  ASSERT_TRUE(pipe.ok());
  auto& receiver = pipe->first;
  auto& sender = pipe->second;
  EXPECT_TRUE(IsWouldBlock(receiver.try_recv<std::uint64_t>().status()));
  EXPECT_TRUE(IsTimeout(receiver.recv_for<std::uint64_t>(std::chrono::milliseconds(1)).status()));
  ASSERT_TRUE(sender.send_bytes("seven b").ok());  // 7 bytes, not 8
  ASSERT_TRUE(sender.send(std::uint64_t{0x1122334455667788}).ok());
  absl::StatusOr<std::uint64_t> value = receiver.recv<std::uint64_t>();
  ASSERT_TRUE(absl::IsDataLoss(value.status())) << value.status();
  EXPECT_NE(value.status().message().find("cannot decode"), std::string::npos) << value.status();
  value = receiver.recv<std::uint64_t>();
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, 0x1122334455667788u);

  auto block = std::make_unique<Block>();
  for (std::uint64_t i = 0; i < 4096; ++i) block->words[i] = i * 0x9e3779b97f4a7c15u;
  std::thread writer([&] { ASSERT_TRUE(sender.send(*block).ok()); });
  absl::StatusOr<Block> received = receiver.recv<Block>();
  writer.join();
  ASSERT_TRUE(received.ok()) << received.status();
  EXPECT_EQ(std::memcmp(received->words, block->words, sizeof(Block)), 0);
}

TEST(PipeDecodingTest, AStreamedMessageWithAHugeLengthFailsWithoutAllocating) {
  // Larger than the ring: decoded while it streams in from another thread.
  auto pipe = Pipe({.buffer_size = 256});
  ASSERT_TRUE(pipe.ok());
  auto& receiver = pipe->first;
  auto& sender = pipe->second;
  std::thread writer([&] {
    ASSERT_TRUE(sender.send_bytes(HugeLengthPrefix() + std::string(4000, 'y')).ok());
    ASSERT_TRUE(sender.send(std::string(5000, 'z')).ok());
  });
  absl::StatusOr<std::vector<std::string>> words = receiver.recv<std::vector<std::string>>();
  EXPECT_TRUE(absl::IsDataLoss(words.status())) << words.status();
  absl::StatusOr<std::string> text = receiver.recv<std::string>();
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, std::string(5000, 'z'));
  writer.join();
}

TEST(PipeDecodingTest, AMessageOfUnknownSizeIsGatheredThenDecoded) {
  auto pipe = Pipe({.buffer_size = 256});
  ASSERT_TRUE(pipe.ok());
  auto& receiver = pipe->first;
  auto& sender = pipe->second;
  const CerealRecord record = CerealCase::Make(4, 4, 3000);
  absl::StatusOr<std::string> bytes = EncodeValue<CerealRecord, CerealCodec>(record);
  ASSERT_TRUE(bytes.ok());
  std::thread writer([&] {
    absl::StatusOr<OutgoingMessage> message = sender.begin_send(kUnknownMessageSize);
    ASSERT_TRUE(message.ok()) << message.status();
    for (std::size_t offset = 0; offset < bytes->size(); offset += 100) {
      ASSERT_TRUE(message->write(std::string_view(*bytes).substr(offset, 100)).ok());
    }
    ASSERT_TRUE(message->commit().ok());
  });
  absl::StatusOr<CerealRecord> received = receiver.recv<CerealRecord>();
  ASSERT_TRUE(received.ok()) << received.status();
  EXPECT_TRUE(*received == record);
  writer.join();
}

TEST(PipeDecodingTest, AStreamAbandonedByItsSenderIsSkipped) {
  auto pipe = Pipe({.buffer_size = 256});
  ASSERT_TRUE(pipe.ok());
  auto& receiver = pipe->first;
  auto& sender = pipe->second;
  std::thread writer([&] {
    {
      // 1000 bytes of a 4000-byte message, then the sender gives up.
      absl::StatusOr<OutgoingMessage> message = sender.begin_send(4000);
      ASSERT_TRUE(message.ok()) << message.status();
      ASSERT_TRUE(message->write(std::string(1000, 'a')).ok());
      message->abort();
    }
    ASSERT_TRUE(sender.send(std::string(700, 'b')).ok());
  });
  absl::StatusOr<std::string> text = receiver.recv<std::string>();
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, std::string(700, 'b'));
  writer.join();
}

}  // namespace
}  // namespace buffered_pipe
