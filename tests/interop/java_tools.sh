#!/usr/bin/env bash
# The Java client through Apache Kafka 4.x's own tools (tests/kafka-ref/kafka.sh) against
# server-start: topics create/describe (through DescribeTopicPartitions)/list, console producer
# -> console consumer (with a group), kafka-log-dirs (DescribeLogDirs), consumer-groups describe
# and reset-offsets, producer-perf-test. Starts its own broker.
set -euo pipefail

script=java_tools
. "$(dirname "$0")/_broker.sh"
kafka=$repo/tests/kafka-ref/kafka.sh
"$kafka" fetch >/dev/null || fail setup "cannot fetch Kafka's jars (needs java and mvn)"
# Each request's API and version at trace level, to see which API a tool used.
export RUST_LOG=${RUST_LOG:-streamlog::broker::handler=trace}
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
# Kafka 4's admin client describes topics with DescribeTopicPartitions when the broker has it
# (Metadata is only its fallback).
grep -q 'api_key=DescribeTopicPartitions version=0' "$stderr_file" ||
    fail "$script.topics-describe" "the describe did not use DescribeTopicPartitions"
pass topics-describe

# Paged: two partitions per DescribeTopicPartitions answer, every partition still described once.
out=$(run org.apache.kafka.tools.TopicCommand --bootstrap-server "$b" --describe --topic jt \
    --partition-size-limit-per-response 2 2>&1) || fail "$script.topics-describe-paged" "$out"
[[ $(grep -c $'\tTopic: jt\tPartition: ' <<<"$out") == 3 ]] || fail "$script.topics-describe-paged" "$out"
pass topics-describe-paged

out=$(run org.apache.kafka.tools.TopicCommand --bootstrap-server "$b" --list 2>&1) || fail "$script.topics-list" "$out"
[[ $(grep -x jt <<<"$out") == jt ]] || fail "$script.topics-list" "$out"
pass topics-list

# The Java producer is idempotent by default: InitProducerId and sequence numbers.
seq 1 100 | sed 's/^/line-/' >"$work/lines"
out=$(run org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$b" --topic jt <"$work/lines" 2>&1) ||
    fail "$script.console-producer" "$out"
pass console-producer

# kafka-log-dirs: the one log dir (the data dir) and each partition's size, which must be the
# bytes of its segment files.
for topics in "" jt; do
    out=$(run org.apache.kafka.tools.LogDirsCommand --bootstrap-server "$b" --describe \
        ${topics:+--topic-list "$topics"} 2>&1) || fail "$script.log-dirs" "$out"
    on_disk=$(cat "$work"/data/jt-*/*.log | wc -c)
    tail -1 <<<"$out" | python3 -c '
import json, os, sys
data_dir, on_disk = sys.argv[1], int(sys.argv[2])
doc = json.load(sys.stdin)
[broker] = doc["brokers"]
[log_dir] = broker["logDirs"]
assert broker["broker"] == 1 and log_dir["error"] is None, doc
assert log_dir["logDir"] == os.path.abspath(data_dir), (log_dir["logDir"], data_dir)
jt = {p["partition"]: p["size"] for p in log_dir["partitions"] if p["partition"].startswith("jt-")}
assert sorted(jt) == ["jt-0", "jt-1", "jt-2"], jt
assert sum(jt.values()) == on_disk > 0, (jt, on_disk)
assert all(p["offsetLag"] == 0 and p["isFuture"] is False for p in log_dir["partitions"]), doc
' "$work/data" "$on_disk" || fail "$script.log-dirs" "$out"
done
grep -q 'api_key=DescribeLogDirs version=4' "$stderr_file" || fail "$script.log-dirs" "not DescribeLogDirs v4"
pass log-dirs

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
