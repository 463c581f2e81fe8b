#!/usr/bin/env bash
# The live demo of examples/: each /proc producer runs for about 3 s while a console-consumer
# started before it follows the topic; the records must arrive while the producer still runs,
# complete (as many as the producer says it sent), and in order (seq 0..n-1 contiguous per key
# and partition, offsets rising). Three runs: examples/proc_producer.rs on an embedded data dir,
# examples/proc_producer.py (kafka-python) against a server-start on a free port, and the Rust
# example against the same server.
# Needs: cargo build --bins --examples; kafka-python (pip-installed if missing).
set -uo pipefail
script=examples
source "$(dirname "$0")/_lib.sh"

secs=${PROC_SECONDS:-3}
need_bins server-start topics console-consumer examples/proc_producer
if ! python3 -c 'import kafka' 2>/dev/null; then
    python3 -m pip install -q --disable-pip-version-check kafka-python >"$work/pip.log" 2>&1 ||
        fail setup "pip install kafka-python failed: $(tail -3 "$work/pip.log")"
fi

# live NAME TOPIC SOURCE TARGET-FLAGS -- PRODUCER-COMMAND...
# SOURCE is the "source" field the producer writes ("rust" or "python").
live() {
    local name=$1 topic=$2 source=$3
    shift 3
    local target=()
    while [[ $1 != -- ]]; do
        target+=("$1")
        shift
    done
    shift
    local out=$work/$name.out
    if ! "$bindir/topics" "${target[@]}" --create --topic "$topic" >"$work/$name.create" 2>&1; then
        fail "$name" "topics --create failed: $(cat "$work/$name.create")"
        return
    fi
    "$bindir/console-consumer" "${target[@]}" --topic "$topic" --from-beginning --output json \
        >"$out" 2>"$work/$name.consumer.err" </dev/null &
    local consumer=$!
    bg_pids+=("$consumer")
    "$@" --topic "$topic" --seconds "$secs" >"$work/$name.producer.out" 2>"$work/$name.producer.err" </dev/null &
    local producer=$!
    bg_pids+=("$producer")
    # Half way through, the consumer must already have records and the producer must still run.
    sleep "$(awk -v s="$secs" 'BEGIN { print s / 2 + 0.5 }')"
    local mid
    mid=$(wc -l <"$out")
    local running=yes
    kill -0 "$producer" 2>/dev/null || running=no
    wait_pid "$producer" $((secs + 30))
    if [[ $rc != 0 ]]; then
        fail "$name" "the producer exited $rc: $(tail -5 "$work/$name.producer.err")"
        kill -KILL "$consumer" 2>/dev/null
        return
    fi
    local summary sent
    summary=$(grep '^sent ' "$work/$name.producer.err")
    sent=$(awk '{ print $2 }' <<<"$summary")
    if ! [[ $sent =~ ^[0-9]+$ ]]; then
        fail "$name" "no 'sent N records' line from the producer: $(tail -5 "$work/$name.producer.err")"
        kill -KILL "$consumer" 2>/dev/null
        return
    fi
    # Everything within 10 s of the producer's end; then a moment for any extra record.
    wait_for 10 test "$(wc -l <"$out")" -ge "$sent"
    sleep 0.5
    kill -TERM "$consumer" 2>/dev/null
    wait_pid "$consumer" 10
    local verdict
    if verdict=$(python3 - "$out" "$sent" "$mid" "$running" "$source" "$secs" <<'EOF'
import json, sys
path, sent, mid, running, source, secs = sys.argv[1:]
sent, mid, secs = int(sent), int(mid), float(secs)
rows = [json.loads(l) for l in open(path) if l.strip()]
problems = []
if running != "yes":
    problems.append(f"the producer had already stopped half way through its {secs} s")
if not 0 < mid < sent:
    problems.append(f"{mid} of {sent} records had arrived half way through (not live)")
if len(rows) != sent:
    problems.append(f"{len(rows)} records consumed, the producer sent {sent}")
if sent < 5 * secs:
    problems.append(f"only {sent} records in {secs} s (expected about {10 * secs:.0f})")
streams = {}
for r in rows:
    v = json.loads(r["value"])
    if v.get("source") != source:
        problems.append(f"record from source {v.get('source')!r}, expected {source!r}")
        break
    if r["key"] != f"host:{v['host']}":
        problems.append(f"key {r['key']!r} does not name host {v['host']!r}")
        break
    streams.setdefault((r["key"], r["partition"]), []).append((r["offset"], v["seq"], v["ts_ms"]))
for (key, part), recs in streams.items():
    seqs = [s for _, s, _ in recs]
    offsets = [o for o, _, _ in recs]
    if seqs != list(range(len(seqs))):
        problems.append(f"{key} partition {part}: seq not 0..{len(seqs) - 1} in order: {seqs[:20]}...")
    if offsets != sorted(offsets) or len(set(offsets)) != len(offsets):
        problems.append(f"{key} partition {part}: offsets not rising")
if problems:
    print("; ".join(problems))
    sys.exit(1)
ts = sorted(t for recs in streams.values() for _, _, t in recs)
rate = (len(ts) - 1) * 1000.0 / max(ts[-1] - ts[0], 1)
print(f"{len(rows)} records, {len(streams)} key/partition, {rate:.1f} records/s by timestamp, "
      f"{mid} already consumed half way")
EOF
    ); then
        pass "$name" "$verdict; producer: $summary"
    else
        fail "$name" "$verdict"
    fi
}

live rust_embedded proc-rs rust --data-dir "$work/embedded" -- \
    "$bindir/examples/proc_producer" --data-dir "$work/embedded"
start_server
live python_server proc-py python --bootstrap-server "$b" -- \
    python3 "$repo/examples/proc_producer.py" --bootstrap-server "$b"
live rust_server proc-rs rust --bootstrap-server "$b" -- \
    "$bindir/examples/proc_producer" --bootstrap-server "$b"
stop_server server_clean_stop
finish
