#!/usr/bin/env bash
# Times the console tools end to end on 1,000,000 lines of 100 B (plus newline).
#
#   bench/console.sh            # N=1000000 lines, REPS=3 (median reported)
#   N=100000 REPS=1 bench/console.sh
#
# Builds release binaries, generates the input deterministically into a temp dir, and per
# repetition uses a fresh data dir:
#   console-producer --topic bench --data-dir $D < lines                      (lines/s)
#   console-consumer --topic bench --from-beginning --max-messages N --data-dir $D > /dev/null
#                                                                              (records/s)
#   dd if=lines of=$D/x bs=1M                                                  (MB/s, page cache)
# Every step runs under `timeout`, and the temp dir is removed on exit.
set -euo pipefail

N=${N:-1000000}
REPS=${REPS:-3}
STEP_TIMEOUT=${STEP_TIMEOUT:-300}
cd "$(dirname "$0")/.."

cargo build --release --quiet --bin console-producer --bin console-consumer
BIN=$PWD/target/release

T=$(mktemp -d "${TMPDIR:-/tmp}/streamlog-console-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
LINES=$T/lines

# Line i: 10-digit counter + 90 letters from a rotating alphabet = 100 B, then "\n".
awk -v n="$N" 'BEGIN {
    a = "abcdefghijklmnopqrstuvwxyz"; s = a a a a a a a a;
    for (i = 0; i < n; i++) printf "%010d%s\n", i, substr(s, 1 + (i * 7) % 100, 90);
}' > "$LINES"
BYTES=$(stat -c %s "$LINES")

now() { date +%s.%N; }
# rate COUNT SECONDS
rate() { awk -v c="$1" -v s="$2" 'BEGIN { printf "%.0f", c / s }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

P_T=(); C_T=(); D_T=()
for rep in $(seq 1 "$REPS"); do
    D=$T/data-$rep
    mkdir -p "$D"

    t0=$(now)
    timeout "$STEP_TIMEOUT" "$BIN/console-producer" --topic bench --data-dir "$D" < "$LINES"
    t1=$(now)
    P_T+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")

    t0=$(now)
    timeout "$STEP_TIMEOUT" "$BIN/console-consumer" --topic bench --from-beginning \
        --max-messages "$N" --data-dir "$D" > /dev/null 2> "$T/consumer.err"
    t1=$(now)
    C_T+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
    if ! grep -q "Processed a total of $N messages" "$T/consumer.err"; then
        echo "console-consumer did not read $N records:" >&2
        cat "$T/consumer.err" >&2
        exit 1
    fi

    t0=$(now)
    timeout "$STEP_TIMEOUT" dd if="$LINES" of="$D/x" bs=1M status=none
    t1=$(now)
    D_T+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")

    rm -rf "$D"
done

p=$(printf '%s\n' "${P_T[@]}" | median)
c=$(printf '%s\n' "${C_T[@]}" | median)
d=$(printf '%s\n' "${D_T[@]}" | median)
echo
echo "console bench: $N lines of 100 B ($BYTES bytes of input), median of $REPS run(s), $(nproc) CPUs"
printf '%-18s %10s %16s %12s   %s\n' step seconds rate MB/s "runs (s)"
printf '%-18s %10.3f %11s lines/s %12.1f   %s\n' console-producer "$p" "$(rate "$N" "$p")" \
    "$(awk -v b="$BYTES" -v s="$p" 'BEGIN { print b / 1e6 / s }')" "${P_T[*]}"
printf '%-18s %10.3f %9s records/s %12.1f   %s\n' console-consumer "$c" "$(rate "$N" "$c")" \
    "$(awk -v b="$BYTES" -v s="$c" 'BEGIN { print b / 1e6 / s }')" "${C_T[*]}"
printf '%-18s %10.3f %16s %12.1f   %s\n' "dd bs=1M (ref)" "$d" "-" \
    "$(awk -v b="$BYTES" -v s="$d" 'BEGIN { print b / 1e6 / s }')" "${D_T[*]}"
