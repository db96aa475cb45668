#include "benchmarks/runner.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"

namespace buffered_pipe::bench {
namespace {

// Generous: a run is planned to last well under a second; a worker still
// running after this is stuck (a bug in a transport, or a lost message).
constexpr std::int64_t kStartTimeoutNs = 20'000'000'000;
constexpr std::int64_t kRunTimeoutNs = 30'000'000'000;

Result Failed(Result result, std::string error) {
  result.ok = false;
  result.error = std::move(error);
  return result;
}

std::uint64_t Warmup(Kind kind, const Geometry& g, std::uint64_t messages) {
  if (kind != Kind::kOneWay && kind != Kind::kOversize) return 0;
  // Enough to touch the buffers once (no first-touch page faults in the
  // timed loop), but at most an eighth of the run.
  const std::uint64_t fill = 2 * g.budget / std::max<std::size_t>(g.message_size, 64) + 1;
  return std::clamp<std::uint64_t>(std::min(fill, messages / 8), 1, 32768);
}

}  // namespace

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kOneWay:
      return "one_way";
    case Kind::kRoundTrip:
      return "round_trip";
    case Kind::kMany:
      return "many_2x2";
    case Kind::kOversize:
      return "oversize";
    case Kind::kIdle:
      return "idle";
  }
  return "?";
}

double Median(std::vector<double> values) { return Percentile(std::move(values), 0.5); }

double Percentile(std::vector<double> values, double fraction) {
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  if (fraction == 0.5 && values.size() % 2 == 0) {
    return (values[values.size() / 2 - 1] + values[values.size() / 2]) / 2;
  }
  const std::size_t index = std::min(
      values.size() - 1, static_cast<std::size_t>(fraction * static_cast<double>(values.size())));
  return values[index];
}

Result RunThroughput(Transport& t, Kind kind, const Geometry& g, std::uint64_t messages,
                     const RunnerOptions& options) {
  Result result;
  result.kind = kind;
  result.size = g.message_size;
  result.transport = t.traits().name;
  result.messages = messages * g.senders;
  if (absl::Status status = t.Open(g); !status.ok()) return Failed(result, status.ToString());
  std::string error;
  bool ok;
  const bool one_to_one = g.senders == 1 && g.receivers == 1;
  Plan plan;
  plan.messages = messages;
  plan.warmup = Warmup(kind, g, messages);
  {
    Run run;
    run.set_threads_per_worker(t.traits().threads);
    for (int r = 0; r < g.receivers; ++r) {
      run.Spawn(one_to_one && options.pin ? 1 : -1, [&, r](WorkerReport& report) {
        t.Receiver(run.control(), g, plan, r, report);
      });
    }
    for (int s = 0; s < g.senders; ++s) {
      run.Spawn(one_to_one && options.pin ? 0 : -1, [&, s](WorkerReport& report) {
        t.Sender(run.control(), g, plan, s, report);
      });
    }
    const bool started = run.Go(kStartTimeoutNs);
    ok = run.Wait(kRunTimeoutNs, &error) && started;
    result.contention = run.contention();
    if (ok) {
      std::int64_t end = 0;
      std::uint64_t received = 0, bytes = 0, switches = 0;
      double send_alloc = 0, recv_alloc = 0, send_cpu = 0, recv_cpu = 0;
      for (int i = 0; i < run.worker_count(); ++i) {
        const WorkerReport& w = run.report(i);
        switches += static_cast<std::uint64_t>(w.voluntary_switches + w.involuntary_switches);
        result.preemptions += static_cast<std::uint64_t>(w.involuntary_switches);
        const double cpu_share =
            w.wall_ns > 0 ? static_cast<double>(w.cpu_ns) / static_cast<double>(w.wall_ns) : 0;
        if (i < g.receivers) {
          end = std::max(end, w.end_ns);
          received += w.messages;
          bytes += w.bytes;
          recv_alloc += static_cast<double>(w.heap_allocations);
          recv_cpu = std::max(recv_cpu, cpu_share);
          result.diagnostic = w.value;
        } else {
          send_alloc += static_cast<double>(w.heap_allocations);
          send_cpu = std::max(send_cpu, cpu_share);
        }
      }
      const std::uint64_t expected = messages * static_cast<std::uint64_t>(g.senders);
      if (received != expected) {
        ok = false;
        error = absl::StrCat("received ", received, " messages, expected ", expected);
      } else {
        const double seconds = static_cast<double>(end - run.control().go_ns) * 1e-9;
        result.messages_per_s = static_cast<double>(received) / seconds;
        result.gigabytes_per_s = static_cast<double>(bytes) / seconds * 1e-9;
        result.send_allocations_per_message = send_alloc / static_cast<double>(expected);
        result.recv_allocations_per_message = recv_alloc / static_cast<double>(expected);
        result.switches_per_message =
            static_cast<double>(switches) / static_cast<double>(expected);
        result.send_cpu_share = send_cpu;
        result.recv_cpu_share = recv_cpu;
      }
    }
  }
  t.Close();
  if (!ok) return Failed(result, error);
  result.ok = true;
  return result;
}

Result RunRoundTrip(Transport& t, const Geometry& g, std::uint64_t round_trips,
                    const RunnerOptions& options) {
  Result result;
  result.kind = Kind::kRoundTrip;
  result.size = g.message_size;
  result.transport = t.traits().name;
  result.messages = round_trips;
  if (absl::Status status = t.Open(g); !status.ok()) return Failed(result, status.ToString());
  std::string error;
  bool ok;
  Plan plan;
  plan.messages = round_trips;
  plan.warmup = std::min<std::uint64_t>(1000, round_trips / 4 + 1);
  std::vector<double> samples_ns;
  {
    Run run(round_trips);
    run.set_threads_per_worker(t.traits().threads);
    run.Spawn(options.pin ? 1 : -1,
              [&](WorkerReport& report) { t.Pong(run.control(), g, plan, report); });
    run.Spawn(options.pin ? 0 : -1, [&](WorkerReport& report) {
      t.Ping(run.control(), g, plan, run.samples(), report);
    });
    const bool started = run.Go(kStartTimeoutNs);
    ok = run.Wait(kRunTimeoutNs, &error) && started;
    result.contention = run.contention();
    if (ok) {
      const double ns_per_tick = NsPerTick();
      samples_ns.reserve(round_trips);
      for (std::uint64_t i = 0; i < round_trips; ++i) {
        samples_ns.push_back(static_cast<double>(run.samples()[i]) * ns_per_tick);
      }
    }
  }
  t.Close();
  if (!ok) return Failed(result, error);
  result.p50_ns = Percentile(samples_ns, 0.5);
  result.p99_ns = Percentile(samples_ns, 0.99);
  result.ok = true;
  return result;
}

Result RunIdle(Transport& t, const Geometry& g, std::int64_t idle_ns, int wakeups,
               std::int64_t gap_ns, const RunnerOptions& options) {
  Result result;
  result.kind = Kind::kIdle;
  result.size = g.message_size;
  result.transport = t.traits().name;
  result.messages = static_cast<std::uint64_t>(wakeups) + 1;
  if (absl::Status status = t.Open(g); !status.ok()) return Failed(result, status.ToString());
  std::string error;
  bool ok;
  Plan plan;
  plan.idle_ns = idle_ns;
  plan.wakeups = wakeups;
  plan.gap_ns = gap_ns;
  std::vector<double> wake_us;
  double cpu_percent = 0;
  {
    Run run(static_cast<std::size_t>(wakeups) + 1);
    run.set_threads_per_worker(t.traits().threads);
    run.Spawn(options.pin ? 1 : -1, [&](WorkerReport& report) {
      t.IdleReceiver(run.control(), g, plan, run.samples(), report);
    });
    run.Spawn(options.pin ? 0 : -1,
              [&](WorkerReport& report) { t.IdleSender(run.control(), g, plan, report); });
    const bool started = run.Go(kStartTimeoutNs);
    ok = run.Wait(kRunTimeoutNs, &error) && started;
    result.contention = run.contention();
    if (ok) {
      const WorkerReport& receiver = run.report(0);
      cpu_percent = 100.0 * static_cast<double>(receiver.cpu_ns) /
                    static_cast<double>(std::max<std::int64_t>(1, receiver.wall_ns));
      for (int i = 0; i <= wakeups; ++i) wake_us.push_back(static_cast<double>(run.samples()[i]) * 1e-3);
    }
  }
  t.Close();
  if (!ok) return Failed(result, error);
  result.idle_cpu_percent = cpu_percent;
  result.wake_p50_us = Median(wake_us);
  result.wake_max_us = *std::max_element(wake_us.begin(), wake_us.end());
  result.ok = true;
  return result;
}

}  // namespace buffered_pipe::bench
