#!/usr/bin/env bash
# Many partitions: what a 1,000-partition topic costs to create and to consume in a group.
#
#   bench/partitions.sh                 # P=1000 partitions, N=100000 records, REPS=3 (median)
#   P=2000 REPS=1 bench/partitions.sh
#   KAFKA=0 bench/partitions.sh         # skip the Kafka 4.4 broker (no Java)
#
# In one run, each repetition on fresh data dirs:
#   create   topics --create --partitions P                   embedded data dir
#   create   topics --create --partitions P                   through server-start
#   create   Kafka's TopicCommand --create --partitions P     Kafka 4.4 broker (tests/kafka-ref)
#   consume  console-consumer --topic T --from-beginning --max-messages N              (no group)
#   consume  console-consumer --topic T --group G --from-beginning --max-messages N    (a group)
# The consumed topic holds N keyed records of 100 B spread over its P partitions, written
# once by console-producer. The issue's targets: creating no slower than Kafka, consuming in
# a group within 1.5x of consuming without one. Every step runs under `timeout`; temp dirs
# and brokers are removed on exit.
set -euo pipefail

P=${P:-1000}
N=${N:-100000}
REPS=${REPS:-3}
KAFKA=${KAFKA:-1}
STEP_TIMEOUT=${STEP_TIMEOUT:-300}
cd "$(dirname "$0")/.."
repo=$PWD

cargo build --release --quiet --bins
BIN=$repo/target/release

T=$(mktemp -d "${TMPDIR:-/tmp}/streamlog-partitions-bench.XXXXXX")
bpid=
kdir=
cleanup() {
    [[ -n $bpid ]] && kill -TERM "$bpid" 2>/dev/null && wait "$bpid" 2>/dev/null || true
    [[ -n $kdir ]] && "$repo/tests/kafka-ref/kafka.sh" broker-stop "$kdir" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
run() { timeout "$STEP_TIMEOUT" "$@"; }

# Keyed lines: key i, then a value padding the record to about 100 B.
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "key-%07d\t%089d\n", i, i }' > "$T/lines"

EMB=(); SRV=(); KAF=(); NOGROUP=(); GROUP=()
for rep in $(seq 1 "$REPS"); do
    # Creation in an embedded data dir.
    d=$T/emb-$rep
    t0=$(now)
    run "$BIN/topics" --data-dir "$d" --create --topic many --partitions "$P" >/dev/null
    EMB+=("$(since "$t0")")

    # Creation through server-start.
    port=$(free_port)
    "$BIN/server-start" --override "log.dirs=$T/srv-$rep" \
        --override "listeners=PLAINTEXT://127.0.0.1:$port" >"$T/srv.out" 2>"$T/srv.err" &
    bpid=$!
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
    t0=$(now)
    run "$BIN/topics" --bootstrap-server "127.0.0.1:$port" --create --topic many --partitions "$P" >/dev/null
    SRV+=("$(since "$t0")")
    kill -TERM "$bpid"; wait "$bpid" || true; bpid=

    # Creation on Apache Kafka 4.4.
    if [[ $KAFKA == 1 ]]; then
        kport=$(free_port)
        kdir=$T/kafka-$rep
        CONTROLLER_PORT=$(free_port) run "$repo/tests/kafka-ref/kafka.sh" broker-start "$kport" "$kdir" >/dev/null
        t0=$(now)
        run "$repo/tests/kafka-ref/kafka.sh" run org.apache.kafka.tools.TopicCommand \
            --bootstrap-server "127.0.0.1:$kport" --create --topic many --partitions "$P" \
            --replication-factor 1 >/dev/null
        KAF+=("$(since "$t0")")
        "$repo/tests/kafka-ref/kafka.sh" broker-stop "$kdir" >/dev/null 2>&1 || true
        kdir=
    fi

    # Consuming P partitions, without and with a group, from the embedded data dir.
    run "$BIN/console-producer" --data-dir "$d" --topic many --property parse.key=true < "$T/lines"
    t0=$(now)
    run "$BIN/console-consumer" --data-dir "$d" --topic many --from-beginning \
        --max-messages "$N" >/dev/null 2>"$T/c.err"
    NOGROUP+=("$(since "$t0")")
    grep -q "Processed a total of $N messages" "$T/c.err" || { cat "$T/c.err" >&2; exit 1; }
    t0=$(now)
    run "$BIN/console-consumer" --data-dir "$d" --topic many --group "g$rep" --from-beginning \
        --max-messages "$N" >/dev/null 2>"$T/c.err"
    GROUP+=("$(since "$t0")")
    grep -q "Processed a total of $N messages" "$T/c.err" || { cat "$T/c.err" >&2; exit 1; }
    rm -rf "$d" "$T/srv-$rep"
done

m() { printf '%s\n' "$@" | median; }
echo
echo "partitions bench: P=$P partitions, N=$N records, median of $REPS run(s), $(nproc) CPUs"
printf '%-52s %9s   %s\n' step seconds "runs (s)"
printf '%-52s %9s   %s\n' "create, embedded (topics --create)" "$(m "${EMB[@]}")" "${EMB[*]}"
printf '%-52s %9s   %s\n' "create, through server-start (topics --create)" "$(m "${SRV[@]}")" "${SRV[*]}"
if [[ $KAFKA == 1 ]]; then
    printf '%-52s %9s   %s\n' "create, Kafka 4.4 (TopicCommand --create)" "$(m "${KAF[@]}")" "${KAF[*]}"
fi
printf '%-52s %9s   %s\n' "consume N, embedded, no group" "$(m "${NOGROUP[@]}")" "${NOGROUP[*]}"
printf '%-52s %9s   %s\n' "consume N, embedded, --group" "$(m "${GROUP[@]}")" "${GROUP[*]}"
awk -v g="$(m "${GROUP[@]}")" -v n="$(m "${NOGROUP[@]}")" \
    'BEGIN { printf "group / no group: %.2fx (target <= 1.5x)\n", g / n }'
