#!/usr/bin/env python3
"""fsync ordering under strace: server-start with log.flush.interval.messages=1, traced with
`strace -f -ttt -yy`, while a client produces with acks=-1 (one request at a time, on its own
connection, over three partitions, some requests carrying two partitions). From the trace:

- every Produce response write on that connection follows, for each segment file the request
  wrote to, an fdatasync/fsync of that file started after the write and finished before the
  response;
- metadata files (topic metadata `.streamlog/topics/*.json`, partition.metadata,
  meta.properties, group offsets, producer snapshots `*.snapshot` once they exist, checkpoints)
  are replaced atomically: written to a temp file, fsynced, renamed over, and the directory
  fsynced after the rename (a syncfs of the whole file system counts as both fsyncs); an
  OffsetCommit is answered only after that;
- on SIGTERM every segment written without fsync (a topic with flush.messages at Kafka's
  default, Long.MAX) is fsynced before the broker exits.

What is not checked but reported: new directories whose parent is not fsynced, and the
per-partition state file (`.streamlog-state`), which is rewritten in place.

    python3 tests/faults/fsync_order.py [--keep-trace FILE]
"""

import argparse
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
from _faults import Report, Server, time_limit  # noqa: E402
import _wire as wire  # noqa: E402

SCRIPT = "fsync_order"
time_limit(180, SCRIPT)

SYSCALLS = (
    "openat,open,creat,write,pwrite64,writev,pwritev,pwritev2,sendto,sendmsg,sendfile,"
    "fsync,fdatasync,syncfs,sync_file_range,rename,renameat,renameat2,mkdir,mkdirat,ftruncate,close"
)
FLUSHES = {"fsync", "fdatasync"}
# syncfs(2) flushes every file and directory of the file system: it makes whatever was written
# before it durable (the broker uses it to close thousands of logs, and to create many topics).
FS_SYNC = "syncfs"
SENDS = {"write", "writev", "sendto", "sendmsg", "sendfile"}
WRITES = {"write", "pwrite64", "writev", "pwritev", "pwritev2"}

LINE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(.*)$")
CALL = re.compile(r"^(\w+)\((.*)$")
RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
FD_PATH = re.compile(r"^\d+<(.*?)>(?:,|\)|$)")


class Call:
    """One system call: name, arguments text, the path of its first fd argument (strace -yy),
    and the indexes of its start and end in the trace."""

    def __init__(self, pid, name, args, start, ts):
        self.pid, self.name, self.args, self.start, self.end, self.ts = pid, name, args, start, start, ts
        self.ret = None
        m = FD_PATH.match(args)
        self.path = m.group(1) if m else None

    def strings(self):
        return re.findall(r'"((?:[^"\\]|\\.)*)"', self.args)

    def __repr__(self):
        return f"{self.name}({self.path or self.args[:80]}) at {self.ts:.6f}"


def parse_trace(path):
    calls, pending = [], {}
    with open(path, errors="replace") as f:
        for idx, line in enumerate(f):
            m = LINE.match(line.rstrip("\n"))
            if not m:
                continue
            pid, ts, rest = int(m.group(1)), float(m.group(2)), m.group(3)
            r = RESUMED.match(rest)
            if r:
                c = pending.pop(pid, None)
                if c is not None:
                    c.end = idx
                    c.args += r.group(2)
                    c.ret = rest.rsplit("= ", 1)[-1] if "= " in rest else None
                continue
            m2 = CALL.match(rest)
            if not m2:
                continue
            c = Call(pid, m2.group(1), m2.group(2), idx, ts)
            if rest.endswith("<unfinished ...>"):
                pending[pid] = c
            else:
                c.ret = rest.rsplit("= ", 1)[-1] if "= " in rest else None
            calls.append(c)
    return calls


def ok(c):
    return c.ret is not None and not c.ret.startswith("-1")


def flushed(calls, path, after, before=None):
    """An fsync/fdatasync of `path`, or a syncfs, that started after trace index `after` (and
    ended before index `before`, if given)."""
    return any(
        ok(c) and c.start > after and (before is None or c.end < before)
        and ((c.name in FLUSHES and c.path == path) or c.name == FS_SYNC)
        for c in calls
    )


def check_produce_order(report, calls, client_port):
    sock = f"->127.0.0.1:{client_port}]"
    responses = [c for c in calls if c.name in SENDS and c.path and sock in c.path]
    checked = unflushed = 0
    bad = []
    prev = -1
    for resp in responses:
        wrote = [c for c in calls if c.name in WRITES and c.path and c.path.endswith(".log")
                 and prev < c.end < resp.start and ok(c)]
        for w in wrote:
            checked += 1
            if not flushed(calls, w.path, w.end, resp.start):
                unflushed += 1
                bad.append(f"{w!r} then the response {resp!r} with no fsync between")
        prev = resp.start
    report.note(
        f"{len(responses)} Produce responses on the traced connection, {checked} segment writes "
        f"before them, {unflushed} not fsynced before the response"
    )
    report.check("produce_response_after_segment_fsync", checked > 0 and unflushed == 0 and responses,
                 f"{unflushed} of {checked} segment writes answered before an fsync: {bad[:3]}")


def metadata_kind(path):
    if "/.streamlog/topics/" in path and path.endswith(".json"):
        return "topic_metadata"
    if "/.streamlog/groups/" in path and ("/offsets/" in path or path.endswith("/offsets.json")):
        return "group_offsets"
    if path.endswith("/partition.metadata"):
        return "partition_metadata"
    if path.endswith("/meta.properties"):
        return "meta_properties"
    if path.endswith(".snapshot"):
        return "producer_snapshot"
    if "checkpoint" in os.path.basename(path):
        return "checkpoint"
    return None


def check_metadata(report, calls, commit_port):
    """Each rename onto a metadata file: temp written, fsynced before, directory fsynced
    after. Any write straight into a metadata file is in place (not atomic)."""
    results = {}  # kind -> [problems], count
    counts = Counter()
    renames = [c for c in calls if c.name in ("rename", "renameat", "renameat2") and ok(c)]
    renamed_at = {}
    for rn in renames:
        s = rn.strings()
        if len(s) < 2:
            continue
        src, dst = s[0], s[-1]
        kind = metadata_kind(dst)
        if not kind:
            continue
        counts[kind] += 1
        problems = results.setdefault(kind, [])
        wrote = [c for c in calls if c.name in WRITES and c.path == src and c.end < rn.start and ok(c)]
        synced = flushed(calls, src, max((w.end for w in wrote), default=-1), rn.start)
        dirsync = [c for c in calls if ((c.name in FLUSHES and c.path == os.path.dirname(dst))
                                        or c.name == FS_SYNC) and c.start > rn.end and ok(c)]
        if not wrote:
            problems.append(f"{dst}: renamed from {src} with no write traced")
        if not synced:
            problems.append(f"{dst}: temp file not fsynced before the rename")
        if not dirsync:
            problems.append(f"{dst}: directory not fsynced after the rename")
        else:
            renamed_at[dst] = min(c.end for c in dirsync)
    # In-place writes to the final names. partition.metadata is written once, in a partition
    # directory just made, never replaced: it must only be durable before its topic's metadata
    # (the commit point) is renamed into place.
    for c in calls:
        if c.name in WRITES and c.path and ok(c):
            kind = metadata_kind(c.path)
            if kind == "partition_metadata":
                counts[kind] += 1
                topic = os.path.basename(os.path.dirname(c.path)).rsplit("-", 1)[0]
                commits = [rn.start for rn in renames
                           if rn.strings() and rn.strings()[-1].endswith(f"/.streamlog/topics/{topic}.json")]
                problems = results.setdefault(kind, [])
                if not commits:
                    problems.append(f"{c.path}: no metadata of topic {topic} renamed into place")
                elif not flushed(calls, c.path, c.end, min(commits)):
                    problems.append(f"{c.path}: not durable before its topic's metadata")
            elif kind and not os.path.basename(c.path).startswith("."):
                results.setdefault(kind, []).append(f"{c.path}: written in place ({c.name})")
                counts[kind] += 0
    for kind in ["topic_metadata", "partition_metadata", "meta_properties", "group_offsets",
                 "producer_snapshot", "checkpoint"]:
        if kind not in results:
            why = {"producer_snapshot": "no *.snapshot file written (producer state is not persisted)",
                   "checkpoint": "no *checkpoint* file written (the recovery point lives in .streamlog-state)"}
            report.skip(f"{kind}_replaced_atomically", why.get(kind, f"no {kind} file written in the trace"))
            continue
        problems = results[kind]
        report.check(f"{kind}_replaced_atomically", not problems,
                     f"{len(problems)} problems over {counts[kind]} replacements: {problems[:3]}")
    report.note(f"atomic replacements traced: {dict(counts)}")
    # The OffsetCommit answer comes after the offsets file is durable.
    sock = f"->127.0.0.1:{commit_port}]"
    answers = [c for c in calls if c.name in SENDS and c.path and sock in c.path]
    offsets_done = [at for dst, at in renamed_at.items() if metadata_kind(dst) == "group_offsets"]
    report.check(
        "offset_commit_answered_after_fsync",
        bool(answers) and bool(offsets_done) and all(a.start > max(offsets_done) for a in answers[-1:]),
        f"{len(answers)} answers on the commit connection, {len(offsets_done)} offsets files made durable",
    )


def report_other_durability(report, calls, data_dir):
    """Notes (not checks): directories created without fsyncing their parent, and the state
    file's in-place rewrites."""
    made = [c for c in calls if c.name in ("mkdir", "mkdirat") and ok(c)]
    unsynced = []
    for m in made:
        s = m.strings()
        if not s:
            continue
        d = s[-1]
        parent = os.path.dirname(d.rstrip("/"))
        if not any(((c.name in FLUSHES and c.path == parent) or c.name == FS_SYNC) and c.start > m.end
                   for c in calls):
            unsynced.append(os.path.relpath(d, data_dir) if d.startswith(data_dir) else d)
    report.note(f"{len(made)} directories created, {len(unsynced)} without an fsync of their parent: {unsynced}")
    state_writes = [c for c in calls if c.name in WRITES and c.path and c.path.endswith("/.streamlog-state")]
    state_syncs = [c for c in calls if c.name in FLUSHES and c.path and c.path.endswith("/.streamlog-state")]
    report.note(
        f".streamlog-state (log end, recovery point, clean flag): {len(state_writes)} in-place "
        f"{'/'.join(sorted({c.name for c in state_writes}))} writes, {len(state_syncs)} fsyncs"
    )


def check_shutdown_flush(report, calls, topic, t_sigterm):
    """Segments of `topic` (never fsynced on append) are fsynced after the SIGTERM (sent at
    epoch time `t_sigterm`, the clock strace -ttt prints), after their last write."""
    logs = {c.path for c in calls if c.name in WRITES and c.path and f"/{topic}-" in c.path and c.path.endswith(".log")}
    missing = []
    for p in sorted(logs):
        last = max(c.end for c in calls if c.name in WRITES and c.path == p)
        if not any(((c.name in FLUSHES and c.path == p) or c.name == FS_SYNC)
                   and c.start > last and c.ts >= t_sigterm and ok(c) for c in calls):
            missing.append(p)
    report.check("sigterm_fsyncs_unflushed_segments", logs and not missing,
                 f"{len(missing)} of {len(logs)} segments of '{topic}' not fsynced after SIGTERM: {missing}")


def ensure_strace(report):
    if not shutil.which("strace") and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "strace"], capture_output=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if not shutil.which("strace"):
        report.skip("all", "strace is not installed and could not be installed")
        return False
    # Containers often forbid ptrace.
    probe = subprocess.run(["strace", "-o", os.devnull, "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        report.skip("all", f"strace cannot trace here: {probe.stderr.strip()}")
        return False
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep-trace", help="copy the raw strace output here")
    args = ap.parse_args()
    report = Report(SCRIPT)
    if not ensure_strace(report):
        report.done()
    work = tempfile.mkdtemp(prefix="streamlog-fsync-")
    data = os.path.join(work, "data")
    trace = os.path.join(work, "trace")
    server = Server(data, os.path.join(work, "server-start.stderr"), ["log.flush.interval.messages=1"])
    broker_pid = None
    try:
        server.start(prefix=["strace", "-f", "-ttt", "-yy", "-s", "256", "-o", trace, "-e", f"trace={SYSCALLS}"])
        # The broker is strace's child: signals go to it, not to strace.
        with open(f"/proc/{server.pid}/task/{server.pid}/children") as f:
            broker_pid = int(f.read().split()[0])
        host, port = "127.0.0.1", server.port
        wire.create_topic(host, port, "synced", 3)
        wire.create_topic(host, port, "lazy", 1, [("flush.messages", "9223372036854775807")])
        init = wire.Conn(host, port)
        err, pid, epoch = wire.parse_init_producer_id(init.call(wire.API_INIT_PRODUCER_ID, 0, wire.init_producer_id_body()))
        init.close()
        # This connection carries Produce requests only: each answer on it is a Produce response.
        c = wire.Conn(host, port)
        seqs = Counter()
        answers = Counter()
        for i in range(30):
            p = i % 3
            batch = wire.record_batch([f"r{i}-{k}".encode() for k in range(3)], pid, epoch, seqs[p])
            seqs[p] += 3
            if i % 5 == 4:  # two partitions in one request
                q = (p + 1) % 3
                batch2 = wire.record_batch([f"r{i}-q".encode()], pid, epoch, seqs[q])
                seqs[q] += 1
                body = (wire.string(None) + wire.i16(-1) + wire.i32(30000) + wire.array(
                    [wire.string("synced") + wire.array([wire.i32(p) + wire.nbytes(batch), wire.i32(q) + wire.nbytes(batch2)])]))
            else:
                body = wire.produce_body("synced", p, batch, acks=-1)
            for key, (e, _) in wire.parse_produce(c.call(wire.API_PRODUCE, 3, body)).items():
                answers[e] += 1
        report.check("produced", set(answers) == {0}, f"Produce answers by error code: {dict(answers)}")
        lazy = wire.Conn(host, port)
        for i in range(5):
            lazy.call(wire.API_PRODUCE, 3, wire.produce_body("lazy", 0, wire.record_batch([f"l{i}".encode()])))
        commit = wire.Conn(host, port)
        commit.call(wire.API_OFFSET_COMMIT, 2, wire.offset_commit_body("g", "synced", [(0, 3), (1, 3)]))
        client_port, commit_port = c.local_port(), commit.local_port()
        for x in (c, lazy, commit):
            x.close()
        time.sleep(0.3)
        t_sigterm = time.time()
        os.kill(broker_pid, 15)
        code = server.proc.wait(30)
        report.check("clean_stop", code == 0 and "stopped cleanly" in server.log(), f"exit {code}\n{server.log_tail()}")
        calls = parse_trace(trace)
        report.note(f"{len(calls)} system calls traced")
        check_produce_order(report, calls, client_port)
        check_metadata(report, calls, commit_port)
        check_shutdown_flush(report, calls, "lazy", t_sigterm)
        report_other_durability(report, calls, data)
        if args.keep_trace:
            shutil.copy(trace, args.keep_trace)
    finally:
        if broker_pid is not None:
            try:
                os.kill(broker_pid, 9)  # strace, killed, would leave it running detached
            except ProcessLookupError:
                pass
        server.close()
        shutil.rmtree(work, ignore_errors=True)
    report.done()


main()
