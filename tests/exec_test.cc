// exec() and inherited ends (issue 10): a forked child that calls exec()
// loses its mappings, and with them the ends it inherited; survivors find
// its slot alive but unmapped (/proc/<pid>/map_files) and take its ends out,
// so end of stream comes as if the child had closed them, while the new
// program still runs.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "buffered_pipe/pipe.h"
#include "buffered_pipe/status.h"
#include "gtest/gtest.h"
#include "tests/test_support.h"

namespace buffered_pipe {
namespace {

using Clock = std::chrono::steady_clock;
using ::buffered_pipe::testing::TimeScale;

TEST(ExecTest, AChildThatExecsStopsCountingAsAHolderOfItsInheritedEnds) {
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = Pipe({.buffer_size = 4096});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  // Named references, not a structured binding: clang 14 cannot capture one.
  PipeEnd& receiver = pipe->first;
  PipeEnd& sender = pipe->second;
  ASSERT_TRUE(sender.send_bytes("before").ok());
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    execl("/bin/sleep", "sleep", "30", static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_TRUE(sender.close().ok());
  EXPECT_EQ(*receiver.recv_bytes_for(std::chrono::seconds(10)), "before");
  const Clock::time_point begin = Clock::now();
  const absl::Status status = receiver.recv_bytes_for(std::chrono::seconds(10)).status();
  const auto took = Clock::now() - begin;
  EXPECT_TRUE(IsEndOfStream(status)) << status;
  EXPECT_LT(took, std::chrono::seconds(1) * TimeScale());
  // The program is still running: it was its exec, not its exit, that counted.
  EXPECT_EQ(waitpid(child, nullptr, WNOHANG), 0);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
}

}  // namespace
}  // namespace buffered_pipe
