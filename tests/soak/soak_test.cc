// Soak: N senders x M receivers, split between threads and forked
// processes, messages of random sizes from 0 bytes to 4x the ring, every
// one checked end to end, for as long as asked.
//
//   CI: a few seconds (the default).
//   Long: bazel test //tests/soak:soak_test --test_env=BUFFERED_PIPE_SOAK_SECONDS=3600
//             --test_timeout=4000 [--config=asan|--config=tsan]   (one command line)
//
// The run is a sequence of random configurations ("rounds"), each for a
// random slice of the time: pipe kind (generic 80%, static), ring size,
// 1-4 senders and 1-4 receivers split at random between threads and
// processes (under ThreadSanitizer all threads or all processes, see
// tests/mpmc_test.cc), every way of sending and receiving (whole, piecewise,
// timed, non-blocking with retry). At the end of each round the senders
// stop, close, and the receivers drain to end of stream. Checked per round:
// messages of 20 bytes or more carry their sender, sequence number, length
// and checksum (test_support's MakeMessage): each is intact, delivered
// exactly once, and one sender's are taken in the order sent; shorter
// messages (0-19 bytes) carry only pattern bytes, so the multiset of
// (length, FNV-1a hash) received must equal the multiset sent.
// BUFFERED_PIPE_TEST_SEED replays the sequence of configurations.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/static_pipe.h"
#include "buffered_pipe/status.h"
#include "gtest/gtest.h"
#include "tests/test_support.h"

namespace buffered_pipe {
namespace {

using namespace std::chrono_literals;
using ::buffered_pipe::testing::CheckMessage;
using ::buffered_pipe::testing::Delivery;
using ::buffered_pipe::testing::DeliveryLog;
using ::buffered_pipe::testing::ForkChild;
using ::buffered_pipe::testing::kMessageHeaderSize;
using ::buffered_pipe::testing::MakeMessage;
using ::buffered_pipe::testing::SharedMemory;
using ::buffered_pipe::testing::ShortMessage;
using ::buffered_pipe::testing::TestSeed;
using ::buffered_pipe::testing::VerifyDeliveries;
using ::buffered_pipe::testing::WaitForChild;
using Clock = std::chrono::steady_clock;

#if defined(__SANITIZE_THREAD__)
constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool kThreadSanitizer = true;
#else
constexpr bool kThreadSanitizer = false;
#endif
#else
constexpr bool kThreadSanitizer = false;
#endif

constexpr int kMaxParties = 4;
// Bounds the logs of one round.
constexpr std::uint64_t kMaxMessagesPerRound = 120'000;
constexpr std::uint64_t kMaxBytesPerRound = std::uint64_t{1} << 30;

double SoakSeconds() {
  const char* value = std::getenv("BUFFERED_PIPE_SOAK_SECONDS");
  const double seconds = value != nullptr ? std::atof(value) : 4.0;
  return seconds > 0 ? seconds : 4.0;
}

std::uint32_t Fnv(std::string_view bytes) {
  std::uint32_t hash = 2166136261u;
  for (char c : bytes) hash = (hash ^ static_cast<std::uint8_t>(c)) * 16777619u;
  return hash;
}

// (length, hash) of short messages, appended by any process.
class ShortLog {
 public:
  explicit ShortLog(std::size_t capacity)
      : capacity_(capacity), memory_(sizeof(std::atomic<std::uint64_t>) * 2 + capacity * 8) {
    count_ = new (memory_.data()) std::atomic<std::uint64_t>(0);
    overflow_ = new (static_cast<char*>(memory_.data()) + 8) std::atomic<std::uint64_t>(0);
    entries_ = reinterpret_cast<std::uint64_t*>(static_cast<char*>(memory_.data()) + 16);
  }
  void Add(std::string_view message) {
    const std::uint64_t index = count_->fetch_add(1);
    if (index >= capacity_) {
      overflow_->fetch_add(1);
      return;
    }
    std::atomic_ref<std::uint64_t>(entries_[index])
        .store((std::uint64_t{message.size()} << 32 | Fnv(message)) + 1, std::memory_order_release);
  }
  std::vector<std::uint64_t> Sorted() const {
    std::vector<std::uint64_t> all;
    const std::uint64_t count = std::min<std::uint64_t>(count_->load(), capacity_);
    for (std::uint64_t i = 0; i < count; ++i) {
      all.push_back(std::atomic_ref<std::uint64_t>(entries_[i]).load(std::memory_order_acquire));
    }
    std::sort(all.begin(), all.end());
    return all;
  }
  std::uint64_t overflow() const { return overflow_->load(); }

 private:
  std::size_t capacity_;
  SharedMemory memory_;
  std::atomic<std::uint64_t>* count_;
  std::atomic<std::uint64_t>* overflow_;
  std::uint64_t* entries_;
};

struct Round {
  bool is_static = false;
  std::uint64_t buffer_size = 0;   // generic
  std::uint64_t object_size = 0;   // static
  std::uint64_t object_count = 0;  // static
  int sender_threads = 0, sender_processes = 0;
  int receiver_threads = 0, receiver_processes = 0;
  std::chrono::milliseconds duration{0};
  std::uint64_t seed = 0;

  int senders() const { return sender_threads + sender_processes; }
  std::string Describe() const {
    return absl::StrCat(is_static ? absl::StrCat("static ", object_count, " x ", object_size, " B")
                                  : absl::StrCat("generic ", buffer_size, " B"),
                        ", senders ", sender_threads, " threads + ", sender_processes,
                        " processes, receivers ", receiver_threads, " threads + ",
                        receiver_processes, " processes, ", duration.count(), " ms");
  }
};

// Shared by everybody taking part in a round.
struct RoundState {
  std::atomic<int> stop;
  std::atomic<int> errors;
  std::atomic<std::uint64_t> budget_messages;
  std::atomic<std::uint64_t> budget_bytes;
  std::atomic<std::uint64_t> sent_long[kMaxParties];
  std::atomic<std::uint64_t> bytes;
  char error[512];
};

void Fail(RoundState& state, const std::string& text) {
  if (state.errors.fetch_add(1) == 0) std::snprintf(state.error, sizeof(state.error), "%s", text.c_str());
}

std::size_t DrawLength(std::mt19937_64& random, const Round& round) {
  if (round.is_static) return round.object_size;
  const std::size_t ring = round.buffer_size;
  switch (std::uniform_int_distribution<int>(0, 9)(random)) {
    case 0: case 1: case 2: case 3:
      return std::uniform_int_distribution<std::size_t>(0, 64)(random);
    case 4: case 5: case 6:
      return std::uniform_int_distribution<std::size_t>(0, std::max<std::size_t>(ring / 2, 1))(random);
    default:
      return std::uniform_int_distribution<std::size_t>(0, 4 * ring)(random);
  }
}

// Returns Unavailable, having sent nothing, if a non-blocking send was
// still being retried when the round stopped (a streamed message sent
// without ever waiting may have to be retried many times under contention).
template <typename End>
absl::Status SendOne(End& end, const std::string& message, int how, std::mt19937_64& random,
                     const RoundState& state) {
  switch (how) {
    case 0:
      return end.send_bytes(message);
    case 1:
      return end.send_bytes_for(message, 30s);
    case 2:
      for (;;) {  // non-blocking, retried
        const absl::Status status = end.try_send_bytes(message);
        if (!IsWouldBlock(status) || state.stop.load(std::memory_order_acquire) != 0) return status;
        std::this_thread::yield();
      }
    default:
      if constexpr (std::is_same_v<End, PipeEnd>) {
        absl::StatusOr<OutgoingMessage> outgoing = end.begin_send(message.size());
        if (!outgoing.ok()) return outgoing.status();
        std::string_view rest = message;
        while (!rest.empty()) {
          const std::size_t count = std::min<std::size_t>(
              rest.size(), std::uniform_int_distribution<std::size_t>(1, 4096)(random));
          if (absl::Status status = outgoing->write(rest.substr(0, count)); !status.ok()) return status;
          rest.remove_prefix(count);
        }
        return outgoing->commit();
      } else {
        absl::StatusOr<OutgoingRecord> record = end.begin_send();
        if (!record.ok()) return record.status();
        std::memcpy(record->bytes().data(), message.data(), message.size());
        return record->commit();
      }
  }
}

template <typename End>
bool SendAll(End& end, int id, const Round& round, RoundState& state, ShortLog& sent_short) {
  std::mt19937_64 random(round.seed ^ (0x5E4D + static_cast<std::uint64_t>(id) * 0x9E3779B97F4A7C15ULL));
  std::uint64_t long_sequence = 0, short_sequence = 0;
  while (state.stop.load(std::memory_order_acquire) == 0) {
    const std::size_t length = DrawLength(random, round);
    // Budgets of the round (shared): a sender stops when either runs out.
    const std::uint64_t messages_left = state.budget_messages.fetch_sub(1);
    const std::uint64_t bytes_left = state.budget_bytes.fetch_sub(length);
    if (messages_left == 0 || messages_left > kMaxMessagesPerRound || bytes_left < length ||
        bytes_left > kMaxBytesPerRound) {
      break;
    }
    std::string message;
    if (length >= kMessageHeaderSize) {
      message = MakeMessage(static_cast<std::uint32_t>(id), long_sequence, length);
    } else {
      message = ShortMessage((std::uint64_t{static_cast<std::uint32_t>(id)} << 40) | short_sequence++, length);
    }
    const absl::Status status = SendOne(end, message, static_cast<int>(random() % 4), random, state);
    if (IsWouldBlock(status)) break;  // the round stopped: not sent
    if (!status.ok()) {
      Fail(state, absl::StrCat("sender ", id, ": ", status.ToString()));
      return false;
    }
    if (length >= kMessageHeaderSize) {
      state.sent_long[id].store(++long_sequence, std::memory_order_release);
    } else {
      sent_short.Add(message);
    }
    state.bytes.fetch_add(length, std::memory_order_relaxed);
  }
  return true;
}

template <typename End>
absl::Status ReceiveOne(End& end, std::string& message, int how) {
  if constexpr (std::is_same_v<End, PipeEnd>) {
    switch (how) {
      case 0:
        return end.recv_bytes_into(message);
      case 1:
        return end.recv_bytes_into(message, Deadline::After(30s));
      case 2:
        for (;;) {
          const absl::Status status = end.recv_bytes_into(message, Deadline::NonBlocking());
          if (!IsWouldBlock(status)) return status;
          std::this_thread::yield();
        }
      default: {
        for (;;) {
          absl::StatusOr<IncomingMessage> incoming = end.begin_recv();
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
          if (!absl::IsAborted(status)) return status;
        }
      }
    }
  } else {
    if (how == 3) {
      absl::StatusOr<IncomingRecord> record = end.begin_recv();
      if (!record.ok()) return record.status();
      message.assign(reinterpret_cast<const char*>(record->bytes().data()), record->bytes().size());
      return absl::OkStatus();
    }
    absl::StatusOr<std::string> record = how == 2 ? end.try_recv_bytes() : end.recv_bytes_for(30s);
    while (how == 2 && IsWouldBlock(record.status())) {  // non-blocking, retried
      std::this_thread::yield();
      record = end.try_recv_bytes();
    }
    if (!record.ok()) return record.status();
    message = std::move(*record);
    return absl::OkStatus();
  }
}

template <typename End>
bool ReceiveAll(End& end, int id, const Round& round, RoundState& state, DeliveryLog& log,
                ShortLog& received_short) {
  std::mt19937_64 random(round.seed ^ (0xEC0 + static_cast<std::uint64_t>(id)));
  std::string message;
  for (;;) {
    const std::uint64_t start = log.Ticket();
    const absl::Status status = ReceiveOne(end, message, static_cast<int>(random() % 4));
    const std::uint64_t finish = log.Ticket();
    if (IsEndOfStream(status)) return true;
    if (!status.ok()) {
      Fail(state, absl::StrCat("receiver ", id, ": ", status.ToString()));
      return false;
    }
    if (message.size() < kMessageHeaderSize) {
      received_short.Add(message);
      continue;
    }
    Delivery delivery{};
    if (absl::Status check = CheckMessage(message, &delivery.sender, &delivery.sequence); !check.ok()) {
      Fail(state, absl::StrCat("receiver ", id, ": corrupted message of ", message.size(),
                               " bytes: ", check.ToString()));
      return false;
    }
    delivery.receiver = static_cast<std::uint32_t>(id);
    delivery.start_ticket = start;
    delivery.end_ticket = finish;
    log.Record(delivery);
  }
}

struct Totals {
  int rounds = 0;
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
};

template <typename End>
void RunRound(const Round& round, End& receiver, End& sender, Totals* totals) {
  SharedMemory state_memory(sizeof(RoundState));
  auto* state = new (state_memory.data()) RoundState();
  state->budget_messages.store(kMaxMessagesPerRound);
  state->budget_bytes.store(kMaxBytesPerRound);
  DeliveryLog log(kMaxMessagesPerRound + 16);
  ShortLog sent_short(kMaxMessagesPerRound), received_short(kMaxMessagesPerRound);

  std::vector<pid_t> children;
  int next_sender = 0, next_receiver = 0;
  for (int i = 0; i < round.sender_processes; ++i) {
    const int id = next_sender++;
    children.push_back(ForkChild([&, id] {
      (void)receiver.close();
      const bool ok = SendAll(sender, id, round, *state, sent_short);
      (void)sender.close();
      return ok ? 0 : 1;
    }));
  }
  for (int i = 0; i < round.receiver_processes; ++i) {
    const int id = next_receiver++;
    children.push_back(ForkChild([&, id] {
      (void)sender.close();
      const bool ok = ReceiveAll(receiver, id, round, *state, log, received_short);
      (void)receiver.close();
      return ok ? 0 : 1;
    }));
  }
  std::vector<std::thread> senders, receivers;
  for (int i = 0; i < round.sender_threads; ++i) {
    const int id = next_sender++;
    senders.emplace_back([&, id] { SendAll(sender, id, round, *state, sent_short); });
  }
  for (int i = 0; i < round.receiver_threads; ++i) {
    const int id = next_receiver++;
    receivers.emplace_back([&, id] { ReceiveAll(receiver, id, round, *state, log, received_short); });
  }
  const Clock::time_point started = Clock::now();
  std::this_thread::sleep_for(round.duration);
  state->stop.store(1, std::memory_order_release);
  const Clock::time_point stopped = Clock::now();
  for (std::thread& thread : senders) thread.join();
  ASSERT_TRUE(sender.close().ok());
  if (round.receiver_threads == 0) {
    ASSERT_TRUE(receiver.close().ok());
  }
  for (std::thread& thread : receivers) thread.join();
  for (pid_t child : children) {
    EXPECT_TRUE(WaitForChild(child, 120s));
  }
  ASSERT_EQ(state->errors.load(), 0) << state->error;
  const auto ms = [](Clock::duration d) {
    return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  };
  std::fprintf(stderr, "round %d: %s: %llu bytes, sending %lld ms, draining %lld ms\n",
               totals->rounds, round.Describe().c_str(),
               static_cast<unsigned long long>(state->bytes.load()), ms(stopped - started),
               ms(Clock::now() - stopped));

  std::vector<std::uint64_t> sent(static_cast<std::size_t>(round.senders()));
  for (int s = 0; s < round.senders(); ++s) sent[s] = state->sent_long[s].load();
  const std::vector<Delivery> deliveries = log.Deliveries();
  EXPECT_EQ(log.errors(), 0u);
  EXPECT_TRUE(VerifyDeliveries(deliveries, sent));
  EXPECT_EQ(sent_short.overflow() + received_short.overflow(), 0u);
  EXPECT_TRUE(sent_short.Sorted() == received_short.Sorted())
      << "short messages: " << sent_short.Sorted().size() << " sent, "
      << received_short.Sorted().size() << " received, or their contents differ";
  ++totals->rounds;
  totals->messages += deliveries.size() + received_short.Sorted().size();
  totals->bytes += state->bytes.load();
}

Round RandomRound(std::mt19937_64& random, Clock::duration left) {
  auto pick = [&](int low, int high) { return std::uniform_int_distribution<int>(low, high)(random); };
  Round round;
  round.seed = random();
  round.is_static = pick(0, 4) == 0;
  if (round.is_static) {
    const std::uint64_t sizes[] = {20, 64, 256, 4000};
    const std::uint64_t counts[] = {1, 3, 16, 256};
    round.object_size = sizes[pick(0, 3)];
    round.object_count = counts[pick(0, 3)];
  } else {
    const std::uint64_t buffers[] = {64, 256, 4096, 65536};
    round.buffer_size = buffers[pick(0, 3)];
  }
  const int senders = pick(1, kMaxParties);
  const int receivers = pick(1, kMaxParties);
  round.sender_processes = pick(0, senders);
  round.receiver_processes = pick(0, receivers);
  if (kThreadSanitizer) {
    const bool threads = pick(0, 1) == 0;
    round.sender_processes = threads ? 0 : senders;
    round.receiver_processes = threads ? 0 : receivers;
  }
  round.sender_threads = senders - round.sender_processes;
  round.receiver_threads = receivers - round.receiver_processes;
  const auto slice = std::chrono::milliseconds(pick(200, 1500));
  round.duration = std::min(slice, std::chrono::duration_cast<std::chrono::milliseconds>(left));
  return round;
}

TEST(SoakTest, RandomSplitsAndSizesForTheWholeBudget) {
  const double seconds = SoakSeconds();
  std::fprintf(stderr, "soak for %.1f s (BUFFERED_PIPE_SOAK_SECONDS)\n", seconds);
  const Clock::time_point end =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::mt19937_64 random(TestSeed());
  Totals totals;
  const Clock::time_point begin = Clock::now();
  while (Clock::now() < end && !HasFailure()) {
    const Round round = RandomRound(random, end - Clock::now());
    SCOPED_TRACE(round.Describe());
    if (round.is_static) {
      absl::StatusOr<std::pair<StaticPipeEnd, StaticPipeEnd>> pipe =
          StaticPipe({.object_size = round.object_size, .object_count = round.object_count});
      ASSERT_TRUE(pipe.ok()) << pipe.status();
      RunRound(round, pipe->first, pipe->second, &totals);
    } else {
      absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = Pipe({.buffer_size = round.buffer_size});
      ASSERT_TRUE(pipe.ok()) << pipe.status();
      RunRound(round, pipe->first, pipe->second, &totals);
    }
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - begin).count();
  std::fprintf(stderr, "soak: %d rounds, %llu messages, %.1f MiB in %.1f s\n", totals.rounds,
               static_cast<unsigned long long>(totals.messages),
               static_cast<double>(totals.bytes) / (1 << 20), elapsed);
  EXPECT_GT(totals.rounds, 0);
}

}  // namespace
}  // namespace buffered_pipe
