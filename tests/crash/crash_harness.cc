#include "tests/crash/crash_harness.h"

#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <new>
#include <optional>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "buffered_pipe/internal/factory.h"
#include "buffered_pipe/internal/layout.h"
#include "buffered_pipe/internal/segment.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/static_pipe.h"
#include "buffered_pipe/status.h"
#include "tests/test_support.h"

namespace buffered_pipe::crash {
namespace {

using ::buffered_pipe::testing::CheckMessage;
using ::buffered_pipe::testing::Delivery;
using ::buffered_pipe::testing::DeliveryLog;
using ::buffered_pipe::testing::MakeMessage;
using ::buffered_pipe::testing::SharedMemory;
using ::buffered_pipe::testing::UniqueName;
using ::buffered_pipe::testing::VerifyDeliveries;

constexpr int kMaxWorkers = 8;
// Sampling budget of a run that aims for a kill point.
constexpr int kMaxSamples = 3000;
constexpr std::int64_t kMaxSamplingMicros = 600'000;
// A survivor sends at least this many messages after the first kill (or
// after the victim exited on its own), so that its traffic crosses the death.
constexpr std::uint64_t kMessagesAfterKill = 20;
// No sender sends more than this (bounds the delivery log).
constexpr std::uint64_t kMessageCap = 10'000;
constexpr std::size_t kLogCapacity = 1 << 18;
// A survivor's call that takes this long failed to return at all.
constexpr auto kCallDeadline = std::chrono::seconds(20);
constexpr std::chrono::seconds kSurvivorTimeout{40};

std::int64_t NowNs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

std::uint64_t Mix(std::uint64_t value) {
  value += 0x9E3779B97F4A7C15ULL;
  value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9ULL;
  value = (value ^ (value >> 27)) * 0x94D049BB133111EBULL;
  return value ^ (value >> 31);
}

void SleepMicros(std::int64_t micros) {
  if (micros <= 0) return;
  timespec duration{micros / 1'000'000, static_cast<long>((micros % 1'000'000) * 1000)};
  nanosleep(&duration, nullptr);
}

// --- Shared state of one run -------------------------------------------------

struct WorkerShared {
  std::atomic<std::uint64_t> progress;   // calls completed
  std::atomic<std::uint64_t> completed;  // senders: sends that returned OK
  std::atomic<std::int64_t> max_return_ns;
  std::atomic<int> broken_pipe;          // a sender stopped on a broken pipe
  std::atomic<std::int64_t> leave_ns;    // when it began to close its end (and leave)
  std::atomic<int> error_set;
  char error[256];
};

struct RunShared {
  std::atomic<std::int64_t> kill_ns[2];
  // When each death was confirmed (waitpid returned): a killed process is
  // still "alive" (stopped, then exiting) for a moment after kill().
  std::atomic<std::int64_t> dead_ns[2];
  // Set once the first victim is dead (or found to have exited).
  std::atomic<int> first_kill_done;
  WorkerShared workers[kMaxWorkers];
};

// What a worker remembers about its slow calls: [begin, end] on CLOCK_MONOTONIC.
class CallTimes {
 public:
  void Add(std::int64_t begin, std::int64_t end) {
    if (end - begin > 500'000) spans_.emplace_back(begin, end);
  }
  // The longest time from a death to the return of a call that was in
  // progress at that death; -1 if none was.
  std::int64_t MaxReturnAfter(const RunShared& shared) const {
    std::int64_t worst = -1;
    for (const std::atomic<std::int64_t>& kill : shared.kill_ns) {
      const std::int64_t at = kill.load(std::memory_order_acquire);
      if (at == 0) continue;
      for (const auto& [begin, end] : spans_) {
        if (begin <= at && at <= end) worst = std::max(worst, end - at);
      }
    }
    return worst;
  }

 private:
  std::vector<std::pair<std::int64_t, std::int64_t>> spans_;
};

void Fail(WorkerShared& worker, const std::string& text) {
  if (worker.error_set.exchange(1) != 0) return;
  std::snprintf(worker.error, sizeof(worker.error), "%s", text.c_str());
}

std::size_t DrawLength(std::mt19937_64& random, const Scenario& scenario) {
  if (scenario.kind == PipeKind::kStatic) return scenario.object_size;
  return std::uniform_int_distribution<std::size_t>(scenario.min_length, scenario.max_length)(random);
}

// --- Workers -------------------------------------------------------------------

// Sends one message of the generic pipe, whole or in pieces.
absl::Status SendGeneric(PipeEnd& end, const std::string& message, bool piecewise,
                         std::mt19937_64& random) {
  const Deadline deadline = Deadline::After(kCallDeadline);
  if (!piecewise) return end.send_bytes_until(message, deadline);
  absl::StatusOr<OutgoingMessage> outgoing = end.begin_send(message.size(), deadline);
  if (!outgoing.ok()) return outgoing.status();
  std::string_view rest = message;
  while (!rest.empty()) {
    const std::size_t piece =
        std::uniform_int_distribution<std::size_t>(1, std::max<std::size_t>(1, rest.size() / 2 + 1))(random);
    const std::size_t count = std::min(piece, rest.size());
    if (absl::Status status = outgoing->write(rest.substr(0, count)); !status.ok()) return status;
    rest.remove_prefix(count);
  }
  return outgoing->commit();
}

absl::Status SendStatic(StaticPipeEnd& end, const std::string& message, bool in_place) {
  const Deadline deadline = Deadline::After(kCallDeadline);
  if (!in_place) return end.send_bytes_until(message, deadline);
  absl::StatusOr<OutgoingRecord> record = end.begin_send(deadline);
  if (!record.ok()) return record.status();
  // Two copies, so that more time is spent holding the claim.
  const std::size_t half = message.size() / 2;
  std::memcpy(record->bytes().data(), message.data(), half);
  std::memcpy(record->bytes().data() + half, message.data() + half, message.size() - half);
  return record->commit();
}

// Receives one message (restarting after a stream its sender abandoned, as
// recv_bytes_into does), piece by piece.
absl::Status ReceiveGenericPiecewise(PipeEnd& end, std::string& message) {
  const Deadline deadline = Deadline::After(kCallDeadline);
  for (;;) {
    absl::StatusOr<IncomingMessage> incoming = end.begin_recv(deadline);
    if (!incoming.ok()) return incoming.status();
    message.clear();
    absl::Status status;
    for (;;) {
      absl::StatusOr<std::span<const std::byte>> piece = incoming->next_piece();
      if (!piece.ok()) {
        status = piece.status();
        break;
      }
      if (piece->empty()) break;
      message.append(reinterpret_cast<const char*>(piece->data()), piece->size());
    }
    if (absl::IsAborted(status)) continue;
    return status;
  }
}

absl::Status ReceiveStatic(StaticPipeEnd& end, std::string& message, bool in_place) {
  const Deadline deadline = Deadline::After(kCallDeadline);
  if (!in_place) {
    absl::StatusOr<std::string> record = end.recv_bytes_until(deadline);
    if (!record.ok()) return record.status();
    message = std::move(*record);
    return absl::OkStatus();
  }
  absl::StatusOr<IncomingRecord> record = end.begin_recv(deadline);
  if (!record.ok()) return record.status();
  // Checked where it lies, as a zero-copy consumer would (the slot stays
  // READING meanwhile), then copied for the log.
  const std::string_view view(reinterpret_cast<const char*>(record->bytes().data()),
                              record->bytes().size());
  std::uint32_t sender = 0;
  std::uint64_t sequence = 0;
  if (absl::Status status = CheckMessage(view, &sender, &sequence); !status.ok()) {
    return absl::DataLossError(absl::StrCat("in place: ", status.message()));
  }
  message.assign(view);
  record->release();
  return absl::OkStatus();
}

template <typename End>
int RunSender(End& end, int id, bool victim, const Scenario& scenario, RunShared& shared) {
  WorkerShared& me = shared.workers[id];
  std::mt19937_64 random(Mix(scenario.seed ^ (0x5E4D00 + static_cast<std::uint64_t>(id))));
  CallTimes times;
  int code = 0;
  std::uint64_t stop_after = kMessageCap;  // a survivor lowers it once the victim is dead
  for (std::uint64_t sequence = 0; sequence < stop_after; ++sequence) {
    if (!victim && stop_after == kMessageCap) {
      if (shared.first_kill_done.load(std::memory_order_acquire) != 0) {
        stop_after = std::max(scenario.survivor_messages, sequence + kMessagesAfterKill);
        if (sequence >= stop_after) break;
      } else if (sequence >= scenario.survivor_messages) {
        SleepMicros(300);  // its share is sent: keep a trickle going until the kill
      }
    }
    const std::string message =
        MakeMessage(static_cast<std::uint32_t>(id), sequence, DrawLength(random, scenario));
    const bool alternate = (random() & 1) != 0;
    const std::int64_t begin = NowNs();
    absl::Status status;
    if constexpr (std::is_same_v<End, PipeEnd>) {
      status = SendGeneric(end, message, alternate, random);
    } else {
      status = SendStatic(end, message, alternate);
    }
    times.Add(begin, NowNs());
    if (IsBrokenPipe(status)) {
      me.broken_pipe.store(1);
      break;
    }
    if (!status.ok()) {
      Fail(me, absl::StrCat("sender ", id, ": message ", sequence, ": ", status.ToString()));
      code = 1;
      break;
    }
    // Release: the lane reads `completed` after the death.
    me.completed.store(sequence + 1, std::memory_order_release);
    me.progress.fetch_add(1, std::memory_order_release);
  }
  if (victim && code == 0 && me.broken_pipe.load() == 0) pause();  // capped: wait for the kill
  me.leave_ns.store(NowNs(), std::memory_order_release);
  (void)end.close();
  me.max_return_ns.store(times.MaxReturnAfter(shared));
  return code;
}

template <typename End>
int RunReceiver(End& end, int id, int worker, const Scenario& scenario, RunShared& shared,
                DeliveryLog& log) {
  WorkerShared& me = shared.workers[worker];
  std::mt19937_64 random(Mix(scenario.seed ^ (0xEC0000 + static_cast<std::uint64_t>(id))));
  CallTimes times;
  std::string message;
  int code = 0;
  for (;;) {
    const bool alternate = (random() & 1) != 0;
    const std::uint64_t start = log.Ticket();
    const std::int64_t begin = NowNs();
    absl::Status status;
    if constexpr (std::is_same_v<End, PipeEnd>) {
      status = alternate ? ReceiveGenericPiecewise(end, message)
                         : end.recv_bytes_into(message, Deadline::After(kCallDeadline));
    } else {
      status = ReceiveStatic(end, message, alternate);
    }
    times.Add(begin, NowNs());
    const std::uint64_t finish = log.Ticket();
    if (IsEndOfStream(status)) break;
    if (!status.ok()) {
      Fail(me, absl::StrCat("receiver ", id, ": ", status.ToString()));
      code = 1;
      break;
    }
    Delivery delivery{};
    if (absl::Status check = CheckMessage(message, &delivery.sender, &delivery.sequence);
        !check.ok()) {
      Fail(me, absl::StrCat("receiver ", id, ": a torn or corrupted message was delivered (",
                            message.size(), " bytes): ", check.ToString()));
      code = 1;
      break;
    }
    delivery.receiver = static_cast<std::uint32_t>(id);
    delivery.start_ticket = start;
    delivery.end_ticket = finish;
    log.Record(delivery);
    me.progress.fetch_add(1, std::memory_order_release);
  }
  me.leave_ns.store(NowNs(), std::memory_order_release);
  (void)end.close();
  me.max_return_ns.store(times.MaxReturnAfter(shared));
  return code;
}

// --- Looking at a victim ---------------------------------------------------------

// The owner id (process slot) of `pid` in the segment, 0 if none.
std::uint32_t OwnerOf(const internal::Segment& segment, pid_t pid) {
  for (std::uint32_t owner = 1; owner <= internal::kMaxProcessSlotCount; ++owner) {
    const std::uint64_t state = segment.slot(owner).state.load(std::memory_order_acquire);
    if (internal::slot_state::Tag(state) == internal::SlotTag::kAlive &&
        internal::slot_state::Pid(state) == static_cast<std::uint32_t>(pid)) {
      return owner;
    }
  }
  return 0;
}

// What the (stopped) process `pid` with owner id `owner` holds and does.
std::uint32_t Classify(const internal::Segment& segment, pid_t pid, std::uint32_t owner) {
  namespace in = ::buffered_pipe::internal;
  std::uint32_t points = 0;
  for (std::uint32_t r = 0; r < segment.spec().ring_count; ++r) {
    const in::RingView ring = segment.ring(r);
    if (owner != 0) {
      // A claim is live in [released, tail); a stamp behind `released` is a
      // stale one (a frame released by moving `released` keeps its READING
      // stamp, see layout.h).
      const std::uint64_t released = ring.control->released.load(std::memory_order_acquire);
      for (std::uint64_t i = 0; i < ring.spec.block_count; ++i) {
        const std::uint64_t stamp = ring.cells[i].stamp.load(std::memory_order_acquire);
        if (in::stamp::Owner(stamp) != owner || in::stamp::Position(stamp) < released) continue;
        if (in::stamp::State(stamp) == in::CellState::kClaimed) points |= kHoldsClaim;
        if (in::stamp::State(stamp) == in::CellState::kReading) points |= kHoldsRead;
      }
      // The head lock: a receiver taking a frame (a small one is copied
      // under it, without a READING stamp: layout.h, "Receive").
      const std::uint64_t head_lock = ring.control->head_lock.load(std::memory_order_acquire);
      if (head_lock != 0 && in::token::Owner(head_lock) == owner) points |= kHoldsRead;
      const std::uint64_t writer = ring.control->stream_writer.load(std::memory_order_acquire);
      if (writer != 0 && in::token::Owner(writer) == owner) points |= kHoldsWriter;
      const std::uint64_t reader = ring.control->stream_reader.load(std::memory_order_acquire);
      if (reader != 0 && reader != in::token::kDiscard && in::token::Owner(reader) == owner) {
        points |= kHoldsReader;
      }
    }
  }
  for (std::uint32_t slot = 1; slot <= in::kMaxProcessSlotCount; ++slot) {
    const std::uint64_t state = segment.slot(slot).state.load(std::memory_order_acquire);
    if (in::slot_state::Tag(state) == in::SlotTag::kReaping &&
        in::slot_state::Pid(state) == static_cast<std::uint32_t>(pid)) {
      points |= kReaping;
    }
  }
  // A stopped task shows the system call it was stopped in (or -1 in user
  // code): "202 <futex address> <op> ...". FUTEX_WAIT_BITSET is op 9.
  std::ifstream syscall_file(absl::StrCat("/proc/", pid, "/syscall"));
  std::string number, address, op;
  if (syscall_file >> number >> address >> op) {
    if (number == "202" && (std::strtoull(op.c_str(), nullptr, 16) & 0x7f) == 9) points |= kParked;
    if (number == "24") points |= kYielding;
  }
  return points;
}

bool Reached(Target target, Role role, std::uint32_t points) {
  switch (target) {
    case Target::kAny:
      return true;
    case Target::kClaim:
      return (points & (role == Role::kSender ? kHoldsClaim : kHoldsRead)) != 0;
    case Target::kStreamHold:
      return (points & (role == Role::kSender ? kHoldsWriter : kHoldsReader)) != 0;
    case Target::kParked:
      return (points & kParked) != 0;
  }
  return false;
}

// Stops `pid` (a child of this process). False if it had exited instead
// (it is then reaped).
// Exit statuses of processes that Stop found exited (and reaped).
using ExitStatuses = std::map<pid_t, int>;

bool Stop(pid_t pid, ExitStatuses& exited) {
  kill(pid, SIGSTOP);
  int status = 0;
  if (waitpid(pid, &status, WUNTRACED) != pid) return false;
  if (WIFSTOPPED(status)) return true;
  exited[pid] = status;
  return false;
}

// Kills `pid`, recording the time of death first: survivors' return times
// are measured from it, so they are if anything overestimated.
void KillNow(pid_t pid, std::atomic<std::int64_t>& kill_ns, std::atomic<std::int64_t>& dead_ns) {
  kill_ns.store(NowNs(), std::memory_order_release);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  dead_ns.store(NowNs(), std::memory_order_release);
}

// Stops `pid` until `wanted(points)` holds (or samples run out), then kills
// it there. Returns the kill points at the kill; `first` gets those of the
// first sample. `kExited` if the process had exited on its own.
template <typename Wanted>
std::uint32_t SampleAndKill(const internal::Segment& segment, pid_t pid, std::mt19937_64& random,
                            Wanted&& wanted, int max_samples, std::atomic<std::int64_t>& kill_ns,
                            std::atomic<std::int64_t>& dead_ns, ExitStatuses& exited, std::uint32_t* first, int* samples,
                            bool* reached) {
  const std::uint32_t owner = OwnerOf(segment, pid);
  const std::int64_t give_up = NowNs() + kMaxSamplingMicros * 1000;
  std::uint32_t points = 0;
  *reached = false;
  for (int sample = 0;; ++sample) {
    if (!Stop(pid, exited)) {
      if (sample == 0) *first = kExited;
      *samples = sample;
      return kExited;
    }
    points = Classify(segment, pid, owner);
    if (sample == 0) *first = points;
    *samples = sample + 1;
    if (wanted(points)) {
      *reached = true;
      break;
    }
    if (sample + 1 >= max_samples || NowNs() > give_up) break;
    kill(pid, SIGCONT);
    SleepMicros(std::uniform_int_distribution<int>(0, 60)(random));
  }
  KillNow(pid, kill_ns, dead_ns);
  return points;
}

// Watches the process table for a survivor that resolves a dead process's
// claims (a REAPING slot carries the reaper's pid) and kills it in the act.
// Returns the index in `candidates` of the process killed (a random one,
// at a random time, if no reaper showed up), and its kill points.
std::size_t KillAReaper(const internal::Segment& segment, const std::vector<pid_t>& candidates,
                        std::mt19937_64& random, std::atomic<std::int64_t>& kill_ns,
                        std::atomic<std::int64_t>& dead_ns, ExitStatuses& exited,
                        std::uint32_t* points) {
  namespace in = ::buffered_pipe::internal;
  const std::int64_t give_up = NowNs() + 400'000'000;
  while (NowNs() < give_up) {
    for (std::uint32_t slot = 1; slot <= in::kMaxProcessSlotCount; ++slot) {
      const std::uint64_t state = segment.slot(slot).state.load(std::memory_order_acquire);
      if (in::slot_state::Tag(state) != in::SlotTag::kReaping) continue;
      const auto found = std::find(candidates.begin(), candidates.end(),
                                   static_cast<pid_t>(in::slot_state::Pid(state)));
      if (found == candidates.end()) continue;
      const pid_t reaper = *found;
      if (!Stop(reaper, exited)) {
        *points = kExited;
        return static_cast<std::size_t>(found - candidates.begin());
      }
      *points = Classify(segment, reaper, OwnerOf(segment, reaper));
      KillNow(reaper, kill_ns, dead_ns);
      return static_cast<std::size_t>(found - candidates.begin());
    }
    sched_yield();  // a reap takes longer than this; leave the CPU to the survivors
  }
  const std::size_t index =
      std::uniform_int_distribution<std::size_t>(0, candidates.size() - 1)(random);
  *points = Stop(candidates[index], exited) ? Classify(segment, candidates[index],
                                               OwnerOf(segment, candidates[index]))
                                    : kExited;
  if (*points != kExited) KillNow(candidates[index], kill_ns, dead_ns);
  return index;
}

// --- One run ----------------------------------------------------------------------

struct Pids {
  std::vector<pid_t> senders;
  std::vector<pid_t> receivers;
};

template <typename End>
Pids ForkWorkers(End& receiving, End& sending, const Scenario& scenario, RunShared& shared,
                 DeliveryLog& log) {
  Pids pids;
  for (int s = 0; s < scenario.senders; ++s) {
    const bool victim = scenario.victim == Role::kSender && s == 0;
    pids.senders.push_back(::buffered_pipe::testing::ForkChild([&, s, victim] {
      (void)receiving.close();
      return RunSender(sending, s, victim, scenario, shared);
    }));
  }
  for (int r = 0; r < scenario.receivers; ++r) {
    pids.receivers.push_back(::buffered_pipe::testing::ForkChild([&, r] {
      (void)sending.close();
      return RunReceiver(receiving, r, scenario.senders + r, scenario, shared, log);
    }));
  }
  return pids;
}

bool NameExists(const std::string& name) {
  struct stat file {};
  return stat(("/dev/shm/" + name).c_str(), &file) == 0;
}

std::string PointsText(std::uint32_t points) {
  if (points == 0) return "none";
  std::string text;
  for (int bit = 0; bit < kKillPointCount; ++bit) {
    if ((points & (1u << bit)) == 0) continue;
    if (!text.empty()) text += "+";
    text += KillPointName(bit);
  }
  return text;
}

void RunScenarioOrFail(const Scenario& scenario, RunResult* result, std::string* failure) {
  const std::string name = UniqueName("crash");
  PipeEnd generic_receiving, generic_sending;
  StaticPipeEnd static_receiving, static_sending;
  const NamedPipeOptions named{.mode = 0600, .remove_when_unused = true, .replace_stale = false};
  if (scenario.kind == PipeKind::kGeneric) {
    absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe =
        CreateNamedPipe(name, {.buffer_size = scenario.buffer_size}, named);
    if (!pipe.ok()) {
      *failure = absl::StrCat("cannot create the pipe: ", pipe.status().ToString());
      return;
    }
    generic_receiving = std::move(pipe->first);
    generic_sending = std::move(pipe->second);
  } else {
    absl::StatusOr<std::pair<StaticPipeEnd, StaticPipeEnd>> pipe = CreateNamedStaticPipe(
        name, {.object_size = scenario.object_size, .object_count = scenario.object_count}, named);
    if (!pipe.ok()) {
      *failure = absl::StrCat("cannot create the pipe: ", pipe.status().ToString());
      return;
    }
    static_receiving = std::move(pipe->first);
    static_sending = std::move(pipe->second);
  }
  // A second mapping to look at, without attaching (no process slot).
  absl::StatusOr<internal::Segment> segment = internal::Segment::OpenNamed(name);
  if (!segment.ok()) {
    *failure = absl::StrCat("cannot map the segment: ", segment.status().ToString());
    return;
  }

  SharedMemory shared_memory(sizeof(RunShared));
  auto* shared = new (shared_memory.data()) RunShared();
  for (WorkerShared& worker : shared->workers) worker.max_return_ns.store(-1);
  DeliveryLog log(kLogCapacity);
  const Pids pids =
      scenario.kind == PipeKind::kGeneric
          ? ForkWorkers(generic_receiving, generic_sending, scenario, *shared, log)
          : ForkWorkers(static_receiving, static_sending, scenario, *shared, log);
  // This process keeps no end: the pipe's life is the workers'.
  generic_receiving = PipeEnd();
  generic_sending = PipeEnd();
  static_receiving = StaticPipeEnd();
  static_sending = StaticPipeEnd();

  std::mt19937_64 random(Mix(scenario.seed ^ 0x4B111));
  const int victim_worker = scenario.victim == Role::kSender ? 0 : scenario.senders;
  const pid_t victim =
      scenario.victim == Role::kSender ? pids.senders[0] : pids.receivers[0];
  {
    // Let the victim get going, then pick a random moment. It must have
    // registered first: a child killed before fork() returns in it (before
    // it adopts the slot its parent reserved) is a separate case, with its
    // own bound (fork_window_test.cc).
    const std::int64_t give_up = NowNs() + 5'000'000'000;
    while ((OwnerOf(*segment, victim) == 0 ||
            shared->workers[victim_worker].progress.load(std::memory_order_acquire) <
                scenario.kill_after) &&
           NowNs() < give_up) {
      int status = 0;
      if (waitpid(victim, &status, WNOHANG) == victim) break;
      SleepMicros(50);
    }
    SleepMicros(std::uniform_int_distribution<int>(0, 2000)(random));
  }
  ExitStatuses exited;
  bool reached = false;
  result->killed_at = SampleAndKill(
      *segment, victim, random,
      [&](std::uint32_t points) { return Reached(scenario.target, scenario.victim, points); },
      scenario.target == Target::kAny ? 1 : kMaxSamples, shared->kill_ns[0], shared->dead_ns[0],
      exited,
      &result->first_sample, &result->samples, &reached);
  result->target_reached = reached ? 1 : 0;
  const bool victim_killed = result->killed_at != kExited;
  shared->first_kill_done.store(1, std::memory_order_release);

  // The second victim: whichever survivor takes on resolving the first
  // one's claims, killed while it does if caught.
  int second_worker = -1;
  if (scenario.second_kill) {
    std::vector<pid_t> candidates;
    std::vector<int> workers;
    for (int w = 0; w < scenario.senders + scenario.receivers; ++w) {
      if (w == victim_worker) continue;
      candidates.push_back(w < scenario.senders ? pids.senders[w] : pids.receivers[w - scenario.senders]);
      workers.push_back(w);
    }
    const std::size_t index =
        KillAReaper(*segment, candidates, random, shared->kill_ns[1], shared->dead_ns[1], exited,
                    &result->second_killed_at);
    if (result->second_killed_at != kExited) second_worker = workers[index];
  }

  // Survivors.
  std::string survivor_failures;
  const auto give_up = std::chrono::steady_clock::now() + kSurvivorTimeout;
  auto wait_all = [&](const std::vector<pid_t>& list, int first_worker) {
    for (std::size_t i = 0; i < list.size(); ++i) {
      const int worker = first_worker + static_cast<int>(i);
      if ((worker == victim_worker && victim_killed) || worker == second_worker) continue;
      int status = 0;
      if (const auto it = exited.find(list[i]); it != exited.end()) {
        status = it->second;  // exited on its own while being sampled
      } else for (;;) {
        const pid_t done = waitpid(list[i], &status, WNOHANG);
        if (done == list[i]) break;
        if (std::chrono::steady_clock::now() > give_up) {
          kill(list[i], SIGKILL);
          waitpid(list[i], &status, 0);
          absl::StrAppend(&survivor_failures, "worker ", worker, " hung (killed after ",
                          kSurvivorTimeout.count(), " s); ");
          status = 0;
          break;
        }
        SleepMicros(1000);
      }
      if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0)) {
        absl::StrAppend(&survivor_failures, "worker ", worker, " ended with ",
                        WIFSIGNALED(status) ? "signal " : "exit code ",
                        WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), "; ");
      }
      const WorkerShared& shared_worker = shared->workers[worker];
      if (shared_worker.error_set.load() != 0) {
        absl::StrAppend(&survivor_failures, shared_worker.error, "; ");
      }
      result->max_return_ns =
          std::max(result->max_return_ns, shared_worker.max_return_ns.load(std::memory_order_acquire));
    }
  };
  wait_all(pids.senders, 0);
  wait_all(pids.receivers, scenario.senders);
  if (!survivor_failures.empty()) {
    *failure = absl::StrCat("survivors: ", survivor_failures);
    return;
  }
  // The bound is for the plain build; sanitizers slow every step (and the
  // scan for dead processes) by TimeScale().
  const std::chrono::milliseconds bound = kMaxReturnAfterDeath * ::buffered_pipe::testing::TimeScale();
  if (result->max_return_ns > std::chrono::nanoseconds(bound).count()) {
    *failure = absl::StrCat("a survivor's blocked call returned ", result->max_return_ns / 1'000'000,
                            " ms after the death (bound ", bound.count(), " ms)");
    return;
  }

  // Deliveries.
  const std::vector<Delivery> deliveries = log.Deliveries();
  result->delivered = deliveries.size();
  int killed_receivers = 0;
  bool receiver_survived = false;
  for (int r = 0; r < scenario.receivers; ++r) {
    const int worker = scenario.senders + r;
    const bool killed = (worker == victim_worker && victim_killed) || worker == second_worker;
    if (killed) {
      ++killed_receivers;
    } else {
      receiver_survived = true;
    }
  }
  std::vector<std::uint64_t> max_delivered(static_cast<std::size_t>(scenario.senders), 0);
  for (const Delivery& delivery : deliveries) {
    if (delivery.sender < max_delivered.size()) {
      max_delivered[delivery.sender] = std::max(max_delivered[delivery.sender], delivery.sequence + 1);
    }
  }
  std::vector<std::uint64_t> sent(static_cast<std::size_t>(scenario.senders), 0);
  for (int s = 0; s < scenario.senders; ++s) {
    const std::uint64_t completed = shared->workers[s].completed.load(std::memory_order_acquire);
    const bool killed = (s == victim_worker && victim_killed) || s == second_worker;
    if (!receiver_survived) {
      // Nobody is left to take what is still in the ring: what was
      // delivered must be a prefix, with no more holes than killed receivers.
      sent[s] = max_delivered[s];
      if (sent[s] > completed + (killed ? 1 : 0)) {
        *failure = absl::StrCat("sender ", s, ": message ", sent[s] - 1,
                                " delivered but its send never completed (", completed, " did)");
        return;
      }
      continue;
    }
    if (killed) {
      // Its last message may have been committed just before the death.
      if (max_delivered[s] > completed + 1) {
        *failure = absl::StrCat("dead sender ", s, ": message ", max_delivered[s] - 1,
                                " delivered but only ", completed,
                                " sends had completed: a half-sent message was delivered?");
        return;
      }
      sent[s] = std::max(completed, max_delivered[s]);
    } else {
      if (shared->workers[s].broken_pipe.load() != 0) {
        *failure = absl::StrCat("sender ", s, " got a broken pipe while a receiver was alive");
        return;
      }
      sent[s] = completed;
      if (completed < scenario.survivor_messages) {
        *failure = absl::StrCat("sender ", s, " completed ", completed, " of at least ",
                                scenario.survivor_messages, " sends");
        return;
      }
    }
  }
  if (::testing::AssertionResult verified =
          VerifyDeliveries(deliveries, sent, static_cast<std::uint64_t>(killed_receivers));
      !verified) {
    *failure = absl::StrCat("deliveries: ", verified.message());
    return;
  }
  if (log.errors() != 0) {
    *failure = "the delivery log overflowed";
    return;
  }
  // /dev/shm debris: the last survivor to leave reaps the dead and removes
  // the name. Only if every survivor had begun to leave before the last death
  // (the last process to leave was killed) may the name stay, and then it
  // must be recognisably stale.
  if (NameExists(name)) {
    std::int64_t last_leave = 0;
    for (int w = 0; w < scenario.senders + scenario.receivers; ++w) {
      const bool killed = (w == victim_worker && victim_killed) || w == second_worker;
      if (!killed) last_leave = std::max(last_leave, shared->workers[w].leave_ns.load());
    }
    const std::int64_t last_death =
        std::max(shared->dead_ns[0].load(), shared->dead_ns[1].load());
    absl::StatusOr<bool> stale = internal::IsNamedSegmentStale(name);
    std::string table;
    for (std::uint32_t slot = 1; slot <= internal::kMaxProcessSlotCount; ++slot) {
      const std::uint64_t state = segment->slot(slot).state.load();
      if (internal::slot_state::Tag(state) == internal::SlotTag::kFree) continue;
      absl::StrAppend(&table, " slot ", slot, ": tag ",
                      static_cast<int>(internal::slot_state::Tag(state)), " pid ",
                      internal::slot_state::Pid(state), ";");
    }
    absl::StrAppend(&table, " lifecycle ", segment->header().lifecycle.load());
    (void)RemoveNamedPipe(name);
    if (last_leave > last_death) {
      *failure = absl::StrCat("the name ", name, " was left in /dev/shm although a survivor left ",
                              (last_leave - last_death) / 1000, " us after the last death;", table);
      return;
    }
    if (!stale.ok() || !*stale) {
      *failure = absl::StrCat("the name ", name, " left by a dying last process is not stale: ",
                              stale.ok() ? "live processes" : stale.status().ToString(), ";",
                              table);
      return;
    }
    result->left_stale = 1;
  }
}

}  // namespace

const char* KillPointName(int bit) {
  static const char* const kNames[kKillPointCount] = {"claim",  "reading", "writer-hold",
                                                     "reader-hold", "parked", "yielding",
                                                     "reaping", "exited"};
  return bit >= 0 && bit < kKillPointCount ? kNames[bit] : "?";
}

const char* TargetName(Target target) {
  switch (target) {
    case Target::kAny:
      return "random";
    case Target::kClaim:
      return "in-claim";
    case Target::kStreamHold:
      return "stream-hold";
    case Target::kParked:
      return "parked";
  }
  return "?";
}

std::string Scenario::Describe() const {
  std::string pipe = kind == PipeKind::kGeneric
                         ? absl::StrCat("generic ", buffer_size, " B, lengths ", min_length, "-",
                                        max_length)
                         : absl::StrCat("static ", object_count, " x ", object_size, " B");
  return absl::StrCat("seed ", seed, ": ", pipe, ", ", senders, " senders x ", receivers,
                      " receivers, victim ", victim == Role::kSender ? "sender" : "receiver",
                      ", target ", TargetName(target), second_kill ? ", then a reaper" : "",
                      ", ", survivor_messages, " messages per survivor, kill after ", kill_after);
}

Scenario RandomScenario(PipeKind kind, std::uint64_t seed) {
  std::mt19937_64 random(seed);
  auto pick = [&](int low, int high) { return std::uniform_int_distribution<int>(low, high)(random); };
  Scenario scenario;
  scenario.seed = seed;
  scenario.kind = kind;
  scenario.senders = pick(1, 3);
  scenario.receivers = pick(1, 3);
  scenario.victim = pick(0, 1) == 0 ? Role::kSender : Role::kReceiver;
  scenario.second_kill = scenario.senders + scenario.receivers >= 3 && pick(0, 99) < 12;
  if (kind == PipeKind::kGeneric) {
    scenario.target = static_cast<Target>(pick(0, kTargetCount - 1));
    const std::uint64_t buffers[] = {64, 256, 1024, 4096, 65536};
    scenario.buffer_size = scenario.second_kill ? (std::uint64_t{1} << 22) : buffers[pick(0, 4)];
    const std::size_t frame = std::max<std::size_t>(64, scenario.buffer_size / 2);
    const std::size_t ring4 = static_cast<std::size_t>(scenario.buffer_size) * 4;
    int mode = pick(0, 99) < 45 ? 0 : (pick(0, 1) == 0 ? 1 : 2);  // small, mixed, large
    if (scenario.target == Target::kStreamHold && mode == 0) mode = 1;
    if (scenario.second_kill) mode = 0;
    switch (mode) {
      case 0:
        scenario.min_length = testing::kMessageHeaderSize;
        scenario.max_length = std::max<std::size_t>(testing::kMessageHeaderSize, std::min<std::size_t>(frame, 300));
        break;
      case 1:
        scenario.min_length = testing::kMessageHeaderSize;
        scenario.max_length = std::min<std::size_t>(ring4, 1 << 18);
        break;
      default:
        scenario.min_length = frame + 1;
        scenario.max_length = std::min<std::size_t>(ring4, 1 << 18);
        break;
    }
    const std::size_t average = (scenario.min_length + scenario.max_length) / 2;
    scenario.survivor_messages =
        std::clamp<std::uint64_t>((std::uint64_t{1} << 19) / average, 10, 60);
  } else {
    const Target targets[] = {Target::kAny, Target::kClaim, Target::kParked};
    scenario.target = targets[pick(0, 2)];
    const std::uint64_t sizes[] = {20, 24, 64, 100, 256, 1000};
    const std::uint64_t counts[] = {1, 2, 3, 8, 16, 64};
    scenario.object_size = sizes[pick(0, 5)];
    scenario.object_count = scenario.second_kill ? 65536 : counts[pick(0, 5)];
    scenario.survivor_messages = 60;
  }
  const std::uint64_t total = scenario.survivor_messages * static_cast<std::uint64_t>(scenario.senders);
  scenario.kill_after = static_cast<std::uint64_t>(pick(0, 10));
  if (scenario.victim == Role::kReceiver) {
    scenario.kill_after = std::min<std::uint64_t>(
        scenario.kill_after, total / static_cast<std::uint64_t>(scenario.receivers) / 3);
  }
  return scenario;
}

void RunScenario(const Scenario& scenario, RunResult* result) {
  const std::int64_t begin = NowNs();
  std::string failure;
  RunScenarioOrFail(scenario, result, &failure);
  result->duration_ns = NowNs() - begin;
  result->passed = failure.empty() ? 1 : 0;
  if (!failure.empty()) {
    std::snprintf(result->failure, sizeof(result->failure), "%s", failure.c_str());
  }
  result->done = 1;
}

CampaignSummary RunCampaign(PipeKind kind, int runs, int lanes, std::uint64_t seed) {
  int only = -1;
  if (const char* value = std::getenv("BUFFERED_PIPE_CRASH_RUN"); value != nullptr) {
    only = std::atoi(value);
  }
  SharedMemory memory(sizeof(RunResult) * static_cast<std::size_t>(runs) +
                      sizeof(std::atomic<int>));
  auto* next = new (memory.data()) std::atomic<int>(0);
  auto* results = reinterpret_cast<RunResult*>(static_cast<char*>(memory.data()) + 64);
  for (int i = 0; i < runs; ++i) new (&results[i]) RunResult();
  auto scenario_of = [&](int index) {
    return RandomScenario(kind, Mix(seed ^ (static_cast<std::uint64_t>(index) * 0x9E3779B97F4A7C15ULL)));
  };
  std::vector<pid_t> lane_pids;
  for (int lane = 0; lane < lanes; ++lane) {
    lane_pids.push_back(::buffered_pipe::testing::ForkChild([&] {
      for (;;) {
        const int index = next->fetch_add(1);
        if (index >= runs) return 0;
        if (only >= 0 && index != only) continue;
        RunScenario(scenario_of(index), &results[index]);
      }
    }));
  }
  for (pid_t pid : lane_pids) {
    int status = 0;
    waitpid(pid, &status, 0);
  }

  CampaignSummary summary;
  int per_target[kTargetCount] = {}, reached[kTargetCount] = {};
  int first_bits[kKillPointCount] = {}, kill_bits[kKillPointCount] = {};
  int first_none = 0, kill_none = 0, second_runs = 0, reaper_caught = 0, left_stale = 0;
  std::vector<std::int64_t> returns;
  std::uint64_t delivered = 0;
  std::int64_t total_ns = 0;
  for (int i = 0; i < runs; ++i) {
    if (only >= 0 && i != only) continue;
    const Scenario scenario = scenario_of(i);
    const RunResult& result = results[i];
    ++summary.runs;
    if (!result.done || !result.passed) {
      ++summary.failures;
      summary.failure_texts.push_back(absl::StrCat(
          "run ", i, " (replay: BUFFERED_PIPE_TEST_SEED=", seed, " BUFFERED_PIPE_CRASH_RUN=", i,
          "), ", scenario.Describe(), ", killed at ", PointsText(result.killed_at),
          scenario.second_kill ? absl::StrCat(", second at ", PointsText(result.second_killed_at)) : "",
          ": ",
          result.done ? result.failure : "the run never finished (its lane died)"));
      continue;
    }
    const int target = static_cast<int>(scenario.target);
    ++per_target[target];
    reached[target] += result.target_reached;
    for (int bit = 0; bit < kKillPointCount; ++bit) {
      if (result.first_sample & (1u << bit)) ++first_bits[bit];
      if (result.killed_at & (1u << bit)) ++kill_bits[bit];
    }
    first_none += result.first_sample == 0;
    kill_none += result.killed_at == 0;
    if (scenario.second_kill) {
      ++second_runs;
      reaper_caught += (result.second_killed_at & kReaping) != 0;
    }
    if (result.max_return_ns >= 0) returns.push_back(result.max_return_ns);
    summary.max_return_ns = std::max(summary.max_return_ns, result.max_return_ns);
    delivered += result.delivered;
    total_ns += result.duration_ns;
    left_stale += result.left_stale;
  }
  std::sort(returns.begin(), returns.end());
  auto percentile = [&](double p) -> double {
    if (returns.empty()) return 0;
    return static_cast<double>(returns[static_cast<std::size_t>(p * static_cast<double>(returns.size() - 1))]) / 1e6;
  };
  std::ostringstream report;
  report << (kind == PipeKind::kGeneric ? "generic" : "static") << " pipe: " << summary.runs
         << " runs, " << summary.failures << " failed, " << delivered << " messages delivered, "
         << (summary.runs ? total_ns / summary.runs / 1'000'000 : 0) << " ms per run (" << lanes
         << " lanes)\n";
  report << "  targets (reached/runs):";
  for (int t = 0; t < kTargetCount; ++t) {
    report << " " << TargetName(static_cast<Target>(t)) << " " << reached[t] << "/" << per_target[t];
  }
  report << "\n  first sample (random timing):";
  for (int bit = 0; bit < kKillPointCount; ++bit) report << " " << KillPointName(bit) << " " << first_bits[bit];
  report << " none " << first_none << "\n  at the kill:";
  for (int bit = 0; bit < kKillPointCount; ++bit) report << " " << KillPointName(bit) << " " << kill_bits[bit];
  report << " none " << kill_none << "\n  second kill (a reaper): " << second_runs
         << " runs, caught while reaping " << reaper_caught << "\n";
  report << "  the last process to leave was killed (name left, found stale, removed): "
         << left_stale << " runs\n";
  report << "  survivors' return after a death (" << returns.size()
         << " runs had a call blocked across it): median " << percentile(0.5) << " ms, p99 "
         << percentile(0.99) << " ms, max " << static_cast<double>(summary.max_return_ns) / 1e6
         << " ms\n";
  summary.report = report.str();
  return summary;
}

}  // namespace buffered_pipe::crash
