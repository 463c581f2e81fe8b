#!/usr/bin/env python3
"""kill -9 under load: an idempotent acks=all producer (confluent-kafka) writes unique, numbered
values to a 3-partition topic while this driver kill -9s server-start and restarts it on the same
data dir and port, again and again; a consumer group member reads along and commits
synchronously. Odd cycles kill at a random moment; even cycles kill the moment a segment file
is written (inotify), between an append and its acknowledgement, the crash after which a
client's retry must not be appended twice. At the end everything is read back from the beginning and checked: no
acknowledged record lost, no value twice (acknowledged or not), offsets contiguous per
partition, no corrupt batch (the consumer checks CRCs; Kafka's DumpLogSegments too when its jars
are cached), committed offsets never going back across kills. Figures: ready-after-restart
(exec to the first Metadata answered, and to the producer's first acknowledgement).

Runs twice by default: with default flushing (page cache) and with
log.flush.interval.messages=1.

    python3 tests/faults/kill9.py [--cycles 20] [--flush default|every|both] [--seed N]
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _faults import REPO, Report, Server, ensure, median, time_limit  # noqa: E402
import _wire as wire  # noqa: E402

SCRIPT = "kill9"
time_limit(300, SCRIPT)
ensure(["confluent_kafka"], ["confluent-kafka"])

from confluent_kafka import (  # noqa: E402
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)

TOPIC = "kill9"
PARTITIONS = 3
GROUP = "kill9-group"
# At most this many records queued in the producer; it adds 25 every 5 ms (~5,000 a second).
BACKLOG = 2000
# librdkafka reconnects fast, so a cycle is mostly load, not backoff.
FAST_RECONNECT = {
    "log_level": 0,  # the disconnects are the point; librdkafka need not narrate them
    "reconnect.backoff.ms": 20,
    "reconnect.backoff.max.ms": 100,
    "retry.backoff.ms": 20,
    "retry.backoff.max.ms": 100,
}


class Load(threading.Thread):
    """The idempotent producer: values `<run>-<n>` to partition n % 3, at most ~5,000 a
    second, never giving up on a record (message.timeout.ms 5 minutes)."""

    def __init__(self, bootstrap, run):
        super().__init__(daemon=True)
        self.run_name = run
        self.p = Producer(
            {
                "bootstrap.servers": bootstrap,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                "message.timeout.ms": 300000,
                **FAST_RECONNECT,
            }
        )
        self.stop = threading.Event()
        self.produced = 0
        self.acked = {}  # value -> (partition, offset)
        self.errors = Counter()
        self.fatal = None
        self.mark = None  # monotonic time of the last restart
        self.first_ack = None  # first acknowledgement after `mark`
        self.lock = threading.Lock()

    def value(self, n):
        return f"{self.run_name}-{n:08d}".encode()

    def delivered(self, err, msg):
        now = time.monotonic()
        if err is not None:
            self.errors[err.name()] += 1
            if err.fatal():
                self.fatal = err
            return
        self.acked[msg.value()] = (msg.partition(), msg.offset())
        with self.lock:
            if self.mark is not None and self.first_ack is None and now > self.mark:
                self.first_ack = now

    def restarted(self, t0):
        with self.lock:
            self.mark, self.first_ack = t0, None

    def run(self):
        while not self.stop.is_set():
            if len(self.p) < BACKLOG:
                for _ in range(25):
                    n = self.produced
                    self.p.produce(
                        TOPIC, value=self.value(n), partition=n % PARTITIONS, on_delivery=self.delivered
                    )
                    self.produced += 1
            self.p.poll(0.005)

    def finish(self, within):
        self.stop.set()
        self.join(10)
        return self.p.flush(within)


class Committer(threading.Thread):
    """A consumer group member reading the topic and committing synchronously after each batch.
    `acked` holds the highest offset per partition the broker acknowledged as committed."""

    def __init__(self, bootstrap):
        super().__init__(daemon=True)
        self.c = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": GROUP,
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "session.timeout.ms": 6000,
                "heartbeat.interval.ms": 500,
                "max.poll.interval.ms": 60000,
                **FAST_RECONNECT,
            }
        )
        self.stop = threading.Event()
        self.acked = {}
        self.read = 0
        self.commits = 0
        self.commit_errors = Counter()
        self.consume_errors = Counter()
        self.lock = threading.Lock()

    def run(self):
        self.c.subscribe([TOPIC])
        while not self.stop.is_set():
            batch = self.c.consume(num_messages=500, timeout=0.1)
            if not batch:
                continue
            for m in batch:
                if m.error():
                    self.consume_errors[m.error().name()] += 1
                else:
                    self.read += 1
            try:
                done = self.c.commit(asynchronous=False)
            except KafkaException as e:
                self.commit_errors[e.args[0].name()] += 1
                continue
            with self.lock:
                for tp in done or []:
                    if tp.error is None and tp.offset >= 0:
                        self.commits += 1
                        self.acked[tp.partition] = max(self.acked.get(tp.partition, -1), tp.offset)
        try:
            self.c.close()
        except KafkaException:
            pass

    def snapshot(self):
        with self.lock:
            return dict(self.acked)


# Waits for a segment file to be written (inotify IN_MODIFY, raised inside the broker's pwrite)
# and kill -9s the broker at once. A process of its own, at real-time priority when allowed, so
# it runs the moment the event comes: in this process the producer's and the group member's
# callbacks hold the GIL for milliseconds, far longer than the gap between an append and its
# acknowledgement.
WATCHER = """
import ctypes, os, select, sys
pid, within, segs = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
try:
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
except OSError:
    pass
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(os.O_CLOEXEC)
for s in segs:
    libc.inotify_add_watch(fd, s.encode(), 0x2)  # IN_MODIFY
print("armed", flush=True)
seen = bool(select.select([fd], [], [], within)[0])
os.kill(pid, 9)
sys.exit(0 if seen else 1)
"""


def kill_after_append(server, data_dir, within):
    """kill -9 the moment a segment file grows (an append has just landed and its
    acknowledgement is on its way), or after `within` seconds; returns whether it saw one. This
    is the crash that tests idempotence: the records are in the log, the client never hears so
    and sends them again."""
    segs = []
    for p in range(PARTITIONS):
        d = os.path.join(data_dir, f"{TOPIC}-{p}")
        logs = sorted(f for f in os.listdir(d) if f.endswith(".log"))
        segs.append(os.path.join(d, logs[-1]))
    watcher = subprocess.Popen(
        [sys.executable, "-c", WATCHER, str(server.pid), str(within), *segs], stdout=subprocess.PIPE
    )
    watcher.stdout.readline()  # armed
    code = watcher.wait()
    server.proc.wait()
    return code == 0


def probe_ready(port, deadline):
    """The monotonic time the broker first answers Metadata for the topic with every partition
    led, or None by `deadline`."""
    while time.monotonic() < deadline:
        try:
            c = wire.Conn("127.0.0.1", port, timeout=5)
            try:
                md = wire.parse_metadata(c.call(wire.API_METADATA, 1, wire.metadata_body([TOPIC])))
            finally:
                c.close()
            err, parts = md.get(TOPIC, (-1, {}))
            if err == 0 and len(parts) == PARTITIONS:
                return time.monotonic()
        except OSError:
            pass
        time.sleep(0.005)
    return None


def probe_produce(port, cycle):
    """One Produce (acks=-1, not idempotent) of a `probe-<cycle>-<p>` record to every partition:
    (monotonic time of the answer, {partition: error} of those that failed). Opening a
    partition after a crash runs its recovery, so this is when the broker can take writes."""
    parts = [wire.i32(p) + wire.nbytes(wire.record_batch([f"probe-{cycle}-{p}".encode()])) for p in range(PARTITIONS)]
    body = wire.string(None) + wire.i16(-1) + wire.i32(30000) + wire.array([wire.string(TOPIC) + wire.array(parts)])
    c = wire.Conn("127.0.0.1", port, timeout=30)
    try:
        answers = wire.parse_produce(c.call(wire.API_PRODUCE, 3, body))
    finally:
        c.close()
    done = time.monotonic()
    return done, {p: e for (_, p), (e, _) in answers.items() if e != 0}


def committed_offsets(port):
    c = wire.Conn("127.0.0.1", port, timeout=10)
    try:
        got = wire.parse_offset_fetch(
            c.call(wire.API_OFFSET_FETCH, 1, wire.offset_fetch_body(GROUP, TOPIC, list(range(PARTITIONS))))
        )
    finally:
        c.close()
    return {p: off for (_, p), (off, err) in got.items() if err == 0 and off >= 0}


def read_back(bootstrap):
    """Everything in the topic from the beginning with CRC checks: ({(p, off): value}, errors,
    high watermarks)."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "kill9-verify",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "check.crcs": True,
        }
    )
    try:
        hws = {p: c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1] for p in range(PARTITIONS)}
        c.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
        got, errors, eof = {}, Counter(), set()
        deadline = time.time() + 120
        while len(eof) < PARTITIONS and time.time() < deadline:
            for m in c.consume(num_messages=1000, timeout=0.5):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        if m.offset() >= hws[m.partition()]:
                            eof.add(m.partition())
                        continue
                    errors[m.error().name()] += 1
                    continue
                key = (m.partition(), m.offset())
                if key in got:
                    errors["offset read twice"] += 1
                got[key] = m.value()
        if len(eof) < PARTITIONS:
            errors["did not reach the end"] += 1
        return got, errors, hws
    finally:
        c.close()


def dump_log_segments(data_dir, report, name, records):
    """Kafka's DumpLogSegments over every segment, when Kafka's jars are cached (.ci/run fetches
    them); checks every batch is valid and the record count matches."""
    kafka = os.path.join(REPO, "tests", "kafka-ref", "kafka.sh")
    cp = subprocess.run([kafka, "classpath"], capture_output=True, text=True).stdout.strip()
    lib = os.path.dirname(cp)
    if not os.path.isdir(lib) or not any(f.startswith("kafka_2.13-") for f in os.listdir(lib)):
        report.skip(f"{name}.dump_log_segments", "Kafka's jars are not cached (tests/kafka-ref/kafka.sh fetch)")
        return
    segs = []
    for p in range(PARTITIONS):
        d = os.path.join(data_dir, f"{TOPIC}-{p}")
        segs += sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".log"))
    out = subprocess.run([kafka, "dump-log", *segs], capture_output=True, text=True, timeout=120)
    text = out.stdout + out.stderr
    batches = sum(1 for line in text.splitlines() if line.startswith("baseOffset:"))
    invalid = sum(1 for line in text.splitlines() if "isvalid: false" in line)
    recs = sum(1 for line in text.splitlines() if line.startswith("| offset:"))
    trouble = [line for line in text.splitlines() if "Exception" in line or "invalid bytes" in line]
    report.check(
        f"{name}.dump_log_segments",
        out.returncode == 0 and invalid == 0 and not trouble and recs == records,
        f"exit {out.returncode}, {batches} batches, {invalid} invalid, {recs} records "
        f"(consumer read {records}); {trouble[:3]}",
    )
    report.note(f"{name}: DumpLogSegments over {len(segs)} segments: {batches} batches, {recs} records, all valid={invalid == 0}")


def campaign(report, name, overrides, cycles, rng):
    work = tempfile.mkdtemp(prefix=f"streamlog-kill9-{name}-")
    data = os.path.join(work, "data")
    server = Server(data, os.path.join(work, "server-start.stderr"), overrides)
    load = committer = None
    t_begin = time.monotonic()
    try:
        server.start()
        wire.create_topic("127.0.0.1", server.port, TOPIC, PARTITIONS)
        load = Load(server.bootstrap, name)
        load.restarted(time.monotonic())
        load.start()
        committer = Committer(server.bootstrap)
        committer.start()

        ready_ms, probe_ms, first_ack_ms, failed_starts = [], [], [], []
        commits_back, commits_lost = [], []
        append_kills = 0
        last_committed = {}
        for cycle in range(1, cycles + 1):
            time.sleep(rng.uniform(0.6, 1.4))
            if cycle % 2:
                server.kill9()
            else:
                append_kills += kill_after_append(server, data, 0.5)
            before = committer.snapshot()
            t0 = server.spawn()
            load.restarted(t0)
            ready = probe_ready(server.port, t0 + 30)
            if ready is None:
                failed_starts.append(cycle)
                report.note(f"{name}: cycle {cycle}: not ready in 30 s\n{server.log_tail()}")
                break
            server.wait_listening(5)
            ready_ms.append((ready - t0) * 1000)
            produced_at, errors = probe_produce(server.port, cycle)
            if errors:
                report.note(f"{name}: cycle {cycle}: the probe Produce was answered {errors}")
            else:
                probe_ms.append((produced_at - t0) * 1000)
            deadline = time.monotonic() + 30
            while load.first_ack is None and time.monotonic() < deadline and not load.fatal:
                time.sleep(0.005)
            if load.first_ack is not None:
                first_ack_ms.append((load.first_ack - t0) * 1000)
            else:
                report.note(f"{name}: cycle {cycle}: no acknowledgement within 30 s of the restart")
            now = committed_offsets(server.port)
            for p, off in now.items():
                if off < last_committed.get(p, -1):
                    commits_back.append((cycle, p, last_committed[p], off))
            for p, off in before.items():
                if now.get(p, -1) < off:
                    commits_lost.append((cycle, p, off, now.get(p)))
            last_committed.update(now)
            if load.fatal:
                break

        left = load.finish(60)
        committer.stop.set()
        committer.join(15)
        got, read_errors, hws = read_back(server.bootstrap)

        # What the log holds against what was acknowledged.
        values = Counter(got.values())
        got_first = {}
        for k in sorted(got):
            got_first.setdefault(got[k], k)
        dup_values = {v: n for v, n in values.items() if n > 1}
        extra_copies = sum(n - 1 for n in dup_values.values())
        acked = load.acked
        missing = [v for v in acked if v not in values]
        misplaced = [v for v, at in acked.items() if v in values and got.get(at) != v]
        dup_acked = sum(1 for v in dup_values if v in acked)
        # Extra copies come a batch at a time: count the runs of consecutive offsets they fill.
        extra_at = sorted(k for k, v in got.items() if v in dup_values and got_first[v] != k)
        dup_batches = sum(1 for i, (p, o) in enumerate(extra_at) if i == 0 or extra_at[i - 1] != (p, o - 1))
        holes = {}
        for p in range(PARTITIONS):
            offs = sorted(o for (pp, o) in got if pp == p)
            want = list(range(offs[0], hws[p])) if offs else []
            if offs != want or (offs and offs[0] != 0):
                holes[p] = (len(offs), offs[:1], hws[p])
        foreign = [v for v in values if not v.startswith((f"{name}-".encode(), b"probe-"))]
        probes = sum(n for v, n in values.items() if v.startswith(b"probe-"))

        report.check(f"{name}.restarts", not failed_starts and len(ready_ms) == cycles,
                     f"{len(ready_ms)} of {cycles} restarts became ready; failed at {failed_starts}")
        report.check(f"{name}.producer_errors", not load.errors and load.fatal is None and left == 0,
                     f"delivery errors {dict(load.errors)}, fatal {load.fatal}, {left} never delivered")
        report.check(f"{name}.no_acked_loss", not missing and not misplaced,
                     f"{len(missing)} acknowledged values missing (e.g. {missing[:3]}), "
                     f"{len(misplaced)} not at their acknowledged offset (e.g. {misplaced[:3]})")
        example = sorted(dup_values)[:3]
        where = {v.decode(): sorted(k for k, x in got.items() if x == v) for v in example}
        report.check(f"{name}.no_duplicates", not dup_values,
                     f"{len(dup_values)} values appear more than once ({extra_copies} extra copies in "
                     f"{dup_batches} runs; {dup_acked} of them acknowledged), e.g. {where}")
        report.check(f"{name}.offsets_contiguous", not holes and not foreign,
                     f"partitions with holes {holes}; foreign values {foreign[:3]}")
        report.check(f"{name}.no_corrupt_batches", not read_errors,
                     f"consumer errors {dict(read_errors)}")
        report.check(f"{name}.committed_offsets_never_go_back", not commits_back and not commits_lost,
                     f"went back (cycle, partition, before, after): {commits_back[:5]}; "
                     f"acknowledged commits lost (cycle, partition, acked, after): {commits_lost[:5]}")
        panics = server.log().count("panicked")
        report.check(f"{name}.no_panic", panics == 0, f"{panics} panics in stderr:\n{server.log_tail()}")
        code, secs = server.sigterm()
        report.check(f"{name}.clean_stop", code == 0 and "stopped cleanly" in server.log(),
                     f"exit {code} after {secs:.1f} s\n{server.log_tail()}")
        dump_log_segments(data, report, name, len(got))

        report.note(
            f"{name}: {len(ready_ms)} kill -9 cycles ({append_kills} right after an append), {load.produced} produced, {len(acked)} acknowledged, "
            f"{len(got)} in the log ({probes} of them probes), {len(missing)} acknowledged lost, {len(dup_values)} duplicated values "
            f"({extra_copies} extra copies in {dup_batches} runs, {dup_acked} acknowledged), "
            f"ready (Metadata) median {median(ready_ms):.0f} ms max {max(ready_ms, default=0):.0f} ms, "
            f"ready (Produce to all {PARTITIONS} partitions) median {median(probe_ms):.0f} ms "
            f"max {max(probe_ms, default=0):.0f} ms, "
            f"librdkafka's first ack median {median(first_ack_ms):.0f} ms max {max(first_ack_ms, default=0):.0f} ms, "
            f"group: {committer.read} read, {committer.commits} partition commits, "
            f"{sum(committer.commit_errors.values())} failed commits {dict(committer.commit_errors)}, "
            f"{time.monotonic() - t_begin:.0f} s"
        )
        report.note(f"{name}: ready (Metadata) per cycle, ms: {[round(x) for x in ready_ms]}")
        report.note(f"{name}: ready (Produce) per cycle, ms: {[round(x) for x in probe_ms]}")
        report.note(f"{name}: librdkafka's first acknowledgement per cycle, ms: {[round(x) for x in first_ack_ms]}")
    finally:
        if load is not None:
            load.stop.set()
        if committer is not None:
            committer.stop.set()
        server.close()
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=20)
    ap.add_argument("--flush", choices=["default", "every", "both"], default="both")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    report = Report(SCRIPT)
    report.note(f"seed {seed}, {args.cycles} cycles per run")
    runs = []
    if args.flush in ("default", "both"):
        runs.append(("default_flush", []))
    if args.flush in ("every", "both"):
        runs.append(("flush_every_message", ["log.flush.interval.messages=1"]))
    for name, overrides in runs:
        campaign(report, name, overrides, args.cycles, rng)
    report.done()


main()
