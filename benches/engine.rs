//! Engine throughput benchmarks: `cargo bench --bench engine`.
//!
//! Plain `std::time` timing (no criterion). Every case runs on a fresh log in a temp dir that is
//! deleted right after it, so disk use peaks at about one case's volume (`STREAMLOG_BENCH_MB`,
//! default 1024 MiB per case, split over `STREAMLOG_BENCH_REPS` repetitions, default 4; each
//! repetition also stops after `STREAMLOG_BENCH_SECS`, default 4 s). A filter argument runs only
//! the cases whose name contains it: `cargo bench --bench engine -- append`.
//!
//! Cases:
//! - `append`: pre-encoded batches (Compression::None, ~16 KiB and ~1 MiB, 100 B and 1 KiB
//!   values) appended with `UnifiedLog::append`; encoding happens outside the timed loop.
//! - `read-raw`: the same log read front to back with `UnifiedLog::read` in 1 MiB fetches.
//! - `read+decode`: the same, plus `decode_batches` on every fetch.
//! - `produce-e2e`: records → `encode_batch` → `append`, 100 B values (the console-producer path
//!   below the CLI).
//!
//! Reads hit the page cache (the data was just written): they measure the engine, not the disk.

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::Compression;
use streamlog::log::codec::{ProducerRecord, StoredRecord, decode_batches, encode_batch};
use streamlog::log::{LogConfig, Mode, UnifiedLog};

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;
const FETCH: usize = MIB;
/// Batches kept pre-encoded and cycled through, so the loop does not rewrite one buffer only.
const RING_BYTES: usize = 8 * MIB;

struct Limits {
    /// Bytes per repetition of a write case.
    bytes: u64,
    /// Time cap per repetition.
    time: Duration,
    /// Repetitions per case; the median and the best are reported.
    reps: usize,
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Deterministic printable values of `len` bytes (a cheap LCG over a-z).
fn records(count: usize, len: usize, seed: u64) -> Vec<ProducerRecord> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    let mut all = Vec::with_capacity(count * len);
    for _ in 0..count * len {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        all.push(b'a' + ((x >> 33) % 26) as u8);
    }
    let all = Bytes::from(all);
    // Current timestamps: old ones would trip segment.ms rolls and retention.ms deletes.
    let now = streamlog::log::unified::now_ms();
    (0..count)
        .map(|i| ProducerRecord {
            key: None,
            value: Some(all.slice(i * len..(i + 1) * len)),
            headers: Vec::new(),
            timestamp: now,
        })
        .collect()
}

/// The largest record count whose batch encodes to at most `target` bytes.
fn records_per_batch(len: usize, target: usize) -> usize {
    let mut n = (target / (len + 8)).max(1);
    loop {
        let size = encode_batch(&records(n, len, 0), Compression::None)
            .unwrap()
            .len();
        if size <= target || n == 1 {
            return n;
        }
        n -= n.div_ceil(200).max(1);
    }
}

fn open_log(dir: &Path) -> UnifiedLog {
    UnifiedLog::create(dir).unwrap();
    UnifiedLog::open(
        dir.to_path_buf(),
        "bench",
        0,
        LogConfig::default(),
        Mode::Write,
    )
    .unwrap()
}

fn mb_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

fn rec_s(records: u64, d: Duration) -> f64 {
    records as f64 / d.as_secs_f64()
}

/// One measured run: bytes, records, elapsed.
type Run = (u64, u64, Duration);

/// Prints the median run (by throughput) and the best run's MB/s.
fn report(case: &str, mut runs: Vec<Run>, extra: &str) {
    runs.sort_by(|a, b| mb_s(a.0, a.2).total_cmp(&mb_s(b.0, b.2)));
    let (bytes, records, d) = runs[(runs.len() - 1) / 2];
    let best = runs[runs.len() - 1];
    println!(
        "{case:<42} {:>8.1} MB/s {:>11.0} rec/s  best {:>8.1} MB/s  ({}x {:.0} MB, {} rec, {:.2} s){extra}",
        mb_s(bytes, d),
        rec_s(records, d),
        mb_s(best.0, best.2),
        runs.len(),
        bytes as f64 / 1e6,
        records,
        d.as_secs_f64()
    );
}

/// Appends pre-encoded batches to a fresh log in `dir`, `lim.reps` times (the log is deleted
/// between repetitions; the last one is left for the read cases).
fn bench_append(dir: &Path, len: usize, batch: usize, lim: &Limits) -> (Vec<Run>, UnifiedLog) {
    let n = records_per_batch(len, batch);
    let one = encode_batch(&records(n, len, 0), Compression::None).unwrap();
    let ring_len = (RING_BYTES / one.len()).clamp(1, 256);
    let mut ring: Vec<BytesMut> = (0..ring_len)
        .map(|i| encode_batch(&records(n, len, i as u64), Compression::None).unwrap())
        .collect();
    let mut runs = Vec::new();
    for rep in 0..lim.reps {
        let log = open_log(dir);
        let (mut bytes, mut recs) = (0u64, 0u64);
        let start = Instant::now();
        let mut i = 0;
        while bytes < lim.bytes && start.elapsed() < lim.time {
            let b = &mut ring[i % ring_len];
            log.append(b).unwrap();
            bytes += b.len() as u64;
            recs += n as u64;
            i += 1;
        }
        runs.push((bytes, recs, start.elapsed()));
        if rep + 1 == lim.reps {
            return (runs, log);
        }
        drop(log);
        std::fs::remove_dir_all(dir).unwrap();
    }
    unreachable!("reps >= 1")
}

/// Reads the whole log in 1 MiB fetches, optionally decoding, `lim.reps` times.
fn bench_read(log: &UnifiedLog, decode: bool, lim: &Limits) -> Vec<Run> {
    let end = log.log_end_offset().unwrap();
    let mut out: Vec<StoredRecord> = Vec::new();
    let mut runs = Vec::new();
    for _ in 0..lim.reps {
        let mut pos = log.locate(0).unwrap();
        let (mut bytes, mut recs) = (0u64, 0u64);
        let start = Instant::now();
        while pos.offset < end && start.elapsed() < lim.time {
            let data = log.read(pos, FETCH, usize::MAX).unwrap();
            if data.records.is_empty() {
                break;
            }
            bytes += data.records.len() as u64;
            if decode {
                out.clear();
                decode_batches(data.records.into_bytes().unwrap(), &mut out).unwrap();
                recs += out.len() as u64;
            } else {
                recs += (data.next.offset - pos.offset) as u64;
            }
            pos = data.next;
        }
        runs.push((bytes, recs, start.elapsed()));
    }
    runs
}

/// records → encode_batch → append into a fresh log, `lim.reps` times.
fn bench_produce(dir: &Path, len: usize, batch: usize, lim: &Limits) -> Vec<Run> {
    let n = records_per_batch(len, batch);
    // Distinct records per batch, built outside the loop (console-producer builds them from
    // stdin on its reader thread).
    let ring_len = (RING_BYTES / (n * len)).clamp(1, 256);
    let ring: Vec<Vec<ProducerRecord>> = (0..ring_len).map(|i| records(n, len, i as u64)).collect();
    let mut runs = Vec::new();
    for _ in 0..lim.reps {
        let log = open_log(dir);
        let (mut bytes, mut recs) = (0u64, 0u64);
        let start = Instant::now();
        let mut i = 0;
        while bytes < lim.bytes && start.elapsed() < lim.time {
            let mut b = encode_batch(&ring[i % ring_len], Compression::None).unwrap();
            log.append(&mut b).unwrap();
            bytes += b.len() as u64;
            recs += n as u64;
            i += 1;
        }
        runs.push((bytes, recs, start.elapsed()));
        drop(log);
        std::fs::remove_dir_all(dir).unwrap();
    }
    runs
}

/// Plain write(2) of 1 MiB chunks to a file, `lim.reps` times (deleted in between).
fn bench_plain_write(dir: &Path, lim: &Limits) -> Vec<Run> {
    use std::io::Write;
    let path = dir.join("plain");
    let chunk = vec![b'x'; MIB];
    let mut runs = Vec::new();
    for _ in 0..lim.reps {
        let mut f = std::fs::File::create(&path).unwrap();
        let start = Instant::now();
        let mut bytes = 0u64;
        while bytes < lim.bytes && start.elapsed() < lim.time {
            f.write_all(&chunk).unwrap();
            bytes += MIB as u64;
        }
        runs.push((bytes, 0, start.elapsed()));
        drop(f);
        std::fs::remove_file(&path).unwrap();
    }
    runs
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument selects cases by substring.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let run = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    let reps = env_u64("STREAMLOG_BENCH_REPS", 4).max(1) as usize;
    let lim = Limits {
        bytes: env_u64("STREAMLOG_BENCH_MB", 1024) * MIB as u64 / reps as u64,
        time: Duration::from_secs(env_u64("STREAMLOG_BENCH_SECS", 4)),
        reps,
    };
    let root = tempfile::tempdir().unwrap();
    println!(
        "streamlog engine bench: {} reps x {} MiB (cap {} s each) per case, data in {}",
        lim.reps,
        lim.bytes / MIB as u64,
        lim.time.as_secs(),
        root.path().display()
    );
    println!("figures: median repetition (MB/s, records/s), then the best repetition's MB/s");
    let total = Instant::now();
    // Reference, and warm-up: on a VM whose balloon hands freed memory back to the host, the
    // first touch of page-cache pages is several times slower than reuse. The first repetition
    // pays that; the median shows the steady state.
    if run("reference") {
        let runs = bench_plain_write(root.path(), &lim);
        report("reference: write(2) of 1 MiB chunks", runs, "");
    }
    for (len, len_name) in [(100, "100B"), (KIB, "1KiB")] {
        for (batch, batch_name) in [(16 * KIB, "16KiB"), (MIB, "1MiB")] {
            let tag = format!("{len_name} rec, {batch_name} batches");
            if !run(&format!("append {tag}")) && !run(&format!("read {tag}")) {
                continue;
            }
            let dir = root.path().join(format!("append-{len}-{batch}"));
            let (runs, log) = bench_append(&dir, len, batch, &lim);
            report(&format!("append {tag}"), runs, "");
            if run(&format!("read {tag}")) {
                report(
                    &format!("read-raw {tag}"),
                    bench_read(&log, false, &lim),
                    "",
                );
                report(
                    &format!("read+decode {tag}"),
                    bench_read(&log, true, &lim),
                    "",
                );
            }
            drop(log);
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
    for (batch, batch_name) in [(16 * KIB, "16KiB"), (MIB, "1MiB")] {
        let name = format!("produce-e2e 100B rec, {batch_name} batches");
        if !run(&name) {
            continue;
        }
        let dir = root.path().join(format!("produce-{batch}"));
        report(
            &name,
            bench_produce(&dir, 100, batch, &lim),
            " [encode+append]",
        );
    }
    println!("total {:.1} s", total.elapsed().as_secs_f64());
}
