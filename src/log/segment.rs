//! One segment of a partition's log: `<base>.log` with its `.index` and `.timeindex`.

use std::fs::{File, OpenOptions};
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

/// The files of one segment, open for appending.
#[derive(Debug)]
pub struct LogSegment {
    /// First offset the segment can hold; names its files.
    pub base_offset: i64,
    /// Path of the `.log` file, for error messages.
    pub path: PathBuf,
    /// The `.log` file, read-write (writes are positional).
    pub log: File,
    /// Sparse offset → position index.
    pub offset_index: OffsetIndex,
    /// Sparse timestamp → offset index.
    pub time_index: TimeIndex,
}

impl LogSegment {
    /// Opens the segment starting at `base_offset` in `dir`, creating its files if needed.
    pub fn open(dir: &Path, base_offset: i64) -> Result<Self> {
        let path = dir.join(file_name(base_offset, "log"));
        let log = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .at(&path)?;
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
            log,
        })
    }

    /// Current length of the `.log` file.
    pub fn file_len(&self) -> Result<u64> {
        Ok(self.log.metadata().at(&self.path)?.len())
    }

    /// The `.log` file's length, or None when it has been unlinked (its topic was deleted
    /// under us): one `fstat` for both.
    pub fn live_len(&self) -> Result<Option<u64>> {
        use std::os::unix::fs::MetadataExt;
        let m = self.log.metadata().at(&self.path)?;
        Ok((m.nlink() != 0).then_some(m.len()))
    }

    /// fsyncs the log and its indexes.
    pub fn flush(&self) -> Result<()> {
        self.log.sync_data().at(&self.path)?;
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
/// calls `visit(position, header)` for each valid one. Stops at the first invalid or incomplete
/// batch and reports where valid data ends.
pub fn scan(
    file: &File,
    path: &Path,
    from: u64,
    end: u64,
    mut visit: impl FnMut(u64, &BatchHeader) -> Result<()>,
) -> Result<ScanSummary> {
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
        if buf.len() < rel + size || batch::validate(&buf[rel..rel + size]).is_err() {
            summary.stopped_early = true;
            break;
        }
        visit(pos, &header)?;
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
/// starting from the index's hint, scanning headers only. Returns `end` if there is none.
pub fn search_offset(file: &File, path: &Path, from: u64, end: u64, offset: i64) -> Result<u64> {
    let mut pos = from;
    let mut header = [0u8; batch::HEADER_LEN];
    while pos + batch::HEADER_LEN as u64 <= end {
        file.read_exact_at(&mut header, pos).at(path)?;
        let h = BatchHeader::parse(&header).map_err(|e| Error::CorruptRecord {
            path: path.to_path_buf(),
            position: pos,
            reason: format!("{e:?}"),
        })?;
        if h.last_offset() >= offset {
            return Ok(pos);
        }
        pos += h.size() as u64;
    }
    Ok(end.min(pos))
}

/// Kafka's LogSegment.append indexing for one batch written at `position`: tracks the max
/// timestamp, and once more than `interval` bytes went by since the last entry, adds an offset
/// index entry (and a time index entry if the max timestamp grew).
pub fn index_batch(
    offset_index: &mut OffsetIndex,
    time_index: &mut TimeIndex,
    state: &mut LogState,
    header: &BatchHeader,
    position: u64,
    interval: u64,
) -> Result<()> {
    if header.max_timestamp > state.max_timestamp {
        state.max_timestamp = header.max_timestamp;
        state.max_timestamp_offset = header.last_offset();
    }
    if state.first_batch_timestamp < 0 {
        state.first_batch_timestamp = header.max_timestamp;
    }
    if state.bytes_since_index > interval {
        offset_index.append(header.last_offset(), position as u32)?;
        append_time_index(time_index, state)?;
        state.bytes_since_index = 0;
    }
    state.bytes_since_index += header.size() as u64;
    Ok(())
}

/// Adds a time index entry for the max timestamp so far, if it grew since the last entry.
pub fn append_time_index(time_index: &mut TimeIndex, state: &mut LogState) -> Result<()> {
    if state.max_timestamp >= 0 && state.max_timestamp > state.last_time_index {
        time_index.maybe_append(state.max_timestamp, state.max_timestamp_offset, None)?;
        state.last_time_index = state.max_timestamp;
    }
    Ok(())
}
