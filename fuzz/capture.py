#!/usr/bin/env python3
"""Captures real client requests to server-start as seeds for the `request` fuzz target.

A throwaway server-start listens on one port and advertises a second one, where a small TCP
proxy forwards to it; every client connection (bootstrap and after) goes through the proxy,
which cuts the client-to-broker bytes into Kafka frames. Each client (kcat, kafka-python,
confluent-kafka) runs a scenario in steps (produce with one codec then consume, a group
consumer, admin calls, ...), and
  - each step becomes one stream file: its frames in arrival order, size-prefixed as on the
    wire (what the target reads), at most PER_API frames of each API so it stays small;
  - the whole scenario becomes one stream file too (the target starts from an empty data dir,
    so later steps need the topics earlier ones made);
  - the first frame of each (API, version) a client sends becomes a single-frame file.
Files go to fuzz/seeds/request/, named by step and content hash. Bounded: every client
command has a time limit and the broker is stopped at the end.

Usage: cargo build --bins && python3 fuzz/capture.py  (kcat, kafka-python and confluent-kafka
are installed if missing: apt-get install kcat, pip install kafka-python confluent-kafka).
"""

import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

FUZZ = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(FUZZ)
OUT = os.path.join(FUZZ, "seeds", "request")
PER_API = 4
MAX_STREAM = 32 * 1024
MAX_FRAME = 8 * 1024
API_NAMES = {
    0: "produce", 1: "fetch", 2: "list_offsets", 3: "metadata", 8: "offset_commit",
    9: "offset_fetch", 10: "find_coordinator", 11: "join_group", 12: "heartbeat",
    13: "leave_group", 14: "sync_group", 15: "describe_groups", 16: "list_groups",
    18: "api_versions", 19: "create_topics", 20: "delete_topics", 21: "delete_records",
    22: "init_producer_id", 32: "describe_configs", 33: "alter_configs",
    37: "create_partitions", 42: "delete_groups", 44: "incremental_alter_configs",
    47: "offset_delete", 60: "describe_cluster",
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """Request frames of the current scenario, in arrival order across connections."""

    def __init__(self):
        self.lock = threading.Lock()
        self.frames = []

    def take(self):
        with self.lock:
            frames, self.frames = self.frames, []
        return frames

    def add(self, frame):
        with self.lock:
            self.frames.append(frame)


def pump(src, dst, recorder=None):
    buf = b""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
            if recorder is None:
                continue
            buf += data
            while len(buf) >= 4:
                (size,) = struct.unpack(">i", buf[:4])
                if size < 0 or len(buf) < 4 + size:
                    break
                recorder.add(buf[4 : 4 + size])
                buf = buf[4 + size :]
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def proxy(listen_port, broker_port, recorder):
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", listen_port))
    server.listen(64)

    def accept():
        while True:
            client, _ = server.accept()
            try:
                upstream = socket.create_connection(("127.0.0.1", broker_port))
            except OSError:  # the broker is stopping
                client.close()
                continue
            threading.Thread(target=pump, args=(client, upstream, recorder), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()


def put(label, data):
    os.makedirs(OUT, exist_ok=True)
    digest = hashlib.sha1(data).hexdigest()[:10]
    with open(os.path.join(OUT, f"{label}-{digest}"), "wb") as out:
        out.write(data)


def write_stream(name, frames, per_api_limit=PER_API):
    per_api, stream = {}, b""
    for f in frames:
        if len(f) < 8 or len(f) > MAX_FRAME:
            continue
        key = struct.unpack(">h", f[:2])[0]
        if per_api.get(key, 0) >= per_api_limit or len(stream) + 4 + len(f) > MAX_STREAM:
            continue
        per_api[key] = per_api.get(key, 0) + 1
        stream += struct.pack(">i", len(f)) + f
    if stream:
        put(f"{name}-stream", stream)
    print(f"{name}: {len(frames)} requests, stream of {len(stream)} bytes", flush=True)


def write_singles(client, frames):
    seen = set()
    for f in frames:
        if len(f) < 8 or len(f) > MAX_FRAME:
            continue
        key, version = struct.unpack(">hh", f[:4])
        if (key, version) not in seen:
            seen.add((key, version))
            put(f"{client}-{API_NAMES.get(key, key)}-v{version}", struct.pack(">i", len(f)) + f)


STEP = {"recorder": None, "name": None, "scenario": []}


def step(name):
    """Ends the current step (its frames become a seed) and starts the next one."""
    if STEP["name"] is not None:
        time.sleep(0.3)
        frames = STEP["recorder"].take()
        STEP["scenario"] += frames
        write_stream(STEP["name"], frames)
    STEP["name"] = name


def run(cmd, stdin=b"", timeout=30):
    r = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout)
    if r.returncode != 0:
        print(f"  note: {' '.join(cmd[:4])}... exited {r.returncode}: {r.stderr[-300:]!r}", flush=True)
    return r


def kcat(bootstrap):
    k = ["kcat", "-b", bootstrap]
    step("kcat-metadata")
    run(k + ["-L"])
    lines = b"".join(b"key%d:value %d\n" % (i, i) for i in range(5))
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"]:
        # Produce then consume in one stream: the target starts from an empty data dir.
        step("kcat-" + codec)
        run(k + ["-P", "-t", "kcat-" + codec, "-K:", "-z", codec, "-H", "origin=kcat"], lines)
        run(k + ["-C", "-t", "kcat-" + codec, "-e", "-o", "beginning", "-f", "%k %s %h\n"])
    step("kcat-offsets")
    run(k + ["-P", "-t", "kcat-q"], lines)
    run(k + ["-Q", "-t", "kcat-q:0:1"])
    run(k + ["-C", "-t", "kcat-q", "-o", "-2", "-e"])
    # A balanced consumer: join, sync, fetch, commit, leave.
    step("kcat-group")
    run(k + ["-P", "-t", "kcat-g"], lines)
    run(k + ["-G", "kcat-group", "-o", "beginning", "-e", "kcat-g"], timeout=45)


def kafka_python(bootstrap):
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic

    step("kafka-python-admin")
    a = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    a.create_topics([NewTopic("kp", 2, 1, topic_configs={"retention.ms": "3600000"}),
                     NewTopic("kp-doomed", 1, 1)])
    a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "kp")])
    a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "kp", configs={"segment.bytes": "1048576"})])
    a.create_partitions({"kp": NewPartitions(3)})
    step("kafka-python-clients")
    p = KafkaProducer(bootstrap_servers=bootstrap, compression_type="gzip", linger_ms=5)
    for i in range(10):
        p.send("kp", key=b"k%d" % i, value=b"v%d" % i, headers=[("h", b"x")], partition=i % 3)
    p.flush()
    p.close()
    c = KafkaConsumer("kp", bootstrap_servers=bootstrap, group_id="kp-group",
                      auto_offset_reset="earliest", enable_auto_commit=False,
                      consumer_timeout_ms=4000)
    got = 0
    for _ in c:
        got += 1
        if got >= 10:
            break
    c.commit()
    c.close()
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    tp = TopicPartition("kp", 0)
    c.assign([tp])
    c.offsets_for_times({tp: 0})
    c.end_offsets([tp])
    c.close()
    step("kafka-python-groups")
    for call, args in [("list_consumer_groups", ()), ("list_groups", ()),
                       ("describe_consumer_groups", (["kp-group"],)),
                       ("list_consumer_group_offsets", ("kp-group",)),
                       ("delete_consumer_groups", (["kp-group"],)), ("delete_topics", (["kp-doomed"],))]:
        if hasattr(a, call):
            getattr(a, call)(*args)
    a.close()


def confluent(bootstrap):
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

    step("confluent-kafka-admin")
    a = AdminClient({"bootstrap.servers": bootstrap})
    topics = [NewTopic("ck", 2, 1, config={"cleanup.policy": "delete"}), NewTopic("ck-doomed", 1, 1)]
    for f in a.create_topics(topics).values():
        f.result(10)
    for f in a.describe_configs([ConfigResource("topic", "ck")]).values():
        f.result(10)
    step("confluent-kafka-idempotent")
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                  "compression.type": "zstd", "linger.ms": 5})
    for i in range(10):
        p.produce("ck", key=b"k%d" % i, value=b"v%d" % i, headers={"h": b"y"}, partition=i % 2)
    p.flush(10)
    p = Producer({"bootstrap.servers": bootstrap, "compression.type": "lz4", "acks": "1"})
    p.produce("ck", value=b"lz4")
    p.flush(10)
    step("confluent-kafka-group")
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "ck-group",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe(["ck"])
    got, deadline = 0, time.time() + 15
    while got < 11 and time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got += 1
    c.commit(asynchronous=False)
    c.offsets_for_times([TopicPartition("ck", 0, 0)], timeout=10)
    c.close()
    step("confluent-kafka-cleanup")
    a.list_groups(timeout=10)
    for f in a.delete_consumer_groups(["ck-group"]).values():
        f.result(10)
    for f in a.delete_topics(["ck-doomed"]).values():
        f.result(10)


def segment_seeds(data):
    """The segments the clients' records landed in, as seeds for the log targets:
    record_batch gets each .log file; log_recovery gets each partition laid out as its input
    format says (fuzz/src/log_input.rs): with no state file (full recovery, read mode), and with
    state, index and time index (write mode)."""
    for part in sorted(os.listdir(data)):
        path = os.path.join(data, part)
        log = os.path.join(path, "00000000000000000000.log")
        if part.startswith(".") or not os.path.isfile(log):
            continue
        seg = open(log, "rb").read()
        if not seg or len(seg) > 16 * 1024:
            continue
        os.makedirs(os.path.join(FUZZ, "seeds", "record_batch"), exist_ok=True)
        os.makedirs(os.path.join(FUZZ, "seeds", "log_recovery"), exist_ok=True)

        def store(target, label, blob):
            digest = hashlib.sha1(blob).hexdigest()[:10]
            with open(os.path.join(FUZZ, "seeds", target, f"{label}-{digest}"), "wb") as out:
                out.write(blob)

        store("record_batch", part, seg)
        store("log_recovery", part + "-recover", b"\x00" + seg)
        state = open(os.path.join(path, ".streamlog-state"), "rb").read()[:112].ljust(112, b"\0")
        index = open(os.path.join(path, "00000000000000000000.index"), "rb").read()[:65535]
        tindex = open(os.path.join(path, "00000000000000000000.timeindex"), "rb").read()[:65535]
        blob = bytes([1 | 2 | 4 | 16]) + state
        blob += struct.pack(">H", len(index)) + index + struct.pack(">H", len(tindex)) + tindex
        store("log_recovery", part + "-write", blob + seg)


def ensure_clients():
    if not shutil.which("kcat"):
        subprocess.run("apt-get update -qq && apt-get install -y -qq kcat", shell=True, check=True)
    try:
        import confluent_kafka  # noqa: F401
        import kafka  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "kafka-python", "confluent-kafka"], check=True)


def main():
    ensure_clients()
    server = os.environ.get("SERVER_START") or os.path.join(REPO, "target", "debug", "server-start")
    data = tempfile.mkdtemp(prefix="streamlog-capture-")
    broker_port, proxy_port = free_port(), free_port()
    recorder = Recorder()
    proxy(proxy_port, broker_port, recorder)
    proc = subprocess.Popen(
        [server, "--override", f"log.dirs={data}",
         "--override", f"listeners=PLAINTEXT://127.0.0.1:{broker_port}",
         "--override", f"advertised.listeners=PLAINTEXT://127.0.0.1:{proxy_port}",
         "--override", "group.initial.rebalance.delay.ms=0"],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        proc.stdout.readline()
        bootstrap = f"127.0.0.1:{proxy_port}"
        STEP["recorder"] = recorder
        for name, scenario in [("kcat", kcat), ("kafka-python", kafka_python), ("confluent-kafka", confluent)]:
            try:
                scenario(bootstrap)
            except Exception as e:  # a failing client still left useful requests
                print(f"  note: {name} stopped early: {e!r}", flush=True)
            step(None)
            write_stream(name + "-all", STEP["scenario"], per_api_limit=6)
            write_singles(name, STEP["scenario"])
            STEP["scenario"] = []
    finally:
        proc.terminate()
        proc.wait(30)
        segment_seeds(data)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
