// Forks from a process that has a second thread running; the child starts a
// thread of its own. Under --config=tsan this only passes because .bazelrc
// sets TSAN_OPTIONS=die_after_fork=0 (TSan's default kills such a child),
// which our shared-memory tests rely on.
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "gtest/gtest.h"

namespace {

TEST(ForkThreadTest, ChildOfMultiThreadedParentCanStartThreads) {
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::atomic<bool> started{false};
  std::thread background([&] {
    started = true;
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return stop; });
  });
  while (!started) std::this_thread::yield();

  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: only async-signal-safe work plus one thread, then _exit.
    std::atomic<int> value{0};
    std::thread child_thread([&] { value = 42; });
    child_thread.join();
    _exit(value == 42 ? 0 : 3);
  }

  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
  }
  cv.notify_all();
  background.join();
  ASSERT_TRUE(WIFEXITED(status)) << "child died, status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
