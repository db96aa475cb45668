// Typed pipes and the typed calls of generic ends: type and codec checks at
// open, request/response over duplex pipes, waiting and errors, and codecs
// that misbehave.

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "buffered_pipe/codecs/cereal.h"
#include "buffered_pipe/codecs/codec.h"
#include "buffered_pipe/codecs/typed_pipe.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/status.h"
#include "gtest/gtest.h"
#include "tests/codecs/codec_cases.h"
#include "tests/test_support.h"

namespace buffered_pipe {
namespace {

using ::buffered_pipe::testing::CerealRecord;
using ::buffered_pipe::testing::ForkChild;
using ::buffered_pipe::testing::Note;
using ::buffered_pipe::testing::NoteCodec;
using ::buffered_pipe::testing::PodRecord;
using ::buffered_pipe::testing::UniqueName;
using ::buffered_pipe::testing::WaitForChild;

struct Request {
  std::uint64_t id = 0;
  std::string operation;
  std::vector<double> operands;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(id, operation, operands);
  }
};

struct Response {
  std::uint64_t id = 0;
  double result = 0;
  std::string error;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(id, result, error);
  }
};

Response Serve(const Request& request) {
  Response response{request.id, 0, ""};
  if (request.operation == "sum") {
    for (double operand : request.operands) response.result += operand;
  } else {
    response.error = "unknown operation " + request.operation;
  }
  return response;
}

::testing::AssertionResult MessageHas(const absl::Status& status, std::string_view text) {
  if (status.message().find(absl::string_view(text.data(), text.size())) !=
      absl::string_view::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "\"" << text << "\" is not in " << status;
}

CerealRecord RecordFrom(std::uint32_t sender) {
  CerealRecord record;
  record.sender = sender;
  return record;
}

// Cereal, but a codec of another id.
struct OtherCerealCodec : CerealCodec {
  static constexpr std::uint64_t kId = CodecIdFromName("tests.OtherCerealCodec");
};

// Plain copies, but a codec of another id.
struct OtherPodCodec : TriviallyCopyableCodec {
  static constexpr std::uint64_t kId = CodecIdFromName("tests.OtherPodCodec");
};

// --- Checks at open ---------------------------------------------------------------------

class NamedTypedPipeTest : public ::testing::Test {
 protected:
  std::string name_ = UniqueName("typed");
};

TEST_F(NamedTypedPipeTest, OpeningWithAnotherTypeIsRefusedAtOpen) {
  auto pipe = CreateTypedNamedPipe<CerealRecord>(name_);
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  absl::StatusOr<TypedPipeEnd<Request>> other = OpenTypedNamedPipe<Request>(name_, kSendingSide);
  ASSERT_TRUE(absl::IsInvalidArgument(other.status())) << other.status();
  EXPECT_TRUE(MessageHas(other.status(), "another message type"));
  EXPECT_TRUE(MessageHas(other.status(), "Request"));
  // The right type opens.
  absl::StatusOr<TypedPipeEnd<CerealRecord>> same =
      OpenTypedNamedPipe<CerealRecord>(name_, kSendingSide);
  ASSERT_TRUE(same.ok()) << same.status();
  ASSERT_TRUE(same->send(RecordFrom(9)).ok());
  absl::StatusOr<CerealRecord> received = pipe->first.recv();
  ASSERT_TRUE(received.ok()) << received.status();
  EXPECT_EQ(received->sender, 9u);
}

TEST_F(NamedTypedPipeTest, OpeningWithAnotherCodecIsRefusedAtOpen) {
  auto pipe = CreateTypedNamedPipe<PodRecord>(name_);  // TriviallyCopyableCodec
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  absl::StatusOr<TypedPipeEnd<PodRecord, OtherPodCodec>> other =
      OpenTypedNamedPipe<PodRecord, OtherPodCodec>(name_, kReceivingSide);
  ASSERT_TRUE(absl::IsInvalidArgument(other.status())) << other.status();
  EXPECT_TRUE(MessageHas(other.status(), "the same message type with another codec"));
}

TEST_F(NamedTypedPipeTest, AnUntypedPipeCannotBeOpenedAsATypedOne) {
  auto pipe = CreateNamedPipe(name_);
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  absl::StatusOr<TypedPipeEnd<std::string>> typed =
      OpenTypedNamedPipe<std::string>(name_, kReceivingSide);
  ASSERT_TRUE(absl::IsInvalidArgument(typed.status())) << typed.status();
  EXPECT_TRUE(MessageHas(typed.status(), "not created as a typed pipe"));
}

TEST_F(NamedTypedPipeTest, ARefusedOpenLeavesNoTraceSoTheNameGoesWithTheCreator) {
  {
    auto pipe = CreateTypedNamedPipe<CerealRecord>(name_);
    ASSERT_TRUE(pipe.ok()) << pipe.status();
    ASSERT_FALSE((OpenTypedNamedPipe<Note, NoteCodec>(name_, kSendingSide).ok()));
  }
  // The creator was the only user: closing its ends removed the name.
  EXPECT_TRUE(absl::IsNotFound(RemoveNamedPipe(name_)));
}

TEST_F(NamedTypedPipeTest, AllRawByteTypesShareOneFingerprint) {
  auto pipe = CreateTypedNamedPipe<std::string>(name_);
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  absl::StatusOr<TypedPipeEnd<std::vector<std::byte>>> bytes =
      OpenTypedNamedPipe<std::vector<std::byte>>(name_, kSendingSide);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  ASSERT_TRUE(bytes->send({std::byte{'h'}, std::byte{'i'}}).ok());
  absl::StatusOr<std::string> text = pipe->first.recv();
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "hi");
}

TEST_F(NamedTypedPipeTest, AGenericEndOfATypedPipeRefusesOtherTypesAtEachCall) {
  auto pipe = CreateTypedNamedPipe<CerealRecord>(name_);
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  absl::StatusOr<PipeEnd> generic = OpenNamedPipe(name_, kSendingSide);
  ASSERT_TRUE(generic.ok()) << generic.status();
  EXPECT_EQ(generic->sent_message_type(), (MessageTypeOf<CerealRecord, CerealCodec>()));
  absl::Status wrong = generic->send(Request{});
  ASSERT_TRUE(absl::IsInvalidArgument(wrong)) << wrong;
  EXPECT_TRUE(MessageHas(wrong, "another message type"));
  wrong = generic->send<CerealRecord, OtherCerealCodec>(CerealRecord{});
  EXPECT_TRUE(MessageHas(wrong, "the same type with another codec"));
  ASSERT_TRUE(generic->send(RecordFrom(4)).ok());
  // The escape hatch: bytes go through unchecked, and fail to decode.
  ASSERT_TRUE(generic->send_bytes("not a record").ok());
  absl::StatusOr<CerealRecord> received = pipe->first.recv();
  ASSERT_TRUE(received.ok()) << received.status();
  EXPECT_EQ(received->sender, 4u);
  EXPECT_TRUE(absl::IsDataLoss(pipe->first.recv().status()));
}

TEST_F(NamedTypedPipeTest, DuplexRequestResponseWithAForkedResponder) {
  auto pipe = CreateTypedDuplexNamedPipe<Request, Response>(name_, {.buffer_size = 4096});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  auto& requester = pipe->first;
  auto& creator_responder = pipe->second;
  // The responder's side opened with the requester's end type: both
  // directions' types are swapped, so it is refused.
  absl::StatusOr<RequesterEnd<Request, Response>> swapped =
      OpenTypedNamedEnd<RequesterEnd<Request, Response>>(name_, Side::kSecond);
  EXPECT_TRUE(absl::IsInvalidArgument(swapped.status())) << swapped.status();

  const pid_t child = ForkChild([&] {
    // Open by name first: closing the inherited ends before would leave, for
    // a moment, no sender of responses at all (end of stream for the parent).
    absl::StatusOr<ResponderEnd<Request, Response>> responder =
        OpenTypedNamedEnd<ResponderEnd<Request, Response>>(name_, Side::kSecond);
    (void)creator_responder.close();
    (void)requester.close();
    if (!responder.ok()) return 2;
    for (;;) {
      absl::StatusOr<Request> request = responder->recv();
      if (IsEndOfStream(request.status())) return 0;
      if (!request.ok()) return 3;
      if (!responder->send(Serve(*request)).ok()) return 4;
    }
  });
  ASSERT_TRUE(creator_responder.close().ok());
  for (std::uint64_t id = 1; id <= 20; ++id) {
    std::vector<double> operands(id * 50, 0.5);  // up to 8 KB: larger than the ring
    ASSERT_TRUE(requester.send(Request{id, id % 5 == 0 ? "product" : "sum", operands}).ok());
    absl::StatusOr<Response> response = requester.recv_for(std::chrono::seconds(30));
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->id, id);
    if (id % 5 == 0) {
      EXPECT_EQ(response->error, "unknown operation product");
    } else {
      EXPECT_EQ(response->result, static_cast<double>(id * 25));
    }
  }
  ASSERT_TRUE(requester.close().ok());  // the responder sees end of stream
  EXPECT_TRUE(WaitForChild(child));
}

// --- Anonymous typed pipes and typed calls --------------------------------------------

TEST(TypedPipeTest, DuplexRequestResponseBetweenThreads) {
  auto pipe = TypedDuplexPipe<Request, Response>({.buffer_size = 1024});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  auto& requester = pipe->first;
  auto& responder = pipe->second;
  EXPECT_TRUE(requester.can_send() && requester.can_recv());
  std::thread server([&] {
    for (;;) {
      absl::StatusOr<Request> request = responder.recv();
      if (!request.ok()) return;
      ASSERT_TRUE(responder.send(Serve(*request)).ok());
    }
  });
  for (std::uint64_t id = 0; id < 30; ++id) {
    ASSERT_TRUE(requester.send(Request{id, "sum", {1.0, 2.0, static_cast<double>(id)}}).ok());
    absl::StatusOr<Response> response = requester.recv();
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->id, id);
    EXPECT_EQ(response->result, 3.0 + id);
  }
  ASSERT_TRUE(requester.close().ok());
  server.join();
}

TEST(TypedPipeTest, WaitingAndEndOfStreamBehaveAsTheGenericPipe) {
  auto pipe = TypedPipe<std::uint64_t>({.buffer_size = 64});
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  auto& receiver = pipe->first;
  auto& sender = pipe->second;
  EXPECT_TRUE(IsWouldBlock(receiver.try_recv().status()));
  EXPECT_TRUE(IsTimeout(receiver.recv_for(std::chrono::milliseconds(10)).status()));
  // Fill the ring: try_send reports when it would have to wait.
  std::uint64_t sent = 0;
  absl::Status status;
  while ((status = sender.try_send(sent)).ok()) ++sent;
  EXPECT_TRUE(IsWouldBlock(status)) << status;
  EXPECT_TRUE(IsTimeout(sender.send_for(sent, std::chrono::milliseconds(10))));
  ASSERT_GT(sent, 0u);
  ASSERT_TRUE(sender.close().ok());
  EXPECT_TRUE(IsClosed(sender.send(std::uint64_t{1})));
  for (std::uint64_t expected = 0; expected < sent; ++expected) {
    absl::StatusOr<std::uint64_t> value = receiver.recv();
    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_EQ(*value, expected);
  }
  EXPECT_TRUE(IsEndOfStream(receiver.recv().status()));
  // A receive-only end cannot send.
  EXPECT_TRUE(absl::IsInvalidArgument(receiver.send(std::uint64_t{1})));
}

TEST(TypedPipeTest, SendingAfterEveryReceiverClosedIsABrokenPipe) {
  auto pipe = TypedPipe<CerealRecord>();
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  ASSERT_TRUE(pipe->first.close().ok());
  EXPECT_TRUE(IsBrokenPipe(pipe->second.send(CerealRecord{})));
}

TEST(TypedPipeTest, AnEmptyEndRefusesEverything) {
  TypedPipeEnd<CerealRecord> end;
  EXPECT_FALSE(end.is_open());
  EXPECT_TRUE(absl::IsInvalidArgument(end.send(CerealRecord{})));
  EXPECT_TRUE(absl::IsInvalidArgument(end.recv().status()));
}

// Codecs that break their contract.
struct LyingSizeCodec {
  static constexpr std::uint64_t kId = CodecIdFromName("tests.LyingSizeCodec");
  static std::uint64_t EncodedSize(const Note& note) { return note.body.size() + 1; }
  static absl::Status Encode(const Note& note, ByteWriter& out) {
    out.Write(note.body);
    return absl::OkStatus();
  }
  static absl::StatusOr<Note> Decode(ByteReader&) { return Note{}; }
};

struct FailingCodec {
  static constexpr std::uint64_t kId = CodecIdFromName("tests.FailingCodec");
  static std::uint64_t EncodedSize(const Note&) { return 4; }
  static absl::Status Encode(const Note& note, ByteWriter& out) {
    out.Write("ab");
    if (note.body == "bad") return absl::FailedPreconditionError("refusing a bad note");
    out.Write("cd");
    return absl::OkStatus();
  }
  static absl::StatusOr<Note> Decode(ByteReader& in) {
    std::string body(4, '\0');
    if (absl::Status status = in.Read(body.data(), 4); !status.ok()) return status;
    return Note{0, 0, body};
  }
};

TEST(TypedCallTest, ACodecWhoseSizeAndBytesDisagreeDeliversNothing) {
  auto pipe = Pipe();
  ASSERT_TRUE(pipe.ok());
  auto& receiver = pipe->first;
  auto& sender = pipe->second;
  absl::Status status = sender.send<Note, LyingSizeCodec>(Note{0, 0, "four"});
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_TRUE(MessageHas(status, "announced"));
  status = sender.send<Note, FailingCodec>(Note{0, 0, "bad"});
  EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
  EXPECT_TRUE(MessageHas(status, "refusing a bad note"));
  ASSERT_TRUE((sender.send<Note, FailingCodec>(Note{0, 0, "good"}).ok()));
  absl::StatusOr<Note> note = receiver.try_recv<Note, FailingCodec>();
  ASSERT_TRUE(note.ok()) << note.status();
  EXPECT_EQ(note->body, "abcd");
  EXPECT_TRUE(IsWouldBlock(receiver.try_recv<Note, FailingCodec>().status()));
}

TEST(TypedCallTest, RawBytesInteroperateWithSendBytesAndRecvBytes) {
  auto pipe = Pipe();
  ASSERT_TRUE(pipe.ok());
  auto& receiver = pipe->first;
  auto& sender = pipe->second;
  const std::string text = "hello";
  ASSERT_TRUE(sender.send(text).ok());
  ASSERT_TRUE(sender.send(std::string_view("view")).ok());
  ASSERT_TRUE(sender.send(std::span<const char>(text.data(), 4)).ok());
  ASSERT_TRUE(sender.send_bytes("bytes").ok());
  EXPECT_EQ(*receiver.recv_bytes(), "hello");
  EXPECT_EQ(*receiver.recv<std::string>(), "view");
  absl::StatusOr<std::vector<unsigned char>> span_bytes = receiver.recv<std::vector<unsigned char>>();
  ASSERT_TRUE(span_bytes.ok());
  EXPECT_EQ(std::string(span_bytes->begin(), span_bytes->end()), "hell");
  EXPECT_EQ(*receiver.recv<std::string>(), "bytes");
}

}  // namespace
}  // namespace buffered_pipe
