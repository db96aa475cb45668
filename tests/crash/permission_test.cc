// Named pipes and other users. A pipe is created owner-only (0600) unless a
// mode says otherwise (exclusive creation and the mode bits themselves are
// tested in tests/named_pipe_test.cc). Here a child process switches to
// another user (nobody, 65534) and tries: opening fails with
// PermissionDenied (a clear error, not a crash or DataLoss), creating the
// same name fails with AlreadyExists (a pipe it cannot read is never taken
// for stale and replaced), removing it fails with PermissionDenied (sticky
// /dev/shm), and a pipe made with mode 0666 works across the two users.
//
// Needs root (to change uid) outside a user namespace that maps only root,
// which is why the target is tagged no-sandbox; skipped, saying why,
// elsewhere.

#include <grp.h>
#include <signal.h>
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
#include "tools/bpipe_lib.h"

namespace buffered_pipe {
namespace {

using ::buffered_pipe::testing::SharedMemory;
using ::buffered_pipe::testing::UniqueName;

constexpr uid_t kNobody = 65534;
constexpr gid_t kNoGroup = 65534;
constexpr int kSkip = 77;

struct Report {
  char text[1024];
};

// Runs `body` in a child as user nobody. Returns its exit code (kSkip if
// the uid could not be changed, with the reason in the report).
int RunAsNobody(const std::function<int(Report&)>& body, Report* report) {
  SharedMemory memory(sizeof(Report));
  auto* shared = new (memory.data()) Report();
  const pid_t pid = fork();
  if (pid == 0) {
    if (setgroups(0, nullptr) != 0 || setgid(kNoGroup) != 0 || setuid(kNobody) != 0) {
      std::snprintf(shared->text, sizeof(shared->text), "cannot become uid %u: %s", kNobody,
                    std::strerror(errno));
      _exit(kSkip);
    }
    _exit(body(*shared));
  }
  int status = 0;
  waitpid(pid, &status, 0);
  *report = *shared;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int Fail(Report& report, const std::string& text) {
  std::snprintf(report.text, sizeof(report.text), "%s", text.c_str());
  return 1;
}

class PermissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to run a process as another user";
  }
};

TEST_F(PermissionTest, AnotherUserCannotOpenCreateOrRemoveAnOwnerOnlyPipe) {
  const std::string name = UniqueName("owner-only");
  const std::string static_name = UniqueName("owner-only-static");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name);  // mode 0600
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  absl::StatusOr<std::pair<StaticPipeEnd, StaticPipeEnd>> records =
      CreateNamedStaticPipe(static_name, {.object_size = 8, .object_count = 4});
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_TRUE(pipe->second.send_bytes("for the owner only").ok());

  Report report{};
  const int code = RunAsNobody(
      [&](Report& report) {
        for (const Side side : {Side::kFirst, Side::kSecond}) {
          absl::StatusOr<PipeEnd> end = OpenNamedPipe(name, side);
          if (!absl::IsPermissionDenied(end.status())) {
            return Fail(report, absl::StrCat("OpenNamedPipe: ", end.status().ToString()));
          }
          if (end.status().message().find(name) == std::string::npos) {
            return Fail(report, absl::StrCat("the error does not name the pipe: ", end.status().ToString()));
          }
        }
        absl::StatusOr<StaticPipeEnd> fixed = OpenNamedStaticPipe(static_name, Side::kFirst);
        if (!absl::IsPermissionDenied(fixed.status())) {
          return Fail(report, absl::StrCat("OpenNamedStaticPipe: ", fixed.status().ToString()));
        }
        // Unreadable is not stale: never replaced.
        absl::StatusOr<std::pair<PipeEnd, PipeEnd>> created = CreateNamedPipe(name);
        if (!absl::IsAlreadyExists(created.status())) {
          return Fail(report, absl::StrCat("CreateNamedPipe: ", created.status().ToString()));
        }
        const absl::Status removed = RemoveNamedPipe(name);
        if (!absl::IsPermissionDenied(removed)) {
          return Fail(report, absl::StrCat("RemoveNamedPipe: ", removed.ToString()));
        }
        const absl::Status tool = tools::Remove(name, /*force=*/true);
        if (tool.ok()) return Fail(report, "bpipe rm --force removed another user's pipe");
        absl::StatusOr<tools::PipeInfo> stat = tools::Inspect(name);
        if (stat.ok()) return Fail(report, "bpipe stat read another user's owner-only pipe");
        const absl::Status denied = OpenNamedPipe(name, Side::kFirst).status();
        std::snprintf(report.text, sizeof(report.text), "%s", denied.ToString().c_str());
        return 0;
      },
      &report);
  if (code == kSkip) GTEST_SKIP() << report.text;
  EXPECT_EQ(code, 0) << report.text;
  std::fprintf(stderr, "what the other user gets: %s\n", report.text);
  // The owner's pipe is untouched.
  EXPECT_EQ(*pipe->first.recv_bytes(), "for the owner only");
}

TEST_F(PermissionTest, AModeOpenToOthersWorksAcrossUsers) {
  const std::string name = UniqueName("shared-mode");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe =
      CreateNamedPipe(name, {.buffer_size = 4096}, {.mode = 0666});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  Report report{};
  const int code = RunAsNobody(
      [&](Report& report) {
        absl::StatusOr<PipeEnd> end = OpenNamedPipe(name, kSendingSide);
        if (!end.ok()) return Fail(report, absl::StrCat("OpenNamedPipe: ", end.status().ToString()));
        if (absl::Status status = end->send_bytes("from nobody"); !status.ok()) {
          return Fail(report, absl::StrCat("send: ", status.ToString()));
        }
        return 0;
      },
      &report);
  if (code == kSkip) GTEST_SKIP() << report.text;
  ASSERT_EQ(code, 0) << report.text;
  absl::StatusOr<std::string> message = pipe->first.recv_bytes_for(std::chrono::seconds(10));
  ASSERT_TRUE(message.ok()) << message.status();
  EXPECT_EQ(*message, "from nobody");
}

// Squatting (issue 10): another user creates the service's name first, mode
// 0666, a well-formed pipe. The service's process (root here) refuses to
// open it and to reclaim it, with PermissionDenied naming the owner, unless
// it names that owner as trusted.
TEST_F(PermissionTest, ANameSquattedByAnotherUserIsRefusedAndNotReclaimed) {
  const std::string name = UniqueName("squatted");
  Report report{};
  const int code = RunAsNobody(
      [&](Report& report) {
        absl::StatusOr<std::pair<PipeEnd, PipeEnd>> squat = CreateNamedPipe(
            name, {.buffer_size = 4096}, {.mode = 0666, .remove_when_unused = false});
        if (!squat.ok()) return Fail(report, absl::StrCat("create: ", squat.status().ToString()));
        if (absl::Status status = squat->second.send_bytes("forged"); !status.ok()) {
          return Fail(report, absl::StrCat("send: ", status.ToString()));
        }
        return 0;  // exits: the name is left, stale
      },
      &report);
  if (code == kSkip) GTEST_SKIP() << report.text;
  ASSERT_EQ(code, 0) << report.text;

  const absl::Status opened = OpenNamedPipe(name, kReceivingSide).status();
  EXPECT_TRUE(absl::IsPermissionDenied(opened)) << opened;
  EXPECT_NE(opened.message().find("65534"), std::string::npos) << opened;
  EXPECT_TRUE(absl::IsPermissionDenied(OpenNamedStaticPipe(name, kReceivingSide).status()));
  const absl::Status created = CreateNamedPipe(name).status();  // replace_stale: not ours
  EXPECT_TRUE(absl::IsPermissionDenied(created)) << created;
  absl::StatusOr<tools::PipeInfo> info = tools::Inspect(name);  // still there, still theirs
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->uid, kNobody);

  // Trusted by name, it opens (and holds what its owner sent).
  absl::StatusOr<PipeEnd> trusting =
      OpenNamedPipe(name, kReceivingSide, {.trusted_owner = TrustedOwner::User(kNobody)});
  ASSERT_TRUE(trusting.ok()) << trusting.status();
  absl::StatusOr<std::string> message = trusting->recv_bytes_for(std::chrono::seconds(10));
  ASSERT_TRUE(message.ok()) << message.status();
  EXPECT_EQ(*message, "forged");
  EXPECT_TRUE(OpenNamedPipe(name, kSendingSide, {.trusted_owner = TrustedOwner::Any()}).ok());
  EXPECT_TRUE(RemoveNamedPipe(name).ok());
}

TEST_F(PermissionTest, AGroupModeKeepsOutUsersOfOtherGroups) {
  const std::string name = UniqueName("group-mode");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name, {}, {.mode = 0660});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  Report report{};
  const int code = RunAsNobody(
      [&](Report& report) {
        absl::StatusOr<PipeEnd> end = OpenNamedPipe(name, Side::kFirst);
        if (!absl::IsPermissionDenied(end.status())) {
          return Fail(report, absl::StrCat("OpenNamedPipe: ", end.status().ToString()));
        }
        return 0;
      },
      &report);
  if (code == kSkip) GTEST_SKIP() << report.text;
  EXPECT_EQ(code, 0) << report.text;
}

}  // namespace
}  // namespace buffered_pipe
