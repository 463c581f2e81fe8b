#!/usr/bin/env bash
# Apache Kafka Streams 4.2.0 against server-start: the quickstart's "process your events with
# Kafka Streams" step (WordCountDemo from kafka-streams-examples, jars from tests/kafka-ref/kafka.sh
# streams-fetch: Maven Central, cached outside the repo), then the same topology exactly once.
#   (a) the quickstart: streams-plaintext-input and streams-wordcount-output (compacted) created
#       with `topics`, WordCountDemo started with a properties file giving only bootstrap.servers
#       and state.dir, the three lines typed with `console-producer`, the counts read with
#       `console-consumer --from-beginning --property print.key=true --property
#       value.deserializer=...LongDeserializer`: the last count of each word (kafka 3, streams 2,
#       summit 1, ...); then the app stopped with SIGTERM.
#   (b) exactly_once_v2 (application.id streams-wordcount-eos, same topics, words of its own):
#       2,000 lines of known words in 8 bursts; after burst 1 a read_committed consumer must see
#       counts of it (the first transactions committed); the Streams JVM is killed (SIGKILL) while
#       burst 2 trickles in (about 200 lines/s) and started again; server-start is stopped (SIGTERM)
#       and started again on the same port and data dir once burst 4 has been written, and killed
#       (SIGKILL) and started again once burst 6 has. Each failure waits until a read_uncommitted
#       consumer has seen 100 new counts, so that it hits Streams mid-transaction; the
#       console-producer itself never sees a broker go away. Then a
#       read_committed console-consumer must see, for each word, the counts 1, 2, ..., N exactly
#       once and in order, N being how often the word was produced (no double counting, no loss).
#   (c) the app's repartition topic was purged: Streams' DeleteRecords moved its log start offset
#       past 0 (repartition.purge.interval.ms=1000 here; Kafka's default is 30 s).
#   (d) latency, input line to its count seen by a consumer: the output record's CreateTime (the
#       input record's, which Streams passes on) to the moment a console-consumer printed it; the
#       median of 5 probes, as `INFO latency_ms=...` for (a) and `INFO eos_latency_ms=...` for (b).
# PASS lines: topics, quickstart, latency, quickstart-stop, eos-start, eos-commit, eos-kill-app,
# eos-broker-restart, eos-broker-kill, eos-counts, repartition-purged, eos-stop, shutdown.
# Extra settings of the exactly-once app: commit.interval.ms=100 (the EOS default),
# producer.linger.ms=0 (Streams' default of 100 ms keeps a transaction's records in the producer
# until the commit flushes them, so a kill would find data of an open transaction in the log only
# in a window of a few ms: with 0 the aborted records are there for read_committed to skip),
# session.timeout.ms=6000 and heartbeat.interval.ms=1500 (after a SIGKILL the group waits that
# long for the dead member, rather than 45 s).
#
# Environment:
#   STREAMLOG_BIN     where server-start, topics, console-producer, console-consumer and
#                     consumer-groups are (default target/debug; SERVER_START still names
#                     server-start alone)
#   STREAMS_TARGET    streamlog (default) or kafka: run against Apache Kafka 4.4.0 (kafka.sh
#                     broker-start) instead of server-start, to check the script itself
#   STREAMS_TOOLS     streamlog (default) or kafka: the topics / console tools used, ours or
#                     Kafka 4.4.0's Java ones (TopicCommand, ConsoleProducer, ConsoleConsumer,
#                     ConsumerGroupCommand)
#   INTEROP_TIMEOUT   the limit for the whole script (default 240 s)
#   KEEP_WORK=1       keep the temp dir (logs, data) for a look
set -euo pipefail

script=streams_wordcount
if [[ -n ${STREAMLOG_BIN:-} && -z ${SERVER_START:-} ]]; then
    export SERVER_START=$STREAMLOG_BIN/server-start
fi
. "$(dirname "$0")/_broker.sh"
tools=${STREAMLOG_BIN:-$(dirname "$bin")}
kafka=$repo/tests/kafka-ref/kafka.sh
target=${STREAMS_TARGET:-streamlog}
toolset=${STREAMS_TOOLS:-streamlog}
[[ $target == streamlog || $target == kafka ]] || fail "$script.setup" "STREAMS_TARGET must be streamlog or kafka, not $target"
[[ $toolset == streamlog || $toolset == kafka ]] || fail "$script.setup" "STREAMS_TOOLS must be streamlog or kafka, not $toolset"
"$kafka" streams-fetch >/dev/null || fail "$script.setup" "cannot fetch Kafka Streams' jars (needs java and mvn)"
if [[ $target == kafka || $toolset == kafka ]]; then
    "$kafka" fetch >/dev/null || fail "$script.setup" "cannot fetch Kafka 4.4.0's jars"
fi
if [[ $target == streamlog ]]; then
    [[ -x $bin ]] || fail "$script.setup" "$bin is not built (cargo build --bins), or set STREAMLOG_BIN"
fi

# The client tools, as command arrays (so that `"${CONSUMER[@]}" ... &` gives the tool's own pid:
# kafka.sh run execs java).
if [[ $toolset == kafka ]]; then
    jrun=(env "STREAMLOG_KAFKA_JAVA_OPTS=-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1" "$kafka" run)
    TOPICS=("${jrun[@]}" org.apache.kafka.tools.TopicCommand)
    PRODUCER=("${jrun[@]}" org.apache.kafka.tools.ConsoleProducer)
    CONSUMER=("${jrun[@]}" org.apache.kafka.tools.consumer.ConsoleConsumer)
    GROUPS_TOOL=("${jrun[@]}" org.apache.kafka.tools.consumer.group.ConsumerGroupCommand)
else
    for t in topics console-producer console-consumer consumer-groups; do
        [[ -x $tools/$t ]] || fail "$script.setup" "$tools/$t is not built (cargo build --bins), or set STREAMLOG_BIN"
    done
    TOPICS=("$tools/topics")
    PRODUCER=("$tools/console-producer")
    CONSUMER=("$tools/console-consumer")
    GROUPS_TOOL=("$tools/consumer-groups")
fi

work=$(mktemp -d -t "streamlog-$script-XXXXXX")
data=$work/data
stderr_file=
pid=
app=
bg_pids=()
# Everything this script started, killed (some already gone: no errexit here).
cleanup() {
    set +e
    [[ -n ${app:-} ]] && kill -KILL "$app" 2>/dev/null
    local p
    for p in "${bg_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    if [[ $target == kafka ]]; then
        [[ -f $data/broker.pid ]] && kill -KILL "$(cat "$data/broker.pid")" 2>/dev/null
    else
        [[ -n ${pid:-} ]] && kill -KILL "$pid" 2>/dev/null
    fi
    wait 2>/dev/null
    if [[ -n ${KEEP_WORK:-} ]]; then echo "kept $work"; else rm -rf "$work"; fi
    return 0
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
bport=$(free_port)
if [[ $target == kafka ]]; then # kafka.sh puts the controller on PORT+1
    while port_open $((bport + 1)); do bport=$(free_port); done
fi
b=127.0.0.1:$bport
now() { date +%s.%N; }
now_ms() { date +%s%3N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
figure() { echo "  $*"; }
info() { echo "INFO $*"; }

# The Streams app's log (the current launch), its tail without stack frames on failure.
app_log=
app_n=0
# squeeze: runs of lines equal but for their leading timestamp as one, "[Nx] first line".
squeeze() {
    awk 'function out() { if (n) print (n > 1 ? "[" n "x] " : "") first }
        { k = $0; sub(/^[0-9TZ:.,-]+ [0-9:,]* ?/, "", k); if (n && k == p) n++; else { out(); first = $0; p = k; n = 1 } }
        END { out() }'
}
app_tail() {
    [[ -n $app_log && -f $app_log ]] || return 0
    echo "--- Streams log $(basename "$app_log") (tail, no stack frames, no config dumps):"
    grep -v -e '^\s*at ' -e '^\s[a-z][a-z0-9._-]* = ' "$app_log" | squeeze | tail -25 | cut -c1-400
}
broker_tail() {
    if [[ $target == kafka ]]; then
        echo "--- Kafka broker log (tail):"
        squeeze <"$data/broker.log" 2>/dev/null | tail -15 | cut -c1-400
    else
        echo "--- server-start stderr (tail):"
        squeeze <"$work/server-start.stderr" 2>/dev/null | tail -20 | cut -c1-400
    fi
}
sfail() { app_tail; broker_tail; fail "$script.$1" "$2"; }

# --- the broker ---------------------------------------------------------------------------------
# server-start (or Kafka 4.4.0) on $b with its data in $data; returns once it listens.
start_server() {
    if [[ $target == kafka ]]; then
        "$kafka" broker-start "$bport" "$data" >>"$work/kafka-start.log" 2>&1 ||
            { cat "$work/kafka-start.log"; fail "$script.setup" "Kafka 4.4.0 broker did not start"; }
        return 0
    fi
    local out=$work/server-start.out i
    : >"$out"
    "$bin" --override "log.dirs=$data" --override "listeners=PLAINTEXT://$b" \
        --override group.initial.rebalance.delay.ms=0 \
        >"$out" 2>>"$work/server-start.stderr" </dev/null &
    pid=$!
    for ((i = 0; i < 150; i++)); do
        grep -q "^streamlog broker listening on $b " "$out" && return 0
        kill -0 "$pid" 2>/dev/null || sfail setup "server-start exited: $(cat "$out")"
        sleep 0.2
    done
    sfail setup "server-start printed no listening line within 30 s: $(cat "$out")"
}
clean_stops=0
# stop_server TERM|KILL NAME: SIGTERM (must exit 0 and, for server-start, say it stopped
# cleanly) or SIGKILL.
stop_server() {
    local sig=$1 name=$2 code=0
    if [[ $target == kafka ]]; then
        if [[ $sig == TERM ]]; then
            "$kafka" broker-stop "$data"
        else
            local kpid i
            kpid=$(cat "$data/broker.pid")
            kill -KILL "$kpid"
            for ((i = 0; i < 100; i++)); do
                kill -0 "$kpid" 2>/dev/null || break
                sleep 0.1
            done
            rm -f "$data/broker.pid"
        fi
        return 0
    fi
    kill "-$sig" "$pid"
    { wait "$pid"; } 2>/dev/null || code=$?
    pid=
    [[ $sig == KILL ]] && return 0
    clean_stops=$((clean_stops + 1))
    [[ $code == 0 ]] || sfail "$name" "server-start exited $code on SIGTERM"
    [[ $(grep -c 'stopped cleanly' "$work/server-start.stderr") == "$clean_stops" ]] ||
        sfail "$name" "server-start did not say it stopped cleanly"
}

# --- the Streams app ----------------------------------------------------------------------------
# start_app PROPS: WordCountDemo with that properties file, its log in $work/streams-N.log.
start_app() {
    app_n=$((app_n + 1))
    app_log=$work/streams-$app_n.log
    STREAMLOG_KAFKA_LOG_LEVEL=INFO "$kafka" streams-run org.apache.kafka.streams.examples.wordcount.WordCountDemo \
        "$1" </dev/null >"$app_log" 2>&1 &
    app=$!
}
# The client moved to RUNNING (after its first rebalance) at least N times in this launch.
app_running() {
    local n
    n=$(grep -c 'stream-client .*State transition from REBALANCING to RUNNING' "$app_log" 2>/dev/null) || true
    ((${n:-0} >= ${1:-1}))
}
app_check() { # NAME: fail if the app died or went to ERROR
    kill -0 "$app" 2>/dev/null || sfail "$1" "the Streams app exited"
    ! grep -qs 'State transition from [A-Z_]* to \(PENDING_\)\?ERROR' "$app_log" ||
        sfail "$1" "the Streams app went to ERROR"
}
# wait_until NAME SECS CMD...: runs CMD every 0.1 s until it succeeds (0) or SECS pass (1); fails
# NAME at once if the app has died.
wait_until() {
    local name=$1 secs=$2 i
    for ((i = 0; i < secs * 10; i++)); do
        "${@:3}" && return 0
        [[ -z $app ]] || app_check "$name"
        sleep 0.1
    done
    return 1
}
stop_app() { # NAME: SIGTERM, a clean close (exit 0, or 143 from the signal)
    local code=0
    kill -TERM "$app"
    wait "$app" || code=$?
    app=
    [[ $code == 0 || $code == 143 ]] || sfail "$1" "the Streams app exited $code on SIGTERM"
}
kill_app() {
    kill -KILL "$app"
    wait "$app" 2>/dev/null || true
    app=
}

# --- consumers ----------------------------------------------------------------------------------
# bg_consume FILE ARGS...: a console-consumer of streams-wordcount-output in the background,
# printing CreateTime, key and count.
bg_consume() {
    local file=$1
    shift
    : >"$file"
    "${CONSUMER[@]}" --bootstrap-server "$b" --topic streams-wordcount-output --from-beginning \
        --property print.key=true --property print.timestamp=true \
        --property value.deserializer=org.apache.kafka.common.serialization.LongDeserializer \
        "$@" </dev/null >"$file" 2>"$file.err" &
    bg_pids+=($!)
    consumer=$!
}
stop_consumer() { kill -KILL "$1" 2>/dev/null; wait "$1" 2>/dev/null || true; }
# last_counts FILE WORD...: "word=count ..." for those words, the last count printed for each
# ("word=-" if none). Lines are "CreateTime:T<TAB>word<TAB>count" or "word<TAB>count".
last_counts() {
    local file=$1
    shift
    awk -F'\t' -v words="$*" '
        { k = $(NF - 1); last[k] = $NF }
        END { n = split(words, w, " "); for (i = 1; i <= n; i++) printf "%s%s=%s", (i > 1 ? " " : ""), w[i], (w[i] in last ? last[w[i]] : "-") }
    ' "$file"
}

# probe NAME OUTFILE WORD N: produces WORD, waits until OUTFILE (a bg_consume with timestamps)
# shows "WORD N"; appends the ms from the record's CreateTime to then to $lat.
probe() {
    local name=$1 file=$2 word=$3 n=$4 line i seen
    echo "$word" | timeout 30 "${PRODUCER[@]}" --bootstrap-server "$b" --topic streams-plaintext-input 2>>"$work/producer.err" ||
        sfail "$name" "console-producer failed: $(tail -3 "$work/producer.err")"
    for ((i = 0; i < 3000; i++)); do
        line=$(grep -m1 -P "\t$word\t$n\$" "$file" || true)
        if [[ -n $line ]]; then
            seen=$(now_ms)
            [[ $line =~ ^CreateTime:([0-9]+) ]] || sfail "$name" "no CreateTime in '$line'"
            lat+=($((seen - BASH_REMATCH[1])))
            return 0
        fi
        sleep 0.01
    done
    sfail "$name" "the count $word $n did not appear within 30 s"
}
median() { tr ' ' '\n' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# =============================================================================================
start_server
figure "target: $target ($([[ $target == kafka ]] && echo "Apache Kafka 4.4.0" || echo "$bin")), tools: $toolset, broker $b"

# --- (a) the quickstart -------------------------------------------------------------------------
out=$(timeout 60 "${TOPICS[@]}" --create --topic streams-plaintext-input --bootstrap-server "$b" 2>&1) ||
    sfail topics "$out"
[[ $out == *'Created topic streams-plaintext-input.'* ]] || sfail topics "$out"
out=$(timeout 60 "${TOPICS[@]}" --create --topic streams-wordcount-output --config cleanup.policy=compact \
    --bootstrap-server "$b" 2>&1) || sfail topics "$out"
[[ $out == *'Created topic streams-wordcount-output.'* ]] || sfail topics "$out"
pass topics

cat >"$work/wordcount.properties" <<EOF
bootstrap.servers=$b
state.dir=$work/state
EOF
t0=$(now)
start_app "$work/wordcount.properties"
wait_until quickstart 60 app_running || sfail quickstart "not RUNNING within 60 s"
figure "(a) WordCountDemo launch to RUNNING: $(elapsed "$t0") s"

printf 'all streams lead to kafka\nhello kafka streams\njoin kafka summit\n' |
    timeout 30 "${PRODUCER[@]}" --bootstrap-server "$b" --topic streams-plaintext-input 2>"$work/producer.err" ||
    sfail quickstart "console-producer failed: $(cat "$work/producer.err")"
# The quickstart's consumer, as typed there (in the background, read while it runs).
: >"$work/a.out"
"${CONSUMER[@]}" --bootstrap-server "$b" --topic streams-wordcount-output --from-beginning \
    --property print.key=true \
    --property value.deserializer=org.apache.kafka.common.serialization.LongDeserializer \
    </dev/null >"$work/a.out" 2>"$work/a.err" &
bg_pids+=($!)
qc=$!
want_a='all=1 streams=2 lead=1 to=1 kafka=3 hello=1 join=1 summit=1'
counted_a() { [[ $(last_counts "$work/a.out" all streams lead to kafka hello join summit) == "$want_a" ]]; }
wait_until quickstart 60 counted_a ||
    sfail quickstart "last counts $(last_counts "$work/a.out" all streams lead to kafka hello join summit), want $want_a; consumer: $(tail -3 "$work/a.err")"
figure "(a) output: $(grep -P '\t' "$work/a.out" | tr '\t\n' ' ,' | sed 's/,$//')"
stop_consumer "$qc"
pass quickstart

# (d) latency under at-least-once (the demo's settings).
bg_consume "$work/lat-a.out"
lc=$consumer
wait_until latency 30 grep -qP '\tsummit\t1$' "$work/lat-a.out" || sfail latency "the latency consumer read nothing"
lat=()
for i in 1 2 3 4 5; do probe latency "$work/lat-a.out" latencyprobe "$i"; done
stop_consumer "$lc"
info "latency_ms=$(echo "${lat[*]}" | median) (at-least-once, median of 5 probes: ${lat[*]})"
pass latency

stop_app quickstart-stop
pass quickstart-stop

# --- (b) exactly_once_v2 under failures ---------------------------------------------------------
cat >"$work/eos.properties" <<EOF
bootstrap.servers=$b
state.dir=$work/state
application.id=streams-wordcount-eos
processing.guarantee=exactly_once_v2
commit.interval.ms=100
repartition.purge.interval.ms=1000
producer.linger.ms=0
session.timeout.ms=6000
heartbeat.interval.ms=1500
EOF
# 2,000 lines of 5 words each from 12 words of their own (none of (a)'s), in 8 bursts of 250.
words=(alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima)
awk -v w="${words[*]}" 'BEGIN {
    srand(7); n = split(w, v, " ")
    for (i = 0; i < 2000; i++) { l = ""; for (j = 0; j < 5; j++) l = l (j ? " " : "") v[int(rand() * n) + 1]; print l }
}' >"$work/eos-input.txt"
split -l 250 -d -a 1 "$work/eos-input.txt" "$work/burst-"
want_b=$(for w in "${words[@]}"; do printf '%s=%s ' "$w" "$(tr ' ' '\n' <"$work/eos-input.txt" | grep -cx "$w")"; done)
want_b=${want_b% }
burst() { # N (0-7)
    timeout 60 "${PRODUCER[@]}" --bootstrap-server "$b" --topic streams-plaintext-input \
        <"$work/burst-$1" 2>>"$work/producer.err" ||
        sfail "eos" "console-producer failed on burst $1: $(tail -3 "$work/producer.err")"
}
# trickle N: burst N a line every 5 ms (linger 5 ms), in the background; $tp is the producer.
trickle() {
    python3 -c '
import sys, time
for line in open(sys.argv[1]):
    sys.stdout.write(line)
    sys.stdout.flush()
    time.sleep(0.005)
' "$work/burst-$1" | timeout 60 "${PRODUCER[@]}" --bootstrap-server "$b" --topic streams-plaintext-input \
        --timeout 5 2>>"$work/producer.err" &
    tp=$!
    bg_pids+=($tp)
}

t0=$(now)
start_app "$work/eos.properties"
wait_until eos-start 60 app_running || sfail eos-start "not RUNNING within 60 s"
figure "(b) exactly-once app launch to RUNNING: $(elapsed "$t0") s"
pass eos-start

# The first transactions commit: a read_committed consumer sees counts of the new words.
tb=$(now)
burst 0
bg_consume "$work/eos-first.out" --isolation-level read_committed
fc=$consumer
first_committed() { grep -qP '\t(alpha|bravo|charlie|delta)\t' "$work/eos-first.out"; }
wait_until eos-commit 30 first_committed ||
    sfail eos-commit "no count of burst 1 visible to a read_committed consumer within 30 s; consumer: $(tail -3 "$work/eos-first.out.err")"
stop_consumer "$fc"
figure "(b) burst 1 produced to its first counts committed: $(elapsed "$tb") s"
pass eos-commit
# Each failure below waits until Streams is busy writing counts (a read_uncommitted consumer of
# the output has seen 100 new ones), so that it lands inside a transaction with records in the log.
# watch N: that consumer, once it has read what is there (its count steady for 0.4 s; 20 s at most).
watch() {
    local n=-1 m i
    bg_consume "$work/watch-$1.out" --consumer-property isolation.level=read_uncommitted
    watcher=$consumer
    wfile=$work/watch-$1.out
    for ((i = 0; i < 50; i++)); do
        sleep 0.4
        m=$(grep -c . "$wfile" || true)
        [[ $m == "$n" && $m -gt 0 ]] && break
        n=$m
    done
    wbase=$m
}
# busy: until the watcher has 100 records more than at watch (10 s at most); $seen = how many.
busy() {
    local i
    for ((i = 0; i < 500; i++)); do
        seen=$(($(grep -c . "$wfile" || true) - wbase))
        ((seen >= 100)) && break
        sleep 0.02
    done
    stop_consumer "$watcher"
}

watch 1
trickle 1
busy
kill_app
wait "$tp" || sfail eos-kill-app "console-producer failed on burst 2: $(tail -3 "$work/producer.err")"
figure "(b) killed the Streams app (SIGKILL) while burst 2 of 8 trickled in, $seen new counts written"
t0=$(now)
start_app "$work/eos.properties"
burst 2
wait_until eos-kill-app 90 app_running || sfail eos-kill-app "restarted app not RUNNING within 90 s"
figure "(b) restarted app launch to RUNNING: $(elapsed "$t0") s"
pass eos-kill-app

watch 2
burst 3
busy
stop_server TERM eos-broker-restart
t0=$(now)
start_server
figure "(b) broker stopped (SIGTERM) with burst 4 written and $seen of its counts, started again in $(elapsed "$t0") s"
burst 4
app_check eos-broker-restart
pass eos-broker-restart

watch 3
burst 5
busy
stop_server KILL eos-broker-kill
t0=$(now)
start_server
figure "(b) broker killed (SIGKILL) with burst 6 written and $seen of its counts, started again in $(elapsed "$t0") s"
burst 6
burst 7
app_check eos-broker-kill
pass eos-broker-kill

# The counts as a read_committed consumer sees them, until each word has reached its total.
bg_consume "$work/eos.out" --isolation-level read_committed
ec=$consumer
counted_b() { [[ $(last_counts "$work/eos.out" "${words[@]}") == "$want_b" ]]; }
wait_until eos-counts 90 counted_b ||
    sfail eos-counts "read_committed last counts $(last_counts "$work/eos.out" "${words[@]}"), want $want_b; consumer: $(tail -3 "$work/eos.out.err")"
figure "(b) first burst to all counts committed: $(elapsed "$tb") s"
# (d) latency under exactly_once_v2 (commit.interval.ms=100), read_committed.
lat=()
for i in 1 2 3 4 5; do probe eos-latency "$work/eos.out" eosprobe "$i"; done
info "eos_latency_ms=$(echo "${lat[*]}" | median) (exactly_once_v2, read_committed, median of 5 probes: ${lat[*]})"
sleep 1 # anything counted twice would come after the totals
stop_consumer "$ec"
# Each word's counts must be 1, 2, ..., N: once each, in order.
bad=$(awk -F'\t' -v words="${words[*]}" '
    BEGIN { n = split(words, w, " "); for (i = 1; i <= n; i++) mine[w[i]] = 1 }
    ($2 in mine) { if ($3 != last[$2] + 1) { bad[$2] = bad[$2] " " last[$2] "->" $3 } last[$2] = $3; seen[$2]++ }
    END { for (k in bad) printf "%s:%s (%d records);", k, substr(bad[k], 1, 120), seen[k] }
' "$work/eos.out")
[[ -z $bad ]] || sfail eos-counts "read_committed counts not 1..N once each: $bad"
committed=$(grep -cP '\t' "$work/eos.out")
# (--consumer-property: our console-consumer's --isolation-level does not reach librdkafka, whose
# default is read_committed.)
all=$(timeout 60 "${CONSUMER[@]}" --bootstrap-server "$b" --topic streams-wordcount-output --from-beginning \
    --timeout-ms 3000 --consumer-property isolation.level=read_uncommitted --property print.key=true \
    --property value.deserializer=org.apache.kafka.common.serialization.LongDeserializer 2>/dev/null </dev/null |
    grep -cP '\t' || true)
figure "(b) output records: $committed read_committed, $all read_uncommitted ($((all - committed)) aborted)"
# Kafka keeps a group's generation and members across its restart: there the stream thread goes on
# with its transaction after a broker restart, unless the broker was down longer than
# session.timeout.ms (6 s; Kafka 4.4 takes 12 s to start after a SIGKILL). A broker that forgets
# them fences it (TxnOffsetCommit ILLEGAL_GENERATION): transaction aborted, records processed again.
figure "(b) the restarted app's stream thread was fenced $(grep -c 'Detected that the thread is being fenced' "$app_log" || true) times (TaskMigratedException: rebalance, abort, reprocess)"
pass eos-counts

# --- (c) the repartition topic was purged -------------------------------------------------------
repartition=streams-wordcount-eos-KSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition
# Its log start offset, as the earliest offset a dry-run reset of a new group would go to
# (ListOffsets EARLIEST).
log_start() {
    timeout 60 "${GROUPS_TOOL[@]}" --bootstrap-server "$b" --group streams-purge-check --topic "$repartition" \
        --reset-offsets --to-earliest --dry-run </dev/null 2>"$work/groups.err" |
        awk -v t="$repartition" '$2 == t && $3 == 0 { print $4 }' || true
}
purged() { first=$(log_start); [[ -n $first && $first -gt 0 ]]; }
wait_until repartition-purged 15 purged ||
    sfail repartition-purged "log start offset of $repartition: '${first:-none}', want > 0 (DeleteRecords); $(tail -3 "$work/groups.err")"
info "repartition_log_start_offset=$first (10,000 records and more went through it)"
pass repartition-purged

# --- the end ------------------------------------------------------------------------------------
stop_app eos-stop
pass eos-stop
stop_server TERM shutdown
pass shutdown
