#!/usr/bin/env python3
"""confluent-kafka (librdkafka) against server-start: a producer with each compression codec,
an idempotent producer, and consumers with assign() reading back exactly what was produced."""

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

from confluent_kafka import (  # noqa: E402
    OFFSET_BEGINNING,
    OFFSET_END,
    Consumer,
    KafkaError,
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


def produce(topic, config, n=N, partitions=(0,)):
    """Produces n keyed records round-robin over `partitions`; returns what was acknowledged
    as {(partition, offset): (key, value)}."""
    acked, errors = {}, []

    def delivered(err, msg):
        if err is not None:
            errors.append(err)
        else:
            acked[(msg.partition(), msg.offset())] = (msg.key(), msg.value())

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


checks = [(f"producer_{c}_consumer_assign", check_codec(c)) for c in CODECS]
checks += [
    ("idempotent_producer", idempotent_producer),
    ("partitions_watermarks", partitions_and_offsets),
]
run_checks(SCRIPT, checks, broker)
