// bpipe: list, stat and rm over real named pipes in /dev/shm, through the
// library and through the built binary.

#include "tools/bpipe_lib.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <sstream>
#include <thread>
#include <string>
#include <vector>

#include "buffered_pipe/internal/factory.h"
#include "buffered_pipe/internal/segment.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/static_pipe.h"
#include "buffered_pipe/status.h"
#include "buffered_pipe/version.h"
#include "gtest/gtest.h"
#include "tests/test_support.h"

namespace buffered_pipe::tools {
namespace {

using ::buffered_pipe::testing::UniqueName;

bool NameExists(const std::string& name) {
  struct stat file {};
  return stat(("/dev/shm/" + name).c_str(), &file) == 0;
}

const ListEntry* Find(const std::vector<ListEntry>& entries, const std::string& name) {
  for (const ListEntry& entry : entries) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

// A named pipe whose creator was killed holding its ends: nobody will
// remove the name.
std::string MakeStalePipe() {
  const std::string name = UniqueName("stale");
  const pid_t creator = fork();
  if (creator == 0) {
    absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name, {.buffer_size = 1024});
    if (!pipe.ok()) _exit(1);
    (void)pipe->second.send_bytes("left behind");
    raise(SIGKILL);
  }
  int status = 0;
  waitpid(creator, &status, 0);
  return name;
}

// A named pipe whose creator died after making its file and before
// publishing it (the first half of CreateNamedPipe, then _exit).
std::string MakeUnfinishedPipe() {
  const std::string name = UniqueName("unfinished");
  absl::StatusOr<internal::RingSpec> ring = internal::GenericRingSpec(4096);
  if (!ring.ok()) return name;
  internal::SegmentSpec spec;
  spec.kind = internal::SegmentKind::kGeneric;
  spec.ring_count = 1;
  spec.process_slot_count = 8;
  spec.rings[0] = *ring;
  const pid_t creator = fork();
  if (creator == 0) {
    static absl::StatusOr<std::shared_ptr<internal::Attachment>> attachment =
        internal::CreateNamedAttachment(name, spec, {});
    _exit(attachment.ok() ? 0 : 1);
  }
  int status = 0;
  waitpid(creator, &status, 0);
  return name;
}

// Runs the bpipe binary; returns its exit code and output.
int RunBinary(const std::vector<std::string>& arguments, std::string* output) {
  std::vector<std::string> all = {"tools/bpipe"};
  all.insert(all.end(), arguments.begin(), arguments.end());
  const testing::StartedProgram program = testing::StartProgram(all);
  if (program.pid < 0) return -1;
  output->append(testing::ReadAll(program.output_fd));
  int status = 0;
  waitpid(program.pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(BpipeTest, ListShowsOurPipesAndTheirProcesses) {
  const std::string generic_name = UniqueName("list-generic");
  const std::string static_name = UniqueName("list-static");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> generic =
      CreateNamedPipe(generic_name, {.buffer_size = 4096, .duplex = true});
  ASSERT_TRUE(generic.ok());
  absl::StatusOr<std::pair<StaticPipeEnd, StaticPipeEnd>> fixed =
      CreateNamedStaticPipe(static_name, {.object_size = 24, .object_count = 10});
  ASSERT_TRUE(fixed.ok());
  // A file in /dev/shm that is not ours is not listed.
  const std::string other = UniqueName("not-a-pipe");
  const int descriptor = shm_open(("/" + other).c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(descriptor, 0);
  ASSERT_EQ(write(descriptor, "garbage garbage", 15), 15);
  close(descriptor);

  const std::vector<ListEntry> entries = List();
  const ListEntry* g = Find(entries, generic_name);
  ASSERT_NE(g, nullptr);
  ASSERT_TRUE(g->info.ok()) << g->info.status();
  EXPECT_EQ(g->info->kind, internal::SegmentKind::kGeneric);
  EXPECT_EQ(g->info->ring_count, 2u);
  EXPECT_EQ(g->info->alive, 1);
  EXPECT_EQ(g->info->health, Health::kInUse);
  const ListEntry* s = Find(entries, static_name);
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->info.ok());
  EXPECT_EQ(s->info->kind, internal::SegmentKind::kStatic);
  EXPECT_EQ(s->info->rings[0].spec.record_size, 24u);
  EXPECT_EQ(s->info->rings[0].spec.capacity_blocks, 10u);
  EXPECT_EQ(Find(entries, other), nullptr);

  const std::string text = FormatList(entries);
  EXPECT_NE(text.find(generic_name), std::string::npos);
  EXPECT_NE(text.find("10 x 24 B"), std::string::npos);
  EXPECT_NE(text.find("4 KiB"), std::string::npos);
  // Not ours: rm refuses it.
  EXPECT_TRUE(absl::IsFailedPrecondition(Remove(other, /*force=*/true)));
  EXPECT_TRUE(NameExists(other));
  shm_unlink(("/" + other).c_str());
}

TEST(BpipeTest, StatShowsEndsMessagesInFlightAndStreamHolds) {
  const std::string name = UniqueName("stat");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name, {.buffer_size = 4096});
  ASSERT_TRUE(pipe.ok());
  ASSERT_TRUE(pipe->second.send_bytes(std::string(10, 'a')).ok());
  ASSERT_TRUE(pipe->second.send_bytes(std::string(100, 'b')).ok());
  ASSERT_TRUE(pipe->second.send_bytes(std::string(1000, 'c')).ok());
  absl::StatusOr<PipeInfo> info = Inspect(name);
  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_EQ(info->rings.size(), 1u);
  const internal::RingSnapshot& snapshot = info->rings[0].snapshot;
  EXPECT_EQ(snapshot.messages_in_flight, 3u);
  EXPECT_EQ(snapshot.bytes_in_flight, 1110u);
  EXPECT_EQ(snapshot.blocks_in_flight, 1u + 2u + 16u);
  EXPECT_EQ(snapshot.senders_open, 1u);
  EXPECT_EQ(snapshot.receivers_open, 1u);
  EXPECT_FALSE(info->rings[0].writer.held);
  ASSERT_EQ(info->processes.size(), 1u);
  EXPECT_EQ(info->processes[0].pid, static_cast<std::uint32_t>(getpid()));
  EXPECT_TRUE(info->processes[0].alive);
  EXPECT_EQ(info->processes[0].senders[0], 1u);
  EXPECT_EQ(info->processes[0].receivers[0], 1u);
  EXPECT_EQ(info->mode, 0600u);

  // Drain, then hold a long message half written: the writer hold is ours.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(pipe->first.recv_bytes().ok());
  absl::StatusOr<OutgoingMessage> streaming = pipe->second.begin_send(10000);
  ASSERT_TRUE(streaming.ok());
  ASSERT_TRUE(streaming->write(std::string(100, 'd')).ok());
  info = Inspect(name);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->rings[0].writer.held);
  EXPECT_TRUE(info->rings[0].writer.alive);
  EXPECT_EQ(info->rings[0].writer.slot, info->processes[0].slot);
  EXPECT_EQ(info->rings[0].snapshot.messages_in_flight, 0u);  // claimed, not committed
  const std::string text = FormatStat(*info);
  EXPECT_NE(text.find("writer slot"), std::string::npos) << text;
  EXPECT_NE(text.find("1 sending, 1 receiving"), std::string::npos) << text;
  streaming->abort();
}

// An unfinished pipe is left while it may still be in the making, and
// removed once it has been unfinished for longer than an opener waits.
TEST(BpipeTest, AnUnfinishedPipeIsRemovedOnlyOnceAbandoned) {
  const std::string name = MakeUnfinishedPipe();
  ASSERT_TRUE(NameExists(name));
  EXPECT_TRUE(absl::IsFailedPrecondition(Remove(name, /*force=*/false)));
  EXPECT_TRUE(NameExists(name));
  std::this_thread::sleep_for(internal::kInitialisationTimeout + std::chrono::milliseconds(200));
  const absl::Status removed = Remove(name, /*force=*/false);
  EXPECT_TRUE(removed.ok()) << removed;
  EXPECT_FALSE(NameExists(name));
}

TEST(BpipeTest, AStalePipeIsDetectedAndRemoved) {
  const std::string name = MakeStalePipe();
  ASSERT_TRUE(NameExists(name));
  absl::StatusOr<PipeInfo> info = Inspect(name);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->health, Health::kStale);
  EXPECT_EQ(info->alive, 0);
  EXPECT_EQ(info->dead, 1);
  EXPECT_EQ(info->rings[0].snapshot.messages_in_flight, 1u);  // what it left behind
  EXPECT_TRUE(Remove(name, /*force=*/false).ok());
  EXPECT_FALSE(NameExists(name));
  EXPECT_TRUE(absl::IsNotFound(Remove(name, false)));
}

TEST(BpipeTest, RmRefusesAPipeInUseUnlessForced) {
  const std::string name = UniqueName("in-use");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name);
  ASSERT_TRUE(pipe.ok());
  const absl::Status refused = Remove(name, /*force=*/false);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused)) << refused;
  EXPECT_NE(refused.message().find("1 live process"), std::string::npos) << refused;
  EXPECT_TRUE(NameExists(name));
  EXPECT_TRUE(Remove(name, /*force=*/true).ok());
  EXPECT_FALSE(NameExists(name));
  // Whoever had it open keeps using it.
  ASSERT_TRUE(pipe->second.send_bytes("still works").ok());
  EXPECT_EQ(*pipe->first.recv_bytes(), "still works");
}

TEST(BpipeTest, TheBinaryListsStatsAndRemoves) {
  const std::string stale = MakeStalePipe();
  const std::string live = UniqueName("binary-live");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(live);
  ASSERT_TRUE(pipe.ok());

  std::string output;
  ASSERT_EQ(RunBinary({"list"}, &output), 0) << output;
  std::istringstream lines(output);
  bool saw_stale = false, saw_live = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(stale, 0) == 0) saw_stale = line.find("stale") != std::string::npos;
    if (line.rfind(live, 0) == 0) saw_live = line.find("in use") != std::string::npos;
  }
  EXPECT_TRUE(saw_stale) << output;
  EXPECT_TRUE(saw_live) << output;

  output.clear();
  ASSERT_EQ(RunBinary({"stat", live}, &output), 0) << output;
  EXPECT_NE(output.find("in use (1 process alive, 0 dead)"), std::string::npos) << output;

  output.clear();
  EXPECT_EQ(RunBinary({"rm", live}, &output), 1) << output;
  EXPECT_NE(output.find("in use"), std::string::npos) << output;
  output.clear();
  EXPECT_EQ(RunBinary({"rm", stale}, &output), 0) << output;
  EXPECT_FALSE(NameExists(stale));
  output.clear();
  EXPECT_EQ(RunBinary({"stat", stale}, &output), 1) << output;
  output.clear();
  EXPECT_EQ(RunBinary({"frobnicate"}, &output), 2) << output;
  EXPECT_TRUE(NameExists(live));
  output.clear();
  ASSERT_EQ(RunBinary({"--version"}, &output), 0) << output;
  EXPECT_EQ(output, std::string("bpipe (buffered_pipe) ") + kVersion + "\n");
}

}  // namespace
}  // namespace buffered_pipe::tools
