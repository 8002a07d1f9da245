#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR: first over its seed corpus (fuzz/corpus/<name>),
# then for SECONDS of new inputs in a scratch copy of that corpus. Any crash, leak or
# sanitizer report fails the run. Usage: scripts/run-fuzzers.sh BUILD_DIR [SECONDS]
set -uo pipefail
build=${1:?usage: run-fuzzers.sh BUILD_DIR [SECONDS]}
secs=${2:-15}
root=$(cd "$(dirname "$0")/.." && pwd)
# Targets that read the real samples find them through tests/vectors.h from here.
export GTEE_SOURCE_DIR=${GTEE_SOURCE_DIR:-$root}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$build/fuzz-artifacts"
passed=0 failed=0
for bin in "$build"/fuzz_*; do
  [[ -x $bin && -f $bin ]] || continue
  name=$(basename "$bin")
  seeds="$root/fuzz/corpus/$name"
  work="$scratch/$name"
  mkdir -p "$work"
  [[ -d $seeds ]] && cp -r "$seeds"/. "$work"/
  log="$build/fuzz-artifacts/$name.log"
  if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$build/fuzz-artifacts/$name-" "$work" >"$log" 2>&1; then
    execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
    echo "fuzz: $name clean (${execs:-?} inputs in ${secs}s)"
    passed=$((passed + 1))
  else
    echo "fuzz: $name FAILED; last lines of $log:"
    tail -25 "$log"
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
[[ $failed == 0 && $passed -gt 0 ]]
