#include "buffered_pipe/internal/store_load_barrier.h"

#include <linux/membarrier.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <mutex>

namespace buffered_pipe::internal {
namespace store_load_barrier_internal {
std::atomic<bool> registered{false};
}  // namespace store_load_barrier_internal

namespace {

long Membarrier(int command) { return syscall(SYS_membarrier, command, 0, 0); }

bool KernelHasExpeditedGlobal() {
  static const bool supported = [] {
    const long commands = Membarrier(MEMBARRIER_CMD_QUERY);
    constexpr long kNeeded =
        MEMBARRIER_CMD_GLOBAL_EXPEDITED | MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED;
    return commands >= 0 && (commands & kNeeded) == kNeeded;
  }();
  return supported;
}

void RegisterThisProcess() {
  // Relaxed: `registered` is read only to choose the changer's barrier, and
  // the registration itself is a system call that completes before any
  // later instruction of this thread.
  store_load_barrier_internal::registered.store(
      KernelHasExpeditedGlobal() && Membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) == 0,
      std::memory_order_relaxed);
}

}  // namespace

void RegisterForStoreLoadBarrier() {
  static std::once_flag once;
  std::call_once(once, [] {
    RegisterThisProcess();
    // A child of fork() is a new process: register it too (a no-op if the
    // kernel carried the registration over), before its code runs on.
    pthread_atfork(nullptr, nullptr, RegisterThisProcess);
  });
}

void WaiterBarrier(WaitLine& line) {
  if (KernelHasExpeditedGlobal() && Membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) == 0) return;
  // seq_cst: the fallback pairing (see the header) needs it in the total
  // order; sticky, so changers switch to fences for this line.
  if (line.waiters_without_barrier.load(std::memory_order_relaxed) == 0) {
    line.waiters_without_barrier.store(1, std::memory_order_seq_cst);
  }
}

}  // namespace buffered_pipe::internal
