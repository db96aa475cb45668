// Thin wrappers over the Linux futex system call on shared (not private)
// futex words, so that waiters and wakers may live in different processes.

#ifndef BUFFERED_PIPE_INTERNAL_FUTEX_H_
#define BUFFERED_PIPE_INTERNAL_FUTEX_H_

#include <atomic>
#include <cstdint>

namespace buffered_pipe::internal {

// Sleeps while `*word == expected`, until woken or until the CLOCK_MONOTONIC
// time `deadline_ns` (INT64_MAX: no limit). Returns on a wake, a value change,
// a signal or the deadline alike: callers re-check their condition.
void FutexWait(std::atomic<std::uint32_t>* word, std::uint32_t expected, std::int64_t deadline_ns);

// Wakes every thread sleeping in FutexWait on `word`.
void FutexWakeAll(std::atomic<std::uint32_t>* word);

}  // namespace buffered_pipe::internal

#endif  // BUFFERED_PIPE_INTERNAL_FUTEX_H_
