//! A partition's log (Kafka's `UnifiedLog`): its segments, appends, reads, rolls and recovery.
//!
//! Three ways to hold a log ([`Mode`]):
//! - **Exclusive** (`server-start`, which owns the data dir through its server lock): the state
//!   lives in memory and is published to readers in this process after every append; the state
//!   file is a checkpoint (recovery point, log start) written when the log is opened (marked
//!   dirty), rolled, flushed, trimmed and closed (marked clean). No file lock is taken per append.
//! - **Write** (a tool process, possibly one of several writing the same partition): appends are
//!   serialized by an exclusive `flock` on the state file, taken on a descriptor of its own for
//!   the length of one append; each writer re-reads the state under the lock and adopts what
//!   others appended, then publishes the new state in the file. Live writers are known across
//!   processes through [`super::writers`].
//! - **Read**: bounds every read by the published state, so it only ever sees whole batches.
//!
//! A clean state is only ever written after everything up to it is flushed, and every later
//! write marks it dirty, so whichever version of the state file survives a crash is safe: a
//! clean one is accurate, a dirty one makes the next opener recover.
//!
//! Appends are all-or-nothing: the in-memory state, the indexes and the producer state change
//! only after the bytes are written (and flushed, when due) and the state published; a failed
//! write is cut off the file again, so a client that was told "failed" never finds its batch in
//! the log later. Descriptors are a budget (see [`super::handles`]): segment handles come from a
//! process-wide cache, the state and index files are opened when used.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};

use super::batch::{self, BatchHeader};
use super::config::LogConfig;
use super::handles::{self, Kind};
use super::producer_state::{self, Check, ProducerStateManager, SequenceError};
use super::segment::{self, LogSegment};
use super::state::LogState;
use super::writers::{self, WriterLock};
use crate::error::{Error, IoContext, Result};

/// Name of the state file in a partition directory (also the append lock).
pub const STATE_FILE: &str = ".streamlog-state";

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Where a reader is in the log: a segment, a byte in it, and the offset found there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Base offset of the segment.
    pub segment: i64,
    /// Byte position of a batch boundary in that segment.
    pub byte: u64,
    /// The offset the reader wants next (may lie inside the batch at `byte`).
    pub offset: i64,
    /// The clean epoch the byte position belongs to: after the cleaner swaps segments in, the
    /// position is found again by `offset`.
    pub epoch: u32,
}

/// Whole batches read from the log (see [`UnifiedLog::read`]).
#[derive(Debug, Clone)]
pub struct FetchData {
    /// Zero or more complete batches.
    pub records: Records,
    /// Where to continue reading.
    pub next: Position,
    /// The log start offset when read.
    pub log_start_offset: i64,
    /// The log end offset (high watermark on one node) when read.
    pub log_end_offset: i64,
    /// The last stable offset when read: `read_committed` reads stop there.
    pub last_stable_offset: i64,
}

/// Record bytes of a fetch: read into memory, or left in the segment file.
#[derive(Debug, Clone)]
pub enum Records {
    /// Complete batches, read and CRC-checked.
    Memory(Bytes),
    /// Complete batches still in a segment file.
    File(FileRegion),
}

impl Records {
    /// Number of record bytes.
    pub fn len(&self) -> usize {
        match self {
            Records::Memory(b) => b.len(),
            Records::File(r) => r.len,
        }
    }

    /// True when there are no record bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes, read from the segment file if they are still there.
    ///
    /// # Errors
    /// An I/O error reading the file region.
    pub fn into_bytes(self) -> Result<Bytes> {
        match self {
            Records::Memory(b) => Ok(b),
            Records::File(r) => {
                let mut buf = vec![0u8; r.len];
                r.file
                    .read_exact_at(&mut buf, r.position)
                    .map_err(|e| Error::io("<segment file>", e))?;
                Ok(Bytes::from(buf))
            }
        }
    }
}

/// A byte range of an open segment file. Segments are append-only below the published log
/// end, and an unlinked segment stays readable through the open handle, so the range holds
/// the same bytes for as long as the handle lives.
#[derive(Debug, Clone)]
pub struct FileRegion {
    /// The segment file.
    pub file: Arc<File>,
    /// First byte.
    pub position: u64,
    /// Number of bytes.
    pub len: usize,
}

/// The readable bytes `pos.byte..end` of one segment.
struct SegmentSpan {
    pos: Position,
    file: Arc<File>,
    path: PathBuf,
    end: u64,
}

enum Readable {
    /// Nothing to read yet at this position (the end of the log).
    End(Position),
    Segment(SegmentSpan),
}

fn torn(path: &Path, position: u64) -> Error {
    Error::CorruptRecord {
        path: path.to_path_buf(),
        position,
        reason: "batch runs past the end of the written log".to_string(),
    }
}

/// Whole batches of `seg` up to `max_bytes` (at least one), found by reading only their
/// 61-byte headers.
fn region_batches(
    seg: &SegmentSpan,
    max_bytes: usize,
    max_offset: i64,
) -> Result<(FileRegion, Position)> {
    let SegmentSpan {
        pos,
        file,
        path,
        end,
    } = seg;
    let limit = pos.byte.saturating_add(max_bytes as u64);
    let mut at = pos.byte;
    let mut last: Option<BatchHeader> = None;
    let mut header = [0u8; batch::HEADER_LEN];
    while at + batch::HEADER_LEN as u64 <= *end {
        read_exact(file, path, &mut header, at)?;
        let h = match BatchHeader::parse(&header) {
            Ok(h) => h,
            Err(e) if last.is_none() => {
                return Err(Error::CorruptRecord {
                    path: path.clone(),
                    position: at,
                    reason: match e {
                        batch::BatchError::Incomplete => "truncated batch header".to_string(),
                        batch::BatchError::Corrupt(why) => why,
                    },
                });
            }
            // Stop before a bad header; the next fetch starts there and reports it.
            Err(_) => break,
        };
        let next = at + h.size() as u64;
        if h.base_offset >= max_offset {
            break;
        }
        if next > *end || (next > limit && last.is_some()) {
            break;
        }
        last = Some(h);
        at = next;
    }
    let Some(last) = last else {
        if at + batch::HEADER_LEN as u64 <= *end {
            // The first batch lies at or past the bound: nothing readable yet.
            let region = FileRegion {
                file: file.clone(),
                position: pos.byte,
                len: 0,
            };
            return Ok((region, *pos));
        }
        return Err(torn(path, pos.byte));
    };
    let region = FileRegion {
        file: file.clone(),
        position: pos.byte,
        len: (at - pos.byte) as usize,
    };
    let next = Position {
        segment: pos.segment,
        byte: at,
        offset: last.next_offset().max(pos.offset),
        epoch: pos.epoch,
    };
    Ok((region, next))
}

/// Where an append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Offset of the last record.
    pub last_offset: i64,
    /// LogAppendTime stamped on the batch, or -1 for CreateTime topics.
    pub log_append_time: i64,
    /// Log start offset after the append.
    pub log_start_offset: i64,
    /// The batch was a retry of one already in the log: nothing was appended, and the offsets
    /// are those of the original.
    pub duplicate: bool,
}

/// How a process uses the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Only reads; never marks the log dirty.
    Read,
    /// Appends alongside other processes; the log is dirty while this handle is open.
    Write,
    /// Appends as the data dir's only user (the broker): no per-append locking, state in memory.
    Exclusive,
}

impl Mode {
    fn writes(self) -> bool {
        self != Mode::Read
    }
}

/// The writer's view: the active segment and the state it last saw.
struct Writer {
    active: LogSegment,
    state: LogState,
    unflushed_messages: i64,
    last_flush: Instant,
    /// The partition directory and its entry in the data dir were fsynced by this writer: done
    /// once, at its first flush, so a flushed record cannot vanish with a directory created
    /// without fsync.
    dirs_synced: bool,
}

/// What the log's mutex guards.
struct Inner {
    /// The writer's view; None until the first append (Write mode) or for readers.
    writer: Option<Writer>,
    /// Producer state, loaded the first time a batch with a producer id arrives.
    producers: Option<ProducerStateManager>,
}

/// One partition's log.
pub struct UnifiedLog {
    /// Owner id of this instance's cached handles.
    owner: u64,
    dir: PathBuf,
    topic: String,
    partition: i32,
    config: LogConfig,
    mode: Mode,
    state_path: PathBuf,
    /// This process's registration as a writer (Write mode).
    writer_lock: Mutex<Option<WriterLock>>,
    inner: Mutex<Inner>,
    /// Exclusive mode: the state readers see, updated after every append.
    published: Mutex<LogState>,
    /// Set while appends fail on a storage error, so it is logged once rather than per request.
    failing: AtomicBool,
    /// The same for reads.
    read_failing: AtomicBool,
    /// Set once closed; dropping does nothing more.
    closed: AtomicBool,
    /// The segment list as last listed, and the layout it was listed under.
    segments: Mutex<SegmentList>,
    /// A cleaner this writer started in the background (embedded mode).
    background: Mutex<Option<BackgroundClean>>,
}

/// A partition's segment bases, listed once per layout change instead of on every read.
struct SegmentList {
    /// (segments version, clean epoch) of the state it was listed under.
    layout: Option<(u32, u32)>,
    bases: Arc<Vec<i64>>,
}

/// An embedded writer's background cleaning of its partition.
struct BackgroundClean {
    cancel: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<()>,
}

/// How long a reader waits for a swap of cleaned segments to finish before giving up (a swap
/// is a few renames; one this slow was interrupted, and the next opener recovers it).
const SWAP_WAIT: Duration = Duration::from_secs(10);
/// How long closing a writer waits for its background cleaning before cancelling it.
const BACKGROUND_CLEAN_WAIT: Duration = Duration::from_secs(2);

impl std::fmt::Debug for UnifiedLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UnifiedLog({}-{})", self.topic, self.partition)
    }
}

/// Holds the exclusive append lock on a descriptor of its own; released when dropped.
struct AppendLock {
    file: File,
    path: PathBuf,
}

impl AppendLock {
    fn take(path: &Path) -> Result<AppendLock> {
        let file = handles::open(path, &handles::read_write())?;
        file.lock().at(path)?;
        Ok(AppendLock {
            file,
            path: path.to_path_buf(),
        })
    }

    fn read(&self) -> Result<Option<LogState>> {
        LogState::read(&self.file, &self.path)
    }

    fn write(&self, state: &mut LogState) -> Result<()> {
        state.write(&self.file, &self.path)
    }
}

fn damaged(path: &Path) -> Error {
    Error::DataDir(format!(
        "{} is missing or damaged; reopen the partition to recover it",
        path.display()
    ))
}

/// Reads the state file on a descriptor opened for the moment.
fn read_state_file(path: &Path) -> Result<Option<LogState>> {
    let file = handles::open(path, &handles::read_write())?;
    LogState::read(&file, path)
}

/// Writes the state file on a descriptor opened for the moment, optionally fsyncing it.
fn write_state_file(path: &Path, state: &mut LogState, sync: bool) -> Result<()> {
    let file = handles::open(path, &handles::read_write())?;
    state.write(&file, path)?;
    if sync {
        file.sync_data().at(path)?;
    }
    Ok(())
}

impl UnifiedLog {
    /// Creates the directory and first segment of a new partition log, clean and empty.
    pub fn create(dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).at(dir)?;
        LogSegment::open(dir, 0)?;
        let state_path = dir.join(STATE_FILE);
        let file = handles::open(&state_path, &handles::read_write())?;
        if LogState::read(&file, &state_path)?.is_none() {
            LogState::empty(0).write(&file, &state_path)?;
        }
        Ok(())
    }

    /// Closes many logs of one data dir at once: one `syncfs` makes all their data durable,
    /// each is closed without fsyncs of its own, and one more `syncfs` makes the closing writes
    /// durable — two system calls where closing a thousand logs one by one costs three
    /// thousand fsyncs. A few logs are closed one by one.
    pub fn close_many(logs: Vec<UnifiedLog>) -> Result<()> {
        let Some(first) = logs.first() else {
            return Ok(());
        };
        if logs.len() <= 4 {
            return logs.into_iter().try_for_each(UnifiedLog::close);
        }
        let anchor = first.dir.clone();
        Self::close_all_synced(&anchor, logs.iter())
    }

    /// Closes `logs` (of the data dir holding `anchor`) as [`UnifiedLog::close_many`] describes:
    /// sync the file system, close each without fsync (producer snapshots staged), sync, commit
    /// the snapshots, sync.
    pub fn close_all_synced<'a>(
        anchor: &Path,
        logs: impl Iterator<Item = &'a UnifiedLog>,
    ) -> Result<()> {
        super::atomic_file::sync_file_system(anchor)?;
        let mut staged = Vec::new();
        let mut result = Ok(());
        for log in logs {
            if let Err(e) = log.close_synced_by_caller(&mut staged)
                && result.is_ok()
            {
                result = Err(e);
            }
        }
        super::atomic_file::sync_file_system(anchor)?;
        if !staged.is_empty() {
            for s in staged {
                s.commit()?;
            }
            super::atomic_file::sync_file_system(anchor)?;
        }
        result
    }

    /// Opens an existing partition log. If no writer is alive and the last one did not close
    /// cleanly, recovers it first: CRC-checks batches after the recovery point, truncates a torn
    /// or corrupt tail and rebuilds the indexes.
    pub fn open(
        dir: PathBuf,
        topic: &str,
        partition: i32,
        config: LogConfig,
        mode: Mode,
    ) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::UnknownPartition {
                topic: topic.to_string(),
                partition,
            });
        }
        let state_path = dir.join(STATE_FILE);
        let log = UnifiedLog {
            owner: handles::new_owner(),
            dir,
            topic: topic.to_string(),
            partition,
            config,
            mode,
            state_path,
            writer_lock: Mutex::new(None),
            inner: Mutex::new(Inner {
                writer: None,
                producers: None,
            }),
            published: Mutex::new(LogState::empty(0)),
            failing: AtomicBool::new(false),
            read_failing: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            segments: Mutex::new(SegmentList {
                layout: None,
                bases: Arc::new(Vec::new()),
            }),
            background: Mutex::new(None),
        };
        match mode {
            Mode::Exclusive => log.open_exclusive()?,
            Mode::Write | Mode::Read => log.open_shared()?,
        }
        Ok(log)
    }

    /// The recovered (if needed), retention-trimmed state a writer starts from, marked dirty.
    fn recovered_for_writing(&self, prior: Option<LogState>) -> Result<(LogState, Vec<i64>)> {
        let prior = self.after_interrupted_cleaning(prior)?;
        let mut state = match prior {
            Some(s) if self.trust_clean(&s)? => s,
            _ => self.recover(prior)?,
        };
        state.clean = false;
        let deleted = super::retention::apply(&self.dir, &mut state, &self.config, now_ms())?;
        Ok((state, deleted))
    }

    /// Recovers the log from its segments, then finds its open transactions again from the
    /// producer state (the prior state's may describe batches recovery cut off).
    fn recover(&self, prior: Option<LogState>) -> Result<LogState> {
        let mut state =
            super::recovery::recover(&self.dir, prior, self.config.index_interval_bytes)?;
        let producers = self.load_producers(&state)?;
        state.first_unstable = producers.first_unstable_offset();
        if self.mode.writes() {
            // The first append by this handle uses it instead of loading it again.
            self.lock_inner().producers = Some(producers);
        }
        Ok(state)
    }

    /// Finishes or rolls back a cleaning a crash interrupted (see [`super::cleaner`]); when a
    /// swap was finished, or one was under way, the prior state no longer describes the files
    /// and the log is recovered from all its segments. Only the partition's sole user calls it.
    fn after_interrupted_cleaning(&self, prior: Option<LogState>) -> Result<Option<LogState>> {
        let swapped = super::cleaner::recover_swaps(&self.dir)?;
        Ok(prior.map(|mut s| {
            if swapped || s.swapping() {
                s.clean = false;
                // No segment has this base: recovery checks every segment.
                s.recovery_segment = -1;
            }
            s
        }))
    }

    /// A clean state is trusted only if the files agree with it: its active segment is the
    /// last one and holds at least what it says. The state file is never fsynced on its own, so
    /// after a power loss an older clean state may come back beside newer segments; recovery
    /// sorts that out instead of appending into a closed segment.
    fn trust_clean(&self, s: &LogState) -> Result<bool> {
        if !s.clean {
            return Ok(false);
        }
        let last = segment::list_segments(&self.dir)?.last().copied();
        if last != Some(s.active_base) {
            return Ok(false);
        }
        let path = self.dir.join(segment::file_name(s.active_base, "log"));
        Ok(std::fs::metadata(&path).at(&path)?.len() >= s.active_size)
    }

    fn open_exclusive(&self) -> Result<()> {
        let prior = read_state_file(&self.state_path)?;
        let (mut state, _) = self.recovered_for_writing(prior)?;
        write_state_file(&self.state_path, &mut state, false)?;
        let writer = Writer {
            active: LogSegment::open(&self.dir, state.active_base)?,
            state,
            unflushed_messages: 0,
            last_flush: Instant::now(),
            dirs_synced: false,
        };
        self.lock_inner().writer = Some(writer);
        *self.lock_published() = state;
        Ok(())
    }

    fn open_shared(&self) -> Result<()> {
        // Alone means nobody writes: safe to recover.
        let Some(alone) = writers::probe_alone(&self.dir)? else {
            if self.mode == Mode::Write {
                // Waits while an opener in another process recovers the log.
                *self.lock_writer_lock() = Some(writers::register(&self.dir)?);
            }
            return Ok(());
        };
        {
            let lock = AppendLock::take(&self.state_path)?;
            let prior = lock.read()?;
            let prior = if self.mode == Mode::Write {
                prior
            } else {
                self.after_interrupted_cleaning(prior)?
            };
            if self.mode == Mode::Write {
                let (mut state, _) = self.recovered_for_writing(prior)?;
                lock.write(&mut state)?;
            } else if !prior
                .map(|s| self.trust_clean(&s))
                .transpose()?
                .unwrap_or(false)
            {
                let mut recovered = self.recover(prior)?;
                lock.write(&mut recovered)?;
            }
        }
        if self.mode == Mode::Write {
            *self.lock_writer_lock() = Some(alone.into_writer()?);
        }
        Ok(())
    }

    /// The topic this log belongs to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The partition number.
    pub fn partition(&self) -> i32 {
        self.partition
    }

    /// The directory holding the segments.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The config this log acts on.
    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    fn lock_inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_published(&self) -> MutexGuard<'_, LogState> {
        self.published.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_writer_lock(&self) -> MutexGuard<'_, Option<WriterLock>> {
        self.writer_lock.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The published state: log start and end offsets and the active segment.
    pub fn state(&self) -> Result<LogState> {
        if self.mode == Mode::Exclusive {
            return Ok(*self.lock_published());
        }
        let file = handles::get(self.owner, Kind::State, || {
            handles::open(&self.state_path, &handles::read_write())
        })?;
        LogState::read(&file, &self.state_path)?.ok_or_else(|| damaged(&self.state_path))
    }

    /// The offset the next record will get.
    pub fn log_end_offset(&self) -> Result<i64> {
        Ok(self.state()?.log_end_offset)
    }

    /// The first offset still in the log.
    pub fn log_start_offset(&self) -> Result<i64> {
        Ok(self.state()?.log_start_offset)
    }

    /// A segment's `.log` handle from the cache: read-write when this log writes (never created
    /// here: a segment deleted by retention must not come back empty).
    fn segment_file(&self, base: i64) -> Result<Arc<File>> {
        let path = self.dir.join(segment::file_name(base, "log"));
        let writes = self.mode.writes();
        handles::get(self.owner, Kind::Segment(base), || {
            let mut o = std::fs::OpenOptions::new();
            o.read(true).write(writes);
            handles::open(&path, &o)
        })
    }

    /// The checks an append makes on one batch before touching the log: writable handle, size
    /// within `max.message.bytes`, one whole batch with a good CRC, and a record count that
    /// matches its offset range.
    pub fn check_batch(&self, batch_bytes: &[u8]) -> Result<BatchHeader> {
        if !self.mode.writes() {
            return Err(Error::InvalidRequest(format!(
                "{}-{} was opened for reading only",
                self.topic, self.partition
            )));
        }
        if batch_bytes.len() > self.config.max_message_bytes {
            return Err(Error::RecordTooLarge {
                topic: self.topic.clone(),
                size: batch_bytes.len(),
                max: self.config.max_message_bytes,
            });
        }
        let header = batch::validate(batch_bytes).map_err(|e| Error::CorruptRecord {
            path: PathBuf::from("<produce request>"),
            position: 0,
            reason: format!("{e:?}"),
        })?;
        if header.size() != batch_bytes.len() {
            return Err(Error::InvalidRequest(
                "append takes exactly one record batch".to_string(),
            ));
        }
        // Offsets are assigned from lastOffsetDelta: a count that disagrees would hand out
        // overlapping offsets or leave holes (Kafka's LogValidator refuses it too), and a count
        // the bytes cannot hold would hand out offsets for records that are not there.
        if header.records_count as i64 != header.last_offset_delta as i64 + 1
            || !header.plausible_count()
        {
            return Err(Error::CorruptRecord {
                path: PathBuf::from("<produce request>"),
                position: 0,
                reason: format!(
                    "batch of {} bytes claims {} records with last offset delta {}",
                    header.size(),
                    header.records_count,
                    header.last_offset_delta
                ),
            });
        }
        if self.config.compact {
            let keyless =
                super::records::has_keyless_record(batch_bytes, &header).map_err(|reason| {
                    Error::CorruptRecord {
                        path: PathBuf::from("<produce request>"),
                        position: 0,
                        reason,
                    }
                })?;
            if keyless {
                return Err(Error::InvalidRecord(
                    "Compacted topic cannot accept message without key".to_string(),
                ));
            }
        }
        Ok(header)
    }

    /// Appends one encoded batch (base offset ignored: the log assigns offsets).
    ///
    /// # Errors
    /// As [`UnifiedLog::append_records`].
    pub fn append(&self, batch_bytes: &mut BytesMut) -> Result<AppendInfo> {
        self.append_records(batch_bytes)
    }

    /// Appends one or more record batches as one write (a Produce request's records for this
    /// partition). Every batch is checked first, and the producer state of every batch with a
    /// producer id, so that either all are appended or none: a retry of a batch already in the
    /// log is acknowledged with its original offsets and nothing is appended.
    ///
    /// # Errors
    /// `RecordTooLarge` past `max.message.bytes`, `CorruptRecord` for a batch that fails its
    /// checks, `OutOfOrderSequence`/`InvalidProducerEpoch` from the producer checks, `Io` when
    /// the disk fails (nothing appended then).
    pub fn append_records(&self, data: &[u8]) -> Result<AppendInfo> {
        let mut headers = Vec::new();
        let mut pos = 0;
        while pos < data.len() {
            let header = BatchHeader::parse(&data[pos..]).map_err(|e| Error::CorruptRecord {
                path: PathBuf::from(format!("records for {}-{}", self.topic, self.partition)),
                position: pos as u64,
                reason: format!("{e:?}"),
            })?;
            let end = pos + header.size();
            if end > data.len() {
                return Err(Error::CorruptRecord {
                    path: PathBuf::from(format!("records for {}-{}", self.topic, self.partition)),
                    position: pos as u64,
                    reason: "batch runs past the end of the records".into(),
                });
            }
            headers.push(self.check_batch(&data[pos..end])?);
            pos = end;
        }
        if headers.is_empty() {
            return Err(Error::InvalidRequest(format!(
                "empty records for {}-{}",
                self.topic, self.partition
            )));
        }
        let result = self.append_checked(data, &headers);
        match &result {
            Err(e @ Error::Io { .. }) => self.report_storage_error(e),
            Ok(_) if self.failing.swap(false, Ordering::Relaxed) => tracing::info!(
                topic = %self.topic,
                partition = self.partition,
                "appends succeed again"
            ),
            _ => {}
        }
        result
    }

    /// Logs a storage error at error level once per failing spell of this partition.
    fn report_storage_error(&self, e: &Error) {
        if handles::is_fd_exhaustion(e) {
            handles::report_exhaustion(e);
        } else if !self.failing.swap(true, Ordering::Relaxed) {
            tracing::error!(
                topic = %self.topic,
                partition = self.partition,
                "append failed: {e}; the partition refuses writes with KAFKA_STORAGE_ERROR until \
                 the disk accepts them again (reads go on)"
            );
        }
    }

    fn append_checked(&self, data: &[u8], headers: &[BatchHeader]) -> Result<AppendInfo> {
        let mut inner = self.lock_inner();
        if self.closed.load(Ordering::Relaxed) {
            return Err(Error::NotLeaderOrFollower(format!(
                "{}-{} was closed (reopened with a new config, or its topic deleted); retry",
                self.topic, self.partition
            )));
        }
        let Inner { writer, producers } = &mut *inner;
        let lock = match self.mode {
            Mode::Write => Some(AppendLock::take(&self.state_path)?),
            _ => None,
        };
        let w = self.sync_writer(writer, lock.as_ref())?;
        let with_producer = headers.iter().any(producer_state::has_producer_id);
        if with_producer {
            let m = self.producers_for(producers, &w.state)?;
            match m.check(headers) {
                Ok(Check::Append) => {}
                Ok(Check::Duplicate(b)) => {
                    return Ok(AppendInfo {
                        base_offset: b.first_offset(),
                        last_offset: b.last_offset,
                        log_append_time: -1,
                        log_start_offset: w.state.log_start_offset,
                        duplicate: true,
                    });
                }
                Err(e) => return Err(self.sequence_error(e)),
            }
        }
        let now = now_ms();
        if self.should_roll(&w.state, data.len() as u64, now) {
            self.roll(w, producers.as_mut(), lock.as_ref(), now)?;
        }

        // Offsets, and LogAppendTime where the topic asks for it.
        let mut buf = BytesMut::from(data);
        let mut next = w.state;
        let mut placed = Vec::with_capacity(headers.len());
        let mut at = 0usize;
        let mut log_append_time = -1;
        let mut markers = Vec::new();
        for h in headers {
            let size = h.size();
            let bytes = &mut buf[at..at + size];
            batch::set_base_offset(bytes, next.log_end_offset);
            let mut placed_header = BatchHeader {
                base_offset: next.log_end_offset,
                ..*h
            };
            if self.config.log_append_time {
                batch::set_log_append_time(bytes, now);
                log_append_time = now;
                placed_header.max_timestamp = now;
            }
            next.log_end_offset = placed_header.next_offset();
            placed.push((w.state.active_size + at as u64, placed_header));
            if placed_header.is_control() {
                markers.push((placed_header, super::control::marker(bytes, h)));
            }
            at += size;
        }
        // Transactions ended by abort markers, for the aborted-transaction index, and where the
        // stable part of the log ends once these batches are in.
        let mut aborted = Vec::new();
        if with_producer && let Some(m) = producers.as_ref() {
            let headers: Vec<BatchHeader> = placed.iter().map(|(_, h)| *h).collect();
            next.first_unstable = m.first_unstable_after(&headers);
            for (h, marker) in &markers {
                if marker.map(|(kind, _)| kind) == Some(super::control::ControlType::Abort) {
                    aborted.push(super::txn_index::AbortedTxn {
                        producer_id: h.producer_id,
                        first_offset: m.txn_first_offset(h.producer_id).unwrap_or(h.base_offset),
                        last_offset: h.base_offset,
                        last_stable_offset: next.last_stable_offset(),
                    });
                }
            }
        }
        if with_producer {
            next.producer_end = Some(next.log_end_offset);
        }
        next.active_size += buf.len() as u64;

        let position = w.state.active_size;
        let file = self.segment_file(w.active.base_offset)?;
        let records: i64 = headers.iter().map(|h| h.records_count as i64).sum();
        let flush_due = w.unflushed_messages + records >= self.config.flush_messages
            || self
                .config
                .flush_interval()
                .is_some_and(|d| w.last_flush.elapsed() >= d);
        let txn_index = super::txn_index::path(&self.dir, w.active.base_offset);
        let written = (|| {
            file.write_all_at(&buf, position).at(&w.active.path)?;
            // Before the state says the markers are there: a reader that sees a marker finds
            // its entry.
            super::txn_index::append(&txn_index, &aborted)?;
            if flush_due {
                file.sync_data().at(&w.active.path)?;
                if !w.dirs_synced {
                    super::atomic_file::sync_dir(&self.dir)?;
                    if let Some(parent) = self.dir.parent() {
                        super::atomic_file::sync_dir(parent)?;
                    }
                    w.dirs_synced = true;
                }
                next.recovery_segment = next.active_base;
                next.recovery_position = next.active_size;
            }
            Ok(())
        })();
        if let Err(e) = written {
            // Nothing of a failed append may surface later (another writer adopting it).
            let _ = file.set_len(position);
            if !aborted.is_empty() {
                let _ = super::txn_index::truncate_to(&txn_index, aborted[0].last_offset);
            }
            return Err(e);
        }

        // Indexes (in memory; files are written below or when due) and the new state.
        let index_mark = (
            w.active.offset_index.pending_len(),
            w.active.time_index.pending_len(),
        );
        for (pos, h) in &placed {
            segment::index_batch(
                &mut w.active.offset_index,
                &mut w.active.time_index,
                &mut next,
                h,
                *pos,
                self.config.index_interval_bytes,
            );
        }
        if let Some(lock) = &lock {
            // Another writer may append next: its index entries must follow ours in the file.
            let published = w.active.write_indexes().and_then(|_| lock.write(&mut next));
            if let Err(e) = published {
                w.active.offset_index.drop_pending_after(index_mark.0);
                w.active.time_index.drop_pending_after(index_mark.1);
                let _ = file.set_len(position);
                if !aborted.is_empty() {
                    let _ = super::txn_index::truncate_to(&txn_index, aborted[0].last_offset);
                }
                return Err(e);
            }
        }
        w.state = next;
        if flush_due {
            w.unflushed_messages = 0;
            w.last_flush = Instant::now();
        } else {
            w.unflushed_messages += records;
        }
        if let Some(m) = producers.as_mut() {
            for (_, h) in &placed {
                m.apply(h);
            }
            for (h, marker) in &markers {
                if let Some((_, epoch)) = marker {
                    m.set_coordinator_epoch(h.producer_id, *epoch);
                }
            }
        }
        if self.mode == Mode::Exclusive {
            *self.lock_published() = w.state;
            if w.active.offset_index.pending_len() >= super::index::PENDING_MAX
                || w.active.time_index.pending_len() >= super::index::PENDING_MAX
            {
                // Only a hint for readers: a failure here is not the append's.
                if let Err(e) = w.active.write_indexes() {
                    tracing::warn!(topic = %self.topic, partition = self.partition, error = %e, "writing index entries failed");
                }
            }
        }
        let first = placed
            .first()
            .map_or(next.log_end_offset, |(_, h)| h.base_offset);
        Ok(AppendInfo {
            base_offset: first,
            last_offset: next.log_end_offset - 1,
            log_append_time,
            log_start_offset: w.state.log_start_offset,
            duplicate: false,
        })
    }

    fn sequence_error(&self, e: SequenceError) -> Error {
        match e {
            SequenceError::InvalidEpoch {
                producer_id,
                epoch,
                current,
            } => Error::InvalidProducerEpoch(format!(
                "Epoch of producer {producer_id} at offset in {}-{} is {epoch}, which is smaller than the last seen epoch {current}",
                self.topic, self.partition
            )),
            SequenceError::OutOfOrder {
                producer_id,
                got,
                expected,
            } => Error::OutOfOrderSequence(format!(
                "Out of order sequence number for producer {producer_id} at {}-{}: {got} (incoming seq. number), {} (current end sequence number)",
                self.topic,
                self.partition,
                expected.wrapping_sub(1)
            )),
        }
    }

    /// The producer state, loaded on first use and brought up to the log end: from the newest
    /// snapshot, then the batch headers after it unless the shared state says none of them
    /// carries a producer id.
    fn producers_for<'m>(
        &self,
        producers: &'m mut Option<ProducerStateManager>,
        state: &LogState,
    ) -> Result<&'m mut ProducerStateManager> {
        let m = match producers {
            Some(m) => m,
            None => producers.insert(ProducerStateManager::load(
                &self.dir,
                state.log_start_offset,
                state.log_end_offset,
                self.config.producer_id_expiration_ms,
                now_ms(),
            )?),
        };
        if m.map_end_offset() < state.log_end_offset {
            match state.producer_end {
                Some(end) if end <= m.map_end_offset() => m.advance_map_end(state.log_end_offset),
                _ => {
                    let from = m.map_end_offset().max(state.log_start_offset);
                    let dir = self.dir.clone();
                    self.walk_batches(state, from, |h, file, path, pos, base| {
                        let marker = if h.is_control() {
                            index_scanned_marker(&dir, m, h, file, path, pos, base)?
                        } else {
                            None
                        };
                        m.apply(h);
                        if let Some((_, epoch)) = marker {
                            m.set_coordinator_epoch(h.producer_id, epoch);
                        }
                        Ok(())
                    })?;
                    m.advance_map_end(state.log_end_offset);
                }
            }
        }
        Ok(m)
    }

    /// The producer state brought up to `state`'s log end, loaded afresh (after recovery).
    fn load_producers(&self, state: &LogState) -> Result<ProducerStateManager> {
        let mut fresh = None;
        self.producers_for(&mut fresh, state)?;
        fresh.ok_or_else(|| Error::DataDir("producer state did not load".into()))
    }

    /// Visits the header of every batch from the one holding `from` to the log end, reading
    /// headers only.
    fn walk_batches(
        &self,
        state: &LogState,
        from: i64,
        mut visit: impl FnMut(&BatchHeader, &File, &Path, u64, i64) -> Result<()>,
    ) -> Result<()> {
        if from >= state.log_end_offset {
            return Ok(());
        }
        let bases = segment::list_segments(&self.dir)?;
        let first = bases.iter().rposition(|&b| b <= from).unwrap_or(0);
        for &base in &bases[first..] {
            if base > state.active_base {
                break;
            }
            let path = self.dir.join(segment::file_name(base, "log"));
            let file = handles::open(&path, &handles::read_only())?;
            let end = if base == state.active_base {
                state.active_size
            } else {
                file.metadata().at(&path)?.len()
            };
            let start = if base == bases[first] {
                super::index::OffsetIndex::open(
                    self.dir.join(segment::file_name(base, "index")),
                    base,
                )?
                .lookup(from)? as u64
            } else {
                0
            };
            segment::walk_headers(&file, &path, start.min(end), end, |pos, h| {
                if h.last_offset() >= from {
                    visit(h, &file, &path, pos, base)?;
                }
                Ok(true)
            })?;
        }
        Ok(())
    }

    fn should_roll(&self, state: &LogState, incoming: u64, now: i64) -> bool {
        state.active_size > 0
            && (state.active_size + incoming > self.config.segment_bytes
                || (state.first_batch_timestamp >= 0
                    && now - state.first_batch_timestamp > self.config.max_segment_ms())
                || state.log_end_offset - state.active_base + 1 > u32::MAX as i64)
    }

    /// Closes the active segment (final time index entry, flushed), snapshots the producer state
    /// at the new base as Kafka does, starts a new segment at the log end offset, then applies
    /// retention to the closed segments.
    fn roll(
        &self,
        w: &mut Writer,
        producers: Option<&mut ProducerStateManager>,
        lock: Option<&AppendLock>,
        now: i64,
    ) -> Result<()> {
        segment::append_time_index(&mut w.active.time_index, &mut w.state);
        w.active.flush_indexes()?;
        self.segment_file(w.active.base_offset)?
            .sync_data()
            .at(&w.active.path)?;
        let base = w.state.log_end_offset;
        if let Some(m) = producers {
            m.advance_map_end(base);
            m.take_snapshot(w.state.log_start_offset, now)?;
        }
        w.active = LogSegment::open(&self.dir, base)?;
        w.state.segments_version = w.state.segments_version.wrapping_add(1);
        w.state.active_base = base;
        w.state.active_size = 0;
        w.state.recovery_segment = base;
        w.state.recovery_position = 0;
        w.state.max_timestamp = -1;
        w.state.max_timestamp_offset = base;
        w.state.bytes_since_index = 0;
        w.state.last_time_index = i64::MIN;
        w.state.first_batch_timestamp = -1;
        w.unflushed_messages = 0;
        w.last_flush = Instant::now();
        // The new segment's name is not durable until the directory is synced: the next flush
        // does it.
        w.dirs_synced = false;
        let deleted = super::retention::apply(&self.dir, &mut w.state, &self.config, now)?;
        self.forget_segments(&deleted);
        match lock {
            Some(lock) => {
                lock.write(&mut w.state)?;
                if self.config.compact {
                    self.start_background_clean();
                }
                Ok(())
            }
            None => {
                // The new recovery point and log start, as Kafka's checkpoints keep them.
                write_state_file(&self.state_path, &mut w.state, false)?;
                *self.lock_published() = w.state;
                Ok(())
            }
        }
    }

    /// Starts cleaning this compacted partition on a thread of its own, through a log handle
    /// of its own, so the writer that rolled never waits for it (a tool without a server). One
    /// at a time per writer; another process already cleaning the partition makes it a no-op.
    fn start_background_clean(&self) {
        let mut bg = self.background.lock().unwrap_or_else(|e| e.into_inner());
        if bg.as_ref().is_some_and(|b| !b.handle.is_finished()) {
            return;
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = cancel.clone();
        let (dir, topic, partition, config) = (
            self.dir.clone(),
            self.topic.clone(),
            self.partition,
            self.config.clone(),
        );
        let spawned = std::thread::Builder::new()
            .name(format!("cleaner-{topic}-{partition}"))
            .spawn(move || {
                super::cleaner::run_in_background_priority();
                let log = match UnifiedLog::open(dir, &topic, partition, config, Mode::Write) {
                    Ok(log) => log,
                    Err(e) => {
                        tracing::warn!(topic = %topic, partition, error = %e, "cannot open the log to clean it");
                        return;
                    }
                };
                let mut map =
                    super::offset_map::OffsetMap::new(super::cleaner::EMBEDDED_DEDUPE_BUFFER);
                match super::cleaner::clean(&log, &mut map, now_ms(), false, &stop) {
                    Ok(Ok(stats)) => tracing::info!(
                        topic = %topic,
                        partition,
                        "cleaned offsets {}..{}: {} of {} records kept, {} segments into {}",
                        stats.first_dirty,
                        stats.end_offset,
                        stats.records_kept,
                        stats.records_read,
                        stats.segments_before,
                        stats.segments_after
                    ),
                    Ok(Err(_)) => {}
                    Err(e) => {
                        tracing::error!(topic = %topic, partition, error = %e, "cleaning failed; the partition stays as it was")
                    }
                }
                if let Err(e) = log.close() {
                    tracing::warn!(topic = %topic, partition, error = %e, "closing the cleaner's log failed");
                }
            });
        match spawned {
            Ok(handle) => *bg = Some(BackgroundClean { cancel, handle }),
            Err(e) => tracing::warn!(error = %e, "cannot start a cleaner thread"),
        }
    }

    /// Waits a moment for a background cleaning to finish, then cancels it (it leaves the log
    /// as it was) and waits for it to stop.
    fn stop_background_clean(&self) {
        let Some(bg) = self
            .background
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        else {
            return;
        };
        let deadline = Instant::now() + BACKGROUND_CLEAN_WAIT;
        while !bg.handle.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        bg.cancel.store(true, Ordering::Relaxed);
        let _ = bg.handle.join();
    }

    /// Cleans this compacted log once if it is due (or `force`): see [`super::cleaner::clean`].
    ///
    /// # Errors
    /// As [`super::cleaner::clean`].
    pub fn clean(
        &self,
        map: &mut super::offset_map::OffsetMap,
        now: i64,
        force: bool,
        cancel: &AtomicBool,
    ) -> Result<std::result::Result<super::cleaner::CleanStats, super::cleaner::Skipped>> {
        super::cleaner::clean(self, map, now, force, cancel)
    }

    /// Swaps the cleaned segment `<bases[0]>.log.swap` (with its index swaps) in for the
    /// segments `bases`, under the append lock, as [`super::cleaner`] describes. Returns false,
    /// swapping nothing, when one of them is gone (retention or DeleteRecords got there first).
    pub(crate) fn swap_in_cleaned(&self, bases: &[i64]) -> Result<bool> {
        let done = self.with_writer(|log, w, _, lock| {
            if log.closed.load(Ordering::Relaxed) {
                // Reopened under another handle (a changed config): that one owns the state.
                return Ok(false);
            }
            let present = segment::list_segments(&log.dir)?;
            let Some(&base) = bases.first() else {
                return Ok(false);
            };
            if bases
                .iter()
                .any(|b| !present.contains(b) || *b >= w.state.active_base)
                || w.state.swapping()
            {
                return Ok(false);
            }
            w.state.clean_epoch = w.state.clean_epoch.wrapping_add(1);
            log.publish(w, lock)?;
            let dir = &log.dir;
            let swapped = (|| -> Result<()> {
                let name = |b: i64, suffix: &str| dir.join(segment::file_name(b, suffix));
                for suffix in ["index", "timeindex", "txnindex"] {
                    let from = name(base, &format!("{suffix}.swap"));
                    if from.exists() {
                        std::fs::rename(&from, name(base, suffix)).at(&from)?;
                    }
                }
                for &other in &bases[1..] {
                    for suffix in ["log", "index", "timeindex", "txnindex"] {
                        let p = name(other, suffix);
                        match std::fs::remove_file(&p) {
                            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                                return Err(Error::io(p, e));
                            }
                            _ => {}
                        }
                    }
                }
                let from = name(base, "log.swap");
                std::fs::rename(&from, name(base, "log")).at(&from)
            })();
            log.forget_segments(bases);
            if let Err(e) = swapped {
                // Left odd: readers wait, and the next opener finishes the swap from the
                // `.swap` files still there.
                w.state.clean = false;
                return Err(e);
            }
            w.state.clean_epoch = w.state.clean_epoch.wrapping_add(1);
            w.state.segments_version = w.state.segments_version.wrapping_add(1);
            if bases.contains(&w.state.recovery_segment) && w.state.recovery_segment != base {
                w.state.recovery_segment = base;
                w.state.recovery_position = 0;
            }
            log.publish(w, lock)?;
            Ok(true)
        })?;
        if done == Some(true) {
            // Outside the lock, so appends do not wait for it: a crash before it lands is a
            // crash during the renames, which recovery finishes from the `.swap` file.
            super::atomic_file::sync_dir(&self.dir)?;
        }
        Ok(done.unwrap_or(false))
    }

    fn forget_segments(&self, bases: &[i64]) {
        for &b in bases {
            handles::forget(self.owner, Kind::Segment(b));
        }
    }

    /// Brings the writer's view up to date with what other processes did, under the append lock
    /// (Write mode); in Exclusive mode the view is always current.
    fn sync_writer<'g>(
        &self,
        writer: &'g mut Option<Writer>,
        lock: Option<&AppendLock>,
    ) -> Result<&'g mut Writer> {
        let Some(lock) = lock else {
            return writer.as_mut().ok_or_else(|| {
                Error::InvalidRequest(format!(
                    "{}-{} was opened for reading only",
                    self.topic, self.partition
                ))
            });
        };
        let mut state = lock.read()?.ok_or_else(|| damaged(&self.state_path))?;
        let stale = match writer.as_ref() {
            Some(w) => w.active.base_offset != state.active_base,
            None => true,
        };
        if stale {
            *writer = Some(Writer {
                active: LogSegment::open(&self.dir, state.active_base)?,
                state,
                unflushed_messages: 0,
                last_flush: Instant::now(),
                dirs_synced: false,
            });
        }
        let Some(w) = writer.as_mut() else {
            unreachable!("writer was just set")
        };
        let file = match self.segment_file(state.active_base) {
            Ok(f) => f,
            Err(Error::Io { error: source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Err(Error::UnknownTopic(self.topic.clone()));
            }
            Err(e) => return Err(e),
        };
        let meta = file.metadata().at(&w.active.path)?;
        if std::os::unix::fs::MetadataExt::nlink(&meta) == 0 {
            // Deleted under us (its topic was deleted).
            handles::forget(self.owner, Kind::Segment(state.active_base));
            return Err(Error::UnknownTopic(self.topic.clone()));
        }
        // A writer that died between writing a batch and publishing it leaves bytes past the
        // published size: keep what is whole and valid, cut a torn tail.
        if meta.len() != state.active_size {
            super::recovery::recover_tail(
                &mut state,
                &mut w.active,
                &file,
                meta.len(),
                self.config.index_interval_bytes,
            )?;
            lock.write(&mut state)?;
        }
        w.state = state;
        Ok(w)
    }

    /// Runs `f` on the writer's view, taking the append lock and catching up first in Write
    /// mode; None for a log with no writer.
    fn with_writer<T>(
        &self,
        f: impl FnOnce(
            &Self,
            &mut Writer,
            &mut Option<ProducerStateManager>,
            Option<&AppendLock>,
        ) -> Result<T>,
    ) -> Result<Option<T>> {
        if !self.mode.writes() {
            return Ok(None);
        }
        let mut inner = self.lock_inner();
        let Inner { writer, producers } = &mut *inner;
        let lock = match self.mode {
            Mode::Write => Some(AppendLock::take(&self.state_path)?),
            _ => None,
        };
        let w = self.sync_writer(writer, lock.as_ref())?;
        f(self, w, producers, lock.as_ref()).map(Some)
    }

    /// Publishes a changed state: in the file (Write mode, under the lock) or in memory and the
    /// checkpoint file (Exclusive mode).
    fn publish(&self, w: &mut Writer, lock: Option<&AppendLock>) -> Result<()> {
        match lock {
            Some(lock) => lock.write(&mut w.state),
            None => {
                write_state_file(&self.state_path, &mut w.state, false)?;
                *self.lock_published() = w.state;
                Ok(())
            }
        }
    }

    /// Kafka's DeleteRecords: moves the log start offset up to `offset` (the log end if -1) and
    /// deletes the segments wholly below it. Returns the new log start offset.
    pub fn delete_records_before(&self, offset: i64) -> Result<i64> {
        let done = self.with_writer(|log, w, producers, lock| {
            let target = if offset < 0 {
                w.state.log_end_offset
            } else {
                offset
            };
            if target > w.state.log_end_offset {
                return Err(log.out_of_range(target, &w.state));
            }
            if !log.config.delete {
                return Err(Error::PolicyViolation(format!(
                    "Records of partition {}-{} can not be deleted due to the configured policy",
                    log.topic, log.partition
                )));
            }
            if target > w.state.log_start_offset {
                w.state.log_start_offset = target;
                let bases = segment::list_segments(&log.dir)?;
                let mut deleted = Vec::new();
                for pair in bases.windows(2) {
                    // A closed segment whose successor starts at or below the target holds
                    // nothing readable any more.
                    if pair[1] <= target && pair[0] < w.state.active_base {
                        for suffix in ["log", "index", "timeindex", "txnindex"] {
                            let p = log.dir.join(segment::file_name(pair[0], suffix));
                            let _ = std::fs::remove_file(&p);
                        }
                        deleted.push(pair[0]);
                    }
                }
                log.forget_segments(&deleted);
                if !deleted.is_empty() {
                    w.state.segments_version = w.state.segments_version.wrapping_add(1);
                }
                if producers.is_some() {
                    delete_old_snapshots(&log.dir, w.state.log_start_offset)?;
                }
                log.publish(w, lock)?;
            }
            Ok(w.state.log_start_offset)
        })?;
        done.ok_or_else(|| {
            Error::InvalidRequest(format!(
                "{}-{} was opened for reading only",
                self.topic, self.partition
            ))
        })
    }

    /// Deletes the closed segments retention allows and forgets expired producers (the broker's
    /// periodic check; writers also apply retention when they open a log or roll a segment).
    pub fn apply_retention(&self) -> Result<()> {
        self.with_writer(|log, w, producers, lock| {
            let now = now_ms();
            if let Some(m) = producers.as_mut() {
                m.remove_expired(now);
            }
            let before = w.state.log_start_offset;
            let deleted = super::retention::apply(&log.dir, &mut w.state, &log.config, now)?;
            log.forget_segments(&deleted);
            if w.state.log_start_offset != before {
                delete_old_snapshots(&log.dir, w.state.log_start_offset)?;
                log.publish(w, lock)?;
            }
            Ok(())
        })
        .map(|_| ())
    }

    /// fsyncs the active segment and its indexes and moves the recovery point to the log end.
    pub fn flush(&self) -> Result<()> {
        self.with_writer(|log, w, _, lock| {
            log.segment_file(w.active.base_offset)?
                .sync_data()
                .at(&w.active.path)?;
            w.active.flush_indexes()?;
            w.unflushed_messages = 0;
            w.last_flush = Instant::now();
            w.state.recovery_segment = w.state.active_base;
            w.state.recovery_position = w.state.active_size;
            log.publish(w, lock)
        })
        .map(|_| ())
    }

    /// Flushes, snapshots the producer state and, if this was the last live writer, marks the
    /// log cleanly shut down so the next opener skips recovery.
    pub fn close(self) -> Result<()> {
        self.close_inner(None)
    }

    /// Closes a log whose data the caller has already made durable with one
    /// [`super::atomic_file::sync_file_system`] (closing thousands of logs): nothing is fsynced
    /// here. The producer snapshot is staged into `staged`, for the caller to sync the file
    /// system, commit them all and sync again (see [`UnifiedLog::close_many`]).
    pub fn close_synced_by_caller(
        &self,
        staged: &mut Vec<super::atomic_file::Staged>,
    ) -> Result<()> {
        self.close_inner(Some(staged))
    }

    fn close_inner(&self, staged: Option<&mut Vec<super::atomic_file::Staged>>) -> Result<()> {
        self.stop_background_clean();
        // Under the log's mutex, so no append is halfway through, and none starts after.
        let mut inner = self.lock_inner();
        if self.closed.swap(true, Ordering::Relaxed) {
            return Ok(());
        }
        let result = if !self.dir.is_dir() {
            // Its topic was deleted: nothing left to flush or mark.
            Ok(())
        } else if inner.writer.is_none() && self.mode == Mode::Write {
            // Registered but never appended: nothing of ours to flush. The log stays as the
            // others leave it (they mark it clean only as its last writer).
            Ok(())
        } else if self.mode.writes() {
            self.close_writer(&mut inner, staged)
        } else {
            Ok(())
        };
        drop(inner);
        if let Some(wl) = self.lock_writer_lock().take() {
            let _ = wl.release();
        }
        handles::forget_owner(self.owner);
        result
    }

    fn close_writer(
        &self,
        inner: &mut Inner,
        staged: Option<&mut Vec<super::atomic_file::Staged>>,
    ) -> Result<()> {
        let sync = staged.is_none();
        let Inner { writer, producers } = inner;
        let lock = match self.mode {
            Mode::Write => Some(AppendLock::take(&self.state_path)?),
            _ => None,
        };
        let w = self.sync_writer(writer, lock.as_ref())?;
        if sync {
            self.segment_file(w.active.base_offset)?
                .sync_data()
                .at(&w.active.path)?;
            w.active.flush_indexes()?;
        } else {
            w.active.write_indexes()?;
        }
        w.state.recovery_segment = w.state.active_base;
        w.state.recovery_position = w.state.active_size;
        if let Some(m) = producers.as_mut() {
            m.advance_map_end(w.state.log_end_offset);
            match staged {
                Some(staged) => m.stage_snapshot(w.state.log_start_offset, staged, now_ms())?,
                None => m.take_snapshot(w.state.log_start_offset, now_ms())?,
            }
        }
        match &lock {
            Some(lock) => {
                let last = match self.lock_writer_lock().take() {
                    Some(wl) => wl.release()?,
                    None => false,
                };
                w.state.clean = last;
                lock.write(&mut w.state)
            }
            None => {
                w.state.clean = true;
                write_state_file(&self.state_path, &mut w.state, sync)?;
                *self.lock_published() = w.state;
                Ok(())
            }
        }
    }

    /// Closes the log now (flushed and marked clean), for a caller that cannot give up its
    /// shared handle (the broker, before reopening a partition with a changed config). Appends
    /// through this handle fail afterwards with NOT_LEADER_OR_FOLLOWER, which clients retry.
    pub fn close_now(&self) -> Result<()> {
        self.close_inner(None)
    }

    /// A cached read handle of a segment's log file.
    fn reader(&self, base: i64) -> Result<Arc<File>> {
        self.segment_file(base)
    }

    fn out_of_range(&self, offset: i64, state: &LogState) -> Error {
        Error::OffsetOutOfRange {
            topic: self.topic.clone(),
            partition: self.partition,
            offset,
            log_start_offset: state.log_start_offset,
            log_end_offset: state.log_end_offset,
        }
    }

    /// Runs `f` on the writer's in-memory indexes when `base` is this log's active segment
    /// (they hold entries not yet in the files), else on the index files.
    fn with_indexes<T>(
        &self,
        base: i64,
        f: impl FnOnce(&super::index::OffsetIndex, &super::index::TimeIndex) -> Result<T>,
    ) -> Result<T> {
        if self.mode.writes() {
            let inner = self.lock_inner();
            if let Some(w) = inner.writer.as_ref()
                && w.active.base_offset == base
            {
                return f(&w.active.offset_index, &w.active.time_index);
            }
        }
        let oi = super::index::OffsetIndex::open(
            self.dir.join(segment::file_name(base, "index")),
            base,
        )?;
        let ti = super::index::TimeIndex::open(
            self.dir.join(segment::file_name(base, "timeindex")),
            base,
        )?;
        f(&oi, &ti)
    }

    /// Finds where to start reading `offset`: its segment and the batch holding it.
    ///
    /// # Errors
    /// `OffsetOutOfRange` below the log start offset or past the log end offset.
    pub fn locate(&self, offset: i64) -> Result<Position> {
        let located = self.locate_inner(offset);
        self.note_read(&located);
        located
    }

    fn locate_inner(&self, offset: i64) -> Result<Position> {
        self.with_stable_layout(|state, bases| self.locate_at(offset, state, bases))
    }

    /// The published state once no swap of cleaned segments is under way.
    ///
    /// # Errors
    /// A storage error when a swap has not finished in [`SWAP_WAIT`] (its process died; the
    /// next process to open the partition alone finishes it).
    fn stable_state(&self) -> Result<LogState> {
        let started = Instant::now();
        loop {
            let state = self.state()?;
            if !state.swapping() {
                return Ok(state);
            }
            if started.elapsed() > SWAP_WAIT {
                return Err(Error::DataDir(format!(
                    "{}-{}: a swap of cleaned segments has not finished in {} s (its process \
                     may have died); reopen the partition to recover it",
                    self.topic,
                    self.partition,
                    SWAP_WAIT.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The segment bases under `state`'s layout: the cached list, listed again when the layout
    /// moved (then cached handles of segments a cleaner may have replaced are dropped too).
    fn segment_bases(&self, state: &LogState) -> Result<Arc<Vec<i64>>> {
        let layout = (state.segments_version, state.clean_epoch);
        let mut cached = self.segments.lock().unwrap_or_else(|e| e.into_inner());
        if cached.layout == Some(layout) {
            return Ok(cached.bases.clone());
        }
        if cached
            .layout
            .is_some_and(|(_, epoch)| epoch != state.clean_epoch)
        {
            for &b in cached.bases.iter() {
                if b != state.active_base {
                    handles::forget(self.owner, Kind::Segment(b));
                }
            }
        }
        let bases: Vec<i64> = segment::list_segments(&self.dir)?
            .into_iter()
            .filter(|&b| b <= state.active_base)
            .collect();
        cached.bases = Arc::new(bases);
        cached.layout = Some(layout);
        Ok(cached.bases.clone())
    }

    /// Runs a read `f` against a stable layout: waits out a swap of cleaned segments, and runs
    /// `f` again if one happened while it ran (its bytes may mix two layouts).
    fn with_stable_layout<T>(&self, f: impl Fn(&LogState, &[i64]) -> Result<T>) -> Result<T> {
        let mut attempts = 0;
        loop {
            let state = self.stable_state()?;
            let bases = self.segment_bases(&state)?;
            let result = f(&state, &bases);
            let after = self.state()?;
            if after.clean_epoch == state.clean_epoch || attempts >= 100 {
                return result;
            }
            attempts += 1;
        }
    }

    /// [`locate`](Self::locate) under a given state and segment list.
    fn locate_at(&self, offset: i64, state: &LogState, bases: &[i64]) -> Result<Position> {
        if offset < state.log_start_offset || offset > state.log_end_offset {
            return Err(self.out_of_range(offset, state));
        }
        let seg = bases
            .iter()
            .rev()
            .find(|&&b| b <= offset)
            .copied()
            .unwrap_or(state.active_base);
        let hint = self.with_indexes(seg, |oi, _| oi.lookup(offset))? as u64;
        let file = self.reader(seg)?;
        let path = self.dir.join(segment::file_name(seg, "log"));
        let end = if seg == state.active_base {
            state.active_size
        } else {
            file.metadata().at(&path)?.len()
        };
        let byte = segment::search_offset(&file, &path, hint.min(end), end, offset)?;
        Ok(Position {
            segment: seg,
            byte,
            offset,
            epoch: state.clean_epoch,
        })
    }

    /// The position of the first record with timestamp ≥ `timestamp`, as (offset, position), or
    /// None when every record is older (Kafka's ListOffsets by timestamp).
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<i64>> {
        let state = self.stable_state()?;
        let bases = self.segment_bases(&state)?;
        for &seg in bases.iter() {
            let file = self.reader(seg)?;
            let path = self.dir.join(segment::file_name(seg, "log"));
            let end = if seg == state.active_base {
                state.active_size
            } else {
                file.metadata().at(&path)?.len()
            };
            let start = self.with_indexes(seg, |oi, ti| match ti.lookup(timestamp)? {
                Some(o) => Ok(oi.lookup(o)? as u64),
                None => Ok(0),
            })?;
            let mut found = None;
            segment::walk_headers(&file, &path, start.min(end), end, |_, h| {
                if h.max_timestamp >= timestamp {
                    found = Some(*h);
                    return Ok(false);
                }
                Ok(true)
            })?;
            if let Some(h) = found {
                // The batch holds a record at or after the timestamp; find which one.
                let pos = self.locate(h.base_offset.max(state.log_start_offset))?;
                let data = self.read(pos, h.size(), usize::MAX)?;
                let mut records = Vec::new();
                super::codec::decode_batches(data.records.into_bytes()?, &mut records)?;
                if let Some(r) = records
                    .iter()
                    .find(|r| r.timestamp >= timestamp && r.offset >= state.log_start_offset)
                {
                    return Ok(Some(r.offset));
                }
            }
        }
        Ok(None)
    }

    /// Reads whole batches from `pos`: up to `max_bytes`, but at least one batch if there is one.
    /// Moves on to the next segment when `pos` is at the end of a closed one. A read of
    /// `copy_below` bytes or more is returned as a range of the segment file, for the broker to
    /// send with `sendfile` as Kafka does (found from the batch headers alone and not
    /// CRC-checked here: Kafka does not check on fetch either, the consumer does, and recovery
    /// does after a crash); smaller reads are copied and CRC-checked (`usize::MAX`: always).
    ///
    /// A position from before a cleaner swapped segments in is found again by its offset; a
    /// read at an offset the cleaner removed returns the next record.
    ///
    /// # Errors
    /// `OffsetOutOfRange` if retention removed `pos`, `CorruptRecord` on a copied batch that
    /// fails its CRC (a corrupt batch is never returned as data). The valid batches before a
    /// damaged one are returned first; the read after them, which starts at the damaged batch,
    /// fails (see [`skip_batch`](Self::skip_batch) to move past it).
    pub fn read(&self, pos: Position, max_bytes: usize, copy_below: usize) -> Result<FetchData> {
        self.read_isolated(pos, max_bytes, copy_below, false)
    }

    /// [`read`](Self::read), stopping at the last stable offset when `committed` (a
    /// `read_committed` reader: nothing of a transaction still open is returned).
    ///
    /// # Errors
    /// As [`read`](Self::read).
    pub fn read_isolated(
        &self,
        pos: Position,
        max_bytes: usize,
        copy_below: usize,
        committed: bool,
    ) -> Result<FetchData> {
        let read = self.with_stable_layout(|state, bases| {
            let bound = if committed {
                state.last_stable_offset()
            } else {
                i64::MAX
            };
            self.read_at(pos, max_bytes, copy_below, bound, state, bases)
        });
        self.note_read(&read);
        read
    }

    /// The aborted transactions a `read_committed` reader of `from..upper` must drop, in
    /// marker order (see [`super::txn_index::collect`]).
    ///
    /// # Errors
    /// A storage error reading the index files.
    pub fn aborted_transactions(
        &self,
        from: i64,
        upper: i64,
    ) -> Result<Vec<super::txn_index::AbortedTxn>> {
        if from >= upper {
            return Ok(Vec::new());
        }
        self.with_stable_layout(|_, bases| super::txn_index::collect(&self.dir, bases, from, upper))
    }

    /// Logs a storage error of a read at error level, once per failing spell of the partition.
    fn note_read<T>(&self, result: &Result<T>) {
        match result {
            Err(e @ Error::Io { .. }) => {
                if handles::is_fd_exhaustion(e) {
                    handles::report_exhaustion(e);
                } else if !self.read_failing.swap(true, Ordering::Relaxed) {
                    tracing::error!(topic = %self.topic, partition = self.partition, "read failed: {e}");
                }
            }
            Ok(_) if self.read_failing.load(Ordering::Relaxed) => {
                self.read_failing.store(false, Ordering::Relaxed);
                tracing::info!(topic = %self.topic, partition = self.partition, "reads succeed again");
            }
            _ => {}
        }
    }

    fn read_at(
        &self,
        pos: Position,
        max_bytes: usize,
        copy_below: usize,
        max_offset: i64,
        state: &LogState,
        bases: &[i64],
    ) -> Result<FetchData> {
        let pos = if pos.epoch == state.clean_epoch {
            pos
        } else {
            self.locate_at(pos.offset.max(state.log_start_offset), state, bases)?
        };
        let (records, next) = match self.seek_readable(pos, state, bases)? {
            Readable::End(pos) => (Records::Memory(Bytes::new()), pos),
            Readable::Segment(seg) => {
                if max_bytes.min((seg.end - seg.pos.byte) as usize) < copy_below {
                    let (b, next) = self.copy_batches(&seg, max_bytes, max_offset)?;
                    (Records::Memory(b), next)
                } else {
                    let (r, next) = region_batches(&seg, max_bytes, max_offset)?;
                    if r.len == 0 {
                        (Records::Memory(Bytes::new()), next)
                    } else {
                        (Records::File(r), next)
                    }
                }
            }
        };
        Ok(FetchData {
            records,
            next,
            log_start_offset: state.log_start_offset,
            log_end_offset: state.log_end_offset,
            last_stable_offset: state.last_stable_offset(),
        })
    }

    /// Finds the segment bytes readable at `pos`, moving on to the next segment when `pos` is
    /// at the end of a closed one.
    fn seek_readable(
        &self,
        mut pos: Position,
        state: &LogState,
        bases: &[i64],
    ) -> Result<Readable> {
        if pos.offset < state.log_start_offset {
            return Err(self.out_of_range(pos.offset, state));
        }
        loop {
            if pos.segment > state.active_base {
                // The log was truncated or recreated under us.
                return Err(self.out_of_range(pos.offset, state));
            }
            let path = self.dir.join(segment::file_name(pos.segment, "log"));
            let file = match self.reader(pos.segment) {
                Ok(f) => f,
                // Retention deleted it since the position was taken.
                Err(Error::Io { error: source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    return Err(self.out_of_range(pos.offset, &self.state()?));
                }
                Err(e) => return Err(e),
            };
            let end = if pos.segment == state.active_base {
                state.active_size
            } else {
                file.metadata().at(&path)?.len()
            };
            if pos.byte < end {
                return Ok(Readable::Segment(SegmentSpan {
                    pos,
                    file,
                    path,
                    end,
                }));
            }
            if pos.segment == state.active_base {
                return Ok(Readable::End(pos));
            }
            let next = bases.iter().copied().find(|&b| b > pos.segment);
            match next {
                Some(b) => {
                    pos = Position {
                        segment: b,
                        byte: 0,
                        offset: pos.offset.max(b),
                        epoch: pos.epoch,
                    }
                }
                None => return Ok(Readable::End(pos)),
            }
        }
    }

    /// The position just after the batch at `pos`, for a reader that skips a damaged batch
    /// (a consumer's `--skip-message-on-error`, as Kafka's consumer is moved past a corrupt
    /// record). The batch's length field (outside the CRC) says where the next batch starts;
    /// the next batch's base offset, if there is one, where the offsets continue.
    ///
    /// # Errors
    /// `CorruptRecord` when the header at `pos` is unreadable or claims a length past the
    /// end of the segment (then there is no telling where the next batch starts);
    /// `OffsetOutOfRange` if retention removed `pos`.
    pub fn skip_batch(&self, pos: Position) -> Result<Position> {
        self.with_stable_layout(|state, bases| {
            let pos = if pos.epoch == state.clean_epoch {
                pos
            } else {
                self.locate_at(pos.offset.max(state.log_start_offset), state, bases)?
            };
            self.skip_batch_at(pos, state, bases)
        })
    }

    fn skip_batch_at(&self, pos: Position, state: &LogState, bases: &[i64]) -> Result<Position> {
        let seg = match self.seek_readable(pos, state, bases)? {
            Readable::End(pos) => return Ok(pos),
            Readable::Segment(seg) => seg,
        };
        let unknown = |why: String| Error::CorruptRecord {
            path: seg.path.clone(),
            position: seg.pos.byte,
            reason: format!("{why}, so where the next batch starts is unknown"),
        };
        let mut header = [0u8; batch::HEADER_LEN];
        if seg.pos.byte + batch::HEADER_LEN as u64 > seg.end {
            return Err(unknown("the batch header is cut short".to_string()));
        }
        read_exact(&seg.file, &seg.path, &mut header, seg.pos.byte)?;
        let h = BatchHeader::parse(&header).map_err(|e| {
            unknown(match e {
                batch::BatchError::Incomplete => "the batch header is cut short".to_string(),
                batch::BatchError::Corrupt(why) => format!("the batch header is damaged ({why})"),
            })
        })?;
        let after = seg.pos.byte + h.size() as u64;
        if after > seg.end {
            return Err(unknown(format!(
                "the batch claims {} bytes, past the end of the segment",
                h.size()
            )));
        }
        let mut offset = h.next_offset().max(seg.pos.offset);
        if after + batch::HEADER_LEN as u64 <= seg.end {
            read_exact(&seg.file, &seg.path, &mut header, after)?;
            if let Ok(next) = BatchHeader::parse(&header)
                && next.base_offset >= seg.pos.offset
            {
                offset = next.base_offset;
            }
        }
        Ok(Position {
            segment: seg.pos.segment,
            byte: after,
            offset,
            epoch: seg.pos.epoch,
        })
    }

    /// Reads whole, CRC-checked batches of `seg` into memory. Stops before a damaged batch
    /// after valid ones; a damaged first batch is an error.
    fn copy_batches(
        &self,
        seg: &SegmentSpan,
        max_bytes: usize,
        max_offset: i64,
    ) -> Result<(Bytes, Position)> {
        let SegmentSpan {
            pos,
            file,
            path,
            end,
        } = seg;
        let want = (max_bytes.max(batch::HEADER_LEN) as u64).min(end - pos.byte) as usize;
        let mut buf = BytesMut::zeroed(want);
        read_exact(file, path, &mut buf, pos.byte)?;
        // One batch larger than max_bytes is still returned whole, as Kafka does.
        // (Checked against the file too: a damaged state must not make a claimed length of up
        // to 2 GiB an allocation.)
        if let Ok(h) = BatchHeader::parse(&buf)
            && h.size() > buf.len()
            && pos.byte + h.size() as u64 <= *end
            && pos.byte + h.size() as u64 <= file.metadata().at(path)?.len()
        {
            buf = BytesMut::zeroed(h.size());
            read_exact(file, path, &mut buf, pos.byte)?;
        }
        let mut iter = batch::BatchIter::new(&buf, true);
        let mut last: Option<BatchHeader> = None;
        let mut bounded_at = None;
        for (at, h) in iter.by_ref() {
            if h.base_offset >= max_offset {
                bounded_at = Some(at);
                break;
            }
            last = Some(h);
        }
        if bounded_at == Some(0) {
            return Ok((Bytes::new(), *pos));
        }
        let used = bounded_at.unwrap_or_else(|| iter.position());
        // The valid batches before a damaged one are returned; the next read starts at the
        // damaged batch and reports it.
        if let Some((at, reason)) = iter.error.take()
            && used == 0
        {
            return Err(Error::CorruptRecord {
                path: path.clone(),
                position: pos.byte + at as u64,
                reason,
            });
        }
        if used == 0 {
            return Err(torn(path, pos.byte));
        }
        buf.truncate(used);
        let next_offset = last.map_or(pos.offset, |h| h.next_offset().max(pos.offset));
        Ok((
            buf.freeze(),
            Position {
                segment: pos.segment,
                byte: pos.byte + used as u64,
                offset: next_offset,
                epoch: pos.epoch,
            },
        ))
    }

    /// The largest timestamp in the log and the offset of the batch holding it (ListOffsets
    /// MAX_TIMESTAMP), from the time indexes and the active segment's state.
    pub fn max_timestamp(&self) -> Result<Option<(i64, i64)>> {
        let state = self.stable_state()?;
        let mut best: Option<(i64, i64)> = None;
        for &seg in self.segment_bases(&state)?.iter() {
            let candidate = if seg == state.active_base {
                (state.max_timestamp >= 0)
                    .then_some((state.max_timestamp, state.max_timestamp_offset))
            } else {
                self.with_indexes(seg, |_, ti| ti.last_entry())?
            };
            if let Some((ts, offset)) = candidate
                && offset >= state.log_start_offset
                && best.is_none_or(|(b, _)| ts > b)
            {
                best = Some((ts, offset));
            }
        }
        Ok(best)
    }

    /// Total bytes of the log's segment files.
    pub fn size_in_bytes(&self) -> Result<u64> {
        let state = self.stable_state()?;
        let mut total = 0;
        for &base in self.segment_bases(&state)?.iter() {
            let path = self.dir.join(segment::file_name(base, "log"));
            total += std::fs::metadata(&path).at(&path)?.len();
        }
        Ok(total)
    }

    /// The producers this partition knows, loading its producer state if needed (Kafka's
    /// DescribeProducers; tests and tools).
    pub fn producer_ids(&self) -> Result<Vec<i64>> {
        Ok(self
            .with_writer(|log, w, producers, _| {
                let m = log.producers_for(producers, &w.state)?;
                let mut ids: Vec<i64> = m.producers().map(|e| e.producer_id).collect();
                ids.sort_unstable();
                Ok(ids)
            })?
            .unwrap_or_default())
    }

    /// The producers this partition knows, with their state, by producer id (Kafka's
    /// DescribeProducers).
    pub fn producer_entries(&self) -> Result<Vec<producer_state::ProducerStateEntry>> {
        Ok(self
            .with_writer(|log, w, producers, _| {
                let m = log.producers_for(producers, &w.state)?;
                let mut all: Vec<_> = m.producers().cloned().collect();
                all.sort_by_key(|e| e.producer_id);
                Ok(all)
            })?
            .unwrap_or_default())
    }

    /// Each live producer id with the last offset of its last batch, from the producer state
    /// (loaded if needed): the batches the cleaner must keep, as Kafka's
    /// `lastRecordsOfActiveProducers`.
    pub fn last_offsets_of_producers(&self) -> Result<std::collections::HashMap<i64, i64>> {
        Ok(self
            .with_writer(|log, w, producers, _| {
                let m = log.producers_for(producers, &w.state)?;
                Ok(m.producers()
                    .filter_map(|e| e.batches.back().map(|b| (e.producer_id, b.last_offset)))
                    .collect())
            })?
            .unwrap_or_default())
    }
}

/// Deletes producer snapshots of segments below the log start, keeping the newest snapshot.
/// Reads a marker found while rebuilding producer state, and adds the aborted-transaction
/// index entry of an abort marker unless it is there: the writer that appended the marker may
/// have died before writing it. Returns the marker's type and coordinator epoch.
fn index_scanned_marker(
    dir: &Path,
    m: &ProducerStateManager,
    h: &BatchHeader,
    file: &File,
    path: &Path,
    pos: u64,
    base: i64,
) -> Result<Option<(super::control::ControlType, i32)>> {
    let mut buf = vec![0u8; h.size().min(super::control::MARKER_LEN)];
    read_exact(file, path, &mut buf, pos)?;
    let marker = super::control::marker(&buf, h);
    if marker.map(|(kind, _)| kind) != Some(super::control::ControlType::Abort) {
        return Ok(marker);
    }
    let index = super::txn_index::path(dir, base);
    if super::txn_index::read(&index)?
        .iter()
        .any(|e| e.last_offset == h.base_offset)
    {
        return Ok(marker);
    }
    let first_offset = m.txn_first_offset(h.producer_id).unwrap_or(h.base_offset);
    let placed = [*h];
    let last_stable_offset = m
        .first_unstable_after(&placed)
        .unwrap_or(h.next_offset())
        .min(h.next_offset());
    super::txn_index::append(
        &index,
        &[super::txn_index::AbortedTxn {
            producer_id: h.producer_id,
            first_offset,
            last_offset: h.base_offset,
            last_stable_offset,
        }],
    )?;
    Ok(marker)
}

fn delete_old_snapshots(dir: &Path, log_start_offset: i64) -> Result<()> {
    let snapshots = producer_state::list_snapshots(dir)?;
    let newest = snapshots.keys().next_back().copied();
    for (offset, path) in snapshots {
        if offset < log_start_offset && Some(offset) != newest {
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io(path, e));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

impl Drop for UnifiedLog {
    fn drop(&mut self) {
        if let Err(e) = self.close_inner(None) {
            tracing::warn!(topic = %self.topic, partition = self.partition, error = %e, "closing the log failed");
        }
    }
}

/// Opens a file read-write, creating it if needed and keeping its content.
pub(crate) fn open_rw(path: &Path) -> Result<File> {
    handles::open(path, &handles::read_write())
}

fn read_exact(file: &File, path: &Path, buf: &mut [u8], at: u64) -> Result<()> {
    file.read_exact_at(buf, at).at(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::codec::{ProducerRecord, decode_batches, encode_batch};
    use kafka_protocol::records::Compression;
    use std::collections::BTreeMap;

    fn batch(values: &[&str]) -> BytesMut {
        let records: Vec<ProducerRecord> = values
            .iter()
            .map(|v| ProducerRecord {
                value: Some(Bytes::copy_from_slice(v.as_bytes())),
                timestamp: now_ms(),
                ..Default::default()
            })
            .collect();
        encode_batch(&records, Compression::None).unwrap()
    }

    fn read_all(log: &UnifiedLog, from: i64) -> Vec<(i64, String)> {
        let mut pos = log.locate(from).unwrap();
        let mut out = Vec::new();
        loop {
            let data = log.read(pos, 1000, usize::MAX).unwrap();
            if data.records.is_empty() {
                break;
            }
            let mut recs = Vec::new();
            decode_batches(data.records.into_bytes().unwrap(), &mut recs).unwrap();
            out.extend(recs.into_iter().filter(|r| r.offset >= from).map(|r| {
                (
                    r.offset,
                    String::from_utf8(r.value.unwrap().to_vec()).unwrap(),
                )
            }));
            pos = data.next;
        }
        out
    }

    fn small_segments() -> LogConfig {
        let mut overrides = BTreeMap::new();
        overrides.insert("segment.bytes".to_string(), "300".to_string());
        overrides.insert("index.interval.bytes".to_string(), "50".to_string());
        LogConfig::from_overrides(&overrides)
    }

    /// The bytes a region stands for.
    fn region_bytes(r: &FileRegion) -> Vec<u8> {
        let mut buf = vec![0u8; r.len];
        r.file.read_exact_at(&mut buf, r.position).unwrap();
        buf
    }

    #[test]
    fn file_regions_hold_the_same_whole_batches_as_copied_reads() {
        let dir = tempfile::tempdir().unwrap();
        let pdir = dir.path().join("t-0");
        UnifiedLog::create(&pdir).unwrap();
        let mut overrides = BTreeMap::new();
        overrides.insert("segment.bytes".to_string(), "3000".to_string());
        let config = LogConfig::from_overrides(&overrides);
        let log = UnifiedLog::open(pdir, "t", 0, config, Mode::Write).unwrap();
        for i in 0..60 {
            let v = format!("{i:>3}").repeat(40);
            log.append(&mut batch(&[&v, &v])).unwrap();
        }
        for (from, max_bytes) in [(0, 1), (0, 700), (7, 2500), (33, 100_000)] {
            let mut pos = log.locate(from).unwrap();
            loop {
                let copied = log.read(pos, max_bytes, usize::MAX).unwrap();
                let sliced = log.read(pos, max_bytes, 0).unwrap();
                assert_eq!(sliced.next, copied.next, "from {from}, max {max_bytes}");
                let Records::Memory(copied_bytes) = copied.records.clone() else {
                    panic!("below the threshold a read comes back in memory")
                };
                match sliced.records {
                    Records::File(r) => assert_eq!(region_bytes(&r), copied_bytes.to_vec()),
                    Records::Memory(b) => {
                        assert!(b.is_empty() && copied_bytes.is_empty());
                        break;
                    }
                }
                pos = copied.next;
            }
            assert_eq!(pos.offset, 120);
        }
    }

    #[test]
    fn appends_get_contiguous_offsets_across_rolls_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let pdir = dir.path().join("t-0");
        UnifiedLog::create(&pdir).unwrap();
        let log = UnifiedLog::open(pdir.clone(), "t", 0, small_segments(), Mode::Write).unwrap();
        let mut expected = Vec::new();
        for i in 0..40 {
            let v1 = format!("value-{i}-a");
            let v2 = format!("value-{i}-b");
            let info = log.append(&mut batch(&[&v1, &v2])).unwrap();
            assert_eq!(info.base_offset, 2 * i);
            expected.push((2 * i, v1));
            expected.push((2 * i + 1, v2));
        }
        assert!(segment::list_segments(&pdir).unwrap().len() > 5);
        assert_eq!(read_all(&log, 0), expected);
        assert_eq!(read_all(&log, 37), expected[37..].to_vec());
        log.close().unwrap();
        let reader = UnifiedLog::open(pdir, "t", 0, small_segments(), Mode::Read).unwrap();
        assert_eq!(reader.log_end_offset().unwrap(), 80);
        assert_eq!(read_all(&reader, 79), expected[79..].to_vec());
    }

    #[test]
    fn torn_tail_is_truncated_on_open_after_unclean_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let pdir = dir.path().join("t-0");
        UnifiedLog::create(&pdir).unwrap();
        let log =
            UnifiedLog::open(pdir.clone(), "t", 0, LogConfig::default(), Mode::Write).unwrap();
        log.append(&mut batch(&["a", "b"])).unwrap();
        log.append(&mut batch(&["c"])).unwrap();
        // Simulate kill -9 mid-append: half a batch after the published end, no clean marker.
        let half = batch(&["torn"]);
        let seg = pdir.join(segment::file_name(0, "log"));
        let mut bytes = std::fs::read(&seg).unwrap();
        bytes.extend_from_slice(&half[..half.len() / 2]);
        std::fs::write(&seg, &bytes).unwrap();
        std::mem::forget(log); // no close: the state stays dirty
        let reopened = UnifiedLog::open(pdir.clone(), "t", 0, LogConfig::default(), Mode::Write);
        // The forgotten handle still holds its shared writers lock in this process, so recovery
        // happens on the writer's tail check instead.
        let reopened = reopened.unwrap();
        assert_eq!(reopened.append(&mut batch(&["d"])).unwrap().base_offset, 3);
        assert_eq!(
            read_all(&reopened, 0)
                .into_iter()
                .map(|(_, v)| v)
                .collect::<Vec<_>>(),
            ["a", "b", "c", "d"]
        );
    }

    fn config(pairs: &[(&str, &str)]) -> LogConfig {
        LogConfig::from_overrides(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn retention_bytes_deletes_the_oldest_closed_segments_and_moves_the_log_start() {
        let dir = tempfile::tempdir().unwrap();
        let pdir = dir.path().join("t-0");
        UnifiedLog::create(&pdir).unwrap();
        let cfg = config(&[("segment.bytes", "300"), ("retention.bytes", "600")]);
        let log = UnifiedLog::open(pdir.clone(), "t", 0, cfg, Mode::Write).unwrap();
        for i in 0..60 {
            log.append(&mut batch(&[&format!("record-{i:03}")]))
                .unwrap();
        }
        let state = log.state().unwrap();
        assert!(state.log_start_offset > 0, "old segments went");
        assert_eq!(
            segment::list_segments(&pdir).unwrap()[0],
            state.log_start_offset
        );
        // Kafka's rule: delete while the excess covers a whole segment, so up to one segment over.
        assert!(log.size_in_bytes().unwrap() < 600 + 2 * 300);
        let kept = read_all(&log, state.log_start_offset);
        assert_eq!(kept.last().unwrap(), &(59, "record-059".to_string()));
        assert!(matches!(log.locate(0), Err(Error::OffsetOutOfRange { .. })));
    }

    #[test]
    fn retention_ms_deletes_segments_whose_newest_record_is_too_old() {
        let dir = tempfile::tempdir().unwrap();
        let pdir = dir.path().join("t-0");
        UnifiedLog::create(&pdir).unwrap();
        let cfg = config(&[("segment.bytes", "200"), ("retention.ms", "60000")]);
        let log = UnifiedLog::open(pdir.clone(), "t", 0, cfg, Mode::Write).unwrap();
        let old = |v: &str| {
            let r = ProducerRecord {
                value: Some(Bytes::copy_from_slice(v.as_bytes())),
                timestamp: now_ms() - 3_600_000,
                ..Default::default()
            };
            encode_batch(&[r], Compression::None).unwrap()
        };
        for i in 0..10 {
            log.append(&mut old(&format!("old-{i:02}-padding-padding")))
                .unwrap();
        }
        for i in 0..10 {
            log.append(&mut batch(&[&format!("new-{i:02}-padding-padding")]))
                .unwrap();
        }
        let state = log.state().unwrap();
        assert!(
            state.log_start_offset >= 9,
            "hour-old segments are gone: {state:?}"
        );
        let values: Vec<String> = read_all(&log, state.log_start_offset)
            .into_iter()
            .map(|r| r.1)
            .collect();
        assert!(values.iter().filter(|v| v.starts_with("new")).count() == 10);
    }

    #[test]
    fn clean_close_marks_the_state_and_a_dirty_log_is_recovered_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let pdir = dir.path().join("t-0");
        UnifiedLog::create(&pdir).unwrap();
        let log =
            UnifiedLog::open(pdir.clone(), "t", 0, LogConfig::default(), Mode::Write).unwrap();
        assert!(!log.state().unwrap().clean, "dirty while a writer is open");
        log.append(&mut batch(&["a", "b"])).unwrap();
        log.append(&mut batch(&["c"])).unwrap();
        log.close().unwrap();
        let reader =
            UnifiedLog::open(pdir.clone(), "t", 0, LogConfig::default(), Mode::Read).unwrap();
        assert!(reader.state().unwrap().clean);
        drop(reader);

        // Corrupt a byte inside the second batch (CRC-covered) and mark the log dirty, as a
        // crash would leave it: recovery keeps the first batch and cuts the rest.
        let seg = pdir.join(segment::file_name(0, "log"));
        let mut bytes = std::fs::read(&seg).unwrap();
        let first = batch::BatchHeader::parse(&bytes).unwrap().size();
        bytes[first + 40] ^= 0xff;
        std::fs::write(&seg, &bytes).unwrap();
        let state_path = pdir.join(STATE_FILE);
        let file = open_rw(&state_path).unwrap();
        let mut st = LogState::read(&file, &state_path).unwrap().unwrap();
        st.clean = false;
        st.recovery_position = 0;
        st.write(&file, &state_path).unwrap();

        let reader =
            UnifiedLog::open(pdir.clone(), "t", 0, LogConfig::default(), Mode::Read).unwrap();
        assert_eq!(reader.log_end_offset().unwrap(), 2);
        assert_eq!(
            read_all(&reader, 0),
            vec![(0, "a".to_string()), (1, "b".to_string())]
        );
        assert_eq!(std::fs::metadata(&seg).unwrap().len() as usize, first);
    }

    #[test]
    fn a_corrupt_batch_in_a_cleanly_closed_log_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let pdir = dir.path().join("t-0");
        UnifiedLog::create(&pdir).unwrap();
        let log =
            UnifiedLog::open(pdir.clone(), "t", 0, LogConfig::default(), Mode::Write).unwrap();
        log.append(&mut batch(&["a"])).unwrap();
        log.append(&mut batch(&["b"])).unwrap();
        log.close().unwrap();
        let seg = pdir.join(segment::file_name(0, "log"));
        let mut bytes = std::fs::read(&seg).unwrap();
        bytes[30] ^= 0x01;
        std::fs::write(&seg, &bytes).unwrap();
        let reader =
            UnifiedLog::open(pdir.clone(), "t", 0, LogConfig::default(), Mode::Read).unwrap();
        let err = reader
            .read(reader.locate(0).unwrap(), 1 << 20, usize::MAX)
            .unwrap_err();
        match err {
            Error::CorruptRecord { path, position, .. } => {
                assert_eq!(path, seg);
                assert_eq!(position, 0);
            }
            other => panic!("expected CorruptRecord, got {other}"),
        }
    }

    /// The review case: a damaged batch in the middle of a segment hid the valid batches
    /// before it (the whole read failed). Now they are returned, the read at the damaged batch
    /// fails naming it, and `skip_batch` moves past it to the valid batches after it.
    #[test]
    fn valid_batches_before_a_damaged_one_are_read_and_it_can_be_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let pdir = dir.path().join("t-0");
        UnifiedLog::create(&pdir).unwrap();
        let log =
            UnifiedLog::open(pdir.clone(), "t", 0, LogConfig::default(), Mode::Write).unwrap();
        log.append(&mut batch(&["a", "b"])).unwrap();
        log.append(&mut batch(&["c", "d"])).unwrap();
        log.append(&mut batch(&["e"])).unwrap();
        log.close().unwrap();
        let seg = pdir.join(segment::file_name(0, "log"));
        let mut bytes = std::fs::read(&seg).unwrap();
        let first = batch::BatchHeader::parse(&bytes).unwrap().size();
        let second = batch::BatchHeader::parse(&bytes[first..]).unwrap().size();
        bytes[first + second - 3] ^= 0x20;
        std::fs::write(&seg, &bytes).unwrap();
        let reader =
            UnifiedLog::open(pdir.clone(), "t", 0, LogConfig::default(), Mode::Read).unwrap();

        let data = reader
            .read(reader.locate(0).unwrap(), 1 << 20, usize::MAX)
            .unwrap();
        let mut recs = Vec::new();
        decode_batches(data.records.into_bytes().unwrap(), &mut recs).unwrap();
        assert_eq!(recs.iter().map(|r| r.offset).collect::<Vec<_>>(), [0, 1]);
        assert_eq!((data.next.byte, data.next.offset), (first as u64, 2));

        match reader.read(data.next, 1 << 20, usize::MAX).unwrap_err() {
            Error::CorruptRecord {
                path,
                position,
                reason,
            } => {
                assert_eq!((path, position), (seg.clone(), first as u64));
                assert!(reason.contains("CRC"), "{reason}");
            }
            other => panic!("expected CorruptRecord, got {other}"),
        }

        let after = reader.skip_batch(data.next).unwrap();
        assert_eq!((after.byte, after.offset), ((first + second) as u64, 4));
        let data = reader.read(after, 1 << 20, usize::MAX).unwrap();
        let mut recs = Vec::new();
        decode_batches(data.records.into_bytes().unwrap(), &mut recs).unwrap();
        assert_eq!(recs.iter().map(|r| r.offset).collect::<Vec<_>>(), [4]);

        // A header whose length runs past the segment cannot be skipped.
        let mut bytes = std::fs::read(&seg).unwrap();
        bytes[first + 8..first + 12].copy_from_slice(&i32::MAX.to_be_bytes());
        std::fs::write(&seg, &bytes).unwrap();
        let e = reader.skip_batch(Position {
            segment: 0,
            byte: first as u64,
            offset: 2,
            epoch: after.epoch,
        });
        assert!(matches!(e, Err(Error::CorruptRecord { .. })), "{e:?}");
    }

    #[test]
    fn offsets_are_found_by_timestamp() {
        let dir = tempfile::tempdir().unwrap();
        let pdir = dir.path().join("t-0");
        UnifiedLog::create(&pdir).unwrap();
        let log = UnifiedLog::open(pdir, "t", 0, small_segments(), Mode::Write).unwrap();
        let t0 = now_ms() - 10_000;
        for i in 0..30i64 {
            let r = ProducerRecord {
                value: Some(Bytes::from(format!("v{i}"))),
                timestamp: t0 + i * 10,
                ..Default::default()
            };
            log.append(&mut encode_batch(&[r], Compression::None).unwrap())
                .unwrap();
        }
        assert_eq!(log.offset_for_timestamp(0).unwrap(), Some(0));
        assert_eq!(log.offset_for_timestamp(t0 + 95).unwrap(), Some(10));
        assert_eq!(log.offset_for_timestamp(t0 + 100).unwrap(), Some(10));
        assert_eq!(log.offset_for_timestamp(t0 + 291).unwrap(), None);
    }

    #[test]
    fn segment_ms_rolls_a_segment_whose_first_record_is_too_old() {
        let dir = tempfile::tempdir().unwrap();
        let pdir = dir.path().join("t-0");
        UnifiedLog::create(&pdir).unwrap();
        let log = UnifiedLog::open(
            pdir.clone(),
            "t",
            0,
            config(&[("segment.ms", "20")]),
            Mode::Write,
        )
        .unwrap();
        log.append(&mut batch(&["a"])).unwrap();
        log.append(&mut batch(&["b"])).unwrap();
        assert_eq!(segment::list_segments(&pdir).unwrap(), [0]);
        std::thread::sleep(std::time::Duration::from_millis(40));
        log.append(&mut batch(&["c"])).unwrap();
        assert_eq!(segment::list_segments(&pdir).unwrap(), [0, 2]);
        assert_eq!(read_all(&log, 0).len(), 3);
    }

    /// A batch from an idempotent producer: id, epoch and first sequence set, CRC recomputed.
    fn idempotent(values: &[&str], pid: i64, epoch: i16, seq: i32) -> BytesMut {
        let mut b = batch(values);
        b[43..51].copy_from_slice(&pid.to_be_bytes());
        b[51..53].copy_from_slice(&epoch.to_be_bytes());
        b[53..57].copy_from_slice(&seq.to_be_bytes());
        let end = b.len();
        let crc = crc32c::crc32c(&b[21..end]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b
    }

    fn open_exclusive(pdir: &Path, config: LogConfig) -> UnifiedLog {
        UnifiedLog::open(pdir.to_path_buf(), "t", 0, config, Mode::Exclusive).unwrap()
    }

    #[test]
    fn a_retried_batch_is_acknowledged_with_its_offsets_across_clean_restarts_and_crashes() {
        let dir = tempfile::tempdir().unwrap();
        let pdir = dir.path().join("t-0");
        UnifiedLog::create(&pdir).unwrap();
        let log = open_exclusive(&pdir, LogConfig::default());
        log.append(&mut batch(&["plain"])).unwrap();
        let first = log.append(&mut idempotent(&["a", "b"], 77, 0, 0)).unwrap();
        assert_eq!((first.base_offset, first.duplicate), (1, false));
        let second = log.append(&mut idempotent(&["c"], 77, 0, 2)).unwrap();
        assert_eq!(second.base_offset, 3);
        let retry = log.append(&mut idempotent(&["a", "b"], 77, 0, 0)).unwrap();
        assert_eq!(
            (retry.base_offset, retry.last_offset, retry.duplicate),
            (1, 2, true)
        );
        assert!(matches!(
            log.append(&mut idempotent(&["x"], 77, 0, 9)),
            Err(Error::OutOfOrderSequence(_))
        ));
        assert_eq!(log.log_end_offset().unwrap(), 4, "nothing appended twice");

        // Clean restart: the state comes back from the snapshot written at close.
        log.close().unwrap();
        let snapshots = super::producer_state::list_snapshots(&pdir).unwrap();
        assert_eq!(snapshots.keys().copied().collect::<Vec<_>>(), [4]);
        let log = open_exclusive(&pdir, LogConfig::default());
        let retry = log.append(&mut idempotent(&["a", "b"], 77, 0, 0)).unwrap();
        assert_eq!(
            (retry.base_offset, retry.duplicate),
            (1, true),
            "an older batch too"
        );
        let retry = log.append(&mut idempotent(&["c"], 77, 0, 2)).unwrap();
        assert_eq!((retry.base_offset, retry.duplicate), (3, true));
        let next = log.append(&mut idempotent(&["d"], 77, 0, 3)).unwrap();
        assert_eq!((next.base_offset, next.duplicate), (4, false));

        // A crash (no close, no snapshot at the end): the state is rebuilt from the snapshot
        // and the batches after it.
        std::mem::forget(log);
        let log = open_exclusive(&pdir, LogConfig::default());
        let retry = log.append(&mut idempotent(&["d"], 77, 0, 3)).unwrap();
        assert_eq!((retry.base_offset, retry.duplicate), (4, true));
        let next = log.append(&mut idempotent(&["e"], 77, 0, 4)).unwrap();
        assert_eq!((next.base_offset, next.duplicate), (5, false));
        assert_eq!(log.log_end_offset().unwrap(), 6);
        assert_eq!(log.producer_ids().unwrap(), [77]);
    }

    #[test]
    fn without_any_snapshot_the_producer_state_comes_from_the_whole_log() {
        let dir = tempfile::tempdir().unwrap();
        let pdir = dir.path().join("t-0");
        UnifiedLog::create(&pdir).unwrap();
        // Shared writers (tools) never load producer state; a crash leaves no snapshot.
        let log = UnifiedLog::open(pdir.clone(), "t", 0, small_segments(), Mode::Write).unwrap();
        for seq in 0..30 {
            log.append(&mut idempotent(&["value-with-some-bytes"], 5, 2, seq))
                .unwrap();
        }
        assert!(segment::list_segments(&pdir).unwrap().len() > 3);
        std::mem::forget(log);
        for (_, p) in super::producer_state::list_snapshots(&pdir).unwrap() {
            std::fs::remove_file(p).unwrap();
        }
        let log = open_exclusive(&pdir, small_segments());
        let retry = log
            .append(&mut idempotent(&["value-with-some-bytes"], 5, 2, 28))
            .unwrap();
        assert_eq!((retry.base_offset, retry.duplicate), (28, true));
        assert!(matches!(
            log.append(&mut idempotent(&["old epoch"], 5, 1, 30)),
            Err(Error::InvalidProducerEpoch(_))
        ));
    }

    #[test]
    fn a_segment_roll_writes_a_producer_snapshot_kafka_can_read() {
        let dir = tempfile::tempdir().unwrap();
        let pdir = dir.path().join("t-0");
        UnifiedLog::create(&pdir).unwrap();
        let log = open_exclusive(&pdir, small_segments());
        for seq in 0..10 {
            log.append(&mut idempotent(&["some value bytes"], 9, 0, seq))
                .unwrap();
        }
        let bases = segment::list_segments(&pdir).unwrap();
        let snapshots = super::producer_state::list_snapshots(&pdir).unwrap();
        assert!(bases.len() > 1);
        // One snapshot per roll, at the new segment's base offset, as Kafka names them.
        for base in &bases[1..] {
            assert!(snapshots.contains_key(base), "{base} in {snapshots:?}");
        }
        let newest = snapshots.values().next_back().unwrap();
        let entries =
            super::producer_state::decode_snapshot(newest, &std::fs::read(newest).unwrap())
                .unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].producer_id, 9);
        drop(log);
    }

    #[test]
    fn an_exclusive_log_killed_without_closing_is_recovered_to_its_last_append() {
        let dir = tempfile::tempdir().unwrap();
        let pdir = dir.path().join("t-0");
        UnifiedLog::create(&pdir).unwrap();
        let log = open_exclusive(&pdir, small_segments());
        for i in 0..25 {
            log.append(&mut batch(&[&format!("v{i:02}")])).unwrap();
        }
        // The state file is only a checkpoint in this mode: the log end is found by recovery.
        std::mem::forget(log);
        let reader = UnifiedLog::open(pdir.clone(), "t", 0, small_segments(), Mode::Read).unwrap();
        assert_eq!(reader.log_end_offset().unwrap(), 25);
        let values: Vec<String> = read_all(&reader, 0).into_iter().map(|(_, v)| v).collect();
        assert_eq!(values.len(), 25);
        assert_eq!(values[24], "v24");
    }
}
