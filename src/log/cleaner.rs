//! Log compaction (Kafka's `Cleaner`): keep the last record of each key in the closed segments
//! of a `cleanup.policy=compact` log, without changing any offset.
//!
//! One pass over a log:
//! 1. **Dirty section.** From the first dirty offset (the `cleaner-offset-checkpoint` entry, or
//!    the log start) to the first uncleanable offset: the active segment's base, or earlier the
//!    first segment holding records younger than `min.compaction.lag.ms`. The pass runs when the
//!    dirty bytes are at least `min.cleanable.dirty.ratio` of the log, when the oldest dirty
//!    record is older than `max.compaction.lag.ms`, or when asked to (a tombstone's delete
//!    horizon has passed).
//! 2. **Offset map.** The key of every record in the dirty section → its latest offset, in an
//!    [`OffsetMap`] of fixed size; when it fills, the pass cleans only up to where it reached.
//! 3. **Groups.** The segments below that end are grouped so that each group fits one segment
//!    (`segment.bytes`, `segment.index.bytes`, a 32-bit offset range): small cleaned segments
//!    merge. Each group becomes one segment named after its first base offset.
//! 4. **Filter.** A record stays if it is the latest of its key (or past the mapped range); a
//!    tombstone stays until the delete horizon stamped in its batch at its first cleaning
//!    (`delete.retention.ms` later, KIP-534) has passed; a keyless record goes. A producer's
//!    last batch is kept, empty if need be, so idempotence survives; so is the batch ending the
//!    cleaned range. A batch that keeps every record is copied byte for byte.
//! 5. **Swap**, crash-safe as Kafka's: the new segment is written as `<base>.log.cleaned` (and
//!    `.index.cleaned`, `.timeindex.cleaned`), fsynced, renamed to `.swap`, then swapped in
//!    under the append lock by [`UnifiedLog::swap_in_cleaned`]: clean epoch made odd and
//!    published, the index swaps renamed in, the group's other segments deleted, the `.log.swap`
//!    renamed in last, the epoch made even and published. After a crash,
//!    [`recover_swaps`] deletes `.cleaned` files (the pass had not committed) and finishes any
//!    `.swap` (it had): the segments its offsets cover go and it is renamed in. Never a mix.
//!
//! **Readers in other processes** (embedded tools share a data dir) never see a half-swapped
//! partition: they read the state before and after each read, wait while the clean epoch is odd,
//! and retry a read during which the epoch moved; a position taken in an older epoch is found
//! again by its offset, since byte positions in a cleaned segment differ (see
//! [`super::unified`]). Open descriptors of replaced segments are dropped when the epoch moves.
//!
//! Only one process cleans a partition at a time: an exclusive, non-blocking `flock` on
//! `.streamlog-cleaner` in the partition directory.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use std::cell::RefCell;

use super::batch::BatchHeader;
use super::cleaner_checkpoint;
use super::cleaner_txn::{TxnTracker, Verdict};
use super::control::ControlType;
use super::index::{OffsetIndex, TimeIndex};
use super::offset_map::OffsetMap;
use super::records::{self, BatchRewrite, RawRecord};
use super::segment;
use super::state::LogState;
use super::unified::UnifiedLog;
use crate::error::{Error, IoContext, Result};

/// The per-partition lock file that keeps two cleaners apart.
pub const CLEANER_LOCK: &str = ".streamlog-cleaner";
/// Kafka's `log.cleaner.dedupe.buffer.size` default: 128 MiB, shared by the cleaner threads.
pub const DEFAULT_DEDUPE_BUFFER: usize = 128 * 1024 * 1024;
/// Memory an embedded writer's cleaner takes for its offset map (tools are short-lived and
/// share the machine with a server; Kafka's per-thread share of the default is larger).
pub const EMBEDDED_DEDUPE_BUFFER: usize = 16 * 1024 * 1024;
/// How many bytes of output are gathered before a write.
const WRITE_CHUNK: usize = 1 << 20;

/// Gives the calling thread the lowest CPU priority (nice 19), so that cleaning, which is
/// background work, yields the cores to producers and consumers when they are busy (Linux
/// keeps a nice value per thread).
pub fn run_in_background_priority() {
    // SAFETY: setpriority takes no pointers; on Linux PRIO_PROCESS with who = 0 changes only
    // the calling thread's nice value, and a failure (not permitted) leaves it as it was.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) };
    if rc != 0 {
        tracing::debug!("cannot lower the cleaner thread's priority");
    }
}

/// What one pass did.
#[derive(Debug, Clone, Default)]
pub struct CleanStats {
    /// First offset of the cleaned range's dirty part.
    pub first_dirty: i64,
    /// The first offset not cleaned (the new checkpoint).
    pub end_offset: i64,
    /// Bytes of segments read while cleaning (the map pass not counted).
    pub bytes_read: u64,
    /// Bytes written to cleaned segments.
    pub bytes_written: u64,
    /// Records read while cleaning.
    pub records_read: u64,
    /// Records kept.
    pub records_kept: u64,
    /// Segments replaced, and the segments that replaced them.
    pub segments_before: usize,
    /// Segments written.
    pub segments_after: usize,
    /// Distinct keys in the offset map.
    pub keys: usize,
    /// Seconds the pass took.
    pub elapsed_secs: f64,
    /// The latest delete horizon stamped on a batch (-1 if none), so a caller can clean again
    /// once it passes.
    pub latest_delete_horizon: i64,
}

impl CleanStats {
    /// Megabytes per second read, as Kafka's `log-cleaner.log` reports.
    pub fn read_mb_per_sec(&self) -> f64 {
        self.bytes_read as f64 / (1024.0 * 1024.0) / self.elapsed_secs.max(1e-9)
    }
}

/// Why a pass did nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// The topic is not compacted.
    NotCompacted,
    /// Another process is cleaning this partition.
    Busy,
    /// Not dirty enough (ratio, lag) and not asked to.
    NotDue,
    /// Stopped on request (the log is closing).
    Cancelled,
}

/// A segment as the cleaner sees it.
#[derive(Debug, Clone, Copy)]
struct SegmentInfo {
    base: i64,
    /// The next segment's base (or the first uncleanable offset for the last one considered).
    next_base: i64,
    size: u64,
}

fn segment_path(dir: &Path, base: i64, suffix: &str) -> PathBuf {
    dir.join(segment::file_name(base, suffix))
}

/// Cleans `log` once if it is due (or `force`). `map` is the offset map to use (cleared here);
/// `cancel` stops the pass between batches, leaving the log as it was.
///
/// # Errors
/// I/O errors, and `CorruptRecord` for a batch that fails its checks in the range to clean
/// (nothing is swapped in then: the partition stays as it was and readable).
pub fn clean(
    log: &UnifiedLog,
    map: &mut OffsetMap,
    now: i64,
    force: bool,
    cancel: &AtomicBool,
) -> Result<std::result::Result<CleanStats, Skipped>> {
    let config = log.config().clone();
    if !config.compact {
        return Ok(Err(Skipped::NotCompacted));
    }
    let dir = log.dir().to_path_buf();
    let lock_path = dir.join(CLEANER_LOCK);
    let lock = super::unified::open_rw(&lock_path)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(Err(Skipped::Busy)),
        Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&lock_path, e)),
    }
    let started = Instant::now();
    let state = log.state()?;
    if state.swapping() {
        return Ok(Err(Skipped::Busy));
    }
    let data_dir = cleaner_checkpoint::data_dir_of(&dir);
    let checkpoint = cleaner_checkpoint::read(&data_dir, log.topic(), log.partition())?;
    let first_dirty = checkpoint
        .filter(|&o| o >= state.log_start_offset && o <= state.log_end_offset)
        .unwrap_or(state.log_start_offset);

    let bases: Vec<i64> = segment::list_segments(&dir)?
        .into_iter()
        .filter(|&b| b < state.active_base)
        .collect();
    if bases.is_empty() {
        return Ok(Err(Skipped::NotDue));
    }
    let mut segments = Vec::with_capacity(bases.len());
    for (i, &base) in bases.iter().enumerate() {
        let p = segment_path(&dir, base, "log");
        let size = std::fs::metadata(&p).at(&p)?.len();
        let next_base = bases.get(i + 1).copied().unwrap_or(state.active_base);
        segments.push(SegmentInfo {
            base,
            next_base,
            size,
        });
    }
    // Segments wholly below the log start are retention's to delete, not ours to clean.
    segments.retain(|s| s.next_base > state.log_start_offset);

    // Records younger than the minimum lag stay dirty, from the first segment that holds one.
    let mut first_uncleanable = state.active_base;
    if config.min_compaction_lag_ms > 0 {
        for s in &segments {
            if super::retention::largest_timestamp(&dir, s.base)?
                > now.saturating_sub(config.min_compaction_lag_ms)
            {
                first_uncleanable = first_uncleanable.min(s.base);
                break;
            }
        }
    }
    // Nothing of a transaction still open is cleaned (Kafka's first unstable offset).
    if let Some(unstable) = state.first_unstable {
        first_uncleanable = first_uncleanable.min(unstable);
    }
    // Aborted transactions in the range: their records go, and never enter the map.
    let all_bases: Vec<i64> = segments.iter().map(|s| s.base).collect();
    let aborted =
        super::txn_index::collect(&dir, &all_bases, state.log_start_offset, first_uncleanable)?;
    let cleanable: Vec<SegmentInfo> = segments
        .iter()
        .copied()
        .filter(|s| s.base < first_uncleanable)
        .collect();
    if cleanable.is_empty() {
        return Ok(Err(Skipped::NotDue));
    }
    let total: u64 = cleanable.iter().map(|s| s.size).sum();
    let dirty: u64 = cleanable
        .iter()
        .filter(|s| s.next_base > first_dirty)
        .map(|s| s.size)
        .sum();
    let ratio = if total == 0 {
        0.0
    } else {
        dirty as f64 / total as f64
    };
    let lag_due = config.max_compaction_lag_ms < i64::MAX
        && first_dirty < first_uncleanable
        && cleanable
            .iter()
            .find(|s| s.next_base > first_dirty)
            .map(|s| first_batch_timestamp(&dir, s.base))
            .transpose()?
            .flatten()
            .is_some_and(|ts| ts < now.saturating_sub(config.max_compaction_lag_ms));
    // Strictly above, as Kafka compares: a ratio of 1 leaves cleaning to the lag settings.
    let ratio_due = dirty > 0 && ratio > config.min_cleanable_dirty_ratio;
    if !(ratio_due || lag_due || force) {
        return Ok(Err(Skipped::NotDue));
    }

    // 2. The offset map over the dirty section.
    map.clear();
    let mut full = false;
    let mut map_txns = TxnTracker::new(aborted.clone());
    for s in cleanable.iter().filter(|s| s.next_base > first_dirty) {
        if full {
            break;
        }
        if cancel.load(Ordering::Relaxed) {
            return Ok(Err(Skipped::Cancelled));
        }
        let path = segment_path(&dir, s.base, "log");
        let file = File::open(&path).at(&path)?;
        let summary = segment::scan(&file, &path, 0, s.size, s.base, |_, h, bytes| {
            if full {
                return Ok(());
            }
            let aborted_data = map_txns.is_aborted_data(h, marker_of(h, bytes));
            if h.last_offset() < first_dirty {
                return Ok(());
            }
            if !h.is_control() && !aborted_data {
                let section = records::records_section(bytes, h)
                    .map_err(|reason| corrupt(&path, h, reason))?;
                records::for_each_record(&section, h.records_count, |r| {
                    let offset = h.base_offset + r.offset_delta as i64;
                    if let Some(key) = r.key
                        && offset >= first_dirty
                        && !full
                    {
                        if map.is_full() {
                            full = true;
                        } else {
                            map.put(key, offset);
                        }
                    }
                })
                .map_err(|reason| corrupt(&path, h, reason))?;
                if full {
                    // The map stops at the last whole batch it took.
                    return Ok(());
                }
            }
            map.update_latest_offset(h.last_offset());
            Ok(())
        })?;
        check_whole(&path, &summary, s.size)?;
        if !full {
            // Offsets with no batch (removed earlier) up to the next segment count as mapped.
            map.update_latest_offset(s.next_base - 1);
        }
    }
    let end_offset = if map.latest_offset() >= first_dirty {
        (map.latest_offset() + 1).min(first_uncleanable)
    } else {
        first_dirty
    };
    // Everything below the end is checked against the map (a key it lacks was deduplicated by
    // an earlier pass): that is how a pass with nothing dirty still removes expired tombstones.
    map.update_latest_offset(end_offset - 1);

    // A producer's last batch must stay (its sequence and epoch).
    let last_of_producer = log.last_offsets_of_producers()?;

    // 3. Groups of segments below the end, each to become one segment.
    let to_clean: Vec<SegmentInfo> = cleanable
        .into_iter()
        .filter(|s| s.base < end_offset)
        .collect();
    let groups = group_by_size(&dir, &to_clean, &config)?;
    let mut stats = CleanStats {
        first_dirty,
        end_offset,
        keys: map.len(),
        latest_delete_horizon: -1,
        ..CleanStats::default()
    };
    let filter = Filter {
        map,
        now,
        delete_retention_ms: config.delete_retention_ms,
        last_of_producer: &last_of_producer,
        upper_bound: first_uncleanable,
        txns: RefCell::new(TxnTracker::new(aborted)),
    };
    for group in &groups {
        if cancel.load(Ordering::Relaxed) {
            return Ok(Err(Skipped::Cancelled));
        }
        match clean_group(log, &dir, group, &filter, &config, cancel, &mut stats) {
            Ok(true) => {}
            Ok(false) => {
                // The log changed under us (retention, a deleted topic): stop this pass.
                break;
            }
            Err(e) => {
                remove_leftovers(&dir, group[0].base);
                return Err(e);
            }
        }
    }
    cleaner_checkpoint::update(&data_dir, log.topic(), log.partition(), Some(end_offset))?;
    stats.elapsed_secs = started.elapsed().as_secs_f64();
    drop(lock);
    Ok(Ok(stats))
}

fn corrupt(path: &Path, h: &BatchHeader, reason: String) -> Error {
    Error::CorruptRecord {
        path: path.to_path_buf(),
        position: 0,
        reason: format!("batch at offset {}: {reason}", h.base_offset),
    }
}

/// A closed segment must be whole: the cleaner never works around damage (it would drop the
/// records after it), it stops and says where.
fn check_whole(path: &Path, summary: &segment::ScanSummary, size: u64) -> Result<()> {
    if summary.valid_size < size {
        return Err(Error::CorruptRecord {
            path: path.to_path_buf(),
            position: summary.valid_size,
            reason: "batch fails its checks; the cleaner skips this partition until it is \
                     repaired"
                .to_string(),
        });
    }
    Ok(())
}

/// The first batch's timestamp of a segment (its oldest record, for `max.compaction.lag.ms`).
fn first_batch_timestamp(dir: &Path, base: i64) -> Result<Option<i64>> {
    let path = segment_path(dir, base, "log");
    let file = File::open(&path).at(&path)?;
    let len = file.metadata().at(&path)?.len();
    let mut first = None;
    segment::walk_headers(&file, &path, 0, len, |_, h| {
        first = Some(h.max_timestamp);
        Ok(false)
    })?;
    Ok(first)
}

/// Kafka's `groupSegmentsBySize`: consecutive segments whose logs together fit `segment.bytes`,
/// whose indexes fit `segment.index.bytes`, and whose offsets fit a 32-bit delta.
fn group_by_size(
    dir: &Path,
    segments: &[SegmentInfo],
    config: &super::LogConfig,
) -> Result<Vec<Vec<SegmentInfo>>> {
    let index_size = |base: i64, suffix: &str| -> u64 {
        std::fs::metadata(segment_path(dir, base, suffix)).map_or(0, |m| m.len())
    };
    let max_index = config.segment_index_bytes;
    let mut groups: Vec<Vec<SegmentInfo>> = Vec::new();
    let mut i = 0;
    while i < segments.len() {
        let first = segments[i];
        let mut group = vec![first];
        let mut log_size = first.size;
        let mut oi = index_size(first.base, "index");
        let mut ti = index_size(first.base, "timeindex");
        i += 1;
        while i < segments.len() {
            let s = segments[i];
            let (soi, sti) = (index_size(s.base, "index"), index_size(s.base, "timeindex"));
            if log_size + s.size > config.segment_bytes
                || oi + soi > max_index
                || ti + sti > max_index
                || (s.size > 0 && s.next_base - 1 - first.base > i32::MAX as i64)
            {
                break;
            }
            log_size += s.size;
            oi += soi;
            ti += sti;
            group.push(s);
            i += 1;
        }
        groups.push(group);
    }
    Ok(groups)
}

/// The retention rules of one pass.
struct Filter<'a> {
    map: &'a OffsetMap,
    now: i64,
    delete_retention_ms: i64,
    last_of_producer: &'a HashMap<i64, i64>,
    /// The first uncleanable offset: the batch ending there stays, even if empty.
    upper_bound: i64,
    /// Transactions met so far in the pass.
    txns: RefCell<TxnTracker>,
}

/// The marker type of a control batch (None for data).
fn marker_of(h: &BatchHeader, bytes: &[u8]) -> Option<ControlType> {
    if h.is_control() {
        super::control::marker_type(bytes, h)
    } else {
        None
    }
}

impl Filter<'_> {
    fn keep_record(&self, h: &BatchHeader, offset: i64, r: &RawRecord<'_>) -> bool {
        if offset > self.map.latest_offset() {
            return true;
        }
        let Some(key) = r.key else {
            return false;
        };
        let latest = offset >= self.map.get(key);
        let horizon = (h.attributes & records::DELETE_HORIZON_BIT != 0).then_some(h.base_timestamp);
        let keep_tombstone = horizon.is_none_or(|t| self.now < t);
        latest && (r.has_value || keep_tombstone)
    }

    /// Appends what stays of batch `bytes` to `out`; returns the records read and kept and
    /// the delete horizon stamped, if any.
    fn filter_batch(
        &self,
        path: &Path,
        h: &BatchHeader,
        bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(u64, u64, Option<i64>)> {
        let verdict = self.txns.borrow_mut().verdict(h, marker_of(h, bytes));
        match verdict {
            Verdict::Keep => {}
            Verdict::KeepMarker => {
                out.extend_from_slice(bytes);
                return Ok((1, 1, None));
            }
            Verdict::DropAborted => {
                self.keep_empty_if_needed(h, out);
                return Ok((h.records_count.max(0) as u64, 0, None));
            }
            Verdict::MarkerMayGo => return self.filter_marker(path, h, bytes, out),
        }
        let section = records::records_section(bytes, h).map_err(|r| corrupt(path, h, r))?;
        let mut all = Vec::with_capacity(h.records_count.max(0) as usize);
        records::for_each_record(&section, h.records_count, |r| all.push(r))
            .map_err(|r| corrupt(path, h, r))?;
        let read = all.len() as u64;
        let kept: Vec<(i64, RawRecord<'_>)> = all
            .iter()
            .filter(|r| self.keep_record(h, h.base_offset + r.offset_delta as i64, r))
            .map(|r| (h.base_timestamp + r.timestamp_delta, *r))
            .collect();
        let has_horizon = h.attributes & records::DELETE_HORIZON_BIT != 0;
        if !kept.is_empty() {
            let tombstones = kept.iter().any(|(_, r)| !r.has_value);
            let stamp = tombstones && !has_horizon;
            if kept.len() == all.len() && !stamp {
                out.extend_from_slice(bytes);
                return Ok((read, read, None));
            }
            let horizon = if stamp {
                Some(self.now.saturating_add(self.delete_retention_ms))
            } else if has_horizon {
                Some(h.base_timestamp)
            } else {
                None
            };
            // Timestamps of a batch with a horizon are relative to the horizon, not to the
            // first record: recompute them from the original base.
            let count = kept.len() as u64;
            BatchRewrite {
                original: h,
                kept,
                delete_horizon: horizon,
            }
            .write_to(out)
            .map_err(|r| corrupt(path, h, r))?;
            return Ok((read, count, stamp.then_some(horizon).flatten()));
        }
        self.keep_empty_if_needed(h, out);
        Ok((read, 0, None))
    }

    /// A batch that keeps no record still leaves its header if it is its producer's last (its
    /// sequence and epoch) or ends the cleaned range.
    fn keep_empty_if_needed(&self, h: &BatchHeader, out: &mut Vec<u8>) {
        let last_of_producer = h.producer_id >= 0
            && self.last_of_producer.get(&h.producer_id) == Some(&h.last_offset());
        if last_of_producer || h.next_offset() == self.upper_bound {
            records::write_empty(out, h);
        }
    }

    /// A marker whose transaction has no records left: stamped with a delete horizon at this
    /// pass, removed by the first pass after it.
    fn filter_marker(
        &self,
        path: &Path,
        h: &BatchHeader,
        bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(u64, u64, Option<i64>)> {
        if h.attributes & records::DELETE_HORIZON_BIT != 0 {
            if self.now >= h.base_timestamp {
                self.keep_empty_if_needed(h, out);
                return Ok((1, 0, None));
            }
            out.extend_from_slice(bytes);
            return Ok((1, 1, None));
        }
        let section = records::records_section(bytes, h).map_err(|r| corrupt(path, h, r))?;
        let mut kept = Vec::with_capacity(1);
        records::for_each_record(&section, h.records_count, |r| {
            kept.push((h.base_timestamp + r.timestamp_delta, r))
        })
        .map_err(|r| corrupt(path, h, r))?;
        let horizon = self.now.saturating_add(self.delete_retention_ms);
        BatchRewrite {
            original: h,
            kept,
            delete_horizon: Some(horizon),
        }
        .write_to(out)
        .map_err(|r| corrupt(path, h, r))?;
        Ok((1, 1, Some(horizon)))
    }
}

/// Writes the cleaned segment of one group aside, then swaps it in. Returns false when the log
/// changed under the pass so that the group no longer stands (nothing swapped).
fn clean_group(
    log: &UnifiedLog,
    dir: &Path,
    group: &[SegmentInfo],
    filter: &Filter<'_>,
    config: &super::LogConfig,
    cancel: &AtomicBool,
    stats: &mut CleanStats,
) -> Result<bool> {
    let base = group[0].base;
    let log_path = segment_path(dir, base, "log.cleaned");
    let mut out = File::options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&log_path)
        .at(&log_path)?;
    let mut offset_index = OffsetIndex::open(segment_path(dir, base, "index.cleaned"), base)?;
    let mut time_index = TimeIndex::open(segment_path(dir, base, "timeindex.cleaned"), base)?;
    offset_index.reset()?;
    time_index.reset()?;
    let mut scratch = LogState::empty(base);
    let mut buf: Vec<u8> = Vec::with_capacity(WRITE_CHUNK + (64 << 10));
    let mut written: u64 = 0;
    let entries_before = filter.txns.borrow().kept_entries.len();
    for s in group {
        let path = segment_path(dir, s.base, "log");
        let file = File::open(&path).at(&path)?;
        let mut stopped = false;
        let summary = segment::scan(&file, &path, 0, s.size, s.base, |_, h, bytes| {
            if stopped {
                return Ok(());
            }
            if cancel.load(Ordering::Relaxed) {
                stopped = true;
                return Ok(());
            }
            let at = buf.len();
            let (read, kept, horizon) = filter.filter_batch(&path, h, bytes, &mut buf)?;
            stats.records_read += read;
            stats.records_kept += kept;
            if let Some(t) = horizon {
                stats.latest_delete_horizon = stats.latest_delete_horizon.max(t);
            }
            if buf.len() > at {
                let new = super::batch::BatchHeader::parse(&buf[at..])
                    .map_err(|e| corrupt(&path, h, format!("{e:?}")))?;
                segment::index_batch(
                    &mut offset_index,
                    &mut time_index,
                    &mut scratch,
                    &new,
                    written + at as u64,
                    config.index_interval_bytes,
                );
            }
            if buf.len() >= WRITE_CHUNK {
                out.write_all(&buf).at(&log_path)?;
                written += buf.len() as u64;
                buf.clear();
            }
            Ok(())
        })?;
        if stopped {
            drop(out);
            remove_leftovers(dir, base);
            return Ok(false);
        }
        check_whole(&path, &summary, s.size)?;
        stats.bytes_read += s.size;
    }
    out.write_all(&buf).at(&log_path)?;
    written += buf.len() as u64;
    segment::append_time_index(&mut time_index, &mut scratch);
    out.sync_all().at(&log_path)?;
    drop(out);
    offset_index.flush()?;
    time_index.flush()?;
    // The aborted transactions whose markers stay in the cleaned segment (an empty file
    // replaces the first segment's index when none do).
    let kept_entries: Vec<_> = filter.txns.borrow().kept_entries[entries_before..].to_vec();
    let txn_path = segment_path(dir, base, "txnindex.cleaned");
    let _ = std::fs::remove_file(&txn_path);
    File::create(&txn_path).at(&txn_path)?;
    super::txn_index::append(&txn_path, &kept_entries)?;
    // Committed from here on: recovery finishes a swap whose `.log.swap` exists.
    for suffix in ["index", "timeindex", "txnindex", "log"] {
        let from = segment_path(dir, base, &format!("{suffix}.cleaned"));
        let to = segment_path(dir, base, &format!("{suffix}.swap"));
        if from.exists() {
            std::fs::rename(&from, &to).at(&to)?;
        }
    }
    super::atomic_file::sync_dir(dir)?;
    let bases: Vec<i64> = group.iter().map(|s| s.base).collect();
    if !log.swap_in_cleaned(&bases)? {
        remove_leftovers(dir, base);
        return Ok(false);
    }
    stats.bytes_written += written;
    stats.segments_before += group.len();
    stats.segments_after += 1;
    Ok(true)
}

/// Deletes the `.cleaned` and `.swap` files of a pass that did not swap.
fn remove_leftovers(dir: &Path, base: i64) {
    for suffix in ["log", "index", "timeindex", "txnindex"] {
        for stage in ["cleaned", "swap"] {
            let _ = std::fs::remove_file(segment_path(dir, base, &format!("{suffix}.{stage}")));
        }
    }
}

/// Puts a partition directory back in order after a crash during cleaning: `.cleaned` files
/// (a pass that had not committed) are deleted; a `.log.swap` (committed) replaces the segments
/// its offsets cover, its index swaps are renamed in (or left to be rebuilt), and it is renamed
/// in. Returns true if anything was swapped in (the caller then rebuilds state and indexes).
///
/// Called only by a process that is the partition's only user (no writer alive).
pub fn recover_swaps(dir: &Path) -> Result<bool> {
    let mut swaps = Vec::new();
    for entry in std::fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(".cleaned") {
            std::fs::remove_file(entry.path()).at(entry.path())?;
        } else if let Some(stem) = name.strip_suffix(".log.swap")
            && let Ok(base) = stem.parse::<i64>()
        {
            swaps.push(base);
        }
    }
    let mut swapped = false;
    swaps.sort_unstable();
    for base in swaps {
        let swap = segment_path(dir, base, "log.swap");
        let file = File::open(&swap).at(&swap)?;
        let len = file.metadata().at(&swap)?.len();
        let summary = segment::scan(&file, &swap, 0, len, base, |_, _, _| Ok(()))?;
        let next = summary.next_offset.unwrap_or(base);
        for other in segment::list_segments(dir)? {
            if other > base && other < next {
                for suffix in ["log", "index", "timeindex", "txnindex"] {
                    let _ = std::fs::remove_file(segment_path(dir, other, suffix));
                }
            }
        }
        for suffix in ["index", "timeindex"] {
            let from = segment_path(dir, base, &format!("{suffix}.swap"));
            let to = segment_path(dir, base, suffix);
            if from.exists() {
                std::fs::rename(&from, &to).at(&to)?;
            } else {
                let _ = std::fs::remove_file(&to);
            }
        }
        // The aborted-transaction index cannot be rebuilt from the cleaned log alone: without
        // its swap it was renamed in already.
        let from = segment_path(dir, base, "txnindex.swap");
        if from.exists() {
            let to = segment_path(dir, base, "txnindex");
            std::fs::rename(&from, &to).at(&to)?;
        }
        let to = segment_path(dir, base, "log");
        std::fs::rename(&swap, &to).at(&to)?;
        tracing::warn!(dir = %dir.display(), base, "finished swapping in a cleaned segment after an interrupted cleaning");
        swapped = true;
    }
    // Index swaps without their log swap belong to nothing.
    for entry in std::fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.ends_with(".swap"))
        {
            std::fs::remove_file(entry.path()).at(entry.path())?;
        }
    }
    if swapped {
        super::atomic_file::sync_dir(dir)?;
    }
    Ok(swapped)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use bytes::Bytes;
    use kafka_protocol::records::Compression;

    use super::*;
    use crate::log::codec::{ProducerRecord, decode_batches, encode_batch};
    use crate::log::{LogConfig, Mode};

    fn config(pairs: &[(&str, &str)]) -> LogConfig {
        let mut o: BTreeMap<String, String> = [
            ("cleanup.policy", "compact"),
            ("segment.bytes", "600"),
            ("min.cleanable.dirty.ratio", "0.01"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in pairs {
            o.insert(k.to_string(), v.to_string());
        }
        LogConfig::from_overrides(&o)
    }

    /// Appends `(key, value)` records one batch each; None values are tombstones.
    fn append(log: &UnifiedLog, records: &[(&str, Option<&str>)]) {
        for (k, v) in records {
            let mut b = encode_batch(
                &[ProducerRecord {
                    key: Some(Bytes::copy_from_slice(k.as_bytes())),
                    value: v.map(|v| Bytes::copy_from_slice(v.as_bytes())),
                    timestamp: now_ms(),
                    ..Default::default()
                }],
                Compression::None,
            )
            .unwrap();
            log.append(&mut b).unwrap();
        }
    }

    fn now_ms() -> i64 {
        crate::log::unified::now_ms()
    }

    /// Every record from the log start: (offset, key, value).
    fn read_all(log: &UnifiedLog) -> Vec<(i64, String, Option<String>)> {
        let start = log.log_start_offset().unwrap();
        let mut pos = log.locate(start).unwrap();
        let mut out = Vec::new();
        loop {
            let data = log.read(pos, 1 << 16, usize::MAX).unwrap();
            if data.records.is_empty() {
                return out;
            }
            let mut recs = Vec::new();
            decode_batches(data.records.into_bytes().unwrap(), &mut recs).unwrap();
            out.extend(recs.into_iter().map(|r| {
                (
                    r.offset,
                    String::from_utf8(r.key.unwrap().to_vec()).unwrap(),
                    r.value.map(|v| String::from_utf8(v.to_vec()).unwrap()),
                )
            }));
            pos = data.next;
        }
    }

    /// Rounds of updates to keys k0..k9; k3 is deleted (a tombstone) in the middle.
    fn rounds() -> Vec<(String, Option<String>)> {
        let mut out = Vec::new();
        for round in 0..8 {
            for k in 0..10 {
                if k == 3 && round > 4 {
                    continue;
                }
                let value = (round != 4 || k != 3).then(|| format!("v{round}-{k}"));
                out.push((format!("k{k}"), value));
            }
        }
        out
    }

    fn fill(log: &UnifiedLog, records: &[(String, Option<String>)]) {
        let borrowed: Vec<(&str, Option<&str>)> = records
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref()))
            .collect();
        append(log, &borrowed);
    }

    /// The test config with segments large enough for the written ones to merge.
    fn merging() -> LogConfig {
        config(&[("segment.bytes", "100000")])
    }

    fn open(pdir: &Path, config: LogConfig, mode: Mode) -> UnifiedLog {
        UnifiedLog::open(pdir.to_path_buf(), "t", 0, config, mode).unwrap()
    }

    #[test]
    fn cleaning_keeps_the_latest_record_of_each_key_at_its_offset() {
        let dir = tempfile::tempdir().unwrap();
        let pdir = dir.path().join("t-0");
        UnifiedLog::create(&pdir).unwrap();
        let log = open(&pdir, config(&[]), Mode::Exclusive);
        let input = rounds();
        fill(&log, &input);
        let before = read_all(&log);
        assert_eq!(before.len(), input.len());
        let active = log.state().unwrap().active_base;
        let segments_before = segment::list_segments(&pdir).unwrap().len();

        // Cleaned with room to merge: the 600-byte segments written are nearly full.
        drop(log);
        let log = open(&pdir, merging(), Mode::Exclusive);
        let mut map = OffsetMap::new(1 << 16);
        let stats = log
            .clean(&mut map, now_ms(), false, &AtomicBool::new(false))
            .unwrap()
            .expect("due");
        assert!(stats.segments_after < stats.segments_before, "{stats:?}");
        assert!(segment::list_segments(&pdir).unwrap().len() < segments_before);

        let after = read_all(&log);
        // Below the active segment: exactly the latest record of each key there (the tombstone
        // for k3 included, until its horizon; the active segment supersedes nothing, as in
        // Kafka); in the active segment: everything.
        let mut latest: HashMap<&str, i64> = HashMap::new();
        for (o, (k, _)) in input.iter().enumerate().take(active as usize) {
            latest.insert(k, o as i64);
        }
        let expected: Vec<_> = before
            .iter()
            .filter(|(o, k, _)| *o >= active || latest.get(k.as_str()) == Some(o))
            .cloned()
            .collect();
        assert_eq!(after, expected);
        assert_eq!(
            cleaner_checkpoint::read(dir.path(), "t", 0).unwrap(),
            Some(stats.end_offset)
        );
        // A read from an offset the cleaner removed starts at the next record.
        let pos = log.locate(1).unwrap();
        let data = log.read(pos, 1 << 16, usize::MAX).unwrap();
        let mut recs = Vec::new();
        decode_batches(data.records.into_bytes().unwrap(), &mut recs).unwrap();
        let next_kept = expected.iter().map(|r| r.0).find(|&o| o >= 1);
        assert_eq!(recs.iter().map(|r| r.offset).find(|&o| o >= 1), next_kept);
    }

    #[test]
    fn a_tombstone_outlives_its_first_cleaning_by_the_delete_retention() {
        let dir = tempfile::tempdir().unwrap();
        let pdir = dir.path().join("t-0");
        UnifiedLog::create(&pdir).unwrap();
        let log = open(
            &pdir,
            config(&[("delete.retention.ms", "60000")]),
            Mode::Exclusive,
        );
        fill(&log, &rounds());
        let mut map = OffsetMap::new(1 << 16);
        let stop = AtomicBool::new(false);
        let now = now_ms();
        let first = log.clean(&mut map, now, false, &stop).unwrap().unwrap();
        assert_eq!(first.latest_delete_horizon, now + 60_000);
        let has_tombstone = |log: &UnifiedLog| {
            read_all(log)
                .iter()
                .any(|(_, k, v)| k == "k3" && v.is_none())
        };
        assert!(has_tombstone(&log), "kept until the horizon");
        // Before the horizon a forced pass keeps it; after it, the tombstone goes.
        log.clean(&mut map, now + 59_000, true, &stop)
            .unwrap()
            .unwrap();
        assert!(has_tombstone(&log));
        log.clean(&mut map, first.latest_delete_horizon + 1, true, &stop)
            .unwrap()
            .unwrap();
        let after = read_all(&log);
        assert!(!after.iter().any(|(_, k, _)| k == "k3"), "{after:?}");
        assert!(after.iter().any(|(_, k, _)| k == "k4"));
    }

    /// Copies a partition directory (files only).
    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }

    /// The states a crash can leave at each step of a swap, recovered by the next opener: never
    /// a mix of old and new, never a kept record lost.
    #[test]
    fn recovery_after_a_crash_at_any_step_of_a_swap_gives_the_old_or_the_new_log() {
        let dir = tempfile::tempdir().unwrap();
        let before_dir = dir.path().join("before").join("t-0");
        UnifiedLog::create(&before_dir).unwrap();
        let log = open(&before_dir, config(&[]), Mode::Exclusive);
        fill(&log, &rounds());
        log.close_now().unwrap();
        drop(log);
        let cleaned_dir = dir.path().join("cleaned").join("t-0");
        copy_dir(&before_dir, &cleaned_dir);
        let log = open(&cleaned_dir, merging(), Mode::Exclusive);
        let before = read_all(&log);
        let mut map = OffsetMap::new(1 << 16);
        let stats = log
            .clean(&mut map, now_ms(), false, &AtomicBool::new(false))
            .unwrap()
            .unwrap();
        assert_eq!(stats.segments_after, 1, "one group: {stats:?}");
        assert!(stats.segments_before > 2, "{stats:?}");
        let after = read_all(&log);
        log.close_now().unwrap();
        drop(log);
        let old_bases = segment::list_segments(&before_dir).unwrap();
        let new_bases = segment::list_segments(&cleaned_dir).unwrap();
        let group: Vec<i64> = old_bases
            .iter()
            .copied()
            .filter(|b| !new_bases.contains(b) || *b == new_bases[0])
            .collect();
        let base = group[0];

        /// (case, files copied from the cleaned log as (from, to), delete the group's other
        /// segments, the new log expected).
        type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, bool, bool);
        let put = |src: &Path, dst: &Path, base: i64, from: &str, to: &str| {
            std::fs::copy(
                src.join(segment::file_name(base, from)),
                dst.join(segment::file_name(base, to)),
            )
            .unwrap();
        };
        let cases: Vec<Case> = vec![
            (
                "cleaned, not committed",
                vec![("log", "log.cleaned"), ("index", "index.cleaned")],
                false,
                false,
            ),
            (
                "swap files written",
                vec![
                    ("log", "log.swap"),
                    ("index", "index.swap"),
                    ("timeindex", "timeindex.swap"),
                ],
                false,
                true,
            ),
            (
                "indexes renamed in",
                vec![
                    ("log", "log.swap"),
                    ("index", "index"),
                    ("timeindex", "timeindex"),
                ],
                false,
                true,
            ),
            (
                "old segments deleted",
                vec![
                    ("log", "log.swap"),
                    ("index", "index"),
                    ("timeindex", "timeindex"),
                ],
                true,
                true,
            ),
            ("index swap lost", vec![("log", "log.swap")], true, true),
        ];
        for (i, (case, files, delete_others, new)) in cases.into_iter().enumerate() {
            let crash = dir.path().join(format!("crash{i}")).join("t-0");
            copy_dir(&before_dir, &crash);
            for (from, to) in files {
                put(&cleaned_dir, &crash, base, from, to);
            }
            if delete_others {
                for &b in &group[1..] {
                    for s in ["log", "index", "timeindex"] {
                        let _ = std::fs::remove_file(crash.join(segment::file_name(b, s)));
                    }
                }
            }
            // The crash left the log dirty.
            let mut state = LogState::read(
                &File::open(crash.join(crate::log::unified::STATE_FILE)).unwrap(),
                &crash,
            )
            .unwrap()
            .unwrap();
            state.clean = false;
            state.clean_epoch |= 1;
            state
                .write(
                    &File::options()
                        .write(true)
                        .open(crash.join(crate::log::unified::STATE_FILE))
                        .unwrap(),
                    &crash,
                )
                .unwrap();
            let log = open(&crash, config(&[]), Mode::Read);
            let got = read_all(&log);
            let want = if new { &after } else { &before };
            assert_eq!(&got, want, "case {case}");
            let leftovers: Vec<String> = std::fs::read_dir(&crash)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".swap") || n.ends_with(".cleaned"))
                .collect();
            assert!(leftovers.is_empty(), "case {case}: {leftovers:?}");
        }
    }

    #[test]
    fn a_producers_last_batch_is_kept_even_when_its_records_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let pdir = dir.path().join("t-0");
        UnifiedLog::create(&pdir).unwrap();
        let log = open(&pdir, config(&[]), Mode::Exclusive);
        // An idempotent producer writes k0 once; later plain writes supersede it.
        let mut b = encode_batch(
            &[ProducerRecord {
                key: Some(Bytes::from_static(b"k0")),
                value: Some(Bytes::from_static(b"idempotent")),
                timestamp: now_ms(),
                ..Default::default()
            }],
            Compression::None,
        )
        .unwrap();
        // producer id 7, epoch 0, base sequence 0
        b[43..51].copy_from_slice(&7i64.to_be_bytes());
        b[51..53].copy_from_slice(&0i16.to_be_bytes());
        b[53..57].copy_from_slice(&0i32.to_be_bytes());
        let crc = crc32c::crc32c(&b[21..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        log.append(&mut b).unwrap();
        fill(&log, &rounds());
        log.clean(
            &mut OffsetMap::new(1 << 16),
            now_ms(),
            false,
            &AtomicBool::new(false),
        )
        .unwrap()
        .unwrap();
        assert!(
            !read_all(&log).iter().any(|(o, _, _)| *o == 0),
            "its record went"
        );
        // The batch header stays: the producer's sequence survives a restart.
        log.close_now().unwrap();
        drop(log);
        let log = open(&pdir, config(&[]), Mode::Exclusive);
        assert_eq!(log.producer_ids().unwrap(), vec![7]);
        let first = segment::open_log_read(&pdir, 0).unwrap();
        let mut h = [0u8; crate::log::batch::HEADER_LEN];
        std::os::unix::fs::FileExt::read_exact_at(&first, &mut h, 0).unwrap();
        let h = BatchHeader::parse(&h).unwrap();
        assert_eq!((h.base_offset, h.producer_id, h.records_count), (0, 7, 0));
    }
}
