#!/usr/bin/env python3
"""Pipe vs pseudo-terminal output of the listings: `topics --list`, `topics --describe --topic X`
and `consumer-groups --describe --group G`, each run with its standard output on a pty (a
terminal: a comfy-table box of UTF-8 box-drawing characters), on a pipe (Kafka's exact plain
layout, no box characters), and with `--output json` on both (every line a JSON object with the
right content); with NO_COLOR=1 on a pty no ANSI colour escape (ESC [3x) appears. All of it on an
embedded data dir and against a server-start on a free port. Needs: cargo build --bins."""

import json
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import fcntl
import time

sys.dont_write_bytecode = True

SCRIPT = "pipe_vs_pty"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("STREAMLOG_BIN_DIR") or os.path.join(
    os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target"), "debug"
)
BOX = set("┌┐└┘│┆─═╞╪╡┬┴┼├┤")
TOPIC = "tty-pty-events"
GROUP = "tty-pty-group"
failures = 0


def report(ok, name, detail=""):
    global failures
    if ok:
        print(f"PASS {SCRIPT}.{name}" + (f" ({detail})" if detail else ""), flush=True)
    else:
        failures += 1
        print(f"FAIL {SCRIPT}.{name}: {detail}", flush=True)


def expired(_sig, _frame):
    print(f"FAIL {SCRIPT}: timed out", flush=True)
    os._exit(1)


signal.signal(signal.SIGALRM, expired)
signal.alarm(int(os.environ.get("TTY_TIMEOUT") or 150))


def tool(name):
    path = os.path.join(BIN, name)
    if not os.access(path, os.X_OK):
        report(False, "setup", f"{path} is not built (cargo build --bins)")
        sys.exit(1)
    return path


def env(extra=None):
    e = dict(os.environ)
    for k in ("NO_COLOR", "CLICOLOR_FORCE", "FORCE_COLOR", "STREAMLOG_DATA_DIR",
              "STREAMLOG_BOOTSTRAP_SERVER", "STREAMLOG_CONTEXT"):
        e.pop(k, None)
    e["TERM"] = "xterm-256color"
    e.update(extra or {})
    return e


def in_pty(argv, extra_env=None, timeout=30):
    """Runs argv with stdout on a fresh 50x200 pty (stdin /dev/null, stderr a pipe);
    returns (exit code, stdout text with the pty's CRLF turned back into LF, stderr)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE,
                            env=env(extra_env))
    os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer of the pty has gone
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    try:
        code = proc.wait(max(deadline - time.monotonic(), 1))
    except subprocess.TimeoutExpired:
        proc.kill()
        code = "timeout"
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    return code, out.decode(errors="replace").replace("\r\n", "\n"), err


def in_pipe(argv, extra_env=None, timeout=30):
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                           env=env(extra_env))
    except subprocess.TimeoutExpired:
        return "timeout", "", ""
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def json_lines(text):
    """Every non-empty line as a JSON object; raises on the first that is not."""
    rows = []
    for line in text.splitlines():
        if line.strip():
            v = json.loads(line)
            if not isinstance(v, dict):
                raise ValueError(f"not an object: {line!r}")
            rows.append(v)
    if not rows:
        raise ValueError("no lines")
    return rows


# What each listing must show. `text` checks the pipe layout (returns None or a problem),
# `json` the parsed objects.
def text_list(out):
    lines = out.splitlines()
    if TOPIC not in lines:
        return f"{TOPIC} is not a line of {lines}"
    if any(" " in l or not l for l in lines):
        return f"not one bare name per line: {lines}"


def json_list(rows):
    if {"topic": TOPIC} not in rows:
        return f"no {{'topic': {TOPIC!r}}} in {rows}"


def text_describe(out):
    lines = out.splitlines()
    if not re.fullmatch(
        rf"Topic: {TOPIC}\tTopicId: [A-Za-z0-9_-]{{22}}\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: ?",
        lines[0] if lines else "",
    ):
        return f"first line is not Kafka's topic line: {lines[:1]}"
    want = [rf"\tTopic: {TOPIC}\tPartition: {p}\tLeader: \d+\tReplicas: \d+\tIsr: \d+.*" for p in (0, 1)]
    if len(lines) != 3 or not all(re.fullmatch(w, l) for w, l in zip(want, lines[1:])):
        return f"partition lines are not Kafka's: {lines[1:]}"


def json_describe(rows):
    if len(rows) != 1 or rows[0].get("topic") != TOPIC or rows[0].get("partition_count") != 2:
        return f"expected one object for {TOPIC} with partition_count 2: {rows}"


def text_groups(out):
    lines = out.splitlines()
    header = [l for l in lines if l.startswith("GROUP")]
    if not header or not header[0].startswith(
        "GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG"
    ):
        return f"no Kafka header line: {lines[:3]}"
    if lines[0] != "":
        return f"Kafka's layout starts with an empty line: {lines[:2]}"
    rows = [l.split() for l in lines if l.startswith(GROUP + " ")]
    lag = sum(int(r[5]) for r in rows)
    if len(rows) != 2 or lag != 7:
        return f"expected 2 partition rows with total lag 7: {rows}"


def json_groups(rows):
    mine = [r for r in rows if r.get("group") == GROUP]
    lag = sum(r.get("lag") or 0 for r in mine)
    if len(mine) != 2 or lag != 7 or not all(isinstance(r.get("lag"), int) for r in mine):
        return f"expected 2 rows of {GROUP} with numeric lags totalling 7: {rows}"


LISTINGS = [
    ("topics_list", "topics", ["--list"], TOPIC, text_list, json_list),
    ("topics_describe", "topics", ["--describe", "--topic", TOPIC], TOPIC, text_describe, json_describe),
    ("groups_describe", "consumer-groups", ["--describe", "--group", GROUP], GROUP, text_groups, json_groups),
]


def setup(target):
    """A 2-partition topic with 10 records, 3 of them consumed by GROUP (lag 7)."""
    code, out, err = in_pipe([tool("topics"), *target, "--create", "--topic", TOPIC, "--partitions", "2"])
    if code != 0:
        return f"topics --create exited {code}: {err.strip()}"
    lines = "".join(f"k{i}:record {i}\n" for i in range(10))
    p = subprocess.run(
        [tool("console-producer"), *target, "--topic", TOPIC, "--property", "parse.key=true",
         "--property", "key.separator=:"],
        input=lines.encode(), capture_output=True, timeout=30, env=env(),
    )
    if p.returncode != 0:
        return f"console-producer exited {p.returncode}: {p.stderr.decode().strip()}"
    code, out, err = in_pipe(
        [tool("console-consumer"), *target, "--topic", TOPIC, "--group", GROUP, "--from-beginning",
         "--max-messages", "3"]
    )
    if code != 0 or len(out.splitlines()) != 3:
        return f"console-consumer --group --max-messages 3 exited {code} with {out!r}: {err.strip()}"


def check_backend(backend, target):
    problem = setup(target)
    report(problem is None, f"{backend}.setup", problem or "")
    if problem:
        return
    for name, binary, args, must_show, text_check, json_check in LISTINGS:
        argv = [tool(binary), *target, *args]
        base = f"{backend}.{name}"

        # A terminal: the box, with the name in it.
        code, out, err = in_pty(argv)
        box = sorted(BOX & set(out))
        ok = code == 0 and box and "│" in out and must_show in out
        report(ok, f"{base}.pty_table",
               f"box characters {''.join(box)}" if ok else f"exit {code}, stdout {out!r}, stderr {err!r}")
        colour_default = "\x1b[3" in out

        # A pipe: Kafka's plain layout, no box characters.
        code, out, err = in_pipe(argv)
        problem = f"exit {code}: {err.strip()}" if code != 0 else None
        if not problem and BOX & set(out):
            problem = f"box characters in a pipe: {out!r}"
        if not problem and "\x1b[" in out:
            problem = f"escape sequences in a pipe: {out!r}"
        problem = problem or text_check(out)
        report(not problem, f"{base}.pipe_text", problem or f"{len(out.splitlines())} lines of Kafka's layout")

        # --output json on a pipe and on a terminal: every line an object, the right content.
        for mode, run in (("pipe", in_pipe), ("pty", in_pty)):
            code, out, err = run(argv + ["--output", "json"])
            try:
                if code != 0:
                    raise ValueError(f"exit {code}: {err.strip()}")
                if BOX & set(out):
                    raise ValueError(f"box characters in JSON output: {out!r}")
                rows = json_lines(out)
                problem = json_check(rows)
            except ValueError as e:  # json.JSONDecodeError is a ValueError
                rows, problem = [], f"{e}; stdout {out!r}"
            report(not problem, f"{base}.{mode}_json", problem or f"{len(rows)} JSON lines")

        # NO_COLOR=1 on a terminal: no colour escapes (the table itself still drawn).
        code, out, err = in_pty(argv, {"NO_COLOR": "1"})
        ok = code == 0 and "\x1b[3" not in out and "│" in out
        report(ok, f"{base}.no_color",
               f"no ESC[3x with NO_COLOR=1 (without it: {'colour' if colour_default else 'none either'})"
               if ok else f"exit {code}, stdout {out!r}")


class Server:
    """server-start on 127.0.0.1, a free port, its own temp data dir."""

    def __init__(self, work):
        self.err_path = os.path.join(work, "server-start.stderr")
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(
            [tool("server-start"), "--override", f"log.dirs={os.path.join(work, 'server-data')}",
             "--override", "listeners=PLAINTEXT://127.0.0.1:0",
             "--override", "group.initial.rebalance.delay.ms=0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.err, env=env(),
        )
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline().decode() if ready else ""
        m = re.match(r"streamlog broker listening on (127\.0\.0\.1:\d+) ", line)
        if not m:
            self.proc.kill()
            raise RuntimeError(f"server-start did not start: {line!r}")
        self.bootstrap = m.group(1)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = "timeout"
        self.err.close()
        log = open(self.err_path).read()
        report(code == 0 and "stopped cleanly" in log, "server_clean_stop",
               "" if code == 0 else f"exit {code}: {log[-500:]}")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def main():
    work = tempfile.mkdtemp(prefix="streamlog-tty-pty-")
    server = None
    try:
        check_backend("embedded", ["--data-dir", os.path.join(work, "data")])
        try:
            server = Server(work)
        except RuntimeError as e:
            report(False, "server.setup", str(e))
        else:
            check_backend("server", ["--bootstrap-server", server.bootstrap])
            server.stop()
    finally:
        if server:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
