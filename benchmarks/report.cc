#include "benchmarks/report.h"

#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace buffered_pipe::bench {
namespace {

using Metric = double Result::*;

constexpr std::size_t kOneWaySizes[] = {8, 64, 1024, 64 * 1024, 1024 * 1024};

// --- Queries ----------------------------------------------------------------

const Result* Find(const Report& report, Kind kind, std::size_t size, const std::string& transport,
                   int rep) {
  for (const Result& r : report.results) {
    if (r.ok && r.kind == kind && r.size == size && r.transport == transport && r.rep == rep) {
      return &r;
    }
  }
  return nullptr;
}

bool HasAny(const Report& report, Kind kind, std::size_t size, const std::string& transport) {
  for (const Result& r : report.results) {
    if (r.kind == kind && r.size == size && r.transport == transport) return true;
  }
  return false;
}

std::string FirstError(const Report& report, Kind kind, std::size_t size,
                       const std::string& transport) {
  for (const Result& r : report.results) {
    if (!r.ok && r.kind == kind && r.size == size && r.transport == transport) return r.error;
  }
  return "";
}

std::vector<double> Values(const Report& report, Kind kind, std::size_t size,
                           const std::string& transport, Metric metric) {
  std::vector<double> values;
  for (const RepInfo& rep : report.reps) {
    if (const Result* r = Find(report, kind, size, transport, rep.rep)) values.push_back(r->*metric);
  }
  return values;
}

// a / b, repetition by repetition (only repetitions where both succeeded).
std::vector<double> Ratios(const Report& report, Kind kind, std::size_t size, const std::string& a,
                           const std::string& b, Metric metric) {
  std::vector<double> ratios;
  for (const RepInfo& rep : report.reps) {
    const Result* ra = Find(report, kind, size, a, rep.rep);
    const Result* rb = Find(report, kind, size, b, rep.rep);
    if (ra != nullptr && rb != nullptr && rb->*metric > 0) ratios.push_back(ra->*metric / rb->*metric);
  }
  return ratios;
}

// Same, with a and b measured at different sizes (typed vs raw bytes).
std::vector<double> CrossRatios(const Report& report, Kind kind, std::size_t size_a,
                                const std::string& a, std::size_t size_b, const std::string& b,
                                Metric metric) {
  std::vector<double> ratios;
  for (const RepInfo& rep : report.reps) {
    const Result* ra = Find(report, kind, size_a, a, rep.rep);
    const Result* rb = Find(report, kind, size_b, b, rep.rep);
    if (ra != nullptr && rb != nullptr && rb->*metric > 0) ratios.push_back(ra->*metric / rb->*metric);
  }
  return ratios;
}

// The one-way message sizes measured, in order.
std::vector<std::size_t> OneWaySizes(const Report& report) {
  std::set<std::size_t> sizes;
  for (const Result& r : report.results) {
    if (r.kind == Kind::kOneWay) sizes.insert(r.size);
  }
  return {sizes.begin(), sizes.end()};
}

// --- Formatting -----------------------------------------------------------------

std::string Num(double v) {
  if (std::isnan(v)) return "-";
  const double a = std::fabs(v);
  if (a >= 100) return absl::StrFormat("%.0f", v);
  if (a >= 10) return absl::StrFormat("%.1f", v);
  if (a >= 1) return absl::StrFormat("%.2f", v);
  if (a >= 0.01) return absl::StrFormat("%.3f", v);
  if (a == 0) return "0";
  return absl::StrFormat("%.2g", v);
}

std::string MedianOf(const std::vector<double>& values, double scale = 1) {
  if (values.empty()) return "-";
  return Num(Median(values) * scale);
}

// "0.52x (0.45-0.61)": median ratio and the range over repetitions.
std::string RatioCell(const std::vector<double>& ratios) {
  if (ratios.empty()) return "-";
  const auto [lo, hi] = std::minmax_element(ratios.begin(), ratios.end());
  if (ratios.size() == 1) return absl::StrCat(Num(ratios[0]), "x");
  return absl::StrCat(Num(Median(ratios)), "x (", Num(*lo), "-", Num(*hi), ")");
}

bool IsTransport(const Report& report, const std::string& name) {
  for (const Traits& t : report.transports) {
    if (t.name == name) return true;
  }
  return false;
}

std::vector<std::string> NamesFor(const Report& report, Kind kind, std::size_t size) {
  std::vector<std::string> names;
  for (const Traits& t : report.transports) {
    if (HasAny(report, kind, size, t.name)) names.push_back(t.name);
  }
  if (kind == Kind::kRoundTrip && HasAny(report, kind, size, "cache_line")) {
    names.push_back("cache_line");
  }
  return names;
}

std::string RepLabel(const RepInfo& rep) {
  return absl::StrCat(rep.rep, " (", Num(rep.cache_line_before_ns), "/",
                      Num(rep.cache_line_after_ns), " ns)");
}

// A per-repetition table: one row per repetition, one column per transport.
Table PerRepTable(const Report& report, Kind kind, std::size_t size, const std::string& title,
                  Metric metric, double scale, const std::string& ratio_a = "",
                  const std::string& ratio_b = "") {
  Table table;
  table.title = title;
  const std::vector<std::string> names = NamesFor(report, kind, size);
  table.header.push_back("rep (cache line start/end)");
  for (const std::string& n : names) table.header.push_back(n);
  const bool with_ratio = !ratio_a.empty() && HasAny(report, kind, size, ratio_a) &&
                          HasAny(report, kind, size, ratio_b);
  if (with_ratio) table.header.push_back(absl::StrCat(ratio_a, " / ", ratio_b));
  // The bare ring's batch per wait for the producer's index: ~1 means the
  // two sides ran in lockstep (a cache-line transfer per message).
  const bool with_batch = !Values(report, kind, size, "bare_ring", &Result::diagnostic).empty() &&
                          Median(Values(report, kind, size, "bare_ring", &Result::diagnostic)) > 0;
  if (with_batch) table.header.push_back("bare_ring msgs/wait");
  for (const RepInfo& rep : report.reps) {
    std::vector<std::string> row{RepLabel(rep)};
    bool any = false;
    for (const std::string& n : names) {
      const Result* r = Find(report, kind, size, n, rep.rep);
      row.push_back(r != nullptr ? Num(r->*metric * scale) : "-");
      any = any || r != nullptr;
    }
    if (!any) continue;
    if (with_ratio) {
      const Result* a = Find(report, kind, size, ratio_a, rep.rep);
      const Result* b = Find(report, kind, size, ratio_b, rep.rep);
      row.push_back(a != nullptr && b != nullptr && b->*metric > 0
                        ? absl::StrCat(Num(a->*metric / b->*metric), "x")
                        : "-");
    }
    if (with_batch) {
      const Result* r = Find(report, kind, size, "bare_ring", rep.rep);
      row.push_back(r != nullptr ? Num(r->diagnostic) : "-");
    }
    table.rows.push_back(std::move(row));
  }
  std::vector<std::string> median_row{"median"};
  for (const std::string& n : names) {
    median_row.push_back(MedianOf(Values(report, kind, size, n, metric), scale));
  }
  if (with_ratio) {
    median_row.push_back(RatioCell(Ratios(report, kind, size, ratio_a, ratio_b, metric)));
  }
  if (with_batch) {
    median_row.push_back(MedianOf(Values(report, kind, size, "bare_ring", &Result::diagnostic)));
  }
  table.rows.push_back(std::move(median_row));
  return table;
}

std::string AllocCell(const Report& report, Kind kind, std::size_t size, const std::string& t) {
  const std::vector<double> send = Values(report, kind, size, t, &Result::send_allocations_per_message);
  const std::vector<double> recv = Values(report, kind, size, t, &Result::recv_allocations_per_message);
  if (send.empty()) return "-";
  // The maximum over repetitions: one allocation in any run matters.
  return absl::StrCat(Num(*std::max_element(send.begin(), send.end())), " / ",
                      Num(*std::max_element(recv.begin(), recv.end())));
}

std::string CpuCell(const Report& report, Kind kind, std::size_t size, const std::string& t) {
  const std::vector<double> send = Values(report, kind, size, t, &Result::send_cpu_share);
  const std::vector<double> recv = Values(report, kind, size, t, &Result::recv_cpu_share);
  if (send.empty()) return "-";
  return absl::StrCat(Num(Median(send) * 100), "% / ", Num(Median(recv) * 100), "%");
}

Table ThroughputSummary(const Report& report, Kind kind, std::size_t size, const std::string& title,
                        const std::vector<std::string>& baselines) {
  Table table;
  table.title = title;
  table.header = {"transport", "M msg/s", "GB/s"};
  for (const std::string& b : baselines) table.header.push_back(absl::StrCat("x ", b));
  table.header.push_back("heap allocs/msg send / recv");
  table.header.push_back("ctx switches/msg");
  table.header.push_back("CPU send / recv");
  for (const std::string& n : NamesFor(report, kind, size)) {
    std::vector<std::string> row{n};
    const std::vector<double> rate = Values(report, kind, size, n, &Result::messages_per_s);
    if (rate.empty()) {
      row.push_back(absl::StrCat("failed: ", FirstError(report, kind, size, n)));
      table.rows.push_back(std::move(row));
      continue;
    }
    row.push_back(MedianOf(rate, 1e-6));
    row.push_back(MedianOf(Values(report, kind, size, n, &Result::gigabytes_per_s)));
    for (const std::string& b : baselines) {
      row.push_back(RatioCell(Ratios(report, kind, size, n, b, &Result::messages_per_s)));
    }
    row.push_back(AllocCell(report, kind, size, n));
    row.push_back(MedianOf(Values(report, kind, size, n, &Result::switches_per_message)));
    row.push_back(CpuCell(report, kind, size, n));
    table.rows.push_back(std::move(row));
  }
  return table;
}

std::string Plural(std::size_t n, const char* what) {
  return absl::StrCat(n, " ", what, n == 1 ? "" : "s");
}

}  // namespace

// --- Machine ---------------------------------------------------------------------------

MachineInfo DescribeMachine() {
  MachineInfo info;
  const std::time_t now = std::time(nullptr);
  char date[64];
  std::strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %Z", std::localtime(&now));
  info.date = date;
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, model;
  bool hypervisor = false;
  while (std::getline(cpuinfo, line)) {
    if (model.empty() && line.rfind("model name", 0) == 0) model = line.substr(line.find(':') + 2);
    if (line.rfind("flags", 0) == 0 && line.find(" hypervisor") != std::string::npos) {
      hypervisor = true;
    }
  }
  info.cpu = absl::StrCat(sysconf(_SC_NPROCESSORS_ONLN), " x ", model.empty() ? "?" : model,
                          hypervisor ? " (virtual machine)" : "");
  utsname name;
  if (uname(&name) == 0) info.kernel = absl::StrCat(name.sysname, " ", name.release);
  std::ifstream meminfo("/proc/meminfo");
  while (std::getline(meminfo, line)) {
    if (line.rfind("MemTotal:", 0) == 0) {
      std::istringstream fields(line.substr(9));
      double kib = 0;
      fields >> kib;
      info.memory = absl::StrFormat("%.1f GiB", kib / 1024 / 1024);
    }
  }
  return info;
}

std::string LoadAverage() {
  std::ifstream file("/proc/loadavg");
  double a = 0, b = 0, c = 0;
  file >> a >> b >> c;
  return absl::StrFormat("%.2f %.2f %.2f", a, b, c);
}

// --- Tables --------------------------------------------------------------------------------

std::vector<Table> BuildTables(const Report& report) {
  std::vector<Table> tables;
  const std::size_t n_reps = report.reps.size();

  {
    Table t;
    t.title = "Repetitions: cache-line round trip (median, ns) at the start and end of each";
    t.header = {"rep", "cache line start", "cache line end", "load average at start",
                "bare_ring CPU share (lowest)", "runs contended / retried / total"};
    for (const RepInfo& rep : report.reps) {
      // The bare ring spins: each side should own a CPU (100 %). Less means
      // other processes took CPU time during this repetition.
      double lowest = 2;
      for (const Result& r : report.results) {
        if (r.ok && r.rep == rep.rep && r.transport == "bare_ring" && r.kind == Kind::kOneWay) {
          lowest = std::min({lowest, r.send_cpu_share, r.recv_cpu_share});
        }
      }
      int contended = 0, retried = 0, total = 0;
      for (const Result& r : report.results) {
        if (r.rep != rep.rep || !r.ok) continue;
        ++total;
        if (r.contention > 0.05) ++contended;
        if (r.attempts > 1) ++retried;
      }
      t.rows.push_back({absl::StrCat(rep.rep), Num(rep.cache_line_before_ns),
                        Num(rep.cache_line_after_ns), rep.load,
                        lowest > 1.5 ? "-" : absl::StrCat(Num(lowest * 100), " %"),
                        absl::StrCat(contended, " / ", retried, " / ", total)});
    }
    t.note =
        "Two CPUs that are \"near\" on the host bounce a cache line in ~65 ns, \"far\" ones in "
        "~300 ns; shared-memory results move with it. Compare ratios within a repetition. A "
        "bare_ring CPU share well under 100 % means other processes competed for the CPUs. A run "
        "is contended when other processes were runnable during more than 5 % of it (sampled "
        "every ms from /proc/loadavg); it is then run again (full runs: up to 3 attempts, --quick: "
        "none), keeping the least contended attempt.";
    tables.push_back(std::move(t));
  }

  const std::string medians = absl::StrCat("medians of ", Plural(n_reps, "repetition"));
  for (std::size_t size : OneWaySizes(report)) {
    if (NamesFor(report, Kind::kOneWay, size).empty()) continue;
    tables.push_back(ThroughputSummary(
        report, Kind::kOneWay, size,
        absl::StrCat("One-way throughput, ", SizeName(size),
                     " messages, 1 sender -> 1 receiver in two processes (", medians,
                     "; ratios computed per repetition: median (min-max))"),
        {"socketpair", "bare_ring"}));
  }
  if (IsTransport(report, "bp_pod") || IsTransport(report, "bp_cereal")) {
    Table t;
    t.title = absl::StrCat("Typed sends vs raw bytes of the same (encoded) size, one-way (", medians,
                           ")");
    t.header = {"size", "bp_generic M msg/s", "bp_pod M msg/s", "bp_pod time / raw time",
                "bp_cereal M msg/s", "bp_cereal time / raw time", "heap allocs/msg pod / cereal"};
    const Metric rate = &Result::messages_per_s;
    for (std::size_t size : OneWaySizes(report)) {
      auto allocs = [&](const char* name) {
        const std::vector<double> send = Values(report, Kind::kOneWay, size, name, &Result::send_allocations_per_message);
        const std::vector<double> recv = Values(report, Kind::kOneWay, size, name, &Result::recv_allocations_per_message);
        if (send.empty()) return std::string("-");
        return absl::StrCat(Num(*std::max_element(send.begin(), send.end()) +
                                *std::max_element(recv.begin(), recv.end())));
      };
      t.rows.push_back(
          {SizeName(size), MedianOf(Values(report, Kind::kOneWay, size, "bp_generic", rate), 1e-6),
           MedianOf(Values(report, Kind::kOneWay, size, "bp_pod", rate), 1e-6),
           RatioCell(Ratios(report, Kind::kOneWay, size, "bp_generic", "bp_pod", rate)),
           MedianOf(Values(report, Kind::kOneWay, size, "bp_cereal", rate), 1e-6),
           RatioCell(Ratios(report, Kind::kOneWay, size, "bp_generic", "bp_cereal", rate)),
           absl::StrCat(allocs("bp_pod"), " / ", allocs("bp_cereal"))});
    }
    t.note =
        "time / raw time = bp_generic's rate / the typed rate in the same repetition (targets: "
        "POD <= 1.1x, cereal <= 2x). Allocations: both sides per message, worst repetition.";
    tables.push_back(std::move(t));
  }
  if (!NamesFor(report, Kind::kRoundTrip, 64).empty()) {
    Table t;
    t.title = absl::StrCat("Round trip, 64 B ping-pong between two processes (", medians, ")");
    t.header = {"transport", "p50 us", "p99 us", "p50 x socketpair", "p50 x bare_ring",
                "p50 x cache_line"};
    for (const std::string& n : NamesFor(report, Kind::kRoundTrip, 64)) {
      const std::vector<double> p50 = Values(report, Kind::kRoundTrip, 64, n, &Result::p50_ns);
      if (p50.empty()) {
        t.rows.push_back({n, absl::StrCat("failed: ", FirstError(report, Kind::kRoundTrip, 64, n))});
        continue;
      }
      t.rows.push_back(
          {n, MedianOf(p50, 1e-3),
           MedianOf(Values(report, Kind::kRoundTrip, 64, n, &Result::p99_ns), 1e-3),
           RatioCell(Ratios(report, Kind::kRoundTrip, 64, n, "socketpair", &Result::p50_ns)),
           RatioCell(Ratios(report, Kind::kRoundTrip, 64, n, "bare_ring", &Result::p50_ns)),
           RatioCell(Ratios(report, Kind::kRoundTrip, 64, n, "cache_line", &Result::p50_ns))});
    }
    t.note = "Both sides busy (each waits for the other's reply); lower is better.";
    tables.push_back(std::move(t));
  }
  for (std::size_t size : {std::size_t{64}, std::size_t{1024}}) {
    if (NamesFor(report, Kind::kMany, size).empty()) continue;
    tables.push_back(ThroughputSummary(
        report, Kind::kMany, size,
        absl::StrCat("Many to many: 2 sending x 2 receiving processes on one channel, ",
                     SizeName(size), " (", medians, ")"),
        {"boost_mq"}));
  }
  for (const Result& r : report.results) {
    if (r.kind != Kind::kOversize) continue;
    Table t = ThroughputSummary(
        report, Kind::kOversize, r.size,
        absl::StrCat("Oversize: ", SizeName(r.size), " messages through ",
                     SizeName(report.budget), " of buffer (", medians, ")"),
        {"socketpair", "bare_ring"});
    tables.push_back(std::move(t));
    break;
  }
  if (!NamesFor(report, Kind::kIdle, 64).empty()) {
    Table t;
    t.title = "Idle receiver: CPU while blocked for 1 s with nothing to receive, then wake-ups";
    t.header = {"transport", "CPU while blocked", "wake-up p50 us", "wake-up max us",
                "wake-up x socketpair"};
    for (const std::string& n : NamesFor(report, Kind::kIdle, 64)) {
      const std::vector<double> cpu = Values(report, Kind::kIdle, 64, n, &Result::idle_cpu_percent);
      if (cpu.empty()) {
        t.rows.push_back({n, absl::StrCat("failed: ", FirstError(report, Kind::kIdle, 64, n))});
        continue;
      }
      const std::vector<double> wake_max = Values(report, Kind::kIdle, 64, n, &Result::wake_max_us);
      t.rows.push_back(
          {n, absl::StrCat(Num(*std::max_element(cpu.begin(), cpu.end())), " %"),
           MedianOf(Values(report, Kind::kIdle, 64, n, &Result::wake_p50_us)),
           Num(*std::max_element(wake_max.begin(), wake_max.end())),
           RatioCell(Ratios(report, Kind::kIdle, 64, n, "socketpair", &Result::wake_p50_us))});
    }
    t.note =
        "CPU: the receiving process's CPU time / wall time while blocked (the maximum over "
        "repetitions). Wake-up: from the sender's clock reading just before send to the "
        "receiver's just after recv returns, the receiver having been blocked 1 s (first) or 5 ms "
        "(the others). The bare ring is left out: it spins by design (100 %).";
    tables.push_back(std::move(t));
  }

  // Per-repetition detail.
  for (std::size_t size : OneWaySizes(report)) {
    if (NamesFor(report, Kind::kOneWay, size).empty()) continue;
    const bool large = size >= 64 * 1024;
    tables.push_back(PerRepTable(
        report, Kind::kOneWay, size,
        absl::StrCat("One-way ", SizeName(size), " per repetition (", large ? "GB/s" : "M msg/s",
                     ")"),
        large ? &Result::gigabytes_per_s : &Result::messages_per_s, large ? 1 : 1e-6,
        "bp_generic", "bare_ring"));
  }
  if (!NamesFor(report, Kind::kRoundTrip, 64).empty()) {
    tables.push_back(PerRepTable(report, Kind::kRoundTrip, 64,
                                 "Round trip 64 B per repetition (p50, us)", &Result::p50_ns, 1e-3,
                                 "bp_generic", "bare_ring"));
  }
  for (std::size_t size : {std::size_t{64}, std::size_t{1024}}) {
    if (NamesFor(report, Kind::kMany, size).empty()) continue;
    tables.push_back(PerRepTable(report, Kind::kMany, size,
                                 absl::StrCat("Many to many ", SizeName(size),
                                              " per repetition (M msg/s)"),
                                 &Result::messages_per_s, 1e-6, "bp_generic", "boost_mq"));
  }
  for (const Result& r : report.results) {
    if (r.kind != Kind::kOversize) continue;
    tables.push_back(PerRepTable(report, Kind::kOversize, r.size,
                                 absl::StrCat("Oversize ", SizeName(r.size),
                                              " per repetition (GB/s)"),
                                 &Result::gigabytes_per_s, 1, "bp_generic", "bare_ring"));
    break;
  }
  if (!NamesFor(report, Kind::kIdle, 64).empty()) {
    tables.push_back(PerRepTable(report, Kind::kIdle, 64,
                                 "Wake-up from blocked, per repetition (p50, us)",
                                 &Result::wake_p50_us, 1, "bp_generic", "socketpair"));
  }

  {
    Table t;
    t.title = absl::StrCat("Transports and how each gets the same ", SizeName(report.budget),
                           " buffer budget");
    t.header = {"transport", "what", "budget knob"};
    for (const Traits& traits : report.transports) {
      t.rows.push_back({traits.name, traits.description, traits.knob});
    }
    tables.push_back(std::move(t));
  }
  return tables;
}

// --- Targets ------------------------------------------------------------------------------------

std::vector<TargetCheck> CheckTargets(const Report& report) {
  std::vector<TargetCheck> checks;
  // ratios: per-repetition values; higher_is_better: met if median >= bound.
  auto add = [&](std::string what, std::string target_text, const std::vector<double>& ratios,
                 double bound, bool at_least, const std::string& unit, std::string missing) {
    TargetCheck c;
    c.what = std::move(what);
    c.target = std::move(target_text);
    if (ratios.empty()) {
      c.state = TargetCheck::kNotMeasured;
      c.measured = std::move(missing);
    } else {
      const double m = Median(ratios);
      c.state = (at_least ? m >= bound : m <= bound) ? TargetCheck::kMet : TargetCheck::kMissed;
      const auto [lo, hi] = std::minmax_element(ratios.begin(), ratios.end());
      c.measured = ratios.size() == 1
                       ? absl::StrCat(Num(m), unit)
                       : absl::StrCat(Num(m), unit, " (per repetition ", Num(*lo), "-", Num(*hi),
                                      ")");
    }
    checks.push_back(std::move(c));
  };
  auto missing = [&](const std::string& transport) {
    if (IsTransport(report, transport)) return std::string("no successful run in this invocation");
    if (std::find(report.built.begin(), report.built.end(), transport) != report.built.end()) {
      return absl::StrCat(transport, " not run in this invocation (--only / --cases)");
    }
    return absl::StrCat(transport, " not in this build (not landed yet)");
  };
  const Metric rate = &Result::messages_per_s;

  for (auto [size, bound] : {std::pair<std::size_t, double>{64, 1.0}, {1024 * 1024, 1.0},
                             {1024, 0.9}}) {
    add(absl::StrCat("bp_generic / bare_ring, one-way ", SizeName(size)),
        absl::StrCat(">= ", Num(bound), "x"),
        Ratios(report, Kind::kOneWay, size, "bp_generic", "bare_ring", rate), bound, true, "x",
        missing("bp_generic"));
  }
  for (auto [size, bound] : {std::pair<std::size_t, double>{64, 3.0}, {1024 * 1024, 2.5}}) {
    add(absl::StrCat("bp_generic / boost_mq, one-way ", SizeName(size)),
        absl::StrCat(">= ", Num(bound), "x"),
        Ratios(report, Kind::kOneWay, size, "bp_generic", "boost_mq", rate), bound, true, "x",
        missing("bp_generic"));
  }
  add("bp_static / bare_ring, one-way 64 B records", ">= 1.2x",
      Ratios(report, Kind::kOneWay, 64, "bp_static", "bare_ring", rate), 1.2, true, "x",
      missing("bp_static"));
  add("bp_generic / bare_ring, round trip 64 B p50", "<= 1.3x",
      Ratios(report, Kind::kRoundTrip, 64, "bp_generic", "bare_ring", &Result::p50_ns), 1.3, false,
      "x", missing("bp_generic"));
  {
    std::vector<double> cpu = Values(report, Kind::kIdle, 64, "bp_generic", &Result::idle_cpu_percent);
    // The worst repetition counts.
    if (!cpu.empty()) cpu = {*std::max_element(cpu.begin(), cpu.end())};
    add("bp_generic idle receiver blocked 1 s: CPU (worst repetition)", "<= 1 %", cpu, 1.0, false,
        " %", missing("bp_generic"));
  }
  add("bp_generic / socketpair, wake-up from blocked (p50)", "<= 1.0x",
      Ratios(report, Kind::kIdle, 64, "bp_generic", "socketpair", &Result::wake_p50_us), 1.0, false,
      "x", missing("bp_generic"));
  for (const char* pipe : {"bp_generic", "bp_static"}) {
    for (std::size_t size : {std::size_t{64}, std::size_t{1024}}) {
      add(absl::StrCat(pipe, " / boost_mq, 2x2 ", SizeName(size)), ">= 2x",
          Ratios(report, Kind::kMany, size, pipe, "boost_mq", rate), 2.0, true, "x",
          missing(pipe));
    }
  }
  {
    std::size_t oversize = 16 * report.budget;
    for (const Result& r : report.results) {
      if (r.kind == Kind::kOversize) oversize = r.size;
    }
    add(absl::StrCat("bp_generic, one ", SizeName(oversize), " message through ",
                     SizeName(report.budget)),
        ">= 10 GB/s",
        Values(report, Kind::kOversize, oversize, "bp_generic", &Result::gigabytes_per_s), 10.0,
        true, " GB/s", missing("bp_generic"));
  }
  // Typed sends: time per message relative to raw bytes of the same size
  // (time ratio = raw rate / typed rate).
  for (std::size_t size : kOneWaySizes) {
    add(absl::StrCat("bp_pod time / bp_generic time, ", SizeName(size)), "<= 1.1x",
        Ratios(report, Kind::kOneWay, size, "bp_generic", "bp_pod", rate), 1.1, false, "x",
        missing("bp_pod"));
  }
  for (std::size_t size : kOneWaySizes) {
    if (size < 64) continue;  // a string and a vector do not encode in 8 bytes
    add(absl::StrCat("bp_cereal time / bp_generic time, encoded size ", SizeName(size)), "<= 2x",
        CrossRatios(report, Kind::kOneWay, size, "bp_generic", size, "bp_cereal", rate), 2.0,
        false, "x", missing("bp_cereal"));
  }
  for (const char* t : {"bp_generic", "bp_pod"}) {
    std::vector<double> worst;
    for (std::size_t size : kOneWaySizes) {
      for (Metric m : {&Result::send_allocations_per_message, &Result::recv_allocations_per_message}) {
        const std::vector<double> v = Values(report, Kind::kOneWay, size, t, m);
        if (!v.empty()) {
          const double w = *std::max_element(v.begin(), v.end());
          worst = {worst.empty() ? w : std::max(worst[0], w)};
        }
      }
    }
    add(absl::StrCat(t, " heap allocations per message (worst size, side, repetition)"),
        "0 (< 0.001)", worst, 0.001, false, "", missing(t));
  }
  // Our network ends beside ZeroMQ alone over the same transport (issue 14:
  // the layer's overhead at most 10 % of ZeroMQ's throughput).
  for (auto [ours, theirs] : {std::pair<const char*, const char*>{"net_ipc", "zmq"},
                              {"net_tcp", "zmq_tcp"}}) {
    for (std::size_t size : {std::size_t{64}, std::size_t{64 * 1024}}) {
      add(absl::StrCat(ours, " / ", theirs, ", one-way ", SizeName(size)), ">= 0.9x",
          Ratios(report, Kind::kOneWay, size, ours, theirs, rate), 0.9, true, "x", missing(ours));
    }
  }
  return checks;
}

// --- Rendering -------------------------------------------------------------------------------------

std::string RenderText(const Table& table) {
  std::vector<std::size_t> widths(table.header.size(), 0);
  auto fit = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  };
  fit(table.header);
  for (const auto& row : table.rows) fit(row);
  std::string out = absl::StrCat(table.title, "\n");
  auto line = [&](const std::vector<std::string>& row) {
    std::string text = " ";
    for (std::size_t i = 0; i < row.size(); ++i) {
      const std::size_t w = i < widths.size() ? widths[i] : 0;
      if (i == 0) {
        text += absl::StrFormat(" %-*s", static_cast<int>(w), row[i]);
      } else {
        text += absl::StrFormat("  %*s", static_cast<int>(w), row[i]);
      }
    }
    out += text + "\n";
  };
  line(table.header);
  std::size_t total = 1;
  for (std::size_t w : widths) total += w + 2;
  out += "  " + std::string(total - 1, '-') + "\n";
  for (const auto& row : table.rows) line(row);
  if (!table.note.empty()) out += absl::StrCat("  ", table.note, "\n");
  return out;
}

std::string RenderMarkdown(const Table& table) {
  std::string out = absl::StrCat("**", table.title, "**\n\n");
  out += absl::StrCat("| ", absl::StrJoin(table.header, " | "), " |\n|");
  for (std::size_t i = 0; i < table.header.size(); ++i) out += i == 0 ? "---|" : "---:|";
  out += "\n";
  for (const auto& row : table.rows) {
    std::vector<std::string> cells = row;
    cells.resize(table.header.size());
    out += absl::StrCat("| ", absl::StrJoin(cells, " | "), " |\n");
  }
  if (!table.note.empty()) out += absl::StrCat("\n", table.note, "\n");
  return out + "\n";
}

namespace {

std::string StateName(TargetCheck::State state) {
  switch (state) {
    case TargetCheck::kMet:
      return "MET";
    case TargetCheck::kMissed:
      return "MISSED";
    case TargetCheck::kNotMeasured:
      return "NOT MEASURED";
  }
  return "?";
}

std::string HeaderText(const Report& report) {
  std::string out;
  out += absl::StrCat("date:     ", report.machine.date, "\n");
  out += absl::StrCat("command:  ", report.command, "\n");
  if (!report.source.empty()) out += absl::StrCat("source:   ", report.source, "\n");
  out += absl::StrCat("machine:  ", report.machine.cpu, ", ", report.machine.memory, ", ",
                      report.machine.kernel, "\n");
  out += absl::StrCat("load:     ", report.load_start, " at start, ", report.load_end,
                      " at end (1/5/15 min)\n");
  out += absl::StrCat("budget:   ", SizeName(report.budget), " of buffer per direction; ",
                      Plural(report.reps.size(), "repetition"), ", runs of ~",
                      Num(report.run_seconds * 1000), " ms\n");
  for (const std::string& note : report.notes) out += absl::StrCat("note:     ", note, "\n");
  return out;
}

}  // namespace

void PrintReport(const Report& report, std::FILE* out) {
  std::string text = "\n" + HeaderText(report) + "\n";
  for (const Table& table : BuildTables(report)) text += RenderText(table) + "\n";
  text += "Targets of issue 5 (ratios: median over repetitions of the per-repetition ratio)\n";
  for (const TargetCheck& c : CheckTargets(report)) {
    text += absl::StrFormat("  %-12s %s: %s, target %s\n", StateName(c.state), c.what, c.measured,
                            c.target);
  }
  std::fputs(text.c_str(), out);
  std::fflush(out);
}

absl::Status WriteFiles(const Report& report, const std::string& directory,
                        std::string* chart_note) {
  if (mkdir(directory.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::InternalError(absl::StrCat("cannot create ", directory));
  }
  std::map<int, const RepInfo*> reps;
  for (const RepInfo& rep : report.reps) reps[rep.rep] = &rep;

  {
    std::ofstream csv(directory + "/results.csv");
    csv << "date,rep,cache_line_rtt_start_ns,cache_line_rtt_end_ns,kind,size_bytes,transport,ok,"
           "messages,messages_per_s,gigabytes_per_s,p50_ns,p99_ns,idle_cpu_percent,wake_p50_us,"
           "wake_max_us,send_allocs_per_msg,recv_allocs_per_msg,ctx_switches_per_msg,"
           "send_cpu_share,recv_cpu_share,receiver_diagnostic,preemptions,contention,attempts,error\n";
    for (const Result& r : report.results) {
      const RepInfo* rep = reps.count(r.rep) ? reps[r.rep] : nullptr;
      std::string error = r.error;
      std::replace(error.begin(), error.end(), ',', ';');
      std::replace(error.begin(), error.end(), '\n', ' ');
      csv << absl::StrFormat(
          "%s,%d,%.1f,%.1f,%s,%d,%s,%d,%d,%.6g,%.6g,%.6g,%.6g,%.4g,%.6g,%.6g,%.4g,%.4g,%.4g,%.3g,"
          "%.3g,%.4g,%d,%.3f,%d,%s\n",
          report.machine.date, r.rep, rep ? rep->cache_line_before_ns : 0,
          rep ? rep->cache_line_after_ns : 0, KindName(r.kind), r.size, r.transport, r.ok ? 1 : 0,
          r.messages, r.messages_per_s, r.gigabytes_per_s, r.p50_ns, r.p99_ns, r.idle_cpu_percent,
          r.wake_p50_us, r.wake_max_us, r.send_allocations_per_message,
          r.recv_allocations_per_message, r.switches_per_message, r.send_cpu_share,
          r.recv_cpu_share, r.diagnostic, r.preemptions, r.contention, r.attempts, error);
    }
    if (!csv) return absl::InternalError("writing results.csv failed");
  }
  {
    std::ofstream csv(directory + "/summary.csv");
    csv << "kind,size_bytes,transport,repetitions,median_messages_per_s,median_gigabytes_per_s,"
           "median_p50_ns,median_p99_ns,ratio_to_socketpair,ratio_to_bare_ring\n";
    std::set<std::tuple<int, std::size_t, std::string>> seen;
    for (const Result& r : report.results) {
      if (!seen.insert({static_cast<int>(r.kind), r.size, r.transport}).second) continue;
      const Metric m = r.kind == Kind::kRoundTrip ? &Result::p50_ns
                       : r.kind == Kind::kIdle    ? &Result::wake_p50_us
                                                  : &Result::messages_per_s;
      auto med = [&](Metric metric) {
        std::vector<double> v = Values(report, r.kind, r.size, r.transport, metric);
        return v.empty() ? std::nan("") : Median(v);
      };
      auto ratio = [&](const char* base) {
        std::vector<double> v = Ratios(report, r.kind, r.size, r.transport, base, m);
        return v.empty() ? std::nan("") : Median(v);
      };
      csv << absl::StrFormat("%s,%d,%s,%d,%.6g,%.6g,%.6g,%.6g,%.4g,%.4g\n", KindName(r.kind), r.size,
                             r.transport,
                             Values(report, r.kind, r.size, r.transport, m).size(),
                             med(&Result::messages_per_s), med(&Result::gigabytes_per_s),
                             med(&Result::p50_ns), med(&Result::p99_ns), ratio("socketpair"),
                             ratio("bare_ring"));
    }
  }

  // Chart data: one file per transport (size, messages/s, GB/s).
  std::vector<std::string> plotted;
  for (const Traits& t : report.transports) {
    std::string data;
    for (std::size_t size : OneWaySizes(report)) {
      const std::vector<double> rate = Values(report, Kind::kOneWay, size, t.name, &Result::messages_per_s);
      const std::vector<double> gb = Values(report, Kind::kOneWay, size, t.name, &Result::gigabytes_per_s);
      if (rate.empty()) continue;
      data += absl::StrFormat("%d %.6g %.6g\n", size, Median(rate), Median(gb));
    }
    if (data.empty()) continue;
    std::ofstream(directory + "/chart_" + t.name + ".dat") << data;
    plotted.push_back(t.name);
  }
  std::string cl;
  {
    std::vector<double> v;
    for (const RepInfo& rep : report.reps) v.push_back(rep.cache_line_before_ns);
    cl = v.empty() ? "?" : Num(Median(v));
  }
  {
    std::ofstream gp(directory + "/throughput.gp");
    gp << "# Drawn by //benchmarks:compare; re-run with: gnuplot throughput.gp\n";
    gp << "set terminal pngcairo size 1500,620 font 'DejaVu Sans,10'\n";
    gp << "set output 'throughput.png'\nset termoption noenhanced\n";
    gp << "set multiplot layout 1,2 title \"One-way throughput between two processes, "
       << SizeName(report.budget) << " buffers (medians of " << report.reps.size()
       << " repetitions; " << report.machine.date << "; " << report.machine.cpu
       << "; cache-line round trip " << cl << " ns)\"\n";
    gp << "set logscale x 2\nset logscale y 10\nset grid xtics ytics mytics\n";
    gp << "set xtics (\"8 B\" 8, \"64 B\" 64, \"1 KiB\" 1024, \"64 KiB\" 65536, \"1 MiB\" 1048576)\n";
    gp << "set xrange [6:1400000]\nset xlabel 'message size'\nset key top right\n";
    auto plot = [&](int column) {
      std::string cmd = "plot ";
      for (std::size_t i = 0; i < plotted.size(); ++i) {
        const bool ours = plotted[i].rfind("bp_", 0) == 0;
        const bool reference = plotted[i] == "bare_ring";
        cmd += absl::StrFormat("%s'chart_%s.dat' using 1:%d with linespoints lw %d dt %d pt 7 title '%s'",
                               i == 0 ? "" : ", ", plotted[i], column, ours ? 3 : 2,
                               reference ? 2 : 1, plotted[i]);
      }
      return cmd + "\n";
    };
    gp << "set ylabel 'messages per second'\nset format y '%.0s%c'\n" << plot(2);
    gp << "set ylabel 'GB/s (1e9 bytes per second)'\nset format y '%g'\nset key bottom right\n"
       << plot(3);
    gp << "unset multiplot\n";
  }
  if (plotted.empty()) {
    *chart_note = "no one-way results: no chart";
  } else if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    *chart_note = "gnuplot not found (apt-get install gnuplot-nox): throughput.gp written, no PNG";
  } else {
    const std::string command =
        absl::StrCat("cd '", directory, "' && gnuplot throughput.gp 2>gnuplot.log");
    *chart_note = std::system(command.c_str()) == 0
                      ? "throughput.png drawn with gnuplot"
                      : "gnuplot failed (see gnuplot.log): no PNG";
  }

  {
    std::ofstream md(directory + "/report.md");
    md << "```\n" << HeaderText(report) << "```\n\n";
    if (!plotted.empty()) md << "![one-way throughput](throughput.png)\n\n";
    md << "**Targets of issue 5** (ratios: median over repetitions of the per-repetition ratio)\n\n";
    md << "| state | what | measured | target |\n|---|---|---|---|\n";
    for (const TargetCheck& c : CheckTargets(report)) {
      md << "| " << StateName(c.state) << " | " << c.what << " | " << c.measured << " | "
         << c.target << " |\n";
    }
    md << "\n";
    for (const Table& table : BuildTables(report)) md << RenderMarkdown(table);
    if (!md) return absl::InternalError("writing report.md failed");
  }
  return absl::OkStatus();
}

}  // namespace buffered_pipe::bench
