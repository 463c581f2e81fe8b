#!/usr/bin/env python3
"""kafka-python against server-start: admin create/list/delete, producer send+flush, a consumer
without a group reading everything back. INTEROP_GROUPS=1 adds group consumers (commit and
resume, two members splitting the partitions)."""

import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _broker import Broker, ensure, run_checks, time_limit  # noqa: E402

SCRIPT = "kafka_python"
time_limit(240, SCRIPT)
ensure(["kafka"], ["kafka-python"])

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import NewTopic  # noqa: E402
import kafka  # noqa: E402

print(f"# kafka-python {kafka.__version__}", flush=True)

broker = Broker("group.initial.rebalance.delay.ms=0")
B = broker.bootstrap
TOPIC = "kp-events"
N = 60
sent = {}  # (partition, offset) -> (key, value)


def admin():
    return KafkaAdminClient(bootstrap_servers=B, request_timeout_ms=10000)


def create_and_list():
    a = admin()
    try:
        a.create_topics([NewTopic(TOPIC, 3, 1), NewTopic("kp-doomed", 1, 1)])
        topics = set(a.list_topics())
        assert {TOPIC, "kp-doomed"} <= topics, topics
        # Creating it again is refused.
        try:
            a.create_topics([NewTopic(TOPIC, 3, 1)])
        except Exception as e:  # TopicAlreadyExistsError
            assert "TopicAlreadyExists" in type(e).__name__ or "already exists" in str(e), e
        else:
            raise AssertionError("a second create of the same topic succeeded")
    finally:
        a.close()


def produce(compression=None):
    p = KafkaProducer(bootstrap_servers=B, acks="all", linger_ms=5, compression_type=compression)
    try:
        futures = []
        for i in range(N):
            key, value = f"key-{i % 7}".encode(), f"value {i} {compression}".encode()
            futures.append((key, value, p.send(TOPIC, key=key, value=value)))
        p.flush(30)
        for key, value, f in futures:
            md = f.get(timeout=10)
            assert md.topic == TOPIC
            assert (md.partition, md.offset) not in sent
            sent[(md.partition, md.offset)] = (key, value)
    finally:
        p.close(10)
    # Same key, same partition.
    by_key = {}
    for (part, _), (key, _) in sent.items():
        by_key.setdefault(key, set()).add(part)
    assert all(len(ps) == 1 for ps in by_key.values()), by_key


def produce_gzip():
    produce("gzip")


def read_all(consumer, want):
    got = {}
    deadline = time.time() + 30
    while len(got) < want and time.time() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            for r in records:
                assert (r.partition, r.offset) not in got, f"offset {r.offset} read twice"
                got[(r.partition, r.offset)] = (r.key, r.value)
    return got


def consume_without_group():
    c = KafkaConsumer(
        TOPIC,
        bootstrap_servers=B,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    try:
        got = read_all(c, len(sent))
        assert got == sent, f"read {len(got)} of {len(sent)} records; differences: " + str(
            set(got.items()) ^ set(sent.items())
        )
        # Nothing more arrives.
        assert not c.poll(timeout_ms=300)
    finally:
        c.close()


def consume_assigned_from_the_middle():
    c = KafkaConsumer(bootstrap_servers=B, group_id=None, enable_auto_commit=False)
    try:
        tp = TopicPartition(TOPIC, 0)
        c.assign([tp])
        end = c.end_offsets([tp])[tp]
        assert end == sum(1 for (p, _) in sent if p == 0), end
        assert c.beginning_offsets([tp])[tp] == 0
        c.seek(tp, end - 2)
        got = read_all(c, 2)
        assert got == {k: v for k, v in sent.items() if k[0] == 0 and k[1] >= end - 2}, got
    finally:
        c.close()


def delete_and_list():
    a = admin()
    try:
        a.delete_topics(["kp-doomed"])
        deadline = time.time() + 10
        while "kp-doomed" in a.list_topics():
            assert time.time() < deadline, "kp-doomed still listed after delete_topics"
            time.sleep(0.2)
        assert TOPIC in a.list_topics()
    finally:
        a.close()


def group_consumers():
    """A group consumer reads everything and commits; the next one in the group starts from the
    committed offsets."""
    group = "kp-group"
    c = KafkaConsumer(
        TOPIC,
        bootstrap_servers=B,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    try:
        got = read_all(c, len(sent))
        assert got == sent, f"group consumer read {len(got)} of {len(sent)}"
        c.commit()
    finally:
        c.close()
    p = KafkaProducer(bootstrap_servers=B)
    p.send(TOPIC, key=b"late", value=b"after the commit").get(timeout=10)
    p.close(10)
    c = KafkaConsumer(
        TOPIC,
        bootstrap_servers=B,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    try:
        got = read_all(c, 1)
        assert [v for (_, v) in got.values()] == [b"after the commit"], got
    finally:
        c.close()


def group_members_split_partitions():
    """Two members of one group share the topic's 3 partitions without overlap, and together
    read everything."""
    members = [
        KafkaConsumer(
            TOPIC,
            bootstrap_servers=B,
            group_id="kp-split",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            max_poll_interval_ms=30000,
            session_timeout_ms=10000,
            heartbeat_interval_ms=500,
        )
        for _ in range(2)
    ]
    try:
        got = {}
        deadline = time.time() + 60
        while time.time() < deadline:
            for m in members:
                for records in m.poll(timeout_ms=200).values():
                    for r in records:
                        got[(r.partition, r.offset)] = (r.key, r.value)
            parts = [m.assignment() for m in members]
            if all(parts) and len(got) >= len(sent):
                break
        parts = [{tp.partition for tp in m.assignment()} for m in members]
        assert all(parts), f"a member has no partitions: {parts}"
        assert not (parts[0] & parts[1]), f"members share partitions: {parts}"
        assert parts[0] | parts[1] == {0, 1, 2}, parts
        assert {k: v for k, v in got.items() if k in sent} == sent, (
            f"the group read {len(got)} of {len(sent)}"
        )
    finally:
        for m in members:
            m.close()


checks = [
    ("admin_create_list", create_and_list),
    ("producer_send_flush", produce),
    ("producer_gzip", produce_gzip),
    ("consumer_without_group", consume_without_group),
    ("consumer_assign_seek", consume_assigned_from_the_middle),
    ("admin_delete_list", delete_and_list),
]
if os.environ.get("INTEROP_GROUPS") == "1":
    checks.append(("group_consumer_commit_resume", group_consumers))
    checks.append(("group_members_split_partitions", group_members_split_partitions))

run_checks(SCRIPT, checks, broker)
