"""What the fault campaigns share: PASS/FAIL/SKIP lines that go on after a failure (a campaign
reports every check, then exits non-zero if any failed), a server-start that can be killed and
restarted on the same data dir and port, and /proc readings of a process."""

import os
import select
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# tests/interop's helpers (server_start_bin, time_limit, ensure), after site-packages: its
# confluent_kafka.py must not shadow the package.
sys.path.append(os.path.join(REPO, "tests", "interop"))
from _broker import ensure, server_start_bin, time_limit  # noqa: E402,F401

LISTENING = "streamlog broker listening on 127.0.0.1:"


class Report:
    """Collects check results; `done()` exits 1 if any check failed."""

    def __init__(self, script):
        self.script = script
        self.failed = 0

    def check(self, name, ok, why=""):
        if ok:
            print(f"PASS {self.script}.{name}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {self.script}.{name}: {why}", flush=True)
        return ok

    def skip(self, name, why):
        print(f"SKIP {self.script}.{name}: {why}", flush=True)

    def note(self, text):
        print(f"# {text}", flush=True)

    def done(self):
        sys.exit(1 if self.failed else 0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """server-start on a fixed port and data dir, restartable. Its stderr (all runs) goes to
    `stderr_path`, with a marker line before each start."""

    def __init__(self, data_dir, stderr_path, overrides=(), port=None, env=None, limits=None):
        self.data_dir = data_dir
        self.stderr_path = stderr_path
        self.overrides = list(overrides)
        self.port = port or free_port()
        self.env = env
        self.limits = limits  # (soft, hard) RLIMIT_NOFILE for the broker, or None
        self.proc = None
        self.starts = 0

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def command(self):
        args = [
            server_start_bin(),
            "--override",
            f"log.dirs={self.data_dir}",
            "--override",
            f"listeners=PLAINTEXT://127.0.0.1:{self.port}",
            "--override",
            "group.initial.rebalance.delay.ms=0",
        ]
        for o in self.overrides:
            args += ["--override", o]
        return args

    def spawn(self, prefix=()):
        """Starts it (optionally under `prefix`, e.g. strace) without waiting; returns the
        monotonic time of the exec."""
        self.starts += 1
        with open(self.stderr_path, "a") as f:
            f.write(f"=== start {self.starts}\n")
        err = open(self.stderr_path, "a")
        limits = self.limits

        def preexec():
            if limits:
                import resource

                resource.setrlimit(resource.RLIMIT_NOFILE, limits)

        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [*prefix, *self.command()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            env=self.env,
            preexec_fn=preexec if limits else None,
        )
        err.close()
        return t0

    def start(self, prefix=(), within=30):
        """Starts it and waits for its listening line; returns the exec time."""
        t0 = self.spawn(prefix)
        self.wait_listening(within)
        return t0

    def wait_listening(self, within=30):
        ready, _, _ = select.select([self.proc.stdout], [], [], within)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith(LISTENING):
            raise RuntimeError(f"server-start did not start: {line!r}\n{self.log_tail()}")

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def sigterm(self, within=30):
        """SIGTERM; returns (exit code or None if still running after `within`, seconds)."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(within)
        except subprocess.TimeoutExpired:
            return None, time.monotonic() - t0
        return code, time.monotonic() - t0

    def log(self):
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def log_tail(self, n=20):
        return "\n".join(self.log().splitlines()[-n:])

    def close(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()


def rss_kib(pid):
    """VmRSS of a process, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def nofile_limits(pid):
    """(soft, hard) 'Max open files' of a process."""
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    return -1, -1


def median(xs):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
