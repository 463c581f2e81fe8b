#!/usr/bin/env bash
# streamlog's tools in remote mode against one reference Apache Kafka 4.4 broker, side by side
# with kcat and Kafka's own console tools, on the same broker and the same input.
#
#   bench/remote.sh                  # N=1000000 lines of 100 B, REPS=3 (median reported)
#   N=100000 REPS=1 bench/remote.sh  # quick run
#
# Starts kafka.Kafka (KRaft, single node, via tests/kafka-ref/kafka.sh broker-start) on a free
# port in a temp dir, warms it up with one untimed round of N records, then per repetition and
# per tool, in an order rotated each repetition (wall time, including each tool's start):
#   produce:  N lines of 100 B from a file into a fresh 1-partition topic
#             streamlog: console-producer --bootstrap-server B --topic T < lines
#             kcat:      kcat -P -b B -t T -l lines
#             Kafka:     ConsoleProducer --bootstrap-server B --topic T < lines
#   consume:  the N records from the beginning of one topic to /dev/null (count checked)
#             streamlog: console-consumer --bootstrap-server B --topic T --from-beginning --max-messages N
#             kcat:      kcat -C -b B -t T -o beginning -c N -q
#             Kafka:     ConsoleConsumer --bootstrap-server B --topic T --from-beginning --max-messages N
#   list:     topics --bootstrap-server B --list vs TopicCommand --bootstrap-server B --list
# Producers use each tool's defaults (acks: streamlog and Kafka's console producer -1, kcat's
# librdkafka default -1). Every step is under `timeout`; the broker and temp dir go on exit.
set -euo pipefail

N=${N:-1000000}
REPS=${REPS:-3}
STEP_TIMEOUT=${STEP_TIMEOUT:-300}
cd "$(dirname "$0")/.."
REPO=$PWD
KAFKA_SH=$REPO/tests/kafka-ref/kafka.sh

if [[ -z ${NO_BUILD:-} ]]; then
    cargo build --release --quiet --bin topics --bin console-producer --bin console-consumer
fi
BIN=$REPO/target/release
command -v kcat >/dev/null || { echo "remote.sh: kcat not found (apt-get install kcat)" >&2; exit 1; }
"$KAFKA_SH" fetch >/dev/null

T=$(mktemp -d "${TMPDIR:-/tmp}/streamlog-remote-bench.XXXXXX")
cleanup() {
    "$KAFKA_SH" broker-stop "$T/kafka" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
CONTROLLER_PORT=$(free_port) "$KAFKA_SH" broker-start "$PORT" "$T/kafka" >/dev/null
B=127.0.0.1:$PORT

LINES=$T/lines
# Line i: 10-digit counter + 90 letters = 100 B, then "\n" (the input bench/console.sh uses).
awk -v n="$N" 'BEGIN {
    a = "abcdefghijklmnopqrstuvwxyz"; s = a a a a a a a a;
    for (i = 0; i < n; i++) printf "%010d%s\n", i, substr(s, 1 + (i * 7) % 100, 90);
}' >"$LINES"

now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", b - a }'; }

# timed NAME CMD...: runs CMD under timeout, appends its wall seconds to $T/NAME.times.
timed() {
    local name=$1 t0 t1
    shift
    t0=$(now)
    if ! timeout "$STEP_TIMEOUT" "$@"; then
        echo "remote.sh: $name failed: $*" >&2
        exit 1
    fi
    t1=$(now)
    secs "$t0" "$t1" >>"$T/$name.times"
}

create() {
    timeout 120 "$KAFKA_SH" run org.apache.kafka.tools.TopicCommand --bootstrap-server "$B" \
        --create --topic "$1" --partitions 1 --replication-factor 1 >/dev/null
}

count_to() { # count_to FILE: counts stdin lines into FILE
    wc -l >"$1"
}

# The broker's JIT warms up on the first million records: a round nobody is timed on.
create warm-up
kcat -P -b "$B" -t warm-up -l "$LINES"
kcat -C -b "$B" -t warm-up -o beginning -c "$N" -q >/dev/null

# order REP: the three tools, rotated each repetition, so that none always goes first.
order() {
    local tools=(streamlog kcat kafka) i
    for i in 0 1 2; do printf '%s ' "${tools[$(((i + $1) % 3))]}"; done
}

for rep in $(seq 1 "$REPS"); do
    for tool in $(order "$rep"); do
        topic=p-$tool-$rep
        create "$topic"
        case $tool in
            streamlog) timed "produce-$tool" "$BIN/console-producer" --bootstrap-server "$B" --topic "$topic" <"$LINES" ;;
            kcat) timed "produce-$tool" kcat -P -b "$B" -t "$topic" -l "$LINES" ;;
            kafka) timed "produce-$tool" "$KAFKA_SH" run org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$B" --topic "$topic" <"$LINES" ;;
        esac
    done
    # Every tool reads the same topic (the one streamlog's producer wrote this repetition).
    src=p-streamlog-$rep
    for tool in $(order "$rep"); do
        out=$T/consumed-$tool
        case $tool in
            streamlog) timed "consume-$tool" bash -c '"$0" --bootstrap-server "$1" --topic "$2" --from-beginning --max-messages "$3" | wc -l >"$4"' \
                "$BIN/console-consumer" "$B" "$src" "$N" "$out" ;;
            kcat) timed "consume-$tool" bash -c 'kcat -C -b "$0" -t "$1" -o beginning -c "$2" -q | wc -l >"$3"' "$B" "$src" "$N" "$out" ;;
            kafka) timed "consume-$tool" bash -c '"$0" run org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$1" --topic "$2" --from-beginning --max-messages "$3" 2>/dev/null | wc -l >"$4"' \
                "$KAFKA_SH" "$B" "$src" "$N" "$out" ;;
        esac
        got=$(tr -d ' ' <"$out")
        [[ $got == "$N" ]] || { echo "remote.sh: $tool consumed $got of $N records" >&2; exit 1; }
    done
    timed list-streamlog bash -c '"$0" --bootstrap-server "$1" --list >/dev/null' "$BIN/topics" "$B"
    timed list-kafka bash -c '"$0" run org.apache.kafka.tools.TopicCommand --bootstrap-server "$1" --list >/dev/null' "$KAFKA_SH" "$B"
done

med() { median <"$T/$1.times"; }
rate() { awk -v n="$N" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# pair_ratios STEP: kcat's time / streamlog's per repetition: "median× (min×–max×)".
pair_ratios() {
    paste "$T/$1-kcat.times" "$T/$1-streamlog.times" | awk '{ printf "%.3f\n", $1 / $2 }' | sort -g |
        awk '{ v[NR] = $1 } END { printf "%.2f× (%.2f×–%.2f×)", v[int((NR + 1) / 2)], v[1], v[NR] }'
}

ps_=$(med produce-streamlog) pk=$(med produce-kcat) pj=$(med produce-kafka)
cs=$(med consume-streamlog) ck=$(med consume-kcat) cj=$(med consume-kafka)
ls_=$(med list-streamlog) lj=$(med list-kafka)

cat <<EOF

## Remote tools vs kcat and Kafka's console tools ($N lines of 100 B, median of $REPS)

$(nproc) CPUs, $(uname -r); streamlog $(git -C "$REPO" rev-parse --short HEAD); kcat $(kcat -V 2>&1 | grep -o 'Version [0-9.]*' | head -1 | cut -d' ' -f2) with $(kcat -V 2>&1 | grep -o 'librdkafka [0-9.]*' | head -1); Kafka 4.4.0 broker and tools (JVM start included, as a user types them).

| | streamlog | kcat | Kafka tool | streamlog / kcat | streamlog / Kafka |
|---|---:|---:|---:|---:|---:|
| produce, s | $ps_ | $pk | $pj | | |
| produce, lines/s | $(rate "$ps_") | $(rate "$pk") | $(rate "$pj") | $(ratio "$pk" "$ps_")× | $(ratio "$pj" "$ps_")× |
| consume, s | $cs | $ck | $cj | | |
| consume, records/s | $(rate "$cs") | $(rate "$ck") | $(rate "$cj") | $(ratio "$ck" "$cs")× | $(ratio "$cj" "$cs")× |
| topics --list, s | $ls_ | – | $lj | | $(ratio "$ls_" "$lj") of the time |

Rate against kcat within each repetition (kcat's time / streamlog's, the same broker moments):
produce median $(pair_ratios produce), consume median $(pair_ratios consume).

Every run, seconds:
$(for f in "$T"/*.times; do printf -- '- %s: %s\n' "$(basename "$f" .times)" "$(tr '\n' ' ' <"$f")"; done)
EOF
