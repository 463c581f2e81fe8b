#!/usr/bin/env bash
# One recorded long run of a fuzz target (docs/reliability.md, "Fuzzing"): RUNS executions
# (default 10 million), or SECONDS if given and reached first, at the lowest CPU priority, from the committed seeds plus the local
# working corpus; the log goes to corpus/<target>.long.log. The last lines are libFuzzer's
# final stats: executions, exec/s, peak RSS, corpus size.
#   fuzz/long-run.sh request [RUNS [SECONDS]]
set -euo pipefail
cd "$(dirname "$0")"
target=$1
runs=${2:-10000000}
cap=()
[[ -n ${3:-} ]] && cap=(-max_total_time="$3")
mkdir -p "corpus/$target"
cargo +nightly fuzz build --debug-assertions "$target"
start=$(date +%s)
status=0
nice -n 19 cargo +nightly fuzz run --debug-assertions "$target" "corpus/$target" "seeds/$target" -- \
    -runs="$runs" "${cap[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=32768 -print_final_stats=1 \
    > "corpus/$target.long.log" 2>&1 || status=$?
echo "$target: exit $status after $(( $(date +%s) - start )) s" | tee -a "corpus/$target.long.log"
grep -v -e ' NEW ' -e ' REDUCE ' "corpus/$target.long.log" | tail -n 25
exit "$status"
