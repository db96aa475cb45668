// Payload buffers for the ZeroMQ messages a network end sends, kept for
// reuse instead of going back to malloc after each message.
//
// Why: a sender's messages live from its send until ZeroMQ's I/O thread has
// written them, and credit lets up to a window of them be alive at once.
// Allocated and freed in such waves, malloc hands the freed top of its heap
// back to the system (glibc trims beyond M_TRIM_THRESHOLD, 128 KiB) and the
// next wave faults every page in again: measured at 64 KiB messages over
// tcp://127.0.0.1, 8.6 page faults per message, half of the sender's time.
// A buffer from this pool keeps its pages.
//
// Buffers come in power-of-two capacities (at least kSmallestPooled bytes;
// smaller messages are left to malloc, whose small bins do not trim). At
// most `max_cached_bytes` of free buffers are kept; beyond that a returned
// buffer is freed.
//
// Thread-safety: Take is called by the sending thread, Give by ZeroMQ's I/O
// thread (the free function of zmq_msg_init_data); a mutex guards the free
// lists, taken once per message of at least kSmallestPooled bytes. The pool
// must outlive every message made from it: its owner (ZmqLink) destroys it
// after zmq_ctx_term, which returns only once every message is released.

#ifndef BUFFERED_PIPE_NETWORK_INTERNAL_BUFFER_POOL_H_
#define BUFFERED_PIPE_NETWORK_INTERNAL_BUFFER_POOL_H_

#include <array>
#include <cstddef>
#include <mutex>
#include <vector>

namespace buffered_pipe::network_internal {

class BufferPool {
 public:
  static constexpr std::size_t kSmallestPooled = 4096;

  explicit BufferPool(std::size_t max_cached_bytes);
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // A buffer of at least `size` bytes (size >= kSmallestPooled), reused or
  // new; nullptr if memory is exhausted. Give it back with Give (or let
  // ZeroMQ do so through GiveBack).
  char* Take(std::size_t size);
  void Give(char* data);
  // zmq_free_fn: `hint` is the pool.
  static void GiveBack(void* data, void* hint) {
    static_cast<BufferPool*>(hint)->Give(static_cast<char*>(data));
  }

  // Capacities 4 KiB << 0 .. 4 KiB << (kClasses - 1), 4 KiB to 128 MiB;
  // larger buffers are not kept.
  static constexpr std::size_t kClasses = 16;

  // For tests: the bytes of free buffers kept now.
  std::size_t cached_bytes();

 private:
  const std::size_t max_cached_bytes_;
  std::mutex mutex_;
  std::array<std::vector<char*>, kClasses> free_ = {};  // by class
  std::size_t cached_bytes_ = 0;
};

}  // namespace buffered_pipe::network_internal

#endif  // BUFFERED_PIPE_NETWORK_INTERNAL_BUFFER_POOL_H_
