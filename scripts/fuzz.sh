#!/usr/bin/env bash
# Builds the libFuzzer targets (preset fuzz: clang, ASan + UBSan) and runs each
# one, niced, starting from its committed corpus (tests/fuzz/corpus/<target>).
#   scripts/fuzz.sh [--time SECONDS | --runs N | --report] [--jobs J] [TARGET...]
# --time: seconds per target (default 60), resuming from the corpus earlier runs
# grew in build/fuzz/runs/<target>/corpus; --runs: a fixed number of inputs per
# target from the committed corpus only, with a fixed seed (CI); --jobs: targets
# run at once (default 1); --report: only print the table of the last runs.
# A run fails on a crash, a hang (-timeout: 10 s of wall time, as niced runs on a
# shared machine can wait seconds for a core; inputs slower than 1 s are listed
# as "Slowest unit" in the log, to be re-timed alone), more than 2 GB resident or
# one allocation over 256 MB (-malloc_limit_mb); the input is saved under
# build/fuzz/findings/<target>/. Prints executions, coverage (edges, features)
# and findings per target; exits non-zero if anything was found.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=(-max_total_time=60)
fresh=0
report_only=0
jobs=1
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --time) limit=(-max_total_time="$2"); shift 2 ;;
    --runs) limit=(-runs="$2" -seed=1); fresh=1; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --report) report_only=1; shift ;;
    -h|--help) sed -n 2,10p "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(gguf llama2c spm_tokenizer bpe_tokenizer wpm_tokenizer sampler server_request chat_template)

out=build/fuzz/runs
if [ "$report_only" = 0 ]; then
  scripts/setup.sh
  scripts/setup.sh --fuzz
  cmake --preset fuzz >/dev/null
  nice -n 19 cmake --build --preset fuzz >/dev/null
  mkdir -p "$out"
  run_one() {
    local t="$1" dict=() work="$out/$1/corpus" findings="build/fuzz/findings/$1/"
    rm -f "$out/$t.log"
    [ "$fresh" = 1 ] && rm -rf "${out:?}/$t"
    mkdir -p "$work" "$findings"
    [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
    # New inputs go to the scratch corpus (the first directory); the committed one is only read.
    nice -n 19 "build/fuzz/tests/fuzz/fuzz_$t" "${limit[@]}" "${dict[@]}" -timeout=10 -report_slow_units=1 -rss_limit_mb=2048 \
      -malloc_limit_mb=256 -print_final_stats=1 -artifact_prefix="$findings" \
      "$work" "tests/fuzz/corpus/$t" >"$out/$t.log" 2>&1 || true
    times >"$out/$t.time"  # 2nd line: CPU time of this shell's children (the fuzzer), "0m1.5s 0m0.2s"
  }
  export -f run_one
  export out fresh limit_str="${limit[*]}"
  printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'limit=($limit_str); run_one {}'
fi

status=0
printf '| target | CPU seconds | executions | coverage (edges) | features | corpus | findings |\n|---|---:|---:|---:|---:|---:|---|\n'
for t in "${targets[@]}"; do
  log="$out/$t.log"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 || true)
  # Interrupted runs print no final stats: their last status line has the count.
  [ -z "$execs" ] && execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1 || true)
  found=none
  findings=() slow=0 slowest=0
  for a in $(grep -oE 'Test unit written to [^ ]+' "$log" | sed 's/Test unit written to //' || true); do
    if [[ "$(basename "$a")" == slow-unit-* ]]; then
      # Slow while niced on a busy machine; a hang only if it is slow alone too.
      ms=$("build/fuzz/tests/fuzz/fuzz_$t" -runs=1 "$a" 2>&1 | sed -n 's/^Executed .* in \([0-9]*\) ms$/\1/p' || true)
      slow=$((slow + 1))
      [ "${ms:-0}" -gt "$slowest" ] && slowest=${ms:-0}
      [ "${ms:-0}" -gt 1000 ] && findings+=("hang ${ms} ms: $a")
    else
      findings+=("$a")
    fi
  done
  [ ${#findings[@]} -gt 0 ] && found="${findings[*]}" && status=1
  [ "$slow" -gt 0 ] && found="$found ($slow slow only under load: ${slowest} ms alone at most)"
  [ -z "$execs" ] && { found="did not run (see $log)"; status=1; }
  cpu=$(tail -n 1 "$out/$t.time" 2>/dev/null | sed 's/m/ /g; s/s//g'  | awk '{printf "%.0f", 60 * ($1 + $3) + $2 + $4}' || true)
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$t" "${cpu:-?}" "${execs:-?}" "$(echo "$cov" | awk '{print $2}')" \
    "$(echo "$cov" | awk '{print $4}')" "$(echo "$cov" | awk '{print $6}')" "$found"
done
exit $status
