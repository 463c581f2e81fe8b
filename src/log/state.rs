//! The partition's shared state file: where the log ends, where recovery must start, and whether
//! the last writer closed cleanly. It doubles as the append lock across processes.
//!
//! Kafka keeps the same facts in memory plus the data dir's `recovery-point-offset-checkpoint`
//! and `.kafka_cleanshutdown`; here several processes share a partition, so they live in one
//! small file every writer rewrites under an exclusive `flock` after each append. Readers use
//! `active_size` as the end of readable data, so they never see a batch still being written.
//!
//! Layout (little endian, 112 bytes):
//!
//! | bytes   | field                 |
//! |---------|-----------------------|
//! | 0..4    | magic `SLP1`          |
//! | 4       | clean shutdown flag   |
//! | 8..16   | active segment base   |
//! | 16..24  | active segment size   |
//! | 24..32  | log end offset        |
//! | 32..40  | log start offset      |
//! | 40..48  | recovery point segment|
//! | 48..56  | recovery point byte   |
//! | 56..64  | max timestamp so far  |
//! | 64..72  | offset of max ts      |
//! | 72..80  | bytes since last index entry |
//! | 80..88  | last time index timestamp (i64::MIN: none) |
//! | 88..96  | active segment's first batch timestamp (-1: empty) |
//! | 96..104 | generation (bumped on every change) |

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::error::{IoContext, Result};

const MAGIC: &[u8; 4] = b"SLP1";
/// Bytes in the state file.
pub const STATE_LEN: usize = 112;

/// The shared facts about one partition's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogState {
    /// The last writer closed the log cleanly: no recovery needed.
    pub clean: bool,
    /// Base offset of the active (last) segment.
    pub active_base: i64,
    /// Bytes of complete batches in the active segment.
    pub active_size: u64,
    /// Offset the next record will get.
    pub log_end_offset: i64,
    /// First offset still readable.
    pub log_start_offset: i64,
    /// Segment of the recovery point: everything before it is flushed and checked.
    pub recovery_segment: i64,
    /// Byte within `recovery_segment` of the recovery point.
    pub recovery_position: u64,
    /// Largest timestamp in the active segment (-1 if none).
    pub max_timestamp: i64,
    /// Offset of the batch holding `max_timestamp`.
    pub max_timestamp_offset: i64,
    /// Bytes appended to the active segment since its last offset index entry.
    pub bytes_since_index: u64,
    /// Timestamp of the active segment's last time index entry.
    pub last_time_index: i64,
    /// Timestamp of the active segment's first batch, for `segment.ms` (-1 if empty).
    pub first_batch_timestamp: i64,
    /// Bumped on every change, so a cached copy can be compared cheaply.
    pub generation: u64,
}

impl LogState {
    /// The state of a new, empty log starting at `base`.
    pub fn empty(base: i64) -> Self {
        LogState {
            clean: true,
            active_base: base,
            active_size: 0,
            log_end_offset: base,
            log_start_offset: base,
            recovery_segment: base,
            recovery_position: 0,
            max_timestamp: -1,
            max_timestamp_offset: base,
            bytes_since_index: 0,
            last_time_index: i64::MIN,
            first_batch_timestamp: -1,
            generation: 0,
        }
    }

    fn encode(&self) -> [u8; STATE_LEN] {
        let mut b = [0u8; STATE_LEN];
        b[0..4].copy_from_slice(MAGIC);
        b[4] = self.clean as u8;
        let fields: [i64; 12] = [
            self.active_base,
            self.active_size as i64,
            self.log_end_offset,
            self.log_start_offset,
            self.recovery_segment,
            self.recovery_position as i64,
            self.max_timestamp,
            self.max_timestamp_offset,
            self.bytes_since_index as i64,
            self.last_time_index,
            self.first_batch_timestamp,
            self.generation as i64,
        ];
        for (i, v) in fields.iter().enumerate() {
            b[8 + i * 8..16 + i * 8].copy_from_slice(&v.to_le_bytes());
        }
        b
    }

    fn decode(b: &[u8; STATE_LEN]) -> Option<Self> {
        if &b[0..4] != MAGIC {
            return None;
        }
        let f = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[8 + i * 8..16 + i * 8]);
            i64::from_le_bytes(a)
        };
        Some(LogState {
            clean: b[4] == 1,
            active_base: f(0),
            active_size: f(1) as u64,
            log_end_offset: f(2),
            log_start_offset: f(3),
            recovery_segment: f(4),
            recovery_position: f(5) as u64,
            max_timestamp: f(6),
            max_timestamp_offset: f(7),
            bytes_since_index: f(8) as u64,
            last_time_index: f(9),
            first_batch_timestamp: f(10),
            generation: f(11) as u64,
        })
    }

    /// Reads the state; `None` if the file is empty or not a state file.
    pub fn read(file: &File, path: &Path) -> Result<Option<Self>> {
        let mut b = [0u8; STATE_LEN];
        match file.read_exact_at(&mut b, 0) {
            Ok(()) => Ok(LogState::decode(&b)),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(crate::error::Error::io(path, e)),
        }
    }

    /// Writes the state, bumping its generation.
    pub fn write(&mut self, file: &File, path: &Path) -> Result<()> {
        self.generation = self.generation.wrapping_add(1);
        file.write_all_at(&self.encode(), 0).at(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_through_its_encoding() {
        let mut s = LogState::empty(42);
        s.active_size = 1234;
        s.clean = false;
        s.max_timestamp = 99;
        assert_eq!(LogState::decode(&s.encode()), Some(s));
        let mut garbage = s.encode();
        garbage[0] = b'X';
        assert_eq!(LogState::decode(&garbage), None);
    }
}
