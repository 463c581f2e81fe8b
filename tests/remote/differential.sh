#!/usr/bin/env bash
# Differential test: streamlog's tools in remote mode (--bootstrap-server, through librdkafka)
# and Apache Kafka 4.4's own tools (tests/kafka-ref/kafka.sh run), on one reference KRaft broker
# and the same scenario, must print the same thing. Only line order, column padding and the
# order of a topic's configs are normalised away (topic ids, consumer ids and hosts come from
# the broker, so they are compared as they are), and group names where twin groups are compared.
#   - topics: created with both tools (--partitions, --config retention.ms=..., rf 1);
#     --describe of one topic, of several (a comma list, a regex, all), --list
#   - keyed records with headers produced with both producers land alike; console-consumer
#     --from-beginning --max-messages N with formatter properties (print.key, print.headers,
#     print.partition, print.offset, print.timestamp, print.delivery, print.epoch, key.separator,
#     line.separator, headers.separator, null.literal, print.value=false), --partition/--offset,
#     --include: the same records as Kafka's ConsoleConsumer prints (sorted)
#   - consumer-groups: groups consumed partially (so lag is not zero) by each tool's consumer;
#     --describe (offsets), --members [--verbose], --state [--verbose], --list [--state] for empty
#     groups and for groups with a live member (Kafka's consumer and ours)
#   - every remaining action, its effect checked with Kafka's tools: --reset-offsets --execute
#     in every mode (plan and clamp warnings compared with Kafka's --dry-run), refused for a
#     live group; --delete-offsets and --delete (twin groups, one per tool);
#     topics --alter --partitions (and its errors), --alter --config/--delete-config (which
#     Kafka's tool refuses; Kafka's describe shows ours took effect), --delete
# Prints `PASS differential.<name>` or `FAIL differential.<name>: why` (then the diff, indented)
# per check and exits non-zero if any failed. Binaries from $STREAMLOG_BIN_DIR, else
# target/debug (cargo build --bins). Needs java 17+ and mvn (first fetch of Kafka's jars).
# Bounded by DIFFERENTIAL_TIMEOUT, else INTEROP_TIMEOUT, else 240 s; DIFFERENTIAL_KEEP=1 keeps
# the temp dir (outputs, diffs, broker log).
set -uo pipefail

script=differential
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tools=${STREAMLOG_BIN_DIR:-${CARGO_TARGET_DIR:-$repo/target}/debug}
kafka=$repo/tests/kafka-ref/kafka.sh

# Bounded: re-run under timeout(1); the EXIT trap stops the broker and the live consumers.
limit=${DIFFERENTIAL_TIMEOUT:-${INTEROP_TIMEOUT:-240}}
if [[ -z ${STREAMLOG_DIFFERENTIAL_TIMED:-} ]]; then
    STREAMLOG_DIFFERENTIAL_TIMED=1 exec timeout -k 15 "$limit" bash "$0" "$@"
fi

failures=0
pass() { printf 'PASS %s.%s\n' "$script" "$1"; }
fail() { # NAME WHY [DETAILS FILE]: the check failed; the script goes on
    printf 'FAIL %s.%s: %s\n' "$script" "$1" "$2"
    [[ -n ${3:-} && -s $3 ]] && head -40 "$3" | sed 's/^/    /'
    failures=$((failures + 1))
}
abort() { # NAME WHY: a failure the rest cannot run without
    fail "$1" "$2"
    exit 1
}

work=$(mktemp -d -t streamlog-differential-XXXXXX)
w=$work/out
mkdir -p "$w"
kdir=$work/kafka
bgpids=()
started=$SECONDS
cleanup() {
    local p
    for p in "${bgpids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    "$kafka" broker-stop "$kdir" >/dev/null 2>&1
    for p in "${bgpids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    if [[ -n ${DIFFERENTIAL_KEEP:-} ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'fail run "timed out after $limit s"; exit 1' TERM

for t in topics console-producer console-consumer consumer-groups; do
    [[ -x $tools/$t ]] || abort setup "$tools/$t is not built (cargo build --bins, or set STREAMLOG_BIN_DIR)"
done
"$kafka" fetch >/dev/null 2>"$work/fetch.err" || abort setup "cannot fetch Kafka's jars: $(tail -1 "$work/fetch.err")"

# --- the reference broker, on a free port (and the next one for its controller) -------------
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
b=
for attempt in 1 2 3; do
    port=$((20000 + RANDOM % 40000))
    port_open "$port" || port_open $((port + 1)) && continue
    if "$kafka" broker-start "$port" "$kdir" >"$work/broker-start.log" 2>&1; then
        b=127.0.0.1:$port
        break
    fi
    "$kafka" broker-stop "$kdir" >/dev/null 2>&1
    rm -rf "$kdir"
done
[[ -n $b ]] || abort setup "the reference broker did not start: $(tail -3 "$work/broker-start.log")"

# --- running the tools -------------------------------------------------------------------------
# Kafka's tools start a JVM each; C1 only and the serial GC make that cheaper (other JVMs may be
# running on this machine). The broker keeps kafka.sh's default options.
tool_java_opts=${DIFFERENTIAL_TOOL_JAVA_OPTS:--Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC}
krun() { # SECONDS CLASS ARGS...: one of Kafka's tools, bounded
    local secs=$1
    shift
    STREAMLOG_KAFKA_JAVA_OPTS=$tool_java_opts timeout "$secs" "$kafka" run "$@"
}
class_of() {
    case $1 in
        topics) echo org.apache.kafka.tools.TopicCommand ;;
        consumer-groups) echo org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
        console-consumer) echo org.apache.kafka.tools.consumer.ConsoleConsumer ;;
        console-producer) echo org.apache.kafka.tools.ConsoleProducer ;;
    esac
}
# ours NAME TOOL ARGS...: our tool; stdout, stderr and exit code in $w/NAME.o.{out,err,rc}
ours() {
    local name=$1 tool=$2 rc=0
    shift 2
    timeout 45 "$tools/$tool" --bootstrap-server "$b" "$@" >"$w/$name.o.out" 2>"$w/$name.o.err" </dev/null || rc=$?
    echo "$rc" >"$w/$name.o.rc"
}
# theirs NAME TOOL ARGS...: Kafka's tool; in $w/NAME.k.{out,err,rc}
theirs() {
    local name=$1 tool=$2 rc=0
    shift 2
    krun 60 "$(class_of "$tool")" --bootstrap-server "$b" "$@" \
        >"$w/$name.k.out" 2>"$w/$name.k.err" </dev/null || rc=$?
    echo "$rc" >"$w/$name.k.rc"
}
# both NAME TOOL ARGS...: both tools with the same arguments
both() {
    ours "$@"
    theirs "$@"
}
rc() { cat "$w/$1.$2.rc"; } # NAME o|k

# Column padding and trailing blanks collapsed, a topic's configs sorted, lines sorted.
norm() {
    sed -E 's/ +/ /g; s/ +$//' "$1" | while IFS= read -r line; do
        if [[ $line == *$'\tConfigs: '?* ]]; then
            local cfg=${line##*$'\tConfigs: '}
            cfg=$(tr ',' '\n' <<<"$cfg" | LC_ALL=C sort | paste -sd, -)
            line="${line%$'\tConfigs: '*}"$'\tConfigs: '"$cfg"
        fi
        printf '%s\n' "$line"
    done | LC_ALL=C sort
}

# same NAME [SED [RC]]: our stdout and Kafka's, normalised (and both through SED if given), are
# equal, our tool exited RC (0), and Kafka's stdout is not empty (unless NAME ends in -empty).
same() {
    local name=$1 sedexpr=${2:-} want=${3:-0}
    norm "$w/$name.o.out" >"$w/$name.o.norm"
    norm "$w/$name.k.out" >"$w/$name.k.norm"
    if [[ -n $sedexpr ]]; then
        sed -i -E "$sedexpr" "$w/$name.o.norm" "$w/$name.k.norm"
    fi
    if [[ $(rc "$name" o) != "$want" ]]; then
        fail "$name" "our tool exited $(rc "$name" o): $(head -c 300 "$w/$name.o.err")"
    elif [[ $name != *-empty && ! -s $w/$name.k.norm ]]; then
        fail "$name" "Kafka's tool printed nothing (exit $(rc "$name" k)): $(grep -v '^\s*at ' "$w/$name.k.err" | head -c 300)"
    elif ! diff -u --label streamlog --label kafka "$w/$name.o.norm" "$w/$name.k.norm" >"$w/$name.diff"; then
        fail "$name" "output differs from Kafka's" "$w/$name.diff"
    else
        pass "$name"
    fi
}

# The state notes both tools print on stderr (Kafka's through log4j or plain).
notes() { grep -hoE "(Consumer group '[^']*' has no active members\.|Warning: Consumer group '[^']*' is rebalancing\.|New offset \(-?[0-9]+\) is (higher|lower) than (latest|earliest) offset for topic partition [^ ]+\. Value will be set to [0-9]+\.)" "$1" | LC_ALL=C sort; }
same_notes() { # NAME: the same stderr notes
    local name=$1
    notes "$w/$name.o.err" >"$w/$name.o.notes"
    notes "$w/$name.k.err" >"$w/$name.k.notes"
    if diff -u --label streamlog --label kafka "$w/$name.o.notes" "$w/$name.k.notes" >"$w/$name.notes.diff"; then
        pass "$name-stderr"
    else
        fail "$name-stderr" "stderr notes differ from Kafka's" "$w/$name.notes.diff"
    fi
}

check() { # NAME CONDITION-EXIT-CODE WHY
    if [[ $2 == 0 ]]; then pass "$1"; else fail "$1" "$3"; fi
}

# --- topics ------------------------------------------------------------------------------------
ours create-ours topics --create --topic dif-ours --partitions 3 --replication-factor 1 \
    --config retention.ms=86400000
theirs create-kafka topics --create --topic dif-kafka --partitions 3 --replication-factor 1 \
    --config retention.ms=3600000 --config max.message.bytes=200000
ours create-one topics --create --topic dif-one
grep -qx 'Created topic dif-ours.' "$w/create-ours.o.out" && grep -qx 'Created topic dif-one.' "$w/create-one.o.out" &&
    grep -qx 'Created topic dif-kafka.' "$w/create-kafka.k.out"
check topics-create $? "$(cat "$w/create-ours.o.out" "$w/create-ours.o.err" "$w/create-one.o.err" "$w/create-kafka.k.out")"

both create-exists topics --create --topic dif-kafka --partitions 3
grep -h 'Error while executing topic command' "$w/create-exists.o.err" >"$w/create-exists.o.msg"
grep -h 'Error while executing topic command' "$w/create-exists.k.out" >"$w/create-exists.k.msg"
[[ $(rc create-exists o) == 1 && -s $w/create-exists.k.msg ]] && diff -q "$w/create-exists.o.msg" "$w/create-exists.k.msg" >/dev/null
check topics-create-exists $? "ours: $(cat "$w/create-exists.o.err"); Kafka's: $(cat "$w/create-exists.k.msg")"

both describe-ours topics --describe --topic dif-ours
same describe-ours
both describe-kafka topics --describe --topic dif-kafka
same describe-kafka
both describe-list topics --describe --topic dif-ours,dif-kafka
same describe-list
both describe-regex topics --describe --topic 'dif-.*'
same describe-regex
both describe-all topics --describe
same describe-all
both describe-overrides topics --describe --topics-with-overrides --exclude-internal
same describe-overrides
both list topics --list
same list
both list-regex topics --list --topic 'dif-o.*' --exclude-internal
same list-regex

# --- records: the same lines through both producers --------------------------------------------
# headers TAB key TAB value; NULL is the null marker. The record with a null key goes last: its
# partition is random, so it must not move the offsets of the others.
printf '%s\n' \
    $'h1:v1,h2:v2\tk1\tv1' \
    $'NULL\tk2\tv2' \
    $'h4:\tkey\thello' \
    $'h5:x,h5:y\tabc\tduplicate headers' \
    $'h6:z\tfoobar\ttabs\tinside the value' \
    $'NULL\tk\tNULL' \
    $'h7:NULL\t21\tgrüße' \
    $'h3:NULL\tNULL\tnull key' >"$work/records.txt"
n_records=8
reader=(--reader-property parse.key=true --reader-property parse.headers=true --reader-property null.marker=NULL)
timeout 60 "$tools/console-producer" --bootstrap-server "$b" --topic dif-ours "${reader[@]}" \
    <"$work/records.txt" >"$w/produce.o.out" 2>"$w/produce.o.err"
rc_o=$?
krun 60 org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$b" --topic dif-kafka \
    "${reader[@]}" <"$work/records.txt" >"$w/produce.k.out" 2>"$w/produce.k.err"
rc_k=$?
[[ $rc_o == 0 && $rc_k == 0 ]]
check produce $? "console-producer exited $rc_o ($(head -c 300 "$w/produce.o.err")), Kafka's $rc_k"

# Every consumer run is bounded: it gives up when no record comes for 20 s.
bound=(--timeout-ms 20000)

# Keyed records: same partitions, offsets, headers, keys and values from either producer.
fmt=(--formatter-property print.partition=true --formatter-property print.offset=true
    --formatter-property print.headers=true --formatter-property print.key=true
    --formatter-property null.literal=NIL)
ours placed-ours console-consumer "${bound[@]}" --topic dif-ours --from-beginning --max-messages $n_records "${fmt[@]}"
ours placed-kafka console-consumer "${bound[@]}" --topic dif-kafka --from-beginning --max-messages $n_records "${fmt[@]}"
awk -F'\t' '$4 != "NIL"' "$w/placed-ours.o.out" | LC_ALL=C sort >"$w/placed.o"
awk -F'\t' '$4 != "NIL"' "$w/placed-kafka.o.out" | LC_ALL=C sort >"$w/placed.k"
if [[ $(wc -l <"$w/placed.o") == $((n_records - 1)) ]] &&
    diff -u --label 'streamlog producer' --label 'kafka producer' "$w/placed.o" "$w/placed.k" >"$w/placed.diff"; then
    pass producer-partitions
else
    fail producer-partitions "keyed records landed differently (or were not all read)" "$w/placed.diff"
fi

# --- console-consumer: formatter properties ----------------------------------------------------
both consume-all console-consumer "${bound[@]}" --topic dif-kafka --from-beginning --max-messages $n_records \
    --formatter-property print.timestamp=true "${fmt[@]}"
same consume-all
both consume-ours console-consumer "${bound[@]}" --topic dif-ours --from-beginning --max-messages $n_records \
    --formatter-property print.timestamp=true "${fmt[@]}"
same consume-ours
both consume-separators console-consumer "${bound[@]}" --topic dif-kafka --from-beginning --max-messages $n_records \
    --formatter-property print.key=true --formatter-property print.offset=true \
    --formatter-property print.headers=true --formatter-property print.delivery=true \
    --formatter-property print.epoch=true --formatter-property 'key.separator= | ' \
    --formatter-property 'headers.separator=;'
same consume-separators
both consume-novalue console-consumer "${bound[@]}" --topic dif-ours --from-beginning --max-messages $n_records \
    --formatter-property print.value=false --formatter-property print.partition=true \
    --formatter-property print.key=true --formatter-property $'line.separator=@@\n'
same consume-novalue
both consume-default console-consumer "${bound[@]}" --topic dif-kafka --from-beginning --max-messages $n_records
same consume-default
both consume-partition console-consumer "${bound[@]}" --topic dif-kafka --partition 0 --offset 1 --max-messages 2 \
    --formatter-property print.offset=true --formatter-property print.key=true
same consume-partition
both consume-include console-consumer "${bound[@]}" --include 'dif-(ours|kafka)' --from-beginning \
    --max-messages $((2 * n_records)) --formatter-property print.key=true
same consume-include

# --- consumer groups: partly read, so lag is not zero ------------------------------------------
ours read-ours console-consumer "${bound[@]}" --topic dif-kafka --group dg-o --from-beginning --max-messages 3
theirs read-kafka console-consumer "${bound[@]}" --topic dif-ours --group dg-k --from-beginning --max-messages 3
[[ $(rc read-ours o) == 0 && $(wc -l <"$w/read-ours.o.out") == 3 && $(wc -l <"$w/read-kafka.k.out") == 3 ]]
check group-read $? "ours exited $(rc read-ours o): $(head -c 200 "$w/read-ours.o.err")"

for g in dg-o dg-k; do
    both "describe-$g" consumer-groups --describe --group "$g"
    same "describe-$g"
    same_notes "describe-$g"
    both "members-$g" consumer-groups --describe --group "$g" --members
    same "members-$g"
    both "state-$g" consumer-groups --describe --group "$g" --state
    same "state-$g"
done
both state-verbose-dg-o consumer-groups --describe --group dg-o --state --verbose
same state-verbose-dg-o
both describe-two consumer-groups --describe --group dg-o --group dg-k
same describe-two
both groups-list consumer-groups --list
same groups-list
both describe-all-groups consumer-groups --describe --all-groups
same describe-all-groups
both groups-list-state consumer-groups --list --state
same groups-list-state
both groups-list-empty consumer-groups --list --state Stable
same groups-list-empty

# --- live members: Kafka's consumer in dg-live-k, ours in dg-live-o ----------------------------
STREAMLOG_KAFKA_JAVA_OPTS=$tool_java_opts "$kafka" run org.apache.kafka.tools.consumer.ConsoleConsumer \
    --bootstrap-server "$b" --topic dif-ours \
    --group dg-live-k --from-beginning --command-property auto.commit.interval.ms=200 \
    >/dev/null 2>"$w/live-k.err" </dev/null &
bgpids+=($!)
live_k=$!
"$tools/console-consumer" --bootstrap-server "$b" --topic dif-kafka --group dg-live-o --from-beginning \
    >/dev/null 2>"$w/live-o.err" </dev/null &
bgpids+=($!)
live_o=$!
# Ready when every partition is owned by the member and committed to the end (lag 0).
settled() {
    timeout 30 "$tools/consumer-groups" --bootstrap-server "$b" --describe --group "$1" --output json \
        2>/dev/null | grep '"consumer_id":"' | grep -c '"lag":0,'
}
ready=0
for ((i = 0; i < 120; i++)); do # up to 60 s
    if [[ $(settled dg-live-k) == 3 && $(settled dg-live-o) == 3 ]]; then
        ready=1
        break
    fi
    sleep 0.5
done
if [[ $ready == 1 ]]; then
    pass live-members-ready
    for g in dg-live-k dg-live-o; do
        both "describe-$g" consumer-groups --describe --group "$g"
        same "describe-$g"
        both "members-$g" consumer-groups --describe --group "$g" --members --verbose
        same "members-$g"
        both "state-$g" consumer-groups --describe --group "$g" --state --verbose
        same "state-$g"
    done
    both live-list-state consumer-groups --list --state stable
    same live-list-state

    # A live group's offsets are not reset; Kafka says so on stdout, we on stderr (exit 1).
    ours reset-live consumer-groups --reset-offsets --group dg-live-o --topic dif-kafka --to-earliest --execute
    theirs reset-live consumer-groups --reset-offsets --group dg-live-o --topic dif-kafka --to-earliest --dry-run
    msg="Assignments can only be reset if the group 'dg-live-o' is inactive, but the current state is Stable."
    [[ $(rc reset-live o) == 1 ]] && grep -qF "$msg" "$w/reset-live.o.err" && grep -qF "$msg" "$w/reset-live.k.out"
    check reset-live-refused $? "ours (exit $(rc reset-live o)): $(cat "$w/reset-live.o.err"); Kafka's: $(cat "$w/reset-live.k.out")"

    # Offsets of a topic the live group reads are not deleted: a partition-level error.
    both delete-offsets-live consumer-groups --delete-offsets --group dg-live-o --topic dif-kafka:1
    same delete-offsets-live 's/^(dif-kafka 1 Error:).*/\1 .../' 1

    # Nor is the group.
    both delete-live consumer-groups --delete --group dg-live-o
    grep -q 'The group is not empty' "$w/delete-live.o.err" && grep -q 'The group is not empty' "$w/delete-live.k.out" &&
        [[ $(rc delete-live o) == 1 ]]
    check delete-live-refused $? "ours (exit $(rc delete-live o)): $(cat "$w/delete-live.o.err"); Kafka's: $(cat "$w/delete-live.k.out")"
else
    fail live-members-ready "the live consumers did not settle within 60 s: $(tail -c 300 "$w/live-o.err") $(tail -c 300 "$w/live-k.err")"
fi
for p in "$live_k" "$live_o"; do kill -TERM "$p" 2>/dev/null; done
for p in "$live_k" "$live_o"; do wait "$p" 2>/dev/null; done
bgpids=()
grep -q '^Processed a total of 8 messages$' "$w/live-o.err"
check live-consumer-stops $? "our live consumer: $(tail -c 300 "$w/live-o.err")"

# --- reset-offsets: every mode, ours --execute against Kafka's --dry-run on the same state -------
# Each plan must be what Kafka plans, and Kafka's describe must then show it committed.
committed_by_kafka() { # GROUP: "topic partition offset" lines as Kafka's describe shows them
    krun 60 org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$b" \
        --describe --group "$1" 2>/dev/null | awk -v g="$1" '$1 == g { print $2, $3, $4 }' | LC_ALL=C sort
}
step=0
reset() { # ARGS...: one reset of dg-o, compared and checked
    step=$((step + 1))
    local a mode=
    for a in "$@"; do [[ $a == --to-* || $a == --by-* || $a == --shift-* ]] && mode=${a#--}; done
    local name=reset-$step-$mode
    theirs "$name" consumer-groups --reset-offsets --group dg-o "$@" --dry-run
    ours "$name" consumer-groups --reset-offsets --group dg-o "$@" --execute
    same "$name"
    same_notes "$name"
    awk '$1 == "dg-o" { print $2, $3, $4 }' "$w/$name.o.out" | LC_ALL=C sort >"$w/$name.plan"
    committed_by_kafka dg-o >"$w/$name.after"
    # Every planned partition must now be committed at its planned offset.
    if [[ -s $w/$name.plan ]] && [[ -z $(LC_ALL=C comm -23 "$w/$name.plan" "$w/$name.after") ]]; then
        pass "$name-committed"
    else
        { echo "plan:"; cat "$w/$name.plan"; echo "Kafka's describe:"; cat "$w/$name.after"; } >"$w/$name.effect"
        fail "$name-committed" "Kafka's describe does not show the plan" "$w/$name.effect"
    fi
}
reset --topic dif-kafka --to-latest
reset --topic dif-kafka --to-earliest
reset --topic dif-kafka --to-datetime 2099-01-01T00:00:00.000
reset --topic dif-kafka --by-duration PT1H
reset --topic dif-kafka --shift-by 2
reset --topic dif-kafka --to-offset 1
reset --topic dif-kafka:0,2 --shift-by -5
reset --all-topics --to-datetime 2000-01-01T00:00:00.000+01:00
reset --topic dif-kafka --to-current

# An unknown group is reset too (Kafka treats it as inactive).
theirs reset-new consumer-groups --reset-offsets --group dg-new --topic dif-ours --to-offset 1 --dry-run
ours reset-new consumer-groups --reset-offsets --group dg-new --topic dif-ours --to-offset 1 --execute
same reset-new

# --- delete-offsets and delete: twin groups, one for each tool ---------------------------------
for g in dg-twin-o dg-twin-k; do
    ours "twin-$g" consumer-groups --reset-offsets --group "$g" --topic dif-ours --topic dif-kafka --to-offset 1 --execute
done
ours delete-offsets consumer-groups --delete-offsets --group dg-twin-o --topic dif-ours --topic dif-kafka:1
theirs delete-offsets consumer-groups --delete-offsets --group dg-twin-k --topic dif-ours --topic dif-kafka:1
same delete-offsets 's/dg-twin-[ok]/dg-twin/g'
both twins-after consumer-groups --describe --group dg-twin-o --group dg-twin-k
same twins-after 's/dg-twin-[ok]/dg-twin/g'
norm "$w/twins-after.k.out" >"$w/twins-after.k.raw"
grep -q '^dg-twin-o dif-kafka 0 1 ' "$w/twins-after.k.raw" && ! grep -q '^dg-twin-o dif-ours ' "$w/twins-after.k.raw" &&
    ! grep -q '^dg-twin-o dif-kafka 1 ' "$w/twins-after.k.raw"
check delete-offsets-effect $? "Kafka's describe after our --delete-offsets: $(cat "$w/twins-after.k.raw")"

ours delete-groups consumer-groups --delete --group dg-twin-o
theirs delete-groups consumer-groups --delete --group dg-twin-k
same delete-groups 's/dg-twin-[ok]/dg-twin/g'
both delete-missing consumer-groups --delete --group dg-twin-o
grep -q "dg-twin-o" "$w/delete-missing.o.err" && [[ $(rc delete-missing o) == 1 ]] &&
    grep -q 'GroupIdNotFoundException' "$w/delete-missing.k.out"
check delete-missing $? "ours (exit $(rc delete-missing o)): $(cat "$w/delete-missing.o.err"); Kafka's: $(cat "$w/delete-missing.k.out")"
both groups-after-delete consumer-groups --list
same groups-after-delete
! grep -q '^dg-twin' "$w/groups-after-delete.k.out"
check delete-groups-effect $? "Kafka still lists: $(grep '^dg-twin' "$w/groups-after-delete.k.out")"

# --- topics --alter and --delete ---------------------------------------------------------------
ours alter topics --alter --topic dif-one --partitions 3
both alter-after topics --describe --topic dif-one
same alter-after
[[ $(rc alter o) == 0 ]] && grep -q $'PartitionCount: 3\t' "$w/alter-after.k.out"
check alter-effect $? "ours: $(cat "$w/alter.o.err"); Kafka's describe: $(head -1 "$w/alter-after.k.out")"
for n in 3 2; do
    both "alter-$n" topics --alter --topic dif-one --partitions "$n"
    grep -h 'Error while executing topic command' "$w/alter-$n.o.err" >"$w/alter-$n.o.msg"
    grep -h 'Error while executing topic command' "$w/alter-$n.k.out" >"$w/alter-$n.k.msg"
    [[ $(rc "alter-$n" o) == 1 && -s $w/alter-$n.k.msg ]] && diff -q "$w/alter-$n.o.msg" "$w/alter-$n.k.msg" >/dev/null
    check "alter-error-$n" $? "ours: $(cat "$w/alter-$n.o.err"); Kafka's: $(cat "$w/alter-$n.k.msg")"
done
# Kafka's tool refuses --config with --alter (it points to kafka-configs); ours changes the
# configs (IncrementalAlterConfigs) and the partition count, which Kafka's describe then shows.
both alter-config topics --alter --topic dif-one --partitions 4 --config retention.ms=1000
theirs alter-config-after topics --describe --topic dif-one
[[ $(rc alter-config k) != 0 && $(rc alter-config o) == 0 ]] &&
    grep -q $'PartitionCount: 4\t.*Configs: .*retention.ms=1000' "$w/alter-config-after.k.out"
check alter-config $? "ours exited $(rc alter-config o): $(cat "$w/alter-config.o.err"); Kafka's describe: $(head -1 "$w/alter-config-after.k.out")"
ours alter-delete-config topics --alter --topic dif-one --delete-config retention.ms
theirs alter-delete-config-after topics --describe --topic dif-one
[[ $(rc alter-delete-config o) == 0 ]] && ! grep -q 'retention.ms=' "$w/alter-delete-config-after.k.out"
check alter-delete-config $? "ours exited $(rc alter-delete-config o): $(cat "$w/alter-delete-config.o.err"); Kafka's describe: $(head -1 "$w/alter-delete-config-after.k.out")"

ours delete-topic topics --delete --topic 'dif-o.e'
theirs delete-topic topics --delete --topic dif-kafka
[[ $(rc delete-topic o) == 0 && ! -s $w/delete-topic.o.out ]]
check topics-delete $? "ours exited $(rc delete-topic o): $(cat "$w/delete-topic.o.out" "$w/delete-topic.o.err")"
# Deletion is asynchronous on the broker: wait for both topics to be gone from the listing.
for ((i = 0; i < 40; i++)); do
    ours list-after-delete topics --list
    grep -qxE 'dif-one|dif-kafka' "$w/list-after-delete.o.out" || break
    sleep 0.25
done
both list-after-delete topics --list
same list-after-delete
! grep -qxE 'dif-one|dif-kafka' "$w/list-after-delete.k.out"
check topics-delete-effect $? "Kafka still lists: $(cat "$w/list-after-delete.k.out")"
both describe-deleted topics --describe --topic dif-one
grep -h 'does not exist' "$w/describe-deleted.o.err" >"$w/describe-deleted.o.msg"
grep -h 'does not exist' "$w/describe-deleted.k.out" >"$w/describe-deleted.k.msg"
[[ $(rc describe-deleted o) == 1 && -s $w/describe-deleted.k.msg ]] && diff -q "$w/describe-deleted.o.msg" "$w/describe-deleted.k.msg" >/dev/null
check describe-deleted $? "ours: $(cat "$w/describe-deleted.o.err"); Kafka's: $(cat "$w/describe-deleted.k.msg")"

echo "# $script: $((SECONDS - started)) s, $failures failed"
[[ $failures == 0 ]]
