//! A partition's log (Kafka's `UnifiedLog`): its segments, appends, reads, rolls and recovery.
//!
//! Several processes may hold the same partition open. Appends are serialized by an exclusive
//! `flock` on the state file (see [`super::state`]); each writer re-reads the state under the lock
//! and adopts what others appended. Readers bound their reads by the published state, so they
//! only ever see whole batches.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};

use super::batch::{self, BatchHeader};
use super::config::LogConfig;
use super::segment::{self, LogSegment};
use super::state::LogState;
use crate::error::{Error, IoContext, Result};

/// Name of the state file in a partition directory (also the append lock).
pub const STATE_FILE: &str = ".streamlog-state";
/// Name of the file every live writer holds a shared lock on.
pub const WRITERS_FILE: &str = ".streamlog-writers";

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
}

/// Whole batches read from the log.
#[derive(Debug, Clone)]
pub struct FetchData {
    /// Zero or more complete, CRC-checked batches.
    pub records: Bytes,
    /// Where to continue reading.
    pub next: Position,
    /// The log start offset when read.
    pub log_start_offset: i64,
    /// The log end offset (high watermark on one node) when read.
    pub log_end_offset: i64,
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

/// Whole batches found for a fetch (see [`UnifiedLog::read_records`]).
#[derive(Debug, Clone)]
pub struct FetchSlice {
    /// Zero or more complete batches.
    pub records: Records,
    /// Where to continue reading.
    pub next: Position,
    /// The log start offset when read.
    pub log_start_offset: i64,
    /// The log end offset (high watermark on one node) when read.
    pub log_end_offset: i64,
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
fn region_batches(seg: &SegmentSpan, max_bytes: usize) -> Result<(FileRegion, Position)> {
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
        if next > *end || (next > limit && last.is_some()) {
            break;
        }
        last = Some(h);
        at = next;
    }
    let Some(last) = last else {
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
}

/// How a process uses the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Only reads; never marks the log dirty.
    Read,
    /// Appends; the log is dirty while this handle is open.
    Write,
}

/// The writer's view: the active segment and the state it last saw.
struct Writer {
    active: LogSegment,
    state: LogState,
    unflushed_messages: i64,
    last_flush: Instant,
}

/// One partition's log.
pub struct UnifiedLog {
    dir: PathBuf,
    topic: String,
    partition: i32,
    config: LogConfig,
    state_path: PathBuf,
    /// Holds the state; `flock`ed exclusively around appends and recovery.
    state_file: File,
    /// Held with a shared lock while this handle writes, so others know a writer lives.
    writers: Option<File>,
    writer: Mutex<Option<Writer>>,
    /// Read handles of segment files, by base offset.
    readers: Mutex<BTreeMap<i64, Arc<File>>>,
}

impl std::fmt::Debug for UnifiedLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UnifiedLog({}-{})", self.topic, self.partition)
    }
}

/// Holds the exclusive append lock; released on drop.
struct AppendLock<'a>(&'a File);

impl Drop for AppendLock<'_> {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

impl UnifiedLog {
    /// Creates the directory and first segment of a new partition log.
    pub fn create(dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).at(dir)?;
        LogSegment::open(dir, 0)?;
        let state_path = dir.join(STATE_FILE);
        let file = open_rw(&state_path)?;
        if LogState::read(&file, &state_path)?.is_none() {
            LogState::empty(0).write(&file, &state_path)?;
        }
        Ok(())
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
        let state_file = open_rw(&state_path)?;
        let writers_path = dir.join(WRITERS_FILE);
        let writers = open_rw(&writers_path)?;
        let mut log = UnifiedLog {
            dir,
            topic: topic.to_string(),
            partition,
            config,
            state_path,
            state_file,
            writers: None,
            writer: Mutex::new(None),
            readers: Mutex::new(BTreeMap::new()),
        };
        // Exclusive on the writers file means nobody else is writing: safe to recover.
        let alone = writers.try_lock().is_ok();
        if alone {
            let _guard = log.append_lock()?;
            let state = LogState::read(&log.state_file, &log.state_path)?;
            if state.is_none_or(|s| !s.clean) || mode == Mode::Write {
                let mut recovered = match state {
                    Some(s) if s.clean => s,
                    _ => {
                        super::recovery::recover(&log.dir, state, log.config.index_interval_bytes)?
                    }
                };
                if mode == Mode::Write {
                    recovered.clean = false;
                    super::retention::apply(&log.dir, &mut recovered, &log.config, now_ms())?;
                }
                recovered.write(&log.state_file, &log.state_path)?;
            }
        }
        if mode == Mode::Write {
            // Converts an exclusive lock in place, or waits for a recovering opener to finish.
            writers.lock_shared().at(&writers_path)?;
            log.writers = Some(writers);
        } else if alone {
            let _ = writers.unlock();
        }
        Ok(log)
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

    fn append_lock(&self) -> Result<AppendLock<'_>> {
        self.state_file.lock().at(&self.state_path)?;
        Ok(AppendLock(&self.state_file))
    }

    /// The published state: log start and end offsets and the active segment.
    pub fn state(&self) -> Result<LogState> {
        LogState::read(&self.state_file, &self.state_path)?.ok_or_else(|| {
            Error::DataDir(format!(
                "{} is missing or damaged; reopen the partition to recover it",
                self.state_path.display()
            ))
        })
    }

    /// The offset the next record will get.
    pub fn log_end_offset(&self) -> Result<i64> {
        Ok(self.state()?.log_end_offset)
    }

    /// The first offset still in the log.
    pub fn log_start_offset(&self) -> Result<i64> {
        Ok(self.state()?.log_start_offset)
    }

    fn lock_writer(&self) -> MutexGuard<'_, Option<Writer>> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The checks an append makes before touching the log: writable handle, size within
    /// `max.message.bytes`, one whole batch with a good CRC, and a record count that matches its
    /// offset range. A caller with several batches checks them all first, so none is appended
    /// when one is bad.
    pub fn check_batch(&self, batch_bytes: &[u8]) -> Result<BatchHeader> {
        if self.writers.is_none() {
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
        // overlapping offsets or leave holes (Kafka's LogValidator refuses it too).
        if header.records_count as i64 != header.last_offset_delta as i64 + 1 {
            return Err(Error::CorruptRecord {
                path: PathBuf::from("<produce request>"),
                position: 0,
                reason: format!(
                    "batch of {} records has last offset delta {}",
                    header.records_count, header.last_offset_delta
                ),
            });
        }
        Ok(header)
    }

    /// Appends one encoded batch (base offset ignored: the log assigns offsets).
    ///
    /// # Errors
    /// `RecordTooLarge` past `max.message.bytes`, `CorruptRecord` for a batch that fails its
    /// checks, `Io` when the disk does.
    pub fn append(&self, batch_bytes: &mut BytesMut) -> Result<AppendInfo> {
        let header = self.check_batch(batch_bytes)?;
        let mut guard = self.lock_writer();
        let _lock = self.append_lock()?;
        let w = self.sync_writer(&mut guard)?;
        let now = now_ms();
        let size = batch_bytes.len() as u64;
        if self.should_roll(&w.state, size, now) {
            self.roll(w, now)?;
        }
        let base_offset = w.state.log_end_offset;
        batch::set_base_offset(batch_bytes, base_offset);
        let mut log_append_time = -1;
        if self.config.log_append_time {
            batch::set_log_append_time(batch_bytes, now);
            log_append_time = now;
        }
        let header = BatchHeader {
            base_offset,
            max_timestamp: if log_append_time >= 0 {
                now
            } else {
                header.max_timestamp
            },
            ..header
        };
        let position = w.state.active_size;
        w.active
            .log
            .write_all_at(batch_bytes, position)
            .at(&w.active.path)?;
        segment::index_batch(
            &mut w.active.offset_index,
            &mut w.active.time_index,
            &mut w.state,
            &header,
            position,
            self.config.index_interval_bytes,
        )?;
        w.state.active_size += size;
        w.state.log_end_offset = header.next_offset();
        w.unflushed_messages += header.records_count as i64;
        if w.unflushed_messages >= self.config.flush_messages
            || self
                .config
                .flush_interval()
                .is_some_and(|d| w.last_flush.elapsed() >= d)
        {
            w.active.log.sync_data().at(&w.active.path)?;
            w.unflushed_messages = 0;
            w.last_flush = Instant::now();
            w.state.recovery_segment = w.state.active_base;
            w.state.recovery_position = w.state.active_size;
        }
        w.state.write(&self.state_file, &self.state_path)?;
        Ok(AppendInfo {
            base_offset,
            last_offset: header.last_offset(),
            log_append_time,
            log_start_offset: w.state.log_start_offset,
        })
    }

    fn should_roll(&self, state: &LogState, incoming: u64, now: i64) -> bool {
        state.active_size > 0
            && (state.active_size + incoming > self.config.segment_bytes
                || (state.first_batch_timestamp >= 0
                    && now - state.first_batch_timestamp > self.config.segment_ms)
                || state.log_end_offset - state.active_base + 1 > u32::MAX as i64)
    }

    /// Closes the active segment (flushed, final time index entry) and starts a new one at the
    /// log end offset, then applies retention to the closed segments.
    fn roll(&self, w: &mut Writer, now: i64) -> Result<()> {
        segment::append_time_index(&mut w.active.time_index, &mut w.state)?;
        w.active.flush()?;
        let base = w.state.log_end_offset;
        w.active = LogSegment::open(&self.dir, base)?;
        w.state.active_base = base;
        w.state.active_size = 0;
        w.state.recovery_segment = base;
        w.state.recovery_position = 0;
        w.state.max_timestamp = -1;
        w.state.max_timestamp_offset = base;
        w.state.bytes_since_index = 0;
        w.state.last_time_index = i64::MIN;
        w.state.first_batch_timestamp = -1;
        super::retention::apply(&self.dir, &mut w.state, &self.config, now)
    }

    /// Brings the writer's view up to date with what other processes did, under the append lock.
    fn sync_writer<'g>(
        &self,
        guard: &'g mut MutexGuard<'_, Option<Writer>>,
    ) -> Result<&'g mut Writer> {
        let mut state = self.state()?;
        let stale = match guard.as_ref() {
            Some(w) => w.active.base_offset != state.active_base,
            None => true,
        };
        if stale {
            **guard = Some(Writer {
                active: LogSegment::open(&self.dir, state.active_base)?,
                state,
                unflushed_messages: 0,
                last_flush: Instant::now(),
            });
        }
        let Some(w) = guard.as_mut() else {
            unreachable!("writer was just set")
        };
        let Some(len) = w.active.live_len()? else {
            return Err(Error::UnknownTopic(self.topic.clone()));
        };
        // A writer that died between writing a batch and publishing it leaves bytes past the
        // published size: keep what is whole and valid, cut a torn tail.
        if len != state.active_size {
            super::recovery::recover_tail(
                &mut state,
                &mut w.active,
                len,
                self.config.index_interval_bytes,
            )?;
            state.write(&self.state_file, &self.state_path)?;
        }
        w.state = state;
        Ok(w)
    }

    /// Kafka's DeleteRecords: moves the log start offset up to `offset` (the log end if -1) and
    /// deletes the segments wholly below it. Returns the new log start offset.
    pub fn delete_records_before(&self, offset: i64) -> Result<i64> {
        let mut guard = self.lock_writer();
        let _lock = self.append_lock()?;
        let w = self.sync_writer(&mut guard)?;
        let target = if offset < 0 {
            w.state.log_end_offset
        } else {
            offset
        };
        if target > w.state.log_end_offset {
            return Err(self.out_of_range(target, &w.state));
        }
        if target > w.state.log_start_offset {
            w.state.log_start_offset = target;
            let bases = segment::list_segments(&self.dir)?;
            for pair in bases.windows(2) {
                // A closed segment whose successor starts at or below the target holds nothing
                // readable any more.
                if pair[1] <= target && pair[0] < w.state.active_base {
                    for suffix in ["log", "index", "timeindex"] {
                        let p = self.dir.join(segment::file_name(pair[0], suffix));
                        let _ = std::fs::remove_file(&p);
                    }
                }
            }
            w.state.write(&self.state_file, &self.state_path)?;
        }
        Ok(w.state.log_start_offset)
    }

    /// Deletes the closed segments retention allows (the broker's periodic check; writers also
    /// apply it when they open a log or roll a segment).
    pub fn apply_retention(&self) -> Result<()> {
        let mut guard = self.lock_writer();
        let _lock = self.append_lock()?;
        let w = self.sync_writer(&mut guard)?;
        let before = w.state.log_start_offset;
        super::retention::apply(&self.dir, &mut w.state, &self.config, now_ms())?;
        if w.state.log_start_offset != before {
            w.state.write(&self.state_file, &self.state_path)?;
        }
        Ok(())
    }

    /// fsyncs the active segment and moves the recovery point to the log end.
    pub fn flush(&self) -> Result<()> {
        let mut guard = self.lock_writer();
        if guard.is_none() {
            return Ok(());
        }
        let _lock = self.append_lock()?;
        let w = self.sync_writer(&mut guard)?;
        w.active.flush()?;
        w.unflushed_messages = 0;
        w.last_flush = Instant::now();
        w.state.recovery_segment = w.state.active_base;
        w.state.recovery_position = w.state.active_size;
        w.state.write(&self.state_file, &self.state_path)
    }

    /// Flushes and, if this was the last live writer, marks the log cleanly shut down so the
    /// next opener skips recovery.
    pub fn close(mut self) -> Result<()> {
        self.close_inner()
    }

    fn close_inner(&mut self) -> Result<()> {
        let Some(writers) = self.writers.take() else {
            return Ok(());
        };
        self.flush()?;
        let _lock = self.append_lock()?;
        let _ = writers.unlock();
        if writers.try_lock().is_ok() {
            let mut state = self.state()?;
            state.clean = true;
            state.write(&self.state_file, &self.state_path)?;
            let _ = writers.unlock();
        }
        Ok(())
    }

    fn reader(&self, base: i64) -> Result<Arc<File>> {
        let mut readers = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = readers.get(&base) {
            return Ok(f.clone());
        }
        let f = Arc::new(segment::open_log_read(&self.dir, base)?);
        // Keep a handful of handles; sequential readers only need the last one or two.
        while readers.len() >= 8 {
            let first = *readers.keys().next().unwrap_or(&base);
            readers.remove(&first);
        }
        readers.insert(base, f.clone());
        Ok(f)
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

    /// Finds where to start reading `offset`: its segment and the batch holding it.
    ///
    /// # Errors
    /// `OffsetOutOfRange` below the log start offset or past the log end offset.
    pub fn locate(&self, offset: i64) -> Result<Position> {
        let state = self.state()?;
        if offset < state.log_start_offset || offset > state.log_end_offset {
            return Err(self.out_of_range(offset, &state));
        }
        let bases = segment::list_segments(&self.dir)?;
        let seg = bases
            .iter()
            .rev()
            .find(|&&b| b <= offset)
            .copied()
            .unwrap_or(state.active_base);
        let index =
            super::index::OffsetIndex::open(self.dir.join(segment::file_name(seg, "index")), seg)?;
        let hint = index.lookup(offset)? as u64;
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
        })
    }

    /// The position of the first record with timestamp ≥ `timestamp`, as (offset, position), or
    /// None when every record is older (Kafka's ListOffsets by timestamp).
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<i64>> {
        let state = self.state()?;
        for seg in segment::list_segments(&self.dir)? {
            let tindex = super::index::TimeIndex::open(
                self.dir.join(segment::file_name(seg, "timeindex")),
                seg,
            )?;
            let file = self.reader(seg)?;
            let path = self.dir.join(segment::file_name(seg, "log"));
            let end = if seg == state.active_base {
                state.active_size
            } else {
                file.metadata().at(&path)?.len()
            };
            let start = match tindex.lookup(timestamp)? {
                Some(o) => {
                    let idx = super::index::OffsetIndex::open(
                        self.dir.join(segment::file_name(seg, "index")),
                        seg,
                    )?;
                    idx.lookup(o)? as u64
                }
                None => 0,
            };
            let mut found = None;
            segment::scan(&file, &path, start, end, |_, h| {
                if found.is_none() && h.max_timestamp >= timestamp {
                    found = Some(*h);
                }
                Ok(())
            })?;
            if let Some(h) = found {
                // The batch holds a record at or after the timestamp; find which one.
                let pos = self.locate(h.base_offset.max(state.log_start_offset))?;
                let data = self.read(pos, h.size())?;
                let mut records = Vec::new();
                super::codec::decode_batches(data.records, &mut records)?;
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
    /// Moves on to the next segment when `pos` is at the end of a closed one.
    ///
    /// # Errors
    /// `OffsetOutOfRange` if retention removed `pos`, `CorruptRecord` on a batch that fails its
    /// CRC (a corrupt batch is never returned as data).
    pub fn read(&self, pos: Position, max_bytes: usize) -> Result<FetchData> {
        let state = self.state()?;
        let (records, next) = match self.seek_readable(pos, &state)? {
            Readable::End(pos) => (Bytes::new(), pos),
            Readable::Segment(seg) => self.copy_batches(&seg, max_bytes)?,
        };
        Ok(FetchData {
            records,
            next,
            log_start_offset: state.log_start_offset,
            log_end_offset: state.log_end_offset,
        })
    }

    /// Like [`read`](Self::read), but a read of `copy_below` bytes or more is returned as a
    /// range of the segment file, for the broker to send with `sendfile` as Kafka does: the
    /// record bytes never pass through this process. Such a range is found from the batch
    /// headers alone and is not CRC-checked here (Kafka does not check on fetch either; the
    /// consumer checks, and recovery checks after a crash).
    pub fn read_records(
        &self,
        pos: Position,
        max_bytes: usize,
        copy_below: usize,
    ) -> Result<FetchSlice> {
        let state = self.state()?;
        let (records, next) = match self.seek_readable(pos, &state)? {
            Readable::End(pos) => (Records::Memory(Bytes::new()), pos),
            Readable::Segment(seg) => {
                if max_bytes.min((seg.end - seg.pos.byte) as usize) < copy_below {
                    let (b, next) = self.copy_batches(&seg, max_bytes)?;
                    (Records::Memory(b), next)
                } else {
                    let (r, next) = region_batches(&seg, max_bytes)?;
                    (Records::File(r), next)
                }
            }
        };
        Ok(FetchSlice {
            records,
            next,
            log_start_offset: state.log_start_offset,
            log_end_offset: state.log_end_offset,
        })
    }

    /// Finds the segment bytes readable at `pos`, moving on to the next segment when `pos` is
    /// at the end of a closed one.
    fn seek_readable(&self, mut pos: Position, state: &LogState) -> Result<Readable> {
        if pos.offset < state.log_start_offset {
            return Err(self.out_of_range(pos.offset, state));
        }
        loop {
            if pos.segment > state.active_base {
                // The log was truncated or recreated under us.
                return Err(self.out_of_range(pos.offset, state));
            }
            let file = self.reader(pos.segment)?;
            let path = self.dir.join(segment::file_name(pos.segment, "log"));
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
            let next = segment::list_segments(&self.dir)?
                .into_iter()
                .find(|&b| b > pos.segment);
            match next {
                Some(b) => {
                    pos = Position {
                        segment: b,
                        byte: 0,
                        offset: pos.offset.max(b),
                    }
                }
                None => return Ok(Readable::End(pos)),
            }
        }
    }

    /// Reads whole, CRC-checked batches of `seg` into memory.
    fn copy_batches(&self, seg: &SegmentSpan, max_bytes: usize) -> Result<(Bytes, Position)> {
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
        if let Ok(h) = BatchHeader::parse(&buf)
            && h.size() > buf.len()
            && pos.byte + h.size() as u64 <= *end
        {
            buf = BytesMut::zeroed(h.size());
            read_exact(file, path, &mut buf, pos.byte)?;
        }
        let mut iter = batch::BatchIter::new(&buf, true);
        let mut last: Option<BatchHeader> = None;
        for (_, h) in iter.by_ref() {
            last = Some(h);
        }
        if let Some((at, reason)) = iter.error.take() {
            return Err(Error::CorruptRecord {
                path: path.clone(),
                position: pos.byte + at as u64,
                reason,
            });
        }
        let used = iter.position();
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
            },
        ))
    }

    /// The largest timestamp in the log and the offset of the batch holding it (ListOffsets
    /// MAX_TIMESTAMP), from the time indexes and the active segment's state.
    pub fn max_timestamp(&self) -> Result<Option<(i64, i64)>> {
        let state = self.state()?;
        let mut best: Option<(i64, i64)> = None;
        for seg in segment::list_segments(&self.dir)? {
            let candidate = if seg == state.active_base {
                (state.max_timestamp >= 0)
                    .then_some((state.max_timestamp, state.max_timestamp_offset))
            } else {
                super::index::TimeIndex::open(
                    self.dir.join(segment::file_name(seg, "timeindex")),
                    seg,
                )?
                .last_entry()?
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
        let mut total = 0;
        for base in segment::list_segments(&self.dir)? {
            let path = self.dir.join(segment::file_name(base, "log"));
            total += std::fs::metadata(&path).at(&path)?.len();
        }
        Ok(total)
    }
}

impl Drop for UnifiedLog {
    fn drop(&mut self) {
        let _ = self.close_inner();
    }
}

/// Opens a file read-write, creating it if needed and keeping its content.
pub(crate) fn open_rw(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .at(path)
}

fn read_exact(file: &File, path: &Path, buf: &mut [u8], at: u64) -> Result<()> {
    file.read_exact_at(buf, at).at(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::codec::{ProducerRecord, decode_batches, encode_batch};
    use kafka_protocol::records::Compression;

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
            let data = log.read(pos, 1000).unwrap();
            if data.records.is_empty() {
                break;
            }
            let mut recs = Vec::new();
            decode_batches(data.records, &mut recs).unwrap();
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
                let copied = log.read(pos, max_bytes).unwrap();
                let sliced = log.read_records(pos, max_bytes, 0).unwrap();
                assert_eq!(sliced.next, copied.next, "from {from}, max {max_bytes}");
                match sliced.records {
                    Records::File(r) => assert_eq!(region_bytes(&r), copied.records.to_vec()),
                    Records::Memory(b) => {
                        assert!(b.is_empty() && copied.records.is_empty());
                        break;
                    }
                }
                // Below the threshold the same read comes back in memory.
                let small = log.read_records(pos, max_bytes, usize::MAX).unwrap();
                assert!(matches!(small.records, Records::Memory(ref b) if *b == copied.records));
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
        let err = reader.read(reader.locate(0).unwrap(), 1 << 20).unwrap_err();
        match err {
            Error::CorruptRecord { path, position, .. } => {
                assert_eq!(path, seg);
                assert_eq!(position, 0);
            }
            other => panic!("expected CorruptRecord, got {other}"),
        }
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
}
