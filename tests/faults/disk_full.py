#!/usr/bin/env python3
"""Disk full: server-start's data dir on a small tmpfs. A producer (confluent-kafka, acks=all,
no retries, so each refusal is seen as the broker sent it) writes numbered records until the
disk is full; the campaign records which error the client sees, checks the broker logs the
condition at error level once (not once per request), that earlier data stays readable, that
a kill -9 and restart while still full comes back, that writes are taken again once the tmpfs
grows, and that after a clean restart nothing acknowledged is lost and nothing is corrupt.
Then the embedded console-producer (no broker) on a full tmpfs: one clear line on stderr,
non-zero exit, and exactly the lines before the one it names are stored (a user resumes there).

Needs root (mount -t tmpfs); prints SKIP lines otherwise.

    python3 tests/faults/disk_full.py
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _faults import Report, Server, ensure, server_start_bin, time_limit  # noqa: E402
import _wire as wire  # noqa: E402

SCRIPT = "disk_full"
time_limit(240, SCRIPT)
ensure(["confluent_kafka"], ["confluent-kafka"])

from confluent_kafka import Producer  # noqa: E402

TOPIC = "full"
FULL_MIB = 16
GROWN_MIB = 64
VALUE = 1000  # bytes per record
# A tracing line at error level: "<timestamp> ERROR <target>: ..." (ANSI colours stripped).
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def mount_tmpfs(path, mib):
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={mib}m", "tmpfs", path], capture_output=True, text=True)
    return r.returncode == 0, r.stderr.strip()


def remount(path, mib):
    subprocess.run(["mount", "-o", f"remount,size={mib}m", path], check=True)


def umount(path):
    subprocess.run(["umount", "-l", path], capture_output=True)


def error_lines(text):
    return [line for line in ANSI.sub("", text).splitlines() if re.search(r"\bERROR\b", line)]


class Producing:
    """A producer without retries: each delivery report is the broker's own answer."""

    def __init__(self, bootstrap):
        self.p = Producer(
            {
                "bootstrap.servers": bootstrap,
                "acks": "all",
                "enable.idempotence": False,
                "retries": 0,
                "linger.ms": 5,
                "message.timeout.ms": 15000,
                "log_level": 0,
            }
        )
        self.n = 0
        self.acked = {}  # value -> offset
        self.refused = {}  # value -> error name
        self.errors = Counter()  # (code, name, text) -> count

    def delivered(self, err, msg):
        if err is None:
            self.acked[msg.value()] = msg.offset()
        else:
            self.refused[msg.value()] = err.name()
            self.errors[(err.code(), err.name(), err.str())] += 1

    def round(self, count):
        """Produces `count` records and waits for all answers; returns (acked, refused)."""
        a, r = len(self.acked), len(self.refused)
        for _ in range(count):
            value = f"{self.n:08d}-".encode() + b"x" * (VALUE - 9)
            self.n += 1
            while True:
                try:
                    self.p.produce(TOPIC, value=value, partition=0, on_delivery=self.delivered)
                    break
                except BufferError:
                    self.p.poll(0.05)
        left = self.p.flush(30)
        if left:
            raise RuntimeError(f"{left} records not answered in 30 s")
        return len(self.acked) - a, len(self.refused) - r


def read_log(port):
    """{value: offset} and the list of offsets, and CRC failures, of partition 0."""
    records, bad, hw = wire.fetch_all("127.0.0.1", port, TOPIC, 0)
    return records, bad, hw


def broker_campaign(report, mnt):
    data = os.path.join(mnt, "data")
    stderr_path = os.path.join(os.path.dirname(mnt), "server-start.stderr")
    server = Server(data, stderr_path)
    try:
        server.start()
        wire.create_topic("127.0.0.1", server.port, TOPIC, 1)
        prod = Producing(server.bootstrap)

        # Fill: rounds of 500 KB until a whole round is refused.
        rounds, t0 = 0, time.monotonic()
        while time.monotonic() - t0 < 60:
            rounds += 1
            acked, refused = prod.round(500)
            if refused and not acked:
                break
        full_errors = dict(prod.errors)
        # A few more rounds while full: the error must not be logged once per request.
        for _ in range(3):
            prod.round(100)
        log_full = server.log()
        errs = error_lines(log_full)
        report.note(
            f"filled {FULL_MIB} MiB in {rounds} rounds: {len(prod.acked)} acknowledged, {len(prod.refused)} refused; "
            f"client saw {[(c, n, t) for (c, n, t) in full_errors]}"
        )
        codes = {c for (c, _, _) in prod.errors}
        report.check(
            "client_sees_storage_error",
            bool(prod.refused) and codes == {56},
            f"error codes seen by confluent-kafka: {dict(prod.errors)} (want only 56 KAFKA_STORAGE_ERROR)",
        )
        # The raw answer on the wire, with its error message (Produce v3 carries none).
        c = wire.Conn("127.0.0.1", server.port)
        raw = wire.parse_produce(
            c.call(wire.API_PRODUCE, 3, wire.produce_body(TOPIC, 0, wire.record_batch([b"y" * 200_000])))
        )
        c.close()
        report.note(f"a raw Produce v3 while full is answered {raw}")
        report.check(
            "broker_logs_error_once",
            len(errs) == 1,
            f"{len(errs)} error-level lines in the broker's log while {len(prod.refused)} records were refused "
            f"(want exactly 1){': ' + errs[0] if errs else ''}; last lines:\n{server.log_tail(5)}",
        )

        records, bad, hw = read_log(server.port)
        values = {v: o for o, v in records}
        unreadable = [v for v in prod.acked if v not in values]
        report.check(
            "earlier_data_readable_while_full",
            not unreadable and not bad,
            f"{len(unreadable)} acknowledged records not readable, {bad} batches failing CRC",
        )

        # A crash while full, and a restart on the still-full disk.
        server.kill9()
        try:
            server.start(within=30)
            records, bad, hw = read_log(server.port)
            values = {v: o for o, v in records}
            unreadable = [v for v in prod.acked if v not in values]
            ok, why = not unreadable and not bad, f"{len(unreadable)} acknowledged records unreadable, {bad} bad batches"
        except Exception as e:  # noqa: BLE001 - reported as the check's failure
            ok, why = False, f"{e}"
        report.check("restart_while_full", ok, why)
        if not server.alive():
            server.start()

        # Space comes back.
        remount(mnt, GROWN_MIB)
        before = len(prod.acked)
        acked = refused = 0
        for _ in range(3):
            a, r = prod.round(200)
            acked, refused = acked + a, refused + r
        report.check(
            "writes_accepted_when_space_returns",
            refused == 0 and acked == 600,
            f"after growing the tmpfs to {GROWN_MIB} MiB: {acked} of 600 acknowledged, {refused} refused "
            f"({dict(prod.errors)})",
        )
        report.note(f"after growing: {len(prod.acked) - before} more acknowledged")

        code, secs = server.sigterm()
        report.check("clean_stop", code == 0 and "stopped cleanly" in server.log(), f"exit {code}\n{server.log_tail()}")
        server.start()
        records, bad, hw = read_log(server.port)
        values = Counter(v for _, v in records)
        offsets = [o for o, _ in records]
        lost = [v for v in prod.acked if v not in values]
        dups = [v for v, n in values.items() if n > 1]
        phantom = [v for v in prod.refused if v in values]
        report.check(
            "nothing_acknowledged_lost_nothing_corrupt",
            not lost and not bad and not dups and offsets == list(range(hw)),
            f"{len(lost)} acknowledged lost, {bad} corrupt batches, {len(dups)} duplicated, "
            f"offsets contiguous: {offsets == list(range(hw))} ({len(offsets)} records, high watermark {hw})",
        )
        report.note(
            f"after restart: {len(records)} records, {len(prod.acked)} acknowledged, "
            f"{len(phantom)} refused records present anyway"
        )
        server.sigterm()
    finally:
        server.close()


def console_producer_campaign(report, mnt, work):
    """console-producer --data-dir on the full tmpfs, no broker."""
    bindir = os.path.dirname(server_start_bin())
    data = os.path.join(mnt, "embedded")
    tool = lambda name, *args, **kw: subprocess.run(  # noqa: E731
        [os.path.join(bindir, name), "--data-dir", data, *args], capture_output=True, timeout=60, **kw
    )
    r = tool("topics", "--create", "--topic", "lines")
    if r.returncode != 0:
        report.check("console_producer_full", False, f"topics --create failed: {r.stderr.decode()}")
        return
    lines = [f"line-{i:07d}-" + "z" * 60 for i in range(1, 200_001)]  # ~14 MB, on a 4 MiB disk
    src = os.path.join(work, "lines.txt")
    with open(src, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(src) as stdin:
        r = tool("console-producer", "--topic", "lines", stdin=stdin)
    err = r.stderr.decode(errors="replace")
    err_lines = [line for line in err.splitlines() if line.strip()]
    report.note(f"console-producer on a full disk: exit {r.returncode}, stderr: {err.strip()!r}")
    report.check(
        "console_producer_one_clear_line",
        r.returncode != 0 and len(err_lines) == 1 and "No space left on device" in err and "panicked" not in err,
        f"exit {r.returncode}, {len(err_lines)} stderr lines: {err_lines[:3]}",
    )
    m = re.search(r"\bline (\d+)\b", err)
    named = int(m.group(1)) if m else None
    # What is stored: read back with console-consumer (embedded) once there is room to open it.
    remount(mnt, GROWN_MIB)
    out = tool("console-consumer", "--topic", "lines", "--from-beginning", "--timeout-ms", "1500")
    stored = out.stdout.decode(errors="replace").splitlines()
    prefix = stored == lines[: len(stored)]
    missing_before = (named - 1 - len(stored)) if named else None
    report.check(
        "console_producer_keeps_lines_before_the_error",
        out.returncode == 0 and prefix and named is not None and len(stored) == named - 1,
        f"stderr names line {named}; {len(stored)} lines stored (a prefix of the input: {prefix}); "
        f"{missing_before} lines before the named one are missing",
    )
    report.note(
        f"console-producer: named line {named}, {len(stored)} stored, "
        f"{missing_before} lines before the named one missing"
    )


def main():
    report = Report(SCRIPT)
    if os.geteuid() != 0:
        report.skip("all", "needs root to mount a tmpfs")
        report.done()
    work = tempfile.mkdtemp(prefix="streamlog-disk-full-")
    mnt = os.path.join(work, "mnt")
    mnt2 = os.path.join(work, "mnt2")
    os.makedirs(mnt)
    os.makedirs(mnt2)
    ok, why = mount_tmpfs(mnt, FULL_MIB)
    if not ok:
        report.skip("all", f"mount -t tmpfs is not permitted here: {why}")
        shutil.rmtree(work, ignore_errors=True)
        report.done()
    try:
        broker_campaign(report, mnt)
        ok, why = mount_tmpfs(mnt2, 4)
        if ok:
            console_producer_campaign(report, mnt2, work)
        else:
            report.skip("console_producer", why)
    finally:
        umount(mnt)
        umount(mnt2)
        shutil.rmtree(work, ignore_errors=True)
    report.done()


main()
