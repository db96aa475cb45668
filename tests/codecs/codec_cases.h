// The codecs under test, each as a "case": a value type, its codec, and
// self-checking values. One typed test suite runs over all of them
// (codec_round_trip_test.cc), as cereal runs one test per type for every
// archive.
//
// A case provides
//   using Value, Codec;
//   static Value Make(std::uint32_t sender, std::uint64_t sequence, std::size_t size);
//       deterministic; about `size` encoded bytes (fixed-size cases ignore it)
//   static Value Empty();                    the smallest value
//   static bool kVariableSize;               false: every value has one size
//   static bool kDetectsTruncation;          every strict prefix of an encoding fails
//   static absl::Status Identify(const Value&, Identity*);
//       recovers (sender, sequence, size) of a value made by Make, so that a
//       receiver can check it against Make(identity) without other context.

#ifndef BUFFERED_PIPE_TESTS_CODECS_CODEC_CASES_H_
#define BUFFERED_PIPE_TESTS_CODECS_CODEC_CASES_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "buffered_pipe/codecs/cereal.h"
#include "buffered_pipe/codecs/codec.h"
#include "tests/test_support.h"

namespace buffered_pipe::testing {

struct Identity {
  std::uint32_t sender = 0;
  std::uint64_t sequence = 0;
  std::size_t size = 0;
};

inline std::uint64_t MixBits(std::uint64_t value) {
  value += 0x9E3779B97F4A7C15ULL;
  value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9ULL;
  value = (value ^ (value >> 27)) * 0x94D049BB133111EBULL;
  return value ^ (value >> 31);
}

// `size` pattern bytes determined by (sender, sequence).
inline std::string PatternText(std::uint32_t sender, std::uint64_t sequence, std::size_t size) {
  std::string text(size, '\0');
  std::uint64_t state = MixBits((std::uint64_t{sender} << 40) ^ sequence);
  for (std::size_t i = 0; i < size; ++i) {
    if (i % 8 == 0) state = MixBits(state);
    text[i] = static_cast<char>(state >> (8 * (i % 8)));
  }
  return text;
}

// --- Raw bytes: std::string ---------------------------------------------------------

struct RawBytesCase {
  using Value = std::string;
  using Codec = RawBytesCodec;
  static constexpr bool kVariableSize = true;
  static constexpr bool kDetectsTruncation = false;  // every prefix is a byte string

  static Value Make(std::uint32_t sender, std::uint64_t sequence, std::size_t size) {
    return MakeMessage(sender, sequence, size);  // self-checking, at least 20 bytes
  }
  static Value Empty() { return std::string(); }
  static absl::Status Identify(const Value& value, Identity* identity) {
    if (absl::Status status = CheckMessage(value, &identity->sender, &identity->sequence);
        !status.ok()) {
      return status;
    }
    identity->size = value.size();
    return absl::OkStatus();
  }
};

// --- Trivially copyable: a 1 KiB record -----------------------------------------------

struct PodRecord {
  std::uint32_t sender;
  std::uint32_t checksum;
  std::uint64_t sequence;
  std::array<std::uint8_t, 1008> payload;

  friend bool operator==(const PodRecord&, const PodRecord&) = default;
};
static_assert(sizeof(PodRecord) == 1024);

struct TriviallyCopyableCase {
  using Value = PodRecord;
  using Codec = TriviallyCopyableCodec;
  static constexpr bool kVariableSize = false;
  static constexpr bool kDetectsTruncation = true;

  static Value Make(std::uint32_t sender, std::uint64_t sequence, std::size_t /*size*/) {
    PodRecord record{};
    record.sender = sender;
    record.sequence = sequence;
    const std::string text = PatternText(sender, sequence, record.payload.size());
    std::memcpy(record.payload.data(), text.data(), text.size());
    record.checksum = Checksum(record);
    return record;
  }
  static Value Empty() { return PodRecord{}; }
  static absl::Status Identify(const Value& value, Identity* identity) {
    if (value.checksum != Checksum(value)) return absl::DataLossError("record checksum mismatch");
    *identity = {value.sender, value.sequence, 0};
    return absl::OkStatus();
  }
  static std::uint32_t Checksum(const PodRecord& record) {
    std::uint32_t hash = 2166136261u ^ record.sender ^ static_cast<std::uint32_t>(record.sequence);
    for (std::uint8_t byte : record.payload) hash = (hash ^ byte) * 16777619u;
    return hash;
  }
};

// --- cereal: a struct of strings, vectors and a map ------------------------------------------

struct CerealRecord {
  std::uint32_t sender = 0;
  std::uint64_t sequence = 0;
  std::uint64_t requested_size = 0;
  std::string text;
  std::vector<std::uint32_t> numbers;
  std::vector<std::string> words;
  std::map<std::string, std::int64_t> counts;
  std::optional<double> ratio;
  bool flag = false;

  template <class Archive>
  void serialize(Archive& archive) {
    archive(sender, sequence, requested_size, text, numbers, words, counts, ratio, flag);
  }
  friend bool operator==(const CerealRecord&, const CerealRecord&) = default;
};

struct CerealCase {
  using Value = CerealRecord;
  using Codec = CerealCodec;
  static constexpr bool kVariableSize = true;
  static constexpr bool kDetectsTruncation = true;

  static Value Make(std::uint32_t sender, std::uint64_t sequence, std::size_t size) {
    CerealRecord record;
    record.sender = sender;
    record.sequence = sequence;
    record.requested_size = size;
    // About half the size as text, a quarter as numbers, the rest as words.
    record.text = PatternText(sender, sequence, size / 2);
    for (std::size_t i = 0; i < size / 16; ++i) {
      record.numbers.push_back(static_cast<std::uint32_t>(MixBits(sequence + i)));
    }
    for (std::size_t i = 0; i < size / 64; ++i) {
      record.words.push_back(PatternText(sender, sequence + i, i % 7));
    }
    for (std::size_t i = 0; i < size % 5; ++i) {
      record.counts[absl::StrCat("key", i)] = static_cast<std::int64_t>(sequence) - i;
    }
    if (sequence % 2 == 1) record.ratio = static_cast<double>(sequence) / 3.0;
    record.flag = sequence % 3 == 0;
    return record;
  }
  static Value Empty() { return CerealRecord{}; }
  static absl::Status Identify(const Value& value, Identity* identity) {
    *identity = {value.sender, value.sequence, static_cast<std::size_t>(value.requested_size)};
    return absl::OkStatus();
  }
};

// --- A user-defined codec, written as a user would (outside the library) ---------------------

// A note: author id, sequence number and a body.
struct Note {
  std::uint32_t author = 0;
  std::uint64_t sequence = 0;
  std::string body;
  friend bool operator==(const Note&, const Note&) = default;
};

// [author: 4][sequence: 8][body length: 8][body], little-endian host order.
struct NoteCodec {
  static constexpr std::uint64_t kId = CodecIdFromName("buffered_pipe.tests.Note/1");
  static constexpr std::string_view kName = "note codec";

  static std::uint64_t EncodedSize(const Note& note) { return 20 + note.body.size(); }
  static absl::Status Encode(const Note& note, ByteWriter& out) {
    const std::uint64_t length = note.body.size();
    out.Write(&note.author, sizeof note.author);
    out.Write(&note.sequence, sizeof note.sequence);
    out.Write(&length, sizeof length);
    out.Write(note.body);
    return absl::OkStatus();
  }
  static absl::StatusOr<Note> Decode(ByteReader& in) {
    Note note;
    std::uint64_t length = 0;
    if (absl::Status s = in.Read(&note.author, sizeof note.author); !s.ok()) return s;
    if (absl::Status s = in.Read(&note.sequence, sizeof note.sequence); !s.ok()) return s;
    if (absl::Status s = in.Read(&length, sizeof length); !s.ok()) return s;
    if (length > in.remaining()) {
      return absl::DataLossError(absl::StrCat("a body of ", length, " bytes in ", in.remaining()));
    }
    note.body.resize(length);
    if (absl::Status s = in.Read(note.body.data(), length); !s.ok()) return s;
    return note;
  }
};

struct UserCodecCase {
  using Value = Note;
  using Codec = NoteCodec;
  static constexpr bool kVariableSize = true;
  static constexpr bool kDetectsTruncation = true;

  static Value Make(std::uint32_t sender, std::uint64_t sequence, std::size_t size) {
    return Note{sender, sequence, PatternText(sender, sequence, size)};
  }
  static Value Empty() { return Note{}; }
  static absl::Status Identify(const Value& value, Identity* identity) {
    *identity = {value.author, value.sequence, value.body.size()};
    return absl::OkStatus();
  }
};

// Checks a received value against the value its identity says was sent.
template <typename Case>
absl::Status CheckValue(const typename Case::Value& value, Identity* identity) {
  if (absl::Status status = Case::Identify(value, identity); !status.ok()) return status;
  if (!(value == Case::Make(identity->sender, identity->sequence, identity->size))) {
    return absl::DataLossError(absl::StrCat("value ", identity->sequence, " of sender ",
                                            identity->sender, " differs from what was sent"));
  }
  return absl::OkStatus();
}

}  // namespace buffered_pipe::testing

#endif  // BUFFERED_PIPE_TESTS_CODECS_CODEC_CASES_H_
