// Turning results into tables, per-repetition ratios, the targets,
// a CSV, a Markdown report and a PNG chart (gnuplot).
//
// Every ratio is computed inside one repetition (the two transports ran
// seconds apart, on the same pair of CPUs) and the median of those ratios
// is reported: on a VM whose two CPUs are sometimes "near" and sometimes
// "far" on the host, absolute numbers of different repetitions are not
// comparable, ratios within one are. Each repetition's cache-line round trip
// is printed beside its results so the reader can see which it was.

#ifndef BUFFERED_PIPE_BENCHMARKS_REPORT_H_
#define BUFFERED_PIPE_BENCHMARKS_REPORT_H_

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "benchmarks/runner.h"
#include "benchmarks/transport.h"

namespace buffered_pipe::bench {

struct MachineInfo {
  std::string date;    // local time at the start, ISO 8601
  std::string cpu;     // model name, count, virtual or not
  std::string kernel;  // uname -sr
  std::string memory;
};
MachineInfo DescribeMachine();
// "0.52 0.61 0.58" (/proc/loadavg, 1/5/15 minutes).
std::string LoadAverage();

struct RepInfo {
  int rep = 0;
  double cache_line_before_ns = 0;  // median cache-line round trip at its start
  double cache_line_after_ns = 0;   // ... and at its end
  std::string load;                 // load average at its start
};

struct Report {
  MachineInfo machine;
  std::string command;
  std::string source;  // the git commit measured, "+ local changes" if the tree differs
  std::string load_start, load_end;
  std::size_t budget = 0;
  double run_seconds = 0;
  std::vector<Traits> transports;  // table order (those that ran)
  std::vector<std::string> built;  // every transport of this build (registry.h)
  std::vector<RepInfo> reps;
  std::vector<Result> results;
  std::vector<std::string> notes;  // printed under the header
};

struct Table {
  std::string title;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::string note;  // printed under the table
};

std::vector<Table> BuildTables(const Report& report);

struct TargetCheck {
  enum State { kMet, kMissed, kNotMeasured };
  State state = kNotMeasured;
  std::string what;      // "bp_generic vs bare_ring, one-way 64 B"
  std::string target;    // ">= 1.0x"
  std::string measured;  // "0.52x (per repetition 0.45-0.61)"
};
std::vector<TargetCheck> CheckTargets(const Report& report);

std::string RenderText(const Table& table);
std::string RenderMarkdown(const Table& table);

// Header, tables and targets as text.
void PrintReport(const Report& report, std::FILE* out);
// results.csv (every run), summary.csv (medians and ratios), report.md,
// throughput.png (if gnuplot is installed; `chart_note` says what happened).
absl::Status WriteFiles(const Report& report, const std::string& directory,
                        std::string* chart_note);

}  // namespace buffered_pipe::bench

#endif  // BUFFERED_PIPE_BENCHMARKS_REPORT_H_
