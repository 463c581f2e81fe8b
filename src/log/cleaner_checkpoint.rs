//! `cleaner-offset-checkpoint`: how far the cleaner has cleaned each compacted partition, in
//! Kafka's checkpoint format at the root of the data dir:
//!
//! ```text
//! 0                      <- version
//! 2                      <- number of entries
//! connect-offsets 0 1234 <- topic, partition, first dirty offset
//! prices 3 88
//! ```
//!
//! Several processes may clean partitions of one data dir (embedded writers); each rewrites
//! the file under an exclusive `flock` on a lock file beside it, read-modify-write, and
//! replaces it atomically, so no entry is lost to a concurrent update.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};

/// The file's name in the data dir.
pub const FILE: &str = "cleaner-offset-checkpoint";
const LOCK: &str = ".cleaner-offset-checkpoint.lock";

/// The data dir holding a partition directory.
pub fn data_dir_of(partition_dir: &Path) -> PathBuf {
    partition_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Parses the file's text; lines that do not parse are skipped (a damaged checkpoint only makes
/// the cleaner start over from the log start, as Kafka does for an unknown partition).
fn parse(text: &str) -> BTreeMap<(String, i32), i64> {
    let mut out = BTreeMap::new();
    for line in text.lines().skip(2) {
        let mut parts = line.split_whitespace();
        if let (Some(t), Some(p), Some(o), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
            && let (Ok(p), Ok(o)) = (p.parse::<i32>(), o.parse::<i64>())
        {
            out.insert((t.to_string(), p), o);
        }
    }
    out
}

fn render(entries: &BTreeMap<(String, i32), i64>) -> String {
    let mut s = format!("0\n{}\n", entries.len());
    for ((t, p), o) in entries {
        s.push_str(&format!("{t} {p} {o}\n"));
    }
    s
}

/// Every entry of the data dir's checkpoint (empty when there is none).
pub fn read_all(data_dir: &Path) -> Result<BTreeMap<(String, i32), i64>> {
    let path = data_dir.join(FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(parse(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(crate::error::Error::io(path, e)),
    }
}

/// The first dirty offset recorded for one partition.
pub fn read(data_dir: &Path, topic: &str, partition: i32) -> Result<Option<i64>> {
    Ok(read_all(data_dir)?
        .get(&(topic.to_string(), partition))
        .copied())
}

/// Sets (or with None removes) one partition's entry.
pub fn update(data_dir: &Path, topic: &str, partition: i32, offset: Option<i64>) -> Result<()> {
    let lock_path = data_dir.join(LOCK);
    let lock = super::unified::open_rw(&lock_path)?;
    lock.lock().at(&lock_path)?;
    let mut entries = read_all(data_dir)?;
    let key = (topic.to_string(), partition);
    match offset {
        Some(o) => {
            entries.insert(key, o);
        }
        None => {
            if entries.remove(&key).is_none() {
                return Ok(());
            }
        }
    }
    super::atomic_file::write(&data_dir.join(FILE), render(&entries).as_bytes(), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_in_kafkas_layout() {
        let dir = tempfile::tempdir().unwrap();
        update(dir.path(), "prices", 3, Some(88)).unwrap();
        update(dir.path(), "connect-offsets", 0, Some(1234)).unwrap();
        let text = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert_eq!(text, "0\n2\nconnect-offsets 0 1234\nprices 3 88\n");
        assert_eq!(read(dir.path(), "prices", 3).unwrap(), Some(88));
        update(dir.path(), "prices", 3, None).unwrap();
        assert_eq!(read(dir.path(), "prices", 3).unwrap(), None);
    }
}
