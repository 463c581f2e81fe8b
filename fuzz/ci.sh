#!/usr/bin/env bash
# A short bounded run of every fuzz target (called from .ci/run): builds the targets once, then
# runs each for FUZZ_SECONDS (default 20) from its committed seeds, failing on a crash, a hang
# (-timeout) or memory past -rss_limit_mb. Prints "fuzz: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
secs=${FUZZ_SECONDS:-20}

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz: a nightly toolchain is needed (rustup toolchain install nightly)" >&2
    exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz"
    cargo install --locked cargo-fuzz || exit 1
fi

# The flags of the recorded long runs (docs/reliability.md, "Fuzzing"): ASan, debug assertions
# (so arithmetic overflow panics), release optimisation. The fuzz crate builds streamlog without
# its remote feature, so neither librdkafka nor OpenSSL is compiled.
build=(+nightly fuzz build --debug-assertions)
start=$(date +%s)
cargo "${build[@]}" || { echo "fuzz: 0 passed, 1 failed"; exit 1; }
echo "fuzz: targets built in $(( $(date +%s) - start )) s"

passed=0
failed=0
for target in request log_recovery record_batch console_producer properties; do
    mkdir -p "corpus/$target"
    # Per input: request and log_recovery do file work on a scratch dir, the rest is in memory.
    if cargo +nightly fuzz run --debug-assertions "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=32768 \
        -print_final_stats=1 2>"corpus/$target.log"; then
        passed=$((passed + 1))
        grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "corpus/$target.log" |
            sed "s/^/fuzz: $target /"
    else
        failed=$((failed + 1))
        tail -n 60 "corpus/$target.log"
        echo "FAIL fuzz $target: the crashing input is under fuzz/artifacts/$target/; replay it with cargo +nightly fuzz run --debug-assertions $target <file>"
    fi
done
echo "fuzz: $passed passed, $failed failed"
[[ $failed == 0 ]]
