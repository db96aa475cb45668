// Shared memory is untrusted: minimal cases found by the corruption fuzzer
// (segment_corruption_fuzz.cc) or by reading the code, one per value the
// library reads from a segment and must validate. Each test fails without
// its fix (a hang, or undefined behaviour under --config=asan) and names it.
//
// A DISABLED_ test is a problem found but not fixed (it needs more than a
// local validation fix); run it with --gtest_also_run_disabled_tests.

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <cstring>
#include <future>
#include <limits>
#include <string>
#include <thread>

#include "buffered_pipe/internal/attachment.h"
#include "buffered_pipe/internal/layout.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/status.h"
#include "gtest/gtest.h"
#include "tests/test_support.h"

namespace buffered_pipe {
namespace {

namespace in = ::buffered_pipe::internal;
using namespace std::chrono_literals;
using ::buffered_pipe::testing::ForkChild;
using ::buffered_pipe::testing::UniqueName;
using Clock = std::chrono::steady_clock;

// A second mapping of a named pipe's segment, to forge its contents.
class RawSegment {
 public:
  explicit RawSegment(const std::string& name) {
    descriptor_ = shm_open(("/" + name).c_str(), O_RDWR, 0);
    struct stat file {};
    fstat(descriptor_, &file);
    size_ = static_cast<std::size_t>(file.st_size);
    base_ = static_cast<std::byte*>(
        mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor_, 0));
  }
  ~RawSegment() {
    munmap(base_, size_);
    close(descriptor_);
  }
  bool ok() const { return base_ != MAP_FAILED; }
  in::SegmentHeader& header() const { return *reinterpret_cast<in::SegmentHeader*>(base_); }
  const in::RingGeometry& geometry(int ring = 0) const { return header().rings[ring]; }
  in::RingControl& control(int ring = 0) const {
    return *reinterpret_cast<in::RingControl*>(base_ + geometry(ring).control_offset);
  }
  in::Cell& cell(std::uint64_t position, int ring = 0) const {
    return reinterpret_cast<in::Cell*>(base_ + geometry(ring).cells_offset)
        [position & (geometry(ring).block_count - 1)];
  }
  std::byte* block(std::uint64_t position, int ring = 0) const {
    return base_ + geometry(ring).data_offset +
           (position & (geometry(ring).block_count - 1)) * geometry(ring).block_size;
  }
  in::ProcessSlot& slot(std::uint32_t owner) const {
    return reinterpret_cast<in::ProcessSlot*>(base_ + header().process_table_offset)[owner - 1];
  }

  // Forges a committed frame at head, as a sender would have written it.
  void ForgeFrameAtHead(in::FrameKind kind, const void* payload, std::size_t bytes) const {
    const std::uint64_t head = control().head.load();
    std::memcpy(block(head), payload, bytes);
    const std::uint64_t blocks = (bytes + geometry().block_size - 1) / geometry().block_size;
    cell(head).extent.store(in::extent::Make(blocks == 0 ? 1 : blocks, kind, bytes));
    control().tail.store(head + (blocks == 0 ? 1 : blocks));
    cell(head).stamp.store(in::stamp::Make(head, 0, in::CellState::kCommitted));
  }

 private:
  int descriptor_ = -1;
  std::size_t size_ = 0;
  std::byte* base_ = nullptr;
};

// Runs `call` on a thread; true if it returned within `limit`. If it did
// not, `unstick` is called (so that the thread can be joined) before false
// is returned.
template <typename Call, typename Unstick>
bool ReturnsWithin(Clock::duration limit, Call call, Unstick unstick) {
  std::promise<void> returned;
  std::future<void> done = returned.get_future();
  std::thread thread([&] {
    call();
    returned.set_value();
  });
  const bool in_time = done.wait_for(limit) == std::future_status::ready;
  if (!in_time) {
    while (done.wait_for(10ms) != std::future_status::ready) unstick();
  }
  thread.join();
  return in_time;
}

// A receive without a deadline on `receiver`, which must return within 2 s
// (scaled) on its own; `unstick` (which should remove the forged state) is
// called only if it does not, so that the test fails instead of hanging.
struct BoundedReceive {
  bool in_time = false;
  absl::Status status;
};
template <typename Unstick>
BoundedReceive ReceiveWithoutDeadline(PipeEnd& receiver, Unstick unstick) {
  BoundedReceive result;
  result.in_time = ReturnsWithin(
      2s * ::buffered_pipe::testing::TimeScale(),
      [&] { result.status = receiver.recv_bytes().status(); }, unstick);
  return result;
}

// Fixed: a FIRST chunk's StreamHeader.writer_token was trusted; a token of
// 0 (zero-filled memory) matched the free writer hold (0) for ever, so a
// receive that took such a chunk waited for its next chunk without end,
// whatever its deadline.
TEST(CorruptionTest, AStreamHeaderThatNamesNoWriterIsNotWaitedFor) {
  const std::string name = UniqueName("zero-token");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name, {.buffer_size = 256});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  RawSegment raw(name);
  ASSERT_TRUE(raw.ok());
  const in::StreamHeader header{/*total_bytes=*/1000, /*writer_token=*/0};
  std::byte payload[64] = {};
  std::memcpy(payload, &header, sizeof(header));
  raw.ForgeFrameAtHead(in::FrameKind::kFirst, payload, sizeof(payload));
  ASSERT_EQ(raw.control().stream_writer.load(), 0u);

  absl::Status status;
  EXPECT_TRUE(ReturnsWithin(
      1s, [&] { status = pipe->first.recv_bytes_for(50ms).status(); },
      [&] { raw.control().stream_writer.store(in::token::Make(1, 200)); }))
      << "recv_bytes_for(50 ms) is stuck in a stream no writer holds";
  EXPECT_FALSE(status.ok());
}

// Whether `pid` has a slot of its own in the segment (within 10 s).
bool WaitUntilRegistered(const RawSegment& raw, pid_t pid) {
  const Clock::time_point give_up = Clock::now() + 10s;
  while (Clock::now() < give_up) {
    for (std::uint32_t owner = 1; owner <= in::kMaxProcessSlotCount; ++owner) {
      const std::uint64_t state = raw.slot(owner).state.load();
      if (in::slot_state::Tag(state) == in::SlotTag::kAlive &&
          in::slot_state::Pid(state) == static_cast<std::uint32_t>(pid)) {
        return true;
      }
    }
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

// A receive in the middle of a forged stream (FIRST chunk taken; its writer
// hold names a slot nobody occupies, so it looks live and is never reaped)
// meets `next` in the cell of the following chunk. With no deadline for the
// rest of a stream, any state that makes the receive retry without progress
// is an endless loop; it must be reported as DataLoss instead.
void ExpectReceiveEndsWhenTheNextChunkIs(std::uint64_t stamp_offset, in::CellState state,
                                         std::uint64_t extent) {
  const std::string name = UniqueName("next-chunk");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name, {.buffer_size = 256});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  RawSegment raw(name);
  ASSERT_TRUE(raw.ok());
  const std::uint64_t writer = in::token::Make(7, 200);
  const in::StreamHeader header{/*total_bytes=*/1000, writer};
  std::byte payload[64] = {};
  std::memcpy(payload, &header, sizeof(header));
  const std::uint64_t first = raw.control().head.load();
  raw.control().stream_writer.store(writer);
  raw.ForgeFrameAtHead(in::FrameKind::kFirst, payload, sizeof(payload));
  in::Cell& next = raw.cell(first + 1);
  next.extent.store(extent);
  next.stamp.store(in::stamp::Make(first + 1 + stamp_offset, 0, state));
  raw.control().tail.store(first + 2);

  absl::Status status;
  EXPECT_TRUE(ReturnsWithin(
      1s, [&] { status = pipe->first.recv_bytes_for(50ms).status(); },
      [&] {
        next.stamp.store(0);  // empty, and the writer gone: the stream was cut short
        raw.control().stream_writer.store(0);
      }))
      << "recv_bytes_for(50 ms) loops for ever on the cell after the first chunk";
  EXPECT_FALSE(status.ok());
}

// Fixed: a stamp a lap ahead of head in the cell at head was taken for
// "head moved on meanwhile" and retried; head never moves, so the receive
// retried for ever. If head has not moved, the stamp is corrupt.
TEST(CorruptionTest, AStampAheadOfHeadIsCorruptionNotARetry) {
  ExpectReceiveEndsWhenTheNextChunkIs(/*stamp_offset=*/4, in::CellState::kCommitted,
                                      in::extent::Make(1, in::FrameKind::kLast, 10));
}

// Fixed: a READING (or RELEASED) frame at head makes a receiver help head
// past it by its extent; with an invalid extent head stayed, and the
// receive retried for ever.
TEST(CorruptionTest, AFrameAtHeadWithAnInvalidExtentIsCorruptionNotARetry) {
  ExpectReceiveEndsWhenTheNextChunkIs(0, in::CellState::kReading, in::extent::Make(0, in::FrameKind::kMiddle, 0));
  ExpectReceiveEndsWhenTheNextChunkIs(0, in::CellState::kReleased, in::extent::Make(99, in::FrameKind::kMiddle, 0));
}

// The only receiver is killed while the sender is blocked on a full ring,
// with the segment's reap rate-limit word set to `last_scan`: the sender
// must still find the dead receiver and get a broken pipe.
void ExpectDeadReceiverFoundWith(std::int64_t last_scan) {
  const std::string name = UniqueName("scan-time");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name, {.buffer_size = 64});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  RawSegment raw(name);
  ASSERT_TRUE(raw.ok());
  const pid_t receiver = ForkChild([&] {
    (void)pipe->second.close();
    pause();
    return 0;
  });
  ASSERT_TRUE(pipe->first.close().ok());
  ASSERT_TRUE(pipe->second.send_bytes("fills the ring").ok());
  // Killed only once it runs (has adopted its slot): a child killed before
  // fork() returns in it is another case (fork_window_test.cc).
  ASSERT_TRUE(WaitUntilRegistered(raw, receiver));
  raw.header().last_reap_scan_ns.store(last_scan);
  kill(receiver, SIGKILL);
  waitpid(receiver, nullptr, 0);
  const Clock::time_point begin = Clock::now();
  const absl::Status status = pipe->second.send_bytes_for("blocked", 3s);
  EXPECT_TRUE(IsBrokenPipe(status)) << status;
  EXPECT_LT(Clock::now() - begin, 1s);
}

// Fixed: PollPeers subtracted the segment's last-scan time from the clock:
// signed overflow (undefined; caught by UBSan) for a time far in the past,
// and a time in the future stopped every later scan for dead processes, so
// nobody blocked on a dead peer would ever return.
TEST(CorruptionTest, AReapScanTimeFarInThePastDoesNotOverflow) {
  ExpectDeadReceiverFoundWith(std::numeric_limits<std::int64_t>::min() + 1);
}
TEST(CorruptionTest, AReapScanTimeInTheFutureDoesNotStopTheSearchForDeadPeers) {
  ExpectDeadReceiverFoundWith(std::numeric_limits<std::int64_t>::max() - 1);
}

// Fixed: the age of a fork reservation was the clock minus a time read from
// shared memory: signed overflow (undefined) for a time far in the past,
// and a time in the future kept the reservation alive for ever. Both are
// corruption and count as expired.
TEST(CorruptionTest, AForkReservationTimeOutOfRangeCountsAsExpired) {
  for (const std::int64_t reserved_at :
       {std::numeric_limits<std::int64_t>::min() + 1, std::numeric_limits<std::int64_t>::max() - 1,
        Deadline::NowNanoseconds() + 60'000'000'000}) {
    auto owned = std::make_unique<in::ProcessSlot>();  // heap: over-aligned type
    in::ProcessSlot& slot = *owned;
    slot.state.store(in::slot_state::Make(1, in::SlotTag::kReserved, static_cast<std::uint32_t>(getpid())));
    slot.reserved_at_ns.store(reserved_at);
    EXPECT_FALSE(in::IsSlotOccupantAlive(slot)) << reserved_at;
  }
}

// Fixed: once a receive had taken the FIRST chunk of a streamed message, it
// waited for the rest without a deadline, as long as the writer was alive. A
// sender that stalls half way through a message (stopped, slow, waiting for
// this very receiver, or a process that forged a writer hold) kept
// recv_bytes_for() past its deadline for as long as it liked. The deadline
// now bounds the whole call; the end keeps its place in the stream
// (tests/stream_deadline_test.cc).
TEST(ReceiveDeadlineTest, IsHonouredWhileAStreamedMessageStalls) {
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = Pipe({.buffer_size = 256});
  ASSERT_TRUE(pipe.ok());
  absl::StatusOr<OutgoingMessage> outgoing = pipe->second.begin_send(1000);
  ASSERT_TRUE(outgoing.ok());
  ASSERT_TRUE(outgoing->write(std::string(200, 'x')).ok());  // FIRST chunk committed
  const Clock::time_point begin = Clock::now();
  absl::Status status;
  EXPECT_TRUE(ReturnsWithin(
      1s * ::buffered_pipe::testing::TimeScale(),
      [&] { status = pipe->first.recv_bytes_for(50ms).status(); }, [&] { outgoing->abort(); }))
      << "recv_bytes_for(50 ms) returned only when the sender gave up, after "
      << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin).count()
      << " ms";
  EXPECT_TRUE(IsTimeout(status)) << status;
}

// A forged stream hold names a process slot nobody occupies (so no reap
// will ever release it): a receive WITHOUT a deadline in the middle of that
// stream, and one waiting behind the forged reader hold, return DataLoss
// after a few polls instead of waiting for ever (owner_watch.h).
TEST(CorruptionTest, AStreamHoldOfAFreeSlotIsDataLossNotAnEndlessWait) {
  const std::string name = UniqueName("free-hold");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name, {.buffer_size = 256});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  RawSegment raw(name);
  ASSERT_TRUE(raw.ok());
  const std::uint64_t writer = in::token::Make(7, 200);  // slot 200: free
  const in::StreamHeader header{/*total_bytes=*/1000, writer};
  std::byte payload[64] = {};
  std::memcpy(payload, &header, sizeof(header));
  raw.control().stream_writer.store(writer);
  raw.ForgeFrameAtHead(in::FrameKind::kFirst, payload, sizeof(payload));

  BoundedReceive received =
      ReceiveWithoutDeadline(pipe->first, [&] { raw.control().stream_writer.store(0); });
  EXPECT_TRUE(received.in_time) << "recv_bytes() waits for ever for a writer that cannot exist";
  EXPECT_TRUE(absl::IsDataLoss(received.status)) << received.status;

  // A reader hold of a free slot: a receive behind it.
  raw.control().stream_reader.store(in::token::Make(9, 201));
  raw.ForgeFrameAtHead(in::FrameKind::kFirst, payload, sizeof(payload));
  received = ReceiveWithoutDeadline(pipe->first, [&] { raw.control().stream_reader.store(0); });
  EXPECT_TRUE(received.in_time) << "recv_bytes() waits for ever behind a reader that cannot exist";
  EXPECT_TRUE(absl::IsDataLoss(received.status)) << received.status;
}

// The head lock (layout.h, "Receive") forged for a free slot, with a
// message at head: a receive without a deadline returns DataLoss after a
// few polls, and a non-blocking one says it would block; once the lock is
// free again the message is delivered whole.
TEST(CorruptionTest, AHeadLockOfAFreeSlotIsDataLossNotAnEndlessWait) {
  const std::string name = UniqueName("free-head-lock");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name, {.buffer_size = 256});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  RawSegment raw(name);
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE(pipe->second.send_bytes("behind the lock").ok());
  raw.control().head_lock.store(in::token::Make(1, 202));  // slot 202: free
  EXPECT_TRUE(IsWouldBlock(pipe->first.try_recv_bytes().status()));
  const BoundedReceive received =
      ReceiveWithoutDeadline(pipe->first, [&] { raw.control().head_lock.store(0); });
  EXPECT_TRUE(received.in_time) << "recv_bytes() waits for ever behind a head lock nobody can drop";
  EXPECT_TRUE(absl::IsDataLoss(received.status)) << received.status;
  raw.control().head_lock.store(0);
  absl::StatusOr<std::string> message = pipe->first.recv_bytes();
  ASSERT_TRUE(message.ok()) << message.status();
  EXPECT_EQ(*message, "behind the lock");
}

// Fixed (a known limit until then): a stamp beyond the tail in the cell at
// the tail was taken for "another sender is about to advance the tail" and
// retried for ever by a send without a deadline.
TEST(CorruptionTest, AStampBeyondTheTailIsDataLossForASend) {
  const std::string name = UniqueName("beyond-tail");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name, {.buffer_size = 256});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  RawSegment raw(name);
  ASSERT_TRUE(raw.ok());
  const std::uint64_t tail = raw.control().tail.load();
  raw.cell(tail).stamp.store(in::stamp::Make(tail + 4 * 4, 0, in::CellState::kCommitted));
  absl::Status status;
  EXPECT_TRUE(ReturnsWithin(
      2s * ::buffered_pipe::testing::TimeScale(),
      [&] { status = pipe->second.send_bytes("x"); },
      [&] { raw.cell(tail).stamp.store(0); }))
      << "send_bytes() retries for ever on a stamp beyond the tail";
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;

  // A claim at the tail by a free slot that never advances it.
  raw.cell(tail).stamp.store(in::stamp::Make(tail, 202, in::CellState::kClaimed));
  EXPECT_TRUE(ReturnsWithin(
      2s * ::buffered_pipe::testing::TimeScale(),
      [&] { status = pipe->second.send_bytes("x"); },
      [&] { raw.cell(tail).stamp.store(0); }))
      << "send_bytes() waits for ever for a claimer that cannot exist";
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
}

}  // namespace
}  // namespace buffered_pipe
