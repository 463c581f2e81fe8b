#!/usr/bin/env bash
# The Java client through Apache Kafka 4.x's own tools (tests/kafka-ref/kafka.sh) against
# server-start: topics create/describe/list, console producer -> console consumer (with a group),
# consumer-groups describe and reset-offsets, producer-perf-test. Starts its own broker.
set -euo pipefail

script=java_tools
. "$(dirname "$0")/_broker.sh"
kafka=$repo/tests/kafka-ref/kafka.sh
"$kafka" fetch >/dev/null || fail setup "cannot fetch Kafka's jars (needs java and mvn)"
start_broker group.initial.rebalance.delay.ms=0

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

stop_broker shutdown
