// The StoreLoad barrier of the wake-up pairing, paid by the side that sleeps.
//
// A waiter that parks and a party that changes state (wait.h) each store
// something and then load what the other stored: the waiter stores
// `parked` and re-checks the state, the changer stores the state and loads
// `parked`. Both loads may not pass their own store (StoreLoad), or each may
// miss the other and the waiter sleeps through the change. On the hot path
// the changer is a sender committing a message or a receiver releasing one,
// many times per microsecond; the waiter parks at most once per idle period.
// So the barrier is asymmetric:
//
//   changer (ChangerBarrier)              waiter (WaiterBarrier)
//   store state (release)                 parked += 1 (seq_cst RMW)
//   compiler barrier only                 membarrier(GLOBAL_EXPEDITED)
//   load parked                           re-check state
//
// membarrier(2) with MEMBARRIER_CMD_GLOBAL_EXPEDITED makes every CPU that
// runs a thread of a registered process execute a full memory barrier before
// it returns (a thread that is not running has passed a context switch,
// itself a full barrier). Take the barrier point X on the changer's CPU:
// if the changer's load of `parked` comes after X, it sees the waiter's
// increment (made before the system call); if it comes before X, so does
// the state store, which X makes visible before the call returns, so the
// waiter's re-check sees it. Either way one side sees the other.
//
// Fallback: where the kernel lacks the command (before Linux 4.16) or a
// seccomp filter refuses it, the changer executes a seq_cst fence instead,
// which pairs with the waiter's seq_cst RMW of `parked` and its seq_cst
// re-check loads in the C++ memory model's single total order. A waiter
// whose membarrier fails marks its line (WaitLine::waiters_without_barrier,
// sticky), and every changer then fences for that line. Until a changer
// sees the mark, a wake-up can be missed once; parked waiters wake every
// kPollIntervalNs anyway, so that costs at most one poll interval, once.
//
// Thread-safety: all functions are safe from any thread; Register is
// idempotent and re-run in a forked child.

#ifndef BUFFERED_PIPE_INTERNAL_STORE_LOAD_BARRIER_H_
#define BUFFERED_PIPE_INTERNAL_STORE_LOAD_BARRIER_H_

#include <atomic>

#include "buffered_pipe/internal/layout.h"

namespace buffered_pipe::internal {

// Registers this process for membarrier's expedited global command, so that
// waiters' barriers reach its threads. Called when the process first
// attaches a segment, before any of its threads can change ring state.
void RegisterForStoreLoadBarrier();

namespace store_load_barrier_internal {
// True once this process is registered (then its changers may skip the fence).
extern std::atomic<bool> registered;
}  // namespace store_load_barrier_internal

// The changer's half: call between a state store and the load of `parked`
// of `line`.
inline void ChangerBarrier(const WaitLine& line) {
  // Relaxed loads: both words only choose between two correct barriers;
  // a stale `waiters_without_barrier` costs at most one poll interval (above).
  if (store_load_barrier_internal::registered.load(std::memory_order_relaxed) &&
      line.waiters_without_barrier.load(std::memory_order_relaxed) == 0) {
    std::atomic_signal_fence(std::memory_order_seq_cst);  // the compiler's order only
  } else {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
}

// The waiter's half: call between the seq_cst increment of `parked` of
// `line` and the re-check of the state.
void WaiterBarrier(WaitLine& line);

}  // namespace buffered_pipe::internal

#endif  // BUFFERED_PIPE_INTERNAL_STORE_LOAD_BARRIER_H_
