// The send buffers' pool (network/internal/buffer_pool.h): reuse, the cache
// bound, buffers too large to keep, and buffers given back from another
// thread (as ZeroMQ's I/O thread does).
#include "buffered_pipe/network/internal/buffer_pool.h"

#include <atomic>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace buffered_pipe::network_internal {
namespace {

TEST(BufferPoolTest, AGivenBufferIsTakenAgainForASizeOfItsClass) {
  BufferPool pool(1 << 20);
  char* first = pool.Take(5000);  // class 8 KiB
  ASSERT_NE(first, nullptr);
  std::memset(first, 'a', 5000);
  pool.Give(first);
  EXPECT_EQ(pool.cached_bytes(), 8192u);
  char* again = pool.Take(8192);
  EXPECT_EQ(again, first);
  EXPECT_EQ(pool.cached_bytes(), 0u);
  std::memset(again, 'b', 8192);  // the whole capacity is usable (ASan checks)
  char* other = pool.Take(8193);  // the next class: a new buffer
  EXPECT_NE(other, first);
  std::memset(other, 'c', 8193);
  pool.Give(again);
  pool.Give(other);
  EXPECT_EQ(pool.cached_bytes(), 8192u + 16384u);
}

TEST(BufferPoolTest, KeepsNoMoreThanItsBoundAndFreesTheRest) {
  BufferPool pool(64 * 1024);
  std::vector<char*> buffers;
  for (int i = 0; i < 10; ++i) buffers.push_back(pool.Take(16 * 1024));
  for (char* buffer : buffers) pool.Give(buffer);
  EXPECT_EQ(pool.cached_bytes(), 64u * 1024);  // four kept, six freed
  std::set<char*> kept;
  for (int i = 0; i < 4; ++i) kept.insert(pool.Take(16 * 1024));
  EXPECT_EQ(kept.size(), 4u);
  EXPECT_EQ(pool.cached_bytes(), 0u);
  for (char* buffer : kept) pool.Give(buffer);
}

TEST(BufferPoolTest, BuffersLargerThanAnyClassAreNotKept) {
  BufferPool pool(std::size_t{1} << 30);
  const std::size_t huge = (BufferPool::kSmallestPooled << BufferPool::kClasses) + 1;
  char* buffer = pool.Take(huge);
  ASSERT_NE(buffer, nullptr);
  buffer[0] = 'x';
  buffer[huge - 1] = 'y';
  pool.Give(buffer);
  EXPECT_EQ(pool.cached_bytes(), 0u);
}

TEST(BufferPoolTest, BuffersGivenBackFromAnotherThreadAreReusedIntact) {
  BufferPool pool(1 << 20);
  constexpr int kRounds = 2000;
  std::vector<std::atomic<char*>> handed(kRounds);  // each nullptr at first
  // The taker fills each buffer; the giver checks it and gives it back.
  std::thread giver([&] {
    for (int i = 0; i < kRounds; ++i) {
      char* buffer;
      while ((buffer = handed[i].load(std::memory_order_acquire)) == nullptr) {
        std::this_thread::yield();
      }
      for (int j = 0; j < 4096; j += 512) EXPECT_EQ(buffer[j], static_cast<char>(i));
      pool.Give(buffer);
    }
  });
  for (int i = 0; i < kRounds; ++i) {
    char* buffer = pool.Take(4096);
    ASSERT_NE(buffer, nullptr);
    std::memset(buffer, static_cast<char>(i), 4096);
    handed[i].store(buffer, std::memory_order_release);
  }
  giver.join();
  EXPECT_LE(pool.cached_bytes(), std::size_t{1} << 20);
  EXPECT_GT(pool.cached_bytes(), 0u);
}

}  // namespace
}  // namespace buffered_pipe::network_internal
