"""A minimal Kafka wire client for the fault campaigns: the few requests they need, encoded by
hand at fixed non-flexible versions, so a campaign controls exactly which bytes go on which
socket (a captured request replayed, a half frame left hanging, a long-poll parked) and can
find its own requests in an strace. Record batches are RecordBatch v2 with CRC-32C.

Versions: ApiVersions v0, Metadata v1, Produce v3, Fetch v4, InitProducerId v0, CreateTopics v2,
OffsetCommit v2, OffsetFetch v1, ListOffsets v1 (all within what server-start and Kafka 4.x
serve)."""

import socket
import struct
import time

# --- CRC-32C (Castagnoli), as RecordBatch v2 uses -------------------------------------------

_CRC_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


def crc32c(data):
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


# --- primitive encoders ---------------------------------------------------------------------


def i8(v):
    return struct.pack(">b", v)


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def string(s):
    if s is None:
        return i16(-1)
    b = s.encode()
    return i16(len(b)) + b


def array(items):
    if items is None:
        return i32(-1)
    return i32(len(items)) + b"".join(items)


def nbytes(b):
    if b is None:
        return i32(-1)
    return i32(len(b)) + b


def varint(v):
    v = (v << 1) ^ (v >> 63)  # zigzag
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


class Reader:
    """Reads big-endian fields from a response body."""

    def __init__(self, data):
        self.d, self.p = data, 0

    def take(self, n):
        b = self.d[self.p : self.p + n]
        if len(b) != n:
            raise ValueError(f"response cut short at byte {self.p} (wanted {n})")
        self.p += n
        return b

    def i8(self):
        return struct.unpack(">b", self.take(1))[0]

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def i64(self):
        return struct.unpack(">q", self.take(8))[0]

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def bytes(self):
        n = self.i32()
        return None if n < 0 else self.take(n)

    def array(self, item):
        n = self.i32()
        return [] if n < 0 else [item(self) for _ in range(n)]

    def varint(self):
        shift = v = 0
        while True:
            b = self.take(1)[0]
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return (v >> 1) ^ -(v & 1)


# --- record batches ---------------------------------------------------------------------------


def record_batch(values, producer_id=-1, epoch=-1, base_sequence=-1, timestamp=None):
    """One uncompressed RecordBatch v2 of keyless records with `values` (bytes)."""
    ts = int(time.time() * 1000) if timestamp is None else timestamp
    records = b""
    for i, v in enumerate(values):
        body = i8(0) + varint(0) + varint(i) + varint(-1) + varint(len(v)) + v + varint(0)
        records += varint(len(body)) + body
    after_crc = (
        i16(0)  # attributes: no compression, create time, not transactional
        + i32(len(values) - 1)  # last offset delta
        + i64(ts)
        + i64(ts)
        + i64(producer_id)
        + i16(epoch)
        + i32(base_sequence)
        + i32(len(values))
        + records
    )
    # batchLength counts from partitionLeaderEpoch to the end.
    head = i32(-1) + i8(2) + struct.pack(">I", crc32c(after_crc))
    return i64(0) + i32(len(head) + len(after_crc)) + head + after_crc


def parse_batches(data):
    """[(base_offset, crc_ok, producer_id, base_sequence, [(offset, value)])] of complete
    uncompressed batches in `data` (a trailing partial batch is ignored, as clients do)."""
    out, pos = [], 0
    while pos + 12 <= len(data):
        base, length = struct.unpack(">qi", data[pos : pos + 12])
        end = pos + 12 + length
        if end > len(data):
            break
        r = Reader(data[pos + 12 : end])
        r.i32()  # partition leader epoch
        magic = r.i8()
        if magic != 2:
            raise ValueError(f"batch at offset {base}: magic {magic}")
        crc = struct.unpack(">I", r.take(4))[0]
        crc_ok = crc32c(data[pos + 21 : end]) == crc
        attributes = r.i16()
        r.i32()  # last offset delta
        r.i64(), r.i64()  # timestamps
        pid, _epoch, seq = r.i64(), r.i16(), r.i32()
        count = r.i32()
        recs = []
        if attributes & 0x7 == 0 and crc_ok:
            for _ in range(count):
                r.varint()  # length
                r.i8()
                r.varint()  # timestamp delta
                delta = r.varint()
                klen = r.varint()
                if klen > 0:
                    r.take(klen)
                vlen = r.varint()
                value = r.take(vlen) if vlen >= 0 else None
                for _ in range(r.varint()):
                    r.take(r.varint())
                    hl = r.varint()
                    if hl > 0:
                        r.take(hl)
                recs.append((base + delta, value))
        out.append((base, crc_ok, pid, seq, recs))
        pos = end
    return out


# --- requests ---------------------------------------------------------------------------------

API_PRODUCE, API_FETCH, API_LIST_OFFSETS, API_METADATA = 0, 1, 2, 3
API_OFFSET_COMMIT, API_OFFSET_FETCH, API_API_VERSIONS = 8, 9, 18
API_CREATE_TOPICS, API_INIT_PRODUCER_ID = 19, 22


def frame(api_key, version, correlation_id, body, client_id="faults"):
    """A whole request frame: size, header v1, body."""
    header = i16(api_key) + i16(version) + i32(correlation_id) + string(client_id)
    payload = header + body
    return i32(len(payload)) + payload


def api_versions_body():
    return b""


def metadata_body(topics):
    return array(None if topics is None else [string(t) for t in topics])


def produce_body(topic, partition, batch, acks=-1, timeout_ms=30000):
    return (
        string(None)
        + i16(acks)
        + i32(timeout_ms)
        + array([string(topic) + array([i32(partition) + nbytes(batch)])])
    )


def fetch_body(topic, partitions, max_wait_ms, min_bytes=1, max_bytes=1 << 20):
    """partitions: [(partition, fetch_offset)]."""
    return (
        i32(-1)
        + i32(max_wait_ms)
        + i32(min_bytes)
        + i32(max_bytes)
        + i8(0)
        + array([string(topic) + array([i32(p) + i64(o) + i32(max_bytes) for p, o in partitions])])
    )


def create_topics_body(topic, partitions, configs=(), timeout_ms=15000):
    cfgs = [string(k) + string(v) for k, v in configs]
    return (
        array([string(topic) + i32(partitions) + i16(1) + array([]) + array(cfgs)])
        + i32(timeout_ms)
        + i8(0)
    )


def init_producer_id_body():
    return string(None) + i32(60000)


def offset_commit_body(group, topic, offsets):
    """offsets: [(partition, offset)]; a commit outside any generation (generation -1)."""
    parts = [i32(p) + i64(o) + string("") for p, o in offsets]
    return string(group) + i32(-1) + string("") + i64(-1) + array([string(topic) + array(parts)])


def offset_fetch_body(group, topic, partitions):
    return string(group) + array([string(topic) + array([i32(p) for p in partitions])])


def list_offsets_body(topic, partitions, timestamp=-1):
    return i32(-1) + array([string(topic) + array([i32(p) + i64(timestamp) for p in partitions])])


# --- responses ----------------------------------------------------------------------------------


def parse_produce(body):
    """{(topic, partition): (error, base_offset)}."""
    r = Reader(body)
    out = {}
    for _ in range(r.i32()):
        t = r.string()
        for _ in range(r.i32()):
            p, err, base = r.i32(), r.i16(), r.i64()
            r.i64()  # log append time
            out[(t, p)] = (err, base)
    return out


def parse_fetch(body):
    """{(topic, partition): (error, high_watermark, records bytes)}."""
    r = Reader(body)
    r.i32()
    out = {}
    for _ in range(r.i32()):
        t = r.string()
        for _ in range(r.i32()):
            p, err, hw = r.i32(), r.i16(), r.i64()
            r.i64()  # last stable offset
            r.array(lambda x: (x.i64(), x.i64()))
            out[(t, p)] = (err, hw, r.bytes() or b"")
    return out


def parse_create_topics(body):
    """{topic: (error, message)}."""
    r = Reader(body)
    r.i32()
    return {r.string(): (r.i16(), r.string()) for _ in range(r.i32())}


def parse_init_producer_id(body):
    """(error, producer_id, epoch)."""
    r = Reader(body)
    r.i32()
    return r.i16(), r.i64(), r.i16()


def parse_offset_fetch(body):
    """{(topic, partition): (offset, error)}."""
    r = Reader(body)
    out = {}
    for _ in range(r.i32()):
        t = r.string()
        for _ in range(r.i32()):
            p, off = r.i32(), r.i64()
            r.string()
            out[(t, p)] = (off, r.i16())
    return out


def parse_list_offsets(body):
    """{(topic, partition): (error, offset)}."""
    r = Reader(body)
    out = {}
    for _ in range(r.i32()):
        t = r.string()
        for _ in range(r.i32()):
            p, err = r.i32(), r.i16()
            r.i64()  # timestamp
            out[(t, p)] = (err, r.i64())
    return out


def parse_metadata(body):
    """{topic: (error, {partition: error})}."""
    r = Reader(body)
    r.array(lambda x: (x.i32(), x.string(), x.i32(), x.string()))
    r.i32()  # controller
    out = {}
    for _ in range(r.i32()):
        err, name = r.i16(), r.string()
        r.i8()
        parts = {}
        for _ in range(r.i32()):
            perr, p = r.i16(), r.i32()
            r.i32()
            r.array(lambda x: x.i32())
            r.array(lambda x: x.i32())
            parts[p] = perr
        out[name] = (err, parts)
    return out


# --- a connection -----------------------------------------------------------------------------


class Conn:
    """One blocking connection; requests answered in order."""

    def __init__(self, host, port, timeout=30):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.correlation_id = 0

    def local_port(self):
        return self.sock.getsockname()[1]

    def send(self, api_key, version, body):
        self.correlation_id += 1
        self.sock.sendall(frame(api_key, version, self.correlation_id, body))
        return self.correlation_id

    def send_raw(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("connection closed by the broker")
            buf += chunk
        return bytes(buf)

    def read_response(self):
        """(correlation id, body)."""
        size = struct.unpack(">i", self.recv_exact(4))[0]
        data = self.recv_exact(size)
        return struct.unpack(">i", data[:4])[0], data[4:]

    def call(self, api_key, version, body):
        want = self.send(api_key, version, body)
        got, resp = self.read_response()
        if got != want:
            raise ValueError(f"correlation id {got}, expected {want}")
        return resp

    def close(self):
        self.sock.close()


def create_topic(host, port, topic, partitions, configs=()):
    """Creates a topic and waits until Metadata shows every partition led."""
    c = Conn(host, port)
    try:
        err, msg = parse_create_topics(
            c.call(API_CREATE_TOPICS, 2, create_topics_body(topic, partitions, configs))
        )[topic]
        if err not in (0, 36):  # TOPIC_ALREADY_EXISTS is fine
            raise RuntimeError(f"CreateTopics {topic}: error {err} {msg}")
        deadline = time.time() + 15
        while time.time() < deadline:
            md = parse_metadata(c.call(API_METADATA, 1, metadata_body([topic])))
            err, parts = md.get(topic, (-1, {}))
            if err == 0 and len(parts) == partitions and all(e == 0 for e in parts.values()):
                return
            time.sleep(0.05)
        raise RuntimeError(f"topic {topic} not ready: {md}")
    finally:
        c.close()


def fetch_all(host, port, topic, partition, start=0):
    """Every record of a partition from `start`: ([(offset, value)], bad_crc_batches, hw)."""
    c = Conn(host, port)
    try:
        out, bad, offset = [], 0, start
        while True:
            err, hw, data = parse_fetch(
                c.call(API_FETCH, 4, fetch_body(topic, [(partition, offset)], 0, 0, 8 << 20))
            )[(topic, partition)]
            if err != 0:
                raise RuntimeError(f"Fetch {topic}-{partition}@{offset}: error {err}")
            batches = parse_batches(data)
            if not batches:
                return out, bad, hw
            for _base, crc_ok, _pid, _seq, recs in batches:
                if not crc_ok:
                    bad += 1
                out += [(o, v) for o, v in recs if o >= offset]
            last = batches[-1]
            offset = max(offset, (last[4][-1][0] + 1) if last[4] else last[0] + 1)
            if offset >= hw:
                return out, bad, hw
    finally:
        c.close()
