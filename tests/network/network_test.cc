// What only network ends do: the handshake (types, roles, timeouts,
// addresses), the star's round robin, the close handshakes (nothing lost at
// a clean close), and crashes of a sender or a receiver process.

#include "buffered_pipe/network/network_end.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>
#include <memory>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "buffered_pipe/codecs/cereal.h"
#include "buffered_pipe/codecs/codec.h"
#include "buffered_pipe/network/internal/protocol.h"
#include "buffered_pipe/network/internal/zmq_link.h"
#include "buffered_pipe/status.h"
#include "cereal/types/string.hpp"
#include "gtest/gtest.h"
#include "tests/network/transports.h"
#include "tests/test_support.h"

namespace buffered_pipe::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

const NetworkOptions kOptions{.connect_timeout = seconds(20), .close_timeout = seconds(20)};

struct Point {
  std::int32_t x;
  double y;
};

TEST(NetworkHandshakeTest, ATypedConnectorOfAnotherTypeOrCodecIsRefused) {
  absl::StatusOr<NetworkEnd> binder =
      BindTypedNetworkEnd<std::string>("tcp://127.0.0.1:*", NetworkRole::kReceiver, kOptions);
  ASSERT_TRUE(binder.ok()) << binder.status();
  absl::StatusOr<NetworkEnd> other_type =
      ConnectTypedNetworkEnd<Point>(binder->address(), NetworkRole::kSender, kOptions);
  EXPECT_TRUE(absl::IsInvalidArgument(other_type.status())) << other_type.status();
  EXPECT_NE(other_type.status().message().find("another message type"), std::string::npos);
  absl::StatusOr<NetworkEnd> other_codec = ConnectTypedNetworkEnd<std::string, CerealCodec>(
      binder->address(), NetworkRole::kSender, kOptions);
  EXPECT_TRUE(absl::IsInvalidArgument(other_codec.status())) << other_codec.status();
  EXPECT_NE(other_codec.status().message().find("another codec"), std::string::npos);
  absl::StatusOr<NetworkEnd> same =
      ConnectTypedNetworkEnd<std::string>(binder->address(), NetworkRole::kSender, kOptions);
  ASSERT_TRUE(same.ok()) << same.status();
  ASSERT_TRUE(same->send(std::string("typed")).ok());
  absl::StatusOr<std::string> received = binder->recv<std::string>();
  ASSERT_TRUE(received.ok()) << received.status();
  EXPECT_EQ(*received, "typed");
  EXPECT_EQ(binder->peer_count(), 1u);  // the refused ones never became peers
}

TEST(NetworkHandshakeTest, AnUntypedConnectorTakesTheBindersType) {
  absl::StatusOr<NetworkEnd> untyped =
      BindNetworkEnd("tcp://127.0.0.1:*", NetworkRole::kReceiver, kOptions);
  ASSERT_TRUE(untyped.ok());
  absl::StatusOr<NetworkEnd> typed =
      ConnectTypedNetworkEnd<Point>(untyped->address(), NetworkRole::kSender, kOptions);
  EXPECT_TRUE(absl::IsInvalidArgument(typed.status())) << typed.status();

  absl::StatusOr<NetworkEnd> binder =
      BindTypedNetworkEnd<Point>("tcp://127.0.0.1:*", NetworkRole::kReceiver, kOptions);
  ASSERT_TRUE(binder.ok());
  absl::StatusOr<NetworkEnd> connector =
      ConnectNetworkEnd(binder->address(), NetworkRole::kSender, kOptions);
  ASSERT_TRUE(connector.ok()) << connector.status();
  EXPECT_EQ(connector->message_type(), (MessageTypeOf<Point, TriviallyCopyableCodec>()));
  EXPECT_TRUE(absl::IsInvalidArgument(connector->send(std::uint64_t{1})));
  EXPECT_TRUE(connector->send(Point{1, 2}).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(binder->recv<std::uint64_t>().status()));
  absl::StatusOr<Point> point = binder->recv<Point>();
  ASSERT_TRUE(point.ok()) << point.status();
  EXPECT_EQ(point->x, 1);
}

TEST(NetworkHandshakeTest, TwoEndsOfOneRoleAreRefused) {
  absl::StatusOr<NetworkEnd> binder =
      BindNetworkEnd("tcp://127.0.0.1:*", NetworkRole::kSender, kOptions);
  ASSERT_TRUE(binder.ok());
  absl::StatusOr<NetworkEnd> connector =
      ConnectNetworkEnd(binder->address(), NetworkRole::kSender, kOptions);
  EXPECT_TRUE(absl::IsInvalidArgument(connector.status())) << connector.status();
  EXPECT_NE(connector.status().message().find("both ends send"), std::string::npos);
}

TEST(NetworkHandshakeTest, ConnectTimesOutWhenNobodyAnswers) {
  NetworkOptions options = kOptions;
  options.connect_timeout = milliseconds(200);
  const auto start = Clock::now();
  absl::StatusOr<NetworkEnd> end = ConnectNetworkEnd(IpcAddress(), NetworkRole::kSender, options);
  EXPECT_TRUE(IsTimeout(end.status())) << end.status();
  EXPECT_GE(Clock::now() - start, milliseconds(200));
}

TEST(NetworkHandshakeTest, BadAddressesAreErrors) {
  EXPECT_TRUE(absl::IsInvalidArgument(
      BindNetworkEnd("nonsense://x", NetworkRole::kSender, kOptions).status()));
  absl::StatusOr<NetworkEnd> first =
      BindNetworkEnd("tcp://127.0.0.1:*", NetworkRole::kSender, kOptions);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(absl::IsUnavailable(
      BindNetworkEnd(first->address(), NetworkRole::kSender, kOptions).status()));
  NetworkEnd empty;
  EXPECT_TRUE(absl::IsInvalidArgument(empty.send_bytes("x")));
  NetworkOptions no_credit = kOptions;
  no_credit.credit_bytes = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(
      BindNetworkEnd("tcp://127.0.0.1:*", NetworkRole::kReceiver, no_credit).status()));
}

// Receives until end of stream; the sequence numbers, in order of arrival.
std::vector<std::uint64_t> ReceiveAll(NetworkEnd& receiver) {
  std::vector<std::uint64_t> sequences;
  for (;;) {
    absl::StatusOr<std::string> message = receiver.recv_bytes_for(seconds(30));
    if (IsEndOfStream(message.status())) return sequences;
    std::uint32_t sender;
    std::uint64_t sequence;
    if (!message.ok() || !CheckMessage(*message, &sender, &sequence).ok()) {
      ADD_FAILURE() << message.status();
      return sequences;
    }
    sequences.push_back(sequence);
  }
}

TEST(NetworkStarTest, ABindingSenderSpreadsItsMessagesOverItsReceivers) {
  absl::StatusOr<NetworkEnd> sender =
      BindNetworkEnd("tcp://127.0.0.1:*", NetworkRole::kSender, kOptions);
  ASSERT_TRUE(sender.ok());
  constexpr int kReceivers = 3;
  NetworkOptions small = kOptions;
  small.credit_bytes = 2048;  // so that one receiver cannot take them all
  std::vector<NetworkEnd> receivers;
  for (int r = 0; r < kReceivers; ++r) {
    absl::StatusOr<NetworkEnd> receiver =
        ConnectNetworkEnd(sender->address(), NetworkRole::kReceiver, small);
    ASSERT_TRUE(receiver.ok()) << receiver.status();
    receivers.push_back(*std::move(receiver));
  }
  std::vector<std::vector<std::uint64_t>> received(kReceivers);
  std::vector<std::thread> threads;
  for (int r = 0; r < kReceivers; ++r) {
    threads.emplace_back([&, r] { received[r] = ReceiveAll(receivers[r]); });
  }
  const std::uint64_t count = 3000;
  for (std::uint64_t i = 0; i < count; ++i) {
    ASSERT_TRUE(sender->send_bytes(MakeMessage(0, i, 100)).ok());
  }
  ASSERT_TRUE(sender->close().ok());
  for (std::thread& thread : threads) thread.join();
  std::set<std::uint64_t> all;
  for (const std::vector<std::uint64_t>& sequences : received) {
    EXPECT_FALSE(sequences.empty());
    EXPECT_TRUE(std::is_sorted(sequences.begin(), sequences.end()));
    for (std::uint64_t sequence : sequences) EXPECT_TRUE(all.insert(sequence).second) << sequence;
  }
  EXPECT_EQ(all.size(), count);
}

TEST(NetworkCloseTest, AClosingReceiverReturnsWhatItDidNotTake) {
  absl::StatusOr<NetworkEnd> sender =
      BindNetworkEnd("tcp://127.0.0.1:*", NetworkRole::kSender, kOptions);
  ASSERT_TRUE(sender.ok());
  absl::StatusOr<NetworkEnd> idle =
      ConnectNetworkEnd(sender->address(), NetworkRole::kReceiver, kOptions);
  absl::StatusOr<NetworkEnd> busy =
      ConnectNetworkEnd(sender->address(), NetworkRole::kReceiver, kOptions);
  ASSERT_TRUE(idle.ok() && busy.ok());
  const std::uint64_t count = 200;
  for (std::uint64_t i = 0; i < count; ++i) {
    ASSERT_TRUE(sender->send_bytes(MakeMessage(0, i, 64)).ok());
  }
  // The idle receiver holds about half of them, untaken; closing gives them back.
  EXPECT_TRUE(idle->close().ok());
  ASSERT_TRUE(sender->close().ok());
  std::vector<std::uint64_t> sequences = ReceiveAll(*busy);
  std::sort(sequences.begin(), sequences.end());
  ASSERT_EQ(sequences.size(), count);
  for (std::uint64_t i = 0; i < count; ++i) EXPECT_EQ(sequences[i], i);
}

TEST(NetworkCloseTest, ASendersCloseReturnsOnceEverythingArrived) {
  absl::StatusOr<NetworkEnd> receiver =
      BindNetworkEnd("tcp://127.0.0.1:*", NetworkRole::kReceiver, kOptions);
  ASSERT_TRUE(receiver.ok());
  absl::StatusOr<NetworkEnd> sender =
      ConnectNetworkEnd(receiver->address(), NetworkRole::kSender, kOptions);
  ASSERT_TRUE(sender.ok());
  for (std::uint64_t i = 0; i < 50; ++i) {
    ASSERT_TRUE(sender->send_bytes(MakeMessage(0, i, 64)).ok());
  }
  // Nobody has taken anything yet: the messages are in the receiver's hands.
  EXPECT_TRUE(sender->close().ok());
  std::vector<std::uint64_t> sequences = ReceiveAll(*receiver);
  ASSERT_EQ(sequences.size(), 50u);
  for (std::uint64_t i = 0; i < 50; ++i) EXPECT_EQ(sequences[i], i);
}

// A binder that welcomes a sender, grants it credit, sends it garbage and
// then never answers again: a stalled (or hostile) peer.
TEST(NetworkCloseTest, ACloseThatAStalledReceiverDoesNotConfirmSaysSo) {
  using namespace network_internal;
  absl::StatusOr<std::unique_ptr<ZmqLink>> fake =
      ZmqLink::Open("tcp://127.0.0.1:*", LinkOptions{.bind = true});
  ASSERT_TRUE(fake.ok()) << fake.status();
  std::thread answer([&] {
    for (const auto give_up = Clock::now() + seconds(20); Clock::now() < give_up;) {
      std::optional<ZmqLink::Received> hello = (*fake)->TryReceive();
      if (!hello.has_value()) {
        (*fake)->WaitForInput(milliseconds(10));
        continue;
      }
      const std::string identity = EncodeHello(Hello{});
      const std::string credit = EncodeCredit(1 << 20);
      for (const std::string& garbage :
           {std::string(), std::string("\x7f"), std::string("\x05short"), credit.substr(0, 3)}) {
        (void)(*fake)->Send(hello->routing_id, garbage.empty() ? '\0' : garbage[0],
                            garbage.empty() ? "" : std::string_view(garbage).substr(1));
      }
      (void)(*fake)->Send(hello->routing_id, static_cast<char>(FrameKind::kWelcome), identity);
      (void)(*fake)->Send(hello->routing_id, credit[0], std::string_view(credit).substr(1));
      return;
    }
  });
  NetworkOptions impatient = kOptions;
  impatient.close_timeout = milliseconds(200);
  absl::StatusOr<NetworkEnd> sender =
      ConnectNetworkEnd((*fake)->address(), NetworkRole::kSender, impatient);
  answer.join();
  ASSERT_TRUE(sender.ok()) << sender.status();
  ASSERT_TRUE(sender->send_bytes_for("never confirmed", seconds(10)).ok());
  const auto start = Clock::now();
  EXPECT_TRUE(IsTimeout(sender->close())) << "a close that loses track must not be silent";
  EXPECT_LT(Clock::now() - start, seconds(5 * TimeScale()));
}

// --- Crashes: children are forked before this process makes any end (a
// ZeroMQ context must not cross fork()); they connect, retrying until the
// parent has bound.

TEST(NetworkCrashTest, AKilledSenderEndsTheStreamWithWholeMessagesInOrder) {
  const std::string address = IpcAddress();
  const pid_t child = ForkChild([&] {
    absl::StatusOr<NetworkEnd> sender = ConnectNetworkEnd(address, NetworkRole::kSender, kOptions);
    if (!sender.ok()) return 1;
    for (std::uint64_t i = 0;; ++i) {
      if (!sender->send_bytes(MakeMessage(0, i, 20 + i % 500)).ok()) return 2;
    }
  });
  absl::StatusOr<NetworkEnd> receiver = BindNetworkEnd(address, NetworkRole::kReceiver, kOptions);
  ASSERT_TRUE(receiver.ok());
  std::vector<std::uint64_t> sequences;
  for (int i = 0; i < 300; ++i) {
    absl::StatusOr<std::string> message = receiver->recv_bytes_for(seconds(30));
    ASSERT_TRUE(message.ok()) << message.status();
    std::uint32_t sender;
    std::uint64_t sequence;
    ASSERT_TRUE(CheckMessage(*message, &sender, &sequence).ok());
    sequences.push_back(sequence);
  }
  kill(child, SIGKILL);
  const auto killed = Clock::now();
  std::vector<std::uint64_t> rest = ReceiveAll(*receiver);
  EXPECT_LT(Clock::now() - killed, seconds(5 * TimeScale())) << "end of stream came late";
  (void)WaitForChild(child, seconds(10));
  sequences.insert(sequences.end(), rest.begin(), rest.end());
  for (std::size_t i = 0; i < sequences.size(); ++i) ASSERT_EQ(sequences[i], i);
}

TEST(NetworkCrashTest, AKilledReceiverLeavesTheOthersServedAndTheLastOneBreaksThePipe) {
  const std::string address = IpcAddress();
  SharedMemory shared(sizeof(std::atomic<std::uint64_t>) * 4096);
  auto* taken = shared.as<std::atomic<std::uint64_t>>();  // [0]: count, then sequences
  const pid_t child = ForkChild([&] {
    absl::StatusOr<NetworkEnd> receiver =
        ConnectNetworkEnd(address, NetworkRole::kReceiver, kOptions);
    if (!receiver.ok()) return 1;
    for (;;) {
      absl::StatusOr<std::string> message = receiver->recv_bytes();
      std::uint32_t sender;
      std::uint64_t sequence;
      if (!message.ok() || !CheckMessage(*message, &sender, &sequence).ok()) return 2;
      const std::uint64_t index = taken[0].load() + 1;
      if (index < 4096) taken[index].store(sequence);
      taken[0].store(index);  // release/seq_cst: the parent reads it after kill
      std::this_thread::sleep_for(milliseconds(1));
    }
  });
  absl::StatusOr<NetworkEnd> sender = BindNetworkEnd(address, NetworkRole::kSender, kOptions);
  ASSERT_TRUE(sender.ok());
  absl::StatusOr<NetworkEnd> survivor =
      ConnectNetworkEnd(sender->address(), NetworkRole::kReceiver, kOptions);
  ASSERT_TRUE(survivor.ok());
  const auto give_up = Clock::now() + seconds(20);
  while (sender->peer_count() < 2 && Clock::now() < give_up) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_EQ(sender->peer_count(), 2u);
  std::vector<std::uint64_t> survived;
  std::thread survivor_thread([&] { survived = ReceiveAll(*survivor); });
  std::uint64_t sent = 0;
  for (; taken[0].load() < 20 && Clock::now() < give_up; ++sent) {
    ASSERT_TRUE(sender->send_bytes(MakeMessage(0, sent, 64)).ok());
  }
  kill(child, SIGKILL);
  (void)WaitForChild(child, seconds(10));  // killed: not a success
  for (int i = 0; i < 2000; ++i, ++sent) {
    ASSERT_TRUE(sender->send_bytes_for(MakeMessage(0, sent, 64), seconds(10)).ok());
  }
  ASSERT_TRUE(sender->close().ok());
  survivor_thread.join();
  // The survivor's messages are in order; none was also taken by the child;
  // the messages lost with the child are at most those sent to it.
  EXPECT_TRUE(std::is_sorted(survived.begin(), survived.end()));
  std::set<std::uint64_t> all(survived.begin(), survived.end());
  EXPECT_EQ(all.size(), survived.size());
  const std::uint64_t child_count = std::min<std::uint64_t>(taken[0].load(), 4095);
  for (std::uint64_t i = 1; i <= child_count; ++i) {
    EXPECT_TRUE(all.insert(taken[i].load()).second) << "delivered twice: " << taken[i].load();
  }
  EXPECT_LE(all.size(), sent);
  // Lost: only what was sent to the child and not taken, at most its window.
  const std::uint64_t window_messages = NetworkOptions{}.credit_bytes / (64 + 64) + 1;
  EXPECT_GE(all.size() + window_messages, sent);
}

TEST(NetworkCrashTest, WhenTheLastReceiverIsKilledSendingIsABrokenPipe) {
  const std::string address = IpcAddress();
  const pid_t child = ForkChild([&] {
    absl::StatusOr<NetworkEnd> receiver =
        ConnectNetworkEnd(address, NetworkRole::kReceiver, kOptions);
    if (!receiver.ok()) return 1;
    for (;;) (void)receiver->recv_bytes();
  });
  absl::StatusOr<NetworkEnd> sender = BindNetworkEnd(address, NetworkRole::kSender, kOptions);
  ASSERT_TRUE(sender.ok());
  ASSERT_TRUE(sender->wait_for_peer(seconds(20)).ok());
  ASSERT_TRUE(sender->send_bytes("before").ok());
  kill(child, SIGKILL);
  (void)WaitForChild(child, seconds(10));
  const auto killed = Clock::now();
  absl::Status status;
  while (status.ok() && Clock::now() - killed < seconds(10 * TimeScale())) {
    status = sender->send_bytes_for("after", seconds(1));
  }
  EXPECT_TRUE(IsBrokenPipe(status)) << status;
}

}  // namespace
}  // namespace buffered_pipe::testing
