// Proves the offline dependency wiring: Abseil (StatusOr, StrFormat, Span,
// flat_hash_map, flags), cereal and GoogleTest, all through upstream labels.
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "cereal/archives/binary.hpp"
#include "cereal/types/string.hpp"
#include "cereal/types/vector.hpp"
#include "gtest/gtest.h"

ABSL_FLAG(int, infra_smoke_value, 7, "A flag that only this test defines.");
ABSL_FLAG(std::string, infra_smoke_name, "default", "Another one.");

namespace {

absl::StatusOr<int> ParsePositive(int value) {
  if (value <= 0) return absl::InvalidArgumentError(absl::StrFormat("%d <= 0", value));
  return value;
}

int64_t Sum(absl::Span<const int> values) {
  int64_t sum = 0;
  for (int v : values) sum += v;
  return sum;
}

TEST(WiringTest, StatusOr) {
  absl::StatusOr<int> ok = ParsePositive(3);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 3);
  absl::StatusOr<int> bad = ParsePositive(-2);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "-2 <= 0");
}

TEST(WiringTest, StrFormatAndSpan) {
  const std::vector<int> v = {1, 2, 3, 4};
  EXPECT_EQ(Sum(v), 10);
  EXPECT_EQ(Sum(absl::MakeConstSpan(v).subspan(2)), 7);
  EXPECT_EQ(absl::StrFormat("%s=%05.1f|%x", "pi", 3.14159, 255), "pi=003.1|ff");
}

TEST(WiringTest, FlatHashMap) {
  absl::flat_hash_map<std::string, int> counts;
  for (const char* word : {"a", "b", "a", "c", "a"}) ++counts[word];
  EXPECT_EQ(counts.size(), 3u);
  EXPECT_EQ(counts["a"], 3);
  EXPECT_FALSE(counts.contains("d"));
}

TEST(WiringTest, FlagsParseCommandLine) {
  EXPECT_EQ(absl::GetFlag(FLAGS_infra_smoke_value), 7);
  std::string arg0 = "wiring_test";
  std::string arg1 = "--infra_smoke_value=42";
  std::string arg2 = "--infra_smoke_name=pipe";
  std::string arg3 = "positional";
  std::vector<char*> argv = {arg0.data(), arg1.data(), arg2.data(), arg3.data()};
  const std::vector<char*> rest = absl::ParseCommandLine(static_cast<int>(argv.size()), argv.data());
  EXPECT_EQ(absl::GetFlag(FLAGS_infra_smoke_value), 42);
  EXPECT_EQ(absl::GetFlag(FLAGS_infra_smoke_name), "pipe");
  ASSERT_EQ(rest.size(), 2u);  // argv[0] and the positional argument
  EXPECT_STREQ(rest[1], "positional");
}

TEST(WiringTest, CerealBinaryRoundTrip) {
  const std::vector<std::string> original = {"", "hello", std::string(1000, 'x'),
                                             std::string("with\0nul", 8)};
  std::stringstream buffer;
  {
    cereal::BinaryOutputArchive out(buffer);
    out(original);
  }
  std::vector<std::string> decoded;
  {
    cereal::BinaryInputArchive in(buffer);
    in(decoded);
  }
  EXPECT_EQ(decoded, original);
}

}  // namespace
