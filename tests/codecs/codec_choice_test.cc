// Which codec a type gets (DefaultCodec), how a user overrides it, the codec
// ids that typed pipes record, and CerealCodec's format: byte for byte
// cereal's own binary archive.

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "buffered_pipe/codecs/cereal.h"
#include "buffered_pipe/codecs/codec.h"
#include "buffered_pipe/codecs/typed_pipe.h"
#include "buffered_pipe/pipe.h"
#include "cereal/archives/binary.hpp"
#include "gtest/gtest.h"
#include "tests/codecs/codec_cases.h"

// A user type with a codec chosen by specialising DefaultCodec (outside the
// library, in the user's namespace and header).
namespace weather {
struct Celsius {
  double degrees = 0;
  std::string station;
};
// Text "<degrees>@<station>".
struct CelsiusCodec {
  static constexpr std::uint64_t kId = buffered_pipe::CodecIdFromName("weather.Celsius/1");
  static std::uint64_t EncodedSize(const Celsius& value) { return Text(value).size(); }
  static absl::Status Encode(const Celsius& value, buffered_pipe::ByteWriter& out) {
    out.Write(Text(value));
    return absl::OkStatus();
  }
  static absl::StatusOr<Celsius> Decode(buffered_pipe::ByteReader& in) {
    std::string text(in.remaining(), '\0');
    if (absl::Status status = in.Read(text.data(), text.size()); !status.ok()) return status;
    const std::size_t at = text.find('@');
    if (at == std::string::npos) return absl::DataLossError("no @");
    return Celsius{std::stod(text.substr(0, at)), text.substr(at + 1)};
  }
  static std::string Text(const Celsius& value) {
    return std::to_string(value.degrees) + "@" + value.station;
  }
};
}  // namespace weather

template <>
struct buffered_pipe::DefaultCodec<weather::Celsius> {
  using type = weather::CelsiusCodec;
};

namespace buffered_pipe {
namespace {

using ::buffered_pipe::testing::CerealCase;
using ::buffered_pipe::testing::CerealRecord;
using ::buffered_pipe::testing::Note;
using ::buffered_pipe::testing::NoteCodec;
using ::buffered_pipe::testing::PodRecord;

struct WithPointer {
  int* pointer;
};
struct NoSerialization {
  std::string name;
};
enum class Color : std::uint8_t { kRed, kGreen };

// --- The automatic choice -----------------------------------------------------------

static_assert(std::is_same_v<DefaultCodecFor<std::string>, RawBytesCodec>);
static_assert(std::is_same_v<DefaultCodecFor<std::string_view>, RawBytesCodec>);
static_assert(std::is_same_v<DefaultCodecFor<std::vector<std::byte>>, RawBytesCodec>);
static_assert(std::is_same_v<DefaultCodecFor<std::vector<unsigned char>>, RawBytesCodec>);
static_assert(std::is_same_v<DefaultCodecFor<std::span<const std::byte>>, RawBytesCodec>);
static_assert(std::is_same_v<DefaultCodecFor<int>, TriviallyCopyableCodec>);
static_assert(std::is_same_v<DefaultCodecFor<double>, TriviallyCopyableCodec>);
static_assert(std::is_same_v<DefaultCodecFor<Color>, TriviallyCopyableCodec>);
static_assert(std::is_same_v<DefaultCodecFor<PodRecord>, TriviallyCopyableCodec>);
static_assert(std::is_same_v<DefaultCodecFor<std::array<float, 3>>, TriviallyCopyableCodec>);
static_assert(std::is_same_v<DefaultCodecFor<CerealRecord>, CerealCodec>);
static_assert(std::is_same_v<DefaultCodecFor<std::vector<int>>, CerealCodec>);
static_assert(std::is_same_v<DefaultCodecFor<std::pair<int, std::string>>, CerealCodec>);
static_assert(std::is_same_v<DefaultCodecFor<std::map<std::string, std::vector<int>>>, CerealCodec>);
static_assert(std::is_same_v<DefaultCodecFor<weather::Celsius>, weather::CelsiusCodec>);
// No codec: these would not compile as messages (the error says how to add one).
static_assert(!HasDefaultCodec<int*>);
static_assert(!HasDefaultCodec<NoSerialization>);
static_assert(!HasDefaultCodec<Note>);  // has a codec, but only when named
static_assert(CodecFor<NoteCodec, Note>);
// Not detectable: a struct holding a pointer is trivially copyable, so it gets
// the plain-copy codec (trivially_copyable.h says to give it another).
static_assert(PlainCopyable<WithPointer>);

// --- Stable codec ids (recorded in named pipes: never change them) -----------------------

static_assert(RawBytesCodec::kId == 1);
static_assert(TriviallyCopyableCodec::kId == 2);
static_assert(CerealCodec::kId == 3);
static_assert(CodecIdFromName("x") >= (std::uint64_t{1} << 63));

TEST(CodecChoiceTest, AUserSpecialisationOfDefaultCodecIsUsedBySendAndRecv) {
  auto pipe = Pipe();
  ASSERT_TRUE(pipe.ok());
  auto& receiver = pipe->first;
  auto& sender = pipe->second;
  ASSERT_TRUE(sender.send(weather::Celsius{21.5, "Oslo"}).ok());
  absl::StatusOr<std::string> bytes = receiver.recv_bytes();
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, "21.500000@Oslo");
  ASSERT_TRUE(sender.send(weather::Celsius{-3, "Tromso"}).ok());
  absl::StatusOr<weather::Celsius> value = receiver.recv<weather::Celsius>();
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->station, "Tromso");
  EXPECT_EQ(value->degrees, -3);
}

TEST(CodecChoiceTest, ACodecNamedPerCallOrPerPipeOverridesTheDefault) {
  // A trivially copyable type sent with cereal instead of a plain copy.
  absl::StatusOr<std::string> copy = EncodeValue(std::uint32_t{7});
  absl::StatusOr<std::string> cereal = EncodeValue<std::uint32_t, CerealCodec>(7);
  ASSERT_TRUE(copy.ok() && cereal.ok());
  EXPECT_EQ(*copy, *cereal);  // same bytes for a number, different codec id
  auto pipe = TypedPipe<std::uint32_t, CerealCodec>();
  ASSERT_TRUE(pipe.ok()) << pipe.status();
  EXPECT_EQ(pipe->first.received_message_type().codec_id, CerealCodec::kId);
  ASSERT_TRUE(pipe->second.send(7).ok());
  absl::StatusOr<std::uint32_t> value = pipe->first.recv();
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, 7u);
}

TEST(FingerprintTest, DependsOnNameSizeAndAlignmentAndIsStableWithinAProcess) {
  EXPECT_EQ(MessageTypeFingerprint<CerealRecord>(), MessageTypeFingerprint<CerealRecord>());
  EXPECT_NE(MessageTypeFingerprint<CerealRecord>(), MessageTypeFingerprint<Note>());
  EXPECT_NE(MessageTypeFingerprint<std::int32_t>(), MessageTypeFingerprint<std::uint32_t>());
  EXPECT_EQ(MessageTypeFingerprint<std::string>(), MessageTypeFingerprint<std::vector<std::byte>>());
  EXPECT_NE(MessageTypeFingerprint<std::string>(), 0u);
  EXPECT_EQ(MessageTypeName<CerealRecord>::Get(), "buffered_pipe::testing::CerealRecord");
}

// --- CerealCodec is cereal's binary format ----------------------------------------------

template <typename T>
std::string CerealBinary(const T& value) {
  std::ostringstream stream;
  {
    cereal::BinaryOutputArchive archive(stream);
    archive(value);
  }
  return stream.str();
}

template <typename T>
T FromCerealBinary(const std::string& bytes) {
  std::istringstream stream(bytes);
  cereal::BinaryInputArchive archive(stream);
  T value{};
  archive(value);
  return value;
}

struct Rich {
  std::map<std::string, std::vector<std::int16_t>> table;
  std::tuple<int, std::string, double> triple;
  std::variant<std::monostate, int, std::string> choice;
  std::shared_ptr<std::string> shared;
  std::unique_ptr<std::vector<float>> unique;
  std::vector<bool> bits;
  std::optional<std::array<char, 3>> maybe;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(table, triple, choice, shared, unique, bits, maybe);
  }
};

Rich MakeRich() {
  Rich rich;
  rich.table = {{"a", {1, -2, 3}}, {"bb", {}}, {"ccc", {32767}}};
  rich.triple = {42, "forty-two", 4.2};
  rich.choice = std::string("chosen");
  rich.shared = std::make_shared<std::string>("shared text");
  rich.unique = std::make_unique<std::vector<float>>(std::vector<float>{1.5f, 2.5f});
  rich.bits = {true, false, true, true};
  rich.maybe = std::array<char, 3>{'x', 'y', 'z'};
  return rich;
}

TEST(CerealFormatTest, EncodingIsByteForByteCerealsBinaryArchive) {
  const CerealRecord record = CerealCase::Make(3, 5, 700);
  absl::StatusOr<std::string> ours = EncodeValue(record);
  ASSERT_TRUE(ours.ok()) << ours.status();
  EXPECT_EQ(*ours, CerealBinary(record));
  ours = EncodeValue(MakeRich());
  ASSERT_TRUE(ours.ok()) << ours.status();
  EXPECT_EQ(*ours, CerealBinary(MakeRich()));
  EXPECT_EQ(*CerealCodec::EncodedSize(MakeRich()), ours->size());
}

TEST(CerealFormatTest, DecodesWhatCerealsBinaryArchiveWroteAndTheOtherWayRound) {
  const Rich rich = MakeRich();
  absl::StatusOr<Rich> decoded = DecodeValue<Rich>(CerealBinary(rich));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->table, rich.table);
  EXPECT_EQ(decoded->triple, rich.triple);
  EXPECT_EQ(decoded->choice, rich.choice);
  EXPECT_EQ(*decoded->shared, *rich.shared);
  EXPECT_EQ(*decoded->unique, *rich.unique);
  EXPECT_EQ(decoded->bits, rich.bits);
  EXPECT_EQ(decoded->maybe, rich.maybe);

  const CerealRecord record = CerealCase::Make(8, 1, 300);
  absl::StatusOr<std::string> ours = EncodeValue(record);
  ASSERT_TRUE(ours.ok());
  EXPECT_TRUE(FromCerealBinary<CerealRecord>(*ours) == record);
}

TEST(CerealFormatTest, ValuesThroughThePipeAreStreamedWithoutAnIntermediateCopy) {
  // Larger than the ring: the encoder writes into the ring while the
  // receiver decodes out of it; neither holds the whole message.
  auto pipe = Pipe({.buffer_size = 256});
  ASSERT_TRUE(pipe.ok());
  auto& receiver = pipe->first;
  auto& sender = pipe->second;
  const Rich rich = MakeRich();
  std::vector<std::int16_t> big(10000, 7);
  std::thread writer([&] {
    ASSERT_TRUE(sender.send(big).ok());
    ASSERT_TRUE(sender.send(rich).ok());
  });
  absl::StatusOr<std::vector<std::int16_t>> numbers = receiver.recv<std::vector<std::int16_t>>();
  ASSERT_TRUE(numbers.ok()) << numbers.status();
  EXPECT_EQ(*numbers, big);
  absl::StatusOr<Rich> received = receiver.recv<Rich>();
  ASSERT_TRUE(received.ok()) << received.status();
  EXPECT_EQ(received->table, rich.table);
  writer.join();
}

}  // namespace
}  // namespace buffered_pipe
