// Deadline: when a blocking call gives up, on the monotonic clock.
//
// Every blocking call of buffered_pipe takes a Deadline (its plain form uses
// Deadline::Infinite(); the `_for` and `_until` forms build one; the `try_`
// forms use Deadline::NonBlocking()). Deadlines are measured on
// std::chrono::steady_clock, which is CLOCK_MONOTONIC on Linux, so a jump of
// the wall clock never shortens or stretches a wait.
//
//   auto message = receiver.recv_bytes_until(
//       buffered_pipe::Deadline::After(std::chrono::milliseconds(50)));
//
// A call that reaches its deadline returns absl::DeadlineExceededError; a
// non-blocking call that would have to wait returns absl::UnavailableError.
// Thread-safety: a Deadline is a value; copy it freely.

#ifndef BUFFERED_PIPE_DEADLINE_H_
#define BUFFERED_PIPE_DEADLINE_H_

#include <chrono>
#include <cstdint>
#include <limits>

namespace buffered_pipe {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  // Never expires.
  static constexpr Deadline Infinite() { return Deadline(kInfinite); }
  // Already expired: the call must not wait at all.
  static constexpr Deadline NonBlocking() { return Deadline(kNonBlocking); }
  // `timeout` from now (a negative timeout is treated as zero).
  static Deadline After(Clock::duration timeout) {
    if (timeout <= Clock::duration::zero()) return Deadline(NowNanoseconds());
    const auto nanoseconds = std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
    const std::int64_t now = NowNanoseconds();
    if (nanoseconds >= kInfinite - now) return Infinite();
    return Deadline(now + nanoseconds);
  }
  static Deadline At(Clock::time_point when) {
    return Deadline(std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch())
                        .count());
  }

  bool is_infinite() const { return nanoseconds_ == kInfinite; }
  bool is_non_blocking() const { return nanoseconds_ == kNonBlocking; }
  bool has_passed() const { return !is_infinite() && NowNanoseconds() >= nanoseconds_; }
  // Monotonic-clock nanoseconds (std::numeric_limits<int64_t>::max() if infinite).
  std::int64_t monotonic_nanoseconds() const { return nanoseconds_; }

  static std::int64_t NowNanoseconds() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               Clock::now().time_since_epoch())
        .count();
  }

 private:
  static constexpr std::int64_t kInfinite = std::numeric_limits<std::int64_t>::max();
  static constexpr std::int64_t kNonBlocking = std::numeric_limits<std::int64_t>::min();
  constexpr explicit Deadline(std::int64_t nanoseconds) : nanoseconds_(nanoseconds) {}

  std::int64_t nanoseconds_;
};

}  // namespace buffered_pipe

#endif  // BUFFERED_PIPE_DEADLINE_H_
