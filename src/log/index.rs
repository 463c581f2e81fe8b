//! Sparse offset and time indexes, in Kafka's file formats.
//!
//! `.index`: 8-byte entries (relative offset u32 BE, byte position u32 BE), one for roughly every
//! `index.interval.bytes` of log. `.timeindex`: 12-byte entries (timestamp i64 BE, relative
//! offset u32 BE), appended only when the segment's max timestamp grows. Unlike Kafka we do not
//! preallocate: files hold exactly their entries, so every process sees the same length and a
//! torn trailing entry is simply ignored.
//!
//! No descriptor is kept open between uses (see [`super::handles`]): a writer collects new
//! entries in memory and appends them to the file every [`PENDING_MAX`] entries and whenever the
//! log is flushed, rolled or closed. Lookups see the file plus what is still pending. The file
//! may lag the log by those entries; an index is only a hint where to start scanning, so a
//! reader in another process scans a little further, and recovery rebuilds indexes anyway.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::handles;
use crate::error::{IoContext, Result};

/// Size of one offset index entry.
pub const OFFSET_ENTRY: usize = 8;
/// Size of one time index entry.
pub const TIME_ENTRY: usize = 12;
/// Entries a writer keeps in memory before appending them to the file.
pub const PENDING_MAX: usize = 64;

fn open_append(path: &Path) -> Result<File> {
    let mut o = OpenOptions::new();
    o.create(true).append(true);
    handles::open(path, &o)
}

/// Opens for reading; a missing file is an empty index (it is created with its segment, but a
/// reader may race a roll).
fn open_read(path: &Path) -> Result<Option<File>> {
    match File::open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(_) => handles::open(path, &handles::read_only()).map(Some),
    }
}

/// Number of whole entries in an index file.
fn whole_entries(file: &File, path: &Path, entry: usize) -> Result<u64> {
    Ok(file.metadata().at(path)?.len() / entry as u64)
}

fn read_entry<const N: usize>(file: &File, path: &Path, i: u64) -> Result<[u8; N]> {
    let mut e = [0u8; N];
    file.read_exact_at(&mut e, i * N as u64).at(path)?;
    Ok(e)
}

/// Index of the first entry for which `before` is false, by binary search over the file
/// (`before` must be true for a prefix of the entries).
fn partition_point<const N: usize>(
    file: &File,
    path: &Path,
    n: u64,
    before: impl Fn(&[u8; N]) -> bool,
) -> Result<u64> {
    let (mut lo, mut hi) = (0u64, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if before(&read_entry::<N>(file, path, mid)?) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

fn append_all(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    if bytes.is_empty() {
        return Ok(());
    }
    let mut f = open_append(path)?;
    f.write_all(bytes).at(path)
}

fn offset_entry(e: &[u8; OFFSET_ENTRY], base: i64) -> (i64, u32) {
    let rel = u32::from_be_bytes([e[0], e[1], e[2], e[3]]);
    let pos = u32::from_be_bytes([e[4], e[5], e[6], e[7]]);
    (base + rel as i64, pos)
}

fn time_entry(e: &[u8; TIME_ENTRY], base: i64) -> (i64, i64) {
    let mut ts = [0u8; 8];
    ts.copy_from_slice(&e[..8]);
    let rel = u32::from_be_bytes([e[8], e[9], e[10], e[11]]);
    (i64::from_be_bytes(ts), base + rel as i64)
}

/// Maps offsets to byte positions in one segment.
#[derive(Debug)]
pub struct OffsetIndex {
    path: PathBuf,
    base_offset: i64,
    /// Entries not yet in the file, as (absolute offset, position).
    pending: Vec<(i64, u32)>,
}

impl OffsetIndex {
    /// The index of the segment starting at `base_offset` (created on first write if missing).
    pub fn open(path: PathBuf, base_offset: i64) -> Result<Self> {
        Ok(OffsetIndex {
            path,
            base_offset,
            pending: Vec::new(),
        })
    }

    /// Creates the file if it does not exist yet.
    pub fn create(&self) -> Result<()> {
        open_append(&self.path).map(|_| ())
    }

    /// All whole entries as (absolute offset, position), the pending ones included.
    pub fn entries(&self) -> Result<Vec<(i64, u32)>> {
        let mut out = Vec::new();
        if let Some(file) = open_read(&self.path)? {
            let n = whole_entries(&file, &self.path, OFFSET_ENTRY)?;
            let mut buf = vec![0u8; n as usize * OFFSET_ENTRY];
            file.read_exact_at(&mut buf, 0).at(&self.path)?;
            out.extend(buf.chunks_exact(OFFSET_ENTRY).map(|e| {
                let mut a = [0u8; OFFSET_ENTRY];
                a.copy_from_slice(e);
                offset_entry(&a, self.base_offset)
            }));
        }
        out.extend_from_slice(&self.pending);
        Ok(out)
    }

    /// The last whole entry, if any.
    pub fn last_entry(&self) -> Result<Option<(i64, u32)>> {
        if let Some(&last) = self.pending.last() {
            return Ok(Some(last));
        }
        let Some(file) = open_read(&self.path)? else {
            return Ok(None);
        };
        let n = whole_entries(&file, &self.path, OFFSET_ENTRY)?;
        if n == 0 {
            return Ok(None);
        }
        Ok(Some(offset_entry(
            &read_entry(&file, &self.path, n - 1)?,
            self.base_offset,
        )))
    }

    /// The position of the largest indexed offset ≤ `offset`: where a scan for it can start.
    pub fn lookup(&self, offset: i64) -> Result<u32> {
        let i = self.pending.partition_point(|&(o, _)| o <= offset);
        if i > 0 {
            return Ok(self.pending[i - 1].1);
        }
        let Some(file) = open_read(&self.path)? else {
            return Ok(0);
        };
        let n = whole_entries(&file, &self.path, OFFSET_ENTRY)?;
        let base = self.base_offset;
        let i = partition_point::<OFFSET_ENTRY>(&file, &self.path, n, |e| {
            offset_entry(e, base).0 <= offset
        })?;
        if i == 0 {
            return Ok(0);
        }
        Ok(offset_entry(&read_entry(&file, &self.path, i - 1)?, base).1)
    }

    /// Adds an entry for `offset` at byte `position`, in memory until [`Self::write_pending`].
    pub fn push(&mut self, offset: i64, position: u32) {
        self.pending.push((offset, position));
    }

    /// Adds an entry and writes the pending ones once [`PENDING_MAX`] have gathered.
    pub fn append(&mut self, offset: i64, position: u32) -> Result<()> {
        self.push(offset, position);
        if self.pending.len() >= PENDING_MAX {
            self.write_pending()?;
        }
        Ok(())
    }

    /// Entries not yet in the file.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Forgets pending entries added after the first `keep` (an append that failed).
    pub fn drop_pending_after(&mut self, keep: usize) {
        self.pending.truncate(keep);
    }

    /// Appends the pending entries to the file.
    pub fn write_pending(&mut self) -> Result<()> {
        let mut bytes = Vec::with_capacity(self.pending.len() * OFFSET_ENTRY);
        for &(offset, position) in &self.pending {
            bytes.extend_from_slice(&((offset - self.base_offset) as u32).to_be_bytes());
            bytes.extend_from_slice(&position.to_be_bytes());
        }
        append_all(&self.path, &bytes)?;
        self.pending.clear();
        Ok(())
    }

    /// Drops entries pointing at or after `position` (after a log truncation), and any torn tail.
    pub fn truncate_to_position(&mut self, position: u64) -> Result<()> {
        self.pending.retain(|&(_, p)| (p as u64) < position);
        let Some(file) = open_read(&self.path)? else {
            return Ok(());
        };
        let n = whole_entries(&file, &self.path, OFFSET_ENTRY)?;
        let base = self.base_offset;
        let keep = partition_point::<OFFSET_ENTRY>(&file, &self.path, n, |e| {
            (offset_entry(e, base).1 as u64) < position
        })?;
        set_len(&self.path, keep * OFFSET_ENTRY as u64)
    }

    /// Removes every entry.
    pub fn reset(&mut self) -> Result<()> {
        self.pending.clear();
        set_len(&self.path, 0)
    }

    /// Writes the pending entries and fsyncs the file.
    pub fn flush(&mut self) -> Result<()> {
        self.write_pending()?;
        sync(&self.path)
    }
}

/// Maps timestamps to offsets in one segment.
#[derive(Debug)]
pub struct TimeIndex {
    path: PathBuf,
    base_offset: i64,
    /// Entries not yet in the file, as (timestamp, absolute offset).
    pending: Vec<(i64, i64)>,
}

impl TimeIndex {
    /// The time index of the segment starting at `base_offset` (created on first write).
    pub fn open(path: PathBuf, base_offset: i64) -> Result<Self> {
        Ok(TimeIndex {
            path,
            base_offset,
            pending: Vec::new(),
        })
    }

    /// Creates the file if it does not exist yet.
    pub fn create(&self) -> Result<()> {
        open_append(&self.path).map(|_| ())
    }

    /// All whole entries as (timestamp, absolute offset), the pending ones included.
    pub fn entries(&self) -> Result<Vec<(i64, i64)>> {
        let mut out = Vec::new();
        if let Some(file) = open_read(&self.path)? {
            let n = whole_entries(&file, &self.path, TIME_ENTRY)?;
            let mut buf = vec![0u8; n as usize * TIME_ENTRY];
            file.read_exact_at(&mut buf, 0).at(&self.path)?;
            out.extend(buf.chunks_exact(TIME_ENTRY).map(|e| {
                let mut a = [0u8; TIME_ENTRY];
                a.copy_from_slice(e);
                time_entry(&a, self.base_offset)
            }));
        }
        out.extend_from_slice(&self.pending);
        Ok(out)
    }

    /// The last whole entry, if any.
    pub fn last_entry(&self) -> Result<Option<(i64, i64)>> {
        if let Some(&last) = self.pending.last() {
            return Ok(Some(last));
        }
        let Some(file) = open_read(&self.path)? else {
            return Ok(None);
        };
        let n = whole_entries(&file, &self.path, TIME_ENTRY)?;
        if n == 0 {
            return Ok(None);
        }
        Ok(Some(time_entry(
            &read_entry(&file, &self.path, n - 1)?,
            self.base_offset,
        )))
    }

    /// The offset of the last entry with timestamp < `timestamp`: a scan for the first record
    /// at or after `timestamp` can start at that offset.
    pub fn lookup(&self, timestamp: i64) -> Result<Option<i64>> {
        let i = self.pending.partition_point(|&(t, _)| t < timestamp);
        if i > 0 {
            return Ok(Some(self.pending[i - 1].1));
        }
        let Some(file) = open_read(&self.path)? else {
            return Ok(None);
        };
        let n = whole_entries(&file, &self.path, TIME_ENTRY)?;
        let base = self.base_offset;
        let i = partition_point::<TIME_ENTRY>(&file, &self.path, n, |e| {
            time_entry(e, base).0 < timestamp
        })?;
        if i == 0 {
            return Ok(None);
        }
        Ok(Some(
            time_entry(&read_entry(&file, &self.path, i - 1)?, base).1,
        ))
    }

    /// Adds an entry, in memory until [`Self::write_pending`].
    pub fn push(&mut self, timestamp: i64, offset: i64) {
        self.pending.push((timestamp, offset));
    }

    /// Entries not yet in the file.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Forgets pending entries added after the first `keep` (an append that failed).
    pub fn drop_pending_after(&mut self, keep: usize) {
        self.pending.truncate(keep);
    }

    /// Adds (timestamp, offset) if `timestamp` is larger than `last`, the last entry's.
    pub fn maybe_append(&mut self, timestamp: i64, offset: i64, last: Option<i64>) -> Result<()> {
        if last.is_some_and(|t| timestamp <= t) {
            return Ok(());
        }
        self.pending.push((timestamp, offset));
        if self.pending.len() >= PENDING_MAX {
            self.write_pending()?;
        }
        Ok(())
    }

    /// Appends the pending entries to the file.
    pub fn write_pending(&mut self) -> Result<()> {
        let mut bytes = Vec::with_capacity(self.pending.len() * TIME_ENTRY);
        for &(timestamp, offset) in &self.pending {
            bytes.extend_from_slice(&timestamp.to_be_bytes());
            bytes.extend_from_slice(&((offset - self.base_offset) as u32).to_be_bytes());
        }
        append_all(&self.path, &bytes)?;
        self.pending.clear();
        Ok(())
    }

    /// Drops entries for offsets ≥ `offset`, and any torn tail.
    pub fn truncate_to_offset(&mut self, offset: i64) -> Result<()> {
        self.pending.retain(|&(_, o)| o < offset);
        let Some(file) = open_read(&self.path)? else {
            return Ok(());
        };
        let n = whole_entries(&file, &self.path, TIME_ENTRY)?;
        let base = self.base_offset;
        let keep = partition_point::<TIME_ENTRY>(&file, &self.path, n, |e| {
            time_entry(e, base).1 < offset
        })?;
        set_len(&self.path, keep * TIME_ENTRY as u64)
    }

    /// Removes every entry.
    pub fn reset(&mut self) -> Result<()> {
        self.pending.clear();
        set_len(&self.path, 0)
    }

    /// Writes the pending entries and fsyncs the file.
    pub fn flush(&mut self) -> Result<()> {
        self.write_pending()?;
        sync(&self.path)
    }
}

fn set_len(path: &Path, len: u64) -> Result<()> {
    let f = handles::open(path, &handles::read_write())?;
    f.set_len(len).at(path)
}

fn sync(path: &Path) -> Result<()> {
    let f = handles::open(path, &handles::read_write())?;
    f.sync_data().at(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_see_the_file_and_the_pending_entries() {
        let dir = tempfile::tempdir().unwrap();
        let mut idx = OffsetIndex::open(dir.path().join("0.index"), 100).unwrap();
        idx.create().unwrap();
        assert_eq!(idx.lookup(150).unwrap(), 0);
        for i in 0..(PENDING_MAX as i64 + 10) {
            idx.append(100 + i * 10, (i * 1000) as u32).unwrap();
        }
        // The first PENDING_MAX went to the file; the rest are in memory.
        let on_disk = std::fs::metadata(dir.path().join("0.index")).unwrap().len();
        assert_eq!(on_disk, (PENDING_MAX * OFFSET_ENTRY) as u64);
        assert_eq!(idx.lookup(99).unwrap(), 0);
        assert_eq!(idx.lookup(100).unwrap(), 0);
        assert_eq!(idx.lookup(125).unwrap(), 2000);
        let last_file = 100 + (PENDING_MAX as i64 - 1) * 10;
        assert_eq!(
            idx.lookup(last_file + 5).unwrap(),
            (PENDING_MAX as u32 - 1) * 1000
        );
        assert_eq!(
            idx.lookup(i64::MAX).unwrap(),
            (PENDING_MAX as u32 + 9) * 1000
        );
        assert_eq!(idx.entries().unwrap().len(), PENDING_MAX + 10);
        idx.truncate_to_position(3000).unwrap();
        assert_eq!(idx.entries().unwrap().len(), 3);
        assert_eq!(idx.last_entry().unwrap(), Some((120, 2000)));

        let mut t = TimeIndex::open(dir.path().join("0.timeindex"), 100).unwrap();
        for i in 0..(PENDING_MAX as i64 + 3) {
            t.maybe_append(1000 + i, 100 + i, None).unwrap();
        }
        t.maybe_append(5, 999, Some(2000)).unwrap();
        assert_eq!(t.lookup(1000).unwrap(), None);
        assert_eq!(t.lookup(1001).unwrap(), Some(100));
        assert_eq!(
            t.lookup(1000 + PENDING_MAX as i64 + 1).unwrap(),
            Some(100 + PENDING_MAX as i64)
        );
        t.flush().unwrap();
        let fresh = TimeIndex::open(dir.path().join("0.timeindex"), 100).unwrap();
        assert_eq!(fresh.entries().unwrap().len(), PENDING_MAX + 3);
        assert_eq!(
            fresh.last_entry().unwrap(),
            Some((1000 + PENDING_MAX as i64 + 2, 100 + PENDING_MAX as i64 + 2))
        );
    }
}
