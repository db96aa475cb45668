// Helpers shared by the tests: child processes, memory shared with them,
// self-checking messages and the exactly-once / per-sender-order checker.

#ifndef BUFFERED_PIPE_TESTS_TEST_SUPPORT_H_
#define BUFFERED_PIPE_TESTS_TEST_SUPPORT_H_

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace buffered_pipe::testing {

// Whether this build runs under ThreadSanitizer. TSan sees synchronisation
// only within one process: when two threads of this process touch the same
// ring memory and the ordering between them passes through another process
// (say, a forked receiver releases a block and a forked sender hands the new
// `released` on), TSan reports a race that is not one. Tests that mix threads
// and processes therefore run, under TSan, either entirely in threads
// (every edge visible) or entirely in processes (each one single-threaded);
// the plain and ASan builds run the mixed splits.
#if defined(__SANITIZE_THREAD__)
inline constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kThreadSanitizer = true;
#else
inline constexpr bool kThreadSanitizer = false;
#endif
#else
inline constexpr bool kThreadSanitizer = false;
#endif

// Multiplier for stress sizes: 1 in CI; set BUFFERED_PIPE_TEST_SCALE=100
// (e.g. bazel test --test_env=BUFFERED_PIPE_TEST_SCALE=100) for long runs.
int TestScale();

// Multiplier for time bounds: how much slower this build runs than the
// plain one (ThreadSanitizer 5, AddressSanitizer 3, else 1), times
// BUFFERED_PIPE_TEST_TIME_SCALE if set. Bounds are written for the plain
// build and multiplied by this; they are never loosened for the plain build.
int TimeScale();

// Seed for randomised tests: BUFFERED_PIPE_TEST_SEED if set, else the clock.
// Printed by tests so a failure can be replayed.
std::uint64_t TestSeed();

// Memory shared with forked children (MAP_SHARED | MAP_ANONYMOUS), zeroed.
class SharedMemory {
 public:
  explicit SharedMemory(std::size_t bytes);
  ~SharedMemory();
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  void* data() const { return data_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(data_);
  }

 private:
  void* data_;
  std::size_t size_;
};

// Forks a child that runs `body` and exits with its return value (without
// running atexit handlers or destructors of the parent's objects).
pid_t ForkChild(const std::function<int()>& body);

// Waits for `pid`; kills it (SIGKILL) if it has not exited within `timeout`.
// Succeeds if it exited with status 0.
::testing::AssertionResult WaitForChild(pid_t pid,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(60));

// A unique pipe name for this test process.
std::string UniqueName(std::string_view prefix);

// A program started by a test (posix_spawn, this process's environment),
// its standard output and error going into `output_fd` (the caller reads
// it to its end and closes it; ReadAll does both).
struct StartedProgram {
  pid_t pid = -1;
  int output_fd = -1;
};
// arguments[0] is the program's path. pid -1 if it cannot be started.
StartedProgram StartProgram(const std::vector<std::string>& arguments);
// Everything until end of file, then closes `fd`.
std::string ReadAll(int fd);

// A self-checking message: header {sender, sequence, length, checksum} and a
// payload derived from them. Messages shorter than the header (down to 0
// bytes) carry only a prefix of a pattern derived from the sequence number.
inline constexpr std::size_t kMessageHeaderSize = 20;
std::string MakeMessage(std::uint32_t sender, std::uint64_t sequence, std::size_t length);
// Checks a message of at least kMessageHeaderSize bytes; returns its sender
// and sequence number.
absl::Status CheckMessage(std::string_view message, std::uint32_t* sender, std::uint64_t* sequence);
// For short messages of one sender: the expected bytes of message `sequence`.
std::string ShortMessage(std::uint64_t sequence, std::size_t length);

// Where and when each message was received, written by receivers in any
// process into shared memory.
struct Delivery {
  std::uint32_t sender;
  std::uint32_t receiver;
  std::uint64_t sequence;
  std::uint64_t start_ticket;  // taken just before the receive call began
  std::uint64_t end_ticket;    // taken just after it returned
};

class DeliveryLog {
 public:
  explicit DeliveryLog(std::size_t capacity);
  // Tickets come from one shared counter, so they order calls across processes.
  std::uint64_t Ticket();
  void Record(const Delivery& delivery);
  std::vector<Delivery> Deliveries() const;
  std::uint64_t errors() const;
  void RecordError();

 private:
  struct Header {
    std::atomic<std::uint64_t> ticket;
    std::atomic<std::uint64_t> count;
    std::atomic<std::uint64_t> errors;
  };
  std::size_t capacity_;
  SharedMemory memory_;
  Header* header_;
  Delivery* records_;
};

// Checks that sender s delivered sequences 0..sent[s]-1 exactly once each
// (allowing, per sender, `may_lose[s]` missing ones, for senders whose
// receiver was killed), and that no message was received entirely before an
// earlier message of the same sender began to be received.
::testing::AssertionResult VerifyDeliveries(const std::vector<Delivery>& deliveries,
                                            const std::vector<std::uint64_t>& sent,
                                            std::uint64_t allowed_losses = 0);

}  // namespace buffered_pipe::testing

#endif  // BUFFERED_PIPE_TESTS_TEST_SUPPORT_H_
