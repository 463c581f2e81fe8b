#!/usr/bin/env bash
# Apache Kafka Connect 4.2.0 in distributed mode against server-start (tests/kafka-ref/kafka.sh
# connect-run: Maven Central jars cached outside the repo). One worker, REST on a free loopback
# port; its config, offset and status topics are created by Connect itself (compacted: the worker
# refuses to start unless cleanup.policy is exactly compact). Over REST, a FileStreamSource
# (numbered lines -> topic connect-dist) and a FileStreamSink (-> a file). Checks:
#   (a) 10,000 lines reach the sink file;
#   (b) the worker is killed with SIGKILL while a second 10,000 flow, then restarted: every line
#       arrives (at least once: duplicates are counted and reported, split into source re-sends
#       and sink re-writes, not failed on), both connectors are listed and RUNNING again, and
#       both resumed from stored offsets (line-1 is in the sink once: no re-send from the start);
#   (c) server-start is stopped (SIGTERM) and started again on the same port and data dir while
#       the worker runs: new lines flow;
#   (d) compaction of Connect's internal topics: segment.ms=100 and min.cleanable.dirty.ratio=0.01
#       set on them with Kafka's own kafka-configs (ConfigCommand, 4.4.0), activity until the log
#       cleaner's cleaner-offset-checkpoint lists cleaned offsets for all three topics, then the
#       worker is killed and restarted: both connectors with their configs, offsets resumed;
#   (e) 100,000 lines appended at once reach the sink file (lines/s through the pipeline).
# Worker settings beyond connect-distributed.properties, for a short test: offsets flushed every
# second; the sink task's consumer with a 10 s session timeout instead of 45 s (after a SIGKILL
# its group waits that long for the dead member, as on Kafka); plugin.discovery=service_load
# (skips the ~12 s reflective plugin scan; the standalone script keeps the default); heap 256 MB.
# Starts its own broker with an explicit port (restarted in (c)) and log.cleaner.backoff.ms=200.
# KEEP_WORK=1 keeps the temp dir (logs, data) for a look.
set -euo pipefail

script=connect_distributed
. "$(dirname "$0")/_broker.sh"
tools=$(dirname "$bin")
kafka=$repo/tests/kafka-ref/kafka.sh
command -v curl >/dev/null || fail setup "curl not found (for Connect's REST API)"
command -v jq >/dev/null || fail setup "jq not found (to read Connect's REST answers)"
[[ -x $bin ]] || fail setup "$bin is not built (cargo build --bins), or set SERVER_START"
"$kafka" connect-fetch >/dev/null || fail setup "cannot fetch Kafka Connect's jars (needs java and mvn)"
"$kafka" fetch >/dev/null || fail setup "cannot fetch Kafka's jars (for kafka-configs)"
plugin=$("$kafka" connect-plugin-path)

work=$(mktemp -d -t "streamlog-$script-XXXXXX")
data=$work/data
stderr_file=$work/server-start.stderr
pid=
worker=
stop_worker() { [[ -n ${worker:-} ]] && kill -KILL "$worker" 2>/dev/null || true; }
trap 'stop_worker; if [[ -n ${KEEP_WORK:-} ]]; then kill -KILL "$pid" 2>/dev/null; echo "kept $work"; else stop_now; fi' EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
bport=$(free_port)
rest_port=$(free_port)
while [[ $rest_port == "$bport" ]]; do rest_port=$(free_port); done
b=127.0.0.1:$bport
rest=http://127.0.0.1:$rest_port

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
worker_log() { echo "--- Connect worker log (tail, no stack frames):"; grep -v '^\s*at ' "$work/worker.log" | tail -30 | cut -c1-400; }
wfail() { worker_log; fail "$@"; }
figure() { echo "  $*"; }

# server-start on 127.0.0.1:$bport with the data in $data; returns once it has printed its
# listening line. Appends to one stdout/stderr file across restarts.
start_server() {
    local out=$work/server-start.out i
    : >"$out"
    "$bin" --override "log.dirs=$data" --override "listeners=PLAINTEXT://$b" \
        --override group.initial.rebalance.delay.ms=0 --override log.cleaner.backoff.ms=200 \
        >"$out" 2>>"$stderr_file" </dev/null &
    pid=$!
    for ((i = 0; i < 150; i++)); do
        grep -q "^streamlog broker listening on $b " "$out" && return 0
        kill -0 "$pid" 2>/dev/null || fail setup "server-start exited: $(cat "$out")"
        sleep 0.2
    done
    fail setup "server-start printed no listening line within 30 s: $(cat "$out")"
}

cat >"$work/connect-distributed.properties" <<EOF
bootstrap.servers=$b
group.id=connect-cluster
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=true
value.converter.schemas.enable=true
offset.storage.topic=connect-offsets
offset.storage.replication.factor=1
config.storage.topic=connect-configs
config.storage.replication.factor=1
status.storage.topic=connect-status
status.storage.replication.factor=1
offset.flush.interval.ms=1000
consumer.session.timeout.ms=10000
consumer.heartbeat.interval.ms=3000
listeners=http://127.0.0.1:$rest_port
plugin.path=$plugin
plugin.discovery=service_load
EOF

start_worker() {
    echo "=== worker start $(date +%T.%N)" >>"$work/worker.log"
    STREAMLOG_KAFKA_LOG_LEVEL=INFO "$kafka" connect-run org.apache.kafka.connect.cli.ConnectDistributed \
        "$work/connect-distributed.properties" </dev/null >>"$work/worker.log" 2>&1 &
    worker=$!
}

# wait_until NAME SECS CMD...: runs CMD every 0.2 s until it succeeds (0) or SECS pass (1); fails
# NAME at once if the worker has exited.
wait_until() {
    local name=$1 secs=$2 i
    for ((i = 0; i < secs * 5; i++)); do
        "${@:3}" && return 0
        [[ -z $worker ]] || kill -0 "$worker" 2>/dev/null || wfail "$script.$name" "the Connect worker exited"
        sleep 0.2
    done
    return 1
}

get() { curl -sf -m 10 "$rest$1"; }
# KIP-1017 (3.9+): 503 while the worker starts, 200 once its herder has started (for a
# distributed worker: joined the group, internal topics created and read).
healthy() { get /health >/dev/null; }
connectors() { get /connectors | jq -c 'sort'; }
running() { # NAME: the connector and each of its tasks RUNNING, at least one task
    local s
    s=$(get "/connectors/$1/status") || return 1
    [[ $(jq -r '[.connector.state] + [.tasks[].state] | join(",")' <<<"$s") == RUNNING,RUNNING ]]
}
both_running() { running dist-source && running dist-sink; }
listed() { [[ $(connectors 2>/dev/null) == '["dist-sink","dist-source"]' ]]; }
resumed() { listed && both_running; }
# Duplicates (sink lines minus distinct lines) and topic records not from the source file, before
# a step; dup_report counts from them.
mark() { before_sink=$(dups); before_topic=$(($(topic_end) - $(wc -l <"$src"))); }

# numbered lines FROM..TO
lines() { seq "$1" "$2" | sed 's/^/line-/'; }
src=$work/source.txt
sink=$work/sink.txt
sink_unique() { [[ -f $sink ]] && sort -u "$sink" | wc -l || echo 0; }
sink_total() { [[ -f $sink ]] && wc -l <"$sink" || echo 0; }
# Every line of the source file is in the sink file, and nothing else is.
sink_complete() { [[ -f $sink ]] && cmp -s <(sort -u "$sink") <(sort "$src"); }
dups() { echo $(($(sink_total) - $(sink_unique))); }
# Records in connect-dist (its log-end offset, as the sink's group sees it).
topic_end() {
    timeout 30 "$tools/consumer-groups" --bootstrap-server "$b" --describe --group connect-dist-sink 2>/dev/null |
        awk '$1 == "connect-dist-sink" && $2 == "connect-dist" { print $5 }'
}
# Duplicates in the sink file since the counts BEFORE_SINK BEFORE_TOPIC, split into records the
# source sent again (from its last stored file position) and ones the sink wrote again (from its
# group's last committed offset).
dup_report() {
    local end total
    end=$(topic_end)
    total=$(($(dups) - $1))
    echo "$total (source re-sent $((end - $(wc -l <"$src") - $2)), sink re-wrote $((total - (end - $(wc -l <"$src") - $2))))"
}
# A source that started again from its file's beginning, or a sink that read the topic again from
# offset 0, would write line-1 a second time.
not_from_start() { [[ $(grep -cx line-1 "$sink") == 1 ]]; }

source_config=$(jq -cn --arg f "$src" \
    '{"connector.class": "FileStreamSource", "tasks.max": "1", "file": $f, "topic": "connect-dist"}')
sink_config=$(jq -cn --arg f "$sink" \
    '{"connector.class": "FileStreamSink", "tasks.max": "1", "file": $f, "topics": "connect-dist"}')
# POST /connectors, retried while the worker answers 409 (rebalance in progress) or not at all.
create() {
    local name=$1 config=$2 i code
    for ((i = 0; i < 100; i++)); do
        code=$(curl -s -m 10 -o "$work/post.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
            --data "$(jq -cn --arg n "$name" --argjson c "$config" '{name: $n, config: $c}')" "$rest/connectors") || true
        [[ $code == 201 ]] && return 0
        [[ $code == 409 ]] && get "/connectors/$name" >/dev/null 2>&1 && return 0
        sleep 0.3
    done
    wfail "$script.create" "POST /connectors $name: HTTP $code $(cat "$work/post.out" 2>/dev/null)"
}

# --- the worker on server-start ----------------------------------------------------------------
start_server
t0=$(now)
start_worker
wait_until start 90 healthy || wfail "$script.start" "GET /health not 200 within 90 s: $(curl -s -m 5 "$rest/health")"
figure "first worker start (launch to GET /health answering 200, internal topics created): $(elapsed "$t0") s"
grep -o 'Kafka Connect worker initialization took [0-9]*ms' "$work/worker.log" | tail -1 | sed 's/^/  /'
pass start

# Connect created its internal topics compacted, with its partition counts.
describe() { timeout 30 "$tools/topics" --bootstrap-server "$b" --describe --topic "$1" 2>&1; }
# has_config DESCRIBE-OUTPUT NAME=VALUE: the topic line's "Configs: a=1,b=2" holds exactly that.
has_config() {
    local c
    c=$(sed -n 's/^Topic: .*\tConfigs: //p' <<<"$1" | head -1)
    [[ ,$c, == *,$2,* ]]
}
for spec in connect-configs:1 connect-offsets:25 connect-status:5; do
    topic=${spec%:*}
    out=$(describe "$topic") || fail "$script.internal-topics" "$out"
    [[ $out == *$'PartitionCount: '"${spec#*:}"$'\tReplicationFactor: 1'* ]] && has_config "$out" cleanup.policy=compact ||
        fail "$script.internal-topics" "$topic: $out"
done
pass internal-topics

# --- (a) 10,000 lines --------------------------------------------------------------------------
create dist-sink "$sink_config"
lines 1 10000 >"$src"
t0=$(now)
create dist-source "$source_config"
wait_until flow 60 sink_complete || wfail "$script.flow" "sink has $(sink_unique) of 10000 lines"
secs=$(elapsed "$t0")
figure "(a) 10,000 lines, source connector created to all in the sink file: $secs s ($(awk -v s="$secs" 'BEGIN { printf "%.0f", 10000 / s }') lines/s), duplicates $(dups)"
wait_until flow 30 both_running || wfail "$script.flow" "connectors not RUNNING: $(get '/connectors?expand=status')"
pass flow

# --- (b) SIGKILL the worker mid-flow, restart it -----------------------------------------------
# Lines 10001..20000 in 20 chunks 0.1 s apart; the worker is killed after the 10th.
mark
for ((c = 0; c < 20; c++)); do
    lines $((10001 + c * 500)) $((10500 + c * 500)) >>"$src"
    if [[ $c == 9 ]]; then
        kill -KILL "$worker"
        wait "$worker" 2>/dev/null || true
        worker=
        figure "(b) killed the worker (SIGKILL) with $(sink_unique) lines in the sink, 15000 written so far"
    fi
    sleep 0.1
done
t0=$(now)
start_worker
wait_until restart 90 healthy || wfail "$script.restart" "GET /health not 200 within 90 s after the restart"
figure "(b) worker restart to GET /health 200: $(elapsed "$t0") s"
# The statuses in connect-status still say RUNNING from before the kill: data flowing again is
# what shows the connectors were started again.
wait_until restart 90 sink_complete || wfail "$script.restart" "sink has $(sink_unique) of 20000 lines"
figure "(b) worker restart to all 20,000 lines in the sink: $(elapsed "$t0") s; duplicates after kill -9: $(dup_report "$before_sink" "$before_topic")"
resumed || wfail "$script.restart" "after the restart: GET /connectors = $(connectors 2>&1), statuses $(get '/connectors?expand=status' 2>&1)"
pass restart
not_from_start || fail "$script.resume" "line-1 is in the sink $(grep -cx line-1 "$sink") times: sent again from the start"
pass resume

# --- (c) restart server-start under the worker -------------------------------------------------
mark
kill -TERM "$pid"
code=0
wait "$pid" || code=$?
pid=
[[ $code == 0 && $(grep -c 'stopped cleanly' "$stderr_file") == 1 ]] ||
    fail "$script.broker-restart" "server-start exited $code on SIGTERM, or did not say it stopped cleanly"
t0=$(now)
start_server
lines 20001 25000 >>"$src"
wait_until broker-restart 90 sink_complete || wfail "$script.broker-restart" "sink has $(sink_unique) of 25000 lines"
figure "(c) server-start restarted; 5,000 new lines in the sink $(elapsed "$t0") s after it started again; duplicates $(dup_report "$before_sink" "$before_topic")"
wait_until broker-restart 30 resumed || wfail "$script.broker-restart" "connectors not RUNNING: $(get '/connectors?expand=status')"
not_from_start || fail "$script.broker-restart" "line-1 is in the sink $(grep -cx line-1 "$sink") times"
pass broker-restart

# --- (d) compaction of Connect's topics --------------------------------------------------------
configs() {
    STREAMLOG_KAFKA_JAVA_OPTS="-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1" \
        timeout 60 "$kafka" run org.apache.kafka.tools.ConfigCommand --bootstrap-server "$b" "$@" 2>&1
}
for topic in connect-configs connect-offsets connect-status; do
    out=$(configs --alter --entity-type topics --entity-name "$topic" \
        --add-config segment.ms=100,min.cleanable.dirty.ratio=0.01) || fail "$script.alter-configs" "$topic: $out"
    [[ $out == *"Completed updating config for topic $topic."* ]] || fail "$script.alter-configs" "$topic: $out"
    out=$(describe "$topic") || fail "$script.alter-configs" "$out"
    has_config "$out" segment.ms=100 && has_config "$out" min.cleanable.dirty.ratio=0.01 &&
        has_config "$out" cleanup.policy=compact || fail "$script.alter-configs" "$topic after the change: $out"
done
pass alter-configs

# Activity on all three topics, repeated until the cleaner has been through them: pausing and
# resuming writes target states (connect-configs) and statuses (connect-status); lines moving make
# the source commit its file position (connect-offsets), under the same key each time. With
# segment.ms=100 each append rolls a segment, so the older ones become cleanable.
checkpoint=$data/cleaner-offset-checkpoint
cleaned() { # TOPIC: a checkpoint entry for one of its partitions with an offset > 0
    [[ -f $checkpoint ]] && awk -v t="$1" 'NR > 2 && $1 == t && $3 > 0 { found = 1 } END { exit !found }' "$checkpoint"
}
all_cleaned() { cleaned connect-configs && cleaned connect-offsets && cleaned connect-status; }
segments() { # TOPIC: .log files over all its partitions
    find "$data" -path "$data/$1-*/*.log" 2>/dev/null | wc -l
}
put() { curl -sf -m 10 -X PUT "$rest$1" >/dev/null || true; }
mark
next=25001
t0=$(now)
deadline=$(($(date +%s) + 60))
until all_cleaned; do
    if (($(date +%s) >= deadline)); then
        echo "  cleaner-offset-checkpoint: $([[ -f $checkpoint ]] && tr '\n' ' ' <"$checkpoint" || echo '(missing)')"
        echo "  segments: $(for t in connect-configs connect-offsets connect-status; do printf '%s %s  ' "$t" "$(segments "$t")"; done)"
        fail "$script.compaction" "no cleaner-offset-checkpoint entries with offset > 0 for all of connect-configs, connect-offsets, connect-status within 60 s"
    fi
    kill -0 "$worker" 2>/dev/null || wfail "$script.compaction" "the Connect worker exited"
    put /connectors/dist-source/pause
    put /connectors/dist-sink/pause
    sleep 0.3
    put /connectors/dist-source/resume
    put /connectors/dist-sink/resume
    lines "$next" $((next + 99)) >>"$src"
    next=$((next + 100))
    sleep 1.2
done
figure "(d) cleaner-offset-checkpoint lists all three topics $(elapsed "$t0") s after the first activity: $(tail -n +3 "$checkpoint" | grep '^connect-' | tr '\n' ',')"
figure "(d) segments: $(for t in connect-configs connect-offsets connect-status; do printf '%s %s  ' "$t" "$(segments "$t")"; done)"
# What a reader of each topic now gets: records left of the offsets written.
kept() {
    timeout 30 "$tools/console-consumer" --bootstrap-server "$b" --topic "$1" --from-beginning --timeout-ms 2000 \
        --format '%p %o\n' 2>/dev/null |
        awk '{ n++; if ($2 + 1 > end[$1]) end[$1] = $2 + 1 } END { for (p in end) t += end[p]; printf "%d of %d records", n, t }'
}
figure "(d) left after cleaning: $(for t in connect-configs connect-offsets connect-status; do printf '%s %s; ' "$t" "$(kept "$t")"; done)"
pass compaction

wait_until compacted-restart 60 sink_complete || wfail "$script.compacted-restart" "sink has $(sink_unique) of $((next - 1)) lines"
wait_until compacted-restart 30 both_running || wfail "$script.compacted-restart" "connectors not RUNNING: $(get '/connectors?expand=status')"
mark
kill -KILL "$worker"
wait "$worker" 2>/dev/null || true
worker=
t0=$(now)
start_worker
wait_until compacted-restart 90 healthy || wfail "$script.compacted-restart" "GET /health not 200 within 90 s"
for spec in "dist-source:$source_config" "dist-sink:$sink_config"; do
    name=${spec%%:*}
    got=$(get "/connectors/$name/config" | jq -cS .) || wfail "$script.compacted-restart" "GET /connectors/$name/config"
    want=$(jq -cS --arg n "$name" '. + {name: $n}' <<<"${spec#*:}")
    [[ $got == "$want" ]] || fail "$script.compacted-restart" "$name config after compaction: $got, want $want"
done
lines "$next" $((next + 4999)) >>"$src"
next=$((next + 5000))
wait_until compacted-restart 90 sink_complete || wfail "$script.compacted-restart" "sink has $(sink_unique) of $((next - 1)) lines"
figure "(d) restarted on compacted topics: all $((next - 1)) lines $(elapsed "$t0") s after the restart; duplicates $(dup_report "$before_sink" "$before_topic")"
resumed || wfail "$script.compacted-restart" "GET /connectors = $(connectors 2>&1), statuses $(get '/connectors?expand=status' 2>&1)"
not_from_start || fail "$script.compacted-restart" "line-1 is in the sink $(grep -cx line-1 "$sink") times: sent again from the start"
pass compacted-restart

# --- (e) throughput: 100,000 lines at once through the running pipeline -------------------------
mark
lines "$next" $((next + 99999)) >>"$src"
next=$((next + 100000))
t0=$(now)
wait_until throughput 90 sink_complete || wfail "$script.throughput" "sink has $(sink_unique) of $((next - 1)) lines"
secs=$(elapsed "$t0")
figure "(e) 100,000 lines appended at once, all in the sink after $secs s ($(awk -v s="$secs" 'BEGIN { printf "%.0f", 100000 / s }') lines/s); duplicates $(dup_report "$before_sink" "$before_topic")"
pass throughput

kill -TERM "$worker"
wait "$worker" 2>/dev/null || true
worker=
# SIGTERM: exit 0 and a second "stopped cleanly" (the first was in (c)).
kill -TERM "$pid"
code=0
wait "$pid" || code=$?
pid=
[[ $code == 0 && $(grep -c 'stopped cleanly' "$stderr_file") == 2 ]] ||
    fail "$script.shutdown" "server-start exited $code; stderr has $(grep -c 'stopped cleanly' "$stderr_file") 'stopped cleanly'"
pass shutdown
