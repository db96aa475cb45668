// The checkers the concurrency tests rely on must catch what they claim to.

#include "test_support.h"

#include "gtest/gtest.h"

namespace buffered_pipe::testing {
namespace {

Delivery At(std::uint32_t sender, std::uint64_t sequence, std::uint64_t start, std::uint64_t end) {
  return Delivery{sender, 0, sequence, start, end};
}

TEST(VerifyDeliveriesTest, AcceptsExactlyOnceInOrder) {
  EXPECT_TRUE(VerifyDeliveries({At(0, 0, 1, 2), At(1, 0, 3, 4), At(0, 1, 5, 6)}, {2, 1}));
}

TEST(VerifyDeliveriesTest, AcceptsOverlappingReceivesInAnyCompletionOrder) {
  // Message 1 finished first, but its receive began after message 0's began.
  EXPECT_TRUE(VerifyDeliveries({At(0, 0, 1, 10), At(0, 1, 2, 3)}, {2}));
}

TEST(VerifyDeliveriesTest, RejectsDuplicates) {
  EXPECT_FALSE(VerifyDeliveries({At(0, 0, 1, 2), At(0, 0, 3, 4)}, {1}));
}

TEST(VerifyDeliveriesTest, RejectsLosses) {
  EXPECT_FALSE(VerifyDeliveries({At(0, 0, 1, 2)}, {2}));
  EXPECT_TRUE(VerifyDeliveries({At(0, 0, 1, 2)}, {2}, /*allowed_losses=*/1));
}

TEST(VerifyDeliveriesTest, RejectsMessagesNeverSent) {
  EXPECT_FALSE(VerifyDeliveries({At(0, 5, 1, 2)}, {2}));
  EXPECT_FALSE(VerifyDeliveries({At(3, 0, 1, 2)}, {2}));
}

TEST(VerifyDeliveriesTest, RejectsALaterMessageReceivedBeforeAnEarlierOneBegan) {
  EXPECT_FALSE(VerifyDeliveries({At(0, 0, 5, 6), At(0, 1, 1, 2)}, {2}));
}

TEST(MessageTest, DetectsCorruptionAndTruncation) {
  std::uint32_t sender = 0;
  std::uint64_t sequence = 0;
  std::string message = MakeMessage(3, 42, 100);
  ASSERT_TRUE(CheckMessage(message, &sender, &sequence).ok());
  EXPECT_EQ(sender, 3u);
  EXPECT_EQ(sequence, 42u);
  std::string flipped = message;
  flipped[60] ^= 1;
  EXPECT_FALSE(CheckMessage(flipped, &sender, &sequence).ok());
  EXPECT_FALSE(CheckMessage(message.substr(0, 99), &sender, &sequence).ok());
  EXPECT_FALSE(CheckMessage(message.substr(0, 10), &sender, &sequence).ok());
}

}  // namespace
}  // namespace buffered_pipe::testing
