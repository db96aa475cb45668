// bazel run //benchmarks:compare -- [--quick] [--out=DIR]
//
// buffered_pipe side by side with pipe(2), AF_UNIX socketpair,
// Boost.Interprocess message_queue, ZeroMQ and a bare shared-memory ring,
// between processes, in one run (issue 5). Each repetition runs every case
// for every transport, one after the other in a rotating order, and
// measures the cache-line round trip at its start and end; the report gives
// medians and per-repetition ratios, a CSV, a Markdown report and a chart.
//
// The binary is always built with -c opt (see opt.bzl).

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "benchmarks/common.h"
#include "benchmarks/registry.h"
#include "benchmarks/report.h"
#include "benchmarks/runner.h"
#include "benchmarks/system_transports.h"

ABSL_FLAG(bool, quick, false, "a short run (well under a minute): 3 repetitions of short runs");
ABSL_FLAG(std::string, out, "/tmp/buffered_pipe_compare",
          "directory for results.csv, summary.csv, report.md and throughput.png (relative paths "
          "are taken from the directory bazel run was called in)");
ABSL_FLAG(int, reps, 0, "repetitions (0: 3 with --quick, else 7)");
ABSL_FLAG(double, run_ms, 0, "target duration of one run in ms (0: 25 with --quick, else 100)");
ABSL_FLAG(int, idle_reps, 0,
          "repetitions of the 1-second idle case (0: 1 with --quick, else every repetition: "
          "wake-up latencies flip between two modes from run to run, the ratio needs many runs)");
ABSL_FLAG(bool, pin, true, "one-to-one cases: sender on CPU 0, receiver on CPU 1");
ABSL_FLAG(std::string, only, "",
          "comma-separated transports to run (default: all; ratios need the baselines bare_ring, "
          "socketpair, boost_mq in the list)");
ABSL_FLAG(std::string, cases, "one_way,round_trip,many_2x2,oversize,idle",
          "comma-separated cases to run");
ABSL_FLAG(int64_t, budget, 1 << 20, "bytes of buffer per direction for every transport");
ABSL_FLAG(int, attempts, 0,
          "attempts at a run that other processes disturbed (0: 1 with --quick, which must stay "
          "short, else 3)");
ABSL_FLAG(std::string, sizes, "",
          "comma-separated one-way message sizes in bytes, any >= 8 (default: 8,64,1024,65536,"
          "1048576; the typed adapters only run at those)");

namespace buffered_pipe::bench {
namespace {

constexpr std::size_t kOneWaySizes[] = {8, 64, 1024, 64 * 1024, 1024 * 1024};
constexpr std::size_t kManySizes[] = {64, 1024};
constexpr std::size_t kRoundTripSize = 64;
constexpr std::int64_t kIdleNs = 1'000'000'000;
constexpr std::int64_t kWakeGapNs = 5'000'000;
// A run is retried when other processes were runnable during more than this
// share of it (--attempts times in all at most).
constexpr double kContended = 0.05;

struct Case {
  Kind kind;
  std::size_t size;
  Geometry geometry;
};

std::string CaseName(const Case& c) { return absl::StrCat(KindName(c.kind), " ", SizeName(c.size)); }

bool Applies(const Transport& t, const Case& c) {
  const Traits& traits = t.traits();
  if (!t.Supports(c.size)) return false;
  switch (c.kind) {
    case Kind::kOneWay:
      return traits.one_way;
    case Kind::kRoundTrip:
      return traits.round_trip;
    case Kind::kMany:
      return traits.many;
    case Kind::kOversize:
      return traits.oversize;
    case Kind::kIdle:
      return traits.idle;
  }
  return false;
}

// The measured quantity used to size runs: seconds per message (or round trip).
double SecondsPer(const Result& r) {
  if (r.kind == Kind::kRoundTrip) return r.p50_ns * 1e-9 * 1.3;
  return r.messages_per_s > 0 ? 1.0 / r.messages_per_s : 1e-3;
}

class Progress {
 public:
  void Line(const std::string& text) {
    std::fprintf(stderr, "%s\n", text.c_str());
    std::fflush(stderr);
  }
  void Part(const std::string& text) {
    std::fprintf(stderr, "%s", text.c_str());
    std::fflush(stderr);
  }
};

std::string Short(const Result& r) {
  if (!r.ok) return absl::StrCat(r.transport, " FAILED");
  const std::string mark = r.contention > kContended ? "(!)" : r.attempts > 1 ? "(r)" : "";
  switch (r.kind) {
    case Kind::kRoundTrip:
      return absl::StrFormat("%s %.2fus%s", r.transport, r.p50_ns * 1e-3, mark);
    case Kind::kIdle:
      return absl::StrFormat("%s %.2f%%cpu/%.0fus%s", r.transport, r.idle_cpu_percent,
                             r.wake_p50_us, mark);
    default:
      return r.size >= 64 * 1024
                 ? absl::StrFormat("%s %.2fGB/s%s", r.transport, r.gigabytes_per_s, mark)
                 : absl::StrFormat("%s %.2fM/s%s", r.transport, r.messages_per_s * 1e-6, mark);
  }
}

Result Measure(Transport& t, const Case& c, std::uint64_t count, const RunnerOptions& options,
               int wakeups) {
  switch (c.kind) {
    case Kind::kRoundTrip:
      return RunRoundTrip(t, c.geometry, count, options);
    case Kind::kIdle:
      return RunIdle(t, c.geometry, kIdleNs, wakeups, kWakeGapNs, options);
    default:
      return RunThroughput(t, c.kind, c.geometry, count, options);
  }
}

// The commit of the workspace `bazel run` was called in (BUILD_WORKSPACE_DIRECTORY),
// and whether framework/ or codecs/ differ from it; empty outside a git tree.
std::string SourceVersion() {
  const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  if (workspace == nullptr) return "";
  auto run = [&](const std::string& command) {
    std::string out;
    if (FILE* pipe = popen(absl::StrCat("git -C '", workspace, "' ", command, " 2>/dev/null").c_str(), "r")) {
      char buffer[256];
      while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) out += buffer;
      pclose(pipe);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
  };
  const std::string commit = run("log -1 --format='%h %cd' --date=format:'%Y-%m-%d %H:%M'");
  if (commit.empty()) return "";
  const std::string dirty = run("status --porcelain -- framework codecs benchmarks");
  return absl::StrCat("git ", commit, dirty.empty() ? "" : " + uncommitted changes in framework/, codecs/ or benchmarks/");
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Compares buffered_pipe with pipes, sockets, Boost.Interprocess, ZeroMQ and a bare ring.\n"
      "  bazel run //benchmarks:compare -- [--quick] [--out=DIR]");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  const bool quick = absl::GetFlag(FLAGS_quick);
  const int reps = absl::GetFlag(FLAGS_reps) > 0 ? absl::GetFlag(FLAGS_reps) : (quick ? 3 : 7);
  const double run_seconds =
      (absl::GetFlag(FLAGS_run_ms) > 0 ? absl::GetFlag(FLAGS_run_ms) : (quick ? 25.0 : 100.0)) *
      1e-3;
  const int idle_reps = std::min(
      reps, absl::GetFlag(FLAGS_idle_reps) > 0 ? absl::GetFlag(FLAGS_idle_reps) : (quick ? 1 : reps));
  const int wakeups = quick ? 5 : 10;
  const int max_attempts =
      absl::GetFlag(FLAGS_attempts) > 0 ? absl::GetFlag(FLAGS_attempts) : (quick ? 1 : 3);
  RunnerOptions options;
  options.pin = absl::GetFlag(FLAGS_pin);
  options.budget = static_cast<std::size_t>(absl::GetFlag(FLAGS_budget));

  std::string out = absl::GetFlag(FLAGS_out);
  if (!out.empty() && out[0] != '/') {
    const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");  // set by `bazel run`
    if (cwd != nullptr) out = absl::StrCat(cwd, "/", out);
  }

  Report report;
  report.machine = DescribeMachine();
  const std::vector<std::string> given(argv + 1, argv + argc);
  report.command = absl::StrCat("bazel run //benchmarks:compare --", given.empty() ? "" : " ",
                                absl::StrJoin(given, " "), "   (", reps,
                                " repetitions, runs of ~", run_seconds * 1000, " ms)");
  report.source = SourceVersion();
  report.load_start = LoadAverage();
  report.budget = options.budget;
  report.run_seconds = run_seconds;
  const std::int64_t started = NowNs();
  (void)NsPerTick();  // calibrate before forking anything

  std::vector<std::unique_ptr<Transport>> transports;
  {
    std::vector<std::string> only;
    if (!absl::GetFlag(FLAGS_only).empty()) only = absl::StrSplit(absl::GetFlag(FLAGS_only), ',');
    for (std::unique_ptr<Transport>& t : AllTransports()) {
      const std::string& name = t->traits().name;
      if (std::find(report.built.begin(), report.built.end(), name) == report.built.end()) {
        report.built.push_back(name);
      }
      if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end()) {
        continue;
      }
      // Adapters of one name (bp_pod: one per size) make one column.
      if (std::none_of(report.transports.begin(), report.transports.end(),
                       [&](const Traits& known) { return known.name == name; })) {
        report.transports.push_back(t->traits());
      }
      transports.push_back(std::move(t));
    }
  }
  std::unique_ptr<Transport> cache_line = CacheLine();

  std::vector<Case> cases;
  {
    const std::vector<std::string> wanted = absl::StrSplit(absl::GetFlag(FLAGS_cases), ',');
    auto want = [&](Kind kind) {
      return std::find(wanted.begin(), wanted.end(), KindName(kind)) != wanted.end();
    };
    const std::size_t budget = options.budget;
    if (want(Kind::kOneWay)) {
      std::vector<std::size_t> sizes(std::begin(kOneWaySizes), std::end(kOneWaySizes));
      if (!absl::GetFlag(FLAGS_sizes).empty()) {
        // Any sizes (>= 8 bytes), e.g. to look between the standard ones.
        sizes.clear();
        for (absl::string_view text : absl::StrSplit(absl::GetFlag(FLAGS_sizes), ',')) {
          std::size_t size = 0;
          if (!absl::SimpleAtoi(text, &size) || size < 8) {
            std::fprintf(stderr, "--sizes: not a size of at least 8 bytes: %s\n",
                         std::string(text).c_str());
            return 2;
          }
          sizes.push_back(size);
        }
      }
      for (std::size_t size : sizes) cases.push_back({Kind::kOneWay, size, {size, budget}});
    }
    if (want(Kind::kRoundTrip)) {
      cases.push_back({Kind::kRoundTrip, kRoundTripSize, {kRoundTripSize, budget, 1, 1, true}});
    }
    if (want(Kind::kMany)) {
      for (std::size_t size : kManySizes) cases.push_back({Kind::kMany, size, {size, budget, 2, 2}});
    }
    if (want(Kind::kOversize)) {
      cases.push_back({Kind::kOversize, 16 * budget, {16 * budget, budget}});
    }
    if (want(Kind::kIdle)) cases.push_back({Kind::kIdle, 64, {64, budget}});
  }

  {
    // What the kernel made of the socket buffer request.
    TransportOf<SocketpairTransport> probe;
    if (probe.Open({64, options.budget}).ok()) {
      report.notes.push_back(absl::StrCat("socketpair: SO_SNDBUF set to ", options.budget,
                                          ", getsockopt reports ",
                                          probe.adapter().reported_sndbuf()));
    }
    probe.Close();
  }
  report.notes.push_back(
      "ratios \"x B\" are this transport's rate / B's rate (round trip and wake-up: time / "
      "time) in the same repetition; median (min-max) over repetitions");

  Progress progress;
  progress.Line(absl::StrCat("compare: ", reps, " repetitions, runs of ~", run_seconds * 1000,
                             " ms, ", transports.size(), " transports, ", cases.size(),
                             " cases; load ", report.load_start,
                             "\n(r): run again because other processes competed for the CPUs; "
                             "(!): contended in all ", max_attempts, " attempt(s)"));

  // Calibration: one short pilot run per (case, transport) sizes the runs
  // so that each lasts about run_seconds.
  std::map<std::pair<int, std::string>, std::uint64_t> counts;
  std::map<std::pair<int, std::string>, std::string> broken;
  progress.Part("calibrating:");
  for (std::size_t ci = 0; ci < cases.size(); ++ci) {
    const Case& c = cases[ci];
    if (c.kind == Kind::kIdle) continue;
    for (auto& t : transports) {
      if (!Applies(*t, c)) continue;
      const std::uint64_t pilot =
          c.kind == Kind::kRoundTrip
              ? 300
              : std::clamp<std::uint64_t>((std::uint64_t{8} << 20) / c.size, 2, 20000);
      const Result r = Measure(*t, c, pilot, options, wakeups);
      const auto key = std::make_pair(static_cast<int>(ci), t->traits().name);
      if (!r.ok) {
        broken[key] = r.error;
        progress.Part(absl::StrCat(" [", CaseName(c), " ", t->traits().name, " FAILED: ", r.error,
                                   "]"));
        continue;
      }
      const std::uint64_t lowest = c.kind == Kind::kOversize ? 3 : c.kind == Kind::kRoundTrip ? 300 : 16;
      counts[key] = std::clamp<std::uint64_t>(
          static_cast<std::uint64_t>(run_seconds / SecondsPer(r)), lowest,
          c.kind == Kind::kRoundTrip ? 200'000 : 50'000'000);
    }
    progress.Part(".");
  }
  progress.Line(absl::StrCat(" done (", (NowNs() - started) / 1'000'000'000, " s)"));

  auto cache_line_rtt = [&]() {
    const Result r = RunRoundTrip(*cache_line, {64, 4096, 1, 1, true}, quick ? 5000 : 20000, options);
    return r.ok ? r.p50_ns : std::nan("");
  };

  for (int rep = 1; rep <= reps; ++rep) {
    RepInfo info;
    info.rep = rep;
    info.load = LoadAverage();
    {
      Result r = RunRoundTrip(*cache_line, {64, 4096, 1, 1, true}, quick ? 5000 : 20000, options);
      r.rep = rep;
      info.cache_line_before_ns = r.ok ? r.p50_ns : std::nan("");
      report.results.push_back(r);
    }
    progress.Line(absl::StrFormat("[rep %d/%d] cache-line round trip %.0f ns, load %s", rep, reps,
                                  info.cache_line_before_ns, info.load));
    for (std::size_t ci = 0; ci < cases.size(); ++ci) {
      const Case& c = cases[ci];
      if (c.kind == Kind::kIdle && rep > idle_reps) continue;
      std::vector<Transport*> order;
      for (auto& t : transports) {
        if (Applies(*t, c)) order.push_back(t.get());
      }
      if (order.empty()) continue;
      // Rotate so that no transport always runs first (or right after another).
      std::rotate(order.begin(), order.begin() + (rep - 1) % order.size(), order.end());
      progress.Part(absl::StrFormat("  %-18s", CaseName(c)));
      for (Transport* t : order) {
        const auto key = std::make_pair(static_cast<int>(ci), t->traits().name);
        Result r;
        if (broken.count(key)) {
          r.kind = c.kind;
          r.size = c.size;
          r.transport = t->traits().name;
          r.error = broken[key];
        } else {
          // A run during which other processes competed for the CPUs says
          // little: run it again (right away, so the repetition's ratios
          // stay within seconds), keeping the least disturbed attempt.
          r = Measure(*t, c, c.kind == Kind::kIdle ? 0 : counts[key], options, wakeups);
          for (int attempt = 2; attempt <= max_attempts && r.ok && r.contention > kContended;
               ++attempt) {
            Result again = Measure(*t, c, c.kind == Kind::kIdle ? 0 : counts[key], options, wakeups);
            again.attempts = attempt;
            if (again.ok && again.contention < r.contention) {
              r = std::move(again);
            } else {
              r.attempts = attempt;
            }
          }
        }
        r.rep = rep;
        progress.Part(absl::StrCat("  ", Short(r)));
        report.results.push_back(std::move(r));
      }
      progress.Line("");
    }
    info.cache_line_after_ns = cache_line_rtt();
    report.reps.push_back(info);
  }
  report.load_end = LoadAverage();
  progress.Line(absl::StrCat("measured in ", (NowNs() - started) / 1'000'000'000, " s"));

  PrintReport(report, stdout);
  std::string chart_note;
  if (absl::Status status = WriteFiles(report, out, &chart_note); !status.ok()) {
    std::fprintf(stderr, "writing the results failed: %s\n", status.ToString().c_str());
    return 1;
  }
  std::printf("\nwrote %s/{results.csv,summary.csv,report.md}; %s\n", out.c_str(),
              chart_note.c_str());
  (void)args;
  return 0;
}

}  // namespace
}  // namespace buffered_pipe::bench

int main(int argc, char** argv) { return buffered_pipe::bench::Main(argc, argv); }
