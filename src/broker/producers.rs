//! Producer ids for InitProducerId. Ids are reserved in blocks of 1,000 in the data dir's
//! `.streamlog/producer-id-block` (Kafka's controller hands out blocks the same way), so a
//! restarted broker never hands out an id again: with producer state now durable per partition
//! (see `log::producer_state`), an id reused by a new producer would be mistaken for the old
//! one's retries.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// Ids reserved at a time.
pub const BLOCK_SIZE: i64 = 1000;

#[derive(Debug)]
struct Block {
    next: i64,
    end: i64,
}

/// Hands out producer ids from blocks reserved on disk.
#[derive(Debug)]
pub struct ProducerIdManager {
    path: PathBuf,
    block: Mutex<Option<Block>>,
}

impl ProducerIdManager {
    /// The manager of the data dir whose metadata directory is `meta_dir`.
    pub fn new(meta_dir: &Path) -> Self {
        ProducerIdManager {
            path: meta_dir.join("producer-id-block"),
            block: Mutex::new(None),
        }
    }

    /// A fresh producer id (epoch 0).
    ///
    /// # Errors
    /// `Io` when the next block cannot be reserved.
    pub fn next_id(&self) -> Result<i64> {
        let mut guard = self.block.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = guard.as_mut()
            && b.next < b.end
        {
            b.next += 1;
            return Ok(b.next - 1);
        }
        let start = match std::fs::read_to_string(&self.path) {
            Ok(text) => text.trim().parse::<i64>().map_err(|e| {
                Error::DataDir(format!(
                    "{} is damaged ({e}); it holds the end of the last reserved producer id block",
                    self.path.display()
                ))
            })?,
            // Before blocks were kept, ids came from the clock: stay above those.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                crate::log::unified::now_ms().max(1) << 8
            }
            Err(e) => return Err(Error::io(&self.path, e)),
        };
        let end = start + BLOCK_SIZE;
        crate::log::atomic_file::write(&self.path, format!("{end}\n").as_bytes(), true)?;
        *guard = Some(Block {
            next: start + 1,
            end,
        });
        Ok(start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_never_handed_out_twice_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let first = ProducerIdManager::new(dir.path());
        let a: Vec<i64> = (0..3).map(|_| first.next_id().unwrap()).collect();
        assert_eq!(a[1], a[0] + 1);
        // A restart reserves the next block instead of reusing this one's remaining ids.
        let second = ProducerIdManager::new(dir.path());
        let b = second.next_id().unwrap();
        assert_eq!(b, a[0] + BLOCK_SIZE);
        for _ in 0..BLOCK_SIZE {
            second.next_id().unwrap();
        }
        assert_eq!(second.next_id().unwrap(), a[0] + 2 * BLOCK_SIZE + 1);
    }
}
