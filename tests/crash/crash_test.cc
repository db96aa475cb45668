// The crash suite: for the generic and the static pipe, hundreds of
// randomized runs in which a sender or a receiver process is SIGKILLed at a
// random point (during small sends, in the middle of a message larger than
// the ring, parked, holding a claim or a stream hold, or while resolving
// another dead process's claims), and the survivors are checked: see
// crash_harness.h for what one run does and asserts.
//
// CI-sized by default. BUFFERED_PIPE_TEST_SCALE=N multiplies the runs (N=10
// gives thousands); BUFFERED_PIPE_TEST_SEED replays a campaign and
// BUFFERED_PIPE_CRASH_RUN=i one run of it (both are printed on failure).

#include <cstdio>

#include "gtest/gtest.h"
#include "tests/crash/crash_harness.h"
#include "tests/test_support.h"

namespace buffered_pipe::crash {
namespace {

using ::buffered_pipe::testing::TestScale;
using ::buffered_pipe::testing::TestSeed;

// Runs in parallel: each mostly sleeps through the survivors' dead-peer poll.
constexpr int kLanes = 8;

void RunAndCheck(PipeKind kind, int runs, std::uint64_t seed) {
  const CampaignSummary summary = RunCampaign(kind, runs, kLanes, seed);
  std::fprintf(stderr, "%s", summary.report.c_str());
  ::testing::Test::RecordProperty("report", summary.report);
  EXPECT_EQ(summary.failures, 0);
  for (const std::string& failure : summary.failure_texts) ADD_FAILURE() << failure;
}

TEST(CrashTest, GenericPipeSurvivesRandomKills) {
  RunAndCheck(PipeKind::kGeneric, 150 * TestScale(), TestSeed());
}

TEST(CrashTest, StaticPipeSurvivesRandomKills) {
  RunAndCheck(PipeKind::kStatic, 100 * TestScale(), TestSeed() + 1);
}

}  // namespace
}  // namespace buffered_pipe::crash
