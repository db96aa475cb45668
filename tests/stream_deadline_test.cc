// Deadlines in the middle of a streamed message (pipe.h, "Receiving"): a
// receive returns by its deadline even when the sender of a message larger
// than the ring stalls half way, and nothing is lost: the end keeps its place
// in the stream and its next receive resumes the message, whole and in order.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "buffered_pipe/buffered_pipe.h"
#include "buffered_pipe/codecs/cereal.h"
#include "cereal/types/vector.hpp"
#include "gtest/gtest.h"
#include "tests/test_support.h"

namespace buffered_pipe {
namespace {

using namespace std::chrono_literals;
using ::buffered_pipe::testing::ForkChild;
using ::buffered_pipe::testing::MakeMessage;
using ::buffered_pipe::testing::TimeScale;
using ::buffered_pipe::testing::WaitForChild;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kRing = 4096;

std::chrono::milliseconds Elapsed(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since);
}

// A sending process stopped (SIGSTOP) half way through a 256 KiB message.
TEST(StreamDeadlineTest, AReceiveReturnsByItsDeadlineWhileTheSenderIsStoppedAndResumesAfter) {
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = Pipe({.buffer_size = kRing});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  // Named references, not a structured binding: clang 14 cannot capture one.
  PipeEnd& receiver = pipe->first;
  PipeEnd& sender = pipe->second;
  const std::string big = MakeMessage(1, 0, 256 * 1024);
  const std::string after = MakeMessage(1, 1, 100);
  const pid_t child = ForkChild([&] {
    (void)receiver.close();
    if (!sender.send_bytes(big).ok()) return 1;
    return sender.send_bytes(after).ok() ? 0 : 2;
  });
  ASSERT_TRUE(sender.close().ok());

  // Take the first chunk (the sender then blocks on the full ring), then
  // stop the sender in the middle of its message.
  absl::StatusOr<IncomingMessage> first = receiver.begin_recv(Deadline::After(10s));
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->is_streamed());
  absl::StatusOr<std::span<const std::byte>> piece = first->next_piece();
  ASSERT_TRUE(piece.ok()) << piece.status();
  std::string taken(reinterpret_cast<const char*>(piece->data()), piece->size());
  ASSERT_EQ(kill(child, SIGSTOP), 0);

  // The piecewise reader: each timed-out next_piece keeps its place.
  for (int attempt = 0; attempt < 3; ++attempt) {
    for (;;) {
      const Clock::time_point begin = Clock::now();
      piece = first->next_piece(Deadline::After(50ms));
      if (!piece.ok()) {
        EXPECT_TRUE(IsTimeout(piece.status())) << piece.status();
        EXPECT_LT(Elapsed(begin), 50ms + 500ms * TimeScale());
        break;
      }
      ASSERT_FALSE(piece->empty()) << "the message ended while its sender is stopped";
      taken.append(reinterpret_cast<const char*>(piece->data()), piece->size());
    }
  }
  ASSERT_LT(taken.size(), big.size());

  ASSERT_EQ(kill(child, SIGCONT), 0);
  for (;;) {
    piece = first->next_piece(Deadline::After(10s));
    ASSERT_TRUE(piece.ok()) << piece.status();
    if (piece->empty()) break;
    taken.append(reinterpret_cast<const char*>(piece->data()), piece->size());
  }
  EXPECT_EQ(taken, big);
  absl::StatusOr<std::string> next = receiver.recv_bytes_for(10s);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, after);
  EXPECT_TRUE(WaitForChild(child));
}

// The same with the whole-message calls: recv_bytes_for times out, the next
// recv_bytes gets the whole message, then the sender's next message.
TEST(StreamDeadlineTest, ATimedOutRecvBytesIsResumedByTheNextReceiveOfTheEnd) {
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = Pipe({.buffer_size = kRing});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  // Named references, not a structured binding: clang 14 cannot capture one.
  PipeEnd& receiver = pipe->first;
  PipeEnd& sender = pipe->second;
  const std::string big = MakeMessage(2, 0, 200 * 1024);
  const std::string after = MakeMessage(2, 1, 10);
  const pid_t child = ForkChild([&] {
    (void)receiver.close();
    if (!sender.send_bytes(big).ok()) return 1;
    return sender.send_bytes(after).ok() ? 0 : 2;
  });
  ASSERT_TRUE(sender.close().ok());
  // Let the stream begin (the sender fills the ring and blocks), then stop
  // it. (Stopped before it began, the receives time out all the same.)
  std::this_thread::sleep_for(20ms);
  ASSERT_EQ(kill(child, SIGSTOP), 0);

  int timeouts = 0;
  for (int attempt = 0; attempt < 4; ++attempt) {
    const Clock::time_point begin = Clock::now();
    absl::StatusOr<std::string> message = receiver.recv_bytes_for(50ms);
    ASSERT_FALSE(message.ok()) << "a whole message arrived from a stopped sender";
    EXPECT_TRUE(IsTimeout(message.status())) << message.status();
    EXPECT_LT(Elapsed(begin), 50ms + 500ms * TimeScale());
    ++timeouts;
    // try_ (non-blocking) keeps the place too.
    absl::StatusOr<std::string> tried = receiver.try_recv_bytes();
    EXPECT_TRUE(IsWouldBlock(tried.status())) << tried.status();
  }
  EXPECT_EQ(timeouts, 4);
  ASSERT_EQ(kill(child, SIGCONT), 0);
  absl::StatusOr<std::string> message = receiver.recv_bytes_for(10s);
  ASSERT_TRUE(message.ok()) << message.status();
  EXPECT_EQ(message->size(), big.size());
  EXPECT_EQ(*message, big);
  message = receiver.recv_bytes_for(10s);
  ASSERT_TRUE(message.ok()) << message.status();
  EXPECT_EQ(*message, after);
  EXPECT_TRUE(IsEndOfStream(receiver.recv_bytes_for(10s).status()));
  EXPECT_TRUE(WaitForChild(child));
}

// In threads: the piece that times out is in a receive of one thread, the
// resuming receive in another (an end is shared by its threads); a receive
// into a fixed-size buffer resumes too.
TEST(StreamDeadlineTest, AnotherThreadOfTheEndResumesTheMessage) {
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = Pipe({.buffer_size = kRing});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  // Named references, not a structured binding: clang 14 cannot capture one.
  PipeEnd& receiver = pipe->first;
  PipeEnd& sender = pipe->second;
  const std::string big = MakeMessage(3, 0, 64 * 1024);
  absl::StatusOr<OutgoingMessage> out = sender.begin_send(big.size());
  ASSERT_TRUE(out.ok()) << out.status();
  // Half of it: the writer thread blocks once the ring is full, stalls at
  // the half, and goes on when `go` is set.
  std::atomic<bool> go{false};
  std::thread writer([&] {
    ASSERT_TRUE(out->write(std::string_view(big).substr(0, big.size() / 2)).ok());
    while (!go.load()) std::this_thread::sleep_for(1ms);
    ASSERT_TRUE(out->write(std::string_view(big).substr(big.size() / 2)).ok());
    ASSERT_TRUE(out->commit().ok());
  });
  std::string target(big.size(), '\0');
  absl::Status status;
  std::thread first([&] {
    status = receiver.recv_bytes_into(std::as_writable_bytes(std::span(target)),
                                      Deadline::After(100ms));
  });
  first.join();
  EXPECT_TRUE(IsTimeout(status)) << status;
  go.store(true);
  std::string resumed(big.size(), '\0');
  std::thread second([&] {
    status = receiver.recv_bytes_into(std::as_writable_bytes(std::span(resumed)),
                                      Deadline::After(10s));
  });
  second.join();
  writer.join();
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(resumed, big);
}

// Typed receive of a value whose encoding streams: recv_for<T> times out
// half way, recv<T> returns the value.
TEST(StreamDeadlineTest, ATypedReceiveResumesAStreamedValue) {
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = Pipe({.buffer_size = kRing});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  // Named references, not a structured binding: clang 14 cannot capture one.
  PipeEnd& receiver = pipe->first;
  PipeEnd& sender = pipe->second;
  std::vector<std::uint32_t> value(20000);
  for (std::size_t i = 0; i < value.size(); ++i) value[i] = static_cast<std::uint32_t>(i * 7919);
  absl::StatusOr<std::string> encoded = EncodeValue(value);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  absl::StatusOr<OutgoingMessage> out = sender.begin_send(encoded->size());
  ASSERT_TRUE(out.ok()) << out.status();
  std::atomic<bool> go{false};
  std::thread writer([&] {
    const std::string_view bytes(*encoded);
    ASSERT_TRUE(out->write(bytes.substr(0, bytes.size() / 3)).ok());
    while (!go.load()) std::this_thread::sleep_for(1ms);
    ASSERT_TRUE(out->write(bytes.substr(bytes.size() / 3)).ok());
    ASSERT_TRUE(out->commit().ok());
  });
  absl::StatusOr<std::vector<std::uint32_t>> received =
      receiver.recv_for<std::vector<std::uint32_t>>(100ms);
  EXPECT_TRUE(IsTimeout(received.status())) << received.status();
  go.store(true);
  received = receiver.recv_for<std::vector<std::uint32_t>>(10s);
  writer.join();
  ASSERT_TRUE(received.ok()) << received.status();
  EXPECT_EQ(*received, value);
}

// Closing an end that keeps a partial message drops it and frees the
// stream: the pipe's other receivers take the messages after it.
TEST(StreamDeadlineTest, ClosingTheEndDropsItsPartialMessage) {
  const std::string name = ::buffered_pipe::testing::UniqueName("partial-close");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name, {.buffer_size = kRing});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  // Named references, not a structured binding: clang 14 cannot capture one.
  PipeEnd& receiver = pipe->first;
  PipeEnd& sender = pipe->second;
  absl::StatusOr<PipeEnd> other = OpenNamedPipe(name, kReceivingSide);
  ASSERT_TRUE(other.ok()) << other.status();
  const std::string big = MakeMessage(4, 0, 64 * 1024);
  absl::StatusOr<OutgoingMessage> out = sender.begin_send(big.size());
  ASSERT_TRUE(out.ok()) << out.status();
  std::atomic<bool> go{false};
  std::thread writer([&] {
    ASSERT_TRUE(out->write(std::string_view(big).substr(0, big.size() / 2)).ok());
    while (!go.load()) std::this_thread::sleep_for(1ms);
    // Its reader is gone: the rest is dropped by whoever meets it.
    ASSERT_TRUE(out->write(std::string_view(big).substr(big.size() / 2)).ok());
    ASSERT_TRUE(out->commit().ok());
    ASSERT_TRUE(sender.send_bytes("next").ok());
  });
  // Wait until `receiver` has taken the stream's first chunk and timed out.
  absl::Status status;
  for (int attempt = 0; attempt < 100; ++attempt) {
    status = receiver.recv_bytes_for(100ms).status();
    ASSERT_TRUE(IsTimeout(status)) << status;
    absl::StatusOr<std::string> blocked = other->try_recv_bytes();
    ASSERT_FALSE(blocked.ok()) << "a receiver got part of a stream another one holds";
    if (attempt > 0) break;
  }
  ASSERT_TRUE(receiver.close().ok());
  go.store(true);
  absl::StatusOr<std::string> next = other->recv_bytes_for(10s);
  writer.join();
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, "next");
}

}  // namespace
}  // namespace buffered_pipe
