#!/usr/bin/env python3
"""A live producer with kafka-python: this machine's /proc counters (load average, CPU busy share,
memory) sampled every 100 ms, one JSON record per sample keyed by ``host:<hostname>``, sent to a
``server-start`` (or any Kafka broker) — the shape of Kafka's tutorial that streams tweets into a
topic, on data every Linux box has.

    pip install kafka-python
    server-start &                                   # listens on 127.0.0.1:9092
    python3 examples/proc_producer.py --bootstrap-server 127.0.0.1:9092 --topic proc-stats --seconds 30
    console-consumer --topic proc-stats              # in another terminal: the records arrive live

Without --seconds or --count it runs until Ctrl-C. Each record is sent as it is made
(linger_ms=0) and acknowledged by the broker (acks=all) before the next sample. On exit it
prints ``sent N records in S s (R records/s) to TOPIC`` on standard error.
"""

import argparse
import json
import signal
import socket
import sys
import time


def cpu_jiffies():
    """(busy, total) jiffies of the cpu line of /proc/stat."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu "):
                fields = [int(x) for x in line.split()[1:]]
                idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
                return sum(fields) - idle, sum(fields)
    raise RuntimeError("/proc/stat has no cpu line")


def load_average():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def memory_kb():
    """MemTotal and MemAvailable of /proc/meminfo, in kB."""
    values = {}
    with open("/proc/meminfo") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in ("MemTotal", "MemAvailable"):
                values[name] = int(rest.split()[0])
    return values.get("MemTotal", 0), values.get("MemAvailable", 0)


def main():
    parser = argparse.ArgumentParser(description="Streams /proc counters into a topic.")
    parser.add_argument("--bootstrap-server", default="127.0.0.1:9092", metavar="HOST:PORT")
    parser.add_argument("--topic", required=True)
    parser.add_argument("--seconds", type=float, metavar="S", help="stop after S seconds")
    parser.add_argument("--count", type=int, metavar="N", help="stop after N records")
    parser.add_argument("--interval-ms", type=int, default=100, metavar="MS")
    args = parser.parse_args()

    from kafka import KafkaProducer  # imported here so --help works without kafka-python

    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))

    producer = KafkaProducer(
        bootstrap_servers=args.bootstrap_server,
        client_id="proc-producer-py",
        acks="all",
        linger_ms=0,
    )
    host = socket.gethostname()
    interval = max(args.interval_ms, 1) / 1000.0
    start = time.monotonic()
    previous = cpu_jiffies()
    seq = 0
    try:
        while not stop:
            if args.count is not None and seq >= args.count:
                break
            if args.seconds is not None and time.monotonic() - start >= args.seconds:
                break
            # A fixed schedule (start + seq × interval) keeps the rate at 1000 / interval per s.
            wait = start + seq * interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            busy, total = cpu_jiffies()
            d_busy, d_total = busy - previous[0], total - previous[1]
            previous = (busy, total)
            load1, load5, load15 = load_average()
            mem_total, mem_available = memory_kb()
            ts = int(time.time() * 1000)
            value = {
                "seq": seq,
                "ts_ms": ts,
                "host": host,
                "source": "python",
                "load1": load1,
                "load5": load5,
                "load15": load15,
                "cpu_busy_pct": 100.0 * d_busy / d_total if d_total else 0.0,
                "mem_total_kb": mem_total,
                "mem_available_kb": mem_available,
            }
            # .get() waits for the broker's acknowledgement: the record is in the log, so a
            # following consumer sees it now, and a failure stops the loop with its reason.
            producer.send(
                args.topic,
                key=f"host:{host}".encode(),
                value=json.dumps(value, separators=(",", ":")).encode(),
                timestamp_ms=ts,
            ).get(30)
            seq += 1
    finally:
        producer.flush(30)
        producer.close(10)
    secs = time.monotonic() - start
    print(
        f"sent {seq} records in {secs:.2f} s ({seq / max(secs, 1e-9):.1f} records/s) to {args.topic}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
