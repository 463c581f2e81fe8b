//! The broker's background cleaner (Kafka's `LogCleaner` threads): `log.cleaner.threads`
//! threads that clean the compacted partitions of the data dir, each with its share of
//! `log.cleaner.dedupe.buffer.size` as its offset map, sleeping `log.cleaner.backoff.ms` when
//! no log needs cleaning.
//!
//! A partition whose cleaning fails (a corrupt segment) is set aside as uncleanable with one
//! logged error, as Kafka does; it stays readable and writable, and the other partitions go on
//! being cleaned. As in Kafka 4.4, a tombstone whose delete horizon has passed goes at the next
//! pass the log's dirty ratio or lag calls for, not on a pass of its own.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::state::BrokerState;
use crate::log::cleaner::Skipped;
use crate::log::offset_map::OffsetMap;
use crate::log::unified::now_ms;

/// The running cleaner threads.
pub struct LogCleaner {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

/// What one thread remembers between passes.
#[derive(Default)]
struct ThreadState {
    /// Partitions set aside after a failed cleaning.
    uncleanable: HashSet<(String, i32)>,
}

impl LogCleaner {
    /// Starts the threads (none when `log.cleaner.enable=false`).
    pub fn start(state: &BrokerState) -> LogCleaner {
        let config = state.config();
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        if config.cleaner_enable {
            let n = config.cleaner_threads.max(1);
            let memory = config.cleaner_dedupe_buffer_size / n;
            for id in 0..n {
                let state = state.clone();
                let stop = stop.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("kafka-log-cleaner-thread-{id}"))
                    .spawn(move || run(id, n, memory, &state, &stop));
                match spawned {
                    Ok(t) => threads.push(t),
                    Err(e) => tracing::error!(error = %e, "cannot start a log cleaner thread"),
                }
            }
        }
        LogCleaner { stop, threads }
    }

    /// Stops the threads: a pass under way is cancelled (the log stays as it was) and joined.
    pub fn shutdown(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// The compacted partitions this thread (`id` of `n`) looks after.
fn partitions(state: &BrokerState, id: usize, n: usize) -> Vec<(String, i32)> {
    let engine = state.engine();
    let Ok(topics) = engine.list_topics() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in topics {
        let Ok(meta) = engine.topic(&name) else {
            continue;
        };
        if !engine.log_config(&meta).compact {
            continue;
        }
        for p in 0..meta.partitions {
            let slot = name.bytes().fold(p as usize, |h, b| {
                h.wrapping_mul(31).wrapping_add(b as usize)
            });
            if slot % n == id {
                out.push((name.clone(), p));
            }
        }
    }
    out
}

fn run(id: usize, n: usize, memory: usize, state: &BrokerState, stop: &AtomicBool) {
    crate::log::cleaner::run_in_background_priority();
    let mut map = OffsetMap::new(memory);
    let mut mine = ThreadState::default();
    let backoff = state.config().cleaner_backoff;
    while !stop.load(Ordering::Relaxed) {
        let mut cleaned_any = false;
        for key in partitions(state, id, n) {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            if mine.uncleanable.contains(&key) {
                continue;
            }
            cleaned_any |= clean_one(id, state, &key, &mut map, &mut mine, stop);
        }
        if !cleaned_any {
            sleep_unless_stopped(backoff, stop);
        }
    }
}

/// One pass over one partition; true if it cleaned something.
fn clean_one(
    id: usize,
    state: &BrokerState,
    key: &(String, i32),
    map: &mut OffsetMap,
    mine: &mut ThreadState,
    stop: &AtomicBool,
) -> bool {
    let (topic, partition) = (key.0.as_str(), key.1);
    let Ok(meta) = state.engine().topic(topic) else {
        return false;
    };
    let log = match state.log(&meta, partition) {
        Ok(log) => log,
        Err(e) => {
            tracing::debug!(topic, partition, error = %e, "cannot open a log to clean");
            return false;
        }
    };
    match log.clean(map, now_ms(), false, stop) {
        Ok(Ok(stats)) => {
            let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
            tracing::info!(
                "Log cleaner thread {id} cleaned log {topic}-{partition} (dirty section = [{}, {}])\n\t\
                 {:.1} MB of log processed in {:.1} seconds ({:.1} MB/sec).\n\t\
                 {} messages read, {} kept ({:.1}% size reduction); {} segments into {}; {} keys in the map",
                stats.first_dirty,
                stats.end_offset,
                mb(stats.bytes_read),
                stats.elapsed_secs,
                stats.read_mb_per_sec(),
                stats.records_read,
                stats.records_kept,
                if stats.bytes_read == 0 {
                    0.0
                } else {
                    100.0 * (1.0 - stats.bytes_written as f64 / stats.bytes_read as f64)
                },
                stats.segments_before,
                stats.segments_after,
                stats.keys,
            );
            stats.segments_before > 0
        }
        Ok(Err(Skipped::NotDue | Skipped::Busy | Skipped::NotCompacted | Skipped::Cancelled)) => {
            false
        }
        Err(e) => {
            tracing::error!(
                topic,
                partition,
                error = %e,
                "cleaning failed; the partition is marked uncleanable until the next start (it stays readable)"
            );
            mine.uncleanable.insert(key.clone());
            false
        }
    }
}

fn sleep_unless_stopped(d: Duration, stop: &AtomicBool) {
    let step = Duration::from_millis(50);
    let mut left = d;
    while !left.is_zero() && !stop.load(Ordering::Relaxed) {
        let s = left.min(step);
        std::thread::sleep(s);
        left -= s;
    }
}
