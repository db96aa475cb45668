#include "buffered_pipe/internal/futex.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <limits>

namespace buffered_pipe::internal {

void FutexWait(std::atomic<std::uint32_t>* word, std::uint32_t expected, std::int64_t deadline_ns) {
  timespec deadline{};
  timespec* deadline_pointer = nullptr;
  if (deadline_ns != std::numeric_limits<std::int64_t>::max()) {
    if (deadline_ns < 0) deadline_ns = 0;
    deadline.tv_sec = static_cast<time_t>(deadline_ns / 1000000000);
    deadline.tv_nsec = static_cast<long>(deadline_ns % 1000000000);
    deadline_pointer = &deadline;
  }
  // FUTEX_WAIT_BITSET takes an absolute deadline on CLOCK_MONOTONIC (no
  // FUTEX_CLOCK_REALTIME flag). Not FUTEX_PRIVATE_FLAG: the word is shared
  // between processes.
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_BITSET, expected,
          deadline_pointer, nullptr, FUTEX_BITSET_MATCH_ANY);
}

void FutexWakeAll(std::atomic<std::uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE, INT_MAX, nullptr, nullptr,
          0);
}

}  // namespace buffered_pipe::internal
