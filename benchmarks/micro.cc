// Micro-benchmarks of the hot paths, in one thread (no cross-CPU traffic):
// what one message costs in instructions and local memory traffic alone.
//
//   bazel run //benchmarks:micro
//   bazel run //benchmarks:micro -- --benchmark_filter=Generic
//
// Every benchmark reports allocs/msg: heap allocations per message (the
// binary counts malloc calls, see alloc_counter.cc).
//
// MICRO_ITERATIONS=N in the environment runs every benchmark exactly N
// iterations, once (for instruction counts under valgrind --tool=callgrind:
// collected instructions / N = instructions per message).
//
// Sizes stop at 256 KiB: in one thread a message must fit half the 1 MiB
// ring (a longer one is streamed and needs a concurrent receiver).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "benchmarks/bp_typed_transports.h"
#include "benchmarks/common.h"
#include "benchmarks/reference.h"
#include "buffered_pipe/codecs/cereal.h"
#include "buffered_pipe/codecs/codec.h"
#include "buffered_pipe/pipe.h"
#include "buffered_pipe/static_pipe.h"

namespace buffered_pipe::bench {
namespace {

constexpr std::uint64_t kBudget = 1 << 20;

// Applied to every benchmark: see MICRO_ITERATIONS above.
void Fixed(benchmark::internal::Benchmark* b) {
  if (const char* n = std::getenv("MICRO_ITERATIONS")) b->Iterations(std::atoll(n));
}

void Fail(benchmark::State& state, const absl::Status& status) {
  state.SkipWithError(status.ToString().c_str());
}

// Counts heap allocations over the timed loop.
class AllocationCounter {
 public:
  explicit AllocationCounter(benchmark::State& state) : state_(state), start_(HeapAllocations()) {}
  ~AllocationCounter() {
    state_.counters["allocs/msg"] = benchmark::Counter(
        static_cast<double>(HeapAllocations() - start_) /
        static_cast<double>(std::max<benchmark::IterationCount>(1, state_.iterations())));
  }

 private:
  benchmark::State& state_;
  std::uint64_t start_;
};

void SetBytes(benchmark::State& state, std::size_t size) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(size));
  state.SetItemsProcessed(state.iterations());
}

// send_bytes then recv_bytes_into, one message at a time: the full cost of
// one message (both sides) without any waiting.
void BM_GenericPipe_SendRecv(benchmark::State& state) {
  const std::size_t size = static_cast<std::size_t>(state.range(0));
  auto pipe = Pipe({.buffer_size = kBudget});
  if (!pipe.ok()) return Fail(state, pipe.status());
  auto& [receiver, sender] = *pipe;
  const std::string message(size, 'x');
  std::string received;
  received.reserve(size);
  {
    AllocationCounter allocations(state);
    for (auto _ : state) {
      if (absl::Status s = sender.send_bytes(message); !s.ok()) return Fail(state, s);
      if (absl::Status s = receiver.recv_bytes_into(received); !s.ok()) return Fail(state, s);
      benchmark::DoNotOptimize(received.data());
    }
  }
  SetBytes(state, size);
}
BENCHMARK(BM_GenericPipe_SendRecv)->RangeMultiplier(8)->Range(8, 256 << 10)->Apply(Fixed);

// A batch of messages in, then the batch out: the ring is used as a queue
// (each message's cell and blocks are written by the sender, then read by
// the receiver, further apart in time).
void BM_GenericPipe_Batch64(benchmark::State& state) {
  const std::size_t size = static_cast<std::size_t>(state.range(0));
  constexpr int kBatch = 64;
  auto pipe = Pipe({.buffer_size = kBudget});
  if (!pipe.ok()) return Fail(state, pipe.status());
  auto& [receiver, sender] = *pipe;
  const std::string message(size, 'x');
  std::string received;
  received.reserve(size);
  {
    AllocationCounter allocations(state);
    for (auto _ : state) {
      for (int i = 0; i < kBatch; ++i) {
        if (absl::Status s = sender.send_bytes(message); !s.ok()) return Fail(state, s);
      }
      for (int i = 0; i < kBatch; ++i) {
        if (absl::Status s = receiver.recv_bytes_into(received); !s.ok()) return Fail(state, s);
      }
      benchmark::DoNotOptimize(received.data());
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kBatch);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * kBatch *
                          static_cast<std::int64_t>(size));
  state.counters["allocs/msg"] = state.counters["allocs/msg"].value / kBatch;
}
BENCHMARK(BM_GenericPipe_Batch64)->Arg(64)->Arg(1024)->Apply(Fixed);

// The piecewise API a codec uses: begin_send + writable_span + commit,
// begin_recv + next_piece (no copy out on the receiving side).
void BM_GenericPipe_InPlace(benchmark::State& state) {
  const std::size_t size = static_cast<std::size_t>(state.range(0));
  auto pipe = Pipe({.buffer_size = kBudget});
  if (!pipe.ok()) return Fail(state, pipe.status());
  auto& [receiver, sender] = *pipe;
  const std::string message(size, 'x');
  {
    AllocationCounter allocations(state);
    for (auto _ : state) {
      absl::StatusOr<OutgoingMessage> out = sender.begin_send(size);
      if (!out.ok()) return Fail(state, out.status());
      std::span<std::byte> room = out->writable_span();
      if (room.size() == size) {
        std::memcpy(room.data(), message.data(), size);
        out->advance(size);
      } else if (absl::Status s = out->write(message); !s.ok()) {
        return Fail(state, s);
      }
      if (absl::Status s = out->commit(); !s.ok()) return Fail(state, s);
      absl::StatusOr<IncomingMessage> in = receiver.begin_recv();
      if (!in.ok()) return Fail(state, in.status());
      for (;;) {
        absl::StatusOr<std::span<const std::byte>> piece = in->next_piece();
        if (!piece.ok()) return Fail(state, piece.status());
        if (piece->empty()) break;
        benchmark::DoNotOptimize(piece->data());
      }
    }
  }
  SetBytes(state, size);
}
BENCHMARK(BM_GenericPipe_InPlace)->Arg(8)->Arg(64)->Arg(1024)->Apply(Fixed);

void BM_StaticPipe_SendRecv(benchmark::State& state) {
  const std::size_t size = static_cast<std::size_t>(state.range(0));
  auto pipe = StaticPipe({.object_size = size, .object_count = kBudget / size});
  if (!pipe.ok()) return Fail(state, pipe.status());
  auto& [receiver, sender] = *pipe;
  const std::string record(size, 'x');
  std::vector<std::byte> received(size);
  {
    AllocationCounter allocations(state);
    for (auto _ : state) {
      if (absl::Status s = sender.send_bytes(record); !s.ok()) return Fail(state, s);
      if (absl::Status s = receiver.recv_bytes_into(received); !s.ok()) return Fail(state, s);
      benchmark::DoNotOptimize(received.data());
    }
  }
  SetBytes(state, size);
}
BENCHMARK(BM_StaticPipe_SendRecv)->RangeMultiplier(8)->Range(8, 256 << 10)->Apply(Fixed);

// The reference ring of the comparison, in one thread.
void BM_BareRing_SendRecv(benchmark::State& state) {
  const std::size_t size = static_cast<std::size_t>(state.range(0));
  BareRing ring(size, kBudget);
  Payload message(size, 0);
  Payload received(size, 0);
  {
    AllocationCounter allocations(state);
    for (auto _ : state) {
      ring.Push(message.data(), size);
      ring.Pop(received.data(), size);
      benchmark::DoNotOptimize(received.data());
    }
  }
  SetBytes(state, size);
}
BENCHMARK(BM_BareRing_SendRecv)->RangeMultiplier(8)->Range(8, 256 << 10)->Apply(Fixed);

// Two memcpy of the message size (what every transport here does at least:
// one copy in, one copy out).
void BM_TwoMemcpy(benchmark::State& state) {
  const std::size_t size = static_cast<std::size_t>(state.range(0));
  std::vector<std::byte> a(size), b(size), c(size);
  for (auto _ : state) {
    std::memcpy(b.data(), a.data(), size);
    benchmark::ClobberMemory();
    std::memcpy(c.data(), b.data(), size);
    benchmark::DoNotOptimize(c.data());
  }
  SetBytes(state, size);
}
BENCHMARK(BM_TwoMemcpy)->RangeMultiplier(8)->Range(8, 256 << 10)->Apply(Fixed);

// --- Codecs -------------------------------------------------------------------
// Encode to / decode from memory (EncodeValue / DecodeValue): the codec
// alone, without the pipe. Values of N encoded bytes.

template <typename T>
T MakeValue(std::size_t size) {
  if constexpr (std::is_same_v<T, std::string>) {
    return std::string(size, 'x');
  } else if constexpr (std::is_same_v<T, Record>) {
    return Record::OfEncodedSize(size);
  } else {
    T value;
    std::memset(&value, 7, sizeof(value));
    return value;
  }
}

template <typename T>
void BM_Codec_Encode(benchmark::State& state) {
  const std::size_t size = static_cast<std::size_t>(state.range(0));
  const T value = MakeValue<T>(size);
  {
    AllocationCounter allocations(state);
    for (auto _ : state) {
      absl::StatusOr<std::string> bytes = EncodeValue(value);
      if (!bytes.ok()) return Fail(state, bytes.status());
      benchmark::DoNotOptimize(bytes->data());
    }
  }
  SetBytes(state, size);
}

template <typename T>
void BM_Codec_Decode(benchmark::State& state) {
  const std::size_t size = static_cast<std::size_t>(state.range(0));
  absl::StatusOr<std::string> bytes = EncodeValue(MakeValue<T>(size));
  if (!bytes.ok()) return Fail(state, bytes.status());
  if (bytes->size() != size) return Fail(state, absl::InternalError("encoded size != N"));
  {
    AllocationCounter allocations(state);
    for (auto _ : state) {
      absl::StatusOr<T> value = DecodeValue<T>(*bytes);
      if (!value.ok()) return Fail(state, value.status());
      benchmark::DoNotOptimize(&*value);
    }
  }
  SetBytes(state, size);
}

BENCHMARK(BM_Codec_Encode<std::string>)->Arg(64)->Arg(1024)->Arg(64 << 10)->Apply(Fixed);
BENCHMARK(BM_Codec_Decode<std::string>)->Arg(64)->Arg(1024)->Arg(64 << 10)->Apply(Fixed);
BENCHMARK(BM_Codec_Encode<Pod<64>>)->Arg(64)->Apply(Fixed);
BENCHMARK(BM_Codec_Decode<Pod<64>>)->Arg(64)->Apply(Fixed);
BENCHMARK(BM_Codec_Encode<Pod<1024>>)->Arg(1024)->Apply(Fixed);
BENCHMARK(BM_Codec_Decode<Pod<1024>>)->Arg(1024)->Apply(Fixed);
BENCHMARK(BM_Codec_Encode<Pod<64 << 10>>)->Arg(64 << 10)->Apply(Fixed);
BENCHMARK(BM_Codec_Decode<Pod<64 << 10>>)->Arg(64 << 10)->Apply(Fixed);
BENCHMARK(BM_Codec_Encode<Record>)->Arg(64)->Arg(1024)->Arg(64 << 10)->Apply(Fixed);
BENCHMARK(BM_Codec_Decode<Record>)->Arg(64)->Arg(1024)->Arg(64 << 10)->Apply(Fixed);

// Typed send<T> + recv<T> through the pipe, one thread: compare with
// BM_GenericPipe_SendRecv at the same size.
template <typename T>
void BM_Typed_SendRecv(benchmark::State& state) {
  const std::size_t size = static_cast<std::size_t>(state.range(0));
  auto pipe = Pipe({.buffer_size = kBudget});
  if (!pipe.ok()) return Fail(state, pipe.status());
  auto& [receiver, sender] = *pipe;
  const T value = MakeValue<T>(size);
  {
    AllocationCounter allocations(state);
    for (auto _ : state) {
      if (absl::Status s = sender.send(value); !s.ok()) return Fail(state, s);
      absl::StatusOr<T> received = receiver.recv<T>();
      if (!received.ok()) return Fail(state, received.status());
      benchmark::DoNotOptimize(&*received);
    }
  }
  SetBytes(state, size);
}
BENCHMARK(BM_Typed_SendRecv<Pod<64>>)->Arg(64)->Apply(Fixed);
BENCHMARK(BM_Typed_SendRecv<Pod<1024>>)->Arg(1024)->Apply(Fixed);
BENCHMARK(BM_Typed_SendRecv<Pod<64 << 10>>)->Arg(64 << 10)->Apply(Fixed);
BENCHMARK(BM_Typed_SendRecv<Record>)->Arg(64)->Arg(1024)->Arg(64 << 10)->Apply(Fixed);

// A seq_cst RMW on a line this core owns: the floor of the cost of each
// locked instruction of a protocol, before any cache-line transfer.
void BM_AtomicExchange(benchmark::State& state) {
  alignas(64) std::atomic<std::uint64_t> word{0};
  std::uint64_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(word.exchange(++i, std::memory_order_seq_cst));
}
BENCHMARK(BM_AtomicExchange)->Apply(Fixed);

void BM_AtomicCompareExchange(benchmark::State& state) {
  alignas(64) std::atomic<std::uint64_t> word{0};
  std::uint64_t i = 0;
  for (auto _ : state) {
    std::uint64_t expected = i;
    benchmark::DoNotOptimize(word.compare_exchange_strong(expected, ++i, std::memory_order_seq_cst));
  }
}
BENCHMARK(BM_AtomicCompareExchange)->Apply(Fixed);

void BM_ReleaseStore(benchmark::State& state) {
  alignas(64) std::atomic<std::uint64_t> word{0};
  std::uint64_t i = 0;
  for (auto _ : state) {
    word.store(++i, std::memory_order_release);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_ReleaseStore)->Apply(Fixed);

}  // namespace
}  // namespace buffered_pipe::bench

BENCHMARK_MAIN();
