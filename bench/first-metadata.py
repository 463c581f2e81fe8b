#!/usr/bin/env python3
"""Time from a broker's process start to its first successful Metadata response.

Started *before* the broker is launched. It waits for PIDFILE to hold a pid (the launcher writes
its own pid there and then execs the broker, so that moment is the process start), then sends a
Metadata v1 request for no topics on a fresh connection every INTERVAL until a response lists at
least one broker. Prints key=value lines on stdout:

    pid=1234
    first_metadata_ms=4.7      # pid file seen -> first Metadata response listing a broker
    attempts=3                 # connections tried
    brokers=1

usage: bench/first-metadata.py --pid-file FILE --port PORT [--host 127.0.0.1]
                               [--interval-ms 5] [--timeout 120]

Exit status 0 on success, 1 on timeout or if the process dies first. Only the standard library.
"""
import argparse
import os
import socket
import struct
import sys
import time

API_METADATA = 3
CORRELATION_ID = 0x5EED


def metadata_v1_request():
    """Metadata v1 (non-flexible header v1): an empty topic array asks for no topics."""
    client_id = b"first-metadata"
    body = struct.pack(">hhih", API_METADATA, 1, CORRELATION_ID, len(client_id)) + client_id
    body += struct.pack(">i", 0)
    return struct.pack(">i", len(body)) + body


def read_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return bytes(buf)


def broker_count(payload):
    """Number of brokers in a Metadata v1 response (correlation id already stripped)."""
    (n,) = struct.unpack_from(">i", payload, 0)
    pos = 4
    for _ in range(n):
        pos += 4  # node_id
        (hlen,) = struct.unpack_from(">h", payload, pos)
        pos += 2 + max(hlen, 0) + 4  # host, port
        (rlen,) = struct.unpack_from(">h", payload, pos)
        pos += 2 + max(rlen, 0)  # rack (nullable)
    return n


def try_once(host, port, request, deadline):
    """Returns the broker count of one Metadata round trip, or raises."""
    with socket.create_connection((host, port), timeout=0.2) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # A broker may accept the connection before it serves requests: wait on the request
        # (bounded), which answers as soon as the broker starts serving.
        sock.settimeout(max(0.05, min(5.0, deadline - time.monotonic())))
        sock.sendall(request)
        (size,) = struct.unpack(">i", read_exact(sock, 4))
        resp = read_exact(sock, size)
        (corr,) = struct.unpack_from(">i", resp, 0)
        if corr != CORRELATION_ID:
            raise ValueError(f"correlation id {corr}")
        return broker_count(resp[4:])


def read_pid(path):
    try:
        with open(path) as f:
            text = f.read().strip()
        return int(text) if text else None
    except (FileNotFoundError, ValueError):
        return None


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pid-file", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--interval-ms", type=float, default=5.0)
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds, overall")
    args = ap.parse_args()

    deadline = time.monotonic() + args.timeout
    pid = None
    while pid is None:
        if time.monotonic() > deadline:
            print("first-metadata: no pid in %s" % args.pid_file, file=sys.stderr)
            return 1
        pid = read_pid(args.pid_file)
        if pid is None:
            time.sleep(0.0005)
    t0 = time.monotonic()
    print(f"pid={pid}", flush=True)

    request = metadata_v1_request()
    attempts = 0
    last_err = None
    while time.monotonic() < deadline:
        attempts += 1
        try:
            n = try_once(args.host, args.port, request, deadline)
            if n >= 1:
                elapsed = (time.monotonic() - t0) * 1000
                print(f"first_metadata_ms={elapsed:.1f}")
                print(f"attempts={attempts}")
                print(f"brokers={n}")
                return 0
            last_err = "response listed no brokers"
        except (OSError, ValueError, struct.error) as e:
            last_err = repr(e)
        if not alive(pid):
            print(f"first-metadata: process {pid} exited (last error: {last_err})", file=sys.stderr)
            return 1
        time.sleep(args.interval_ms / 1000)
    print(f"first-metadata: timed out after {args.timeout} s (last error: {last_err})",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
