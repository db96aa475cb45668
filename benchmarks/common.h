// Plumbing shared by the benchmark binaries: clocks, memory shared with
// forked workers, the start barrier, and how a worker reports back.
//
// A cross-process measurement ("a run") goes like this:
//
//   parent                                  each worker (a forked child)
//   Run run(worker_count);                  
//   run.Spawn(cpu, body) ...     ---->      pins itself, builds its end of the
//                                           transport (receivers first), warms
//                                           up, then Ready(): waits for `go`
//   run.Go()  (all ready: t0, go = 1)  -->  timed loop; fills its WorkerReport
//   run.Wait()                     <----    _exit(0)
//
// The parent sleeps in waitpid while the workers run, so on a 2-CPU machine
// the two workers of a one-to-one case have a CPU each.

#ifndef BUFFERED_PIPE_BENCHMARKS_COMMON_H_
#define BUFFERED_PIPE_BENCHMARKS_COMMON_H_

#include <sys/types.h>
#include <x86intrin.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace buffered_pipe::bench {

inline constexpr std::size_t kCacheLine = 64;

// --- Failing -----------------------------------------------------------------

// Prints "[pid] benchmark error: <what>" to stderr and ends the process
// (_exit(3)): in a worker the parent sees the failure and reports the case
// as failed; in the parent it ends the run.
[[noreturn]] void Die(const std::string& what);
inline void Check(bool ok, const std::string& what) {
  if (!ok) Die(what);
}
void CheckOk(const absl::Status& status, const std::string& what);
// Dies with strerror(errno) appended.
[[noreturn]] void DieErrno(const std::string& what);

// --- Clocks --------------------------------------------------------------------

// CLOCK_MONOTONIC nanoseconds: the same clock in every process.
std::int64_t NowNs();
// CPU time of the calling process (all its threads).
std::int64_t ProcessCpuNs();
// Time-stamp counter: ~20 cycles to read, invariant on this machine
// (constant_tsc, nonstop_tsc); used for round-trip samples.
inline std::uint64_t Ticks() { return __rdtsc(); }
// Nanoseconds per tick, measured once against CLOCK_MONOTONIC (~20 ms).
double NsPerTick();

// --- Shared memory -------------------------------------------------------------

// Anonymous MAP_SHARED memory, inherited by forked children, zeroed.
class SharedMapping {
 public:
  SharedMapping() = default;
  explicit SharedMapping(std::size_t bytes);
  ~SharedMapping();
  SharedMapping(SharedMapping&& other) noexcept;
  SharedMapping& operator=(SharedMapping&& other) noexcept;
  SharedMapping(const SharedMapping&) = delete;
  SharedMapping& operator=(const SharedMapping&) = delete;

  void* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

// --- Workers ---------------------------------------------------------------------

inline constexpr int kMaxWorkers = 8;

// What a worker tells the parent. Written by the worker only, read by the
// parent after waitpid (which orders it).
struct WorkerReport {
  int status;             // 0: did not finish, 1: ok, 2: failed
  std::int64_t end_ns;    // NowNs() when its timed loop ended
  std::uint64_t messages; // messages sent or received in the timed loop
  std::uint64_t bytes;
  std::uint64_t heap_allocations;  // malloc-family calls during the timed loop
  std::int64_t cpu_ns;             // CPU time of the process during the timed loop
  std::int64_t wall_ns;            // wall time of the timed loop
  std::int64_t voluntary_switches; // context switches during the loop (getrusage)
  std::int64_t involuntary_switches;
  double value;                    // case-specific (e.g. a wake-up latency)
  char error[200];
};

// The block shared by the parent and the workers of one run.
struct alignas(kCacheLine) Control {
  alignas(kCacheLine) std::atomic<std::uint32_t> passive_ready;  // receivers built their ends
  std::atomic<std::uint32_t> ready;          // workers waiting for go
  alignas(kCacheLine) std::atomic<std::uint32_t> go;  // futex word: 0, then 1
  std::int64_t go_ns;                        // written before go = 1
  alignas(kCacheLine) std::atomic<std::uint32_t> senders_done;  // many-to-many end-of-data
  alignas(kCacheLine) WorkerReport workers[kMaxWorkers];
};

// One cross-process run: forks workers, starts them together, collects.
class Run {
 public:
  // `sample_capacity`: 64-bit slots of shared memory for samples (latency).
  explicit Run(std::size_t sample_capacity = 0);
  ~Run();
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  Control& control() { return *static_cast<Control*>(control_.data()); }
  std::uint64_t* samples() { return static_cast<std::uint64_t*>(samples_.data()); }

  // Forks worker number `index` (== number of workers spawned so far),
  // pinned to `cpu` (or unpinned if cpu < 0). `body` runs in the child; the
  // child then _exit(0)s without running the parent's destructors.
  void Spawn(int cpu, const std::function<void(WorkerReport&)>& body);

  // Waits until every spawned worker called Ready(), then records go_ns and
  // releases them. False if a worker died or `timeout_ns` passed.
  bool Go(std::int64_t timeout_ns);
  // Waits for every worker to exit; kills those still running after
  // `timeout_ns`. True if every worker exited with status 0 and reported ok.
  // `error` receives the first failure.
  bool Wait(std::int64_t timeout_ns, std::string* error);

  int worker_count() const { return static_cast<int>(pids_.size()); }
  // Share of the parent's samples (one per millisecond between Go() and the
  // workers' exit) in which more tasks were runnable on the machine than
  // this run's workers: other processes competed for the CPUs.
  // Fewer than 3 contended samples count as none (a kernel thread waking
  // up for a moment).
  double contention() const {
    return samples_taken_ == 0 || samples_contended_ < 3
               ? 0
               : static_cast<double>(samples_contended_) / static_cast<double>(samples_taken_);
  }
  // Threads each worker may keep runnable (ZeroMQ: the caller and its I/O
  // thread); more runnable tasks than that mean contention.
  void set_threads_per_worker(int threads) { threads_per_worker_ = threads; }
  const WorkerReport& report(int index) { return control().workers[index]; }

 private:
  SharedMapping control_;
  SharedMapping samples_;
  std::vector<pid_t> pids_;
  bool waited_ = false;
  std::uint64_t samples_taken_ = 0;
  std::uint64_t samples_contended_ = 0;
  int threads_per_worker_ = 1;
};

// In a worker: announces it is ready and blocks until the parent says go.
void Ready(Control& control);
// In a receiving worker: announces its end exists (senders may connect).
void PassiveReady(Control& control);
// In a sending worker: waits until `count` receiving workers are built.
void AwaitPassive(Control& control, std::uint32_t count);

// Fills `report` with the failure and exits the worker.
[[noreturn]] void WorkerFail(WorkerReport& report, const std::string& what);

// Context switches of the calling process so far (getrusage).
void ContextSwitches(std::int64_t* voluntary, std::int64_t* involuntary);

// --- Heap allocations (alloc_counter.cc) -------------------------------------------

// Number of malloc / calloc / realloc / aligned allocations made by this
// process so far (all threads; operator new goes through malloc). The
// benchmark binaries replace the malloc family with counting wrappers.
std::uint64_t HeapAllocations();

// --- Messages ------------------------------------------------------------------------

// The first 8 bytes of a message ("tag"): in one-to-one runs its sequence
// number; in many-to-many runs 0 for data and kSentinel for the end-of-data
// markers (every message is at least 8 bytes).
inline constexpr std::uint64_t kSentinel = 0x454e442d4f462d44ULL;  // "D-FO-DNE"

// A 64-byte aligned buffer of `size` bytes (at least 8) filled with a
// pattern whose first 8 bytes are `tag`.
class Payload {
 public:
  Payload() = default;
  Payload(std::size_t size, std::uint64_t tag);
  Payload(Payload&&) noexcept = default;
  Payload& operator=(Payload&&) noexcept = default;
  std::span<const std::byte> bytes() const { return {data_.get(), size_}; }
  std::byte* data() { return data_.get(); }
  std::size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(std::byte* p) const;
  };
  std::unique_ptr<std::byte, Free> data_;
  std::size_t size_ = 0;
};

inline std::uint64_t TagOf(std::span<const std::byte> message) {
  std::uint64_t tag = 0;
  if (message.size() >= sizeof(tag)) __builtin_memcpy(&tag, message.data(), sizeof(tag));
  return tag;
}

// "8 B", "64 KiB", "16 MiB".
std::string SizeName(std::uint64_t bytes);

// A name no other run of this process has used: prefix, pid, counter.
std::string UniqueName(const char* prefix);

// Where a socket transport's passive end binds, chosen in the parent before
// the fork so that both workers know it: a unique ipc:// path under /tmp, or
// tcp://127.0.0.1 with a port that was free a moment ago (bound to port 0
// and released; nothing else on a test machine takes it in between).
enum class Scheme { kIpc, kTcp };
std::string LoopbackEndpoint(Scheme scheme, const char* name);
// The socket file of an ipc:// endpoint ("" for tcp://).
std::string IpcPath(const std::string& endpoint);

}  // namespace buffered_pipe::bench

#endif  // BUFFERED_PIPE_BENCHMARKS_COMMON_H_
