// ByteWriter and ByteReader: every byte arrives whatever the write and read
// sizes, across the in-place fast path, frames that wrap at the ring's end,
// and the chunks of streamed messages; errors are sticky and withdraw the
// message.

#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "buffered_pipe/codecs/byte_io.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/status.h"
#include "gtest/gtest.h"
#include "tests/codecs/codec_cases.h"
#include "tests/test_support.h"

namespace buffered_pipe {
namespace {

using ::buffered_pipe::testing::PatternText;
using ::buffered_pipe::testing::TestSeed;

// Writes `bytes` into `out` in pieces of random sizes (0 to 300 bytes).
void WriteInRandomPieces(const std::string& bytes, ByteWriter& out, std::mt19937_64& random) {
  std::size_t offset = 0;
  while (offset < bytes.size()) {
    const std::size_t size = std::min<std::size_t>(random() % 301, bytes.size() - offset);
    out.Write(bytes.data() + offset, size);
    offset += size;
  }
}

TEST(ByteWriterTest, AppendsToAStringAndCounts) {
  std::string target = "prefix:";
  ByteWriter out(target);
  out.Write("abc");
  out.Write(std::string_view());
  out.Write(std::as_bytes(std::span("de", 2)));
  EXPECT_EQ(target, "prefix:abcde");
  EXPECT_EQ(out.bytes_written(), 5u);
  EXPECT_TRUE(out.Finish().ok());

  ByteWriter counter = ByteWriter::Counting();
  counter.Write("12345");
  counter.Write(nullptr, 0);
  EXPECT_EQ(counter.bytes_written(), 5u);
}

class ByteWriterIntoRingTest : public ::testing::TestWithParam<bool> {};

// Messages of every length from 0 to 3000 bytes through a 256-byte ring:
// one frame (wrapping or not) or streamed chunks, written in random pieces.
TEST(ByteWriterTest, ABoundedWriterFillsItsBufferThenOnlyReportsOverflow) {
  std::string buffer = "old contents that are longer than the limit";
  {
    ByteWriter out = ByteWriter::Bounded(buffer, 8);
    out.Write(std::string_view("abc"));
    out.Write(std::string_view("defgh"));  // exactly the limit
    EXPECT_TRUE(out.Finish().ok());
    EXPECT_FALSE(out.overflowed());
    EXPECT_EQ(out.bytes_written(), 8u);
    EXPECT_EQ(buffer.substr(0, 8), "abcdefgh");
  }
  std::string small;
  ByteWriter out = ByteWriter::Bounded(small, 4);
  EXPECT_GE(small.size(), 4u);
  out.Write(std::string_view("abc"));
  out.Write(std::string_view("de"));  // one byte too many
  EXPECT_TRUE(out.overflowed());
  out.Write(std::string_view("x"));  // would fit the byte left: ignored all the same
  EXPECT_TRUE(out.overflowed());
  EXPECT_TRUE(out.Finish().ok()) << "overflow is not an error of the codec";
  EXPECT_EQ(small.substr(0, 3), "abc");
}

TEST_P(ByteWriterIntoRingTest, EveryByteArrivesWhateverTheWriteSizes) {
  const bool announce_size = GetParam();
  auto pipe = Pipe({.buffer_size = 256});
  ASSERT_TRUE(pipe.ok());
  PipeEnd& receiver = pipe->first;
  PipeEnd& sender = pipe->second;
  std::vector<std::string> messages;
  for (std::size_t length = 0; length < 3000; length += 1 + length / 4) {
    messages.push_back(PatternText(1, length, length));
  }
  std::thread writer([&] {
    std::mt19937_64 random(TestSeed());
    for (const std::string& message : messages) {
      const std::uint64_t announced = announce_size ? message.size() : kUnknownMessageSize;
      absl::StatusOr<OutgoingMessage> outgoing = sender.begin_send(announced);
      ASSERT_TRUE(outgoing.ok()) << outgoing.status();
      ByteWriter out(*outgoing, announced);
      WriteInRandomPieces(message, out, random);
      EXPECT_EQ(out.bytes_written(), message.size());
      ASSERT_TRUE(out.Finish().ok()) << out.status();
      ASSERT_TRUE(outgoing->commit().ok());
    }
  });
  std::mt19937_64 random(TestSeed() + 1);
  for (const std::string& message : messages) {
    absl::StatusOr<IncomingMessage> incoming = receiver.begin_recv();
    ASSERT_TRUE(incoming.ok()) << incoming.status();
    ByteReader in(*incoming);
    EXPECT_EQ(in.size(), message.size());
    std::string received(message.size(), '\0');
    std::size_t offset = 0;
    while (offset < received.size()) {
      const std::size_t size = std::min<std::size_t>(random() % 301, received.size() - offset);
      ASSERT_TRUE(in.Read(received.data() + offset, size).ok());
      offset += size;
      EXPECT_EQ(in.remaining(), received.size() - offset);
    }
    EXPECT_TRUE(in.Finish().ok());
    ASSERT_EQ(received, message) << "length " << message.size();
  }
  writer.join();
}

INSTANTIATE_TEST_SUITE_P(AnnouncedOrNot, ByteWriterIntoRingTest, ::testing::Bool());

TEST(ByteWriterTest, WritingMoreOrLessThanAnnouncedWithdrawsTheMessage) {
  auto pipe = Pipe({.buffer_size = 4096});
  ASSERT_TRUE(pipe.ok());
  PipeEnd& receiver = pipe->first;
  PipeEnd& sender = pipe->second;
  {
    absl::StatusOr<OutgoingMessage> outgoing = sender.begin_send(10);
    ASSERT_TRUE(outgoing.ok());
    ByteWriter out(*outgoing, 10);
    out.Write("0123456789");
    out.Write("x");  // one too many
    EXPECT_TRUE(absl::IsInvalidArgument(out.status())) << out.status();
    out.Write("ignored");
    EXPECT_TRUE(absl::IsInvalidArgument(out.Finish()));
  }
  {
    absl::StatusOr<OutgoingMessage> outgoing = sender.begin_send(10);
    ASSERT_TRUE(outgoing.ok());
    ByteWriter out(*outgoing, 10);
    out.Write("01234");
    EXPECT_TRUE(absl::IsInvalidArgument(out.Finish()));
  }
  EXPECT_TRUE(IsWouldBlock(receiver.try_recv_bytes().status()));
}

TEST(ByteReaderTest, ReadsPiecesAndReportsTruncationAndLeftovers) {
  const std::string bytes = "0123456789";
  ByteReader in(bytes);
  EXPECT_EQ(in.remaining(), 10u);
  char two[2];
  ASSERT_TRUE(in.Read(two, 2).ok());
  absl::StatusOr<std::span<const std::byte>> piece = in.ReadPiece(3);
  ASSERT_TRUE(piece.ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(piece->data()), piece->size()), "234");
  EXPECT_TRUE(absl::IsDataLoss(in.Finish()));  // five bytes left
  char six[6];
  EXPECT_TRUE(absl::IsDataLoss(in.Read(six, 6)));
  ByteReader rest(std::string_view(bytes).substr(5));
  ASSERT_TRUE(rest.Read(six, 5).ok());
  EXPECT_TRUE(rest.Finish().ok());
  absl::StatusOr<std::span<const std::byte>> end = rest.ReadPiece(100);
  ASSERT_TRUE(end.ok());
  EXPECT_TRUE(end->empty());
  ByteReader empty{std::string_view()};
  EXPECT_TRUE(empty.Read(nullptr, 0).ok());
  EXPECT_TRUE(empty.Finish().ok());
}

}  // namespace
}  // namespace buffered_pipe
