// Out of shared memory: creation fails with a clear error (ResourceExhausted),
// never a SIGBUS later. Creation reserves every page of a segment
// (posix_fallocate) before anyone uses it; these tests prove it on a small
// private tmpfs mounted over /dev/shm in a mount namespace of a child
// process (named pipes), and under RLIMIT_FSIZE (anonymous pipes, which live
// in memfd files outside /dev/shm).
//
// Why not simply ask for more memory than the machine has: an anonymous
// pipe's memfd is not bounded by /dev/shm's size, and reserving it takes
// pages until the kernel's OOM killer steps in (see the report in
// README.md): not something a test may do on a shared machine.

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>

#include "absl/strings/str_cat.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/static_pipe.h"
#include "buffered_pipe/status.h"
#include "gtest/gtest.h"
#include "tests/test_support.h"

namespace buffered_pipe {
namespace {

using ::buffered_pipe::testing::SharedMemory;
using ::buffered_pipe::testing::ShortMessage;
using ::buffered_pipe::testing::UniqueName;

constexpr int kSkip = 77;

// What a child reports: a failure text, or why the test cannot run here.
struct Report {
  char text[1024];
};

// Runs `body` in a child; returns its exit code (-signal if killed).
int RunInChild(const std::function<int(Report&)>& body, Report* report) {
  SharedMemory memory(sizeof(Report));
  auto* shared = new (memory.data()) Report();
  const pid_t pid = fork();
  if (pid == 0) _exit(body(*shared));
  int status = 0;
  waitpid(pid, &status, 0);
  *report = *shared;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

// SIGBUS, caught by our own handler (the sanitizers would otherwise turn
// it into a report and exit code 1): exit code kSigbus.
constexpr int kSigbus = 42;
Report* sigbus_report = nullptr;
void OnSigbus(int) {
  if (sigbus_report != nullptr) {
    static const char kText[] = "SIGBUS: a page of a pipe made earlier was not reserved";
    std::memcpy(sigbus_report->text, kText, sizeof(kText));
  }
  _exit(kSigbus);
}
void CatchSigbus(Report* report) {
  sigbus_report = report;
  struct sigaction action {};
  action.sa_handler = OnSigbus;
  sigaction(SIGBUS, &action, nullptr);
}

int Fail(Report& report, const std::string& text) {
  std::snprintf(report.text, sizeof(report.text), "%s", text.c_str());
  return 1;
}

// In this (child) process: a private mount namespace with a tmpfs of
// `bytes` on /dev/shm. kSkip (with the reason) if the machine does not
// allow it.
int MountSmallTmpfs(std::size_t bytes, Report& report) {
  if (unshare(CLONE_NEWNS) != 0) {
    std::snprintf(report.text, sizeof(report.text), "unshare(CLONE_NEWNS): %s", std::strerror(errno));
    return kSkip;
  }
  // Our mounts must not propagate back to the machine's namespace.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    std::snprintf(report.text, sizeof(report.text), "making / private: %s", std::strerror(errno));
    return kSkip;
  }
  const std::string options = absl::StrCat("size=", bytes, ",mode=1777");
  if (mount("tmpfs", "/dev/shm", "tmpfs", 0, options.c_str()) != 0) {
    std::snprintf(report.text, sizeof(report.text), "mounting a tmpfs on /dev/shm: %s",
                  std::strerror(errno));
    return kSkip;
  }
  return 0;
}

bool NameExists(const std::string& name) {
  struct stat file {};
  return stat(("/dev/shm/" + name).c_str(), &file) == 0;
}

// Writes to /dev/shm/<name> until the file system is full. Returns its size.
std::size_t FillUp(const std::string& name) {
  const int descriptor = open(("/dev/shm/" + name).c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  std::string block(64 * 1024, 'f');
  std::size_t total = 0;
  for (std::size_t chunk = block.size(); chunk >= 4096; chunk /= 2) {
    for (;;) {
      const ssize_t written = write(descriptor, block.data(), chunk);
      if (written <= 0) break;
      total += static_cast<std::size_t>(written);
    }
  }
  close(descriptor);
  return total;
}

TEST(ResourceTest, ABufferAboveTheMaximumIsInvalid) {
  EXPECT_TRUE(absl::IsInvalidArgument(Pipe({.buffer_size = (std::uint64_t{1} << 36) + 1}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      StaticPipe({.object_size = std::uint64_t{1} << 20, .object_count = std::uint64_t{1} << 20}).status()));
}

TEST(ResourceTest, AnAnonymousPipeLargerThanAllowedIsResourceExhausted) {
  Report report{};
  const int code = RunInChild(
      [](Report& report) {
        // A file size limit stands in for a machine without the memory.
        signal(SIGXFSZ, SIG_IGN);
        const rlimit limit{8 << 20, 8 << 20};
        if (setrlimit(RLIMIT_FSIZE, &limit) != 0) return Fail(report, "setrlimit");
        absl::StatusOr<std::pair<PipeEnd, PipeEnd>> big = Pipe({.buffer_size = 64 << 20});
        if (!absl::IsResourceExhausted(big.status())) {
          return Fail(report, absl::StrCat("64 MiB pipe: ", big.status().ToString()));
        }
        absl::StatusOr<std::pair<StaticPipeEnd, StaticPipeEnd>> records =
            StaticPipe({.object_size = 4096, .object_count = 4096});
        if (!absl::IsResourceExhausted(records.status())) {
          return Fail(report, absl::StrCat("16 MiB static pipe: ", records.status().ToString()));
        }
        std::snprintf(report.text, sizeof(report.text), "%s", big.status().ToString().c_str());
        // What fits still works.
        absl::StatusOr<std::pair<PipeEnd, PipeEnd>> small = Pipe({.buffer_size = 1 << 20});
        if (!small.ok()) return Fail(report, absl::StrCat("1 MiB pipe: ", small.status().ToString()));
        return 0;
      },
      &report);
  EXPECT_EQ(code, 0) << report.text;
  std::fprintf(stderr, "error of the 64 MiB pipe: %s\n", report.text);
}

TEST(ResourceTest, ANamedPipeLargerThanTheTmpfsIsResourceExhaustedAndLeavesNoName) {
  Report report{};
  const int code = RunInChild(
      [](Report& report) {
        if (const int mounted = MountSmallTmpfs(8 << 20, report); mounted != 0) return mounted;
        const std::string name = UniqueName("too-big");
        for (const std::uint64_t buffer : {std::uint64_t{16} << 20, std::uint64_t{1} << 34}) {
          absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name, {.buffer_size = buffer});
          if (!absl::IsResourceExhausted(pipe.status())) {
            return Fail(report, absl::StrCat(buffer, " B: ", pipe.status().ToString()));
          }
          if (NameExists(name)) return Fail(report, "the failed creation left its name behind");
        }
        absl::StatusOr<std::pair<StaticPipeEnd, StaticPipeEnd>> records = CreateNamedStaticPipe(
            name, {.object_size = 1 << 16, .object_count = 1 << 10});
        if (!absl::IsResourceExhausted(records.status())) {
          return Fail(report, absl::StrCat("64 MiB static pipe: ", records.status().ToString()));
        }
        if (NameExists(name)) return Fail(report, "the failed creation left its name behind");
        return 0;
      },
      &report);
  if (code == kSkip) GTEST_SKIP() << "no private tmpfs here: " << report.text;
  EXPECT_EQ(code, 0) << report.text;
}

// The proof that creation reserves the memory: in a tmpfs that is filled to
// the last byte after the pipe was made, the pipe still works through its
// whole ring, many times over; while a segment made without reserving
// (ftruncate + mmap, the control) dies of SIGBUS at its first touch.
TEST(ResourceTest, AFullTmpfsFailsAtCreationNeverWithASigbusLater) {
  Report report{};
  const int code = RunInChild(
      [](Report& report) {
        if (const int mounted = MountSmallTmpfs(4 << 20, report); mounted != 0) return mounted;
        CatchSigbus(&report);
        // Fill the tmpfs, then free about 600 KiB.
        const std::string filler = "filler";
        const std::size_t full = FillUp(filler);
        if (truncate(("/dev/shm/" + filler).c_str(), static_cast<off_t>(full - 600 * 1024)) != 0) {
          return Fail(report, "truncate");
        }
        // Too big for what is left: refused at creation.
        absl::StatusOr<std::pair<PipeEnd, PipeEnd>> big =
            CreateNamedPipe(UniqueName("big"), {.buffer_size = 1 << 20});
        if (!absl::IsResourceExhausted(big.status())) {
          return Fail(report, absl::StrCat("1 MiB pipe in 600 KiB: ", big.status().ToString()));
        }
        // What fits is made, and reserved.
        absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe =
            CreateNamedPipe(UniqueName("fits"), {.buffer_size = 256 * 1024});
        if (!pipe.ok()) return Fail(report, absl::StrCat("256 KiB pipe: ", pipe.status().ToString()));
        absl::StatusOr<std::pair<StaticPipeEnd, StaticPipeEnd>> records =
            CreateNamedStaticPipe(UniqueName("records"), {.object_size = 1000, .object_count = 64});
        if (!records.ok()) return Fail(report, absl::StrCat("static pipe: ", records.status().ToString()));
        // Now not one byte is left.
        FillUp(filler);
        const int probe = open("/dev/shm/probe", O_WRONLY | O_CREAT, 0600);
        if (probe < 0 || write(probe, "x", 1) == 1 || errno != ENOSPC) {
          return Fail(report, "the tmpfs is not full");
        }
        close(probe);
        // Eight laps of the generic ring and of the static ring: every page
        // is written and read. A page that was not reserved would SIGBUS.
        for (int i = 0; i < 2048; ++i) {
          const std::string message = ShortMessage(static_cast<std::uint64_t>(i), 1000);
          if (!pipe->second.send_bytes(message).ok()) return Fail(report, "send");
          absl::StatusOr<std::string> received = pipe->first.recv_bytes();
          if (!received.ok() || *received != message) return Fail(report, "receive");
        }
        for (int i = 0; i < 512; ++i) {
          const std::string record = ShortMessage(static_cast<std::uint64_t>(i), 1000);
          if (!records->second.send_bytes(record).ok()) return Fail(report, "static send");
          absl::StatusOr<std::string> received = records->first.recv_bytes();
          if (!received.ok() || *received != record) return Fail(report, "static receive");
        }
        // The control: a segment sized but not reserved dies of SIGBUS.
        const int raw = shm_open("/unreserved", O_RDWR | O_CREAT, 0600);
        if (raw < 0 || ftruncate(raw, 256 * 1024) != 0) return Fail(report, "control: ftruncate");
        const pid_t toucher = fork();
        if (toucher == 0) {
          CatchSigbus(nullptr);
          void* memory = mmap(nullptr, 256 * 1024, PROT_READ | PROT_WRITE, MAP_SHARED, raw, 0);
          if (memory == MAP_FAILED) _exit(3);
          std::memset(memory, 1, 256 * 1024);
          _exit(0);
        }
        int status = 0;
        waitpid(toucher, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != kSigbus) {
          return Fail(report, "control: touching an unreserved segment in a full tmpfs did not "
                              "SIGBUS, so this test proves nothing here");
        }
        return 0;
      },
      &report);
  if (code == kSkip) GTEST_SKIP() << "no private tmpfs here: " << report.text;
  EXPECT_NE(code, kSigbus) << "a pipe made in a then-full tmpfs died of SIGBUS";
  EXPECT_EQ(code, 0) << report.text;
}

}  // namespace
}  // namespace buffered_pipe
