#include "buffered_pipe/network/internal/buffer_pool.h"

#include <cstdlib>
#include <cstring>
#include <mutex>

namespace buffered_pipe::network_internal {
namespace {

// Each buffer starts with a header naming its class (kNotPooled: freed when
// given back), kept 16 bytes long so that the data stays as aligned as
// malloc's.
constexpr std::size_t kHeader = 16;
constexpr std::size_t kNotPooled = ~std::size_t{0};

std::size_t CapacityOf(std::size_t size_class) { return BufferPool::kSmallestPooled << size_class; }

std::size_t ClassOf(std::size_t size) {
  std::size_t size_class = 0;
  while (size_class < BufferPool::kClasses && CapacityOf(size_class) < size) ++size_class;
  return size_class;
}

char* Allocate(std::size_t capacity, std::size_t size_class) {
  char* raw = static_cast<char*>(std::malloc(kHeader + capacity));
  if (raw == nullptr) return nullptr;
  std::memcpy(raw, &size_class, sizeof(size_class));
  return raw + kHeader;
}

}  // namespace

BufferPool::BufferPool(std::size_t max_cached_bytes) : max_cached_bytes_(max_cached_bytes) {
  // Room for as many buffers of each class as the cache may hold.
  for (std::size_t size_class = 0; size_class < kClasses; ++size_class) {
    free_[size_class].reserve(max_cached_bytes / CapacityOf(size_class));
  }
}

BufferPool::~BufferPool() {
  for (std::vector<char*>& buffers : free_) {
    for (char* data : buffers) std::free(data - kHeader);
  }
}

char* BufferPool::Take(std::size_t size) {
  const std::size_t size_class = ClassOf(size);
  if (size_class >= kClasses) return Allocate(size, kNotPooled);
  {
    std::lock_guard lock(mutex_);
    std::vector<char*>& buffers = free_[size_class];
    if (!buffers.empty()) {
      char* data = buffers.back();
      buffers.pop_back();
      cached_bytes_ -= CapacityOf(size_class);
      return data;
    }
  }
  return Allocate(CapacityOf(size_class), size_class);
}

void BufferPool::Give(char* data) {
  if (data == nullptr) return;
  std::size_t size_class;
  std::memcpy(&size_class, data - kHeader, sizeof(size_class));
  if (size_class < kClasses) {
    std::lock_guard lock(mutex_);
    if (cached_bytes_ + CapacityOf(size_class) <= max_cached_bytes_) {
      // Within the room reserved at construction: this never allocates.
      free_[size_class].push_back(data);
      cached_bytes_ += CapacityOf(size_class);
      return;
    }
  }
  std::free(data - kHeader);
}

std::size_t BufferPool::cached_bytes() {
  std::lock_guard lock(mutex_);
  return cached_bytes_;
}

}  // namespace buffered_pipe::network_internal
