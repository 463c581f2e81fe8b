#!/usr/bin/env python3
"""How soon a following console-consumer prints a record another process appended.

Starts `console-consumer --topic lat` (following, no group) and `console-producer --topic lat
--sync`, writes one line at a time carrying its send time, and reads it back from the consumer's
stdout. Prints p50/p99/max over the samples. Bounded: N samples, 10 s timeout each.

usage: bench/follow-latency.py [N]   (builds nothing: run `cargo build --release` first)
"""
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time

n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "release")
with tempfile.TemporaryDirectory() as data:
    env = dict(os.environ, STREAMLOG_DATA_DIR=data)
    subprocess.run([f"{root}/topics", "--create", "--topic", "lat"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    consumer = subprocess.Popen([f"{root}/console-consumer", "--topic", "lat"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    producer = subprocess.Popen([f"{root}/console-producer", "--topic", "lat", "--sync"], env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    samples = []
    fd = consumer.stdout.fileno()
    for i in range(n):
        sent = time.perf_counter()
        producer.stdin.write(f"{i}\n".encode())
        producer.stdin.flush()
        line = b""
        while not line.endswith(b"\n"):
            ready, _, _ = select.select([fd], [], [], 10)
            if not ready:
                sys.exit(f"record {i} not seen within 10 s")
            line += os.read(fd, 64)
        samples.append((time.perf_counter() - sent) * 1000)
        time.sleep(0.01)
    producer.stdin.close()
    producer.wait()
    consumer.terminate()
    consumer.wait()
samples.sort()
p = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]
print(f"follow latency over {n} records (producer --sync -> following consumer): "
      f"p50 {p(0.50):.2f} ms, p99 {p(0.99):.2f} ms, max {samples[-1]:.2f} ms, "
      f"mean {statistics.mean(samples):.2f} ms")
