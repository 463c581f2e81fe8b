//! Sparse offset and time indexes, in Kafka's file formats.
//!
//! `.index`: 8-byte entries (relative offset u32 BE, byte position u32 BE), one for roughly every
//! `index.interval.bytes` of log. `.timeindex`: 12-byte entries (timestamp i64 BE, relative
//! offset u32 BE), appended only when the segment's max timestamp grows. Unlike Kafka we do not
//! preallocate: files hold exactly their entries, so every process sees the same length and a
//! torn trailing entry is simply ignored.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};

/// Size of one offset index entry.
pub const OFFSET_ENTRY: usize = 8;
/// Size of one time index entry.
pub const TIME_ENTRY: usize = 12;

fn open_append(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .at(path)
}

fn read_all(file: &File, path: &Path) -> Result<Vec<u8>> {
    let len = file.metadata().at(path)?.len() as usize;
    let mut buf = vec![0u8; len];
    let mut done = 0;
    while done < len {
        let n = file.read_at(&mut buf[done..], done as u64).at(path)?;
        if n == 0 {
            break;
        }
        done += n;
    }
    buf.truncate(done);
    Ok(buf)
}

/// Maps offsets to byte positions in one segment.
#[derive(Debug)]
pub struct OffsetIndex {
    path: PathBuf,
    file: File,
    base_offset: i64,
}

impl OffsetIndex {
    /// Opens (creating if needed) the index of the segment starting at `base_offset`.
    pub fn open(path: PathBuf, base_offset: i64) -> Result<Self> {
        let file = open_append(&path)?;
        Ok(OffsetIndex {
            path,
            file,
            base_offset,
        })
    }

    /// All whole entries as (absolute offset, position).
    pub fn entries(&self) -> Result<Vec<(i64, u32)>> {
        let buf = read_all(&self.file, &self.path)?;
        Ok(buf
            .chunks_exact(OFFSET_ENTRY)
            .map(|e| {
                let rel = u32::from_be_bytes([e[0], e[1], e[2], e[3]]);
                let pos = u32::from_be_bytes([e[4], e[5], e[6], e[7]]);
                (self.base_offset + rel as i64, pos)
            })
            .collect())
    }

    /// The last whole entry, if any.
    pub fn last_entry(&self) -> Result<Option<(i64, u32)>> {
        let len = self.file.metadata().at(&self.path)?.len() as usize;
        let whole = len - len % OFFSET_ENTRY;
        if whole == 0 {
            return Ok(None);
        }
        let mut e = [0u8; OFFSET_ENTRY];
        self.file
            .read_exact_at(&mut e, (whole - OFFSET_ENTRY) as u64)
            .at(&self.path)?;
        let rel = u32::from_be_bytes([e[0], e[1], e[2], e[3]]);
        let pos = u32::from_be_bytes([e[4], e[5], e[6], e[7]]);
        Ok(Some((self.base_offset + rel as i64, pos)))
    }

    /// The position of the largest indexed offset ≤ `offset`: where a scan for it can start.
    pub fn lookup(&self, offset: i64) -> Result<u32> {
        let entries = self.entries()?;
        let i = entries.partition_point(|&(o, _)| o <= offset);
        Ok(if i == 0 { 0 } else { entries[i - 1].1 })
    }

    /// Appends an entry for `offset` at byte `position`.
    pub fn append(&mut self, offset: i64, position: u32) -> Result<()> {
        let mut e = [0u8; OFFSET_ENTRY];
        e[..4].copy_from_slice(&((offset - self.base_offset) as u32).to_be_bytes());
        e[4..].copy_from_slice(&position.to_be_bytes());
        self.file.write_all(&e).at(&self.path)
    }

    /// Drops entries pointing at or after `position` (after a log truncation), and any torn tail.
    pub fn truncate_to_position(&mut self, position: u64) -> Result<()> {
        let keep = self
            .entries()?
            .iter()
            .take_while(|&&(_, p)| (p as u64) < position)
            .count();
        self.file
            .set_len((keep * OFFSET_ENTRY) as u64)
            .at(&self.path)
    }

    /// Removes every entry.
    pub fn reset(&mut self) -> Result<()> {
        self.file.set_len(0).at(&self.path)
    }

    /// fsyncs the index file.
    pub fn flush(&self) -> Result<()> {
        self.file.sync_data().at(&self.path)
    }
}

/// Maps timestamps to offsets in one segment.
#[derive(Debug)]
pub struct TimeIndex {
    path: PathBuf,
    file: File,
    base_offset: i64,
}

impl TimeIndex {
    /// Opens (creating if needed) the time index of the segment starting at `base_offset`.
    pub fn open(path: PathBuf, base_offset: i64) -> Result<Self> {
        let file = open_append(&path)?;
        Ok(TimeIndex {
            path,
            file,
            base_offset,
        })
    }

    /// All whole entries as (timestamp, absolute offset).
    pub fn entries(&self) -> Result<Vec<(i64, i64)>> {
        let buf = read_all(&self.file, &self.path)?;
        Ok(buf
            .chunks_exact(TIME_ENTRY)
            .map(|e| {
                let mut ts = [0u8; 8];
                ts.copy_from_slice(&e[..8]);
                let rel = u32::from_be_bytes([e[8], e[9], e[10], e[11]]);
                (i64::from_be_bytes(ts), self.base_offset + rel as i64)
            })
            .collect())
    }

    /// The last whole entry, if any.
    pub fn last_entry(&self) -> Result<Option<(i64, i64)>> {
        Ok(self.entries()?.last().copied())
    }

    /// The offset of the last entry with timestamp < `timestamp`: a scan for the first record
    /// at or after `timestamp` can start at that offset.
    pub fn lookup(&self, timestamp: i64) -> Result<Option<i64>> {
        let entries = self.entries()?;
        let i = entries.partition_point(|&(t, _)| t < timestamp);
        Ok(if i == 0 { None } else { Some(entries[i - 1].1) })
    }

    /// Appends (timestamp, offset) if `timestamp` is larger than the last entry's.
    pub fn maybe_append(&mut self, timestamp: i64, offset: i64, last: Option<i64>) -> Result<()> {
        if last.is_some_and(|t| timestamp <= t) {
            return Ok(());
        }
        let mut e = [0u8; TIME_ENTRY];
        e[..8].copy_from_slice(&timestamp.to_be_bytes());
        e[8..].copy_from_slice(&((offset - self.base_offset) as u32).to_be_bytes());
        self.file.write_all(&e).at(&self.path)
    }

    /// Drops entries for offsets ≥ `offset`, and any torn tail.
    pub fn truncate_to_offset(&mut self, offset: i64) -> Result<()> {
        let keep = self
            .entries()?
            .iter()
            .take_while(|&&(_, o)| o < offset)
            .count();
        self.file.set_len((keep * TIME_ENTRY) as u64).at(&self.path)
    }

    /// Removes every entry.
    pub fn reset(&mut self) -> Result<()> {
        self.file.set_len(0).at(&self.path)
    }

    /// fsyncs the index file.
    pub fn flush(&self) -> Result<()> {
        self.file.sync_data().at(&self.path)
    }
}
