// Spin, then yield, then park: how every blocking call of buffered_pipe waits.
//
// A waiter first retries for a few microseconds (a peer that is actively
// sending usually makes it ready in that time), then yields the CPU a few
// times, then parks on the futex word of a WaitLine. Parking follows the
// Dekker pairing, the protocol's one StoreLoad point (there are two uses of
// it, one per wait line: a sender's commit against a parked receiver on
// `data`, a receiver's release against a parked sender on `space`):
//
//   waiter                                  state changer
//   observed = line.signal (acquire)        change state, then either
//   line.parked += 1 (seq_cst)                a) seq_cst RMW, or
//   WaiterBarrier(line)                       b) store + ChangerBarrier(line)
//   re-check state (seq_cst loads)          if line.parked != 0:
//   futex_wait(line.signal, observed)           line.signal += 1
//                                               futex_wake(line.signal)
//
// Either the waiter's re-check sees the new state, or the changer's load of
// `parked` sees the waiter (and its bump of `signal` makes a late futex_wait
// return at once). For (a) the seq_cst total order proves it; (b) is the hot
// path (commit and release), where store_load_barrier.h moves the cost of the
// StoreLoad barrier to the waiter and proves the pairing. Parked waiters
// still wake every kPollInterval to look for dead peers, so a call blocked
// on a process that was killed returns within about two poll intervals of
// the kill.

#ifndef BUFFERED_PIPE_INTERNAL_WAIT_H_
#define BUFFERED_PIPE_INTERNAL_WAIT_H_

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "buffered_pipe/deadline.h"
#include "buffered_pipe/internal/futex.h"
#include "buffered_pipe/internal/layout.h"
#include "buffered_pipe/internal/schedule_point.h"
#include "buffered_pipe/internal/store_load_barrier.h"

namespace buffered_pipe::internal {

inline constexpr int kSpinRounds = 256;
inline constexpr int kYieldRounds = 32;
// How often a parked waiter looks for dead peers.
inline constexpr std::int64_t kPollIntervalNs = 50'000'000;
// How long a waiter sleeps when a peer is in the middle of a step (for
// example between claiming a frame and advancing the tail): such a peer is
// either preempted or dead, and will be found by the poll if dead.
inline constexpr std::int64_t kRetrySleepNs = 200'000;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

namespace wait_internal {
inline void WakeIfParked(WaitLine& line, std::memory_order order) {
  if (line.parked.load(order) != 0) {
    // Relaxed is enough for the bump: it only has to differ from the value
    // the parked waiter observed; the state itself was published by the
    // caller.
    line.signal.fetch_add(1, std::memory_order_relaxed);
    FutexWakeAll(&line.signal);
  }
}
}  // namespace wait_internal

// Wakes the waiters parked on `line`, if any. Call after a seq_cst
// read-modify-write that may let them proceed (pairing (a) above).
inline void WakeParked(WaitLine& line) {
  // SYNC POINT (Dekker (a)): seq_cst so that this load is ordered after the
  // caller's seq_cst state change.
  wait_internal::WakeIfParked(line, std::memory_order_seq_cst);
}

// Wakes the waiters parked on `line`, if any, after a plain (release) store
// that may let them proceed (pairing (b) above).
inline void WakeParkedAfterStore(WaitLine& line) {
  ChangerBarrier(line);
  // SYNC POINT (Dekker (b)): relaxed; the barrier above orders it after the
  // caller's store (see store_load_barrier.h).
  wait_internal::WakeIfParked(line, std::memory_order_relaxed);
}

// What one attempt of a blocking operation found.
enum class Step {
  kDone,     // finished, with a status
  kRetry,    // a peer is in the middle of a step: retry soon
  kBlocked,  // must wait for a peer (data, space, a hold)
};

// The result of one attempt: a Step, and the status it finished with. An
// attempt that also produces a value returns a struct derived from this one
// (e.g. Ring::ClaimAttempt), so that it is still one value.
struct Attempt {
  Step step = Step::kDone;
  absl::Status status;  // meaningful when step == kDone

  static Attempt Retry() { return {Step::kRetry, absl::OkStatus()}; }
  static Attempt Blocked() { return {Step::kBlocked, absl::OkStatus()}; }
  // Finished: OK, or the call's error.
  static Attempt Done(absl::Status status = absl::OkStatus()) {
    return {Step::kDone, std::move(status)};
  }
  bool done() const { return step == Step::kDone; }
  // Finished with a value to use (as opposed to an error, or a wait).
  bool succeeded() const { return done() && status.ok(); }
};

// Runs `attempt(bool polled) -> R` (R is Attempt or derived from it) until
// it is done, waiting on `line` in between; runs `poll() -> absl::Status`
// (the search for dead peers) every kPollIntervalNs of waiting, and returns
// its error if it finds one (the wait can never end, see owner_watch.h).
// `polled` tells the attempt that a poll has run since the call began (then
// shared counts that a crash may have left too high are worth recounting).
// Returns the finished attempt, or one whose status is DeadlineExceeded, or
// Unavailable for a non-blocking deadline that would have to wait.
template <typename AttemptFunction, typename Poll>
auto WaitLoop(WaitLine& line, const Deadline& deadline, AttemptFunction&& attempt, Poll&& poll)
    -> decltype(attempt(false)) {
  using Result = decltype(attempt(false));
  const auto finished = [](absl::Status status) {
    Result result;
    result.status = std::move(status);
    return result;
  };
  bool polled = false;
  for (int round = 0;; ++round) {
    Result result = attempt(polled);
    if (result.done()) return result;
    if (deadline.is_non_blocking()) {
      // A non-blocking call still rides out a peer's in-between step (it is
      // a few instructions long unless the peer is preempted or dead).
      if (result.step == Step::kRetry && round < kSpinRounds) {
        CpuRelax();
        continue;
      }
      if (!polled) {
        polled = true;
        if (absl::Status status = poll(); !status.ok()) return finished(std::move(status));
        continue;
      }
      return finished(absl::UnavailableError("the call would block"));
    }
    if (round < kSpinRounds) {
      CpuRelax();
      continue;
    }
    if (round < kSpinRounds + kYieldRounds) {
      sched_yield();
      continue;
    }
    break;
  }

  std::int64_t last_poll = Deadline::NowNanoseconds();
  for (;;) {
    const std::int64_t now = Deadline::NowNanoseconds();
    if (deadline.has_passed()) return finished(absl::DeadlineExceededError("deadline exceeded"));
    if (now - last_poll >= kPollIntervalNs) {
      if (absl::Status status = poll(); !status.ok()) return finished(std::move(status));
      polled = true;
      last_poll = now;
    }
    // SYNC POINT (Dekker): observe the signal, announce, re-check.
    const std::uint32_t observed = line.signal.load(std::memory_order_acquire);
    line.parked.fetch_add(1, std::memory_order_seq_cst);
    ReachSchedulePoint(SchedulePoint::kWaiterAnnounced);
    WaiterBarrier(line);
    Result result = attempt(polled);
    if (result.done()) {
      line.parked.fetch_sub(1, std::memory_order_relaxed);
      return result;
    }
    std::int64_t wake_at = std::min(deadline.monotonic_nanoseconds(), last_poll + kPollIntervalNs);
    if (result.step == Step::kRetry) wake_at = std::min(wake_at, now + kRetrySleepNs);
    FutexWait(&line.signal, observed, wake_at);
    // Relaxed: `parked` only steers whether wakers make a system call; a
    // stale non-zero value costs one spurious wake, never a lost one.
    line.parked.fetch_sub(1, std::memory_order_relaxed);
  }
}

}  // namespace buffered_pipe::internal

#endif  // BUFFERED_PIPE_INTERNAL_WAIT_H_
