// The frame parser takes bytes from the network: it accepts exactly the
// frames protocol.h describes and rejects everything else.

#include "buffered_pipe/network/internal/protocol.h"

#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "gtest/gtest.h"

namespace buffered_pipe::network_internal {
namespace {

TEST(ProtocolTest, HelloRoundTrips) {
  const Hello hello{.connector_sends = true, .fingerprint = 0x1122334455667788, .codec_id = 9};
  std::optional<Frame> frame = ParseFrame(EncodeHello(hello));
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->kind, FrameKind::kHello);
  EXPECT_EQ(frame->hello.version, kProtocolVersion);
  EXPECT_TRUE(frame->hello.connector_sends);
  EXPECT_EQ(frame->hello.fingerprint, hello.fingerprint);
  EXPECT_EQ(frame->hello.codec_id, hello.codec_id);
}

TEST(ProtocolTest, CreditAndPayloadFramesRoundTrip) {
  std::optional<Frame> credit = ParseFrame(EncodeCredit(std::uint64_t{1} << 33));
  ASSERT_TRUE(credit.has_value());
  EXPECT_EQ(credit->kind, FrameKind::kCredit);
  EXPECT_EQ(credit->credit, std::uint64_t{1} << 33);
  const std::string payload("pay\0load", 8);
  const std::string data_frame = EncodeFrame(FrameKind::kData, payload);
  std::optional<Frame> data = ParseFrame(data_frame);  // views data_frame
  ASSERT_TRUE(data.has_value());
  EXPECT_EQ(data->kind, FrameKind::kData);
  EXPECT_EQ(data->body, payload);
  const std::string empty_frame = EncodeFrame(FrameKind::kReturn);
  std::optional<Frame> empty = ParseFrame(empty_frame);
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->body.empty());
}

TEST(ProtocolTest, MalformedFramesAreRejected) {
  EXPECT_FALSE(ParseFrame("").has_value());
  EXPECT_FALSE(ParseFrame(std::string(1, '\0')).has_value());    // kind 0
  EXPECT_FALSE(ParseFrame(std::string(1, '\x0d')).has_value());  // past the last kind
  std::string hello = EncodeHello(Hello{});
  EXPECT_FALSE(ParseFrame(hello.substr(0, hello.size() - 1)).has_value());  // short
  EXPECT_FALSE(ParseFrame(hello + "x").has_value());                         // long
  hello[1] ^= 1;                                                             // magic
  EXPECT_FALSE(ParseFrame(hello).has_value());
  EXPECT_FALSE(ParseFrame(EncodeCredit(5).substr(0, 5)).has_value());
  EXPECT_FALSE(ParseFrame(EncodeFrame(FrameKind::kArrived, "x")).has_value());
}

TEST(ProtocolTest, RandomBytesNeverCrashTheParser) {
  std::mt19937_64 random(1);
  for (int i = 0; i < 20000; ++i) {
    std::string bytes(random() % 40, '\0');
    for (char& c : bytes) c = static_cast<char>(random() % 16);
    std::optional<Frame> frame = ParseFrame(bytes);
    if (frame.has_value()) {
      EXPECT_EQ(frame->body.size() + 1, bytes.size());
    }
  }
}

}  // namespace
}  // namespace buffered_pipe::network_internal
