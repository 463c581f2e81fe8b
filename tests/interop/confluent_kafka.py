#!/usr/bin/env python3
"""confluent-kafka (librdkafka) against server-start: a producer with each compression codec,
an idempotent producer, consumers with assign() reading back exactly what was produced, and a
consumer group (eager and cooperative-sticky) that rebalances as a third member joins and one
leaves, losing no record."""

import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts

# This file's name shadows the package: import it from site-packages, not from here.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]
sys.path.append(HERE)
from _broker import Broker, ensure, run_checks, time_limit  # noqa: E402

SCRIPT = "confluent_kafka"
time_limit(240, SCRIPT)
ensure(["confluent_kafka"], ["confluent-kafka"])

from collections import Counter  # noqa: E402

from confluent_kafka import (  # noqa: E402
    OFFSET_BEGINNING,
    OFFSET_END,
    Consumer,
    ConsumerGroupState,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
import confluent_kafka  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

print(
    f"# confluent-kafka {confluent_kafka.__version__}, librdkafka {confluent_kafka.libversion()[0]}",
    flush=True,
)

broker = Broker()
B = broker.bootstrap
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
N = 50


def deliveries():
    """A delivery callback and what it collects: {(partition, offset): (key, value)} of the
    acknowledged records, and the errors."""
    acked, errors = {}, []

    def delivered(err, msg):
        if err is not None:
            errors.append(err)
        else:
            acked[(msg.partition(), msg.offset())] = (msg.key(), msg.value())

    return acked, errors, delivered


def produce(topic, config, n=N, partitions=(0,)):
    """Produces n keyed records round-robin over `partitions`; returns what was acknowledged
    as {(partition, offset): (key, value)}."""
    acked, errors, delivered = deliveries()

    p = Producer({"bootstrap.servers": B, "linger.ms": 5, **config})
    for i in range(n):
        # Values long and repetitive enough that every codec really compresses them.
        value = f"{topic} record {i} ".encode() * 20
        p.produce(
            topic,
            key=f"k{i}".encode(),
            value=value,
            partition=partitions[i % len(partitions)],
            headers=[("i", str(i).encode())],
            on_delivery=delivered,
        )
    left = p.flush(30)
    assert left == 0, f"{left} records not delivered"
    assert not errors, errors
    assert len(acked) == n, f"{len(acked)} acknowledged of {n}"
    return acked


def consume(topic, partitions, want, start=OFFSET_BEGINNING):
    """Reads `want` records from `partitions` via assign(), then checks nothing more comes."""
    c = Consumer(
        {
            # librdkafka insists on a group id; with assign() and explicit offsets it is only
            # a name: nothing joins a group or commits.
            "group.id": "interop-assign",
            "bootstrap.servers": B,
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    try:
        c.assign([TopicPartition(topic, p, start) for p in partitions])
        got, eof = {}, set()
        deadline = time.time() + 30
        while (len(got) < want or len(eof) < len(partitions)) and time.time() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    eof.add(m.partition())
                    continue
                raise AssertionError(f"consumer error: {m.error()}")
            key = (m.partition(), m.offset())
            assert key not in got, f"offset {key} read twice"
            got[key] = (m.key(), m.value())
        return got
    finally:
        c.close()


def check_codec(codec):
    def check():
        topic = f"ck-{codec}"
        sent = produce(topic, {"compression.type": codec})
        got = consume(topic, [0], len(sent))
        assert got == sent, f"read {len(got)} of {len(sent)}; first offsets {sorted(got)[:5]}"

    return check


def idempotent_producer():
    topic = "ck-idempotent"
    sent = produce(topic, {"enable.idempotence": True, "acks": "all"})
    got = consume(topic, [0], len(sent))
    assert got == sent
    assert sorted(o for (_, o) in got) == list(range(N)), "offsets are not 0..N-1"


def partitions_and_offsets():
    admin = AdminClient({"bootstrap.servers": B})
    fs = admin.create_topics([NewTopic("ck-parts", num_partitions=3, replication_factor=1)])
    for f in fs.values():
        f.result(15)
    sent = produce("ck-parts", {"compression.type": "lz4"}, n=30, partitions=(0, 1, 2))
    got = consume("ck-parts", [0, 1, 2], len(sent))
    assert got == sent, f"read {len(got)} of {len(sent)}"
    # Watermarks and a start from the end.
    c = Consumer({"group.id": "interop-wm", "bootstrap.servers": B})
    try:
        for p in range(3):
            lo, hi = c.get_watermark_offsets(TopicPartition("ck-parts", p), timeout=10)
            assert (lo, hi) == (0, 10), (p, lo, hi)
    finally:
        c.close()
    assert consume("ck-parts", [1], 0, start=OFFSET_END) == {}
    assert "ck-parts" in admin.list_topics(timeout=10).topics

# --- a consumer group rebalancing as members join and leave -----------------------------------

GROUP_PARTITIONS = 6
# Commit errors a member may meet around a rebalance; the records of a batch whose commit failed
# may be read again (at-least-once), which the check allows only for such records.
RETRIABLE_COMMIT = {
    KafkaError.REBALANCE_IN_PROGRESS,
    KafkaError.ILLEGAL_GENERATION,
    KafkaError.UNKNOWN_MEMBER_ID,
    KafkaError._STATE,
}


class GroupRun:
    """What a group's members did, shared by them: every record read (with repeats), the offsets
    the broker acknowledged as committed, and a timeline of events for failure messages."""

    def __init__(self, topic):
        self.topic = topic
        self.t0 = time.time()
        self.reads = Counter()  # (partition, offset) -> times read
        self.records = {}  # (partition, offset) -> (key, value)
        self.committed = {}  # partition -> highest offset the broker took as committed
        self.redelivered_uncommitted = 0
        self.commit_errors = Counter()
        self.events = []

    def event(self, what):
        self.events.append(f"{time.time() - self.t0:6.2f}s {what}")

    def timeline(self):
        return "\n".join(self.events[-60:])


class Member:
    """One confluent_kafka Consumer in the group, polled by the test's single thread. It commits
    after each batch asynchronously and synchronously before giving partitions up (on_revoke).
    A synchronous commit per batch could stall the thread: a member that has sent JoinGroup has
    its OffsetCommit answered only after the join completes (a Kafka broker answers a
    connection's requests in order), and the join waits for the other members, which only this
    thread polls."""

    def __init__(self, run, name, group, strategy):
        self.run, self.name = run, name
        self.read = 0
        self.assigns = []  # partitions of each on_assign
        self.revokes = []  # partitions of each on_revoke
        self.lost = []
        self.closed = False
        self.c = Consumer(
            {
                "bootstrap.servers": B,
                "group.id": group,
                "client.id": name,
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "session.timeout.ms": 6000,
                "heartbeat.interval.ms": 500,
                # The rebalance timeout: bounds how long a rebalance waits for a member.
                "max.poll.interval.ms": 20000,
                "partition.assignment.strategy": strategy,
                "on_commit": self.on_commit,
            }
        )
        self.c.subscribe(
            [run.topic], on_assign=self.on_assign, on_revoke=self.on_revoke, on_lost=self.on_lost
        )
        run.event(f"{name} subscribed")

    def on_assign(self, _c, parts):
        ps = sorted(tp.partition for tp in parts)
        self.assigns.append(ps)
        self.run.event(f"{self.name} assigned {ps}")

    def on_revoke(self, _c, parts):
        ps = sorted(tp.partition for tp in parts)
        self.revokes.append(ps)
        self.commit(f"revoke {ps}")
        self.run.event(f"{self.name} revoked {ps}")

    def on_lost(self, _c, parts):
        ps = sorted(tp.partition for tp in parts)
        self.lost.append(ps)
        self.run.event(f"{self.name} LOST {ps}")

    def commit(self, why):
        """A synchronous commit of what has been read."""
        try:
            done = self.c.commit(asynchronous=False)
        except KafkaException as e:
            self.commit_failed(e.args[0], why)
            return
        self.committed(done)

    def on_commit(self, err, parts):
        """The outcome of an asynchronous commit (served by poll)."""
        if err is not None:
            self.commit_failed(err, "batch")
        else:
            self.committed(parts)

    def commit_failed(self, err, why):
        if err.code() == KafkaError._NO_OFFSET:  # nothing read since the last commit
            return
        if err.code() not in RETRIABLE_COMMIT:
            raise KafkaException(err)
        self.run.commit_errors[err.name()] += 1
        self.run.event(f"{self.name} commit ({why}) failed: {err.name()}")

    def committed(self, parts):
        """Notes the offsets the broker took."""
        for tp in parts or []:
            if tp.error is None and tp.offset >= 0:
                prev = self.run.committed.get(tp.partition, 0)
                self.run.committed[tp.partition] = max(prev, tp.offset)

    def poll(self):
        if self.closed:
            return
        batch = self.c.consume(num_messages=100, timeout=0.05)
        for m in batch:
            if m.error():
                raise AssertionError(f"{self.name}: consumer error {m.error()}")
            key = (m.partition(), m.offset())
            if self.run.reads[key]:
                # At-least-once: a record comes again only if no commit had gone past it.
                assert m.offset() >= self.run.committed.get(m.partition(), 0), (
                    f"{self.name} read {key} again although offset "
                    f"{self.run.committed[m.partition()]} was committed\n{self.run.timeline()}"
                )
                self.run.redelivered_uncommitted += 1
            self.run.reads[key] += 1
            self.run.records[key] = (m.key(), m.value())
            self.read += 1
        if batch:
            try:
                self.c.commit(asynchronous=True)
            except KafkaException as e:
                self.commit_failed(e.args[0], "batch")

    def partitions(self):
        return {tp.partition for tp in self.c.assignment()} if not self.closed else set()

    def close(self):
        self.c.close()  # revokes (committing), then LeaveGroup
        self.closed = True
        self.run.event(f"{self.name} closed")


def group_rebalances(strategy, tag):
    """Two members split a 6-partition topic; a third joins and the group rebalances to three
    disjoint shares covering every partition; one leaves (close) and the two left take its
    partitions over. Records are produced all along; every acknowledged record is read, and one
    is read twice only if it had not been committed (at-least-once). The group's committed
    offsets end at the log end."""
    topic, group = f"ck-rebalance-{tag}", f"ck-group-{tag}"
    admin = AdminClient({"bootstrap.servers": B})
    for f in admin.create_topics(
        [NewTopic(topic, num_partitions=GROUP_PARTITIONS, replication_factor=1)]
    ).values():
        f.result(15)
    run = GroupRun(topic)
    acked, errors, delivered = deliveries()

    producer = Producer({"bootstrap.servers": B, "linger.ms": 5})
    sent = 0

    def produce_some(n):
        nonlocal sent
        for _ in range(n):
            producer.produce(
                topic, key=f"key-{sent}".encode(), value=f"{tag} {sent}".encode(), on_delivery=delivered
            )
            sent += 1
        producer.poll(0)

    everything = set(range(GROUP_PARTITIONS))

    def settled(members):
        """Every member holds partitions, none twice, all covered."""
        shares = [m.partitions() for m in members]
        return (
            all(shares)
            and sum(len(s) for s in shares) == GROUP_PARTITIONS
            and set().union(*shares) == everything
        )

    def poll_until(members, done, what, limit=25, produce=3):
        """Polls the members round-robin, producing `produce` more records each round."""
        deadline = time.time() + limit
        while time.time() < deadline:
            produce_some(produce)
            for m in members:
                m.poll()
            if done():
                run.event(f"reached: {what}")
                return
        shares = {m.name: sorted(m.partitions()) for m in members}
        raise AssertionError(f"not within {limit} s: {what}; shares {shares}\n{run.timeline()}")

    def describe(members):
        """The broker's view: Stable, these members, these assignments."""
        d = admin.describe_consumer_groups([group])[group].result(10)
        got = {
            m.client_id: sorted(tp.partition for tp in m.assignment.topic_partitions)
            for m in d.members
        }
        want = {m.name: sorted(m.partitions()) for m in members}
        assert d.state == ConsumerGroupState.STABLE, f"group state {d.state}"
        assert got == want, f"broker says {got}, members hold {want}"
        return d.partition_assignor

    members = []
    try:
        produce_some(300)
        assert producer.flush(15) == 0
        per_partition = Counter(p for (p, _) in acked)
        assert set(per_partition) == everything, f"records per partition {per_partition}"

        a, b = Member(run, "A", group, strategy), Member(run, "B", group, strategy)
        members += [a, b]
        poll_until([a, b], lambda: settled([a, b]) and a.read and b.read, "A and B split the topic")
        two = {m.name: sorted(m.partitions()) for m in (a, b)}
        assignor = describe([a, b])
        revokes_before = sum(len(r) for m in (a, b) for r in m.revokes)

        c = Member(run, "C", group, strategy)
        members.append(c)
        poll_until([a, b, c], lambda: settled([a, b, c]), "A, B and C share the topic")
        three = {m.name: sorted(m.partitions()) for m in (a, b, c)}
        describe([a, b, c])
        moved = sum(len(r) for m in (a, b) for r in m.revokes) - revokes_before
        if strategy == "cooperative-sticky":
            # Incremental: A and B give up only what C takes.
            assert moved == len(three["C"]), f"{moved} partitions revoked for C's {three['C']}"
        else:
            # Eager: everyone gives everything up and rejoins.
            assert moved == GROUP_PARTITIONS, f"{moved} partitions revoked when C joined"
        poll_until(
            [a, b, c],
            lambda: c.read and set(acked) <= set(run.reads),
            "C reads and the group catches up",
        )

        b.close()
        poll_until([a, c], lambda: settled([a, c]), "A and C take B's partitions over")
        after_leave = {m.name: sorted(m.partitions()) for m in (a, c)}
        describe([a, c])

        produce_some(100)
        assert producer.flush(15) == 0
        assert not errors, errors
        assert len(acked) == sent, f"{len(acked)} acknowledged of {sent}"
        poll_until([a, c], lambda: set(acked) <= set(run.reads), "every record read", produce=0)
        for m in (a, c):
            m.commit("final")

        lost = [(m.name, m.lost) for m in members if m.lost]
        assert not lost, f"partitions lost: {lost}\n{run.timeline()}"
        missing = set(acked) - set(run.reads)
        assert not missing, f"{len(missing)} records never read, e.g. {sorted(missing)[:5]}"
        extra = set(run.reads) - set(acked)
        assert not extra, f"read records never acknowledged: {sorted(extra)[:5]}"
        wrong = [k for k in acked if run.records[k] != acked[k]]
        assert not wrong, f"records read with other contents: {wrong[:5]}"
        # The group's committed offsets are the log end of every partition.
        ends = Counter(p for (p, _) in acked)
        committed = {
            tp.partition: tp.offset
            for tp in a.c.committed([TopicPartition(topic, p) for p in everything], timeout=10)
        }
        assert committed == dict(ends), f"committed {committed}, log ends {dict(ends)}"
        for m in (a, c):
            m.close()
        dups = sum(n - 1 for n in run.reads.values())
        print(
            f"# group_rebalance_{tag}: assignor {assignor}; A+B {two} -> A+B+C {three} "
            f"({moved} partitions revoked) -> B leaves {after_leave}; {sent} records, "
            f"{len(run.reads)} read, {dups} read twice (uncommitted), commit errors "
            f"{dict(run.commit_errors) or 0}, {time.time() - run.t0:.1f} s",
            flush=True,
        )
    finally:
        for m in members:
            if not m.closed:
                try:
                    m.c.close()
                except Exception:
                    pass
        producer.flush(5)



checks = [(f"producer_{c}_consumer_assign", check_codec(c)) for c in CODECS]
checks += [
    ("idempotent_producer", idempotent_producer),
    ("partitions_watermarks", partitions_and_offsets),
    ("group_rebalance_join_leave", lambda: group_rebalances("range,roundrobin", "eager")),
    (
        "group_rebalance_cooperative_sticky",
        lambda: group_rebalances("cooperative-sticky", "cooperative"),
    ),
]
run_checks(SCRIPT, checks, broker)
