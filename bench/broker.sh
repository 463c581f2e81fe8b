#!/usr/bin/env bash
# streamlog's broker (target/release/server-start) against the reference Apache Kafka broker
# (kafka.Kafka, single-node KRaft, via tests/kafka-ref/kafka.sh), driven by the same Java tools
# with the same client settings.
#
#   bench/broker.sh                          # full run (a few minutes per broker)
#   QUICK=1 bench/broker.sh                  # smoke run with small counts
#   RECORDS_100B=500000 RECORDS_1K=100000 BROKERS=streamlog bench/broker.sh
#
# For each broker, one after the other (never both at once: they would share the 2 cores),
# on 127.0.0.1, a free port and a fresh temp data dir:
#   1. first Metadata: bench/first-metadata.py polls from the moment the broker process starts
#      (Kafka's storage format step, a separate process before it, is not counted)
#   (a WARMUP produce, not measured, runs before step 3)
#   2. RSS: VmRSS after start (+IDLE_SETTLE s, before any load) and VmHWM after all the load
#   3. ProducerPerformance, 100 B and 1 KiB records, acks=1 and acks=all, --throughput -1,
#      client defaults otherwise (batch.size, linger.ms, compression: identical for both)
#   4. EndToEndLatency, E2E_RECORDS records of E2E_SIZE B, acks=1
#   5. ConsumerPerformance from the beginning of the acks=1 topics of step 3
#   6. broker CPU (utime+stime of the broker process) around each produce and consume phase
# Topics are created with Kafka's TopicCommand on both brokers: PARTITIONS partitions (default
# 1) for the produce/consume topics, 1 for the latency topic, replication factor 1. Both brokers
# keep their default flush policy: appends go to the page cache, no fsync per message. Both run
# with group.initial.rebalance.delay.ms=0 (kafka.sh's server.properties sets it, as Kafka's own
# config/server.properties does; server-start gets it as an override).
#
# Prints a Markdown table (ratio = streamlog / Kafka) and the dir holding every tool's raw
# output. Every step runs under `timeout`; brokers are stopped and data dirs removed on exit.
#
# Environment:
#   QUICK=1              small counts (RECORDS_100B=50000 RECORDS_1K=20000 E2E_RECORDS=1000)
#   RECORDS_100B         records for the 100 B produce runs and consume run (default 2000000)
#   RECORDS_1K           records for the 1 KiB produce runs and consume run (default 500000)
#   WARMUP               100 B records produced (auto-created topic) before measuring, to warm
#                        the JIT (default 500000; 0: none)
#   E2E_RECORDS          EndToEndLatency records (default 10000); E2E_SIZE bytes (default 100)
#   PARTITIONS           partitions of the produce/consume topics (default 1)
#   BROKERS              which brokers, in order (default "streamlog kafka")
#   KAFKA_BROKER_JAVA_OPTS  JVM options of the reference broker (default -Xmx1g)
#   CLIENT_JAVA_OPTS     JVM options of the Java tools (default -Xmx512m, as kafka-*-perf-test.sh)
#   STEP_TIMEOUT         seconds per step (default 600); IDLE_SETTLE seconds (default 5)
#   NO_BUILD=1           do not run cargo build
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

if [[ -n ${QUICK:-} ]]; then
    : "${RECORDS_100B:=50000}" "${RECORDS_1K:=20000}" "${E2E_RECORDS:=1000}" "${IDLE_SETTLE:=1}"
    : "${WARMUP:=10000}"
fi
RECORDS_100B=${RECORDS_100B:-2000000}
RECORDS_1K=${RECORDS_1K:-500000}
E2E_RECORDS=${E2E_RECORDS:-10000}
E2E_SIZE=${E2E_SIZE:-100}
WARMUP=${WARMUP:-500000}
PARTITIONS=${PARTITIONS:-1}
BROKERS=${BROKERS:-streamlog kafka}
KAFKA_BROKER_JAVA_OPTS=${KAFKA_BROKER_JAVA_OPTS:--Xmx1g}
CLIENT_JAVA_OPTS=${CLIENT_JAVA_OPTS:--Xmx512m}
STEP_TIMEOUT=${STEP_TIMEOUT:-600}
IDLE_SETTLE=${IDLE_SETTLE:-5}

KAFKA_SH=$REPO/tests/kafka-ref/kafka.sh
SERVER_START=$REPO/target/release/server-start
PROBE=$REPO/bench/first-metadata.py
CLK_TCK=$(getconf CLK_TCK)

log() { printf '[broker.sh %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

if [[ -z ${NO_BUILD:-} ]]; then
    log "cargo build --release --bin server-start"
    cargo build --release --quiet --bin server-start
fi
[[ -x $SERVER_START ]] || { echo "broker.sh: $SERVER_START is not built" >&2; exit 1; }
"$KAFKA_SH" fetch >/dev/null

RAW=$(mktemp -d "${TMPDIR:-/tmp}/streamlog-broker-bench.XXXXXX")

# --- state for cleanup ------------------------------------------------------------------------
CUR_NAME=""   # broker running now
CUR_DIR=""    # its data dir
CUR_PID=""    # its pid
STEP_PID=""   # the bounded step in progress (a `timeout` process)
PROBE_PID=""

stop_broker() {
    local name=$1 dir=$2 pid=$3 i
    if [[ $name == kafka ]]; then
        timeout -k 5 60 "$KAFKA_SH" broker-stop "$dir" || true
        [[ -f $dir/broker.log ]] && cp "$dir/broker.log" "$RAW/kafka.broker.log"
    elif [[ -n $pid ]]; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 300; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
}

cleanup() {
    local code=$?
    trap - EXIT INT TERM
    [[ -n $STEP_PID ]] && kill -TERM "$STEP_PID" 2>/dev/null || true
    [[ -n $PROBE_PID ]] && kill -TERM "$PROBE_PID" 2>/dev/null || true
    if [[ -n $CUR_NAME ]]; then
        log "stopping $CUR_NAME"
        stop_broker "$CUR_NAME" "$CUR_DIR" "$CUR_PID"
    fi
    [[ -n $CUR_DIR ]] && rm -rf "$CUR_DIR"
    echo "raw output: $RAW" >&2
    exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# run_step OUT ERR CMD...: CMD under timeout, in the background so a signal to this script is
# handled at once (bash defers traps until a foreground child ends).
run_step() {
    local out=$1 err=$2 code=0
    shift 2
    timeout -k 10 "$STEP_TIMEOUT" "$@" >"$out" 2>"$err" </dev/null &
    STEP_PID=$!
    wait "$STEP_PID" || code=$?
    STEP_PID=""
    return "$code"
}

kafka_tool() {
    local out=$1 err=$2
    shift 2
    STREAMLOG_KAFKA_JAVA_OPTS=$CLIENT_JAVA_OPTS run_step "$out" "$err" "$KAFKA_SH" run "$@"
}

# A port P with P and P+1 free (Kafka's controller listens on P+1).
free_port() {
    python3 - <<'EOF'
import random, socket
for _ in range(200):
    p = random.randint(20000, 60000)
    try:
        for q in (p, p + 1):
            s = socket.socket(); s.bind(("127.0.0.1", q)); s.close()
        print(p); break
    except OSError:
        pass
EOF
}

cpu_ticks() {
    local s
    s=$(<"/proc/$1/stat")
    s=${s##*) }
    local -a f
    read -r -a f <<<"$s"
    echo $((f[11] + f[12])) # utime, stime: fields 14 and 15 of stat
}

status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# CPU seconds per million records from two tick counts.
cpu_per_m() { awk -v a="$1" -v b="$2" -v t="$CLK_TCK" -v n="$3" 'BEGIN { printf "%.2f", (b - a) / t / n * 1e6 }'; }

declare -A R      # R[broker:metric] = value
FAILED=()        # "broker step: file with the error"
fail() {
    FAILED+=("$1 $2: $3")
    log "FAILED: $1 $2 (see $3)"
}

produce() {
    local name=$1 topic=$2 size=$3 n=$4 acks=$5 b=$6 pid=$7
    local key="p${size}_acks${acks}" out="$RAW/$name.produce-${size}B-acks$acks.out"
    local err="${out%.out}.err" c0 c1 line
    log "$name: ProducerPerformance $n x $size B acks=$acks"
    c0=$(cpu_ticks "$pid")
    if ! kafka_tool "$out" "$err" org.apache.kafka.tools.ProducerPerformance --topic "$topic" \
        --num-records "$n" --record-size "$size" --throughput -1 \
        --command-property bootstrap.servers="$b" acks="$acks"; then
        fail "$name" "$key" "$err"
        return
    fi
    c1=$(cpu_ticks "$pid")
    line=$(grep -E "^$n records sent" "$out" | tail -n 1 || true)
    if [[ -z $line ]]; then
        fail "$name" "$key" "$out"
        return
    fi
    # N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency,
    # p50 ms 50th, p95 ms 95th, p99 ms 99th, p999 ms 99.9th.
    read -r "R[$name:${key}_rps]" "R[$name:${key}_mbs]" "R[$name:${key}_avg]" "R[$name:${key}_max]" \
        "R[$name:${key}_p99]" < <(sed -E 's/^[0-9]+ records sent, ([0-9.]+) records\/sec \(([0-9.]+) MB\/sec\), ([0-9.]+) ms avg latency, ([0-9.]+) ms max latency, [0-9]+ ms 50th, [0-9]+ ms 95th, ([0-9]+) ms 99th.*/\1 \2 \3 \4 \5/' <<<"$line")
    R[$name:${key}_cpu]=$(cpu_per_m "$c0" "$c1" "$n")
}

consume() {
    local name=$1 topic=$2 size=$3 n=$4 b=$5 pid=$6
    local key="c${size}" out="$RAW/$name.consume-${size}B.out"
    local err="${out%.out}.err" c0 c1 line
    log "$name: ConsumerPerformance $n x $size B"
    c0=$(cpu_ticks "$pid")
    if ! kafka_tool "$out" "$err" org.apache.kafka.tools.ConsumerPerformance \
        --bootstrap-server "$b" --topic "$topic" --num-records "$n" \
        --group "bench-$name-$topic" --timeout 30000; then
        fail "$name" "$key" "$err"
        return
    fi
    c1=$(cpu_ticks "$pid")
    # start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
    # rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
    line=$(grep -E '^[0-9]{4}-' "$out" | tail -n 1 || true)
    local -a f
    IFS=',' read -r -a f <<<"${line// /}"
    if [[ ${#f[@]} -lt 10 || ${f[4]} != "$n" ]]; then
        fail "$name" "$key" "$out"
        return
    fi
    R[$name:${key}_mbs]=${f[3]}
    R[$name:${key}_rps]=${f[5]}
    R[$name:${key}_rebalance]=${f[6]}
    R[$name:${key}_fetch_rps]=${f[9]}
    R[$name:${key}_cpu]=$(cpu_per_m "$c0" "$c1" "$n")
}

e2e() {
    local name=$1 b=$2
    local out="$RAW/$name.e2e.out" err="$RAW/$name.e2e.err" line
    log "$name: EndToEndLatency $E2E_RECORDS x $E2E_SIZE B acks=1"
    if ! kafka_tool "$out" "$err" org.apache.kafka.tools.EndToEndLatency --bootstrap-server "$b" \
        --topic e2e --num-records "$E2E_RECORDS" --producer-acks 1 --record-size "$E2E_SIZE"; then
        fail "$name" e2e "$err"
        return
    fi
    # Avg latency: A ms / Percentiles: 50th = X, 99th = Y, 99.9th = Z
    line=$(grep -E '^Percentiles: 50th = ' "$out" | tail -n 1 || true)
    if [[ -z $line ]]; then
        fail "$name" e2e "$out"
        return
    fi
    read -r "R[$name:e2e_p50]" "R[$name:e2e_p99]" "R[$name:e2e_p999]" < <(sed -E 's/^Percentiles: 50th = ([0-9.]+), 99th = ([0-9.]+), 99.9th = ([0-9.]+).*/\1 \2 \3/' <<<"$line")
    R[$name:e2e_avg]=$(sed -nE 's/^Avg latency: ([0-9.]+) ms.*/\1/p' "$out" | tail -n 1)
}

bench_broker() {
    local name=$1 port dir b pid
    port=$(free_port)
    dir=$(mktemp -d "$RAW/$name-data.XXXXXX")
    b=127.0.0.1:$port
    log "$name: starting on $b, data in $dir"

    # The probe waits for the pid file, which the launcher writes just before exec'ing the broker.
    python3 "$PROBE" --pid-file "$dir/broker.pid" --port "$port" --timeout "$STEP_TIMEOUT" \
        >"$RAW/$name.first-metadata.out" 2>"$RAW/$name.first-metadata.err" &
    PROBE_PID=$!
    CUR_NAME=$name CUR_DIR=$dir
    if [[ $name == kafka ]]; then
        STREAMLOG_KAFKA_JAVA_OPTS=$KAFKA_BROKER_JAVA_OPTS run_step "$RAW/kafka.broker-start.out" \
            "$RAW/kafka.broker-start.err" "$KAFKA_SH" broker-start "$port" "$dir" ||
            { cat "$RAW/kafka.broker-start.err" >&2; return 1; }
    else
        setsid bash -c 'echo $$ >"$0"; exec "$@"' "$dir/broker.pid" "$SERVER_START" \
            --override "listeners=PLAINTEXT://$b" --override "log.dirs=$dir/data" \
            --override group.initial.rebalance.delay.ms=0 \
            </dev/null >"$RAW/streamlog.broker.out" 2>"$RAW/streamlog.broker.err" &
    fi
    local code=0
    wait "$PROBE_PID" || code=$?
    PROBE_PID=""
    pid=$(cat "$dir/broker.pid" 2>/dev/null || true)
    CUR_PID=$pid
    if [[ $code != 0 || -z $pid ]]; then
        cat "$RAW/$name.first-metadata.err" >&2
        fail "$name" first-metadata "$RAW/$name.first-metadata.err"
        return 1
    fi
    R[$name:first_ms]=$(sed -n 's/^first_metadata_ms=//p' "$RAW/$name.first-metadata.out")
    log "$name: first Metadata after ${R[$name:first_ms]} ms (pid $pid)"

    sleep "$IDLE_SETTLE"
    R[$name:rss_idle]=$(status_kib "$pid" VmRSS)

    local t
    for t in p100-acks1:$PARTITIONS p100-acksall:$PARTITIONS p1k-acks1:$PARTITIONS \
        p1k-acksall:$PARTITIONS e2e:1; do
        if ! kafka_tool "$RAW/$name.create-${t%%:*}.out" "$RAW/$name.create-${t%%:*}.err" \
            org.apache.kafka.tools.TopicCommand --bootstrap-server "$b" --create \
            --topic "${t%%:*}" --partitions "${t##*:}" --replication-factor 1; then
            fail "$name" "create-${t%%:*}" "$RAW/$name.create-${t%%:*}.err"
        fi
    done

    # Not measured: warms the JVM's JIT (and our page cache) so the first phase is fair to both.
    if [[ $WARMUP -gt 0 ]] && ! kafka_tool "$RAW/$name.warmup.out" "$RAW/$name.warmup.err" \
        org.apache.kafka.tools.ProducerPerformance --topic warmup --num-records "$WARMUP" \
        --record-size 100 --throughput -1 --command-property bootstrap.servers="$b" acks=1; then
        fail "$name" warmup "$RAW/$name.warmup.err"
    fi
    produce "$name" p100-acks1 100 "$RECORDS_100B" 1 "$b" "$pid"
    produce "$name" p100-acksall 100 "$RECORDS_100B" all "$b" "$pid"
    produce "$name" p1k-acks1 1024 "$RECORDS_1K" 1 "$b" "$pid"
    produce "$name" p1k-acksall 1024 "$RECORDS_1K" all "$b" "$pid"
    e2e "$name" "$b"
    consume "$name" p100-acks1 100 "$RECORDS_100B" "$b" "$pid"
    consume "$name" p1k-acks1 1024 "$RECORDS_1K" "$b" "$pid"

    R[$name:rss_after]=$(status_kib "$pid" VmRSS)
    R[$name:rss_hwm]=$(status_kib "$pid" VmHWM)
    du -sh "$dir" >"$RAW/$name.du" 2>/dev/null || true

    log "stopping $name"
    stop_broker "$name" "$dir" "$pid"
    CUR_NAME="" CUR_PID=""
    rm -rf "$dir"
    CUR_DIR=""
}

for name in $BROKERS; do
    case $name in
        streamlog | kafka) bench_broker "$name" || log "$name: aborted" ;;
        *) echo "broker.sh: unknown broker '$name' (streamlog or kafka)" >&2; exit 2 ;;
    esac
done

# --- report -----------------------------------------------------------------------------------
mib() { [[ -n $1 ]] && awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
for name in $BROKERS; do
    for k in rss_idle rss_after rss_hwm; do
        [[ -n ${R[$name:$k]:-} ]] && R[$name:$k]=$(mib "${R[$name:$k]}")
    done
done

# Rates and sizes of 100 or more as integers, smaller values with up to 2 decimals.
val() {
    local v=${R[$1:$2]:-}
    [[ -n $v ]] || { echo "–"; return; }
    awk -v v="$v" 'BEGIN { if (v >= 100) printf "%.0f", v; else printf "%.2f", v }' |
        sed -E 's/(\.[0-9]*[1-9])0+$/\1/; s/\.0+$//'
}
row() { # label key
    local s k
    s=$(val streamlog "$2")
    k=$(val kafka "$2")
    local ratio
    ratio=$(awk -v s="$s" -v k="$k" 'BEGIN {
        if (s == "–" || k == "–" || k + 0 == 0) print "–"; else printf "%.3g", s / k }')
    printf '| %s | %s | %s | %s |\n' "$1" "$s" "$k" "$ratio"
}

kver=$(basename "$(dirname "$("$KAFKA_SH" fetch)")")
jver=$(java -version 2>&1 | head -n 1)
commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$REPO" status --porcelain -- src Cargo.toml 2>/dev/null | head -n 1)
{
    echo
    echo "## streamlog server-start vs Kafka $kver (KRaft, single node)"
    echo
    echo "$(nproc) CPUs, $(uname -r); streamlog $commit${dirty:+ (+ uncommitted changes)}; $jver."
    echo "Brokers run one after the other on 127.0.0.1 with fresh data dirs; Kafka broker JVM:"
    echo "\`$KAFKA_BROKER_JAVA_OPTS\`; Java tools: \`$CLIENT_JAVA_OPTS\`, client defaults otherwise."
    echo "Default flush policy on both (page cache, no fsync per message);"
    echo "group.initial.rebalance.delay.ms=0 on both. Produce/consume topics:"
    echo "$PARTITIONS partition(s), RF 1, created with TopicCommand. ratio = streamlog / Kafka;"
    echo "↑ higher is better, ↓ lower is better."
    echo
    echo "| metric | streamlog | Kafka $kver | ratio |"
    echo "|---|---:|---:|---:|"
    row "first Metadata after process start, ms ↓" first_ms
    row "RSS idle, MiB ↓" rss_idle
    row "RSS peak (VmHWM) after the load, MiB ↓" rss_hwm
    row "RSS after the load, MiB ↓" rss_after
    for spec in "100:$RECORDS_100B:100 B" "1024:$RECORDS_1K:1 KiB"; do
        IFS=: read -r size n label <<<"$spec"
        for acks in 1 all; do
            k="p${size}_acks$acks"
            row "produce $label acks=$acks ($n), records/s ↑" "${k}_rps"
            row "produce $label acks=$acks, MB/s ↑" "${k}_mbs"
            row "produce $label acks=$acks, avg latency ms ↓" "${k}_avg"
            row "produce $label acks=$acks, p99 latency ms ↓" "${k}_p99"
            row "produce $label acks=$acks, max latency ms ↓" "${k}_max"
            row "produce $label acks=$acks, broker CPU s / 1M records ↓" "${k}_cpu"
        done
    done
    row "EndToEndLatency $E2E_SIZE B acks=1 ($E2E_RECORDS), avg ms ↓" e2e_avg
    row "EndToEndLatency p50 ms ↓" e2e_p50
    row "EndToEndLatency p99 ms ↓" e2e_p99
    row "EndToEndLatency p99.9 ms ↓" e2e_p999
    for spec in "100:$RECORDS_100B:100 B" "1024:$RECORDS_1K:1 KiB"; do
        IFS=: read -r size n label <<<"$spec"
        k="c$size"
        row "consume $label from the beginning ($n), MB/s ↑" "${k}_mbs"
        row "consume $label, records/s ↑" "${k}_rps"
        row "consume $label, fetch records/s (without group join) ↑" "${k}_fetch_rps"
        row "consume $label, group join (rebalance) ms ↓" "${k}_rebalance"
        row "consume $label, broker CPU s / 1M records ↓" "${k}_cpu"
    done
    if [[ ${#FAILED[@]} -gt 0 ]]; then
        echo
        echo "Failed steps:"
        printf -- '- %s\n' "${FAILED[@]}"
    fi
} | tee "$RAW/summary.md"
[[ ${#FAILED[@]} -eq 0 ]]
