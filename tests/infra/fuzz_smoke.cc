// Trivial libFuzzer target proving the fuzz wiring (bazel/fuzz.bzl): parses
// "<len byte><payload>" records and checks a round trip.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> records;
  size_t pos = 0;
  while (pos < size) {
    const size_t len = data[pos++];
    if (len > size - pos) break;
    records.emplace_back(reinterpret_cast<const char*>(data + pos), len);
    pos += len;
  }
  std::string encoded;
  for (const std::string& r : records) {
    encoded.push_back(static_cast<char>(r.size()));
    encoded += r;
  }
  // The encoding of the parsed records is a prefix of the input.
  if (encoded.size() > size || encoded.compare(0, encoded.size(),
                                               reinterpret_cast<const char*>(data),
                                               encoded.size()) != 0) {
    __builtin_trap();
  }
  (void)absl::StrFormat("%d records", records.size());
  return 0;
}
