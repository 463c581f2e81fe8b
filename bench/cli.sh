#!/usr/bin/env bash
# How fast the tools answer a person at a terminal, and how fast they print records for a script.
#
#   bench/cli.sh                 # hyperfine latency + 1,000,000-record print throughput
#   N=200000 bench/cli.sh        # a smaller throughput topic
#
# 1. Latency (hyperfine, warm page cache): `topics --list`, a one-line `console-producer` and a
#    one-record `console-consumer`, each as one process start to exit; on the embedded data dir
#    and against a `server-start` serving another data dir on 127.0.0.1.
# 2. Throughput: N records of 100 B in one partition, printed by the embedded console-consumer
#    with Kafka's default formatter, with `--format '%p:%o %k %v\n'` and with `--output json`,
#    to /dev/null (records/s = N / hyperfine mean).
# Needs hyperfine (apt-get install hyperfine). Release binaries; everything in a temp dir that is
# removed on exit, the server stopped on exit.
set -euo pipefail

N=${N:-1000000}
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "bench/cli.sh needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }

cargo build --release --quiet --bins
BIN=$PWD/target/release

T=$(mktemp -d "${TMPDIR:-/tmp}/streamlog-cli-bench.XXXXXX")
SERVER=
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
export STREAMLOG_CONFIG=/nonexistent
unset STREAMLOG_DATA_DIR STREAMLOG_BOOTSTRAP_SERVER STREAMLOG_CONTEXT

E=$T/embedded
S=$T/served
"$BIN/topics" --data-dir "$E" --create --topic rt >/dev/null
echo first | "$BIN/console-producer" --data-dir "$E" --topic rt

timeout 600 "$BIN/server-start" --override "log.dirs=$S" \
    --override listeners=PLAINTEXT://127.0.0.1:0 > "$T/server.out" 2> "$T/server.err" &
SERVER=$!
for _ in $(seq 1 100); do
    grep -q 'listening on' "$T/server.out" 2>/dev/null && break
    sleep 0.1
done
PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/server.out" | head -1)
[ -n "$PORT" ] || { echo "server-start did not start: $(cat "$T/server.err")" >&2; exit 1; }
B="--bootstrap-server 127.0.0.1:$PORT"
"$BIN/topics" $B --create --topic rt >/dev/null
echo first | "$BIN/console-producer" $B --topic rt

echo x > "$T/one-line"
echo "== latency: one process, start to exit (hyperfine, warm)"
hyperfine -N --warmup 5 --min-runs 30 --export-markdown "$T/latency.md" \
    -n "topics --list (embedded)" "$BIN/topics --data-dir $E --list" \
    -n "console-producer, one line (embedded)" \
        "$BIN/console-producer --data-dir $E --topic rt --file $T/one-line" \
    -n "console-consumer, one record (embedded)" \
        "$BIN/console-consumer --data-dir $E --topic rt --from-beginning --max-messages 1" \
    -n "topics --list (server-start)" "$BIN/topics $B --list" \
    -n "console-producer, one line (server-start)" \
        "$BIN/console-producer $B --topic rt --file $T/one-line" \
    -n "console-consumer, one record (server-start)" \
        "$BIN/console-consumer $B --topic rt --from-beginning --max-messages 1" > /dev/null
cat "$T/latency.md"

echo
echo "== throughput: $N records of 100 B printed by the embedded console-consumer"
awk -v n="$N" 'BEGIN {
    a = "abcdefghijklmnopqrstuvwxyz"; s = a a a a a a a a;
    for (i = 0; i < n; i++) printf "k%09d\t%010d%s\n", i, i, substr(s, 1 + (i * 7) % 100, 90);
}' | "$BIN/console-producer" --data-dir "$E" --topic tp --property parse.key=true
C="$BIN/console-consumer --data-dir $E --topic tp --from-beginning --max-messages $N"
hyperfine -N --warmup 1 --runs 5 --export-json "$T/tp.json" \
    -n "default formatter" "$C" \
    -n "format string '%p:%o %k %v\\n'" "$C --format '%p:%o %k %v\\n'" \
    -n "output json" "$C --output json" > /dev/null
python3 - "$T/tp.json" "$N" <<'EOF'
import json, sys
runs = json.load(open(sys.argv[1]))["results"]
n = int(sys.argv[2])
print("| output | mean s | records/s |")
print("|---|---|---|")
for r in runs:
    print(f"| {r['command']} | {r['mean']:.3f} ± {r['stddev']:.3f} | {n / r['mean']:,.0f} |")
EOF
