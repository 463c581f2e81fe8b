#!/usr/bin/env bash
# Kafka transactions through Apache Kafka 4.4's own tools (tests/kafka-ref/kafka.sh) against
# server-start: kafka-producer-perf-test with a transactional id (a commit every 100 ms) read back
# by kafka-console-consumer --isolation-level read_committed; kafka-transactions list, describe,
# describe-producers, find-hanging and abort of a hanging transaction, left by a confluent-kafka
# producer killed with SIGKILL after sending. Starts its own broker.
#
# Binaries: $SERVER_START, else $STREAMLOG_BIN/server-start, else target/debug/server-start.
# TXN_AGAINST=kafka runs the same against a Kafka 4.4 broker (kafka.sh broker-start) instead.
set -euo pipefail

script=transactions_tools
if [[ -n ${STREAMLOG_BIN:-} && -z ${SERVER_START:-} ]]; then
    export SERVER_START=$STREAMLOG_BIN/server-start
fi
. "$(dirname "$0")/_broker.sh"
kafka=$repo/tests/kafka-ref/kafka.sh
"$kafka" fetch >/dev/null || fail setup "cannot fetch Kafka's jars (needs java and mvn)"
python3 -c 'import confluent_kafka' 2>/dev/null ||
    python3 -m pip install -q --disable-pip-version-check confluent-kafka >/dev/null 2>&1 ||
    fail setup "cannot install confluent-kafka"

hang_pid=
if [[ ${TXN_AGAINST:-} == kafka ]]; then
    work=$(mktemp -d -t "streamlog-$script-XXXXXX")
    trap '[[ -n $hang_pid ]] && kill -KILL $hang_pid 2>/dev/null; "$kafka" broker-stop "$work/kafka" >/dev/null 2>&1; rm -rf "$work"' EXIT
    port=$(python3 -c '
import socket
for _ in range(50):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    try:
        t = socket.socket(); t.bind(("127.0.0.1", p + 1)); t.close(); print(p); break
    except OSError:
        pass')
    "$kafka" broker-start "$port" "$work/kafka" >/dev/null 2>"$work/start.err" ||
        fail setup "kafka.sh broker-start: $(cat "$work/start.err")"
    b=127.0.0.1:$port
    stderr_file=$work/kafka/broker.log
    echo "# against Kafka 4.4 at $b"
else
    # Each request's API and version at trace level, to report which versions the tools used.
    export RUST_LOG=${RUST_LOG:-streamlog::broker::handler=trace}
    start_broker group.initial.rebalance.delay.ms=0
    trap '[[ -n $hang_pid ]] && kill -KILL $hang_pid 2>/dev/null; stop_now' EXIT
fi
t_start=$(date +%s%3N)

run() { timeout 90 "$kafka" run "$@"; }
txn() { run org.apache.kafka.tools.TransactionsCommand --bootstrap-server "$b" "$@"; }
# A kafka-transactions table with each cell's padding and the trailing tab removed.
norm() { sed -E 's/ +\t/\t/g; s/\t$//'; }
# Field N (1-based) of the row whose field K equals V, in a normalised table.
field() { awk -F'\t' -v k="$1" -v v="$2" -v n="$3" '$k == v { print $n; exit }'; }
now_ms() { date +%s%3N; }
in_window() { [[ $1 =~ ^[0-9]+$ ]] && ((t_start - 5000 <= $1 && $1 <= $(now_ms) + 5000)); }
consume() { # TOPIC ISOLATION [formatter props...]: every record until 4 s without one
    local topic=$1 iso=$2
    shift 2
    run org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$b" --topic "$topic" \
        --from-beginning --isolation-level "$iso" --timeout-ms 4000 "$@" 2>"$work/consumer.err" |
        grep -v 'KIP-848' || true
}
processed() { grep -o 'Processed a total of [0-9]* messages' "$work/consumer.err" || true; }

# --- producer-perf-test with transactions ------------------------------------------------------
records=20000
out=$(run org.apache.kafka.tools.TopicCommand --bootstrap-server "$b" --create --topic perf --partitions 3 2>&1) ||
    fail "$script.producer-perf" "$out"
t0=$(now_ms)
out=$(run org.apache.kafka.tools.ProducerPerformance --bootstrap-server "$b" --topic perf --num-records $records \
    --record-size 100 --throughput -1 --transactional-id tools-perf --transaction-duration-ms 100 2>&1) ||
    fail "$script.producer-perf" "$out"
[[ $out == *"$records records sent"* ]] || fail "$script.producer-perf" "$out"
perf_ms=$(($(now_ms) - t0))
# Each transaction ends with a control record in every partition it wrote to, taking an offset:
# the log end offsets add up to more than the records.
out=$(run org.apache.kafka.tools.GetOffsetShell --bootstrap-server "$b" --topic perf 2>&1) ||
    fail "$script.producer-perf" "GetOffsetShell: $out"
ends=$(awk -F: '$1 == "perf" { s += $3 } END { print s + 0 }' <<<"$out")
markers=$((ends - records))
((markers >= 1)) || fail "$script.producer-perf" "log end offsets add up to $ends for $records records: no markers"
echo "# producer-perf: $records records in $perf_ms ms (tool run included), $markers control records"
pass producer-perf-transactional

consume perf read_committed >/dev/null
[[ $(processed) == "Processed a total of $records messages" ]] ||
    fail "$script.console-consumer-read-committed" "$(cat "$work/consumer.err")"
pass console-consumer-read-committed

# --- a hanging transaction ---------------------------------------------------------------------
# One helper: a confluent-kafka transactional producer writing N records to partition 0; it
# commits, or (hang) prints "sent" after the flush and sleeps until killed.
cat >"$work/txn_producer.py" <<'EOF'
import sys, time
from confluent_kafka import Producer
b, txid, topic, n, how = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
p = Producer({"bootstrap.servers": b, "transactional.id": txid, "transaction.timeout.ms": 300000,
              "linger.ms": 5})
p.init_transactions(30)
p.begin_transaction()
for i in range(n):
    p.produce(topic, key=f"{txid}-{i}".encode(), value=f"{txid} {i}".encode(), partition=0)
assert p.flush(30) == 0
if how == "hang":
    print("sent", flush=True)
    time.sleep(3600)
p.commit_transaction(30)
print("committed", flush=True)
EOF
producer() { timeout 60 python3 "$work/txn_producer.py" "$b" "$@" 2>&1; }

out=$(run org.apache.kafka.tools.TopicCommand --bootstrap-server "$b" --create --topic hang --partitions 1 2>&1) ||
    fail "$script.hanging-transaction" "$out"
out=$(producer tools-ok-1 hang 3 commit) && [[ $out == *committed ]] || fail "$script.hanging-transaction" "tools-ok-1: $out"
# offsets 0-2, commit marker 3; then the hanging transaction at 4-8
mkfifo "$work/hang.out"
python3 "$work/txn_producer.py" "$b" tools-hang hang 5 hang >"$work/hang.out" 2>"$work/hang.err" &
hang_pid=$!
read -r -t 60 line <"$work/hang.out" || true
[[ ${line:-} == sent ]] || fail "$script.hanging-transaction" "the hanging producer did not send: $(cat "$work/hang.err")"
{ kill -KILL $hang_pid && wait $hang_pid; } 2>/dev/null || true
hang_pid=
# ok-2 at 9-10, marker 11, stuck behind the open transaction
out=$(producer tools-ok-2 hang 2 commit) && [[ $out == *committed ]] || fail "$script.hanging-transaction" "tools-ok-2: $out"
pass hanging-transaction

out=$(txn list 2>&1) || fail "$script.transactions-list" "$out"
list=$(norm <<<"$out")
[[ $(head -1 <<<"$list") == $'TransactionalId\tCoordinator\tProducerId\tTransactionState' ]] ||
    fail "$script.transactions-list" "header: $out"
got=$(tail -n +2 <<<"$list" | awk -F'\t' '{ print $1, $2, $4 }' | sort)
want=$'tools-hang 1 Ongoing\ntools-ok-1 1 CompleteCommit\ntools-ok-2 1 CompleteCommit\ntools-perf 1 CompleteCommit'
[[ $got == "$want" ]] || fail "$script.transactions-list" "$out"
declare -A producer_of
for id in tools-hang tools-ok-1 tools-ok-2 tools-perf; do
    producer_of[$id]=$(field 1 "$id" 3 <<<"$list")
    [[ ${producer_of[$id]} =~ ^[0-9]+$ ]] || fail "$script.transactions-list" "producer id of $id: $out"
done
[[ $(printf '%s\n' "${producer_of[@]}" | sort -u | wc -l) == 4 ]] || fail "$script.transactions-list" "producer ids not distinct: $out"
pass transactions-list

out=$(txn describe --transactional-id tools-hang 2>&1) || fail "$script.transactions-describe" "$out"
d=$(norm <<<"$out")
[[ $(head -1 <<<"$d") == $'CoordinatorId\tTransactionalId\tProducerId\tProducerEpoch\tTransactionState\tTransactionTimeoutMs\tCurrentTransactionStartTimeMs\tTransactionDurationMs\tTopicPartitions' ]] ||
    fail "$script.transactions-describe" "header: $out"
[[ $(wc -l <<<"$d") == 2 ]] || fail "$script.transactions-describe" "$out"
IFS=$'\t' read -r coord id prod epoch st timeout_ms start dur parts <<<"$(sed -n 2p <<<"$d")"
[[ $coord == 1 && $id == tools-hang && $prod == "${producer_of[tools-hang]}" && $epoch == 0 && $st == Ongoing &&
    $timeout_ms == 300000 && $parts == hang-0 ]] || fail "$script.transactions-describe" "$out"
in_window "$start" && [[ $dur =~ ^[0-9]+$ ]] && ((dur <= $(now_ms) - start + 1000)) ||
    fail "$script.transactions-describe" "start time $start / duration $dur: $out"
out=$(txn describe --transactional-id tools-perf 2>&1) || fail "$script.transactions-describe" "$out"
IFS=$'\t' read -r coord id prod epoch st timeout_ms start dur parts <<<"$(norm <<<"$out" | sed -n 2p)"
[[ $coord == 1 && $prod == "${producer_of[tools-perf]}" && $epoch =~ ^[0-9]+$ && $st == CompleteCommit &&
    $timeout_ms == 60000 && -z ${parts:-} ]] || fail "$script.transactions-describe" "tools-perf: $out"
code=0
out=$(txn describe --transactional-id tools-nope 2>&1) || code=$?
[[ $code == 1 && $out == *'Failed to describe transaction state of transactional-id `tools-nope`: DescribeTransactions request for transactionalId `tools-nope` failed because the ID could not be found.'* ]] ||
    fail "$script.transactions-describe" "unknown id (exit $code): $out"
pass transactions-describe

producers_header=$'ProducerId\tProducerEpoch\tLatestCoordinatorEpoch\tLastSequence\tLastTimestamp\tCurrentTransactionStartOffset'
out=$(txn describe-producers --topic hang --partition 0 2>&1) || fail "$script.describe-producers" "$out"
p=$(norm <<<"$out")
[[ $(head -1 <<<"$p") == "$producers_header" && $(wc -l <<<"$p") == 4 ]] || fail "$script.describe-producers" "$out"
for spec in "tools-ok-1 2 None" "tools-hang 4 4" "tools-ok-2 1 None"; do
    read -r id seq txstart <<<"$spec"
    IFS=$'\t' read -r prod epoch cepoch lastseq ts cur <<<"$(field 1 "${producer_of[$id]}" 0 <<<"$p")"
    [[ $prod == "${producer_of[$id]}" && $epoch == 0 && $cepoch =~ ^-?[0-9]+$ && $lastseq == "$seq" && $cur == "$txstart" ]] &&
        in_window "$ts" || fail "$script.describe-producers" "$id (producer id ${producer_of[$id]}): $out"
done
# LatestCoordinatorEpoch is checked last (a detail): saved until then.
producers_hang=$p
out=$(txn describe-producers --topic perf --partition 0 2>&1) || fail "$script.describe-producers" "$out"
IFS=$'\t' read -r prod epoch cepoch lastseq ts cur <<<"$(norm <<<"$out" | field 1 "${producer_of[tools-perf]}" 0)"
[[ $prod == "${producer_of[tools-perf]}" && $cur == None ]] && in_window "$ts" ||
    fail "$script.describe-producers" "perf-0, tools-perf (producer id ${producer_of[tools-perf]}): $out"
pass describe-producers

# The open transaction holds the last stable offset at 4: read_committed sees tools-ok-1 only.
got=$(consume hang read_committed)
[[ $got == $'tools-ok-1 0\ntools-ok-1 1\ntools-ok-1 2' ]] ||
    fail "$script.read-committed-stops-at-open" "$got $(cat "$work/consumer.err")"
pass read-committed-stops-at-open

# The coordinator knows the transaction (Ongoing, with hang-0): not hanging, even with a zero
# timeout.
out=$(txn find-hanging --topic hang --partition 0 --max-transaction-timeout 0 2>&1) || fail "$script.find-hanging" "$out"
[[ $(norm <<<"$out") == $'Topic\tPartition\tProducerId\tProducerEpoch\tCoordinatorEpoch\tStartOffset\tLastTimestamp\tDuration(min)' ]] ||
    fail "$script.find-hanging" "$out"
pass find-hanging

code=0
out=$(txn abort --topic hang --partition 0 --start-offset 3 2>&1) || code=$?
[[ $code == 1 && $out == 'Could not find any open transactions starting at offset 3 on partition hang-0' ]] ||
    fail "$script.abort" "at offset 3 (a marker), exit $code: $out"
out=$(txn abort --topic hang --partition 0 --start-offset 4 2>&1) || fail "$script.abort" "$out"
[[ -z $out ]] || fail "$script.abort" "$out"
out=$(txn describe-producers --topic hang --partition 0 2>&1) || fail "$script.abort" "$out"
IFS=$'\t' read -r prod epoch cepoch lastseq ts cur <<<"$(norm <<<"$out" | field 1 "${producer_of[tools-hang]}" 0)"
[[ $prod == "${producer_of[tools-hang]}" && $cur == None && $lastseq == 4 ]] || fail "$script.abort" "describe-producers after: $out"
got=$(consume hang read_committed)
[[ $got == $'tools-ok-1 0\ntools-ok-1 1\ntools-ok-1 2\ntools-ok-2 0\ntools-ok-2 1' ]] ||
    fail "$script.abort" "read_committed after: $got $(cat "$work/consumer.err")"
got=$(consume hang read_uncommitted --formatter-property print.offset=true | cut -f1 | tr '\n' ' ')
[[ $got == 'Offset:0 Offset:1 Offset:2 Offset:4 Offset:5 Offset:6 Offset:7 Offset:8 Offset:9 Offset:10 ' ]] ||
    fail "$script.abort" "read_uncommitted after: $got $(cat "$work/consumer.err")"
# The abort marker took offset 12.
out=$(run org.apache.kafka.tools.GetOffsetShell --bootstrap-server "$b" --topic hang 2>&1)
[[ $out == hang:0:13 ]] || fail "$script.abort" "log end: $out"
code=0
out=$(txn abort --topic hang --partition 0 --start-offset 4 2>&1) || code=$?
[[ $code == 1 && $out == 'Could not find any open transactions starting at offset 4 on partition hang-0' ]] ||
    fail "$script.abort" "again, exit $code: $out"
pass abort-hanging

if [[ ${TXN_AGAINST:-} != kafka ]]; then
    # Which versions of the transaction APIs the tools and clients used.
    apis=$(grep -oE 'api_key=(FindCoordinator|InitProducerId|AddPartitionsToTxn|AddOffsetsToTxn|TxnOffsetCommit|EndTxn|WriteTxnMarkers|ListTransactions|DescribeTransactions|DescribeProducers) version=[0-9]+' \
        "$stderr_file" | sed 's/api_key=//; s/ version=/ v/' | sort | uniq -c | awk '{ printf "%s %s x%d, ", $2, $3, $1 }')
    echo "# requests: ${apis%, }"
fi

# Kafka records the coordinator epoch of a producer's last marker (the commit markers carry 0 on
# a fresh broker) and shows -1 for a producer that has had no marker yet: the open transaction.
for id in tools-ok-1 tools-hang tools-ok-2; do
    cepoch=$(field 1 "${producer_of[$id]}" 3 <<<"$producers_hang")
    if [[ $id == tools-hang ]]; then want='^-1$'; else want='^[0-9]+$'; fi
    [[ $cepoch =~ $want ]] || fail "$script.describe-producers-coordinator-epoch" \
        "$id (producer id ${producer_of[$id]}) LatestCoordinatorEpoch $cepoch, want ${want//[\^\$]/} (Kafka 4.4: 0 after a marker, -1 before):
$producers_hang"
done
pass describe-producers-coordinator-epoch

echo "# $(($(now_ms) - t_start)) ms"
[[ ${TXN_AGAINST:-} == kafka ]] || stop_broker shutdown
