#!/usr/bin/env bash
# Publishes one run of //benchmarks:compare: copies its report, CSVs and
# chart into benchmarks/results/, pastes its report.md into
# benchmarks/README.md between the RESULTS markers and its head into the top
# README between the BENCHMARK SUMMARY markers, so that no number in a
# README is typed by hand.
#
#   bazel run //benchmarks:compare -- --out=/tmp/bp_run
#   bash benchmarks/publish_results.sh /tmp/bp_run
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="${1:?usage: publish_results.sh RUN_DIR}"
DEST="$ROOT/benchmarks/results"
README="$ROOT/benchmarks/README.md"

for f in report.md results.csv summary.csv throughput.png; do
  [[ -f "$SRC/$f" ]] || { echo "publish_results: $SRC/$f is missing" >&2; exit 1; }
done
mkdir -p "$DEST"
cp "$SRC"/report.md "$SRC"/results.csv "$SRC"/summary.csv "$SRC"/throughput.png "$DEST/"

grep -q '<!-- BEGIN RESULTS' "$README" || { echo "publish_results: no RESULTS markers in $README" >&2; exit 1; }
awk -v report="$DEST/report.md" '
  /<!-- BEGIN RESULTS/ {
    print
    while ((getline line < report) > 0) {
      gsub(/\(throughput\.png\)/, "(results/throughput.png)", line)
      print line
    }
    skip = 1
    next
  }
  /<!-- END RESULTS/ { skip = 0 }
  !skip { print }
' "$README" > "$README.tmp"
mv "$README.tmp" "$README"
# The top README carries the head of the report: header, chart, targets,
# repetitions and the one-way tables (everything before the typed sends).
TOP="$ROOT/README.md"
if grep -q '<!-- BEGIN BENCHMARK SUMMARY' "$TOP"; then
  awk -v report="$DEST/report.md" '
    /<!-- BEGIN BENCHMARK SUMMARY/ {
      print
      while ((getline line < report) > 0) {
        if (line ~ /^\*\*Typed sends/) break
        gsub(/\(throughput\.png\)/, "(benchmarks/results/throughput.png)", line)
        print line
      }
      skip = 1
      next
    }
    /<!-- END BENCHMARK SUMMARY/ { skip = 0 }
    !skip { print }
  ' "$TOP" > "$TOP.tmp"
  mv "$TOP.tmp" "$TOP"
fi
echo "publish_results: $DEST updated, README results sections replaced"
