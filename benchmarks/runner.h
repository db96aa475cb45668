// One measurement of one transport: forks its workers, times them, and
// turns their reports into a Result. The scheduler (compare.cc) decides
// what to run in which order; the report (report.h) compares results.

#ifndef BUFFERED_PIPE_BENCHMARKS_RUNNER_H_
#define BUFFERED_PIPE_BENCHMARKS_RUNNER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "benchmarks/transport.h"

namespace buffered_pipe::bench {

enum class Kind {
  kOneWay,     // one sender, one receiver, messages/s and GB/s
  kRoundTrip,  // ping-pong, p50 / p99
  kMany,       // 2 senders x 2 receivers on one channel
  kOversize,   // messages 16x the budget
  kIdle,       // CPU of a blocked receiver, wake-up latency
};
const char* KindName(Kind kind);

struct Result {
  Kind kind = Kind::kOneWay;
  std::size_t size = 0;
  std::string transport;
  int rep = 0;
  bool ok = false;
  std::string error;
  // Throughput kinds.
  double messages_per_s = 0;
  double gigabytes_per_s = 0;  // 1e9 bytes per second
  double send_allocations_per_message = 0;
  double recv_allocations_per_message = 0;
  double switches_per_message = 0;  // context switches, both sides, per message
  // Times a worker was preempted (involuntary context switches, all
  // workers): other processes took its CPU during the run.
  std::uint64_t preemptions = 0;
  // Share of the run during which other processes were runnable too (see
  // Run::contention), and how many times the scheduler ran it.
  double contention = 0;
  int attempts = 1;
  double send_cpu_share = 0;        // CPU time / wall time of each side
  double recv_cpu_share = 0;
  // The receiving adapter's own explanation of the run, if any (bare ring:
  // messages per wait for the producer's index).
  double diagnostic = 0;
  // Round trip (nanoseconds).
  double p50_ns = 0;
  double p99_ns = 0;
  // Idle.
  double idle_cpu_percent = 0;
  double wake_p50_us = 0;
  double wake_max_us = 0;
  std::uint64_t messages = 0;  // what was measured (per run)
};

struct RunnerOptions {
  bool pin = true;  // one-to-one: sender on CPU 0, receiver on CPU 1
  std::size_t budget = 1 << 20;
};

// messages: per sender; round trips for kRoundTrip.
Result RunThroughput(Transport& t, Kind kind, const Geometry& g, std::uint64_t messages,
                     const RunnerOptions& options);
Result RunRoundTrip(Transport& t, const Geometry& g, std::uint64_t round_trips,
                    const RunnerOptions& options);
// Idle receiver blocked for idle_ns, then `wakeups` more wake-ups gap_ns apart.
Result RunIdle(Transport& t, const Geometry& g, std::int64_t idle_ns, int wakeups,
               std::int64_t gap_ns, const RunnerOptions& options);

// Median of a non-empty list (by value: sorts a copy).
double Median(std::vector<double> values);
double Percentile(std::vector<double> values, double fraction);

}  // namespace buffered_pipe::bench

#endif  // BUFFERED_PIPE_BENCHMARKS_RUNNER_H_
