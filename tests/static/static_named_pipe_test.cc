// Named static pipes: opened by name from another process (a forked child,
// and an unrelated program started with posix_spawn), type and kind checks
// at open, and records of the wrong size planted in the ring by a process
// that bypasses the static pipe (shared memory is untrusted).

#include <spawn.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "buffered_pipe/internal/factory.h"
#include "buffered_pipe/internal/ring.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/static_pipe.h"
#include "buffered_pipe/status.h"
#include "gtest/gtest.h"
#include "tests/static/peer_record.h"
#include "tests/test_support.h"

extern char** environ;

namespace buffered_pipe {
namespace {

using namespace std::chrono_literals;
using ::buffered_pipe::testing::ForkChild;
using ::buffered_pipe::testing::PeerRecord;
using ::buffered_pipe::testing::ShortMessage;
using ::buffered_pipe::testing::WaitForChild;

// A pipe name no other test process uses. testing::UniqueName is unique per
// pid, but Bazel's sandboxes give processes of parallel test runs the same
// pids while /dev/shm is shared: add a random part.
std::string UniqueName(std::string_view prefix) {
  static const std::uint64_t random_part = std::random_device{}();
  return testing::UniqueName(absl::StrCat(std::string(prefix), "-", absl::Hex(random_part)));
}

TEST(StaticNamedPipeTest, AChildOpensThePipeByName) {
  const std::string name = UniqueName("static-named");
  absl::StatusOr<std::pair<StaticPipeEnd, StaticPipeEnd>> pipe =
      CreateNamedStaticPipe(name, {.object_size = 40, .object_count = 3});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  auto& [receiver, sender] = *pipe;
  const pid_t child = ForkChild([&, &receiver = receiver, &sender = sender] {
    absl::StatusOr<StaticPipeEnd> opened = OpenNamedStaticPipe(name, kSendingSide);
    // Only now close the copies inherited through fork: until the named end
    // is open they keep the receiver from seeing end of stream.
    (void)receiver.close();
    (void)sender.close();
    if (!opened.ok() || !opened->can_send() || opened->object_size() != 40 ||
        opened->object_count() != 3) {
      return 1;
    }
    for (int i = 0; i < 100; ++i) {
      if (!opened->send_bytes(ShortMessage(i, 40)).ok()) return 2;
    }
    return opened->close().ok() ? 0 : 3;
  });
  ASSERT_TRUE(sender.close().ok());  // the child's named end is the only sender left
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<std::string> record = receiver.recv_bytes_for(10s);
    ASSERT_TRUE(record.ok()) << record.status();
    ASSERT_EQ(*record, ShortMessage(i, 40));
  }
  EXPECT_TRUE(IsEndOfStream(receiver.recv_bytes_for(10s).status()));
  EXPECT_TRUE(WaitForChild(child));
  // The last process to let go of the pipe removes the name. (Closing is not
  // enough: a process leaves a segment when its last end is destroyed.)
  *pipe = {};
  EXPECT_TRUE(absl::IsNotFound(OpenNamedStaticPipe(name, kReceivingSide).status()));
}

// static_pipe_peer opens the pipe knowing only its name, and answers every
// record. posix_spawn, not fork(): a forked child holds copies of this
// process's ends, which would keep the pipe open after the exec.
TEST(StaticNamedPipeTest, AnUnrelatedProcessOpensTheTypedPipeByName) {
  const char* runfiles = std::getenv("TEST_SRCDIR");
  ASSERT_NE(runfiles, nullptr);
  const std::string peer = std::string(runfiles) + "/buffered_pipe/tests/static/static_pipe_peer";
  const std::string name = UniqueName("static-peer");
  auto pipe = CreateNamedTypedStaticPipe<PeerRecord>(name, {.object_count = 2, .duplex = true});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  // `theirs` stays open until the end: before the peer has opened its end it
  // is what keeps `mine` from a broken pipe (sending) or end of stream
  // (receiving). It never receives, so every request goes to the peer.
  auto& [mine, theirs] = *pipe;

  std::vector<char*> arguments = {const_cast<char*>(peer.c_str()),
                                  const_cast<char*>(name.c_str()), nullptr};
  pid_t child = 0;
  ASSERT_EQ(posix_spawn(&child, peer.c_str(), nullptr, nullptr, arguments.data(), environ), 0);

  constexpr std::int64_t kCount = 300;
  std::thread writer([&, &mine = mine] {
    for (std::int64_t i = 0; i < kCount; ++i) {
      PeerRecord request{.sequence = i, .answered_by = 0, .text = {}};
      std::snprintf(request.text, sizeof(request.text), "request %lld", static_cast<long long>(i));
      const absl::Status status = mine.send_for(request, 10s);
      if (!status.ok()) {
        ADD_FAILURE() << status;
        return;
      }
    }
  });
  for (std::int64_t i = 0; i < kCount; ++i) {
    absl::StatusOr<PeerRecord> answer = mine.recv_for(10s);
    if (!answer.ok()) {
      ADD_FAILURE() << answer.status();
      break;
    }
    EXPECT_EQ(answer->sequence, -i);
    EXPECT_EQ(answer->answered_by, child);
    EXPECT_EQ(std::string(answer->text), "request " + std::to_string(i));
  }
  writer.join();
  ASSERT_TRUE(mine.close().ok());  // end of stream for the peer, which exits 0
  EXPECT_TRUE(WaitForChild(child, 20s));
  ASSERT_TRUE(theirs.close().ok());
}

TEST(StaticNamedPipeTest, OpeningChecksKindAndRecordType) {
  const std::string static_name = UniqueName("static-kind");
  auto static_pipe = CreateNamedStaticPipe(static_name, {.object_size = 64, .object_count = 4});
  ASSERT_TRUE(static_pipe.ok()) << static_pipe.status();
  const std::string generic_name = UniqueName("generic-kind");
  auto generic_pipe = CreateNamedPipe(generic_name, {.buffer_size = 4096});
  ASSERT_TRUE(generic_pipe.ok()) << generic_pipe.status();

  // A generic pipe is not a static pipe, and the other way round.
  EXPECT_TRUE(absl::IsInvalidArgument(OpenNamedStaticPipe(generic_name, kReceivingSide).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      OpenNamedTypedStaticPipe<PeerRecord>(generic_name, kReceivingSide).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(OpenNamedPipe(static_name, kReceivingSide).status()));

  // Records of 64 bytes: PeerRecord (64) fits, std::uint64_t does not.
  EXPECT_TRUE(OpenNamedTypedStaticPipe<PeerRecord>(static_name, kSendingSide).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(
      OpenNamedTypedStaticPipe<std::uint64_t>(static_name, kSendingSide).status()));
  absl::StatusOr<StaticPipeEnd> bytes_end = OpenNamedStaticPipe(static_name, kSendingSide);
  ASSERT_TRUE(bytes_end.ok()) << bytes_end.status();
  EXPECT_EQ(bytes_end->object_size(), 64u);
  EXPECT_EQ(bytes_end->object_count(), 4u);
}

// Issue 10: a named typed static pipe records its record type's fingerprint
// (as a named typed generic pipe does): another type of the same size and
// alignment is refused; a plain-bytes end still opens it.
struct OtherRecordOfTheSameShape {
  std::uint64_t words[8];
};
static_assert(sizeof(OtherRecordOfTheSameShape) == sizeof(PeerRecord));
static_assert(alignof(OtherRecordOfTheSameShape) == alignof(PeerRecord));

TEST(StaticNamedPipeTest, ATypedPipeRefusesAnotherRecordTypeOfTheSameShape) {
  const std::string name = UniqueName("static-type");
  auto pipe = CreateNamedTypedStaticPipe<PeerRecord>(name, {.object_count = 4});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  EXPECT_EQ(pipe->first.bytes_end().record_type(), RecordTypeFingerprint<PeerRecord>());
  const absl::Status other =
      OpenNamedTypedStaticPipe<OtherRecordOfTheSameShape>(name, kReceivingSide).status();
  EXPECT_TRUE(absl::IsInvalidArgument(other)) << other;
  EXPECT_NE(other.message().find("another type"), std::string::npos) << other;
  EXPECT_TRUE(OpenNamedTypedStaticPipe<PeerRecord>(name, kReceivingSide).ok());
  EXPECT_TRUE(OpenNamedStaticPipe(name, kReceivingSide).ok());  // bytes: any type
}

TEST(StaticNamedPipeTest, NameErrors) {
  const std::string name = UniqueName("static-errors");
  EXPECT_TRUE(absl::IsNotFound(OpenNamedStaticPipe(name, kReceivingSide).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(OpenNamedStaticPipe("no/slashes", kReceivingSide).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      CreateNamedStaticPipe("", {.object_size = 8, .object_count = 1}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      CreateNamedStaticPipe(name, {.object_size = 0, .object_count = 1}).status()));
  auto pipe = CreateNamedStaticPipe(name, {.object_size = 8, .object_count = 1});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  EXPECT_TRUE(absl::IsAlreadyExists(
      CreateNamedStaticPipe(name, {.object_size = 8, .object_count = 1}).status()));
  EXPECT_TRUE(RemoveNamedPipe(name).ok());
  EXPECT_TRUE(absl::IsNotFound(OpenNamedStaticPipe(name, kReceivingSide).status()));
  // The ends made before the removal still work.
  ASSERT_TRUE(pipe->second.send_bytes("12345678").ok());
  EXPECT_EQ(*pipe->first.recv_bytes(), "12345678");
}

// Writes one frame of `size` bytes into ring 0 of the named static pipe
// `name` with the ring directly, as a buggy or hostile process could.
void PlantFrame(const std::string& name, std::uint64_t size) {
  absl::StatusOr<std::shared_ptr<internal::Attachment>> attachment =
      internal::OpenNamedAttachment(name, internal::SegmentKind::kStatic);
  ASSERT_TRUE(attachment.ok()) << attachment.status();
  absl::StatusOr<internal::SendTransaction> transaction =
      (*attachment)->ring(0).BeginSend(size, internal::CallContext{});
  ASSERT_TRUE(transaction.ok()) << transaction.status();
  const std::string bytes(size, 'z');
  ASSERT_TRUE(transaction->Write(bytes.data(), bytes.size()).ok());
  ASSERT_TRUE(transaction->Commit().ok());
}

TEST(StaticNamedPipeTest, AFrameOfAnotherSizeIsDataLoss) {
  const std::string name = UniqueName("static-corrupt");
  // 12-byte records in 16-byte slots: frames of 0 to 16 bytes fit a slot;
  // longer ones are streamed over several slots.
  auto pipe = CreateNamedStaticPipe(name, {.object_size = 12, .object_count = 8});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  auto& [receiver, sender] = *pipe;
  for (std::uint64_t size : {0u, 11u, 13u, 16u, 40u}) {
    SCOPED_TRACE(size);
    PlantFrame(name, size);
    ASSERT_TRUE(sender.send_bytes("good record.").ok());
    EXPECT_TRUE(absl::IsDataLoss(receiver.recv_bytes_for(10s).status()));
    // The bad frame is gone; the good record behind it arrives intact.
    absl::StatusOr<std::string> record = receiver.recv_bytes_for(10s);
    ASSERT_TRUE(record.ok()) << record.status();
    EXPECT_EQ(*record, "good record.");
    EXPECT_TRUE(IsWouldBlock(receiver.try_recv_bytes().status()));
  }
  // The typed form checks the same way.
  PlantFrame(name, 4);
  absl::StatusOr<TypedStaticPipeEnd<std::array<char, 12>>> typed =
      TypedStaticPipeEnd<std::array<char, 12>>::FromBytesEnd(std::move(receiver));
  ASSERT_TRUE(typed.ok()) << typed.status();
  EXPECT_TRUE(absl::IsDataLoss(typed->recv_for(10s).status()));
  PlantFrame(name, 4);
  EXPECT_TRUE(absl::IsDataLoss(typed->begin_recv(Deadline::After(10s)).status()));
}

}  // namespace
}  // namespace buffered_pipe
