// Proves that //:buffered_pipe exposes the library's headers under the
// "buffered_pipe/" include prefix (include_prefix in framework/BUILD.bazel).
#include "buffered_pipe/buffered_pipe.h"

#include "gtest/gtest.h"

TEST(IncludePrefixTest, UmbrellaHeaderIsReachableAsBufferedPipeSlash) { SUCCEED(); }
