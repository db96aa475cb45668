#include "benchmarks/common.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"

namespace buffered_pipe::bench {
namespace {

void FutexWait(std::atomic<std::uint32_t>* word, std::uint32_t expected) {
  // Shared (not FUTEX_PRIVATE): the word lives in MAP_SHARED memory used by
  // several processes.
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT, expected, nullptr,
          nullptr, 0);
}

void FutexWakeAll(std::atomic<std::uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE, INT32_MAX, nullptr,
          nullptr, 0);
}

// Runnable tasks on the machine right now (the 4th field of /proc/loadavg,
// "running/total"), the caller included; -1 if unreadable.
int RunnableTasks() {
  char text[128];
  const int fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  const ssize_t n = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (n <= 0) return -1;
  text[n] = '\0';
  double a, b, c;
  int running = -1, total;
  if (std::sscanf(text, "%lf %lf %lf %d/%d", &a, &b, &c, &running, &total) != 5) return -1;
  return running;
}

void SleepNs(std::int64_t ns) {
  timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

}  // namespace

void Die(const std::string& what) {
  std::string line = absl::StrCat("[", getpid(), "] benchmark error: ", what, "\n");
  (void)!write(STDERR_FILENO, line.data(), line.size());
  _exit(3);
}

void DieErrno(const std::string& what) { Die(absl::StrCat(what, ": ", std::strerror(errno))); }

void CheckOk(const absl::Status& status, const std::string& what) {
  if (!status.ok()) Die(absl::StrCat(what, ": ", status.ToString()));
}

std::int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t ProcessCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

double NsPerTick() {
  static const double ns_per_tick = [] {
    const std::int64_t t0 = NowNs();
    const std::uint64_t c0 = Ticks();
    SleepNs(20'000'000);
    const std::int64_t t1 = NowNs();
    const std::uint64_t c1 = Ticks();
    return static_cast<double>(t1 - t0) / static_cast<double>(c1 - c0);
  }();
  return ns_per_tick;
}

// --- SharedMapping -----------------------------------------------------------------

SharedMapping::SharedMapping(std::size_t bytes) : size_(bytes) {
  if (bytes == 0) return;
  data_ = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (data_ == MAP_FAILED) DieErrno("mmap of shared memory");
}

SharedMapping::~SharedMapping() {
  if (data_ != nullptr) munmap(data_, size_);
}

SharedMapping::SharedMapping(SharedMapping&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SharedMapping& SharedMapping::operator=(SharedMapping&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) munmap(data_, size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

// --- Run ---------------------------------------------------------------------------

Run::Run(std::size_t sample_capacity)
    : control_(sizeof(Control)), samples_(sample_capacity * sizeof(std::uint64_t)) {
  new (control_.data()) Control();
}

Run::~Run() {
  if (!waited_ && !pids_.empty()) {
    std::string ignored;
    Wait(0, &ignored);
  }
}

void Run::Spawn(int cpu, const std::function<void(WorkerReport&)>& body) {
  const int index = static_cast<int>(pids_.size());
  Check(index < kMaxWorkers, "too many workers");
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) DieErrno("fork");
  if (pid == 0) {
    WorkerReport& report = control().workers[index];
    if (cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      (void)sched_setaffinity(0, sizeof(set), &set);  // best effort (e.g. 1-CPU cgroups)
    }
    body(report);
    if (report.status == 0) report.status = 1;
    _exit(0);
  }
  pids_.push_back(pid);
}

bool Run::Go(std::int64_t timeout_ns) {
  const std::int64_t give_up = NowNs() + timeout_ns;
  Control& c = control();
  while (c.ready.load(std::memory_order_acquire) < pids_.size()) {
    for (pid_t pid : pids_) {
      int status;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        // A worker ended before the start: let the others go so that they
        // do not wait forever; Wait() reports the failure.
        for (std::size_t i = 0; i < pids_.size(); ++i) {
          if (pids_[i] == pid) pids_[i] = -pid;  // already reaped
        }
        c.go_ns = NowNs();
        c.go.store(1, std::memory_order_release);
        FutexWakeAll(&c.go);
        return false;
      }
    }
    if (NowNs() > give_up) return false;
    SleepNs(50'000);
  }
  c.go_ns = NowNs();
  // Release: go_ns is visible to every worker that sees go == 1.
  c.go.store(1, std::memory_order_release);
  FutexWakeAll(&c.go);
  return true;
}

bool Run::Wait(std::int64_t timeout_ns, std::string* error) {
  waited_ = true;
  const std::int64_t give_up = NowNs() + timeout_ns;
  bool ok = true;
  std::vector<int> statuses(pids_.size(), 0);
  std::vector<bool> done(pids_.size(), false);
  for (std::size_t i = 0; i < pids_.size(); ++i) {
    if (pids_[i] < 0) {
      done[i] = true;
      statuses[i] = 1 << 8;  // reaped in Go(): a failure
    }
  }
  for (;;) {
    bool all = true;
    for (std::size_t i = 0; i < pids_.size(); ++i) {
      if (done[i]) continue;
      const pid_t got = waitpid(pids_[i], &statuses[i], WNOHANG);
      if (got == pids_[i]) {
        done[i] = true;
      } else {
        all = false;
      }
    }
    if (all) break;
    // Contention: more runnable tasks than our workers (and this parent,
    // which is running while it reads).
    if (const int runnable = RunnableTasks(); runnable >= 0) {
      ++samples_taken_;
      if (runnable - 1 > static_cast<int>(pids_.size()) * threads_per_worker_) ++samples_contended_;
    }
    if (NowNs() > give_up) {
      for (std::size_t i = 0; i < pids_.size(); ++i) {
        if (!done[i]) {
          kill(pids_[i], SIGKILL);
          waitpid(pids_[i], &statuses[i], 0);
          done[i] = true;
          if (ok) *error = absl::StrCat("worker ", i, " timed out (killed)");
          ok = false;
        }
      }
      break;
    }
    SleepNs(1'000'000);
  }
  // Each worker's outcome.
  for (std::size_t i = 0; i < pids_.size(); ++i) {
    const WorkerReport& r = control().workers[i];
    const bool exited_ok = WIFEXITED(statuses[i]) && WEXITSTATUS(statuses[i]) == 0;
    if (!exited_ok || r.status != 1) {
      if (ok) {
        if (r.status == 2 || r.error[0] != '\0') {
          *error = absl::StrCat("worker ", i, ": ", r.error);
        } else if (WIFSIGNALED(statuses[i])) {
          *error = absl::StrCat("worker ", i, " killed by signal ", WTERMSIG(statuses[i]));
        } else {
          *error = absl::StrCat("worker ", i, " exited with status ",
                                WIFEXITED(statuses[i]) ? WEXITSTATUS(statuses[i]) : -1);
        }
      }
      ok = false;
    }
  }
  return ok;
}

void Ready(Control& control) {
  control.ready.fetch_add(1, std::memory_order_acq_rel);
  while (control.go.load(std::memory_order_acquire) == 0) FutexWait(&control.go, 0);
}

void PassiveReady(Control& control) {
  control.passive_ready.fetch_add(1, std::memory_order_acq_rel);
}

void AwaitPassive(Control& control, std::uint32_t count) {
  while (control.passive_ready.load(std::memory_order_acquire) < count) SleepNs(20'000);
}

void WorkerFail(WorkerReport& report, const std::string& what) {
  report.status = 2;
  const std::size_t n = std::min(what.size(), sizeof(report.error) - 1);
  std::memcpy(report.error, what.data(), n);
  report.error[n] = '\0';
  Die(what);
}

void ContextSwitches(std::int64_t* voluntary, std::int64_t* involuntary) {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  *voluntary = usage.ru_nvcsw;
  *involuntary = usage.ru_nivcsw;
}

// --- Payload -------------------------------------------------------------------------

void Payload::Free::operator()(std::byte* p) const { std::free(p); }

Payload::Payload(std::size_t size, std::uint64_t tag) : size_(size) {
  const std::size_t rounded = (std::max<std::size_t>(size, 8) + kCacheLine - 1) / kCacheLine * kCacheLine;
  data_.reset(static_cast<std::byte*>(std::aligned_alloc(kCacheLine, rounded)));
  Check(data_ != nullptr, "payload allocation");
  for (std::size_t i = 0; i < rounded; ++i) data_.get()[i] = static_cast<std::byte>(i * 131 + 7);
  if (size >= sizeof(tag)) std::memcpy(data_.get(), &tag, sizeof(tag));
}

std::string SizeName(std::uint64_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return absl::StrCat(bytes >> 20, " MiB");
  if (bytes >= 1024 && bytes % 1024 == 0) return absl::StrCat(bytes >> 10, " KiB");
  return absl::StrCat(bytes, " B");
}

std::string UniqueName(const char* prefix) {
  static std::atomic<int> counter{0};
  return absl::StrCat(prefix, getpid(), "_", counter.fetch_add(1));
}

std::string LoopbackEndpoint(Scheme scheme, const char* name) {
  if (scheme == Scheme::kIpc) {
    const std::string path = UniqueName(absl::StrCat("/tmp/bp_bench_", name, "_").c_str());
    unlink(path.c_str());
    return absl::StrCat("ipc://", path);
  }
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  Check(fd >= 0, "socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;  // the kernel picks a free port
  socklen_t length = sizeof(address);
  Check(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
            getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0,
        "bind to a free loopback port");
  close(fd);
  return absl::StrCat("tcp://127.0.0.1:", ntohs(address.sin_port));
}

std::string IpcPath(const std::string& endpoint) {
  constexpr std::string_view kIpc = "ipc://";
  return endpoint.rfind(kIpc, 0) == 0 ? endpoint.substr(kIpc.size()) : "";
}

}  // namespace buffered_pipe::bench
