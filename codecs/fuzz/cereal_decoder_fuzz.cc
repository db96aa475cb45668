// libFuzzer target: CerealCodec's decoder (see fuzz_support.h) on a message
// using most of cereal's container kinds, and on a few plain containers.
// A decoded value re-encodes, and the re-encoding is canonical: decoding it
// and encoding again gives the same bytes. Any allocation far larger than
// the input would make libFuzzer's -rss_limit_mb / -malloc_limit_mb report.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "buffered_pipe/codecs/fuzz/fuzz_support.h"

namespace buffered_pipe::fuzzing {
namespace {

template <typename T>
void Check(std::string_view input) {
  absl::StatusOr<T> value = DecodeBothWays<T, CerealCodec>(input);
  if (!value.ok()) return;
  absl::StatusOr<std::string> encoded = EncodeValue<T, CerealCodec>(*value);
  if (!encoded.ok()) Fail("a decoded value did not re-encode");
  absl::StatusOr<std::uint64_t> size = CerealCodec::EncodedSize(*value);
  if (!size.ok() || *size != encoded->size()) Fail("the sizing pass disagrees with the encoding");
  absl::StatusOr<T> again = DecodeValue<T, CerealCodec>(*encoded);
  if (!again.ok()) Fail("a re-encoded value did not decode");
  absl::StatusOr<std::string> encoded_again = EncodeValue<T, CerealCodec>(*again);
  if (!encoded_again.ok() || *encoded_again != *encoded) Fail("the re-encoding is not canonical");
}

void Run(std::string_view input) {
  Check<FuzzMessage>(input);
  Check<std::vector<std::string>>(input);
  Check<std::map<std::uint8_t, std::vector<std::uint32_t>>>(input);
  Check<std::string>(input);
}

}  // namespace
}  // namespace buffered_pipe::fuzzing

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  buffered_pipe::fuzzing::Run(buffered_pipe::fuzzing::AsText(data, size));
  return 0;
}
