#!/usr/bin/env bash
# Coverage-guided fuzzing of edge-oauth's pure parsers and handler (cargo-fuzz, libFuzzer).
#
#   fuzz/run.sh [SECONDS] [TARGET...]      default: 60 seconds each, every target
#
# Needs the nightly toolchain (`cargo +nightly fuzz ...`) and `cargo install cargo-fuzz`.
# Targets run one after another, each as exactly one fuzzing process (-jobs=1 -workers=1):
# the machine is shared. Committed seeds (fuzz/seeds/<target>/) are copied into the
# gitignored corpus (fuzz/corpus/<target>/) first; crashes land in fuzz/artifacts/<target>/
# and each run's output in fuzz/logs/<target>.log.
#
# Reproduce a crash:  cargo +nightly fuzz run <target> fuzz/artifacts/<target>/crash-...
# Minimise it:        cargo +nightly fuzz tmin <target> fuzz/artifacts/<target>/crash-...
set -uo pipefail
cd "$(dirname "$0")"

SECS=${1:-60}
shift || true
if [ $# -gt 0 ]; then
    TARGETS=("$@")
else
    mapfile -t TARGETS < <(cargo +nightly fuzz list)
fi
# Building is polite too: one compiler process unless told otherwise.
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}

echo "building ${TARGETS[*]} (nightly, cargo-fuzz $(cargo fuzz --version 2>/dev/null | awk '{print $2}'))"
for t in "${TARGETS[@]}"; do
    cargo +nightly fuzz build "$t" >/dev/null 2>logs.build || { cat logs.build; echo "build of $t failed"; exit 2; }
done
rm -f logs.build

mkdir -p logs
declare -a SUMMARY
status=0
for t in "${TARGETS[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    [ -d "seeds/$t" ] && cp -n "seeds/$t"/* "corpus/$t"/ 2>/dev/null
    before=$(ls "artifacts/$t" | sort)
    log="logs/$t.log"
    echo "== $t: ${SECS}s, corpus $(ls "corpus/$t" | wc -l) inputs"
    rm -f fuzz-0.log
    start=$(date +%s)
    # With -jobs, libFuzzer runs the fuzzing in one child process whose output goes to
    # ./fuzz-0.log, and prints that log itself when the job ends.
    cargo +nightly fuzz run "$t" "corpus/$t" -- \
        -max_total_time="$SECS" -print_final_stats=1 -jobs=1 -workers=1 -timeout=10 \
        >"$log" 2>&1
    rc=$?
    end=$(date +%s)
    rm -f fuzz-0.log
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s+=$2} END {print s+0}')
    new=$(comm -13 <(echo "$before") <(ls "artifacts/$t" | sort) | grep -v '^$' || true)
    if [ $rc -eq 0 ] && [ -z "$new" ] && ! grep -qE '==ERROR|panicked at|deadly signal|SUMMARY: libFuzzer' "$log"; then
        verdict="clean"
    else
        verdict="FAILED (rc=$rc)"
        status=1
        grep -m3 -E 'panicked at|==ERROR|SUMMARY' "$log" | sed 's/^/    /'
        for a in $new; do echo "    artifact: fuzz/artifacts/$t/$a"; done
    fi
    line=$(printf '%-14s %12s execs  %5ss  corpus %-6s %s' "$t" "$execs" "$((end - start))" "$(ls "corpus/$t" | wc -l)" "$verdict")
    echo "$line"
    SUMMARY+=("$line")
done

echo
echo "== summary (${SECS}s per target)"
printf '%s\n' "${SUMMARY[@]}"
exit $status
