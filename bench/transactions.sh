#!/usr/bin/env bash
# Transactions: server-start against Apache Kafka 4.4 (single-node KRaft, tests/kafka-ref/kafka.sh
# broker-start), driven by the same Java tools with the same client settings.
#
#   bench/transactions.sh                                    # N=2000000 records of 100 B
#   SMOKE=1 bench/transactions.sh                            # N=20000: checks the script works
#   STREAMLOG_BIN=/tmp/bin N=500000 bench/transactions.sh
#
# For each broker, one after the other (never both at once: they would share the 2 cores), on
# 127.0.0.1, a free port and a fresh temp data dir:
#   1. topics txn-bench and txn-warmup are created (TopicCommand, PARTITIONS partitions, RF 1)
#   2. warm-up, not measured: a transactional ProducerPerformance of WARMUP records to
#      txn-warmup and a read_committed ConsumerPerformance of them. It creates what the first
#      transaction and the first group need (Kafka: __transaction_state, __consumer_offsets) and
#      warms the JIT of Kafka's broker, so neither lands in a measured phase.
#   3. transactional produce: ProducerPerformance --num-records N --record-size RECORD_SIZE
#      --throughput -1 --transactional-id txn-bench-<broker> --transaction-duration-ms TXN_MS;
#      records/s and MB/s from its final line
#   4. GetOffsetShell: the log end offsets; their sum minus N is the control records (commit
#      markers) the transactions wrote, one per transaction and partition it touched
#   5. read_committed consume: ConsumerPerformance --num-records N with --command-config holding
#      isolation.level=read_committed; MB/s and records/s, and it must read exactly N records
#   6. broker CPU: utime+stime of the broker process (/proc/PID/stat, all threads; CLK_TCK ticks)
#      before and after 3 and 5, as ms of CPU per 1,000 records; and that CPU over the phase's
#      own duration (N / records/s), as a share of one core
# Client defaults otherwise (the transactional producer is idempotent, acks=all). Both brokers
# keep their default flush policy (page cache, no fsync per message) and run with
# group.initial.rebalance.delay.ms=0 (kafka.sh's server.properties; an override for ours).
#
# Prints a Markdown table (ratio = streamlog / Kafka) and one verdict line per target:
#   transactional produce and read_committed consume throughput >= 1.5x Kafka's;
#   broker CPU per record <= 1/2 Kafka's, for each of the two phases.
# Every step runs under `timeout`; brokers are stopped and data dirs removed on exit. Raw tool
# outputs stay in a temp dir when a step failed or KEEP=1 (its path is printed).
#
# Environment:
#   N               records produced and consumed (default 2000000; SMOKE=1: 20000)
#   SMOKE=1         N=20000 WARMUP=5000 (for checking the script, not for figures)
#   WARMUP          records of the warm-up produce and consume (default 500000; 0: none)
#   RECORD_SIZE     bytes per record value (default 100)
#   TXN_MS          --transaction-duration-ms (default 100)
#   PARTITIONS      partitions of the topics (default 1)
#   BROKERS         which brokers, in order (default "streamlog kafka")
#   STREAMLOG_BIN   dir holding server-start (default target/release if it holds one, else
#                   target/debug; only a release build gives figures worth recording)
#   SERVER_START    the server-start binary (default $STREAMLOG_BIN/server-start)
#   KAFKA_BROKER_JAVA_OPTS  JVM options of the reference broker (default -Xmx1g)
#   CLIENT_JAVA_OPTS        JVM options of the Java tools (default -Xmx512m, as the perf scripts)
#   STEP_TIMEOUT    seconds per step (default 300)
#   KEEP=1          keep the raw outputs
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
CMDLINE="$(printf '%q ' "$0" "$@")"
ENV_USED=""
for v in N SMOKE WARMUP RECORD_SIZE TXN_MS PARTITIONS BROKERS STREAMLOG_BIN SERVER_START \
    KAFKA_BROKER_JAVA_OPTS CLIENT_JAVA_OPTS STEP_TIMEOUT; do
    [[ -n ${!v:-} ]] && ENV_USED+="$v=${!v} "
done

if [[ -n ${SMOKE:-} ]]; then
    : "${N:=20000}" "${WARMUP:=5000}"
fi
N=${N:-2000000}
WARMUP=${WARMUP:-500000}
RECORD_SIZE=${RECORD_SIZE:-100}
TXN_MS=${TXN_MS:-100}
PARTITIONS=${PARTITIONS:-1}
BROKERS=${BROKERS:-streamlog kafka}
KAFKA_BROKER_JAVA_OPTS=${KAFKA_BROKER_JAVA_OPTS:--Xmx1g}
CLIENT_JAVA_OPTS=${CLIENT_JAVA_OPTS:--Xmx512m}
STEP_TIMEOUT=${STEP_TIMEOUT:-300}
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
if [[ -z ${STREAMLOG_BIN:-} ]]; then
    if [[ -x $TARGET/release/server-start ]]; then
        STREAMLOG_BIN=$TARGET/release
    else
        STREAMLOG_BIN=$TARGET/debug
    fi
fi
SERVER_START=${SERVER_START:-$STREAMLOG_BIN/server-start}
KAFKA_SH=$REPO/tests/kafka-ref/kafka.sh
CLK_TCK=$(getconf CLK_TCK)
TOPIC=txn-bench
WARM_TOPIC=txn-warmup

log() { printf '[transactions.sh %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $N =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, not '$N'"
[[ $WARMUP =~ ^[0-9]+$ ]] || die "WARMUP must be a number, not '$WARMUP'"
for name in $BROKERS; do
    [[ $name == streamlog || $name == kafka ]] || die "unknown broker '$name' (streamlog or kafka)"
done
if [[ " $BROKERS " == *" streamlog "* ]]; then
    [[ -x $SERVER_START ]] ||
        die "$SERVER_START is not built (cargo build --release --bin server-start, or set STREAMLOG_BIN / SERVER_START)"
fi
"$KAFKA_SH" fetch >/dev/null

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${LOAD_START%% *}" 'BEGIN { exit !(l > 0.5) }'; then
    log "warning: load average $LOAD_START before the run: other work shares the 2 cores"
fi

RAW=$(mktemp -d "${TMPDIR:-/tmp}/streamlog-transactions-bench.XXXXXX")

# --- state for cleanup ------------------------------------------------------------------------
CUR_NAME=""   # broker running now
CUR_DIR=""    # its data dir
CUR_PID=""    # its pid
STEP_PID=""   # the bounded step in progress (a `timeout` process)
declare -A R  # R[broker:metric] = value
FAILED=()     # "broker step: file with the error"

stop_broker() {
    local name=$1 dir=$2 pid=$3 i
    if [[ $name == kafka ]]; then
        timeout -k 5 60 "$KAFKA_SH" broker-stop "$dir" >/dev/null 2>&1 || true
        [[ -f $dir/broker.log ]] && cp "$dir/broker.log" "$RAW/kafka.broker.log"
    elif [[ -n $pid ]]; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 300; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    return 0
}

# Stops the broker started last (if any) and removes its data dir.
stop_current() {
    [[ -n $CUR_NAME ]] || return 0
    log "stopping $CUR_NAME"
    stop_broker "$CUR_NAME" "$CUR_DIR" "$CUR_PID"
    [[ -n $CUR_DIR ]] && rm -rf "$CUR_DIR"
    CUR_NAME="" CUR_DIR="" CUR_PID=""
}

cleanup() {
    local code=$?
    trap - EXIT INT TERM
    [[ -n $STEP_PID ]] && { kill -TERM "$STEP_PID" 2>/dev/null || true; }
    stop_current
    if [[ -n ${KEEP:-} || $code != 0 || ${#FAILED[@]} -gt 0 ]]; then
        echo "raw output: $RAW" >&2
    else
        rm -rf "$RAW"
    fi
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

fail() {
    FAILED+=("$1 $2: $3")
    log "FAILED: $1 $2 (see $3)"
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
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cpu_ticks() { # PID: utime + stime (fields 14 and 15 of /proc/PID/stat), all threads
    local s
    s=$(<"/proc/$1/stat")
    s=${s##*) }
    local -a f
    read -r -a f <<<"$s"
    echo $((f[11] + f[12]))
}

# cpu_metrics NAME KEY T0 T1 RECORDS/S: CPU ms per 1,000 records, and the share of one core the
# broker used over the phase (its CPU over N / records/s seconds).
cpu_metrics() {
    local name=$1 key=$2 t0=$3 t1=$4 rps=$5
    R[$name:${key}_cpu_ticks]=$((t1 - t0))
    R[$name:${key}_cpu]=$(awk -v d=$((t1 - t0)) -v t="$CLK_TCK" -v n="$N" \
        'BEGIN { printf "%.4f", d / t * 1000 / (n / 1000) }')
    R[$name:${key}_core]=$(awk -v d=$((t1 - t0)) -v t="$CLK_TCK" -v n="$N" -v r="$rps" \
        'BEGIN { if (r > 0) printf "%.1f", 100 * (d / t) / (n / r) }')
}

# --- phases -----------------------------------------------------------------------------------

create_topics() {
    local name=$1 b=$2 t
    for t in $TOPIC $WARM_TOPIC; do
        kafka_tool "$RAW/$name.create-$t.out" "$RAW/$name.create-$t.err" \
            org.apache.kafka.tools.TopicCommand --bootstrap-server "$b" --create --topic "$t" \
            --partitions "$PARTITIONS" --replication-factor 1 ||
            { fail "$name" "create $t" "$RAW/$name.create-$t.err"; return 1; }
    done
}

write_consumer_config() {
    printf 'isolation.level=read_committed\n' >"$RAW/read-committed.properties"
}

# txn_produce NAME TOPIC RECORDS TXN-ID B OUT: the transactional ProducerPerformance run.
txn_produce() {
    local name=$1 topic=$2 n=$3 tid=$4 b=$5 out=$6
    kafka_tool "$out" "${out%.out}.err" org.apache.kafka.tools.ProducerPerformance \
        --topic "$topic" --num-records "$n" --record-size "$RECORD_SIZE" --throughput -1 \
        --transactional-id "$tid" --transaction-duration-ms "$TXN_MS" \
        --command-property bootstrap.servers="$b"
}

# rc_consume NAME TOPIC RECORDS GROUP B OUT: the read_committed ConsumerPerformance run.
rc_consume() {
    local name=$1 topic=$2 n=$3 group=$4 b=$5 out=$6
    kafka_tool "$out" "${out%.out}.err" org.apache.kafka.tools.ConsumerPerformance \
        --bootstrap-server "$b" --topic "$topic" --num-records "$n" --group "$group" \
        --command-config "$RAW/read-committed.properties" --timeout 30000
}

warm_up() {
    local name=$1 b=$2
    ((WARMUP > 0)) || return 0
    log "$name: warm-up (not measured): $WARMUP transactional records, read back read_committed"
    txn_produce "$name" $WARM_TOPIC "$WARMUP" "txn-warmup-$name" "$b" "$RAW/$name.warmup-produce.out" ||
        fail "$name" "warm-up produce" "$RAW/$name.warmup-produce.err"
    rc_consume "$name" $WARM_TOPIC "$WARMUP" "txn-warmup-$name" "$b" "$RAW/$name.warmup-consume.out" ||
        fail "$name" "warm-up consume" "$RAW/$name.warmup-consume.err"
}

produce() {
    local name=$1 b=$2 pid=$3 c0 c1 line
    local out=$RAW/$name.produce.out
    log "$name: ProducerPerformance $N x $RECORD_SIZE B, transactional, a commit every $TXN_MS ms"
    c0=$(cpu_ticks "$pid")
    if ! txn_produce "$name" $TOPIC "$N" "txn-bench-$name" "$b" "$out"; then
        fail "$name" produce "${out%.out}.err"
        return 1
    fi
    c1=$(cpu_ticks "$pid")
    # N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency, p50 ms 50th,
    # p95 ms 95th, p99 ms 99th, p999 ms 99.9th.
    line=$(grep -E "^$N records sent, " "$out" | tail -n 1 || true)
    [[ -n $line ]] || { fail "$name" produce "$out"; return 1; }
    local re='^[0-9]+ records sent, ([0-9.]+) records/sec \(([0-9.]+) MB/sec\), ([0-9.]+) ms avg latency, ([0-9.]+) ms max latency, [0-9.]+ ms 50th, [0-9.]+ ms 95th, ([0-9.]+) ms 99th'
    [[ $line =~ $re ]] || { fail "$name" "produce (unparsed final line)" "$out"; return 1; }
    R[$name:p_rps]=${BASH_REMATCH[1]}
    R[$name:p_mbs]=${BASH_REMATCH[2]}
    R[$name:p_avg]=${BASH_REMATCH[3]}
    R[$name:p_p99]=${BASH_REMATCH[5]}
    cpu_metrics "$name" p "$c0" "$c1" "${R[$name:p_rps]}"
    log "$name: ${R[$name:p_rps]} records/s, ${R[$name:p_mbs]} MB/s; broker CPU ${R[$name:p_cpu]} ms / 1,000 records"
}

# The log end offsets of the topic: their sum less N is the control records the commits wrote.
end_offsets() {
    local name=$1 b=$2 ends
    local out=$RAW/$name.offsets.out
    kafka_tool "$out" "$RAW/$name.offsets.err" org.apache.kafka.tools.GetOffsetShell \
        --bootstrap-server "$b" --topic $TOPIC ||
        { fail "$name" "GetOffsetShell" "$RAW/$name.offsets.err"; return 1; }
    ends=$(awk -F: -v t=$TOPIC '$1 == t { s += $3; n++ } END { if (n) print s }' "$out")
    [[ -n $ends ]] || { fail "$name" "GetOffsetShell (no offsets)" "$out"; return 1; }
    R[$name:end]=$ends
    R[$name:markers]=$((ends - N))
    if ((ends <= N)); then
        fail "$name" "no control records (log end offsets add up to $ends for $N records)" "$out"
    fi
}

consume() {
    local name=$1 b=$2 pid=$3 c0 c1 line
    local out=$RAW/$name.consume.out
    log "$name: ConsumerPerformance $N records, isolation.level=read_committed"
    c0=$(cpu_ticks "$pid")
    if ! rc_consume "$name" $TOPIC "$N" "txn-bench-$name" "$b" "$out"; then
        fail "$name" consume "${out%.out}.err"
        return 1
    fi
    c1=$(cpu_ticks "$pid")
    # start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
    # rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
    line=$(grep -E '^[0-9]{4}-' "$out" | tail -n 1 || true)
    local -a f
    IFS=',' read -r -a f <<<"${line// /}"
    if [[ ${#f[@]} -lt 10 ]]; then
        fail "$name" "consume (no stats line)" "$out"
        return 1
    fi
    R[$name:c_read]=${f[4]}
    if [[ ${f[4]} != "$N" ]]; then
        fail "$name" "consume read ${f[4]} of $N committed records" "${out%.out}.err"
        return 1
    fi
    R[$name:c_mbs]=${f[3]}
    R[$name:c_rps]=${f[5]}
    R[$name:c_rebalance]=${f[6]}
    R[$name:c_fetch_rps]=${f[9]}
    cpu_metrics "$name" c "$c0" "$c1" "${R[$name:c_rps]}"
    log "$name: ${R[$name:c_rps]} records/s, ${R[$name:c_mbs]} MB/s; broker CPU ${R[$name:c_cpu]} ms / 1,000 records"
}

# start_broker NAME: on a free port and a fresh data dir; sets B and CUR_*.
start_broker() {
    local name=$1 port dir pid="" i
    port=$(free_port)
    [[ -n $port ]] || { fail "$name" start "no free port"; return 1; }
    dir=$(mktemp -d "$RAW/$name-data.XXXXXX")
    B=127.0.0.1:$port
    CUR_NAME=$name CUR_DIR=$dir CUR_PID=""
    log "$name: starting on $B, data in $dir"
    if [[ $name == kafka ]]; then
        if ! STREAMLOG_KAFKA_JAVA_OPTS=$KAFKA_BROKER_JAVA_OPTS run_step "$RAW/kafka.broker-start.out" \
            "$RAW/kafka.broker-start.err" "$KAFKA_SH" broker-start "$port" "$dir"; then
            fail kafka start "$RAW/kafka.broker-start.err"
            return 1
        fi
        pid=$(cat "$dir/broker.pid" 2>/dev/null || true)
        CUR_PID=$pid
        [[ -n $pid ]] || { fail kafka start "no pid in $dir/broker.pid"; return 1; }
    else
        setsid bash -c 'echo $$ >"$0"; exec "$@"' "$dir/broker.pid" "$SERVER_START" \
            --override "listeners=PLAINTEXT://$B" --override "log.dirs=$dir/data" \
            --override group.initial.rebalance.delay.ms=0 \
            </dev/null >"$RAW/streamlog.broker.out" 2>"$RAW/streamlog.broker.err" &
        for ((i = 0; i < 300; i++)); do
            [[ -z $pid && -s $dir/broker.pid ]] && pid=$(cat "$dir/broker.pid") && CUR_PID=$pid
            [[ -n $pid ]] && port_open "$port" && break
            [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null && break
            sleep 0.1
        done
        if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null || ! port_open "$port"; then
            fail streamlog start "$RAW/streamlog.broker.err"
            return 1
        fi
    fi
    log "$name: up (pid $pid)"
}

bench_broker() {
    local name=$1 pid
    start_broker "$name" || return 1
    pid=$CUR_PID
    create_topics "$name" "$B" || return 1
    warm_up "$name" "$B"
    produce "$name" "$B" "$pid" || return 1
    end_offsets "$name" "$B" || true
    consume "$name" "$B" "$pid" || true
    R[$name:hwm]=$(awk '$1 == "VmHWM:" { printf "%.0f", $2 / 1024 }' "/proc/$pid/status" 2>/dev/null || true)
}

write_consumer_config
for name in $BROKERS; do
    bench_broker "$name" || log "$name: aborted"
    if [[ -n $CUR_PID ]] && ! kill -0 "$CUR_PID" 2>/dev/null; then
        fail "$name" "the broker exited during the run" \
            "$([[ $name == kafka ]] && echo "$RAW/kafka.broker.log" || echo "$RAW/streamlog.broker.err")"
    fi
    stop_current
done
if [[ -s $RAW/streamlog.broker.err ]]; then
    n=$(grep -c -E 'ERROR|WARN|panic' "$RAW/streamlog.broker.err" || true)
    ((n > 0)) && log "server-start stderr has $n ERROR/WARN/panic lines ($RAW/streamlog.broker.err)" && KEEP=1
fi

# --- report -----------------------------------------------------------------------------------
# Values of 100 or more as integers, smaller ones with up to 3 significant decimals.
val() {
    local v=${R[$1:$2]:-}
    [[ -n $v ]] || { echo "–"; return; }
    awk -v v="$v" 'BEGIN { if (v >= 100 || v == int(v)) printf "%.0f", v; else if (v >= 1) printf "%.2f", v; else printf "%.3f", v }' |
        sed -E 's/(\.[0-9]*[1-9])0+$/\1/; s/\.0+$//'
}
ratio_of() { # KEY: streamlog / Kafka, unrounded, or empty
    awk -v s="${R[streamlog:$1]:-}" -v k="${R[kafka:$1]:-}" \
        'BEGIN { if (s != "" && k != "" && k + 0 != 0) printf "%.4g", s / k }'
}
row() { # LABEL KEY
    local r
    r=$(ratio_of "$2")
    printf '| %s | %s | %s | %s |\n' "$1" "$(val streamlog "$2")" "$(val kafka "$2")" \
        "$(awk -v r="$r" 'BEGIN { if (r == "") print "–"; else printf "%.3g", r }')"
}
# verdict LABEL KEY OP BOUND: OP is ">=" (ratio at least BOUND) or "<=".
verdict() {
    local label=$1 key=$2 op=$3 bound=$4 r res
    r=$(ratio_of "$key")
    if [[ -z $r ]]; then
        res="NOT MEASURED"
        [[ -n ${R[kafka:$key]:-} && -n ${R[streamlog:$key]:-} ]] && res+=" (Kafka's figure is 0: raise N)"
        printf 'target: %s: – → %s\n' "$label" "$res"
        return
    fi
    if awk -v r="$r" -v b="$bound" -v op="$op" 'BEGIN { exit !(op == ">=" ? r >= b : r <= b) }'; then
        res=PASS
    else
        res="NOT MET"
    fi
    printf 'target: %s: %s × Kafka'"'"'s → %s\n' "$label" "$(awk -v r="$r" 'BEGIN { printf "%.3g", r }')" "$res"
}

kver=$(basename "$(dirname "$("$KAFKA_SH" fetch)")")
jver=$(java -version 2>&1 | head -n 1)
commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$REPO" status --porcelain -- src Cargo.toml 2>/dev/null | head -n 1)
build="release build"
[[ $SERVER_START == */release/* ]] || build="NOT a target/release build: figures not meaningful"
{
    echo
    echo "## Transactions: streamlog server-start vs Kafka $kver (KRaft, single node)"
    echo
    echo "$(nproc) CPUs, $(uname -r); streamlog $commit${dirty:+ (+ uncommitted changes)}, \`$SERVER_START\` ($build); $jver."
    echo "Brokers one after the other on 127.0.0.1, fresh data dirs; Kafka broker JVM \`$KAFKA_BROKER_JAVA_OPTS\`;"
    echo "Java tools \`$CLIENT_JAVA_OPTS\`, client defaults otherwise. Topic: $PARTITIONS partition(s), RF 1."
    echo "Warm-up (not measured): $WARMUP transactional records produced and read read_committed."
    echo "Produce: ProducerPerformance $N x $RECORD_SIZE B, --throughput -1, --transactional-id,"
    echo "--transaction-duration-ms $TXN_MS. Consume: ConsumerPerformance --num-records $N, isolation.level=read_committed."
    echo "Broker CPU: utime+stime of the broker process around each phase (CLK_TCK $CLK_TCK)."
    echo "Load average before the run: $LOAD_START. ratio = streamlog / Kafka; ↑ higher is better, ↓ lower is better."
    echo
    echo "| metric | streamlog | Kafka $kver | ratio |"
    echo "|---|---:|---:|---:|"
    row "transactional produce ($N), records/s ↑" p_rps
    row "transactional produce, MB/s ↑" p_mbs
    row "transactional produce, avg latency ms ↓" p_avg
    row "transactional produce, p99 latency ms ↓" p_p99
    row "transactional produce, broker CPU ms / 1,000 records ↓" p_cpu
    row "transactional produce, broker CPU % of one core (≈)" p_core
    row "control records (commit markers) in the log" markers
    row "read_committed consume, records read (must be $N)" c_read
    row "read_committed consume, MB/s ↑" c_mbs
    row "read_committed consume, records/s ↑" c_rps
    row "read_committed consume, fetch records/s (without group join) ↑" c_fetch_rps
    row "read_committed consume, group join ms ↓" c_rebalance
    row "read_committed consume, broker CPU ms / 1,000 records ↓" c_cpu
    row "read_committed consume, broker CPU % of one core (≈)" c_core
    row "broker RSS peak (VmHWM), MiB ↓" hwm
    echo
    verdict "transactional produce throughput ≥ 1.5× Kafka's" p_rps ">=" 1.5
    verdict "read_committed consume throughput ≥ 1.5× Kafka's" c_rps ">=" 1.5
    verdict "broker CPU per record, transactional produce ≤ ½ Kafka's" p_cpu "<=" 0.5
    verdict "broker CPU per record, read_committed consume ≤ ½ Kafka's" c_cpu "<=" 0.5
    if [[ ${#FAILED[@]} -gt 0 ]]; then
        echo
        echo "Failed steps:"
        printf -- '- %s\n' "${FAILED[@]}"
    fi
    echo
    echo "command: ${ENV_USED}${CMDLINE}"
} | tee "$RAW/summary.md"
[[ ${#FAILED[@]} -eq 0 ]]
