#!/usr/bin/env bash
# Coverage-guided fuzzing on the stable toolchain: builds the libFuzzer targets in fuzz/
# with the instrumentation `cargo fuzz build --sanitizer none` uses (no -Z flags, so no
# nightly), with debug assertions and overflow checks on, and runs each for a fixed time.
#
#   scripts/fuzz.sh                       # every target, FUZZ_SECONDS (default 40) each
#   FUZZ_SECONDS=600 scripts/fuzz.sh wire # one target, ten minutes
#
# Each target reads fuzz/seeds/TARGET (hand-written), fuzz/corpus/TARGET (what campaigns
# kept) and fuzz/regressions/TARGET (inputs that once failed). New inputs go to a
# temporary directory, so the committed files are never written, unless FUZZ_MERGE=1:
# then fuzz/corpus/TARGET becomes the smallest set of its files and the new ones that
# reaches every code edge they reach (libFuzzer's -merge=1 with -use_counters=0), a few
# hundred small files, which is what is committed after a campaign.
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
    mkdir -p "seeds/$t" "corpus/$t" "regressions/$t" "artifacts/$t"
    found=$(mktemp -d)
    log=$(mktemp)
    inputs=$(find "corpus/$t" "seeds/$t" "regressions/$t" -type f | wc -l)
    echo "== fuzz $t for ${seconds}s ($inputs inputs to start from)"
    status=0
    "target/$triple/release/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="artifacts/$t/" \
        "$found" "corpus/$t" "seeds/$t" "regressions/$t" \
        >"$log" 2>&1 || status=$?
    grep -E '^#[0-9]+\s+DONE|^stat::number_of_executed_units|^stat::new_units_added' "$log" || true
    if [ "$status" -eq 0 ] && [ "${FUZZ_MERGE:-0}" = 1 ]; then
        merged=$(mktemp -d)
        "target/$triple/release/$t" -merge=1 -use_counters=0 "$merged" "corpus/$t" "$found" \
            >>"$log" 2>&1
        rm -rf "corpus/$t" && mv "$merged" "corpus/$t" && chmod 755 "corpus/$t"
        echo "merged: corpus/$t has $(ls "corpus/$t" | wc -l) files"
    fi
    rm -rf "$found"
    if [ "$status" -ne 0 ]; then
        tail -n 60 "$log"
        echo "fuzz $t: libFuzzer exited with $status; the input is in fuzz/artifacts/$t/"
        exit 1
    fi
    rm -f "$log"
done
