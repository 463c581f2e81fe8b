//! One segment of a partition's log: `<base>.log` with its `.index` and `.timeindex`.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::batch::{self, BatchError, BatchHeader};
use super::index::{OffsetIndex, TimeIndex};
use super::state::LogState;
use crate::error::{Error, IoContext, Result};

/// Kafka's file name for a segment file: the base offset zero-padded to 20 digits.
pub fn file_name(base_offset: i64, suffix: &str) -> String {
    format!("{base_offset:020}.{suffix}")
}

/// Base offsets of the segments in `dir`, ascending.
pub fn list_segments(dir: &Path) -> Result<Vec<i64>> {
    let mut bases = Vec::new();
    for entry in std::fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(stem) = name.strip_suffix(".log")
            && stem.len() == 20
            && let Ok(base) = stem.parse::<i64>()
        {
            bases.push(base);
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

/// Opens a segment's log file for reading.
pub fn open_log_read(dir: &Path, base_offset: i64) -> Result<File> {
    let path = dir.join(file_name(base_offset, "log"));
    File::open(&path).at(path)
}

/// One segment: its `.log` file (by path; handles come from [`super::handles`]) and its indexes,
/// whose new entries the writer keeps until they are due (see [`super::index`]).
#[derive(Debug)]
pub struct LogSegment {
    /// First offset the segment can hold; names its files.
    pub base_offset: i64,
    /// Path of the `.log` file.
    pub path: PathBuf,
    /// Sparse offset → position index.
    pub offset_index: OffsetIndex,
    /// Sparse timestamp → offset index.
    pub time_index: TimeIndex,
}

impl LogSegment {
    /// The segment starting at `base_offset` in `dir`, creating its `.log` if needed. The index
    /// files appear with their first entries, or when the segment is flushed (a reader treats a
    /// missing index as empty): a new partition costs two file creations fewer.
    pub fn open(dir: &Path, base_offset: i64) -> Result<Self> {
        let path = dir.join(file_name(base_offset, "log"));
        super::handles::open(&path, &super::handles::read_write())?;
        Ok(LogSegment {
            base_offset,
            offset_index: OffsetIndex::open(
                dir.join(file_name(base_offset, "index")),
                base_offset,
            )?,
            time_index: TimeIndex::open(
                dir.join(file_name(base_offset, "timeindex")),
                base_offset,
            )?,
            path,
        })
    }

    /// A read-write handle of the `.log` file of its own (recovery; appends use the cache).
    pub fn open_file(&self) -> Result<File> {
        super::handles::open(&self.path, &super::handles::read_write())
    }

    /// Appends the indexes' pending entries to their files.
    pub fn write_indexes(&mut self) -> Result<()> {
        self.offset_index.write_pending()?;
        self.time_index.write_pending()
    }

    /// Writes pending index entries and fsyncs the indexes (the log file is synced by whoever
    /// holds its handle).
    pub fn flush_indexes(&mut self) -> Result<()> {
        self.offset_index.flush()?;
        self.time_index.flush()
    }
}

/// What a scan of a segment found.
#[derive(Debug, Default, Clone, Copy)]
pub struct ScanSummary {
    /// Byte just after the last valid batch.
    pub valid_size: u64,
    /// Offset after the last valid batch, if any batch was found.
    pub next_offset: Option<i64>,
    /// Timestamp of the first valid batch.
    pub first_timestamp: Option<i64>,
    /// Largest timestamp and the last offset of the batch holding it.
    pub max_timestamp: Option<(i64, i64)>,
    /// True if the scan stopped at a corrupt or torn batch rather than at the end.
    pub stopped_early: bool,
}

/// Reads the batches of `file` from byte `from` to `end` in large chunks, checking CRCs, and
/// calls `visit(position, header, batch bytes)` for each valid one. Stops at the first invalid or incomplete
/// batch and reports where valid data ends. A batch whose offsets do not follow the previous
/// one's (the first must start at `min_offset` or later) is invalid too: the base offset lies
/// outside the CRC, and a log whose offsets go backwards would hand out an offset twice.
pub fn scan(
    file: &File,
    path: &Path,
    from: u64,
    end: u64,
    min_offset: i64,
    mut visit: impl FnMut(u64, &BatchHeader, &[u8]) -> Result<()>,
) -> Result<ScanSummary> {
    let mut next_min = min_offset;
    const CHUNK: usize = 1 << 20;
    let mut summary = ScanSummary {
        valid_size: from,
        ..Default::default()
    };
    let mut buf: Vec<u8> = Vec::new();
    let mut buf_start = from; // file position of buf[0]
    let mut pos = from;
    loop {
        // Make sure buf covers a whole header at pos, then the whole batch.
        let need_header = (pos - buf_start) as usize + batch::HEADER_LEN;
        if buf.len() < need_header && !fill(file, path, &mut buf, &mut buf_start, pos, end, CHUNK)?
        {
            summary.stopped_early = pos < end;
            break;
        }
        let rel = (pos - buf_start) as usize;
        let header = match BatchHeader::parse(&buf[rel..]) {
            Ok(h) => h,
            Err(BatchError::Incomplete) => {
                summary.stopped_early = pos < end;
                break;
            }
            Err(BatchError::Corrupt(_)) => {
                summary.stopped_early = true;
                break;
            }
        };
        let size = header.size();
        if pos + size as u64 > end {
            summary.stopped_early = true;
            break;
        }
        if buf.len() < rel + size {
            fill(
                file,
                path,
                &mut buf,
                &mut buf_start,
                pos,
                end,
                size.max(CHUNK),
            )?;
        }
        let rel = (pos - buf_start) as usize;
        if buf.len() < rel + size
            || batch::validate(&buf[rel..rel + size]).is_err()
            || header.base_offset < next_min
        {
            summary.stopped_early = true;
            break;
        }
        next_min = header.next_offset();
        visit(pos, &header, &buf[rel..rel + size])?;
        if summary.first_timestamp.is_none() && from == 0 {
            summary.first_timestamp = Some(header.max_timestamp);
        }
        if summary
            .max_timestamp
            .is_none_or(|(t, _)| header.max_timestamp > t)
        {
            summary.max_timestamp = Some((header.max_timestamp, header.last_offset()));
        }
        summary.next_offset = Some(header.next_offset());
        pos += size as u64;
        summary.valid_size = pos;
    }
    Ok(summary)
}

/// Refills `buf` so that it starts at `pos` and holds up to `want` bytes (bounded by `end`).
/// Returns false when nothing more can be read.
fn fill(
    file: &File,
    path: &Path,
    buf: &mut Vec<u8>,
    buf_start: &mut u64,
    pos: u64,
    end: u64,
    want: usize,
) -> Result<bool> {
    if pos >= end {
        return Ok(false);
    }
    let len = want.min((end - pos) as usize);
    buf.clear();
    buf.resize(len, 0);
    let mut done = 0;
    while done < len {
        let n = file.read_at(&mut buf[done..], pos + done as u64).at(path)?;
        if n == 0 {
            break;
        }
        done += n;
    }
    buf.truncate(done);
    *buf_start = pos;
    Ok(done > 0)
}

/// Finds the byte position of the batch holding `offset` (or the first batch after it),
/// starting from the index's hint, reading headers only. Returns `end` if there is none.
pub fn search_offset(file: &File, path: &Path, from: u64, end: u64, offset: i64) -> Result<u64> {
    let mut found = None;
    let stopped = walk_headers(file, path, from, end, |pos, h| {
        if h.last_offset() >= offset {
            found = Some(pos);
            return Ok(false);
        }
        Ok(true)
    })?;
    Ok(found.unwrap_or(stopped.min(end)))
}

/// Kafka's LogSegment.append indexing for one batch written at `position`: tracks the max
/// timestamp, and once more than `interval` bytes went by since the last entry, adds an offset
/// index entry (and a time index entry if the max timestamp grew). The entries go to the
/// indexes' pending lists; the caller writes them out.
pub fn index_batch(
    offset_index: &mut OffsetIndex,
    time_index: &mut TimeIndex,
    state: &mut LogState,
    header: &BatchHeader,
    position: u64,
    interval: u64,
) {
    if header.max_timestamp > state.max_timestamp {
        state.max_timestamp = header.max_timestamp;
        state.max_timestamp_offset = header.last_offset();
    }
    if state.first_batch_timestamp < 0 {
        state.first_batch_timestamp = header.max_timestamp;
    }
    if state.bytes_since_index > interval {
        offset_index.push(header.last_offset(), position as u32);
        append_time_index(time_index, state);
        state.bytes_since_index = 0;
    }
    state.bytes_since_index += header.size() as u64;
}

/// Adds a time index entry for the max timestamp so far, if it grew since the last entry.
pub fn append_time_index(time_index: &mut TimeIndex, state: &mut LogState) {
    if state.max_timestamp >= 0 && state.max_timestamp > state.last_time_index {
        time_index.push(state.max_timestamp, state.max_timestamp_offset);
        state.last_time_index = state.max_timestamp;
    }
}

/// Walks the batch headers of `file` from `from` to `end` without reading the records (64 KiB
/// reads, so many small batches cost one), calling `visit(position, header)` until it returns
/// false. Returns the position where the walk stopped. Does not check CRCs.
///
/// # Errors
/// `CorruptRecord` at a header that does not parse.
pub fn walk_headers(
    file: &File,
    path: &Path,
    from: u64,
    end: u64,
    mut visit: impl FnMut(u64, &BatchHeader) -> Result<bool>,
) -> Result<u64> {
    const CHUNK: usize = 64 * 1024;
    let mut buf = vec![0u8; CHUNK];
    let mut buf_start = from;
    let mut buf_len = 0usize;
    let mut pos = from;
    while pos + batch::HEADER_LEN as u64 <= end {
        if pos < buf_start || pos + batch::HEADER_LEN as u64 > buf_start + buf_len as u64 {
            let want = CHUNK.min((end - pos) as usize);
            buf_start = pos;
            buf_len = 0;
            while buf_len < want {
                let n = file
                    .read_at(&mut buf[buf_len..want], pos + buf_len as u64)
                    .at(path)?;
                if n == 0 {
                    break;
                }
                buf_len += n;
            }
            if buf_len < batch::HEADER_LEN {
                break;
            }
        }
        let rel = (pos - buf_start) as usize;
        let h = BatchHeader::parse(&buf[rel..buf_len]).map_err(|e| Error::CorruptRecord {
            path: path.to_path_buf(),
            position: pos,
            reason: format!("{e:?}"),
        })?;
        if !visit(pos, &h)? {
            return Ok(pos);
        }
        pos += h.size() as u64;
    }
    Ok(pos.min(end))
}
