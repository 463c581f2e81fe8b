#!/usr/bin/env bash
# streamlog's own tools over the wire (the rdkafka backend) against server-start: with
# --bootstrap-server, and by finding the broker that owns the data dir.
set -euo pipefail

script=streamlog_tools
. "$(dirname "$0")/_broker.sh"
tools=$(dirname "$bin")
start_broker group.initial.rebalance.delay.ms=0
t() { timeout 60 "$tools/$1" "${@:2}"; }

out=$(t topics --bootstrap-server "$b" --create --topic wire --partitions 2 2>&1) || fail "$script.topics" "$out"
[[ $out == "Created topic wire." ]] || fail "$script.topics" "$out"
out=$(t topics --bootstrap-server "$b" --describe --topic wire 2>&1) || fail "$script.topics" "$out"
[[ $out == *$'PartitionCount: 2\tReplicationFactor: 1'* ]] || fail "$script.topics" "$out"
[[ $(t topics --bootstrap-server "$b" --list) == wire ]] || fail "$script.topics" "list"
pass topics

printf 'k1\tone\nk2\ttwo\nk3\tthree\n' |
    t console-producer --bootstrap-server "$b" --topic wire --property parse.key=true ||
    fail "$script.produce" "console-producer failed"
pass produce

out=$(t console-consumer --bootstrap-server "$b" --topic wire --from-beginning --max-messages 3 \
    --property print.key=true 2>/dev/null | sort) || fail "$script.consume" "console-consumer failed"
[[ $out == $'k1\tone\nk2\ttwo\nk3\tthree' ]] || fail "$script.consume" "$out"
pass consume

out=$(t console-consumer --bootstrap-server "$b" --topic wire --from-beginning --group wg \
    --max-messages 3 2>/dev/null | wc -l) || fail "$script.group" "console-consumer --group failed"
[[ $out == 3 ]] || fail "$script.group" "read $out records"
# The broker owns the data dir: the tools pointed at the dir go over the wire too.
out=$(t consumer-groups --data-dir "$work/data" --describe --group wg --output json 2>/dev/null) ||
    fail "$script.group" "consumer-groups failed"
committed=$(python3 -c 'import json,sys; print(sum(json.loads(l)["current_offset"] for l in sys.stdin))' <<<"$out")
[[ $committed == 3 ]] || fail "$script.group" "$out"
pass group

# Two console consumers in one group: the second one's arrival moves partitions between them
# (librdkafka revokes and assigns; streamlog attaches each newly assigned partition to its
# batch queue), and records produced after that reach both, none lost.
t topics --bootstrap-server "$b" --create --topic split --partitions 4 >/dev/null ||
    fail "$script.rebalance" "create failed"
keyed() { seq "$1" "$2" | awk '{ printf "k%d\tv%d\n", $1, $1 }'; }
member() {
    timeout 60 "$tools/console-consumer" --bootstrap-server "$b" --topic split --group rg \
        --from-beginning --timeout-ms 8000 --property print.key=true >"$work/$1.out" 2>/dev/null
}
member a &
a_pid=$!
sleep 1
keyed 1 1000 | t console-producer --bootstrap-server "$b" --topic split --property parse.key=true ||
    fail "$script.rebalance" "first produce failed"
member b &
b_pid=$!
sleep 3
keyed 1001 2000 | t console-producer --bootstrap-server "$b" --topic split --property parse.key=true ||
    fail "$script.rebalance" "second produce failed"
wait "$a_pid" || fail "$script.rebalance" "member a failed"
wait "$b_pid" || fail "$script.rebalance" "member b failed"
missing=$(comm -23 <(keyed 1 2000 | sort) <(cat "$work/a.out" "$work/b.out" | sort -u) | wc -l)
[[ $missing == 0 ]] || fail "$script.rebalance" "$missing of 2000 records read by neither member"
late() { awk -F'\t' '{ sub(/^k/, "", $1) } $1 > 1000' "$work/$1.out" | wc -l; }
[[ $(late a) -gt 0 && $(late b) -gt 0 ]] ||
    fail "$script.rebalance" "records after the rebalance: a read $(late a), b read $(late b)"
t topics --bootstrap-server "$b" --delete --topic split >/dev/null || fail "$script.rebalance" "delete failed"
pass rebalance

out=$(t topics --data-dir "$work/data" --delete --topic wire 2>&1) || fail "$script.delete" "$out"
[[ -z $(t topics --bootstrap-server "$b" --list) ]] || fail "$script.delete" "topic still listed"
pass delete

# A named context carries the cluster and its client properties; --command-config takes Kafka's
# Java client names (translated for librdkafka) and --command-property beats both.
cat >"$work/config.toml" <<EOF
[contexts.local]
bootstrap-servers = "$b"
properties = { "client.id" = "from-context" }
EOF
cat >"$work/client.properties" <<EOF
key.serializer=org.apache.kafka.common.serialization.StringSerializer
ssl.endpoint.identification.algorithm=
EOF
export STREAMLOG_CONFIG=$work/config.toml
out=$(t topics --context local --command-config "$work/client.properties" --create --topic ctx 2>&1) ||
    fail "$script.context" "$out"
[[ $(STREAMLOG_CONTEXT=local t topics --list) == ctx ]] || fail "$script.context" "list via STREAMLOG_CONTEXT"
# A property librdkafka rejects proves the properties reach it; the error names the key.
out=$(t topics --context local --command-property socket.timeout.ms=soon --list 2>&1) &&
    fail "$script.context" "a bad --command-property was accepted"
[[ $(wc -l <<<"$out") == 1 && $out == *socket.timeout.ms* ]] || fail "$script.context" "$out"
out=$(t topics --context nowhere --list 2>&1) && fail "$script.context" "unknown context accepted"
[[ $out == *"context 'nowhere' is not in $work/config.toml (contexts: local)"* ]] || fail "$script.context" "$out"
unset STREAMLOG_CONFIG
pass context

started=$SECONDS
out=$(timeout 30 "$tools/topics" --bootstrap-server 127.0.0.1:1 --list 2>&1) && fail "$script.unreachable" "succeeded"
(( SECONDS - started < 10 )) || fail "$script.unreachable" "took $((SECONDS - started)) s (limit 10 s): $out"
[[ $(wc -l <<<"$out") == 1 && $out == *"127.0.0.1:1"* || $out == *"transport"* ]] ||
    fail "$script.unreachable" "$out"
pass unreachable

stop_broker shutdown
