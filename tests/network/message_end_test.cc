// The pipe's test matrix, run over every transport of transports.h through
// the MessageEnd calls only: exactly-once and per-sender order, end of
// stream, broken pipe, timeouts and flow control, large messages, typed
// values and decoding errors, close while blocked.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "buffered_pipe/codecs/cereal.h"
#include "buffered_pipe/codecs/codec.h"
#include "buffered_pipe/deadline.h"
#include "buffered_pipe/message_end.h"
#include "buffered_pipe/status.h"
#include "cereal/types/string.hpp"
#include "cereal/types/vector.hpp"
#include "gtest/gtest.h"
#include "tests/network/transports.h"
#include "tests/test_support.h"

namespace buffered_pipe::testing {
namespace {

using Clock = std::chrono::steady_clock;

template <typename Transport>
class MessageEndTest : public ::testing::Test {
 protected:
  using End = typename Transport::End;
  static_assert(MessageEnd<End>);
  static EndPair<End> Make(std::uint64_t window) {
    absl::StatusOr<EndPair<End>> ends = Transport::Make(window);
    EXPECT_TRUE(ends.ok()) << ends.status();
    return std::move(*ends);
  }
};

using Transports =
    ::testing::Types<PipeTransport, NetworkTransport<true, false>, NetworkTransport<true, true>,
                     NetworkTransport<false, false>, NetworkTransport<false, true>>;
class TransportNames {
 public:
  template <typename T>
  static std::string GetName(int index) {
    static const char* const kNames[] = {"Pipe", "TcpReceiverBinds", "TcpSenderBinds",
                                         "IpcReceiverBinds", "IpcSenderBinds"};
    return kNames[index];
  }
};
TYPED_TEST_SUITE(MessageEndTest, Transports, TransportNames);

TYPED_TEST(MessageEndTest, EveryMessageOnceAndInEachSendersOrder) {
  auto ends = this->Make(16 * 1024);
  constexpr int kSenders = 3;
  constexpr int kReceivers = 2;
  const std::uint64_t per_sender = 1500 * TestScale();
  DeliveryLog log(kSenders * per_sender + 16);
  std::vector<std::thread> receivers;
  for (int r = 0; r < kReceivers; ++r) {
    receivers.emplace_back([&, r] {
      for (;;) {
        const std::uint64_t start = log.Ticket();
        absl::StatusOr<std::string> message = ends.receiver.recv_bytes();
        const std::uint64_t end = log.Ticket();
        if (IsEndOfStream(message.status())) return;
        std::uint32_t sender;
        std::uint64_t sequence;
        if (!message.ok() || !CheckMessage(*message, &sender, &sequence).ok()) {
          log.RecordError();
          return;
        }
        log.Record({sender, static_cast<std::uint32_t>(r), sequence, start, end});
      }
    });
  }
  std::vector<std::thread> senders;
  for (int s = 0; s < kSenders; ++s) {
    senders.emplace_back([&, s] {
      std::mt19937_64 random(TestSeed() + s);
      for (std::uint64_t i = 0; i < per_sender; ++i) {
        const std::size_t length = kMessageHeaderSize + random() % 300;
        if (!ends.sender.send_bytes(MakeMessage(s, i, length)).ok()) log.RecordError();
      }
    });
  }
  for (std::thread& sender : senders) sender.join();
  ASSERT_TRUE(ends.sender.close().ok());
  for (std::thread& receiver : receivers) receiver.join();
  EXPECT_EQ(log.errors(), 0u);
  EXPECT_TRUE(VerifyDeliveries(log.Deliveries(), std::vector<std::uint64_t>(kSenders, per_sender)));
}

TYPED_TEST(MessageEndTest, EndOfStreamAfterTheLastMessage) {
  auto ends = this->Make(4096);
  for (const char* message : {"one", "", "three"}) {
    ASSERT_TRUE(ends.sender.send_bytes(message).ok());
  }
  ASSERT_TRUE(ends.sender.close().ok());
  for (const char* expected : {"one", "", "three"}) {
    absl::StatusOr<std::string> message = ends.receiver.recv_bytes_for(std::chrono::seconds(10));
    ASSERT_TRUE(message.ok()) << message.status();
    EXPECT_EQ(*message, expected);
  }
  EXPECT_TRUE(IsEndOfStream(ends.receiver.recv_bytes_for(std::chrono::seconds(10)).status()));
  EXPECT_TRUE(IsEndOfStream(ends.receiver.try_recv_bytes().status()));
}

TYPED_TEST(MessageEndTest, ReceivingIntoAStringReusesItAndKeepsItOnErrors) {
  auto ends = this->Make(1 << 16);
  std::string into;
  into.reserve(1000);
  const char* const reserved = into.data();
  for (const std::string& message : {std::string(900, 'a'), std::string("short"), std::string()}) {
    ASSERT_TRUE(ends.sender.send_bytes(message).ok());
    ASSERT_TRUE(ends.receiver.recv_bytes_into(into, Deadline::After(std::chrono::seconds(10))).ok());
    EXPECT_EQ(into, message);
    EXPECT_EQ(into.data(), reserved);  // no new allocation: the message fitted
  }
  into = "kept";
  EXPECT_TRUE(IsWouldBlock(ends.receiver.recv_bytes_into(into, Deadline::NonBlocking())));
  EXPECT_EQ(into, "kept");
  ASSERT_TRUE(ends.sender.close().ok());
  EXPECT_TRUE(IsEndOfStream(ends.receiver.recv_bytes_into(into, Deadline::After(std::chrono::seconds(10)))));
  EXPECT_EQ(into, "kept");
}

TYPED_TEST(MessageEndTest, BrokenPipeOnceTheReceiverCloses) {
  auto ends = this->Make(4096);
  ASSERT_TRUE(ends.receiver.close().ok());
  absl::Status status;
  const auto give_up = Clock::now() + std::chrono::seconds(10 * TimeScale());
  // A network sender learns of the close from the close handshake.
  while (status.ok() && Clock::now() < give_up) {
    status = ends.sender.send_bytes_for("x", std::chrono::seconds(1));
  }
  EXPECT_TRUE(IsBrokenPipe(status)) << status;
}

TYPED_TEST(MessageEndTest, TimeoutsAndBoundedBuffering) {
  auto ends = this->Make(4096);
  EXPECT_TRUE(IsWouldBlock(ends.receiver.try_recv_bytes().status()));
  const auto start = Clock::now();
  EXPECT_TRUE(IsTimeout(ends.receiver.recv_bytes_for(std::chrono::milliseconds(30)).status()));
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(30));

  // Nobody receives: the sender fills the window and then waits.
  const std::string message(64, 'm');
  int sent = 0;
  absl::Status status;
  while ((status = ends.sender.try_send_bytes(message)).ok()) ++sent;
  EXPECT_TRUE(IsWouldBlock(status)) << status;
  EXPECT_GE(sent, 1);
  EXPECT_LE(sent, 4096 / 64);
  EXPECT_TRUE(IsTimeout(ends.sender.send_bytes_for(message, std::chrono::milliseconds(30))));

  // Taking them frees the window again.
  for (int i = 0; i < sent; ++i) {
    absl::StatusOr<std::string> received = ends.receiver.recv_bytes_for(std::chrono::seconds(10));
    ASSERT_TRUE(received.ok()) << received.status();
    EXPECT_EQ(*received, message);
  }
  EXPECT_TRUE(ends.sender.send_bytes_for(message, std::chrono::seconds(10)).ok());
}

TYPED_TEST(MessageEndTest, MessagesLargerThanTheWindow) {
  auto ends = this->Make(64 * 1024);
  std::mt19937_64 random(TestSeed());
  std::vector<std::string> messages;
  for (std::size_t size : {std::size_t{3} << 20, std::size_t{0}, std::size_t{200000}}) {
    std::string message(size, '\0');
    for (char& c : message) c = static_cast<char>(random());
    messages.push_back(std::move(message));
  }
  std::thread sender([&] {
    for (const std::string& message : messages) EXPECT_TRUE(ends.sender.send_bytes(message).ok());
  });
  for (const std::string& expected : messages) {
    absl::StatusOr<std::string> message = ends.receiver.recv_bytes_for(std::chrono::seconds(30));
    ASSERT_TRUE(message.ok()) << message.status();
    EXPECT_TRUE(*message == expected) << "a message of " << expected.size() << " bytes differs";
  }
  sender.join();
}

struct Point {
  std::int32_t x;
  double y;
};

TYPED_TEST(MessageEndTest, TypedValuesWithTheSameCodecs) {
  auto ends = this->Make(4096);
  const std::vector<std::string> words = {"alpha", "", "gamma"};
  ASSERT_TRUE(ends.sender.send(Point{7, 2.5}).ok());
  ASSERT_TRUE(ends.sender.send(words).ok());
  ASSERT_TRUE(ends.sender.send(std::string("raw")).ok());
  absl::StatusOr<Point> point = ends.receiver.template recv<Point>();
  ASSERT_TRUE(point.ok()) << point.status();
  EXPECT_EQ(point->x, 7);
  EXPECT_EQ(point->y, 2.5);
  absl::StatusOr<std::vector<std::string>> received =
      ends.receiver.template recv<std::vector<std::string>>();
  ASSERT_TRUE(received.ok()) << received.status();
  EXPECT_EQ(*received, words);
  absl::StatusOr<std::string> raw = ends.receiver.template recv<std::string>();
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_EQ(*raw, "raw");
}

TYPED_TEST(MessageEndTest, UndecodableMessageIsDataLossAndConsumed) {
  auto ends = this->Make(4096);
  ASSERT_TRUE(ends.sender.send_bytes("abc").ok());
  ASSERT_TRUE(ends.sender.send(std::uint64_t{42}).ok());
  EXPECT_TRUE(absl::IsDataLoss(ends.receiver.template recv<std::uint64_t>().status()));
  absl::StatusOr<std::uint64_t> value = ends.receiver.template recv<std::uint64_t>();
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, 42u);
}

TYPED_TEST(MessageEndTest, CloseWakesABlockedReceiver) {
  auto ends = this->Make(4096);
  absl::Status status;
  std::thread receiver([&] { status = ends.receiver.recv_bytes().status(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  (void)ends.receiver.close();
  receiver.join();
  EXPECT_TRUE(IsClosed(status)) << status;
  EXPECT_TRUE(IsClosed(ends.receiver.try_recv_bytes().status()));
}

}  // namespace
}  // namespace buffered_pipe::testing
