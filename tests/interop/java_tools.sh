#!/usr/bin/env bash
# The Java client through Apache Kafka 4.x's own tools (tests/kafka-ref/kafka.sh) against
# server-start: topics create/describe/list, console producer -> console consumer (with a group),
# consumer-groups describe and reset-offsets, producer-perf-test. Starts its own broker.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=${SERVER_START:-${CARGO_TARGET_DIR:-$repo/target}/debug/server-start}
kafka=$repo/tests/kafka-ref/kafka.sh
script=java_tools

fail() {
    printf 'FAIL %s: %s\n' "$1" "$2"
    if [[ -n ${stderr_file:-} && -f $stderr_file ]]; then
        echo "--- server-start stderr:"
        tail -20 "$stderr_file"
    fi
    exit 1
}
pass() { printf 'PASS %s.%s\n' "$script" "$1"; }

limit=${INTEROP_TIMEOUT:-240}
if [[ -z ${STREAMLOG_JAVA_TIMED:-} ]]; then
    STREAMLOG_JAVA_TIMED=1 exec timeout -k 10 "$limit" "$0" "$@"
fi
trap 'fail "$script" "timed out after $limit s"' TERM

[[ -x $bin ]] || fail setup "$bin is not built (cargo build --bins), or set SERVER_START"
"$kafka" fetch >/dev/null || fail setup "cannot fetch Kafka's jars (needs java and mvn)"

work=$(mktemp -d -t streamlog-java-XXXXXX)
stderr_file=$work/server-start.stderr
pid=
cleanup() {
    [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

mkfifo "$work/out"
"$bin" --override "log.dirs=$work/data" --override listeners=PLAINTEXT://127.0.0.1:0 \
    --override group.initial.rebalance.delay.ms=0 \
    >"$work/out" 2>"$stderr_file" </dev/null &
pid=$!
exec 3<"$work/out"
read -r -t 30 first <&3 || fail setup "server-start printed no first line"
[[ $first =~ ^streamlog\ broker\ listening\ on\ 127\.0\.0\.1:([0-9]+)\  ]] ||
    fail setup "unexpected first line: $first"
b=127.0.0.1:${BASH_REMATCH[1]}

run() { timeout 90 "$kafka" run "$@"; }

out=$(run org.apache.kafka.tools.TopicCommand --bootstrap-server "$b" --create --topic jt --partitions 3 2>&1) ||
    fail "$script.topics-create" "$out"
[[ $out == *"Created topic jt."* ]] || fail "$script.topics-create" "$out"
pass topics-create

out=$(run org.apache.kafka.tools.TopicCommand --bootstrap-server "$b" --describe --topic jt 2>&1) ||
    fail "$script.topics-describe" "$out"
[[ $out == *$'PartitionCount: 3\tReplicationFactor: 1'* && $(grep -c $'\tLeader: 1\tReplicas: 1\tIsr: 1' <<<"$out") == 3 ]] ||
    fail "$script.topics-describe" "$out"
pass topics-describe

out=$(run org.apache.kafka.tools.TopicCommand --bootstrap-server "$b" --list 2>&1) || fail "$script.topics-list" "$out"
[[ $(grep -x jt <<<"$out") == jt ]] || fail "$script.topics-list" "$out"
pass topics-list

# The Java producer is idempotent by default: InitProducerId and sequence numbers.
seq 1 100 | sed 's/^/line-/' >"$work/lines"
out=$(run org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$b" --topic jt <"$work/lines" 2>&1) ||
    fail "$script.console-producer" "$out"
pass console-producer

out=$(run org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$b" --topic jt \
    --from-beginning --group jg --max-messages 100 2>"$work/consumer.err") ||
    fail "$script.console-consumer" "$(cat "$work/consumer.err")"
[[ $(sort <<<"$out") == $(sort "$work/lines") ]] || fail "$script.console-consumer" "records differ: $out"
grep -q 'Processed a total of 100 messages' "$work/consumer.err" || fail "$script.console-consumer" "$(cat "$work/consumer.err")"
pass console-consumer-group

out=$(run org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$b" --describe --group jg 2>&1) ||
    fail "$script.groups-describe" "$out"
lag=$(awk '$1 == "jg" && $2 == "jt" { lag += $6 } END { print lag + 0 }' <<<"$out")
rows=$(awk '$1 == "jg" && $2 == "jt"' <<<"$out" | wc -l)
[[ $rows == 3 && $lag == 0 ]] || fail "$script.groups-describe" "$out"
pass groups-describe

out=$(run org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$b" --reset-offsets \
    --group jg --topic jt --to-earliest --execute 2>&1) || fail "$script.groups-reset" "$out"
out=$(run org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$b" --describe --group jg 2>&1) ||
    fail "$script.groups-reset" "$out"
lag=$(awk '$1 == "jg" && $2 == "jt" { lag += $6 } END { print lag + 0 }' <<<"$out")
[[ $lag == 100 ]] || fail "$script.groups-reset" "after reset to earliest: $out"
pass groups-reset

out=$(run org.apache.kafka.tools.ProducerPerformance --topic perf --num-records 20000 --record-size 100 \
    --throughput -1 --producer-props "bootstrap.servers=$b" acks=all 2>&1) || fail "$script.producer-perf" "$out"
[[ $out == *"20000 records sent"* ]] || fail "$script.producer-perf" "$out"
out=$(run org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$b" --topic perf \
    --from-beginning --max-messages 20000 2>&1 >/dev/null)
[[ $out == *"Processed a total of 20000 messages"* ]] || fail "$script.producer-perf" "read back: $out"
pass producer-perf

kill -TERM "$pid"
wait "$pid" || fail "$script.shutdown" "server-start exited $?"
pid=
grep -q 'stopped cleanly' "$stderr_file" || fail "$script.shutdown" "no clean stop"
pass shutdown
