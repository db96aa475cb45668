// libFuzzer target: RawBytesCodec's decoder (see fuzz_support.h).
// Every input is a valid byte string: it must decode to exactly itself.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "buffered_pipe/codecs/fuzz/fuzz_support.h"

namespace buffered_pipe::fuzzing {
namespace {

void Run(std::string_view input) {
  absl::StatusOr<std::string> text = DecodeBothWays<std::string, RawBytesCodec>(input);
  if (!text.ok() || *text != input) Fail("a byte string did not decode to itself");
  absl::StatusOr<std::vector<std::byte>> bytes =
      DecodeBothWays<std::vector<std::byte>, RawBytesCodec>(input);
  if (!bytes.ok() || bytes->size() != input.size() ||
      (!input.empty() && std::memcmp(bytes->data(), input.data(), input.size()) != 0)) {
    Fail("a byte vector did not decode to the input");
  }
}

}  // namespace
}  // namespace buffered_pipe::fuzzing

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  buffered_pipe::fuzzing::Run(buffered_pipe::fuzzing::AsText(data, size));
  return 0;
}
