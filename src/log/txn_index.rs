//! The aborted-transaction index (Kafka's `TransactionIndex`, `<base>.txnindex`): one entry per
//! transaction aborted by a marker in that segment, so a `read_committed` Fetch can tell the
//! consumer which producers' records in its range to drop without the broker reading them.
//!
//! Entry (34 bytes, big endian): version i16 (0), producer id i64, first offset i64, last
//! offset i64 (the abort marker's), last stable offset i64 (the LSO once it was written).
//! Files appear with their first entry; a segment without one has no file, which reads as
//! empty.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::segment;
use crate::error::{Error, IoContext, Result};

const ENTRY: usize = 34;
const VERSION: i16 = 0;

/// One aborted transaction on one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    /// The producer that aborted.
    pub producer_id: i64,
    /// Offset of its first record in the transaction.
    pub first_offset: i64,
    /// Offset of the abort marker.
    pub last_offset: i64,
    /// The partition's last stable offset right after the marker.
    pub last_stable_offset: i64,
}

impl AbortedTxn {
    fn encode(&self) -> [u8; ENTRY] {
        let mut b = [0u8; ENTRY];
        b[0..2].copy_from_slice(&VERSION.to_be_bytes());
        b[2..10].copy_from_slice(&self.producer_id.to_be_bytes());
        b[10..18].copy_from_slice(&self.first_offset.to_be_bytes());
        b[18..26].copy_from_slice(&self.last_offset.to_be_bytes());
        b[26..34].copy_from_slice(&self.last_stable_offset.to_be_bytes());
        b
    }

    fn decode(b: &[u8]) -> Self {
        let at = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[i..i + 8]);
            i64::from_be_bytes(a)
        };
        AbortedTxn {
            producer_id: at(2),
            first_offset: at(10),
            last_offset: at(18),
            last_stable_offset: at(26),
        }
    }
}

/// The index file of the segment at `base`.
pub fn path(dir: &Path, base: i64) -> PathBuf {
    dir.join(segment::file_name(base, "txnindex"))
}

/// Every entry of one index file (none when it does not exist). A torn last entry (a crash
/// while it was written) is ignored.
///
/// # Errors
/// `DataDir` for an entry of an unknown version; `Io` when the file cannot be read.
pub fn read(path: &Path) -> Result<Vec<AbortedTxn>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(path, e)),
    };
    let mut out = Vec::with_capacity(bytes.len() / ENTRY);
    for e in bytes.chunks_exact(ENTRY) {
        let version = i16::from_be_bytes([e[0], e[1]]);
        if version != VERSION {
            return Err(Error::DataDir(format!(
                "{}: aborted transaction entry of unknown version {version}",
                path.display()
            )));
        }
        out.push(AbortedTxn::decode(e));
    }
    Ok(out)
}

/// Appends entries to a segment's index file.
///
/// # Errors
/// `Io` when the file cannot be written.
pub fn append(path: &Path, entries: &[AbortedTxn]) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .at(path)?;
    // A torn entry left by a crash would shift every later one: cut it off first.
    let len = f.metadata().at(path)?.len();
    if len % ENTRY as u64 != 0 {
        f.set_len(len - len % ENTRY as u64).at(path)?;
    }
    let mut buf = Vec::with_capacity(entries.len() * ENTRY);
    for e in entries {
        buf.extend_from_slice(&e.encode());
    }
    f.write_all(&buf).at(path)
}

/// Rewrites a segment's index file with `entries` (none: the file goes).
///
/// # Errors
/// `Io` when the file cannot be written or removed.
pub fn write_all(path: &Path, entries: &[AbortedTxn]) -> Result<()> {
    if entries.is_empty() {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(path, e)),
            _ => Ok(()),
        };
    }
    let mut buf = Vec::with_capacity(entries.len() * ENTRY);
    for e in entries {
        buf.extend_from_slice(&e.encode());
    }
    super::atomic_file::write(path, &buf, false)
}

/// Drops the entries whose marker is at or past `offset` (the log was cut there), as Kafka's
/// `TransactionIndex.truncateTo`.
///
/// # Errors
/// `Io` when the file cannot be read or rewritten.
pub fn truncate_to(path: &Path, offset: i64) -> Result<()> {
    let entries = read(path)?;
    let kept: Vec<AbortedTxn> = entries
        .iter()
        .copied()
        .filter(|e| e.last_offset < offset)
        .collect();
    if kept.len() != entries.len() {
        write_all(path, &kept)?;
    }
    Ok(())
}

/// The aborted transactions a reader of `from..upper` must know of: those whose marker is at
/// or after `from` and whose first record is before `upper`, found in the index files of the
/// segments from the one holding `from` (Kafka's `collectAbortedTransactions`). `bases` are
/// the log's segment bases, ascending; entries are returned in marker order.
///
/// # Errors
/// As [`read`].
pub fn collect(dir: &Path, bases: &[i64], from: i64, upper: i64) -> Result<Vec<AbortedTxn>> {
    let first = bases.iter().rposition(|&b| b <= from).unwrap_or(0);
    let mut out = Vec::new();
    for &base in &bases[first..] {
        let mut complete = false;
        for e in read(&path(dir, base))? {
            if e.last_offset >= from && e.first_offset < upper {
                out.push(e);
            }
            // Every transaction open before `upper` had ended once the LSO passed it.
            if e.last_stable_offset > upper {
                complete = true;
            }
        }
        if complete {
            break;
        }
    }
    Ok(out)
}

/// The batches of `data` a `read_committed` reader keeps: those of aborted transactions go
/// (Kafka's consumer does this with the Fetch's aborted transactions: a producer's records from
/// the first offset of an aborted transaction are dropped until its abort marker).
pub fn drop_aborted(data: bytes::Bytes, aborted: &[AbortedTxn]) -> bytes::Bytes {
    if aborted.is_empty() {
        return data;
    }
    let mut pending: Vec<&AbortedTxn> = aborted.iter().collect();
    pending.sort_by_key(|a| a.first_offset);
    let mut next = 0;
    let mut aborting = std::collections::HashSet::new();
    let mut kept = bytes::BytesMut::with_capacity(data.len());
    let mut at = 0;
    while at < data.len() {
        let Ok(h) = super::batch::BatchHeader::parse(&data[at..]) else {
            break;
        };
        let end = (at + h.size()).min(data.len());
        while next < pending.len() && pending[next].first_offset <= h.last_offset() {
            aborting.insert(pending[next].producer_id);
            next += 1;
        }
        let drop = if h.is_control() {
            aborting.remove(&h.producer_id);
            false
        } else {
            super::control::is_transactional(&h) && aborting.contains(&h.producer_id)
        };
        if !drop {
            kept.extend_from_slice(&data[at..end]);
        }
        at = end;
    }
    kept.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(pid: i64, first: i64, last: i64, lso: i64) -> AbortedTxn {
        AbortedTxn {
            producer_id: pid,
            first_offset: first,
            last_offset: last,
            last_stable_offset: lso,
        }
    }

    #[test]
    fn entries_round_trip_truncate_and_are_collected_by_range() {
        let dir = tempfile::tempdir().unwrap();
        let p0 = path(dir.path(), 0);
        let p100 = path(dir.path(), 100);
        append(&p0, &[txn(1, 5, 20, 21), txn(2, 10, 40, 41)]).unwrap();
        append(&p100, &[txn(3, 90, 120, 121)]).unwrap();
        assert_eq!(std::fs::metadata(&p0).unwrap().len(), 68);
        assert_eq!(read(&p0).unwrap()[1], txn(2, 10, 40, 41));
        let bases = [0, 100];
        let pids = |from, upper| -> Vec<i64> {
            collect(dir.path(), &bases, from, upper)
                .unwrap()
                .iter()
                .map(|e| e.producer_id)
                .collect()
        };
        assert_eq!(pids(0, 200), [1, 2, 3]);
        assert_eq!(pids(21, 200), [2, 3], "marker before the range");
        assert_eq!(pids(0, 9), [1], "first record after the range");
        assert_eq!(pids(121, 200), Vec::<i64>::new());
        // A torn entry is cut off before the next append.
        let mut f = std::fs::OpenOptions::new().append(true).open(&p0).unwrap();
        f.write_all(&[0, 0, 1]).unwrap();
        append(&p0, &[txn(4, 41, 45, 46)]).unwrap();
        assert_eq!(read(&p0).unwrap().len(), 3);
        truncate_to(&p0, 40).unwrap();
        assert_eq!(read(&p0).unwrap(), [txn(1, 5, 20, 21)]);
        truncate_to(&p0, 0).unwrap();
        assert!(!p0.exists());
        assert!(read(&p0).unwrap().is_empty());
    }
}
