// libFuzzer target: TriviallyCopyableCodec's decoder (see fuzz_support.h).
// An input of exactly sizeof(T) bytes decodes to a value whose bytes are the
// input; any other size is DataLoss. A bool accepts only 0 and 1.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "buffered_pipe/codecs/fuzz/fuzz_support.h"

namespace buffered_pipe::fuzzing {
namespace {

template <typename T>
void Check(std::string_view input) {
  absl::StatusOr<T> value = DecodeBothWays<T, TriviallyCopyableCodec>(input);
  if (input.size() != sizeof(T)) {
    if (value.ok()) Fail("a value decoded from the wrong number of bytes");
    return;
  }
  if (!value.ok()) Fail("a value of the right size did not decode");
  if (std::memcmp(&*value, input.data(), sizeof(T)) != 0) Fail("decoded bytes differ");
}

void Run(std::string_view input) {
  Check<FuzzRecord>(input);
  Check<std::uint64_t>(input);
  Check<std::array<std::uint8_t, 3>>(input);
  absl::StatusOr<bool> flag = DecodeBothWays<bool, TriviallyCopyableCodec>(input);
  const bool valid_bool = input.size() == 1 && static_cast<unsigned char>(input[0]) <= 1;
  if (flag.ok() != valid_bool) Fail("a bool decoded from an invalid byte, or not from a valid one");
  if (flag.ok() && *flag != (input[0] == 1)) Fail("a bool decoded wrongly");
}

}  // namespace
}  // namespace buffered_pipe::fuzzing

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  buffered_pipe::fuzzing::Run(buffered_pipe::fuzzing::AsText(data, size));
  return 0;
}
