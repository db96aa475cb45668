// The two references every run is measured against:
//
// BareRingTransport — "what the hardware allows": a minimal busy-spinning
// single-producer / single-consumer ring in shared memory. Fixed slots, each
// side keeps a cached copy of the other's index and reloads it only when the
// ring looks full (or empty), and one release store of its own index per
// slot. No framing, no waiting, no crash safety: a lower bound on the cost
// of moving bytes between two processes through memory, with one copy in and
// one copy out like every other transport here.
//
// CacheLineTransport — the floor of a round trip: two processes bounce one
// cache line (ping writes an odd count, pong answers with the next even
// one). Its median is "this repetition's cache-line round trip".
//
// Both are written here, not in the library: they are yardsticks.

#ifndef BUFFERED_PIPE_BENCHMARKS_REFERENCE_H_
#define BUFFERED_PIPE_BENCHMARKS_REFERENCE_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "absl/status/status.h"
#include "benchmarks/common.h"
#include "benchmarks/transport.h"

namespace buffered_pipe::bench {

inline void CpuRelax() { __builtin_ia32_pause(); }

// One direction of the bare ring, in a shared mapping laid out as
//   [tail line][head line][padding to 4096][slot 0][slot 1]...
class BareRing {
 public:
  // Slot size for a message size and byte budget: one message per slot,
  // except messages larger than half the budget, which travel as
  // budget/2-byte pieces (one index store per piece) so that the sender
  // fills one half while the receiver drains the other.
  static std::size_t SlotBytes(std::size_t message_size, std::size_t budget) {
    return std::max<std::size_t>(8, std::min(message_size, budget / 2));
  }

  BareRing() = default;
  BareRing(std::size_t message_size, std::size_t budget)
      : slot_(SlotBytes(message_size, budget)),
        slots_(std::max<std::size_t>(2, budget / slot_)),
        memory_(4096 + slots_ * slot_) {
    // Touch every page now so that no run pays first-touch page faults.
    std::memset(memory_.data(), 0, memory_.size());
  }

  // Producer side (one process).
  void Push(const std::byte* data, std::size_t size) {
    Control& c = control();
    for (std::size_t offset = 0; offset < size; offset += slot_) {
      // Full? Reload the consumer's index only then (cached peer index).
      while (tail_ - cached_head_ >= slots_) {
        // Acquire: the consumer's copy out of the slot happened before.
        cached_head_ = c.head.load(std::memory_order_acquire);
        if (tail_ - cached_head_ >= slots_) CpuRelax();
      }
      std::memcpy(Slot(tail_), data + offset, std::min(slot_, size - offset));
      ++tail_;
      // Release: publishes the slot's bytes. The one shared write per slot.
      c.tail.store(tail_, std::memory_order_release);
    }
  }

  // Consumer side (one process).
  void Pop(std::byte* out, std::size_t size) {
    Control& c = control();
    for (std::size_t offset = 0; offset < size; offset += slot_) {
      if (head_ == cached_tail_) {
        ++refills_;
        do {
          // Acquire: pairs with the producer's release store of tail.
          cached_tail_ = c.tail.load(std::memory_order_acquire);
          if (head_ == cached_tail_) CpuRelax();
        } while (head_ == cached_tail_);
      }
      std::memcpy(out + offset, Slot(head_), std::min(slot_, size - offset));
      ++head_;
      // Release: the slot may be reused once the producer sees this.
      c.head.store(head_, std::memory_order_release);
    }
  }

  std::size_t slot_bytes() const { return slot_; }
  // Consumer: how many times it found its cached tail used up and had to
  // wait for the producer's index (each costs at least one cache-line
  // transfer). Slots consumed / refills = the batch the consumer gets per
  // transfer: ~1 when the two sides run in lockstep, tens when the producer
  // runs ahead.
  std::uint64_t refills() const { return refills_; }
  std::size_t slot_count() const { return slots_; }

 private:
  struct Control {
    alignas(kCacheLine) std::atomic<std::uint64_t> tail;  // written by the producer
    alignas(kCacheLine) std::atomic<std::uint64_t> head;  // written by the consumer
  };
  static_assert(sizeof(Control) == 2 * kCacheLine);
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
                "shared atomics must be lock-free to work across processes");

  Control& control() { return *static_cast<Control*>(memory_.data()); }
  std::byte* Slot(std::uint64_t index) {
    return static_cast<std::byte*>(memory_.data()) + 4096 + (index % slots_) * slot_;
  }

  std::size_t slot_ = 0;
  std::size_t slots_ = 0;
  SharedMapping memory_;
  // Process-local state of the side that uses this copy of the object.
  std::uint64_t tail_ = 0, cached_head_ = 0;  // producer
  std::uint64_t head_ = 0, cached_tail_ = 0;  // consumer
  std::uint64_t refills_ = 0;
};

class BareRingTransport {
 public:
  static Traits traits() {
    Traits t;
    t.name = "bare_ring";
    t.description = "reference: busy-spin SPSC ring in shared memory (fixed slots)";
    t.knob = "slots x slot size = budget (slot = message, or budget/2 pieces above that)";
    t.oversize = true;
    t.idle = false;  // it spins by design
    t.reference = true;
    return t;
  }

  absl::Status Open(const Geometry& g) {
    geometry_ = g;
    forward_ = BareRing(g.message_size, g.budget);
    if (g.duplex) backward_ = BareRing(g.message_size, g.budget);
    return absl::OkStatus();
  }
  void Close() {
    forward_ = BareRing();
    backward_ = BareRing();
  }

  class End {
   public:
    End(BareRingTransport& t, Role role, int /*index*/)
        : out_(role == Role::kSender || role == Role::kPing ? &t.forward_
               : role == Role::kPong                         ? &t.backward_
                                                             : nullptr),
          in_(role == Role::kReceiver || role == Role::kPong ? &t.forward_
              : role == Role::kPing                          ? &t.backward_
                                                             : nullptr),
          buffer_(t.geometry_.message_size, 0),
          size_(t.geometry_.message_size) {}
    void send(std::span<const std::byte> message) { out_->Push(message.data(), message.size()); }
    std::span<const std::byte> recv() {
      in_->Pop(buffer_.data(), size_);
      ++received_;
      return {buffer_.data(), size_};
    }
    // Messages received per wait for the producer's index (see refills()).
    double diagnostic() const {
      return in_ == nullptr || in_->refills() == 0
                 ? 0
                 : static_cast<double>(received_) / static_cast<double>(in_->refills());
    }

   private:
    BareRing* out_;
    BareRing* in_;
    Payload buffer_;
    std::size_t size_;
    std::uint64_t received_ = 0;
  };

 private:
  Geometry geometry_;
  BareRing forward_;
  BareRing backward_;
};

class CacheLineTransport {
 public:
  static Traits traits() {
    Traits t;
    t.name = "cache_line";
    t.description = "floor: one cache line bounced between two processes";
    t.knob = "-";
    t.one_way = false;
    t.idle = false;
    t.reference = true;
    return t;
  }
  absl::Status Open(const Geometry&) {
    line_ = SharedMapping(4096);
    return absl::OkStatus();
  }
  void Close() { line_ = SharedMapping(); }

  class End {
   public:
    End(CacheLineTransport& t, Role, int)
        : word_(static_cast<std::atomic<std::uint64_t>*>(t.line_.data())), message_(64, 0) {}
    // Announces the next count (ping: odd, pong: even).
    void send(std::span<const std::byte>) {
      ++seen_;
      word_->store(seen_, std::memory_order_release);
    }
    // Waits for the peer's next count.
    std::span<const std::byte> recv() {
      while (word_->load(std::memory_order_acquire) != seen_ + 1) CpuRelax();
      ++seen_;
      return message_.bytes();
    }

   private:
    std::atomic<std::uint64_t>* word_;
    std::uint64_t seen_ = 0;
    Payload message_;
  };

 private:
  SharedMapping line_;
};

}  // namespace buffered_pipe::bench

#endif  // BUFFERED_PIPE_BENCHMARKS_REFERENCE_H_
