// Corruption fuzzing: a live pipe's shared memory is untrusted. The input is
// a program: make a named generic or static pipe (simplex or duplex), then
// interleave sends and receives (non-blocking, or with deadlines of a few
// milliseconds; whole, piecewise and in place, some left half done) with
// scribbles over the segment through a second mapping: raw bytes anywhere in
// the header, process table, ring control words, cells and data, or
// plausible values (stamps near head and tail, extents near the frame limit,
// process-table states naming live pids, stream tokens naming our own
// process slot, clock values for the reap rate limit and fork
// reservations). Opening another end by name re-validates the header, and
// `bpipe stat` (tools/bpipe_lib.h) reads the segment as the CLI would.
//
// Checked: every call returns (a value or an error) within its deadline
// plus kSlack; no crash, no out-of-bounds access or undefined behaviour
// (ASan + UBSan under --config=fuzz and --config=asan); the process itself
// never blocks for good.
//
// A watchdog thread aborts the process, naming the call, as soon as a call
// overruns its deadline plus kSlack.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "buffered_pipe/internal/layout.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/static_pipe.h"
#include "buffered_pipe/status.h"
#include "tools/bpipe_lib.h"

namespace buffered_pipe {
namespace {

namespace in = ::buffered_pipe::internal;
using Clock = std::chrono::steady_clock;

// A call may overrun its deadline by this much (scheduling, the
// dead-peer scan) before it counts as a hang.
constexpr auto kSlack = std::chrono::seconds(2);
constexpr int kMaxOps = 48;

// Aborts the process (printing which call) once the call in progress has
// overrun its deadline by kSlack: a call that never returns is a failure
// found at once, not left to libFuzzer's -timeout.
struct Watchdog {
  // Steady-clock nanoseconds after which the current call is stuck; 0: none.
  std::atomic<std::int64_t> stuck_after_ns{0};
  std::atomic<const char*> what{nullptr};
};

Watchdog& GetWatchdog() {
  static Watchdog* watchdog = [] {
    auto* created = new Watchdog();
    std::thread([created] {
      for (;;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        const std::int64_t after = created->stuck_after_ns.load();
        if (after != 0 && Deadline::NowNanoseconds() >= after) {
          std::fprintf(stderr, "segment_corruption_fuzz: %s is stuck past its deadline + %lld ms\n",
                       created->what.load(),
                       static_cast<long long>(
                           std::chrono::duration_cast<std::chrono::milliseconds>(kSlack).count()));
          std::abort();
        }
      }
    }).detach();
    return created;
  }();
  return *watchdog;
}

// Reads the program.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return position_ >= size_; }
  std::uint8_t Byte() { return position_ < size_ ? data_[position_++] : 0; }
  std::uint64_t Bytes(int count) {
    std::uint64_t value = 0;
    for (int i = 0; i < count; ++i) value |= std::uint64_t{Byte()} << (8 * i);
    return value;
  }
  std::uint64_t Below(std::uint64_t bound) {  // in [0, bound)
    return bound == 0 ? 0 : Bytes(bound <= 256 ? 1 : bound <= 65536 ? 2 : 4) % bound;
  }
  std::int64_t Signed(int count) { return static_cast<std::int64_t>(Bytes(count)) - (std::int64_t{1} << (8 * count - 1)); }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t position_ = 0;
};

[[noreturn]] void Hang(const char* what, Clock::duration took) {
  std::fprintf(stderr, "segment_corruption_fuzz: %s took %lld ms (deadline + slack exceeded)\n",
               what, static_cast<long long>(
                         std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  std::abort();
}

// Times one call against its deadline.
class Timed {
 public:
  Timed(const char* what, Clock::duration allowed) : what_(what), allowed_(allowed + kSlack) {
    GetWatchdog().what.store(what);
    GetWatchdog().stuck_after_ns.store(
        Deadline::NowNanoseconds() +
        std::chrono::duration_cast<std::chrono::nanoseconds>(allowed_).count());
  }
  ~Timed() {
    GetWatchdog().stuck_after_ns.store(0);
    const Clock::duration took = Clock::now() - begin_;
    if (took > allowed_) Hang(what_, took);
  }

 private:
  const char* what_;
  Clock::duration allowed_;
  Clock::time_point begin_ = Clock::now();
};

// The segment as a second mapping, and where its regions are (computed at
// creation, before anything was scribbled over).
struct Raw {
  std::byte* base = nullptr;
  std::size_t size = 0;
  int descriptor = -1;
  std::uint64_t table = 0;
  std::uint32_t rings = 0;
  in::RingGeometry geometry[in::kMaxRings] = {};

  in::SegmentHeader& header() const { return *reinterpret_cast<in::SegmentHeader*>(base); }
  in::ProcessSlot& slot(std::uint32_t owner) const {
    return reinterpret_cast<in::ProcessSlot*>(base + table)[owner - 1];
  }
  in::RingControl& control(std::uint32_t ring) const {
    return *reinterpret_cast<in::RingControl*>(base + geometry[ring].control_offset);
  }
  in::Cell* cells(std::uint32_t ring) const {
    return reinterpret_cast<in::Cell*>(base + geometry[ring].cells_offset);
  }
};

bool MapRaw(const std::string& name, Raw* raw) {
  raw->descriptor = shm_open(("/" + name).c_str(), O_RDWR, 0);
  if (raw->descriptor < 0) return false;
  struct stat file {};
  if (fstat(raw->descriptor, &file) != 0) return false;
  raw->size = static_cast<std::size_t>(file.st_size);
  void* address = mmap(nullptr, raw->size, PROT_READ | PROT_WRITE, MAP_SHARED, raw->descriptor, 0);
  if (address == MAP_FAILED) return false;
  raw->base = static_cast<std::byte*>(address);
  raw->table = raw->header().process_table_offset;
  raw->rings = raw->header().ring_count;
  for (std::uint32_t i = 0; i < raw->rings; ++i) raw->geometry[i] = raw->header().rings[i];
  return true;
}

void UnmapRaw(Raw* raw) {
  if (raw->base != nullptr) munmap(raw->base, raw->size);
  if (raw->descriptor >= 0) close(raw->descriptor);
}

// Our own owner id (process slot) in the segment, 0 if none.
std::uint32_t OurOwner(const Raw& raw) {
  for (std::uint32_t owner = 1; owner <= in::kMaxProcessSlotCount; ++owner) {
    const std::uint64_t state = raw.slot(owner).state.load(std::memory_order_relaxed);
    if (in::slot_state::Pid(state) == static_cast<std::uint32_t>(getpid())) return owner;
  }
  return 0;
}

std::uint64_t PlausibleOwner(Input& input, const Raw& raw) {
  switch (input.Byte() % 4) {
    case 0: return 0;
    case 1: return OurOwner(raw);
    case 2: return 1 + input.Below(3);
    default: return input.Byte();
  }
}

std::uint32_t PlausiblePid(Input& input) {
  switch (input.Byte() % 4) {
    case 0: return 0;
    case 1: return 1;  // always alive
    case 2: return static_cast<std::uint32_t>(getpid());
    default: return static_cast<std::uint32_t>(input.Bytes(4));
  }
}

std::int64_t PlausibleTime(Input& input) {
  const std::int64_t now = Deadline::NowNanoseconds();
  switch (input.Byte() % 6) {
    case 0: return 0;
    case 1: return now;
    case 2: return now - input.Signed(5);
    case 3: return std::numeric_limits<std::int64_t>::min() + input.Byte();
    case 4: return std::numeric_limits<std::int64_t>::max() - input.Byte();
    default: return static_cast<std::int64_t>(input.Bytes(8));
  }
}

// Writes one 64-bit (or 32-bit) word somewhere meaningful.
void ScribbleWord(Input& input, const Raw& raw) {
  const std::uint32_t ring = raw.rings == 0 ? 0 : static_cast<std::uint32_t>(input.Below(raw.rings));
  const in::RingGeometry& geometry = raw.geometry[ring];
  in::RingControl& control = raw.control(ring);
  const std::uint64_t head = control.head.load(std::memory_order_relaxed);
  const std::uint64_t tail = control.tail.load(std::memory_order_relaxed);
  switch (input.Byte() % 10) {
    case 0: {  // a stamp near head or tail
      in::Cell& cell = raw.cells(ring)[input.Below(geometry.block_count)];
      const std::uint64_t position =
          ((input.Byte() & 1) ? head : tail) + static_cast<std::uint64_t>(input.Signed(1) / 32);
      const std::uint64_t owner = PlausibleOwner(input, raw);
      const auto state = static_cast<in::CellState>(input.Byte() % 8);
      cell.stamp.store(in::stamp::Make(position, static_cast<std::uint32_t>(owner), state),
                       std::memory_order_relaxed);
      break;
    }
    case 1: {  // the stamp of the cell at head or tail exactly
      const std::uint64_t position = (input.Byte() & 1) ? head : tail;
      in::Cell& cell = raw.cells(ring)[position & (geometry.block_count - 1)];
      const auto state = static_cast<in::CellState>(input.Byte() % 8);
      cell.stamp.store(in::stamp::Make(position, static_cast<std::uint32_t>(PlausibleOwner(input, raw)), state),
                       std::memory_order_relaxed);
      break;
    }
    case 2: {  // an extent
      in::Cell& cell = raw.cells(ring)[input.Below(geometry.block_count)];
      const std::uint64_t blocks = input.Below(geometry.max_frame_blocks + 3);
      const auto kind = static_cast<in::FrameKind>(input.Byte() % 4);
      const std::uint64_t bytes = input.Below(blocks * geometry.block_size + 65);
      cell.extent.store((input.Byte() % 8 == 0) ? input.Bytes(8) : in::extent::Make(blocks, kind, bytes),
                        std::memory_order_relaxed);
      break;
    }
    case 3: {  // a position word: head, tail, released, released_hint, locked_frame
      std::atomic<std::uint64_t>* words[] = {&control.head, &control.tail, &control.released,
                                             &control.released_hint, &control.locked_frame};
      std::atomic<std::uint64_t>& word = *words[input.Byte() % 5];
      const std::uint64_t base = input.Byte() & 1 ? word.load() : (input.Byte() & 1 ? head : tail);
      word.store(input.Byte() % 8 == 0 ? input.Bytes(8) : base + static_cast<std::uint64_t>(input.Signed(2)),
                 std::memory_order_relaxed);
      break;
    }
    case 4: {  // a hold: stream writer, stream reader, head lock
      std::atomic<std::uint64_t>* words[] = {&control.stream_writer, &control.stream_reader,
                                             &control.head_lock};
      std::atomic<std::uint64_t>& word = *words[input.Byte() % 3];
      switch (input.Byte() % 4) {
        case 0: word.store(0); break;
        case 1: word.store(in::token::kDiscard); break;
        case 2: word.store(in::token::Make(input.Bytes(2), static_cast<std::uint32_t>(PlausibleOwner(input, raw)))); break;
        default: word.store(input.Bytes(8)); break;
      }
      break;
    }
    case 5: {  // open-end counts and wait lines
      switch (input.Byte() % 4) {
        case 0: control.senders_open.store(static_cast<std::uint32_t>(input.Bytes(1) % 4)); break;
        case 1: control.receivers_open.store(static_cast<std::uint32_t>(input.Bytes(1) % 4)); break;
        case 2: control.data.parked.store(static_cast<std::uint32_t>(input.Bytes(4))); break;
        default: control.space.signal.store(static_cast<std::uint32_t>(input.Bytes(4))); break;
      }
      break;
    }
    case 6: {  // a process slot's state
      in::ProcessSlot& slot = raw.slot(static_cast<std::uint32_t>(1 + input.Below(in::kMaxProcessSlotCount)));
      const auto tag = static_cast<in::SlotTag>(input.Byte() % 6);
      slot.state.store(in::slot_state::Make(static_cast<std::uint32_t>(input.Bytes(3)), tag, PlausiblePid(input)));
      break;
    }
    case 7: {  // a process slot's other words
      in::ProcessSlot& slot = raw.slot(static_cast<std::uint32_t>(1 + input.Below(in::kMaxProcessSlotCount)));
      switch (input.Byte() % 4) {
        case 0: slot.start_time.store(input.Byte() & 1 ? 0 : input.Bytes(8)); break;
        case 1: slot.reserved_at_ns.store(PlausibleTime(input)); break;
        case 2: slot.senders[input.Byte() % in::kMaxRings].store(static_cast<std::uint32_t>(input.Bytes(4))); break;
        default: slot.receivers[input.Byte() % in::kMaxRings].store(static_cast<std::uint32_t>(input.Bytes(4))); break;
      }
      break;
    }
    case 8:  // the reap rate limit: 0 makes the next poll scan the table
      raw.header().last_reap_scan_ns.store(PlausibleTime(input));
      break;
    default:  // a stream header in the data (forged total length or writer token)
      if (geometry.block_size >= sizeof(in::StreamHeader)) {
        std::byte* block = raw.base + geometry.data_offset +
                           (head & (geometry.block_count - 1)) * geometry.block_size;
        in::StreamHeader header{input.Bytes(8), input.Byte() & 1 ? control.stream_writer.load() : input.Bytes(8)};
        std::memcpy(block, &header, sizeof(header));
      }
      break;
  }
}

// Raw bytes anywhere in the segment except the identity words that only
// matter to openers (scribbled separately, see OpenOther).
void ScribbleBytes(Input& input, const Raw& raw) {
  const std::size_t length = 1 + input.Byte() % 16;
  const std::size_t offset = static_cast<std::size_t>(input.Below(raw.size - length));
  for (std::size_t i = 0; i < length; ++i) raw.base[offset + i] = static_cast<std::byte>(input.Byte());
}

// Everything the program manipulates; generic or static.
struct Session {
  bool is_static = false;
  bool duplex = false;
  std::uint64_t buffer = 0;       // generic
  std::uint64_t object_size = 0;  // static
  std::string name;
  PipeEnd generic[2];
  StaticPipeEnd fixed[2];
  std::optional<OutgoingMessage> held_send;
  std::optional<IncomingMessage> held_receive;
  std::optional<OutgoingRecord> held_record;
  std::optional<IncomingRecord> held_incoming;
};

Deadline ShortDeadline(Input& input, Clock::duration* allowed) {
  const std::uint8_t choice = input.Byte() % 4;
  if (choice < 2) {
    *allowed = Clock::duration::zero();
    return Deadline::NonBlocking();
  }
  const auto wait = std::chrono::microseconds(choice == 2 ? 0 : 100 * (1 + input.Byte() % 20));
  *allowed = wait;
  return Deadline::After(wait);
}

// Which end sends and which receives (simplex: second sends, first receives).
int Sender(Session& session, Input& input) { return session.duplex ? input.Byte() & 1 : 1; }
int Receiver(Session& session, Input& input) { return session.duplex ? input.Byte() & 1 : 0; }

void Send(Session& session, Input& input) {
  Clock::duration allowed;
  const int end = Sender(session, input);
  if (session.is_static) {
    std::string record(input.Byte() % 8 == 0 ? input.Below(2 * session.object_size + 1) : session.object_size, 'r');
    const Deadline deadline = ShortDeadline(input, &allowed);
    Timed timed("static send", allowed);
    (void)session.fixed[end].send_bytes_until(record, deadline);
    return;
  }
  const std::string message(input.Below(4 * session.buffer + 1), 'm');
  const Deadline deadline = ShortDeadline(input, &allowed);
  Timed timed("send", allowed);
  (void)session.generic[end].send_bytes_until(message, deadline);
}

void Receive(Session& session, Input& input) {
  Clock::duration allowed;
  const int end = Receiver(session, input);
  const Deadline deadline = ShortDeadline(input, &allowed);
  Timed timed(session.is_static ? "static receive" : "receive", allowed);
  if (session.is_static) {
    if (input.Byte() & 1) {
      std::string record(session.object_size, '\0');
      (void)session.fixed[end].recv_bytes_into(std::as_writable_bytes(std::span(record)), deadline);
    } else {
      (void)session.fixed[end].recv_bytes_until(deadline);
    }
    return;
  }
  std::string message;
  (void)session.generic[end].recv_bytes_into(message, deadline);
}

void BeginSend(Session& session, Input& input) {
  Clock::duration allowed;
  const int end = Sender(session, input);
  if (session.is_static) {
    if (session.held_record) return;
    const Deadline deadline = ShortDeadline(input, &allowed);
    Timed timed("static begin_send", allowed);
    absl::StatusOr<OutgoingRecord> record = session.fixed[end].begin_send(deadline);
    if (record.ok()) session.held_record = std::move(*record);
    return;
  }
  if (session.held_send) return;
  const std::uint64_t size = input.Below(4 * session.buffer + 1);
  const std::uint64_t part = input.Below(size + 1);
  const Deadline deadline = ShortDeadline(input, &allowed);
  Timed timed("begin_send and a partial write", allowed);
  absl::StatusOr<OutgoingMessage> message = session.generic[end].begin_send(size, deadline);
  if (!message.ok()) return;
  // Writing may have to wait for room (the message's deadline applies).
  if (message->write(std::string(static_cast<std::size_t>(part), 'p')).ok()) {
    session.held_send = std::move(*message);
  }
}

void FinishSend(Session& session, Input& input) {
  if (session.held_record) {
    Timed timed("static commit", Clock::duration::zero());
    if (input.Byte() & 1) (void)session.held_record->commit(); else session.held_record->abort();
    session.held_record.reset();
  }
  if (session.held_send) {
    Timed timed("commit", std::chrono::milliseconds(3));
    if (input.Byte() & 1) (void)session.held_send->commit(); else session.held_send->abort();
    session.held_send.reset();
  }
}

void BeginReceive(Session& session, Input& input) {
  Clock::duration allowed;
  const int end = Receiver(session, input);
  const Deadline deadline = ShortDeadline(input, &allowed);
  if (session.is_static) {
    if (session.held_incoming) return;
    Timed timed("static begin_recv", allowed);
    absl::StatusOr<IncomingRecord> record = session.fixed[end].begin_recv(deadline);
    if (record.ok()) session.held_incoming = std::move(*record);
    return;
  }
  if (session.held_receive) return;
  Timed timed("begin_recv and a piece", allowed);
  absl::StatusOr<IncomingMessage> message = session.generic[end].begin_recv(deadline);
  if (!message.ok()) return;
  if (message->next_piece().ok()) session.held_receive = std::move(*message);
}

void FinishReceive(Session& session, Input& input) {
  if (session.held_incoming) {
    session.held_incoming->release();
    session.held_incoming.reset();
  }
  if (session.held_receive) {
    Timed timed("the rest of a message", Clock::duration::zero());
    if (input.Byte() & 1) {
      for (int piece = 0; piece < 1 << 16; ++piece) {
        absl::StatusOr<std::span<const std::byte>> next = session.held_receive->next_piece();
        if (!next.ok() || next->empty()) break;
      }
    }
    session.held_receive.reset();
  }
}

// Opens an end by name (the header is validated again) and uses it once.
void OpenOther(Session& session, Input& input, const Raw& raw) {
  // Two bounded waits the library makes on purpose are skipped: for a
  // creator that has not yet published `magic` (2 s), and for a last user
  // that is removing the name (1 s).
  if (raw.header().magic.load() != in::kSegmentMagic ||
      raw.header().lifecycle.load() == static_cast<std::uint32_t>(in::Lifecycle::kUnlinking)) {
    return;
  }
  const Side side = (input.Byte() & 1) ? Side::kFirst : Side::kSecond;
  Timed timed("open by name and a try call", std::chrono::milliseconds(0));
  if (session.is_static) {
    absl::StatusOr<StaticPipeEnd> end = OpenNamedStaticPipe(session.name, side);
    if (!end.ok()) return;
    if (end->can_recv()) (void)end->try_recv_bytes();
    if (end->can_send()) (void)end->try_send_bytes(std::string(end->object_size(), 'o'));
    return;
  }
  absl::StatusOr<PipeEnd> end = OpenNamedPipe(session.name, side);
  if (!end.ok()) return;
  if (end->can_recv()) (void)end->try_recv_bytes();
  if (end->can_send()) (void)end->try_send_bytes("other");
}

// Header identity and geometry words: only openers read them.
void ScribbleIdentity(Input& input, const Raw& raw) {
  in::SegmentHeader& header = raw.header();
  switch (input.Byte() % 6) {
    case 0: header.magic.store(input.Byte() & 1 ? 0 : input.Bytes(8)); break;
    case 1: header.lifecycle.store(static_cast<std::uint32_t>(input.Byte() % 5)); break;
    case 2: header.ring_count = static_cast<std::uint32_t>(input.Byte() % 4); break;
    case 3: header.total_size = input.Bytes(8); break;
    default: {
      in::RingGeometry& geometry = header.rings[input.Byte() % in::kMaxRings];
      std::uint64_t* words = &geometry.block_size;
      words[input.Byte() % (sizeof(in::RingGeometry) / 8)] =
          input.Byte() & 1 ? input.Bytes(8) : input.Bytes(1) << (input.Byte() % 40);
      break;
    }
  }
}

void RunProgram(Input& input) {
  static int counter = 0;
  Session session;
  session.is_static = input.Byte() & 1;
  session.duplex = input.Byte() & 1;
  session.name = absl::StrCat("bpipe-fuzz-", getpid(), "-", counter++);
  const NamedPipeOptions named{.mode = 0600, .remove_when_unused = true, .replace_stale = false};
  if (session.is_static) {
    const std::uint64_t sizes[] = {8, 20, 64, 100};
    const std::uint64_t counts[] = {1, 2, 3, 4, 16};
    session.object_size = sizes[input.Byte() % 4];
    absl::StatusOr<std::pair<StaticPipeEnd, StaticPipeEnd>> pipe = CreateNamedStaticPipe(
        session.name,
        {.object_size = session.object_size, .object_count = counts[input.Byte() % 5], .duplex = session.duplex},
        named);
    if (!pipe.ok()) return;
    session.fixed[0] = std::move(pipe->first);
    session.fixed[1] = std::move(pipe->second);
  } else {
    const std::uint64_t buffers[] = {64, 128, 256, 1024, 4096};
    session.buffer = buffers[input.Byte() % 5];
    absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe =
        CreateNamedPipe(session.name, {.buffer_size = session.buffer, .duplex = session.duplex}, named);
    if (!pipe.ok()) return;
    session.generic[0] = std::move(pipe->first);
    session.generic[1] = std::move(pipe->second);
  }
  Raw raw;
  const bool mapped = MapRaw(session.name, &raw);
  if (mapped) {
    static const bool trace = std::getenv("BPIPE_FUZZ_TRACE") != nullptr;
    for (int op = 0; op < kMaxOps && !input.empty(); ++op) {
      const int code = input.Byte() % 13;
      if (trace) std::fprintf(stderr, "op %d: %d\n", op, code);
      switch (code) {
        case 0: case 1: Send(session, input); break;
        case 2: case 3: Receive(session, input); break;
        case 4: BeginSend(session, input); break;
        case 5: FinishSend(session, input); break;
        case 6: BeginReceive(session, input); break;
        case 7: FinishReceive(session, input); break;
        case 8: ScribbleWord(input, raw); break;
        case 9: ScribbleBytes(input, raw); break;
        case 10: OpenOther(session, input, raw); break;
        case 11: {  // what `bpipe stat` reads and prints
          Timed timed("bpipe stat", Clock::duration::zero());
          absl::StatusOr<tools::PipeInfo> info = tools::Inspect(session.name);
          if (info.ok()) (void)tools::FormatStat(*info);
          break;
        }
        default:
          if (input.Byte() % 4 == 0) {
            ScribbleIdentity(input, raw);
          } else {
            Timed timed("close", Clock::duration::zero());
            const int end = input.Byte() & 1;
            if (session.is_static) (void)session.fixed[end].close(); else (void)session.generic[end].close();
          }
          break;
      }
    }
  }
  {
    Timed timed("dropping everything", std::chrono::milliseconds(0));
    session.held_send.reset();
    session.held_receive.reset();
    session.held_record.reset();
    session.held_incoming.reset();
    session.generic[0] = PipeEnd();
    session.generic[1] = PipeEnd();
    session.fixed[0] = StaticPipeEnd();
    session.fixed[1] = StaticPipeEnd();
  }
  // Scribbled slots may look alive forever: remove the name ourselves.
  (void)RemoveNamedPipe(session.name);
  UnmapRaw(&raw);
}

}  // namespace
}  // namespace buffered_pipe

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  buffered_pipe::Input input(data, size);
  buffered_pipe::RunProgram(input);
  return 0;
}
