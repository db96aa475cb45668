// Shared by the decoder fuzz targets: the message types they decode, and a
// pipe that every input also travels through.
//
// Each target decodes its input twice: from memory (DecodeValue) and out of
// a real pipe (send_bytes, then recv<T>), where the decoder reads it piece by
// piece straight out of the ring. The pipe is reused across inputs, so frames
// land at every offset and wrap around the ring's end. Both results must
// agree. Any crash, sanitizer report or disagreement is a bug.

#ifndef BUFFERED_PIPE_CODECS_FUZZ_FUZZ_SUPPORT_H_
#define BUFFERED_PIPE_CODECS_FUZZ_FUZZ_SUPPORT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "buffered_pipe/codecs/cereal.h"
#include "buffered_pipe/codecs/codec.h"
#include "buffered_pipe/pipe.h"

namespace buffered_pipe::fuzzing {

// Stops the fuzzer with a message (a finding).
[[noreturn]] inline void Fail(const char* what) {
  std::fprintf(stderr, "FUZZ FINDING: %s\n", what);
  std::abort();
}

// A trivially copyable record without padding (so its bytes round-trip
// exactly) and without bool or enum members (every bit pattern is valid).
struct FuzzRecord {
  std::uint64_t identifier;
  std::int32_t quantity;
  std::uint16_t flags;
  std::uint8_t kind;
  std::uint8_t level;
  std::uint64_t price_bits;
  std::array<char, 8> name;
};
static_assert(sizeof(FuzzRecord) == 32, "no padding");

// A cereal message using most container kinds cereal offers (unordered
// containers are left out so that a re-encoding is canonical).
struct FuzzInner {
  std::string label;
  std::vector<std::int16_t> samples;
  std::optional<std::uint32_t> limit;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(label, samples, limit);
  }
};

struct FuzzMessage {
  std::uint32_t version = 0;
  bool urgent = false;
  std::string text;
  std::u16string wide;
  std::vector<std::uint64_t> numbers;
  std::vector<bool> bits;
  std::vector<std::string> words;
  std::map<std::string, std::int64_t> counts;
  std::list<FuzzInner> inners;
  std::deque<std::uint8_t> queue;
  std::variant<std::int32_t, std::string, FuzzInner> choice;
  std::tuple<std::int8_t, double, std::string> triple;
  std::array<std::uint32_t, 3> fixed{};
  std::shared_ptr<std::string> shared;
  std::unique_ptr<FuzzInner> owned;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(version, urgent, text, wide, numbers, bits, words, counts, inners, queue, choice,
            triple, fixed, shared, owned);
  }
};

// One pipe per process, large enough that every input it is given travels
// as one frame (the sending thread is also the receiving one).
inline constexpr std::size_t kLargestPipedInput = 256 << 10;

inline std::pair<PipeEnd, PipeEnd>& SharedPipe() {
  static auto* pipe = [] {
    absl::StatusOr<std::pair<PipeEnd, PipeEnd>> made = Pipe({.buffer_size = 1 << 20});
    if (!made.ok()) Fail("cannot make the pipe");
    return new std::pair<PipeEnd, PipeEnd>(std::move(*made));
  }();
  return *pipe;
}

// Decodes `bytes` from memory and out of the pipe; checks they agree on
// success or failure. Returns the value decoded from memory.
template <typename T, typename Codec>
absl::StatusOr<T> DecodeBothWays(std::string_view bytes) {
  absl::StatusOr<T> from_memory = DecodeValue<T, Codec>(bytes);
  if (!from_memory.ok() && !absl::IsDataLoss(from_memory.status())) {
    Fail("a decoding error other than DataLoss");
  }
  if (bytes.size() <= kLargestPipedInput) {
    auto& [receiver, sender] = SharedPipe();
    if (!sender.send_bytes(bytes).ok()) Fail("send_bytes failed");
    absl::StatusOr<T> from_pipe = receiver.recv<T, Codec>();
    if (from_pipe.ok() != from_memory.ok()) Fail("the pipe and memory decodings disagree");
    // Same kind of failure; the wording may differ (a plain-copy value is
    // received straight into its bytes, where the pipe reports the size).
    if (!from_pipe.ok() && from_pipe.status().code() != from_memory.status().code()) {
      Fail("the pipe and memory decodings fail differently");
    }
  }
  return from_memory;
}

inline std::string_view AsText(const std::uint8_t* data, std::size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

}  // namespace buffered_pipe::fuzzing

#endif  // BUFFERED_PIPE_CODECS_FUZZ_FUZZ_SUPPORT_H_
