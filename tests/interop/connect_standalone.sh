#!/usr/bin/env bash
# Apache Kafka Connect 4.2.0 in standalone mode against server-start: the quickstart's
# "import/export your data as streams of events" step, with its three properties files as Kafka
# ships them (bootstrap.servers pointed at the test broker, plugin.path at the connect-file jar,
# the offset file in the temp dir, offsets flushed every second rather than every ten, and the
# REST listener on a free loopback port instead of 8083). FileStreamSource reads test.txt into
# connect-test (auto-created by the broker), FileStreamSink writes it to test.sink.txt.
# Connect's jars come from tests/kafka-ref/kafka.sh connect-fetch (Maven Central, cached outside
# the repo). Starts its own broker.
set -euo pipefail

script=connect_standalone
. "$(dirname "$0")/_broker.sh"
tools=$(dirname "$bin")
kafka=$repo/tests/kafka-ref/kafka.sh
command -v curl >/dev/null || fail setup "curl not found (for Connect's REST API)"
"$kafka" connect-fetch >/dev/null || fail setup "cannot fetch Kafka Connect's jars (needs java and mvn)"
plugin=$("$kafka" connect-plugin-path)
start_broker group.initial.rebalance.delay.ms=0

worker=
stop_worker() { [[ -n $worker ]] && kill -KILL "$worker" 2>/dev/null || true; }
trap 'stop_worker; stop_now' EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rest_port=$(free_port)
rest=http://127.0.0.1:$rest_port
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
worker_log() { echo "--- Connect worker log (tail):"; grep -v '^\s*at ' "$work/connect/worker.log" | tail -40; }
wfail() { worker_log; fail "$@"; }

# The quickstart's config/connect-standalone.properties, connect-file-source.properties and
# connect-file-sink.properties (Kafka 4.2.0), in the worker's working directory.
mkdir -p "$work/connect"
cd "$work/connect"
cat >connect-standalone.properties <<EOF
bootstrap.servers=$b
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=true
value.converter.schemas.enable=true
offset.storage.file.filename=$work/connect/connect.offsets
offset.flush.interval.ms=1000
listeners=http://127.0.0.1:$rest_port
plugin.path=$plugin
EOF
cat >connect-file-source.properties <<'EOF'
name=local-file-source
connector.class=FileStreamSource
tasks.max=1
file=test.txt
topic=connect-test
EOF
cat >connect-file-sink.properties <<'EOF'
name=local-file-sink
connector.class=FileStreamSink
tasks.max=1
file=test.sink.txt
topics=connect-test
EOF
printf 'foo\nbar\n' >test.txt

t0=$(now)
STREAMLOG_KAFKA_LOG_LEVEL=INFO "$kafka" connect-run org.apache.kafka.connect.cli.ConnectStandalone \
    connect-standalone.properties connect-file-source.properties connect-file-sink.properties \
    </dev/null >worker.log 2>&1 &
worker=$!

# Waits up to $2 seconds for the command in "${@:3}" to succeed; $1 names the check.
wait_for() {
    local name=$1 secs=$2 i
    for ((i = 0; i < secs * 5; i++)); do
        "${@:3}" && return 0
        kill -0 "$worker" 2>/dev/null || wfail "$script.$name" "the Connect worker exited"
        sleep 0.2
    done
    return 1
}
both_running() {
    local s
    for c in local-file-source local-file-sink; do
        s=$(curl -sf "$rest/connectors/$c/status") || return 1
        [[ $(jq -r '[.connector.state] + [.tasks[].state] | join(",")' <<<"$s") == RUNNING,RUNNING ]] || return 1
    done
}
wait_for start 150 both_running || wfail "$script.start" "connectors not RUNNING within 150 s"
start_s=$(elapsed "$t0")
pass start
echo "  worker start to both connectors RUNNING: $start_s s ($(grep -o 'Kafka Connect worker initialization took [0-9]*ms' worker.log | tail -1 | sed 's/Kafka Connect worker //'), of which $(grep -o 'Scanning plugins with [A-Za-z]* took [0-9]* ms' worker.log | sed 's/Scanning plugins with //' | paste -sd, | sed 's/,/, /g'))"

sink_is() { [[ -f test.sink.txt && $(cat test.sink.txt) == "$1" ]]; }
wait_for sink 30 sink_is $'foo\nbar' ||
    wfail "$script.sink" "test.sink.txt is not foo, bar: $(cat test.sink.txt 2>/dev/null || echo '(missing)')"
echo "  worker start to foo and bar in test.sink.txt: $(elapsed "$t0") s"
pass sink

# Auto-created by the broker (Connect's producer asked for it in Metadata), one partition.
out=$(timeout 30 "$tools/topics" --bootstrap-server "$b" --describe --topic connect-test 2>&1) ||
    fail "$script.topic" "$out"
[[ $out == *$'PartitionCount: 1\tReplicationFactor: 1'* ]] || fail "$script.topic" "$out"
pass topic

out=$(timeout 30 "$tools/console-consumer" --bootstrap-server "$b" --topic connect-test --from-beginning \
    --max-messages 2 2>"$work/consumer.err") || fail "$script.consume" "$(cat "$work/consumer.err")"
want='{"schema":{"type":"string","optional":false},"payload":"foo"}
{"schema":{"type":"string","optional":false},"payload":"bar"}'
[[ $out == "$want" ]] || fail "$script.consume" "connect-test holds: $out"
pass consume

echo "Another line" >>test.txt
wait_for append 30 sink_is $'foo\nbar\nAnother line' ||
    wfail "$script.append" "test.sink.txt is: $(cat test.sink.txt)"
pass append

# The sink task commits what it wrote (group connect-local-file-sink), the source its file
# position (in the offset file).
wait_for committed 15 grep -qs local-file-source connect.offsets ||
    wfail "$script.offsets" "no source offset in connect.offsets"
committed() {
    out=$(timeout 30 "$tools/consumer-groups" --bootstrap-server "$b" --describe \
        --group connect-local-file-sink 2>&1) || return 1
    [[ $(awk '$1 == "connect-local-file-sink" && $2 == "connect-test" { print $4 "/" $5 }' <<<"$out") == 3/3 ]]
}
wait_for offsets 15 committed || wfail "$script.offsets" "sink group offsets: $out"
pass offsets

# Graceful stop: the worker stops its connectors and exits.
kill -TERM "$worker"
code=0
wait "$worker" || code=$?
worker=
[[ $code == 0 || $code == 143 ]] || wfail "$script.worker-stop" "worker exited $code"
grep -q 'Kafka Connect stopped' worker.log || wfail "$script.worker-stop" "no 'Kafka Connect stopped' in the log"
pass worker-stop

cd /
stop_broker shutdown
