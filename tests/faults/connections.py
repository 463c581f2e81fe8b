#!/usr/bin/env python3
"""Connections: what server-start does with many, idle, half-sent and parked ones.

- fd limit: started with a soft RLIMIT_NOFILE of 1024 (a common default), the broker raises its
  own soft limit toward the hard one (`ulimit -Hn`), so it can hold thousands of sockets.
- 5,000 connections held open, each answered one ApiVersions; the broker's RSS (VmRSS) and open
  descriptors with them; a normal client (confluent-kafka producer and consumer) served
  meanwhile; descriptors released once they close.
- idle timeout (connections.max.idle.ms=2000): a connection that sent nothing, one that sent a
  4-byte size and a few bytes then stalled, and one that trickled a few bytes then stalled are
  closed within the timeout plus a margin; a connection busy with requests is not.
- SIGTERM with 200 Fetch long-polls parked (max_wait_ms 20000, min_bytes 1, empty topic): the
  broker exits 0 in under 2 s and says it stopped cleanly.

    python3 tests/faults/connections.py [--connections 5000] [--parked 200]
"""

import argparse
import os
import resource
import selectors
import shutil
import socket
import struct
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _faults import (  # noqa: E402
    Report,
    Server,
    ensure,
    nofile_limits,
    open_fds,
    rss_kib,
    time_limit,
)
import _wire as wire  # noqa: E402

SCRIPT = "connections"
time_limit(240, SCRIPT)
ensure(["confluent_kafka"], ["confluent-kafka"])

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition  # noqa: E402

IDLE_MS = 2000
# How long past the idle timeout a connection may stay open (the broker may check
# periodically, as Kafka's selector does).
IDLE_MARGIN_S = 3.0
SIGTERM_BOUND_S = 2.0
PARKED_WAIT_MS = 20000


def raise_own_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard >= need, hard


def connect_many(port, n):
    """n connections, each having sent ApiVersions v0; returns (sockets, answered count,
    refused count, seconds)."""
    t0 = time.monotonic()
    socks, refused = [], 0
    request = wire.frame(wire.API_API_VERSIONS, 0, 1, b"")
    for _ in range(n):
        s = socket.socket()
        s.settimeout(10)
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(request)
        except OSError:
            refused += 1
            s.close()
            continue
        s.setblocking(False)
        socks.append(s)
    sel = selectors.DefaultSelector()
    pending = {}
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
        pending[s] = b""
    answered = 0
    deadline = time.monotonic() + 30
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            try:
                chunk = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                sel.unregister(s)
                del pending[s]
                continue
            buf = pending[s] + chunk
            if len(buf) >= 4 and len(buf) >= 4 + struct.unpack(">i", buf[:4])[0]:
                answered += 1
                sel.unregister(s)
                del pending[s]
            else:
                pending[s] = buf
    sel.close()
    return socks, answered, refused, time.monotonic() - t0


def normal_client(bootstrap, topic, n=200):
    """A confluent-kafka producer and consumer doing ordinary work: produce n, read them back.
    Returns (ok, why, seconds)."""
    t0 = time.monotonic()
    acked, errors = [], []
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5, "log_level": 0})
    for i in range(n):
        p.produce(topic, value=f"normal-{i}".encode(), partition=0,
                  on_delivery=lambda err, msg: (errors if err else acked).append(err or msg.offset()))
    left = p.flush(20)
    if left or errors or len(acked) != n:
        return False, f"producer: {len(acked)} acknowledged, {left} left, errors {errors[:3]}", time.monotonic() - t0
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "normal", "enable.partition.eof": True, "log_level": 0})
    got = 0
    try:
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF and got >= n:
                    break
                continue
            got += 1
    finally:
        c.close()
    return got == n, f"consumer read {got} of {n}", time.monotonic() - t0


def fd_limit_check(report, work):
    """The broker's soft limit after start, when started with 1024."""
    soft0, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    server = Server(os.path.join(work, "fd"), os.path.join(work, "fd.stderr"), limits=(1024, hard))
    try:
        server.start()
        soft, hard_b = nofile_limits(server.pid)
        report.note(f"broker started with RLIMIT_NOFILE 1024/{hard}: its limits are now {soft}/{hard_b}")
        report.check(
            "raises_own_fd_soft_limit",
            soft > 1024 and soft == hard_b,
            f"started with a soft limit of 1024 (hard {hard}), the broker still has {soft}: "
            f"it cannot hold more than ~{soft - 20} connections",
        )
        server.sigterm()
    finally:
        server.close()


def many_connections(report, work, n):
    server = Server(os.path.join(work, "many"), os.path.join(work, "many.stderr"))
    socks = []
    try:
        server.start()
        wire.create_topic("127.0.0.1", server.port, "normal", 1)
        base_rss, base_fds = rss_kib(server.pid), open_fds(server.pid)
        socks, answered, refused, secs = connect_many(server.port, n)
        rss, fds = rss_kib(server.pid), open_fds(server.pid)
        report.note(
            f"{n} connections: {len(socks)} connected, {answered} answered ApiVersions in {secs:.1f} s; "
            f"broker RSS {base_rss // 1024} MiB -> {rss // 1024} MiB "
            f"({(rss - base_rss) * 1024 / max(len(socks), 1):.0f} bytes per connection), fds {base_fds} -> {fds}"
        )
        report.check("hold_connections", len(socks) == n and answered == n and server.alive(),
                     f"{len(socks)} of {n} connected, {answered} answered, {refused} refused")
        ok, why, secs = normal_client(server.bootstrap, "normal")
        report.check("serves_normal_client_meanwhile", ok and server.alive(), f"{why} ({secs:.1f} s)")
        report.note(f"normal client (produce 200, read back) with {len(socks)} connections open: {secs:.2f} s")
        # A sample of the held connections still answers.
        sample = socks[:: max(1, len(socks) // 100)]
        alive = 0
        for s in sample:
            s.setblocking(True)
            s.settimeout(10)
            try:
                s.sendall(wire.frame(wire.API_API_VERSIONS, 0, 2, b""))
                size = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))[0]
                s.recv(size, socket.MSG_WAITALL)
                alive += 1
            except OSError:
                pass
        report.check("held_connections_still_served", alive == len(sample), f"{alive} of {len(sample)} answered")
        for s in socks:
            s.close()
        socks = []
        deadline = time.monotonic() + 10
        while open_fds(server.pid) > base_fds + 10 and time.monotonic() < deadline:
            time.sleep(0.1)
        after = open_fds(server.pid)
        report.check("descriptors_released", after <= base_fds + 10, f"{after} fds open after closing, {base_fds} before")
        code, secs = server.sigterm()
        report.check("many_clean_stop", code == 0 and "stopped cleanly" in server.log(), f"exit {code}\n{server.log_tail()}")
        return rss
    finally:
        for s in socks:
            s.close()
        server.close()


def idle_timeout(report, work):
    server = Server(
        os.path.join(work, "idle"), os.path.join(work, "idle.stderr"), [f"connections.max.idle.ms={IDLE_MS}"]
    )
    conns = {}
    try:
        server.start()
        ignored = "connections.max.idle.ms" in server.log()
        if ignored:
            report.note("server-start names connections.max.idle.ms among the properties it ignores")
        port = server.port
        for i in range(5):
            conns[f"silent-{i}"] = socket.create_connection(("127.0.0.1", port))
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(struct.pack(">i", 100) + b"\x00\x12\x00")  # a size, then 3 of its 100 bytes
            conns[f"stalled-{i}"] = s
            conns[f"slow-{i}"] = socket.create_connection(("127.0.0.1", port))
        busy = wire.Conn("127.0.0.1", port)
        t_busy = time.monotonic()
        # The slow ones: a size, then a byte every 500 ms, three times, then nothing.
        for k in range(4):
            for i in range(5):
                conns[f"slow-{i}"].sendall(struct.pack(">i", 100) if k == 0 else b"\x00")
            busy.call(wire.API_API_VERSIONS, 0, b"")
            time.sleep(0.5)
        t_last = time.monotonic()
        # Meanwhile the busy connection keeps asking, every 500 ms, for longer than the timeout.
        busy_ok = True
        limit = t_last + IDLE_MS / 1000 + IDLE_MARGIN_S
        closed_at = {}
        for name, s in conns.items():
            s.setblocking(False)
        while time.monotonic() < limit and len(closed_at) < len(conns):
            for name, s in conns.items():
                if name in closed_at:
                    continue
                try:
                    if s.recv(4096) == b"":
                        closed_at[name] = time.monotonic() - t_last
                except BlockingIOError:
                    pass
                except OSError:
                    closed_at[name] = time.monotonic() - t_last
            try:
                busy.call(wire.API_API_VERSIONS, 0, b"")
            except OSError:
                busy_ok = False
            time.sleep(0.2)
        busy_secs = time.monotonic() - t_busy
        by_kind = {}
        for name in conns:
            by_kind.setdefault(name.split("-")[0], []).append(closed_at.get(name))
        summary = {
            k: f"{sum(v is not None for v in vs)}/{len(vs)} closed"
            + (f" (after {max(x for x in vs if x is not None):.1f} s)" if any(x is not None for x in vs) else "")
            for k, vs in by_kind.items()
        }
        report.note(f"idle timeout {IDLE_MS} ms: {summary}; busy connection open for {busy_secs:.1f} s: {busy_ok}")
        for kind, vs in by_kind.items():
            report.check(
                f"idle_closes_{kind}",
                all(v is not None for v in vs),
                f"{sum(v is None for v in vs)} of {len(vs)} {kind} connections still open "
                f"{IDLE_MS / 1000 + IDLE_MARGIN_S:.0f} s after their last byte (connections.max.idle.ms={IDLE_MS}"
                f"{', which server-start says it ignores' if ignored else ''})",
            )
        report.check("idle_keeps_busy_connection", busy_ok, "a connection sending a request every 0.5 s was closed")
        busy.close()
        server.sigterm()
    finally:
        for s in conns.values():
            s.close()
        server.close()


def sigterm_with_parked_fetches(report, work, parked):
    server = Server(os.path.join(work, "parked"), os.path.join(work, "parked.stderr"))
    conns = []
    try:
        server.start()
        wire.create_topic("127.0.0.1", server.port, "parked", 1)
        for _ in range(parked):
            c = wire.Conn("127.0.0.1", server.port)
            c.send(wire.API_FETCH, 4, wire.fetch_body("parked", [(0, 0)], PARKED_WAIT_MS, 1))
            conns.append(c)
        time.sleep(1.0)
        sel = selectors.DefaultSelector()
        for c in conns:
            sel.register(c.sock, selectors.EVENT_READ)
        early = len(sel.select(timeout=0))
        sel.close()
        report.check("fetches_parked", early == 0, f"{early} of {parked} long-polls answered before their wait")
        code, secs = server.sigterm(within=PARKED_WAIT_MS / 1000 + 10)
        answered = closed = 0
        for c in conns:
            c.sock.settimeout(1)
            try:
                c.read_response()
                answered += 1
            except (OSError, ConnectionError):
                closed += 1
        report.note(
            f"SIGTERM with {parked} parked long-poll Fetches (max_wait_ms {PARKED_WAIT_MS}): "
            f"exit {code} after {secs:.2f} s; {answered} answered, {closed} closed without an answer"
        )
        report.check(
            "sigterm_with_parked_fetches",
            code == 0 and secs < SIGTERM_BOUND_S and "stopped cleanly" in server.log(),
            f"exit {code} after {secs:.2f} s (bound {SIGTERM_BOUND_S:.0f} s; the long-polls wait "
            f"{PARKED_WAIT_MS / 1000:.0f} s)",
        )
    finally:
        for c in conns:
            c.close()
        server.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connections", type=int, default=5000)
    ap.add_argument("--parked", type=int, default=200)
    args = ap.parse_args()
    report = Report(SCRIPT)
    work = tempfile.mkdtemp(prefix="streamlog-connections-")
    try:
        enough, hard = raise_own_limit(args.connections + 200)
        report.note(f"ulimit -Hn {hard}")
        fd_limit_check(report, work)
        if enough:
            many_connections(report, work, args.connections)
        else:
            report.skip("hold_connections", f"hard RLIMIT_NOFILE {hard} is below {args.connections + 200}")
        idle_timeout(report, work)
        sigterm_with_parked_fetches(report, work, args.parked)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.done()


main()
