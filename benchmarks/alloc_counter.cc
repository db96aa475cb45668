// Counts heap allocations: the benchmark binaries replace the malloc family
// with wrappers that count calls and forward to glibc's implementation.
// operator new (libstdc++) calls malloc, so C++ allocations are counted too,
// as are those of the C libraries (ZeroMQ's message bodies).
//
// free() is not replaced: memory still comes from glibc's allocator, so
// glibc's free releases it. Not for sanitizer builds (they replace malloc
// themselves); the BUILD file keeps the benchmarks out of them.

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "benchmarks/common.h"

extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* pointer, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
}

namespace {
// Relaxed: a statistic read by the same process after the measured loop.
std::atomic<std::uint64_t> g_allocations{0};
inline void Count() { g_allocations.fetch_add(1, std::memory_order_relaxed); }
}  // namespace

extern "C" {

void* malloc(std::size_t size) {
  Count();
  return __libc_malloc(size);
}

void* calloc(std::size_t count, std::size_t size) {
  Count();
  return __libc_calloc(count, size);
}

void* realloc(void* pointer, std::size_t size) {
  Count();
  return __libc_realloc(pointer, size);
}

void* memalign(std::size_t alignment, std::size_t size) {
  Count();
  return __libc_memalign(alignment, size);
}

void* aligned_alloc(std::size_t alignment, std::size_t size) {
  Count();
  return __libc_memalign(alignment, size);
}

int posix_memalign(void** result, std::size_t alignment, std::size_t size) {
  Count();
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) return 22;  // EINVAL
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return 12;  // ENOMEM
  *result = p;
  return 0;
}

}  // extern "C"

namespace buffered_pipe::bench {
std::uint64_t HeapAllocations() { return g_allocations.load(std::memory_order_relaxed); }
}  // namespace buffered_pipe::bench
