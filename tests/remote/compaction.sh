#!/usr/bin/env bash
# Differential test of log compaction: server-start and Apache Kafka 4.4's broker
# (tests/kafka-ref/kafka.sh broker-start) get the same keyed records, with updates and tombstones
# (key with a null value), in one compacted partition; after each broker's cleaner has run, the
# (offset, key, value) sequences read back with the same client (kcat) must be identical, and
# equal to the model (the latest record of each key, tombstones included until their delete
# horizon has passed). A third copy goes to an embedded data dir through our console-producer
# (--data-dir, one run per round: the writer cleans in the background when it rolls a segment)
# and is read back with our console-consumer; it must show the same sequence too. Checks:
#   - setup: the topic is created on both with the same configs (our `topics`, through
#     librdkafka): cleanup.policy=compact, segment.ms=1000 (Kafka 4.4 refuses segment.bytes below
#     1 MiB outside its internal.segment.bytes, so segments roll by time: five rounds of records
#     produced 1.3 s apart, each in its own segment), min.cleanable.dirty.ratio=0.01,
#     delete.retention.ms=20000; log.cleaner.backoff.ms=250 on both (server-start: --override;
#     Kafka: a dynamic cluster-wide broker config, kafka-configs --entity-default).
#   - before-horizon: after a last record rolls the active segment and both cleaners have
#     checkpointed past every round (cleaner-offset-checkpoint: Kafka's in its log dir, ours at
#     the data dir root), the sequences match each other and the model, tombstones present.
#   - dump-log: Kafka's DumpLogSegments reads every segment file of server-start's partition:
#     exit 0, isvalid: true on every batch, as many records as were consumed ("Non-consecutive
#     offsets" notes are expected in a compacted log). The batch layout (base/last offset, count,
#     delete horizon stamped or not) is compared with Kafka's and differences are printed as
#     notes, not failures.
#   - horizon-passed-idle: once every delete horizon stamped on either side (read from the
#     dumps) has passed, with nothing new written: Kafka 4.4 does not clean a log without dirty
#     records, so its tombstones stay; ours must show the same sequence.
#   - after-horizon: one more round and a roll, both clean again: the tombstones are gone on both
#     (and the model's sequence without tombstones is what both show); dump-log again.
# Prints `PASS compaction.<name>` or `FAIL compaction.<name>: why` (then a diff, indented) and
# exits non-zero if any failed. Binaries from $STREAMLOG_BIN_DIR (else target/debug, cargo build
# --bins); server-start from $SERVER_START if set. Needs kcat, java 17+ and mvn (first fetch of
# Kafka's jars). Bounded by COMPACTION_TIMEOUT (180 s); COMPACTION_KEEP=1 keeps the temp dir
# (data dirs, consumer outputs, dumps, both brokers' logs).
set -uo pipefail

script=compaction
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tools=${STREAMLOG_BIN_DIR:-${CARGO_TARGET_DIR:-$repo/target}/debug}
server=${SERVER_START:-$tools/server-start}
kafka=$repo/tests/kafka-ref/kafka.sh

# Bounded: re-run under timeout(1); the EXIT trap stops both brokers.
limit=${COMPACTION_TIMEOUT:-180}
if [[ -z ${STREAMLOG_COMPACTION_TIMED:-} ]]; then
    STREAMLOG_COMPACTION_TIMED=1 exec timeout -k 15 "$limit" bash "$0" "$@"
fi

failures=0
pass() { printf 'PASS %s.%s\n' "$script" "$1"; }
fail() { # NAME WHY [DETAILS FILE]: the check failed; the script goes on
    printf 'FAIL %s.%s: %s\n' "$script" "$1" "$2"
    [[ -n ${3:-} && -s $3 ]] && head -60 "$3" | sed 's/^/    /'
    failures=$((failures + 1))
}
abort() { # NAME WHY [DETAILS FILE]: a failure the rest cannot run without
    fail "$@"
    exit 1
}
note() { printf 'note: %s\n' "$*"; }

work=$(mktemp -d -t streamlog-compaction-XXXXXX)
w=$work/out
mkdir -p "$w"
kdir=$work/kafka
sdata=$work/streamlog
edata=$work/embedded
spid=
started=$SECONDS
cleanup() {
    [[ -n $spid ]] && kill -TERM "$spid" 2>/dev/null
    "$kafka" broker-stop "$kdir" >/dev/null 2>&1
    if [[ -n $spid ]]; then
        for _ in {1..30}; do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$spid" 2>/dev/null
    fi
    if [[ -n ${COMPACTION_KEEP:-} ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'fail run "timed out after $limit s"; exit 1' TERM

for t in topics; do
    [[ -x $tools/$t ]] || abort setup "$tools/$t is not built (cargo build --bins, or set STREAMLOG_BIN_DIR)"
done
[[ -x $server ]] || abort setup "$server is not built (cargo build --bins, or set SERVER_START)"
command -v kcat >/dev/null || abort setup "kcat is not installed"
"$kafka" fetch >/dev/null 2>"$work/fetch.err" || abort setup "cannot fetch Kafka's jars: $(tail -1 "$work/fetch.err")"

now_ms() { date +%s%3N; }
tool_java_opts=${COMPACTION_TOOL_JAVA_OPTS:--Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC}
krun() { # SECONDS CLASS ARGS...: one of Kafka's tools, bounded
    local secs=$1
    shift
    STREAMLOG_KAFKA_JAVA_OPTS=$tool_java_opts timeout "$secs" "$kafka" run "$@"
}

# --- the two brokers ---------------------------------------------------------------------------
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
kb=
for attempt in 1 2 3; do
    port=$((20000 + RANDOM % 40000))
    port_open "$port" || port_open $((port + 1)) && continue
    if "$kafka" broker-start "$port" "$kdir" >"$work/broker-start.log" 2>&1; then
        kb=127.0.0.1:$port
        break
    fi
    "$kafka" broker-stop "$kdir" >/dev/null 2>&1
    rm -rf "$kdir"
done
[[ -n $kb ]] || abort setup "the reference broker did not start: $(tail -3 "$work/broker-start.log")"
# log.cleaner.backoff.ms is one of the LogCleaner's dynamic configs: the cleaner threads restart
# with it at once, and server.properties (written by kafka.sh) stays as it is.
krun 60 org.apache.kafka.tools.ConfigCommand --bootstrap-server "$kb" --entity-type brokers \
    --entity-default --alter --add-config log.cleaner.backoff.ms=250 >"$w/kafka-configs.out" 2>&1 ||
    abort setup "kafka-configs could not set log.cleaner.backoff.ms" "$w/kafka-configs.out"

RUST_LOG=${RUST_LOG:-info} "$server" --override "log.dirs=$sdata" \
    --override listeners=PLAINTEXT://127.0.0.1:0 --override log.cleaner.backoff.ms=250 \
    >"$work/server-start.out" 2>"$work/server-start.err" </dev/null &
spid=$!
sb=
for _ in {1..300}; do
    line=$(head -1 "$work/server-start.out" 2>/dev/null)
    if [[ $line =~ ^streamlog\ broker\ listening\ on\ 127\.0\.0\.1:([0-9]+)\  ]]; then
        sb=127.0.0.1:${BASH_REMATCH[1]}
        break
    fi
    kill -0 "$spid" 2>/dev/null || break
    sleep 0.1
done
[[ -n $sb ]] || abort setup "server-start did not start" "$work/server-start.err"

# --- the topic, created on both by the same client ---------------------------------------------
topic=compacted
retention_ms=20000
segment_ms=1000
configs=(--config cleanup.policy=compact --config segment.ms=$segment_ms --config segment.bytes=1048576
    --config min.cleanable.dirty.ratio=0.01 --config delete.retention.ms=$retention_ms)
ok=0
for side in k s; do
    [[ $side == k ]] && b=$kb || b=$sb
    timeout 45 "$tools/topics" --bootstrap-server "$b" --create --topic $topic --partitions 1 \
        --replication-factor 1 "${configs[@]}" >"$w/create.$side.out" 2>&1 || ok=1
    timeout 45 "$tools/topics" --bootstrap-server "$b" --describe --topic $topic >"$w/describe.$side.out" 2>&1 || ok=1
    for c in cleanup.policy=compact segment.ms=$segment_ms min.cleanable.dirty.ratio=0.01 \
        delete.retention.ms=$retention_ms; do
        grep -q "Configs: .*$c" "$w/describe.$side.out" || ok=1
    done
done
timeout 45 "$tools/topics" --data-dir "$edata" --create --topic $topic --partitions 1 \
    --replication-factor 1 "${configs[@]}" >"$w/create.e.out" 2>&1 || ok=1
[[ $ok == 0 ]] || { cat "$w"/create.* "$w"/describe.* >"$w/create.all"; abort setup "topic creation" "$w/create.all"; }
pass setup

# --- producing the same records to both --------------------------------------------------------
# Every record goes to both brokers through kcat (librdkafka, no idempotence: no producer id, so
# no batch is kept for a producer's sake), one kcat per round and broker, in order; a linger of
# 200 ms makes each round one batch on both (with the default 5 ms the first record of a round
# sometimes leaves alone). `key:` with -Z is a tombstone. $work/produced holds "offset key value"
# (value NULL for a tombstone).
next_offset=0
: >"$work/produced"
produce() { # LINES...: one round, "key:value" or "key:" (tombstone)
    local side b l
    printf '%s\n' "$@" >"$work/round"
    for side in k s; do
        [[ $side == k ]] && b=$kb || b=$sb
        if ! timeout 30 kcat -P -b "$b" -t $topic -p 0 -K: -Z -X linger.ms=200 \
            -X max.in.flight.requests.per.connection=1 <"$work/round" >"$w/produce.$side.err" 2>&1; then
            abort produce "kcat could not produce to $([[ $side == k ]] && echo Kafka || echo server-start)" \
                "$w/produce.$side.err"
        fi
    done
    # The embedded copy: a tombstone is the null marker.
    sed 's/:$/:NULL/' "$work/round" >"$work/round.e"
    if ! timeout 30 "$tools/console-producer" --data-dir "$edata" --topic $topic \
        --property parse.key=true --property key.separator=: --property null.marker=NULL \
        <"$work/round.e" >"$w/produce.e.err" 2>&1; then
        abort produce "console-producer could not write to the embedded data dir" "$w/produce.e.err"
    fi
    for l in "$@"; do
        local v=${l#*:}
        printf '%d %s %s\n' "$next_offset" "${l%%:*}" "${v:-NULL}" >>"$work/produced"
        next_offset=$((next_offset + 1))
    done
}
# The model: the latest record of each key, in offset order, as "offset key size value" (kcat's
# '%o %k %S %s' with -Z); with "drop", tombstones left out.
model() {
    awk -v drop="${1:-}" '{ last[$2] = $0 } END {
        for (k in last) { split(last[k], f, " "); if (f[3] == "NULL" && drop == "drop") continue
            print f[1], f[2], (f[3] == "NULL" ? -1 : length(f[3])), f[3] } }' "$work/produced" |
        sort -n
}
consume() { # SIDE OUT: the whole partition, as kcat prints it
    local b
    if [[ $1 == e ]]; then
        # Our consumer on the embedded data dir, in kcat's '%o %k %S %s' (-Z: NULL, size -1).
        timeout 30 "$tools/console-consumer" --data-dir "$edata" --topic $topic --from-beginning \
            --timeout-ms 1000 --property print.offset=true --property print.key=true 2>"$2.err" |
            awk -F'\t' '{ o = substr($1, 8); v = $3
                if (v == "null") print o, $2, -1, "NULL"; else print o, $2, length(v), v }' >"$2"
        return
    fi
    [[ $1 == k ]] && b=$kb || b=$sb
    timeout 30 kcat -C -b "$b" -t $topic -p 0 -o beginning -e -Z -q -f '%o %k %S %s\n' >"$2" 2>"$2.err"
}
checkpoint_of() { # FILE: our partition's entry in a cleaner-offset-checkpoint (-1 if none)
    awk -v t=$topic 'NR > 2 && $1 == t && $2 == 0 { o = $3 } END { print (o == "" ? -1 : o) }' "$1" 2>/dev/null ||
        echo -1
}
wait_cleaned() { # NAME OFFSET: both cleaners' checkpoints reach OFFSET (60 s at most)
    local i ck cs ce
    for ((i = 0; i < 600; i++)); do
        ck=$(checkpoint_of "$kdir/logs/cleaner-offset-checkpoint")
        cs=$(checkpoint_of "$sdata/cleaner-offset-checkpoint")
        ce=$(checkpoint_of "$edata/cleaner-offset-checkpoint")
        ((ck >= $2 && cs >= $2 && ce >= $2)) && return 0
        sleep 0.1
    done
    abort "$1" "the cleaners did not checkpoint offset $2 within 60 s (Kafka: $ck, server-start: $cs, embedded: $ce)" \
        "$work/server-start.err"
}
# Long enough for the next append to roll the segment (segment.ms counts from its first batch).
roll_pause() { sleep "$(awk -v m=$segment_ms 'BEGIN { print (m + 300) / 1000 }')"; }

keys=()
for i in $(seq -w 0 39); do keys+=("k$i"); done
# Round 1: every key. Round 2: even keys updated, four deleted (revived later or not).
r=()
for k in "${keys[@]}"; do r+=("$k:r1-$k"); done
produce "${r[@]}"
roll_pause
r=()
for ((i = 0; i < 40; i += 2)); do r+=("${keys[$i]}:r2-${keys[$i]}"); done
produce "${r[@]}" k05: k15: k25: k35:
roll_pause
# Round 3: every third key; four more deleted; k05 back.
r=()
for ((i = 0; i < 40; i += 3)); do r+=("${keys[$i]}:r3-${keys[$i]}"); done
produce "${r[@]}" k07: k17: k27: k37: k05:r3-k05
roll_pause
# Round 4: updates, k15 revived, k11 deleted and set again in one batch, k21 three times.
produce k01:r4-k01 k02:r4-k02 k03:r4-k03 k04:r4-k04 k06:r4-k06 k08:r4-k08 k09:r4-k09 \
    k15:r4-k15 k11: k11:r4-k11 k21:r4a-k21 k21:r4b-k21 k21:r4c-k21
roll_pause
# Round 5: the last data; two tombstones in it.
produce k00:r5-k00 k10:r5-k10 k20:r5-k20 k30: k39: k05:r5-k05
roll_pause
# One more record rolls the active segment: every round above is cleanable.
produce roll-1:x
roll1=$((next_offset - 1))
wait_cleaned before-horizon "$roll1"

# --- before the horizon: tombstones kept on both -----------------------------------------------
compare() { # NAME MODEL-FILE: both sides' sequences vs each other and the model
    local name=$1 want=$2
    consume k "$w/$name.kafka"
    consume s "$w/$name.streamlog"
    consume e "$w/$name.embedded"
    if ! diff -u --label embedded --label kafka "$w/$name.embedded" "$w/$name.kafka" >"$w/$name.embedded.diff"; then
        fail "$name.embedded" "the embedded data dir and Kafka 4.4 differ ($(wc -l <"$w/$name.embedded") vs $(wc -l <"$w/$name.kafka") records)" \
            "$w/$name.embedded.diff"
    else
        pass "$name.embedded"
    fi
    if [[ ! -s $w/$name.kafka ]]; then
        fail "$name" "nothing read back from Kafka" "$w/$name.kafka.err"
    elif ! diff -u --label server-start --label kafka "$w/$name.streamlog" "$w/$name.kafka" >"$w/$name.diff"; then
        diff -u --label model --label server-start "$want" "$w/$name.streamlog" >"$w/$name.model-streamlog.diff"
        diff -u --label model --label kafka "$want" "$w/$name.kafka" >"$w/$name.model-kafka.diff"
        {
            cat "$w/$name.diff"
            echo "--- model vs server-start:"
            cat "$w/$name.model-streamlog.diff"
            echo "--- model vs kafka:"
            cat "$w/$name.model-kafka.diff"
        } >"$w/$name.report"
        local off_s off_k
        off_s=$(grep -c '^[-+][0-9]' "$w/$name.model-streamlog.diff")
        off_k=$(grep -c '^[-+][0-9]' "$w/$name.model-kafka.diff")
        fail "$name" "server-start and Kafka 4.4 differ ($(wc -l <"$w/$name.streamlog") vs $(wc -l <"$w/$name.kafka") records; off the model: server-start $off_s lines, Kafka $off_k)" \
            "$w/$name.report"
    elif ! diff -u --label model --label both "$want" "$w/$name.kafka" >"$w/$name.model.diff"; then
        fail "$name" "both brokers agree but not with the model (latest record per key)" "$w/$name.model.diff"
    else
        pass "$name"
        return 0
    fi
    return 1
}
model >"$work/model.tombstones"
tombstones=$(awk '$3 == -1' "$work/model.tombstones" | wc -l)
snap1=$(now_ms)
if compare before-horizon "$work/model.tombstones"; then
    note "before the horizon: $(wc -l <"$w/before-horizon.kafka") records of $next_offset left on both, $tombstones of them tombstones"
fi

# --- DumpLogSegments on our segments (and Kafka's, for the batch layout and the horizons) -----
# dump NAME: both sides' segment files in one DumpLogSegments run; checks ours.
dump() {
    local name=$1 ours theirs out=$w/$1.dump
    mapfile -t ours < <(ls "$sdata/$topic-0/"*.log 2>/dev/null)
    mapfile -t theirs < <(ls "$kdir/logs/$topic-0/"*.log 2>/dev/null)
    STREAMLOG_KAFKA_JAVA_OPTS=$tool_java_opts timeout 90 "$kafka" dump-log "${ours[@]}" "${theirs[@]}" \
        >"$out" 2>"$out.err"
    local rc=$?
    # Split per side: "streamlog" or "kafka" in front of every line.
    awk -v s="$sdata/" '/^Dumping / { side = (index($2, s) == 1) ? "streamlog" : "kafka" } { print side, $0 }' \
        "$out" >"$out.sides"
    grep '^streamlog ' "$out.sides" | cut -d' ' -f2- >"$out.streamlog"
    grep '^kafka ' "$out.sides" | cut -d' ' -f2- >"$out.kafka"
    local batches valid records consumed
    batches=$(grep -c '^baseOffset:' "$out.streamlog")
    valid=$(grep -c '^baseOffset:.* isvalid: true$' "$out.streamlog")
    records=$(grep -c '^| offset:' "$out.streamlog")
    consumed=$(wc -l <"$w/$2.streamlog")
    if [[ $rc != 0 ]]; then
        cat "$out.err" "$out" >"$out.report"
        fail "$name" "DumpLogSegments exited $rc on server-start's segments" "$out.report"
    elif ((batches == 0 || valid != batches)); then
        grep '^baseOffset:' "$out.streamlog" | grep -v 'isvalid: true$' >"$out.report"
        fail "$name" "$((batches - valid)) of $batches batches of server-start's segments not valid" "$out.report"
    elif grep -qiE 'exception|error' "$out.streamlog"; then
        grep -iE 'exception|error' "$out.streamlog" >"$out.report"
        fail "$name" "DumpLogSegments reported errors on server-start's segments" "$out.report"
    elif ((records != consumed)); then
        fail "$name" "DumpLogSegments shows $records records in server-start's segments, kcat read $consumed"
    else
        pass "$name"
        note "$name: ${#ours[@]} segment files of server-start, $batches batches, all isvalid: true, $records records"
    fi
    # The batch layout, side by side (notes only: batching is the client's and cleaning's).
    for side in streamlog kafka; do
        awk '/^baseOffset:/ { h = ($0 ~ /deleteHorizonMs: OptionalLong\[/) ? "horizon" : "-"
            print $2, $4, $6, h }' "$out.$side" >"$out.$side.layout"
    done
    if ! diff -u --label server-start --label kafka "$out.streamlog.layout" "$out.kafka.layout" >"$out.layout.diff"; then
        note "$name: the batch layout (baseOffset lastOffset count horizon) differs from Kafka's:"
        head -30 "$out.layout.diff" | sed 's/^/    /'
    fi
}
dump dump-log-before before-horizon

# The delete horizons stamped in the batches (ms): the earliest must still be ahead of the
# comparison above, or it did not compare "before the horizon".
horizons=$(grep -ho 'deleteHorizonMs: OptionalLong\[[0-9]*\]' "$w/dump-log-before.dump" | grep -o '[0-9]*' | sort -n)
if [[ -z $horizons ]]; then
    abort horizons "no batch has a delete horizon on either side, though $tombstones tombstones were kept"
fi
first_h=$(head -1 <<<"$horizons")
last_h=$(tail -1 <<<"$horizons")
if ((first_h <= snap1)); then
    fail horizons "a delete horizon ($first_h) passed before the before-horizon comparison ($snap1): the run was too slow for delete.retention.ms=$retention_ms"
else
    pass horizons
fi

# --- the horizon passes with nothing new written -----------------------------------------------
# Kafka 4.4 has no pass without dirty records (LogCleanerManager.grabFilthiestCompactedLog needs
# the dirty ratio or the max lag), so its tombstones outlive their horizon until the next write.
while (($(now_ms) < last_h + 2000)); do sleep 0.25; done
compare horizon-passed-idle "$work/model.tombstones"

# --- one more round after the horizon: both clean again, tombstones gone -----------------------
produce k12:r6-k12 k13:r6-k13 k14:r6-k14 k17:r6-k17
roll_pause
produce roll-2:x
roll2=$((next_offset - 1))
wait_cleaned after-horizon "$roll2"
model drop >"$work/model.no-tombstones"
if compare after-horizon "$work/model.no-tombstones"; then
    note "after the horizon: $(wc -l <"$w/after-horizon.kafka") records left on both, no tombstone"
fi
dump dump-log-after after-horizon

passes=$(grep -c 'cleaned log' "$work/server-start.err")
note "server-start's cleaner logged $passes passes; the last:"
grep -A1 'cleaned log' "$work/server-start.err" | tail -2 | sed 's/^/    /'
echo "# $script: $((SECONDS - started)) s, $failures failed"
[[ $failures == 0 ]]
