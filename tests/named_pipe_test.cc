// Named pipes: opened by unrelated (separately executed) processes, created
// exclusively with owner-only permissions, removed by the last user, stale
// names reclaimed, and incompatible segments rejected with clear errors.
// Also the lifetime cases of the original: ends dropped before or after the
// other processes attach.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "buffered_pipe/internal/endpoint.h"
#include "buffered_pipe/internal/factory.h"
#include "buffered_pipe/internal/layout.h"
#include "buffered_pipe/internal/segment.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/status.h"
#include "gtest/gtest.h"
#include "test_support.h"

extern char** environ;

namespace buffered_pipe {
namespace {

using ::buffered_pipe::testing::ForkChild;
using ::buffered_pipe::testing::ShortMessage;
using ::buffered_pipe::testing::UniqueName;
using ::buffered_pipe::testing::WaitForChild;

bool NameExists(const std::string& name) {
  struct stat file {};
  return stat(("/dev/shm/" + name).c_str(), &file) == 0;
}

// Starts tests/named_peer (a separate executable, not a fork of this one).
pid_t SpawnPeer(const std::vector<std::string>& arguments) {
  std::vector<std::string> all = {"tests/named_peer"};
  all.insert(all.end(), arguments.begin(), arguments.end());
  std::vector<char*> argv;
  for (std::string& argument : all) argv.push_back(argument.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  return pid;
}

// Maps a named segment's file to patch its header.
class RawSegment {
 public:
  explicit RawSegment(const std::string& name) {
    descriptor_ = shm_open(("/" + name).c_str(), O_RDWR, 0);
    struct stat file {};
    fstat(descriptor_, &file);
    size_ = static_cast<std::size_t>(file.st_size);
    data_ = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor_, 0);
  }
  ~RawSegment() {
    munmap(data_, size_);
    close(descriptor_);
  }
  internal::SegmentHeader& header() { return *static_cast<internal::SegmentHeader*>(data_); }

 private:
  int descriptor_ = -1;
  std::size_t size_ = 0;
  void* data_ = nullptr;
};

TEST(NamedPipeTest, ASeparatelyExecutedProcessSends) {
  const std::string name = UniqueName("exec-send");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name, {.buffer_size = 4096});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  const pid_t peer = SpawnPeer({name, "second", "send", "1000"});
  ASSERT_GT(peer, 0);
  for (int i = 0; i < 1000; ++i) {
    absl::StatusOr<std::string> message = pipe->first.recv_bytes_for(std::chrono::seconds(30));
    ASSERT_TRUE(message.ok()) << message.status();
    ASSERT_EQ(*message, ShortMessage(i, i % 700));
    // The peer has attached: our own sending end may go (closing it before
    // the peer attached would have meant end of stream at once).
    if (i == 0) {
      ASSERT_TRUE(pipe->second.close().ok());
    }
  }
  EXPECT_TRUE(WaitForChild(peer));
  // The peer exited: its sending end is closed.
  EXPECT_TRUE(IsEndOfStream(pipe->first.recv_bytes_for(std::chrono::seconds(10)).status()));
}

TEST(NamedPipeTest, ASeparatelyExecutedProcessReceives) {
  const std::string name = UniqueName("exec-recv");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name, {.buffer_size = 1024});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  const pid_t peer = SpawnPeer({name, "first", "recv", "1000"});
  ASSERT_GT(peer, 0);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(pipe->second.send_bytes(ShortMessage(i, i % 700)).ok());
  ASSERT_TRUE(pipe->second.close().ok());
  EXPECT_TRUE(WaitForChild(peer));
}

// A persistent named pipe as a meeting point (issue 10): its creator's ends
// are closed; an unrelated process opens one side and waits for its peer
// (wait_for_peer); the other side opens 200 ms later. Both orders.
void ExpectPeersMeet(const std::string& first_role, const std::string& second_role) {
  const std::string name = UniqueName("meet-" + first_role);
  {
    absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe =
        CreateNamedPipe(name, {.buffer_size = 4096}, {.remove_when_unused = false});
    ASSERT_TRUE(pipe.ok()) << pipe.status();
  }  // the creator's ends close: no sender, no receiver
  const auto side = [](const std::string& role) { return role == "recv" ? "first" : "second"; };
  const pid_t early = SpawnPeer({name, side(first_role), first_role, "300", "wait"});
  ASSERT_GT(early, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const pid_t late = SpawnPeer({name, side(second_role), second_role, "300", "wait"});
  ASSERT_GT(late, 0);
  EXPECT_TRUE(WaitForChild(early));
  EXPECT_TRUE(WaitForChild(late));
  EXPECT_TRUE(RemoveNamedPipe(name).ok());
}

TEST(NamedPipeTest, AReceiverThatOpensFirstWaitsForItsSender) { ExpectPeersMeet("recv", "send"); }
TEST(NamedPipeTest, ASenderThatOpensFirstWaitsForItsReceiver) { ExpectPeersMeet("send", "recv"); }

TEST(NamedPipeTest, PeersCountsTheEndsOfTheOtherKindAndWaitForPeerTimesOut) {
  const std::string name = UniqueName("peers");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe =
      CreateNamedPipe(name, {.buffer_size = 4096}, {.remove_when_unused = false});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  ASSERT_TRUE(pipe->second.close().ok());
  PipeEnd receiver = std::move(pipe->first);
  EXPECT_EQ(receiver.peers().senders, 0u);
  EXPECT_EQ(receiver.peers().receivers, 0u);  // a receiving end sends nowhere
  const auto begin = std::chrono::steady_clock::now();
  EXPECT_TRUE(IsTimeout(receiver.wait_for_peer(std::chrono::milliseconds(50))));
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5));
  EXPECT_TRUE(IsWouldBlock(receiver.wait_for_peer(Deadline::NonBlocking())));
  absl::StatusOr<PipeEnd> sender = OpenNamedPipe(name, kSendingSide);
  ASSERT_TRUE(sender.ok()) << sender.status();
  EXPECT_EQ(receiver.peers().senders, 1u);
  EXPECT_EQ(sender->peers().receivers, 1u);
  EXPECT_TRUE(receiver.wait_for_peer(std::chrono::seconds(1)).ok());
  EXPECT_TRUE(sender->wait_for_peer(std::chrono::seconds(1)).ok());
  // Wakes a waiter when the peer opens (no polling delay to speak of).
  ASSERT_TRUE(sender->close().ok());
  std::thread opener([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    absl::StatusOr<PipeEnd> again = OpenNamedPipe(name, kSendingSide);
    ASSERT_TRUE(again.ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  });
  EXPECT_TRUE(receiver.wait_for_peer(std::chrono::seconds(10)).ok());
  opener.join();
  EXPECT_TRUE(RemoveNamedPipe(name).ok());
}

TEST(NamedPipeTest, IsCreatedExclusivelyAndOwnerOnly) {
  const std::string name = UniqueName("mode");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name);
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  struct stat file {};
  ASSERT_EQ(stat(("/dev/shm/" + name).c_str(), &file), 0);
  EXPECT_EQ(file.st_mode & 0777, 0600u);
  EXPECT_TRUE(absl::IsAlreadyExists(CreateNamedPipe(name).status()));

  const std::string shared = UniqueName("mode-shared");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> group_readable =
      CreateNamedPipe(shared, {}, {.mode = 0640});
  ASSERT_TRUE(group_readable.ok()) << group_readable.status();
  ASSERT_EQ(stat(("/dev/shm/" + shared).c_str(), &file), 0);
  EXPECT_EQ(file.st_mode & 0777, 0640u);
  EXPECT_TRUE(absl::IsInvalidArgument(CreateNamedPipe(UniqueName("bad-mode"), {}, {.mode = 04777}).status()));
}

TEST(NamedPipeTest, RejectsBadNamesAndMissingPipes) {
  for (const std::string& name : {std::string(""), std::string("a/b"), std::string(".hidden"),
                                  std::string(300, 'x'), std::string("sp ace")}) {
    EXPECT_TRUE(absl::IsInvalidArgument(CreateNamedPipe(name).status())) << name;
    EXPECT_TRUE(absl::IsInvalidArgument(OpenNamedPipe(name, Side::kFirst).status())) << name;
  }
  EXPECT_TRUE(absl::IsNotFound(OpenNamedPipe(UniqueName("missing"), Side::kFirst).status()));
  EXPECT_TRUE(absl::IsNotFound(RemoveNamedPipe(UniqueName("missing"))));
}

TEST(NamedPipeTest, RejectsAFileThatIsNotAPipe) {
  const std::string name = UniqueName("garbage");
  const int descriptor = shm_open(("/" + name).c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(descriptor, 0);
  std::string garbage(8192, 'g');
  ASSERT_EQ(write(descriptor, garbage.data(), garbage.size()), static_cast<ssize_t>(garbage.size()));
  close(descriptor);
  absl::StatusOr<PipeEnd> end = OpenNamedPipe(name, Side::kFirst);
  EXPECT_TRUE(absl::IsInvalidArgument(end.status())) << end.status();
  ASSERT_TRUE(RemoveNamedPipe(name).ok());
}

TEST(NamedPipeTest, RejectsAnotherLayoutVersion) {
  const std::string name = UniqueName("version");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name);
  ASSERT_TRUE(pipe.ok());
  RawSegment(name).header().layout_version = internal::kLayoutVersion + 1;
  absl::StatusOr<PipeEnd> end = OpenNamedPipe(name, Side::kFirst);
  EXPECT_TRUE(absl::IsInvalidArgument(end.status())) << end.status();
  EXPECT_NE(end.status().message().find("layout version"), std::string::npos);
}

TEST(NamedPipeTest, RejectsInconsistentSizes) {
  const std::string name = UniqueName("sizes");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name, {.buffer_size = 4096});
  ASSERT_TRUE(pipe.ok());
  {
    RawSegment raw(name);
    raw.header().rings[0].block_count *= 2;  // points past the file
  }
  EXPECT_TRUE(absl::IsDataLoss(OpenNamedPipe(name, Side::kFirst).status()));
  {
    RawSegment raw(name);
    raw.header().rings[0].block_count /= 2;
    raw.header().rings[0].max_frame_blocks = 1u << 20;  // larger than the ring
  }
  EXPECT_TRUE(absl::IsDataLoss(OpenNamedPipe(name, Side::kFirst).status()));
  {
    RawSegment raw(name);
    raw.header().rings[0].max_frame_blocks = 32;
    raw.header().total_size += 4096;
  }
  EXPECT_TRUE(absl::IsDataLoss(OpenNamedPipe(name, Side::kFirst).status()));
  {
    RawSegment raw(name);
    raw.header().total_size -= 4096;
  }
  EXPECT_TRUE(OpenNamedPipe(name, Side::kFirst).ok());  // repaired: valid again
}

TEST(NamedPipeTest, TheLastUserRemovesTheName) {
  const std::string name = UniqueName("unlink");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name);
  ASSERT_TRUE(pipe.ok());
  absl::StatusOr<PipeEnd> opened = OpenNamedPipe(name, kReceivingSide);
  ASSERT_TRUE(opened.ok()) << opened.status();
  ASSERT_TRUE(pipe->second.send_bytes("in flight").ok());
  pipe->first = PipeEnd();  // the creator's ends close
  pipe->second = PipeEnd();
  EXPECT_TRUE(NameExists(name));
  EXPECT_EQ(*opened->recv_bytes(), "in flight");
  EXPECT_TRUE(IsEndOfStream(opened->try_recv_bytes().status()));
  *opened = PipeEnd();
  EXPECT_FALSE(NameExists(name));
  EXPECT_TRUE(absl::IsNotFound(OpenNamedPipe(name, Side::kFirst).status()));
}

TEST(NamedPipeTest, ClosingTheEndsIsEnoughToRemoveTheName) {
  const std::string name = UniqueName("close-unlinks");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name);
  ASSERT_TRUE(pipe.ok());
  ASSERT_TRUE(pipe->first.close().ok());
  EXPECT_TRUE(NameExists(name));
  ASSERT_TRUE(pipe->second.close().ok());  // the objects still exist
  EXPECT_FALSE(NameExists(name));
}

TEST(NamedPipeTest, APersistentNameStaysUntilRemoved) {
  const std::string name = UniqueName("persistent");
  {
    absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe =
        CreateNamedPipe(name, {}, {.remove_when_unused = false});
    ASSERT_TRUE(pipe.ok());
    ASSERT_TRUE(pipe->second.send_bytes("kept in the pipe").ok());
  }
  EXPECT_TRUE(NameExists(name));
  absl::StatusOr<PipeEnd> receiver = OpenNamedPipe(name, kReceivingSide);
  ASSERT_TRUE(receiver.ok());
  // A persistent pipe with no sender open: its message, then end of stream.
  EXPECT_EQ(*receiver->recv_bytes(), "kept in the pipe");
  EXPECT_TRUE(IsEndOfStream(receiver->try_recv_bytes().status()));
  ASSERT_TRUE(RemoveNamedPipe(name).ok());
  EXPECT_FALSE(NameExists(name));
}

TEST(NamedPipeTest, StaleNameOfACrashedCreatorIsReclaimed) {
  const std::string name = UniqueName("stale");
  const pid_t creator = ForkChild([&] {
    absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name);
    if (!pipe.ok()) return 1;
    raise(SIGKILL);  // dies holding its ends: nobody will remove the name
    return 0;
  });
  int status = 0;
  waitpid(creator, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_TRUE(NameExists(name));
  EXPECT_TRUE(absl::IsAlreadyExists(CreateNamedPipe(name, {}, {.replace_stale = false}).status()));
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> fresh = CreateNamedPipe(name);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  ASSERT_TRUE(fresh->second.send_bytes("fresh").ok());
  EXPECT_EQ(*fresh->first.recv_bytes(), "fresh");
}

// What CreateNamedPipe(name, {.buffer_size = 4096}) asks of the segment, for
// the tests that make the creation's first half by hand.
internal::SegmentSpec SimplexSpec() {
  internal::SegmentSpec spec;
  spec.kind = internal::SegmentKind::kGeneric;
  spec.ring_count = 1;
  spec.process_slot_count = PipeOptions{}.max_processes;
  spec.rings[0] = internal::GenericRingSpec(4096).value();  // a valid size: cannot fail
  return spec;
}

// While its creator is still making a named pipe (the segment exists, the
// creator's ends are not yet counted), an opener of the name waits: it never
// finds a pipe without the creator's sender, which a receiver would take for
// end of stream (as a bridge's local worker once did).
TEST(NamedPipeTest, AnOpenerWaitsUntilTheCreatorsEndsAreCounted) {
  const std::string name = UniqueName("creating");
  const internal::SegmentSpec spec = SimplexSpec();
  // The creation's first half: the name exists, the ends are not opened.
  absl::StatusOr<std::shared_ptr<internal::Attachment>> attachment =
      internal::CreateNamedAttachment(name, spec, {});
  ASSERT_TRUE(attachment.ok()) << attachment.status();
  std::atomic<bool> opened{false};
  absl::StatusOr<PipeEnd> receiver;
  std::thread opener([&] {
    receiver = OpenNamedPipe(name, kReceivingSide);
    opened.store(true);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(opened.load()) << "opened a pipe whose creator has no ends yet";
  // The second half: the creator's ends.
  absl::StatusOr<std::pair<internal::Endpoint, internal::Endpoint>> ends =
      internal::Endpoint::OpenPair(*std::move(attachment));
  opener.join();
  ASSERT_TRUE(ends.ok()) << ends.status();
  ASSERT_TRUE(receiver.ok()) << receiver.status();
  EXPECT_EQ(receiver->peers().senders, 1u);
  EXPECT_TRUE(IsWouldBlock(receiver->try_recv_bytes().status()));
}

// A creator that dies between making the name and publishing it leaves a
// file that no opener takes (it is never initialised) and that no slot marks
// as stale: CreateNamedPipe reclaims it once it has been unfinished for
// longer than an opener waits, and only then.
TEST(NamedPipeTest, ANameWhoseCreatorDiedBeforePublishingIsReclaimed) {
  const std::string name = UniqueName("unpublished");
  const internal::SegmentSpec spec = SimplexSpec();
  const pid_t creator = ForkChild([&] {
    // The creation's first half, then death: no ends, no Publish (the
    // attachment is kept, as a killed process's is, so its name stays).
    static absl::StatusOr<std::shared_ptr<internal::Attachment>> attachment =
        internal::CreateNamedAttachment(name, spec, {});
    return attachment.ok() ? 0 : 1;
  });
  ASSERT_TRUE(WaitForChild(creator));
  // Young, it is left alone: its creator may still be at work.
  absl::StatusOr<bool> removed = internal::Segment::RemoveNameIfNeverPublished(name, {});
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_FALSE(*removed);
  // An opener waits for it, then refuses it.
  EXPECT_TRUE(absl::IsDataLoss(OpenNamedPipe(name, kReceivingSide).status()));
  NamedPipeOptions keep;
  keep.replace_stale = false;
  EXPECT_TRUE(absl::IsAlreadyExists(CreateNamedPipe(name, {.buffer_size = 4096}, keep).status()));
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name, {.buffer_size = 4096});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  absl::StatusOr<PipeEnd> sender = OpenNamedPipe(name, kSendingSide);
  ASSERT_TRUE(sender.ok()) << sender.status();
  ASSERT_TRUE(sender->send_bytes("after the reclaim").ok());
  EXPECT_EQ(*pipe->first.recv_bytes(), "after the reclaim");
}

// Neither a published pipe nor a file of another program (here zero-filled,
// so its magic is 0 too) is ever taken for an unfinished pipe, however old.
TEST(NamedPipeTest, RemovingUnpublishedNamesLeavesPipesAndForeignFiles) {
  const std::string name = UniqueName("published");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = CreateNamedPipe(name, {.buffer_size = 4096});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  const std::string foreign = UniqueName("foreign");
  const int descriptor = shm_open(("/" + foreign).c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(descriptor, 0);
  ASSERT_EQ(ftruncate(descriptor, 1 << 16), 0);
  close(descriptor);
  std::this_thread::sleep_for(internal::kInitialisationTimeout + std::chrono::milliseconds(100));
  for (const std::string& old : {name, foreign}) {
    absl::StatusOr<bool> removed = internal::Segment::RemoveNameIfNeverPublished(old, {});
    ASSERT_TRUE(removed.ok()) << removed.status();
    EXPECT_FALSE(*removed) << old;
  }
  EXPECT_TRUE(OpenNamedPipe(name, kSendingSide).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(CreateNamedPipe(foreign, {.buffer_size = 4096}).status()));
  shm_unlink(("/" + foreign).c_str());
}

TEST(NamedPipeTest, DuplexEndsOpenedByName) {
  const std::string name = UniqueName("duplex");
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe =
      CreateNamedPipe(name, {.buffer_size = 256, .duplex = true});
  ASSERT_TRUE(pipe.ok());
  absl::StatusOr<PipeEnd> second = OpenNamedPipe(name, Side::kSecond);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(pipe->first.send_bytes("to second").ok());
  ASSERT_TRUE(second->send_bytes("to first").ok());
  EXPECT_EQ(*second->recv_bytes(), "to second");
  EXPECT_EQ(*pipe->first.recv_bytes(), "to first");
}

// The original's lifetime cases: the creator drops its ends right after
// the children attach (fork), or before a process attaches by name.
TEST(LifetimeTest, CreatorDropsItsEndsRightAfterForking) {
  absl::StatusOr<std::pair<PipeEnd, PipeEnd>> pipe = Pipe({.buffer_size = 128});
  ASSERT_TRUE(pipe.ok());
  PipeEnd& receiver = pipe->first;
  PipeEnd& sender = pipe->second;
  const pid_t child_receiver = ForkChild([&] {
    (void)sender.close();
    for (int i = 0; i < 300; ++i) {
      absl::StatusOr<std::string> message = receiver.recv_bytes();
      if (!message.ok() || *message != ShortMessage(i, i)) return 1;
    }
    return IsEndOfStream(receiver.recv_bytes().status()) ? 0 : 2;
  });
  const pid_t child_sender = ForkChild([&] {
    (void)receiver.close();
    for (int i = 0; i < 300; ++i) {
      if (!sender.send_bytes(ShortMessage(i, i)).ok()) return 1;
    }
    return 0;
  });
  pipe->first = PipeEnd();  // the creator leaves at once
  pipe->second = PipeEnd();
  EXPECT_TRUE(WaitForChild(child_sender));
  EXPECT_TRUE(WaitForChild(child_receiver));
}

TEST(LifetimeTest, AllEndsDroppedBeforeAnOpenerArrives) {
  const std::string name = UniqueName("early-drop");
  { ASSERT_TRUE(CreateNamedPipe(name).ok()); }
  EXPECT_TRUE(absl::IsNotFound(OpenNamedPipe(name, Side::kFirst).status()));
}

}  // namespace
}  // namespace buffered_pipe
