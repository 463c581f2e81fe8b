#!/usr/bin/env bash
# Log compaction: server-start's cleaner against Apache Kafka 4.4's (tests/kafka-ref/kafka.sh
# broker-start), on the same data: BYTES of 100-byte keyed records (10-byte key, 90-byte value)
# over DISTINCT_PCT % distinct keys, in one compacted partition.
#
#   bench/compaction.sh                      # 1 GiB: 10.7 M records over 1.07 M keys
#   BYTES=33554432 bench/compaction.sh       # 32 MiB smoke run (335 k records)
#   SERVER_START=/tmp/bin/server-start STREAMLOG_BIN_DIR=/tmp/bin BYTES=33554432 bench/compaction.sh
#
# One broker at a time (never both: they would share the cores), each on a fresh temp data dir:
#   1. server-start with log.cleaner.enable=false: the topic is created (cleanup.policy=compact,
#      segment.bytes=SEGMENT_BYTES, min.cleanable.dirty.ratio=0.01), the records produced:
#      produce throughput without a cleaner. server-start is stopped (SIGTERM).
#   2. server-start again on that data dir with the cleaner on (log.cleaner.backoff.ms=BACKOFF_MS):
#      every closed segment is dirty, it cleans them at once. Until its cleaner-offset-checkpoint
#      reaches the active segment: its "MB of log processed in S seconds (R MB/sec)" line
#      (RUST_LOG=info, stderr), the wall time, and VmRSS/VmHWM of the process sampled every
#      0.2 s against log.cleaner.dedupe.buffer.size.
#   3. server-start on a fresh data dir with the cleaner on, the topic as in 1: the same produce
#      while the cleaner keeps cleaning (each pass counted from its log): throughput with a
#      cleaner, and VmHWM.
#   4. Kafka 4.4 (broker log at INFO, STREAMLOG_KAFKA_LOG_LEVEL, so broker.log has the cleaner's
#      stats; log.cleaner.backoff.ms=BACKOFF_MS set as a dynamic broker config): the topic is
#      created with min.cleanable.dirty.ratio=1 (no log is ever dirtier than 1, so its cleaner
#      leaves it alone), the same produce; then kafka-configs sets min.cleanable.dirty.ratio=0.01
#      and the cleaner cleans it once. Its "MB of log processed" line from broker.log, the wall
#      time until its cleaner-offset-checkpoint reaches the active segment, the JVM's VmHWM.
# Every produce is our console-producer --bootstrap-server (librdkafka) from one pregenerated
# file ("key<TAB>value" lines, --property parse.key=true), acks=-1; its last offset is checked.
# Prints one table and the command line; raw outputs stay in a temp dir (printed) when KEEP=1.
# Every step runs under `timeout`; brokers are stopped and data dirs removed on exit.
#
# Environment:
#   BYTES            bytes of key+value to produce (default 1073741824)
#   DISTINCT_PCT     distinct keys as a percentage of the records (default 10)
#   SEGMENT_BYTES    topic segment.bytes (default BYTES/64, within 1 MiB..64 MiB; Kafka 4.4's
#                    minimum is 1 MiB)
#   BACKOFF_MS       log.cleaner.backoff.ms on both brokers (default 1000)
#   DEDUPE_BUFFER    log.cleaner.dedupe.buffer.size on both (default: unset, both 128 MiB)
#   BROKERS          which to run, in order (default "streamlog kafka")
#   SERVER_START     server-start binary (default target/release/server-start)
#   STREAMLOG_BIN_DIR  topics and console-producer (default target/release)
#   KAFKA_BROKER_JAVA_OPTS  the reference broker's JVM options (default -Xmx1g)
#   STEP_TIMEOUT     seconds per produce or clean (default 1200)
#   KEEP=1           keep the temp dir (data file, logs, raw outputs)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
CMDLINE="$(printf '%q ' "$0" "$@")"
ENV_USED=""
for v in BYTES DISTINCT_PCT SEGMENT_BYTES BACKOFF_MS DEDUPE_BUFFER BROKERS SERVER_START STREAMLOG_BIN_DIR KAFKA_BROKER_JAVA_OPTS; do
    [[ -n ${!v:-} ]] && ENV_USED+="$v=${!v} "
done

BYTES=${BYTES:-1073741824}
DISTINCT_PCT=${DISTINCT_PCT:-10}
MIB=1048576
if [[ -z ${SEGMENT_BYTES:-} ]]; then
    SEGMENT_BYTES=$((BYTES / 64))
    ((SEGMENT_BYTES < MIB)) && SEGMENT_BYTES=$MIB
    ((SEGMENT_BYTES > 64 * MIB)) && SEGMENT_BYTES=$((64 * MIB))
fi
BACKOFF_MS=${BACKOFF_MS:-1000}
DEDUPE_BUFFER=${DEDUPE_BUFFER:-}
BROKERS=${BROKERS:-streamlog kafka}
BIN=${STREAMLOG_BIN_DIR:-${CARGO_TARGET_DIR:-$REPO/target}/release}
SERVER=${SERVER_START:-${CARGO_TARGET_DIR:-$REPO/target}/release/server-start}
KAFKA_BROKER_JAVA_OPTS=${KAFKA_BROKER_JAVA_OPTS:--Xmx1g}
CLIENT_JAVA_OPTS="-Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
STEP_TIMEOUT=${STEP_TIMEOUT:-1200}
KAFKA_SH=$REPO/tests/kafka-ref/kafka.sh
TOPIC=compaction-bench

RECORDS=$((BYTES / 100))
KEYS=$((RECORDS * DISTINCT_PCT / 100))
((KEYS >= 1)) || KEYS=1

log() { printf '[compaction.sh %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

for f in "$SERVER" "$BIN/topics" "$BIN/console-producer"; do
    [[ -x $f ]] || die "$f is not built (cargo build --release --bins, or set SERVER_START / STREAMLOG_BIN_DIR)"
done
command -v kcat >/dev/null || die "kcat not found (apt-get install kcat)"
"$KAFKA_SH" fetch >/dev/null

RAW=$(mktemp -d "${TMPDIR:-/tmp}/streamlog-compaction-bench.XXXXXX")
SPID=""       # a running server-start
KDIR=""       # a running Kafka's dir
cleanup() {
    local code=$?
    trap - EXIT INT TERM
    [[ -n $SPID ]] && stop_server
    [[ -n $KDIR ]] && { timeout -k 5 60 "$KAFKA_SH" broker-stop "$KDIR" >/dev/null 2>&1 || true; }
    if [[ -n ${KEEP:-} ]]; then
        log "kept $RAW"
    else
        rm -rf "$RAW"
    fi
    exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
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

# --- the data: one file for every produce ------------------------------------------------------
DATA=$RAW/records.tsv
log "generating $RECORDS records over $KEYS keys ($(mib $((BYTES / 1024))) MiB of key+value)"
awk -v n="$RECORDS" -v k="$KEYS" 'BEGIN {
    srand(20261202); a = "abcdefghijklmnopqrstuvwxyz"; s = a a a a a a a a
    for (i = 0; i < n; i++)
        printf "k%09d\t%010d%s\n", int(rand() * k), i, substr(s, 1 + (i * 7) % 100, 80)
}' >"$DATA"

declare -A R

# produce NAME BOOTSTRAP: the data file through console-producer; sets R[NAME:produce_*].
produce() {
    local name=$1 b=$2 t0 t1 last
    log "$name: producing $RECORDS records"
    t0=$(now)
    timeout -k 10 "$STEP_TIMEOUT" "$BIN/console-producer" --bootstrap-server "$b" --topic $TOPIC \
        --property parse.key=true --file "$DATA" >"$RAW/$name.produce.out" 2>"$RAW/$name.produce.err" ||
        die "$name: console-producer failed ($(tail -c 300 "$RAW/$name.produce.err"))"
    t1=$(now)
    last=$(timeout 60 kcat -C -b "$b" -t $TOPIC -p 0 -o -1 -c 1 -e -q -f '%o\n' 2>/dev/null || true)
    [[ $last == $((RECORDS - 1)) ]] || die "$name: the last offset is '$last', not $((RECORDS - 1))"
    R[$name:produce_s]=$(secs "$t0" "$t1")
    R[$name:produce_rps]=$(awk -v n="$RECORDS" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
    R[$name:produce_mbs]=$(awk -v n="$BYTES" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / 1048576 / (b - a) }')
    log "$name: ${R[$name:produce_rps]} records/s (${R[$name:produce_mbs]} MB/s of key+value)"
}

create_topic() { # BOOTSTRAP RATIO
    timeout 60 "$BIN/topics" --bootstrap-server "$1" --create --topic $TOPIC --partitions 1 \
        --replication-factor 1 --config cleanup.policy=compact --config segment.bytes="$SEGMENT_BYTES" \
        --config min.cleanable.dirty.ratio="$2" >>"$RAW/topics.out" 2>&1 || die "topic creation failed (see $RAW/topics.out)"
}

# The partition's segments (not .cleaned/.swap/.deleted), the active one's base, bytes on disk.
segments() { ls "$1/$TOPIC-0/" | grep -E '^[0-9]{20}\.log$' || true; }
active_base() { segments "$1" | tail -1 | sed 's/\.log$//; s/^0*//; s/^$/0/'; }
log_bytes() { du -cb $(segments "$1" | sed "s|^|$1/$TOPIC-0/|") | tail -1 | cut -f1; }
checkpoint_of() { # FILE
    awk -v t=$TOPIC 'NR > 2 && $1 == t && $2 == 0 { o = $3 } END { print (o == "" ? -1 : o) }' "$1" 2>/dev/null || echo -1
}

# wait_clean NAME CHECKPOINT-FILE TARGET PID: until the checkpoint reaches TARGET; samples the
# RSS of PID every 0.2 s into R[NAME:rss_max]; sets R[NAME:clean_wall].
wait_clean() {
    local name=$1 file=$2 target=$3 pid=$4 t0 rss max=0 i
    t0=$(now)
    for ((i = 0; i < STEP_TIMEOUT * 5; i++)); do
        rss=$(status_kib "$pid" VmRSS)
        ((rss > max)) && max=$rss
        (($(checkpoint_of "$file") >= target)) && break
        kill -0 "$pid" 2>/dev/null || die "$name: the broker exited while cleaning"
        sleep 0.2
    done
    (($(checkpoint_of "$file") >= target)) || die "$name: not cleaned up to $target within $STEP_TIMEOUT s"
    R[$name:clean_wall]=$(secs "$t0" "$(now)")
    R[$name:rss_max]=$(mib "$max")
    R[$name:hwm]=$(mib "$(status_kib "$pid" VmHWM)")
}

# cleaner_stats NAME LOGFILE: the topic's cleaning passes ("cleaned log" and the lines after it):
# MB processed and seconds summed over the passes, records read and kept.
cleaner_stats() {
    local name=$1 file=$2
    awk -v t="cleaned log $TOPIC-0 " 'index($0, t) { n = 9; print; next }
        /cleaned log / { n = 0 } n > 0 { n--; print }' "$file" | tr -d ',' >"$RAW/$name.passes"
    R[$name:passes]=$(grep -c 'cleaned log' "$RAW/$name.passes" || true)
    read -r "R[$name:clean_mb]" "R[$name:clean_s]" "R[$name:clean_mbs]" < <(
        sed -nE 's/.*[[:space:]]([0-9.]+) MB of log processed in ([0-9.]+) seconds.*/\1 \2/p' "$RAW/$name.passes" |
            awk '{ m += $1; s += $2 } END { printf "%.1f %.1f %.1f\n", m, s, (s > 0 ? m / s : 0) }')
    # Ours: "N messages read, M kept"; Kafka's: "Start size: X MB (N messages)", "End size: ...".
    read -r "R[$name:read]" "R[$name:kept]" < <(awk '
        match($0, /[0-9]+ messages read,? [0-9]+ kept/) { split(substr($0, RSTART, RLENGTH), f, " "); r += f[1]; k += f[4] }
        /Start size:/ { gsub(/.*\(| messages.*/, ""); r += $0 }
        /End size:/ { gsub(/.*\(| messages.*/, ""); k += $0 }
        END { print r + 0, k + 0 }' "$RAW/$name.passes")
}

start_server() { # DATADIR EXTRA-OVERRIDES...: sets SPID, SB
    local dir=$1 i line
    shift
    local extra=()
    for o in "$@"; do extra+=(--override "$o"); done
    [[ -n $DEDUPE_BUFFER ]] && extra+=(--override "log.cleaner.dedupe.buffer.size=$DEDUPE_BUFFER")
    : >"$RAW/server.out"
    RUST_LOG=${RUST_LOG:-info} "$SERVER" --override "log.dirs=$dir" --override listeners=PLAINTEXT://127.0.0.1:0 \
        --override "log.cleaner.backoff.ms=$BACKOFF_MS" "${extra[@]}" \
        >"$RAW/server.out" 2>>"$RAW/server.err" </dev/null &
    SPID=$!
    SB=""
    for ((i = 0; i < 300; i++)); do
        line=$(head -1 "$RAW/server.out")
        if [[ $line =~ listening\ on\ 127\.0\.0\.1:([0-9]+)\  ]]; then
            SB=127.0.0.1:${BASH_REMATCH[1]}
            return 0
        fi
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.1
    done
    die "server-start did not start (see $RAW/server.err)"
}
stop_server() {
    local i
    kill -TERM "$SPID" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
    SPID=""
}

run_streamlog() {
    local dir=$RAW/streamlog-data mark
    # 1. Cleaner off: the produce, then the data to clean.
    : >"$RAW/server.err"
    start_server "$dir" log.cleaner.enable=false
    create_topic "$SB" 0.01
    produce streamlog-off "$SB"
    stop_server
    R[streamlog:segments_before]=$(segments "$dir" | wc -l)
    R[streamlog:bytes_before]=$(log_bytes "$dir")
    # 2. The same data dir, cleaner on: one clean of everything below the active segment.
    local target
    target=$(active_base "$dir")
    mark=$(wc -l <"$RAW/server.err")
    log "streamlog: cleaning (up to offset $target)"
    start_server "$dir"
    R[streamlog:rss_start]=$(mib "$(status_kib "$SPID" VmRSS)")
    wait_clean streamlog "$dir/cleaner-offset-checkpoint" "$target" "$SPID"
    stop_server
    tail -n +$((mark + 1)) "$RAW/server.err" >"$RAW/streamlog.clean.log"
    cleaner_stats streamlog "$RAW/streamlog.clean.log"
    R[streamlog:segments_after]=$(segments "$dir" | wc -l)
    R[streamlog:bytes_after]=$(log_bytes "$dir")
    rm -rf "$dir"
    # 3. A fresh data dir, cleaner on during the produce.
    dir=$RAW/streamlog-data-on
    mark=$(wc -l <"$RAW/server.err")
    start_server "$dir"
    create_topic "$SB" 0.01
    produce streamlog-on "$SB"
    R[streamlog-on:hwm]=$(mib "$(status_kib "$SPID" VmHWM)")
    stop_server
    tail -n +$((mark + 1)) "$RAW/server.err" >"$RAW/streamlog-on.log"
    cleaner_stats streamlog-on "$RAW/streamlog-on.log"
    rm -rf "$dir"
}

run_kafka() {
    local port pid target
    KDIR=$RAW/kafka
    port=$(free_port)
    log "kafka: starting the reference broker"
    STREAMLOG_KAFKA_LOG_LEVEL=INFO STREAMLOG_KAFKA_JAVA_OPTS=$KAFKA_BROKER_JAVA_OPTS \
        timeout -k 10 300 "$KAFKA_SH" broker-start "$port" "$KDIR" >"$RAW/kafka.start.out" 2>&1 ||
        die "the reference broker did not start (see $RAW/kafka.start.out)"
    local kb=127.0.0.1:$port dyn="log.cleaner.backoff.ms=$BACKOFF_MS"
    [[ -n $DEDUPE_BUFFER ]] && dyn+=",log.cleaner.dedupe.buffer.size=$DEDUPE_BUFFER"
    STREAMLOG_KAFKA_JAVA_OPTS=$CLIENT_JAVA_OPTS timeout 120 "$KAFKA_SH" run org.apache.kafka.tools.ConfigCommand \
        --bootstrap-server "$kb" --entity-type brokers --entity-default --alter --add-config "$dyn" \
        >"$RAW/kafka.configs.out" 2>&1 || die "kafka-configs failed (see $RAW/kafka.configs.out)"
    # Ratio 1: never exceeded, so the cleaner leaves the log alone while it is produced.
    create_topic "$kb" 1
    produce kafka "$kb"
    pid=$(cat "$KDIR/broker.pid")
    local ldir=$KDIR/logs
    R[kafka:segments_before]=$(segments "$ldir" | wc -l)
    R[kafka:bytes_before]=$(log_bytes "$ldir")
    target=$(active_base "$ldir")
    R[kafka:rss_start]=$(mib "$(status_kib "$pid" VmRSS)")
    log "kafka: cleaning (up to offset $target)"
    STREAMLOG_KAFKA_JAVA_OPTS=$CLIENT_JAVA_OPTS timeout 120 "$KAFKA_SH" run org.apache.kafka.tools.ConfigCommand \
        --bootstrap-server "$kb" --entity-type topics --entity-name $TOPIC --alter \
        --add-config min.cleanable.dirty.ratio=0.01 >>"$RAW/kafka.configs.out" 2>&1 ||
        die "kafka-configs failed (see $RAW/kafka.configs.out)"
    wait_clean kafka "$ldir/cleaner-offset-checkpoint" "$target" "$pid"
    # The stats are logged just after the checkpoint is written.
    sleep 1
    cleaner_stats kafka "$KDIR/broker.log"
    R[kafka:segments_after]=$(segments "$ldir" | wc -l)
    R[kafka:bytes_after]=$(log_bytes "$ldir")
    timeout -k 5 60 "$KAFKA_SH" broker-stop "$KDIR" >/dev/null 2>&1 || true
    cp "$KDIR/broker.log" "$RAW/kafka.broker.log"
    rm -rf "$KDIR"
    KDIR=""
}

for b in $BROKERS; do
    case $b in
        streamlog) run_streamlog ;;
        kafka) run_kafka ;;
        *) die "unknown broker '$b' in BROKERS" ;;
    esac
done

# --- the table ---------------------------------------------------------------------------------
v() { echo "${R[$1]:--}"; }
mb_of() { [[ -n ${R[$1]:-} ]] && awk -v b="${R[$1]}" 'BEGIN { printf "%.1f", b / 1048576 }' || echo -; }
dedupe=${DEDUPE_BUFFER:-134217728}
echo
echo "command: ${ENV_USED}${CMDLINE}"
echo "data: $RECORDS records of 100 B (10 B key + 90 B value) over $KEYS keys; segment.bytes=$SEGMENT_BYTES;" \
    "log.cleaner.backoff.ms=$BACKOFF_MS; log.cleaner.dedupe.buffer.size=$(mib $((dedupe / 1024))) MiB; server-start: $SERVER"
echo
echo "| | server-start | Kafka 4.4 |"
echo "|---|---|---|"
echo "| cleaner throughput, own log line (MB/s) | $(v streamlog:clean_mbs) | $(v kafka:clean_mbs) |"
echo "| MB of log processed / seconds (passes) | $(v streamlog:clean_mb) MB / $(v streamlog:clean_s) s ($(v streamlog:passes)) | $(v kafka:clean_mb) MB / $(v kafka:clean_s) s ($(v kafka:passes)) |"
echo "| wall time to the checkpoint (s) | $(v streamlog:clean_wall) | $(v kafka:clean_wall) |"
echo "| records read → kept by the passes | $(v streamlog:read) → $(v streamlog:kept) | $(v kafka:read) → $(v kafka:kept) |"
echo "| log size before → after (MiB) | $(mb_of streamlog:bytes_before) → $(mb_of streamlog:bytes_after) | $(mb_of kafka:bytes_before) → $(mb_of kafka:bytes_after) |"
echo "| segments before → after | $(v streamlog:segments_before) → $(v streamlog:segments_after) | $(v kafka:segments_before) → $(v kafka:segments_after) |"
echo "| RSS at start / max sampled / VmHWM while cleaning (MiB) | $(v streamlog:rss_start) / $(v streamlog:rss_max) / $(v streamlog:hwm) | $(v kafka:rss_start) / $(v kafka:rss_max) / $(v kafka:hwm) (JVM) |"
echo "| produce, cleaner off (records/s, MB/s) | $(v streamlog-off:produce_rps), $(v streamlog-off:produce_mbs) | $(v kafka:produce_rps), $(v kafka:produce_mbs) (cleaner on, log not dirty enough) |"
echo "| produce, cleaner cleaning (records/s, MB/s; passes meanwhile) | $(v streamlog-on:produce_rps), $(v streamlog-on:produce_mbs) ($(v streamlog-on:passes)); VmHWM $(v streamlog-on:hwm) MiB | |"
if [[ -n ${KEEP:-} ]]; then echo; echo "raw output: $RAW"; fi
