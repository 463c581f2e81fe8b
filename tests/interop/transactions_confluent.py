#!/usr/bin/env python3
"""Kafka transactions through confluent-kafka (librdkafka) against server-start: two
transactional producers committing and aborting interleaved on a 3-partition topic, read back
by read_committed (exactly the committed records, in order, no control records) and
read_uncommitted consumers (everything; control records take an offset each); watermarks and the
last stable offset (LSO) with a transaction left open; one transaction over two topics;
consume-transform-produce with send_offsets_to_transaction (the group's offsets appear on commit,
not on abort); zombie fencing by a second producer with the same transactional.id.

Binaries: $SERVER_START, else $STREAMLOG_BIN/server-start, else target/debug/server-start.
TXN_AGAINST=kafka runs the same checks against a Kafka 4.4 broker (tests/kafka-ref/kafka.sh
broker-start) instead, to check the checks; TXN_BOOTSTRAP=host:port against a running broker;
TXN_CHECKS=name,... only the named checks."""

import os
import re
import socket
import subprocess
import sys
import tempfile
import shutil
import time
from collections import Counter

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]
sys.path.append(HERE)
if os.environ.get("STREAMLOG_BIN") and not os.environ.get("SERVER_START"):
    os.environ["SERVER_START"] = os.path.join(os.environ["STREAMLOG_BIN"], "server-start")
from _broker import REPO, Broker, ensure, fail, run_checks, time_limit  # noqa: E402

SCRIPT = "transactions_confluent"
time_limit(240, SCRIPT)
ensure(["confluent_kafka"], ["confluent-kafka"])

import confluent_kafka  # noqa: E402
from confluent_kafka import (  # noqa: E402
    OFFSET_BEGINNING,
    Consumer,
    ConsumerGroupTopicPartitions,
    IsolationLevel,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec  # noqa: E402

print(
    f"# confluent-kafka {confluent_kafka.__version__}, librdkafka {confluent_kafka.libversion()[0]}",
    flush=True,
)


class KafkaRef:
    """A Kafka 4.4 single-node broker (kafka.sh broker-start) with Broker's interface."""

    KAFKA_SH = os.path.join(REPO, "tests", "kafka-ref", "kafka.sh")

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="streamlog-txn-kafka-")
        port = free_port_pair()
        r = subprocess.run(
            [self.KAFKA_SH, "broker-start", str(port), self.dir],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=150,
        )
        if r.returncode != 0:
            shutil.rmtree(self.dir, ignore_errors=True)
            fail("setup", f"kafka.sh broker-start failed: {r.stderr}")
        self.bootstrap = f"127.0.0.1:{port}"

    def log(self):
        try:
            with open(os.path.join(self.dir, "broker.log")) as f:
                return "".join(f.readlines()[-40:])
        except OSError:
            return ""

    def alive(self):
        try:
            with open(os.path.join(self.dir, "broker.pid")) as f:
                os.kill(int(f.read()), 0)
            return True
        except (OSError, ValueError):
            return False

    def stop(self):
        subprocess.run([self.KAFKA_SH, "broker-stop", self.dir], timeout=60, check=True)

    def close(self):
        subprocess.run([self.KAFKA_SH, "broker-stop", self.dir], timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


def free_port_pair():
    """A port p with p and p+1 free (the reference broker's client and controller ports)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p >= 65535:
            continue
        try:
            with socket.socket() as s2:
                s2.bind(("127.0.0.1", p + 1))
            return p
        except OSError:
            continue
    fail("setup", "no free port pair")


class External:
    """A broker someone else runs (TXN_BOOTSTRAP=host:port), for debugging: never stopped."""

    def __init__(self, bootstrap):
        self.bootstrap = bootstrap

    def log(self):
        return ""

    def alive(self):
        return True

    def stop(self):
        pass

    def close(self):
        pass


if os.environ.get("TXN_BOOTSTRAP"):
    broker = External(os.environ["TXN_BOOTSTRAP"])
    print(f"# against the broker at {broker.bootstrap}", flush=True)
elif os.environ.get("TXN_AGAINST") == "kafka":
    broker = KafkaRef()
    print(f"# against Kafka 4.4 at {broker.bootstrap}", flush=True)
else:
    # Each request's API and version at trace level, to report which versions librdkafka used.
    os.environ.setdefault("RUST_LOG", "streamlog::broker::handler=trace")
    broker = Broker("group.initial.rebalance.delay.ms=0")
B = broker.bootstrap
admin = AdminClient({"bootstrap.servers": B})
TIMEOUT = 30  # seconds, for each transactional call

# Producer errors that mean "fenced by a newer producer with the same transactional.id".
FENCED = {KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH}


def create_topics(*specs):
    """specs: (name, partitions)."""
    fs = admin.create_topics(
        [NewTopic(n, num_partitions=p, replication_factor=1) for n, p in specs]
    )
    for f in fs.values():
        f.result(15)


# Every producer a check made, destroyed when the check ends (librdkafka would otherwise keep
# reconnecting to the stopped broker until the script exits).
producers = []


def new_producer(conf):
    p = Producer({"bootstrap.servers": B, "linger.ms": 5, **conf})
    producers.append(p)
    return p


def closing(check):
    def run():
        try:
            check()
        finally:
            for p in producers:
                p.purge()
            producers.clear()  # the last references: librdkafka destroys them

    return run


class TxnProducer:
    """A transactional producer that records every delivery: (topic, partition) -> [(offset,
    value)] in acknowledgement order, and the errors."""

    def __init__(self, txid, **conf):
        self.txid = txid
        self.acked = {}
        self.errors = []
        self.p = new_producer({"transactional.id": txid, **conf})
        self.p.init_transactions(TIMEOUT)

    def _delivered(self, err, msg):
        if err is not None:
            self.errors.append(err)
        else:
            self.acked.setdefault((msg.topic(), msg.partition()), []).append(
                (msg.offset(), msg.value())
            )

    def send(self, topic, partition, value, key=None):
        self.p.produce(
            topic,
            key=key if key is not None else value,
            value=value,
            partition=partition,
            on_delivery=self._delivered,
        )
        self.p.poll(0)

    def flush(self):
        left = self.p.flush(TIMEOUT)
        assert left == 0, f"{self.txid}: {left} records not delivered"
        assert not self.errors, f"{self.txid}: delivery errors {self.errors}"


def read(topic, partitions, isolation, limit=20):
    """Reads every partition from the beginning to its end (EOF: the high watermark, or the LSO
    under read_committed) with assign(); returns {partition: [(offset, key, value)]}."""
    c = Consumer(
        {
            "bootstrap.servers": B,
            "group.id": f"txn-read-{topic}-{isolation}",
            "isolation.level": isolation,
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        got = {p: [] for p in partitions}
        eof = set()
        deadline = time.time() + limit
        while len(eof) < len(partitions):
            if time.time() > deadline:
                counts = {p: len(v) for p, v in got.items()}
                raise AssertionError(
                    f"{topic} ({isolation}) not read to its end in {limit} s: "
                    f"EOF on {sorted(eof)}, read {counts}"
                )
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    eof.add(m.partition())
                    continue
                raise AssertionError(f"{topic} ({isolation}): consumer error {m.error()}")
            eof.discard(m.partition())
            got[m.partition()].append((m.offset(), m.key(), m.value()))
        # Nothing more arrives after every partition's EOF.
        end = time.time() + 0.5
        while time.time() < end:
            m = c.poll(0.2)
            if m is not None and not m.error():
                raise AssertionError(
                    f"{topic} ({isolation}): record after EOF: "
                    f"{m.partition()}@{m.offset()} {m.value()!r}"
                )
        return got
    finally:
        c.close()


def values(records):
    return [v for (_, _, v) in records]


def check_offsets(topic, got):
    for p, recs in got.items():
        offs = [o for (o, _, _) in recs]
        assert offs == sorted(set(offs)), f"{topic}[{p}]: offsets not strictly increasing: {offs}"


def watermarks(topic, partition, isolation):
    c = Consumer(
        {"bootstrap.servers": B, "group.id": f"txn-wm-{isolation}", "isolation.level": isolation}
    )
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10, cached=False)
    finally:
        c.close()


def list_offsets(topic, partitions, spec, isolation):
    fs = admin.list_offsets(
        {TopicPartition(topic, p): spec for p in partitions},
        isolation_level=isolation,
        request_timeout=15,
    )
    return {tp.partition: f.result(15).offset for tp, f in fs.items()}


def group_offsets(group, topic, partitions):
    """The group's committed offsets as the admin client reads them (OffsetFetch); missing ones as
    None."""
    req = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in partitions])
    res = admin.list_consumer_group_offsets([req], request_timeout=15)[group].result(15)
    return {tp.partition: (tp.offset if tp.offset >= 0 else None) for tp in res.topic_partitions}


# --- two producers committing and aborting, interleaved ----------------------------------------

MAIN = "txn-main"
PARTS = [0, 1, 2]
ROUNDS = 4
PER_ROUND_COMMIT = 15  # N = ROUNDS * 15 committed records
PER_ROUND_ABORT = 9  # M = ROUNDS * 9 aborted records
state = {}


def interleaved_commit_abort():
    create_topics((MAIN, 3))
    pc = TxnProducer("txn-committer")
    pa = TxnProducer("txn-aborter")
    committed = {p: [] for p in PARTS}
    aborted = {p: [] for p in PARTS}
    for r in range(ROUNDS):
        pc.p.begin_transaction()
        pa.p.begin_transaction()
        c = a = 0
        while c < PER_ROUND_COMMIT or a < PER_ROUND_ABORT:
            # Two commit records, then one abort record: both transactions' batches alternate in
            # every partition.
            if c < PER_ROUND_COMMIT and (c + a) % 3 != 2 or a >= PER_ROUND_ABORT:
                v = f"commit r{r} {c}".encode()
                pc.send(MAIN, c % 3, v)
                committed[c % 3].append(v)
                c += 1
            else:
                v = f"abort r{r} {a}".encode()
                pa.send(MAIN, a % 3, v)
                aborted[a % 3].append(v)
                a += 1
            if (c + a) % 6 == 0:
                pc.p.flush(TIMEOUT)
                pa.p.flush(TIMEOUT)
        pc.flush()
        pa.flush()
        # Alternate which transaction ends first.
        if r % 2 == 0:
            pc.p.commit_transaction(TIMEOUT)
            pa.p.abort_transaction(TIMEOUT)
        else:
            pa.p.abort_transaction(TIMEOUT)
            pc.p.commit_transaction(TIMEOUT)
    n = sum(len(v) for v in committed.values())
    m = sum(len(v) for v in aborted.values())
    assert (n, m) == (ROUNDS * PER_ROUND_COMMIT, ROUNDS * PER_ROUND_ABORT), (n, m)
    # Each producer's acknowledged offsets: in order, one per record.
    for prod, want in ((pc, committed), (pa, aborted)):
        for p in PARTS:
            acks = prod.acked.get((MAIN, p), [])
            assert [v for (_, v) in acks] == want[p], f"{prod.txid}[{p}] acknowledged out of order"
    state.update(committed=committed, aborted=aborted, acked_c=pc.acked, n=n, m=m)
    print(
        f"# {ROUNDS} rounds: {n} records committed, {m} aborted over {len(PARTS)} partitions",
        flush=True,
    )


def read_committed_sees_committed():
    committed = state["committed"]
    got = read(MAIN, PARTS, "read_committed")
    check_offsets(MAIN, got)
    for p in PARTS:
        vs = values(got[p])
        aborted_read = [v for v in vs if v.startswith(b"abort")][:5]
        assert vs == committed[p], (
            f"partition {p}: read_committed read {len(vs)} records, want the {len(committed[p])} "
            f"committed in order; aborted ones read: {aborted_read}; first read {vs[:4]}"
        )
        # Control records never reach the application: every record is one we produced, with
        # the offset its producer was acknowledged.
        acked = {v: o for (o, v) in state["acked_c"][(MAIN, p)]}
        assert all(
            acked.get(v) == o for (o, _, v) in got[p]
        ), f"partition {p}: offsets differ from the acknowledged ones"


def read_uncommitted_sees_everything():
    committed, aborted = state["committed"], state["aborted"]
    got = read(MAIN, PARTS, "read_uncommitted")
    check_offsets(MAIN, got)
    hw = {}
    for p in PARTS:
        vs = values(got[p])
        c, a = committed[p], aborted[p]
        assert [v for v in vs if v.startswith(b"commit")] == c, f"{p}: committed records differ"
        assert [v for v in vs if v.startswith(b"abort")] == a, f"{p}: aborted records differ"
        assert len(vs) == len(c) + len(a), f"partition {p}: unexpected records {vs}"
        # Each transaction ends with one control record per partition, taking an offset: the
        # partition's high watermark is its records plus two markers a round.
        _, hi = watermarks(MAIN, p, "read_uncommitted")
        markers = 2 * ROUNDS
        assert hi == len(vs) + markers, f"{p}: high watermark {hi}, want {len(vs)} + {markers}"
        gaps = sorted(set(range(hi)) - {o for (o, _, _) in got[p]})
        assert len(gaps) == markers and gaps[-1] == hi - 1, f"partition {p}: gaps {gaps}"
        hw[p] = hi
    state["hw"] = hw


def watermarks_and_lso():
    hw = state["hw"]
    for p in PARTS:
        for iso in ("read_uncommitted", "read_committed"):
            lo, hi = watermarks(MAIN, p, iso)
            assert (lo, hi) == (0, hw[p]), f"{iso} watermarks of {p}: {(lo, hi)}, want (0, {hw[p]})"
    for iso in (IsolationLevel.READ_UNCOMMITTED, IsolationLevel.READ_COMMITTED):
        assert list_offsets(MAIN, PARTS, OffsetSpec.earliest(), iso) == {p: 0 for p in PARTS}
        latest = list_offsets(MAIN, PARTS, OffsetSpec.latest(), iso)
        assert latest == hw, f"ListOffsets latest ({iso}): {latest}, want {hw}"


def open_transaction_holds_lso():
    """A transaction left open pins the LSO at its first offset: read_committed readers stop
    there even though later transactions committed; its abort (or commit) releases them."""
    topic = "txn-lso"
    create_topics((topic, 1))
    a = TxnProducer("txn-lso-a")
    o = TxnProducer("txn-lso-open")
    a.p.begin_transaction()
    for i in range(3):
        a.send(topic, 0, f"a1 {i}".encode())
    a.p.commit_transaction(TIMEOUT)  # offsets 0-2, marker 3
    o.p.begin_transaction()
    for i in range(2):
        o.send(topic, 0, f"open1 {i}".encode())
    o.flush()  # offsets 4-5, open
    a.p.begin_transaction()
    for i in range(2):
        a.send(topic, 0, f"a2 {i}".encode())
    a.p.commit_transaction(TIMEOUT)  # offsets 6-7, marker 8
    lso, hw = 4, 9
    assert [x for (x, _) in o.acked[(topic, 0)]] == [4, 5], o.acked
    assert watermarks(topic, 0, "read_uncommitted") == (0, hw)
    got = watermarks(topic, 0, "read_committed")
    assert got == (0, lso), f"read_committed watermarks {got}, want (0, {lso})"
    got = list_offsets(topic, [0], OffsetSpec.latest(), IsolationLevel.READ_COMMITTED)
    assert got == {0: lso}, f"ListOffsets latest read_committed {got}, want the LSO {lso}"
    got = list_offsets(topic, [0], OffsetSpec.latest(), IsolationLevel.READ_UNCOMMITTED)
    assert got == {0: hw}, f"ListOffsets latest read_uncommitted {got}, want {hw}"
    vs = values(read(topic, [0], "read_committed")[0])
    assert vs == [b"a1 0", b"a1 1", b"a1 2"], f"read_committed below the LSO: {vs}"
    vs = values(read(topic, [0], "read_uncommitted")[0])
    assert len(vs) == 7, f"read_uncommitted: {vs}"

    o.p.abort_transaction(TIMEOUT)  # marker 9
    hw = lso = 10
    got = watermarks(topic, 0, "read_committed")
    assert got == (0, lso), f"read_committed watermarks {got}, want (0, {lso})"
    vs = values(read(topic, [0], "read_committed")[0])
    assert vs == [b"a1 0", b"a1 1", b"a1 2", b"a2 0", b"a2 1"], f"after the abort: {vs}"

    # Again, committing the open transaction this time.
    o.p.begin_transaction()
    o.send(topic, 0, b"open2 0")
    o.flush()  # offset 10
    a.p.begin_transaction()
    a.send(topic, 0, b"a3 0")
    a.p.commit_transaction(TIMEOUT)  # 11, marker 12
    assert watermarks(topic, 0, "read_committed") == (0, 10)
    o.p.commit_transaction(TIMEOUT)  # marker 13
    assert watermarks(topic, 0, "read_committed") == (0, 14)
    assert watermarks(topic, 0, "read_uncommitted") == (0, 14)
    got = read(topic, [0], "read_committed")[0]
    assert [(x, v) for (x, _, v) in got][-2:] == [(10, b"open2 0"), (11, b"a3 0")], got


def two_topic_transaction():
    t1, t2 = "txn-two-a", "txn-two-b"
    create_topics((t1, 2), (t2, 1))
    p = TxnProducer("txn-two-topics")
    want = {t1: [], t2: []}
    for r, (n, commit) in enumerate(((5, True), (4, False), (3, True))):
        p.p.begin_transaction()
        for i in range(n):
            for t in (t1, t2):
                v = f"{t} r{r} {i}".encode()
                p.send(t, i % 2 if t == t1 else 0, v)
                if commit:
                    want[t].append(v)
        p.flush()
        if commit:
            p.p.commit_transaction(TIMEOUT)
        else:
            p.p.abort_transaction(TIMEOUT)
    for t, parts in ((t1, [0, 1]), (t2, [0])):
        got = read(t, parts, "read_committed")
        check_offsets(t, got)
        vs = sorted(v for p in parts for v in values(got[p]))
        assert vs == sorted(want[t]), f"{t} read_committed: {vs}"
        got = read(t, parts, "read_uncommitted")
        assert sum(len(got[p]) for p in parts) == 12, f"{t} read_uncommitted: {got}"


def consume_transform_produce():
    """A group member reads ctp-in under read_committed; each batch goes to ctp-out upper-cased in
    one transaction together with the group's offsets (send_offsets_to_transaction, KIP-447
    group metadata). Committed offsets appear with the commit; an aborted batch leaves them (and
    the output) as they were, and is redone from the committed offsets."""
    tin, tout, group = "ctp-in", "ctp-out", "ctp-group"
    create_topics((tin, 3), (tout, 3))
    plain = new_producer({})
    inputs = []

    def feed(n):
        for _ in range(n):
            i = len(inputs)
            v = f"input {i}".encode()
            plain.produce(tin, key=str(i).encode(), value=v, partition=i % 3)
            inputs.append(v)
        assert plain.flush(15) == 0

    feed(30)
    c = Consumer(
        {
            "bootstrap.servers": B,
            "group.id": group,
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
        }
    )
    t = TxnProducer("ctp-txn")
    parts = [0, 1, 2]
    try:
        c.subscribe([tin])

        def take(n, limit=20):
            msgs = []
            deadline = time.time() + limit
            while len(msgs) < n:
                if time.time() > deadline:
                    raise AssertionError(f"read {len(msgs)} of {n}; assignment {c.assignment()}")
                for m in c.consume(num_messages=n - len(msgs), timeout=0.5):
                    if m.error():
                        raise AssertionError(f"consumer error {m.error()}")
                    msgs.append(m)
            return msgs

        def member_committed():
            got = c.committed([TopicPartition(tin, p) for p in parts], timeout=10)
            return {tp.partition: tp.offset for tp in got}

        def transform(msgs):
            t.p.begin_transaction()
            for m in msgs:
                t.send(tout, m.partition(), m.value().upper(), key=m.key())
            t.flush()
            positions = c.position(c.assignment())
            t.p.send_offsets_to_transaction(positions, c.consumer_group_metadata(), TIMEOUT)
            return positions

        assert group_offsets(group, tin, parts) == {p: None for p in parts}
        msgs = take(30)
        positions = transform(msgs)
        assert {tp.partition: tp.offset for tp in positions} == {0: 10, 1: 10, 2: 10}, positions
        # Offsets sent to a transaction are not the group's until it commits.
        pending = group_offsets(group, tin, parts)
        assert pending == {p: None for p in parts}, f"offsets visible before the commit: {pending}"
        t.p.commit_transaction(TIMEOUT)
        # The member asks with require_stable (KIP-447; librdkafka does under read_committed), so
        # the broker answers once the transaction's markers are written: no race with them. The
        # admin client's plain OffsetFetch then sees the same.
        mine = member_committed()
        assert mine == {0: 10, 1: 10, 2: 10}, f"committed offsets after the commit (member): {mine}"
        got = group_offsets(group, tin, parts)
        assert got == {0: 10, 1: 10, 2: 10}, f"committed offsets after the commit (admin): {got}"

        # A batch whose transaction aborts: no offsets move, no output appears.
        feed(15)
        msgs = take(15)
        positions = transform(msgs)
        assert {tp.partition: tp.offset for tp in positions} == {0: 15, 1: 15, 2: 15}, positions
        t.p.abort_transaction(TIMEOUT)
        mine = member_committed()
        assert mine == {0: 10, 1: 10, 2: 10}, f"committed offsets after the abort (member): {mine}"
        got = group_offsets(group, tin, parts)
        assert got == {0: 10, 1: 10, 2: 10}, f"committed offsets after the abort (admin): {got}"

        # Redo it from the committed offsets.
        for p in parts:
            c.seek(TopicPartition(tin, p, 10))
        msgs = take(15)
        assert sorted(m.value() for m in msgs) == sorted(inputs[30:]), [m.value() for m in msgs]
        transform(msgs)
        t.p.commit_transaction(TIMEOUT)
        mine = member_committed()
        assert mine == {0: 15, 1: 15, 2: 15}, f"committed offsets after the redo (member): {mine}"
        got = group_offsets(group, tin, parts)
        assert got == {0: 15, 1: 15, 2: 15}, f"committed offsets after the redo (admin): {got}"
    finally:
        c.close()

    out = read(tout, parts, "read_committed")
    check_offsets(tout, out)
    for p in parts:
        want = [v.upper() for i, v in enumerate(inputs) if i % 3 == p]
        assert values(out[p]) == want, f"ctp-out[{p}] read_committed: {values(out[p])}, want {want}"
    unc = read(tout, parts, "read_uncommitted")
    assert sum(len(v) for v in unc.values()) == 45 + 15, {p: len(v) for p, v in unc.items()}


def zombie_fencing():
    """A second producer with the same transactional.id fences the first: the first's open
    transaction is aborted and its commit fails fatally; the second's transactions go on."""
    topic = "txn-fence"
    create_topics((topic, 1))
    p1 = TxnProducer("txn-zombie")
    p1.p.begin_transaction()
    for i in range(3):
        p1.send(topic, 0, f"zombie {i}".encode())
    p1.flush()
    p2 = TxnProducer("txn-zombie")
    try:
        p1.p.commit_transaction(10)
        raise AssertionError("the fenced producer's commit succeeded")
    except KafkaException as e:
        err = e.args[0]
        assert err.code() in FENCED, f"the fenced producer's commit: {err.name()}: {err}"
        assert err.fatal(), f"fencing error is not fatal: {err.name()}: {err}"
        print(f"# fenced producer's commit: {err.name()}: {err.str()}", flush=True)
    p2.p.begin_transaction()
    for i in range(2):
        p2.send(topic, 0, f"new {i}".encode())
    p2.p.commit_transaction(TIMEOUT)
    vs = values(read(topic, [0], "read_committed")[0])
    assert vs == [b"new 0", b"new 1"], f"read_committed after fencing: {vs}"
    vs = values(read(topic, [0], "read_uncommitted")[0])
    assert vs == [
        b"zombie 0",
        b"zombie 1",
        b"zombie 2",
        b"new 0",
        b"new 1",
    ], f"read_uncommitted: {vs}"
    # zombie 0-2, abort marker, new 0-1, commit marker
    assert watermarks(topic, 0, "read_committed") == (0, 7), watermarks(topic, 0, "read_committed")


checks = [
    ("interleaved_commit_abort", interleaved_commit_abort),
    ("read_committed_only_committed", read_committed_sees_committed),
    ("read_uncommitted_everything", read_uncommitted_sees_everything),
    ("watermarks", watermarks_and_lso),
    ("open_transaction_holds_lso", open_transaction_holds_lso),
    ("two_topic_transaction", two_topic_transaction),
    ("consume_transform_produce", consume_transform_produce),
    ("zombie_fencing", zombie_fencing),
]


def release_clients():
    """Drops the admin client and any producer left, before the broker goes away."""
    global admin
    admin = None
    producers.clear()


TXN_APIS = {
    "FindCoordinator",
    "InitProducerId",
    "AddPartitionsToTxn",
    "AddOffsetsToTxn",
    "TxnOffsetCommit",
    "EndTxn",
    "Fetch",
    "ListOffsets",
    "OffsetFetch",
    "Produce",
}


def report_versions():
    """One comment line: the versions of the transaction-related requests server-start served."""
    if not isinstance(broker, Broker):
        return
    seen = Counter(
        m.groups()
        for m in re.finditer(r"api_key=(\w+) version=(\d+)", broker.log())
        if m.group(1) in TXN_APIS
    )
    if seen:
        print(
            "# requests: " + ", ".join(f"{a} v{v} x{n}" for (a, v), n in sorted(seen.items())),
            flush=True,
        )


for method in ("stop", "close"):

    def wrapped(orig=getattr(broker, method), method=method):
        release_clients()
        if method == "stop":
            report_versions()
        orig()

    setattr(broker, method, wrapped)

# TXN_CHECKS=a,b runs only those checks (the first three go together).
only = [n for n in os.environ.get("TXN_CHECKS", "").split(",") if n]
checks = [(name, fn) for name, fn in checks if not only or name in only]
t0 = time.time()
try:
    run_checks(SCRIPT, [(name, closing(fn)) for name, fn in checks], broker)
finally:
    print(f"# {time.time() - t0:.1f} s", flush=True)
