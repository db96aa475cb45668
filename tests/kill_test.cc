// Processes killed (SIGKILL) in the middle of their work: survivors never
// hang, no half-written message is ever delivered, and no message of a
// surviving sender is lost. (The randomized crash suite lives in
// tests/crash/; these are the foundation's proofs of the design.)

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "buffered_pipe/pipe.h"
#include "buffered_pipe/status.h"
#include "gtest/gtest.h"
#include "test_support.h"

namespace buffered_pipe {
namespace {

using namespace std::chrono_literals;
using ::buffered_pipe::testing::CheckMessage;
using ::buffered_pipe::testing::Delivery;
using ::buffered_pipe::testing::DeliveryLog;
using ::buffered_pipe::testing::ForkChild;
using ::buffered_pipe::testing::MakeMessage;
using ::buffered_pipe::testing::SharedMemory;
using ::buffered_pipe::testing::VerifyDeliveries;
using ::buffered_pipe::testing::WaitForChild;

using Clock = std::chrono::steady_clock;

void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
}

// A sender streaming messages 100 times the ring is killed mid-message,
// again and again at different points, while another sender keeps sending.
TEST(KillTest, ASenderKilledMidStreamNeverDeliversHalfAMessage) {
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE(round);
    absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = Pipe({.buffer_size = 1024});
    ASSERT_TRUE(pipe.ok());
    PipeEnd& receiver = pipe->first;
    PipeEnd& sender = pipe->second;
    constexpr std::uint32_t kVictim = 0;
    constexpr std::uint32_t kSurvivor = 1;
    constexpr std::uint64_t kSurvivorMessages = 3000;
    const pid_t victim = ForkChild([&] {
      (void)receiver.close();
      for (std::uint64_t sequence = 0;; ++sequence) {
        if (!sender.send_bytes(MakeMessage(kVictim, sequence, 100 * 1024)).ok()) return 1;
      }
    });
    const pid_t survivor = ForkChild([&] {
      (void)receiver.close();
      for (std::uint64_t sequence = 0; sequence < kSurvivorMessages; ++sequence) {
        if (!sender.send_bytes(MakeMessage(kSurvivor, sequence, 20 + sequence % 200)).ok()) return 1;
      }
      return 0;
    });
    ASSERT_TRUE(sender.close().ok());

    std::vector<Delivery> deliveries;
    std::string message;
    std::uint64_t victim_messages = 0;
    Clock::time_point killed_at{};
    bool killed = false;
    absl::Status status;
    for (;;) {
      status = receiver.recv_bytes_into(message, Deadline::After(20s));
      if (!status.ok()) break;
      Delivery delivery{};
      ASSERT_TRUE(CheckMessage(message, &delivery.sender, &delivery.sequence).ok())
          << "a torn or corrupted message was delivered";
      delivery.start_ticket = delivery.end_ticket = deliveries.size();
      deliveries.push_back(delivery);
      if (delivery.sender == kVictim && ++victim_messages == 2 + static_cast<unsigned>(round) && !killed) {
        // The victim is busy streaming its next message: kill it somewhere
        // inside it (a different point each round).
        std::this_thread::sleep_for(std::chrono::microseconds(200 * round));
        KillAndReap(victim);
        killed = true;
        killed_at = Clock::now();
      }
    }
    EXPECT_TRUE(IsEndOfStream(status)) << status;
    EXPECT_TRUE(killed);
    EXPECT_TRUE(WaitForChild(survivor));
    // The victim's delivered messages are a prefix of what it sent, each
    // whole; the survivor's are all there, once each, in order.
    std::uint64_t victim_sent = 0;
    for (const Delivery& delivery : deliveries) {
      if (delivery.sender == kVictim) victim_sent = std::max(victim_sent, delivery.sequence + 1);
    }
    EXPECT_TRUE(VerifyDeliveries(deliveries, {victim_sent, kSurvivorMessages}));
    (void)killed_at;
  }
}

// A receiver killed while taking a streamed message: the sender is not
// stuck, and the other receiver gets every other message.
TEST(KillTest, AReceiverKilledMidStreamLosesOnlyWhatItHeld) {
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = Pipe({.buffer_size = 1024});
  ASSERT_TRUE(pipe.ok());
  PipeEnd& receiver = pipe->first;
  PipeEnd& sender = pipe->second;
  constexpr std::uint64_t kMessages = 400;
  DeliveryLog log(kMessages + 16);
  SharedMemory progress(sizeof(std::atomic<std::uint64_t>));
  auto* victim_received = new (progress.data()) std::atomic<std::uint64_t>(0);
  auto receive_all = [&](std::uint32_t id, bool count_progress) {
    (void)sender.close();
    std::string message;
    for (;;) {
      const std::uint64_t start = log.Ticket();
      const absl::Status status = receiver.recv_bytes_into(message);
      if (IsEndOfStream(status)) return 0;
      if (!status.ok()) return 1;
      Delivery delivery{};
      if (!CheckMessage(message, &delivery.sender, &delivery.sequence).ok()) return 2;
      delivery.receiver = id;
      delivery.start_ticket = start;
      delivery.end_ticket = log.Ticket();
      log.Record(delivery);
      if (count_progress) victim_received->fetch_add(1);
    }
  };
  const pid_t victim = ForkChild([&] { return receive_all(0, true); });
  const pid_t other = ForkChild([&] { return receive_all(1, false); });
  ASSERT_TRUE(receiver.close().ok());

  std::atomic<bool> sent_all{false};
  std::thread killer([&] {
    // Usually in the middle of the stream; if the other receiver took
    // everything first, kill it anyway.
    while (victim_received->load() < 5 && !sent_all) std::this_thread::sleep_for(100us);
    KillAndReap(victim);
  });
  for (std::uint64_t sequence = 0; sequence < kMessages; ++sequence) {
    // Lengths from 2 KiB to 8 KiB: every message streams through the ring.
    const absl::Status status =
        sender.send_bytes_for(MakeMessage(0, sequence, 2048 + (sequence * 97) % 6144), 20s);
    EXPECT_TRUE(status.ok()) << status;
    if (!status.ok()) break;
  }
  sent_all = true;
  killer.join();
  ASSERT_TRUE(sender.close().ok());
  EXPECT_TRUE(WaitForChild(other));
  // At most the one message the victim was taking when it died is missing.
  EXPECT_TRUE(VerifyDeliveries(log.Deliveries(), {kMessages}, /*allowed_losses=*/1));
}

// Survivors blocked on a process that dies return within about a second.
TEST(KillTest, TheLastPeerDyingUnblocksParkedCallers) {
  {
    // The only receiver dies while parked: a sender blocked on a full ring
    // gets a broken pipe.
    absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = Pipe({.buffer_size = 64});
    ASSERT_TRUE(pipe.ok());
    const pid_t receiver_process = ForkChild([&] {
      (void)pipe->second.close();
      pause();  // holds the receiving end, never reads
      return 0;
    });
    ASSERT_TRUE(pipe->first.close().ok());
    ASSERT_TRUE(pipe->second.send_bytes("fills the ring").ok());
    std::thread killer([&] {
      std::this_thread::sleep_for(100ms);
      KillAndReap(receiver_process);
    });
    const Clock::time_point begin = Clock::now();
    EXPECT_TRUE(IsBrokenPipe(pipe->second.send_bytes_for("blocked", 20s)));
    killer.join();
    EXPECT_LT(Clock::now() - begin, 100ms + 1s);
  }
  {
    // The only sender dies: a parked receiver gets end of stream.
    absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = Pipe({.buffer_size = 64});
    ASSERT_TRUE(pipe.ok());
    const pid_t sender_process = ForkChild([&] {
      (void)pipe->first.close();
      pause();
      return 0;
    });
    ASSERT_TRUE(pipe->second.close().ok());
    std::thread killer([&] {
      std::this_thread::sleep_for(100ms);
      KillAndReap(sender_process);
    });
    const Clock::time_point begin = Clock::now();
    EXPECT_TRUE(IsEndOfStream(pipe->first.recv_bytes_for(20s).status()));
    killer.join();
    EXPECT_LT(Clock::now() - begin, 100ms + 1s);
  }
}

}  // namespace
}  // namespace buffered_pipe
