#!/usr/bin/env bash
# streamlog's tools in remote mode (--bootstrap-server, through librdkafka) against a real
# three-node Apache Kafka 4.4 KRaft cluster on this machine (tests/kafka-ref/kafka.sh
# cluster-start), checked against Kafka's own TopicCommand:
#   - a topic with --partitions 3 --replication-factor 3: Leader, Replicas and Isr as Kafka shows
#   - one node stopped: --under-replicated-partitions lists what Kafka lists,
#     --unavailable-partitions lists nothing
#   - console-consumer in a group keeps reading while the leader of a partition is killed
#     (kill -9) and console-producer (acks=all) keeps producing: every acknowledged record is
#     read (at least once; duplicates are counted and reported), offsets are committed
#   - the killed node comes back and the Isr returns to 3
# Prints `PASS cluster.<name>` or `FAIL cluster.<name>: why` per check; exits non-zero if any
# check failed. Binaries from $STREAMLOG_BIN_DIR, else target/debug (cargo build --bins).
# Needs java 17+ and mvn (for the first fetch of Kafka's jars). Bounded by CLUSTER_TIMEOUT
# (else INTEROP_TIMEOUT, else 300 s); CLUSTER_KEEP=1 keeps the temp dir (cluster logs) for a look afterwards.
set -uo pipefail

script=cluster
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tools=${STREAMLOG_BIN_DIR:-${CARGO_TARGET_DIR:-$repo/target}/debug}
K=$repo/tests/kafka-ref/kafka.sh

# Bounded: re-run under timeout(1), which TERMs the whole process group (the Kafka nodes run
# in their own sessions; the EXIT trap kills them).
limit=${CLUSTER_TIMEOUT:-${INTEROP_TIMEOUT:-300}}
if [[ -z ${STREAMLOG_CLUSTER_TIMED:-} ]]; then
    STREAMLOG_CLUSTER_TIMED=1 exec timeout -k 15 "$limit" bash "$0" "$@"
fi

failures=0
pass() { printf 'PASS %s.%s\n' "$script" "$1"; }
fail() { # NAME WHY (the check failed; the script goes on)
    printf 'FAIL %s.%s: %s\n' "$script" "$1" "$2"
    failures=$((failures + 1))
}
note() { printf '  %s\n' "$*"; }
add() { [[ -n $1 ]] && problems+="${problems:+; }$1"; } # to $problems, the current check's
abort() { # NAME WHY: a failure the rest cannot run without
    fail "$1" "$2"
    exit 1
}

work=$(mktemp -d -t streamlog-cluster-XXXXXX)
cdir=$work/kafka
bgpids=()
started=$SECONDS
kill_tree() { # PID: it and every process under it
    local c
    for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$c"; done
    kill -KILL "$1" 2>/dev/null
}
cleanup() {
    local p
    for p in "${bgpids[@]}"; do kill_tree "$p"; done
    "$K" cluster-stop "$cdir" --kill >/dev/null 2>&1
    if [[ -n ${CLUSTER_KEEP:-} ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'fail run "timed out after $limit s"; exit 1' TERM

for t in topics console-producer console-consumer consumer-groups; do
    [[ -x $tools/$t ]] || abort setup "$tools/$t is not built (cargo build --bins, or set STREAMLOG_BIN_DIR)"
done

# Six consecutive free ports (3 client listeners, 3 controllers), below the ephemeral range.
base=$(python3 - <<'EOF'
import random, socket
for _ in range(500):
    base = random.randint(20000, 32000)
    socks = []
    try:
        for p in range(base, base + 6):
            s = socket.socket()
            s.bind(("127.0.0.1", p))
            socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    break
EOF
)
[[ $base =~ ^[0-9]+$ ]] || abort setup "found no six consecutive free ports"
bs=127.0.0.1:$base,127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2))

# Our tools over the wire; Kafka's TopicCommand (its stderr, full of connection WARNs while a
# node is down, goes to a file).
ours() { timeout 60 "$tools/$1" --bootstrap-server "$bs" "${@:2}"; }
kafka_topics() {
    timeout 60 "$K" run org.apache.kafka.tools.TopicCommand --bootstrap-server "$bs" "$@" \
        2>>"$work/kafka-tools.stderr"
}
# Partition lines only, with runs of white space (TABs, padding) made one space, sorted
# (Kafka prints several topics in HashMap order).
plines() { grep $'^\tTopic: ' | sed -E 's/[[:space:]]+/ /g; s/^ //; s/ $//' | sort; }
indent() { sed 's/^/    /'; }
# versus WHAT: "WHAT; ours:" and "Kafka's:" with both last outputs of same_as_kafka, indented.
versus() {
    printf '%s; ours:\n%s\n  Kafka'"'"'s:\n%s' "$1" "$(indent <<<"${ours_out:-(nothing)}")" \
        "$(indent <<<"${kafka_out:-(nothing)}")"
}

# Checks one normalized partition line for RF 3: Leader one of Isr, Replicas three distinct ids
# of 1-3, Isr the same three (or WANT_ISR of them). Prints what is wrong.
check_line() { # LINE WANT_ISR
    local line=$1 want_isr=$2 leader replicas isr
    [[ $line =~ Partition:\ ([0-9]+)\ Leader:\ ([0-9]+|none)\ Replicas:\ ([0-9,]*)\ Isr:\ ([0-9,]*)( |$) ]] ||
        { echo "cannot parse: $line"; return; }
    leader=${BASH_REMATCH[2]} replicas=${BASH_REMATCH[3]} isr=${BASH_REMATCH[4]}
    [[ $(tr , '\n' <<<"$replicas" | sort -u | tr '\n' ,) == 1,2,3, ]] ||
        echo "partition ${BASH_REMATCH[1]}: Replicas '$replicas' is not 3 distinct ids of 1-3"
    [[ $(tr , '\n' <<<"$isr" | sort -u | wc -l) == "$want_isr" && $(tr , '\n' <<<"$isr" | sort | uniq -d) == "" ]] ||
        echo "partition ${BASH_REMATCH[1]}: Isr '$isr' does not have $want_isr distinct ids"
    [[ ,$isr, == *,$leader,* ]] ||
        echo "partition ${BASH_REMATCH[1]}: Leader '$leader' is not in the Isr '$isr'"
}

# Compares our partition lines with Kafka's for the same `topics --describe ARGS`, a few times
# (the cluster can change between the two calls). Sets $ours_out/$kafka_out (normalized; ours
# is the whole output and exit code if our tool failed).
same_as_kafka() {
    local i raw code
    for ((i = 0; i < 4; i++)); do
        raw=$(ours topics --describe "$@" 2>&1)
        code=$?
        ours_out=$(plines <<<"$raw")
        [[ $code == 0 ]] || ours_out="(topics exited $code) $raw"
        kafka_out=$(kafka_topics --describe "$@" | plines)
        [[ $ours_out == "$kafka_out" ]] && return 0
        sleep 2
    done
    return 1
}

# --- cluster -----------------------------------------------------------------------------------
t0=$SECONDS
"$K" cluster-start "$base" "$cdir" >"$work/cluster-start.log" 2>&1 ||
    abort start "kafka.sh cluster-start $base failed: $(tail -5 "$work/cluster-start.log")"
note "cluster of 3 nodes on 127.0.0.1:$base-$((base + 2)) up in $((SECONDS - t0)) s"
pass start

# --- create and describe -------------------------------------------------------------------------
out=$(ours topics --create --topic rf3 --partitions 3 --replication-factor 3 2>&1)
[[ $out == "Created topic rf3." ]] || abort create "topics --create: $out"
pass create

problems=""
same_as_kafka --topic rf3
same=$?
while IFS= read -r line; do add "$(check_line "$line" 3 | paste -sd';')"; done <<<"$ours_out"
[[ $(wc -l <<<"$ours_out") == 3 && $ours_out == *"Partition: 0 "*"Partition: 1 "*"Partition: 2 "* ]] ||
    add "not 3 partition lines"
if [[ $same != 0 ]]; then
    add "$(versus "partition lines differ from Kafka's TopicCommand")"
fi
if [[ -z $problems ]]; then pass describe; else fail describe "$problems"; fi

# The topic line: PartitionCount and ReplicationFactor, and TopicId/Configs as Kafka shows them.
ours_topic=$(ours topics --describe --topic rf3 2>&1 | grep '^Topic: ' | sed -E 's/[[:space:]]+/ /g; s/ $//')
kafka_topic=$(kafka_topics --describe --topic rf3 | grep '^Topic: ' | sed -E 's/[[:space:]]+/ /g; s/ $//')
if [[ $ours_topic == "$kafka_topic" ]]; then
    pass describe_topic_line
else
    fail describe_topic_line "topic line differs from Kafka's TopicCommand; ours: '$ours_topic'; Kafka's: '$kafka_topic'"
fi

# --- one node down: under-replicated -------------------------------------------------------------
down=3
t0=$SECONDS
"$K" node-stop "$cdir" "$down" >"$work/node-stop.log" 2>&1 || abort under_replicated "node-stop $down: $(cat "$work/node-stop.log")"
note "node $down stopped (SIGTERM) in $((SECONDS - t0)) s"
kafka_ur=""
for ((i = 0; i < 20 && SECONDS - t0 < 60; i++)); do
    kafka_ur=$(kafka_topics --describe --under-replicated-partitions | plines)
    [[ -n $kafka_ur ]] && break
    sleep 1
done
if [[ -z $kafka_ur ]]; then
    fail under_replicated "Kafka's TopicCommand listed no under-replicated partition within 60 s of stopping node $down"
else
    note "Kafka lists $(wc -l <<<"$kafka_ur") under-replicated partitions after $((SECONDS - t0)) s"
    problems=""
    same_as_kafka --under-replicated-partitions
    same=$?
    # Every partition of rf3 has a replica on the stopped node.
    for p in 0 1 2; do
        [[ $ours_out == *"Topic: rf3 Partition: $p "* ]] || add "rf3 partition $p not listed"
    done
    while IFS= read -r line; do
        [[ -n $line ]] && add "$(check_line "$line" 2 | paste -sd';')"
    done <<<"$(grep 'Topic: rf3 ' <<<"$ours_out")"
    if [[ $same != 0 ]]; then
        add "$(versus "the listing differs from Kafka's TopicCommand")"
    fi
    if [[ -z $problems ]]; then pass under_replicated; else fail under_replicated "$problems"; fi
fi

ours_un=$(ours topics --describe --unavailable-partitions 2>&1)
kafka_un=$(kafka_topics --describe --unavailable-partitions)
if [[ -z $ours_un && -z $kafka_un ]]; then
    pass unavailable_none
else
    fail unavailable_none "expected no unavailable partitions; ours: '$ours_un'; Kafka's: '$kafka_un'"
fi

# Back to three, for the leader change.
wait_full_isr() { # SECS: until every partition line of ours has 3 ids in its Isr
    local deadline=$((SECONDS + $1)) lines
    while ((SECONDS < deadline)); do
        lines=$(ours topics --describe 2>/dev/null | plines)
        if [[ -n $lines ]] && ! grep -qvE 'Isr: [0-9]+,[0-9]+,[0-9]+ ' <<<"$lines"; then return 0; fi
        sleep 1
    done
    echo "$lines"
    return 1
}
t0=$SECONDS
"$K" node-start "$cdir" "$down" >"$work/node-start.log" 2>&1 || abort rejoin "node-start $down: $(tail -5 "$work/node-start.log")"
if out=$(wait_full_isr 60); then
    note "node $down back, Isr 3 everywhere after $((SECONDS - t0)) s"
    pass rejoin
else
    fail rejoin "Isr not back to 3 ids within 60 s of restarting node $down; ours:
$(indent <<<"$out")"
fi

# --- leader change under a producer and a group consumer ----------------------------------------
topic=moves
out=$(ours topics --create --topic $topic --partitions 3 --replication-factor 3 --config min.insync.replicas=2 2>&1)
[[ $out == "Created topic $topic." ]] || abort leader_change "topics --create $topic: $out"

# COUNT records PREFIX-nnnnn (the key is the value, so they spread over the 3 partitions),
# paced DELAY_S apart, through our console-producer with acks=all.
produce() { # PREFIX COUNT [DELAY_S]
    python3 -c '
import sys, time
prefix, n, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
for i in range(n):
    print(f"{prefix}-{i:05d}\t{prefix}-{i:05d}", flush=True)
    if delay:
        time.sleep(delay)
' "$1" "$2" "${3:-0}" | timeout 120 "$tools/console-producer" --bootstrap-server "$bs" --topic $topic \
        --property parse.key=true --request-required-acks all --command-property acks=all
}

n1=1500 n2=3000
produce a $n1 >"$work/p1.out" 2>"$work/p1.err"
rc=$?
[[ $rc == 0 ]] || abort leader_change "console-producer (phase 1, $n1 records) exited $rc: $(tail -3 "$work/p1.err")"

# The leader of partition 0, from Kafka's TopicCommand.
line=$(kafka_topics --describe --topic $topic | plines | grep "Partition: 0 ")
[[ $line =~ Leader:\ ([123])\  ]] || abort leader_change "no leader for $topic-0 in Kafka's describe: $line"
victim=${BASH_REMATCH[1]}

"$tools/console-consumer" --bootstrap-server "$bs" --topic $topic --group moves-group --from-beginning \
    --property print.partition=true --property print.offset=true >"$work/consumed" 2>"$work/consumer.err" &
cpid=$!
bgpids+=("$cpid")
consumed() { wc -l <"$work/consumed"; }
deadline=$((SECONDS + 45))
while (($(consumed) < n1 && SECONDS < deadline)) && kill -0 $cpid 2>/dev/null; do sleep 0.5; done
if (($(consumed) < n1)); then
    fail leader_change "the consumer read $(consumed) of the $n1 phase-1 records within 45 s (before any node was stopped); stderr: $(tail -3 "$work/consumer.err")"
fi

# Phase 2: 3000 records over ~12 s; the leader of $topic-0 is killed 3 s in.
produce b $n2 0.004 >"$work/p2.out" 2>"$work/p2.err" &
ppid=$!
bgpids+=("$ppid")
sleep 3
before=$(consumed)
t0=$SECONDS
"$K" node-stop "$cdir" "$victim" --kill >"$work/node-kill.log" 2>&1 || fail leader_change "node-stop $victim --kill failed"
note "killed node $victim (leader of $topic-0) with $before records read"
wait $ppid
prc=$?
note "phase-2 producer finished $((SECONDS - t0)) s after the kill, exit $prc"
if [[ $prc == 0 ]]; then
    pass produce_through_leader_change
else
    fail produce_through_leader_change "console-producer (acks=all, $n2 records) exited $prc while node $victim was down: $(tail -3 "$work/p2.err")"
fi

# While the killed node is still down: partition 0 has another leader and the node is in no
# Isr of the topic, in our describe as in Kafka's.
problems=""
same_as_kafka --topic $topic
same=$?
line=$(grep "Partition: 0 " <<<"$ours_out")
[[ $line =~ Leader:\ ([0-9]+) && ${BASH_REMATCH[1]} != "$victim" ]] || add "partition 0 has no leader other than node $victim: $line"
grep -qE "Isr: ([0-9,]*,)?$victim(,| )" <<<"$ours_out" && add "node $victim is still in an Isr"
while IFS= read -r line; do add "$(check_line "$line" 2 | paste -sd';')"; done <<<"$ours_out"
if [[ $same != 0 ]]; then
    add "$(versus "our partition lines differ from Kafka's TopicCommand")"
fi
if [[ -z $problems ]]; then pass leader_moved; else fail leader_moved "$problems"; fi

# What must be read: phase 1, and phase 2 if its producer reported every record acknowledged
# (it exits non-zero on the first failed delivery, without saying which records made it).
{
    for ((i = 0; i < n1; i++)); do printf 'a-%05d\n' $i; done
    if [[ $prc == 0 ]]; then for ((i = 0; i < n2; i++)); do printf 'b-%05d\n' $i; done; fi
} >"$work/acked"
acked=$(wc -l <"$work/acked")
values() { cut -f3 "$work/consumed"; }
missing_count() { sort -u "$work/acked" | comm -23 - <(values | sort -u) | wc -l; }
deadline=$((SECONDS + 60))
while (($(missing_count) > 0 && SECONDS < deadline)) && kill -0 $cpid 2>/dev/null; do sleep 1; done
alive=yes
kill -0 $cpid 2>/dev/null || alive=no
died=$(stat -c %Y "$work/consumer.err") died=$((SECONDS - ($(date +%s) - died)))
# Ctrl-C/TERM: the consumer commits its position and exits.
kill -TERM $cpid 2>/dev/null
for ((i = 0; i < 150; i++)); do kill -0 $cpid 2>/dev/null || break; sleep 0.1; done
kill -0 $cpid 2>/dev/null && { kill -KILL $cpid; crc=killed; } || { wait $cpid; crc=$?; }

read_total=$(consumed)
missing=$(missing_count)
dups=$(values | sort | uniq -d | wc -l)
dup_records=$((read_total - $(values | sort -u | wc -l)))
unexpected=$(values | sort -u | comm -13 <(sort -u "$work/acked") - | grep -cv '^b-' || true)
note "leader change: $acked acknowledged, $read_total read, $missing missing, $dup_records duplicate reads ($dups distinct values read more than once)"
per_part=$(cut -f1 "$work/consumed" | sort | uniq -c | awk '{printf "%s%s=%s", sep, $2, $1; sep=" "}')
note "reads per partition: $per_part"
problems=""
((missing == 0)) || add "$missing of $acked acknowledged records never read (e.g. $(sort -u "$work/acked" | comm -23 - <(values | sort -u) | head -3 | paste -sd' ')); $read_total lines read, $before of them before the kill"
((unexpected == 0)) || add "$unexpected values read that were never produced"
[[ $alive == yes ]] || add "console-consumer exited on its own (exit $crc) about $((died - t0)) s after the kill; its stderr: $(tail -3 "$work/consumer.err" | paste -sd'|')"
if [[ -z $problems ]]; then pass consume_through_leader_change; else fail consume_through_leader_change "$problems"; fi

# The group's committed offsets (ours) reach the end of each partition the consumer read.
problems=""
gout=$(ours consumer-groups --describe --group moves-group --output json 2>&1)
while read -r p maxoff; do
    want=$((maxoff + 1))
    got=$(python3 -c '
import json, sys
p = int(sys.argv[1])
for l in sys.stdin:
    l = l.strip()
    if l.startswith("{"):
        o = json.loads(l)
        if o.get("partition") == p:
            print(o.get("current_offset"), o.get("log_end_offset"))
' "$p" <<<"$gout")
    [[ $got == "$want $want" ]] || add "partition $p: committed/log-end '$got', read up to offset $maxoff"
done < <(sed -nE 's/^Partition:([0-9]+)\tOffset:([0-9]+)\t.*/\1 \2/p' "$work/consumed" | sort -k1,1n -k2,2n | awk '{m[$1]=$2} END {for (p in m) print p, m[p]}')
if [[ $alive == yes ]]; then
    # Kafka's exits 143 (its JVM, after the shutdown hook); ours 0.
    [[ $crc == 0 || $crc == 143 ]] || add "console-consumer exited $crc on SIGTERM"
else
    add "(the consumer had exited on its own, exit $crc)"
fi
if [[ -z $problems ]]; then pass group_committed; else fail group_committed "$problems; consumer-groups --describe --output json: $(paste -sd' ' <<<"$gout")"; fi

# --- the killed node returns ---------------------------------------------------------------------
t0=$SECONDS
"$K" node-start "$cdir" "$victim" >"$work/node-start2.log" 2>&1 || abort isr_restored "node-start $victim: $(tail -5 "$work/node-start2.log")"
if out=$(wait_full_isr 60); then
    if same_as_kafka; then
        note "node $victim back, Isr 3 everywhere after $((SECONDS - t0)) s"
        pass isr_restored
    else
        fail isr_restored "$(versus "Isr back to 3 but our partition lines differ from Kafka's")"
    fi
else
    fail isr_restored "Isr not back to 3 ids within 60 s of restarting node $victim; ours:
$(indent <<<"$out")"
fi

t0=$SECONDS
"$K" cluster-stop "$cdir" >/dev/null 2>&1
note "cluster stopped in $((SECONDS - t0)) s; whole run $((SECONDS - started)) s"
((failures == 0))
