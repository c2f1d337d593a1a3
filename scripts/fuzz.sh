#!/usr/bin/env bash
# Coverage-guided fuzzing on the stable toolchain: builds the libFuzzer targets in fuzz/
# with the instrumentation `cargo fuzz build --sanitizer none` uses (no -Z flags, so no
# nightly), with debug assertions and overflow checks on, and runs each for a fixed time.
#
#   scripts/fuzz.sh                       # every target, FUZZ_SECONDS (default 40) each
#   FUZZ_SECONDS=600 scripts/fuzz.sh wire # one target, ten minutes
#
# New inputs go to a temporary directory: the committed corpus in fuzz/corpus/TARGET is
# read, never written (merge what a long campaign found with `-merge=1`, see the README).
# A crash, a timeout (10 s) or more than 2 GB of memory stops the run with libFuzzer's
# report and the input in fuzz/artifacts/TARGET/, and the script fails.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${FUZZ_SECONDS:-40}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(scenario wire connection)
triple=$(rustc -vV | sed -n 's/^host: //p')

# cargo-fuzz's flags for `--sanitizer none` (src/project.rs), plus the checks it enables.
# --target keeps them off build scripts and proc macros, as cargo fuzz does.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cllvm-args=-simplifycfg-branch-fold-threshold=0 \
--cfg fuzzing -Cdebug-assertions -Coverflow-checks"
cargo build --release --locked --target "$triple" --bins

for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    found=$(mktemp -d)
    log=$(mktemp)
    echo "== fuzz $t for ${seconds}s (corpus: $(ls "corpus/$t" | wc -l) files)"
    status=0
    "target/$triple/release/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="artifacts/$t/" "$found" "corpus/$t" \
        >"$log" 2>&1 || status=$?
    grep -E '^#[0-9]+\s+DONE|^stat::number_of_executed_units|^stat::new_units_added' "$log" || true
    rm -rf "$found"
    if [ "$status" -ne 0 ]; then
        tail -n 60 "$log"
        echo "fuzz $t: libFuzzer exited with $status; the input is in fuzz/artifacts/$t/"
        exit 1
    fi
    rm -f "$log"
done
