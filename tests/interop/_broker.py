"""A throwaway server-start for one interop script: a free port, a temp data dir, SIGTERM at the
end with a check that it stopped cleanly. Also the PASS/FAIL reporting the scripts share."""

import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def server_start_bin():
    path = os.environ.get("SERVER_START")
    if not path:
        target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
        path = os.path.join(target, "debug", "server-start")
    if not os.access(path, os.X_OK):
        fail("setup", f"{path} is not built (cargo build --bins), or set SERVER_START")
    return path


def fail(name, why):
    print(f"FAIL {name}: {why}", flush=True)
    sys.exit(1)


def time_limit(seconds, script):
    """Fails the whole script loudly if it runs past `seconds` (or $INTEROP_TIMEOUT)."""
    seconds = int(os.environ.get("INTEROP_TIMEOUT") or seconds)

    def expired(_sig, _frame):
        fail(script, f"timed out after {seconds} s")

    signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)


def ensure(modules, packages):
    """Imports `modules`, pip-installing `packages` first if any is missing."""
    try:
        for m in modules:
            __import__(m)
    except ImportError:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", *packages],
            check=True,
        )


class Broker:
    def __init__(self, *overrides):
        self.dir = tempfile.mkdtemp(prefix="streamlog-interop-")
        self.stderr_path = os.path.join(self.dir, "server-start.stderr")
        self.stderr = open(self.stderr_path, "w")
        args = [
            server_start_bin(),
            "--override",
            f"log.dirs={os.path.join(self.dir, 'data')}",
            "--override",
            "listeners=PLAINTEXT://127.0.0.1:0",
        ]
        for o in overrides:
            args += ["--override", o]
        self.proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.stderr
        )
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline().decode() if ready else ""
        prefix = "streamlog broker listening on 127.0.0.1:"
        if not line.startswith(prefix):
            self.proc.kill()
            fail("setup", f"server-start did not start: {line!r}\n{self.log()}")
        self.port = int(line[len(prefix) :].split(" ")[0])
        self.bootstrap = f"127.0.0.1:{self.port}"

    def log(self):
        self.stderr.flush()
        with open(self.stderr_path) as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """SIGTERM; the broker must exit 0 saying it stopped cleanly."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("stop", f"server-start did not stop on SIGTERM\n{self.log()}")
        log = self.log()
        if code != 0 or "stopped cleanly" not in log:
            fail("stop", f"server-start exited {code}\n{log}")

    def close(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def run_checks(script, checks, broker):
    """Runs each (name, fn) in order, printing PASS or FAIL; stops the broker cleanly at the end."""
    try:
        for name, fn in checks:
            try:
                fn()
            except Exception:
                detail = traceback.format_exc()
                if not broker.alive():
                    detail += f"\nthe broker died:\n{broker.log()}"
                fail(f"{script}.{name}", detail)
            if not broker.alive():
                fail(f"{script}.{name}", f"the broker died:\n{broker.log()}")
            print(f"PASS {script}.{name}", flush=True)
        broker.stop()
        print(f"PASS {script}.clean_stop", flush=True)
    finally:
        broker.close()
