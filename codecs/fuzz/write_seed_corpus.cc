// Writes the seed inputs of the decoder fuzz targets: valid encodings (and a
// few invalid ones) of the types they decode. Run from the repository root:
//
//   bazel run //codecs:write_seed_corpus -- "$PWD/codecs/corpus"
//
// and commit what changed. The seeds are small on purpose.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "buffered_pipe/codecs/fuzz/fuzz_support.h"

namespace buffered_pipe::fuzzing {
namespace {

bool Write(const std::filesystem::path& directory, const std::string& name,
           const std::string& bytes) {
  std::filesystem::create_directories(directory);
  std::ofstream out(directory / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

template <typename T, typename Codec>
std::string Encoded(const T& value) {
  absl::StatusOr<std::string> bytes = EncodeValue<T, Codec>(value);
  if (!bytes.ok()) Fail("cannot encode a seed");
  return *bytes;
}

FuzzMessage SampleMessage() {
  FuzzMessage message;
  message.version = 3;
  message.urgent = true;
  message.text = "hello";
  message.wide = u"wide";
  message.numbers = {1, 2, 1ull << 40};
  message.bits = {true, false, true};
  message.words = {"a", "", "word"};
  message.counts = {{"x", 1}, {"y", -2}};
  message.inners = {FuzzInner{"inner", {1, -1}, 7}, FuzzInner{}};
  message.queue = {9, 8};
  message.choice = FuzzInner{"chosen", {}, std::nullopt};
  message.triple = {-4, 0.25, "t"};
  message.fixed = {1, 2, 3};
  message.shared = std::make_shared<std::string>("shared");
  message.owned = std::make_unique<FuzzInner>(FuzzInner{"owned", {5}, 1});
  return message;
}

int Main(const std::filesystem::path& root) {
  bool ok = true;
  const auto raw = root / "raw_bytes_decoder_fuzz";
  ok &= Write(raw, "text", "hello, world");
  ok &= Write(raw, "binary", std::string("\0\1\2\3\xff", 5));

  const auto pod = root / "trivially_copyable_decoder_fuzz";
  FuzzRecord record{42, -7, 3, 1, 2, 0x400921fb54442d18ull, {'r', 'e', 'c', 'o', 'r', 'd', 0, 0}};
  ok &= Write(pod, "record", Encoded<FuzzRecord, TriviallyCopyableCodec>(record));
  ok &= Write(pod, "uint64", Encoded<std::uint64_t, TriviallyCopyableCodec>(1234567890123ull));
  ok &= Write(pod, "bool", Encoded<bool, TriviallyCopyableCodec>(true));
  ok &= Write(pod, "short", "abc");

  const auto cereal = root / "cereal_decoder_fuzz";
  ok &= Write(cereal, "message", Encoded<FuzzMessage, CerealCodec>(SampleMessage()));
  ok &= Write(cereal, "empty_message", Encoded<FuzzMessage, CerealCodec>(FuzzMessage{}));
  ok &= Write(cereal, "words",
              Encoded<std::vector<std::string>, CerealCodec>({"one", "two", "three"}));
  ok &= Write(cereal, "map",
              Encoded<std::map<std::uint8_t, std::vector<std::uint32_t>>, CerealCodec>(
                  {{1, {10, 11}}, {2, {}}}));
  std::string huge(8, '\0');
  huge[7] = 0x10;  // a length of 2^60
  ok &= Write(cereal, "huge_length", huge + "abcdefgh");
  if (!ok) std::fprintf(stderr, "cannot write the seeds under %s\n", root.c_str());
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace buffered_pipe::fuzzing

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_seed_corpus <directory>\n");
    return 2;
  }
  return buffered_pipe::fuzzing::Main(argv[1]);
}
