//! A live producer: this machine's /proc counters (load average, CPU busy share, memory) sampled
//! every 100 ms, one JSON record per sample keyed by `host:<hostname>`, through streamlog's
//! library — the shape of Kafka's tutorial that streams tweets into a topic, on data every Linux
//! box has.
//!
//! ```sh
//! cargo run --example proc_producer -- --topic proc-stats --seconds 30          # embedded data dir
//! cargo run --example proc_producer -- --topic proc-stats --bootstrap-server 127.0.0.1:9092
//! console-consumer --topic proc-stats           # in another terminal: the records arrive live
//! ```
//!
//! The target is chosen as the tools choose it (`CommonArgs`): `--bootstrap-server`, else
//! `--data-dir` (or `$STREAMLOG_DATA_DIR`, or the default data dir) — and a data dir that a
//! `server-start` serves is reached through that server. Without `--seconds` or `--count` it runs
//! until Ctrl-C. Each record is flushed as it is made, so a following consumer sees it at once.
//! On exit it prints `sent N records in S s (R records/s) to TOPIC` on standard error.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use bytes::Bytes;
use clap::Parser;
use streamlog::cli::args::CommonArgs;
use streamlog::client::{ProducerConfig, ProducerRecord};

/// Streams /proc counters into a topic, one JSON record per sample.
#[derive(Parser)]
#[command(name = "proc_producer")]
struct Args {
    /// The topic to produce to (created if the backend auto-creates topics).
    #[arg(long)]
    topic: String,

    /// Stop after this many seconds.
    #[arg(long, value_name = "S")]
    seconds: Option<f64>,

    /// Stop after this many records.
    #[arg(long, value_name = "N")]
    count: Option<u64>,

    /// Milliseconds between samples.
    #[arg(long, value_name = "MS", default_value_t = 100)]
    interval_ms: u64,

    #[command(flatten)]
    common: CommonArgs,
}

/// The `cpu` line of /proc/stat: (busy, total) jiffies.
fn cpu_jiffies() -> anyhow::Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").context("cannot read /proc/stat")?;
    let line = stat
        .lines()
        .find(|l| l.starts_with("cpu "))
        .context("/proc/stat has no cpu line")?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let total: u64 = fields.iter().sum();
    // idle and iowait are the 4th and 5th fields.
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    Ok((total - idle, total))
}

/// The three load averages of /proc/loadavg.
fn load_average() -> anyhow::Result<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").context("cannot read /proc/loadavg")?;
    let mut out = [0.0; 3];
    for (slot, field) in out.iter_mut().zip(text.split_whitespace()) {
        *slot = field.parse().unwrap_or(0.0);
    }
    Ok(out)
}

/// MemTotal and MemAvailable of /proc/meminfo, in kB.
fn memory_kb() -> anyhow::Result<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/meminfo").context("cannot read /proc/meminfo")?;
    let field = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    Ok((field("MemTotal:"), field("MemAvailable:")))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let interval = Duration::from_millis(args.interval_ms.max(1));
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone())?;
    }

    let backend = args.common.backend()?;
    let config = ProducerConfig {
        client_id: "proc-producer".to_string(),
        linger: Duration::ZERO,
        batching_chosen: true,
        ..ProducerConfig::default()
    };
    let mut producer = backend.producer(&config)?;
    producer
        .partition_count(&args.topic)
        .with_context(|| format!("topic {}", args.topic))?;

    let host = hostname();
    let key = Bytes::from(format!("host:{host}"));
    let start = Instant::now();
    let mut previous_cpu = cpu_jiffies()?;
    let mut seq: u64 = 0;
    loop {
        if stop.load(Ordering::Relaxed)
            || args.count.is_some_and(|n| seq >= n)
            || args
                .seconds
                .is_some_and(|s| start.elapsed().as_secs_f64() >= s)
        {
            break;
        }
        // Sample on a fixed schedule (start + seq × interval), not sleep-after-work, so the
        // rate holds at 1000 / interval records per second.
        let due = start + interval * seq as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let cpu = cpu_jiffies()?;
        let (busy, total) = (cpu.0 - previous_cpu.0, cpu.1 - previous_cpu.1);
        previous_cpu = cpu;
        let [load1, load5, load15] = load_average()?;
        let (mem_total_kb, mem_available_kb) = memory_kb()?;
        let ts = now_ms();
        let value = serde_json::json!({
            "seq": seq,
            "ts_ms": ts,
            "host": host,
            "source": "rust",
            "load1": load1,
            "load5": load5,
            "load15": load15,
            "cpu_busy_pct": if total == 0 { 0.0 } else { 100.0 * busy as f64 / total as f64 },
            "mem_total_kb": mem_total_kb,
            "mem_available_kb": mem_available_kb,
        });
        let record = ProducerRecord {
            key: Some(key.clone()),
            value: Some(Bytes::from(value.to_string())),
            headers: Vec::new(),
            timestamp: ts,
        };
        producer.send(&args.topic, None, record)?;
        // One record per sample: send it now, so a following consumer sees it live.
        producer.flush()?;
        seq += 1;
    }
    producer.flush()?;
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "sent {} records in {:.2} s ({:.1} records/s) to {}",
        producer.acknowledged(),
        secs,
        producer.acknowledged() as f64 / secs.max(f64::EPSILON),
        args.topic
    );
    Ok(())
}
