//! The partition's shared state file: where the log ends, where recovery must start, and whether
//! the last writer closed cleanly. It doubles as the append lock across processes.
//!
//! Kafka keeps the same facts in memory plus the data dir's `recovery-point-offset-checkpoint`
//! and `.kafka_cleanshutdown`; here several processes share a partition, so they live in one
//! small file every writer rewrites under an exclusive `flock` after each append. Readers use
//! `active_size` as the end of readable data, so they never see a batch still being written.
//!
//! Layout (little endian, 136 bytes; files written before producer state was tracked end at
//! byte 112 and have no CRC — they are still read):
//!
//! | bytes   | field                 |
//! |---------|-----------------------|
//! | 0..4    | magic `SLP1`          |
//! | 4       | clean shutdown flag   |
//! | 5       | 1: bytes 104..112 are known |
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
//! | 104..112| end offset of the last batch with a producer id (see below) |
//! | 112..116| segments version (bumped when the segment list changes) |
//! | 116..120| clean epoch (odd while the cleaner swaps segments in; see below) |
//! | 120..124| CRC-32C of bytes 0..120 |
//! | 124..128| reserved (0) |
//! | 128..136| first unstable offset: first offset of the oldest open transaction (-1: none) |
//!
//! The CRC covers bytes 0..120 and, in 136-byte files, 128..136 too; 128-byte files (from
//! before transactions) have no open transaction.
//!
//! The producer end lets a log that idempotent producers have not written since its last
//! producer snapshot skip the scan that rebuilds producer state (see [`super::producer_state`]).
//! Readers take the state without the append lock, so the CRC tells a torn read (a writer
//! rewriting it at that moment) from a real one; a torn read is retried.
//!
//! The two layout counters let every process keep a partition's segment list in memory: it is
//! listed again only when the segments version moves. The clean epoch guards byte positions: a
//! cleaned segment replaces older ones under the same name, so a position taken in another
//! epoch is found again by offset, and while the epoch is odd (a swap is under way) readers wait
//! (see [`super::cleaner`]).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::error::{IoContext, Result};

const MAGIC: &[u8; 4] = b"SLP1";
/// Bytes in the state file.
pub const STATE_LEN: usize = 136;
/// Bytes in a state file written before transactions.
const PRE_TXN_STATE_LEN: usize = 128;
/// Bytes in a state file written before the producer end and the CRC were added.
const OLD_STATE_LEN: usize = 112;
const CRC_AT: usize = 120;

/// The CRC of an encoded state: bytes 0..120, and 128..136 when the file has them.
fn crc_of(b: &[u8]) -> u32 {
    let crc = crc32c::crc32c(&b[..CRC_AT]);
    if b.len() >= STATE_LEN {
        crc32c::crc32c_append(crc, &b[PRE_TXN_STATE_LEN..STATE_LEN])
    } else {
        crc
    }
}

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
    /// Offset after the last batch that carried a producer id, if known: no batch at or past it
    /// changes producer state. None for logs from before this was tracked.
    pub producer_end: Option<i64>,
    /// Bumped whenever segments are added or removed (roll, retention, cleaning, recovery).
    pub segments_version: u32,
    /// Bumped twice around every swap of cleaned segments: odd while the swap is under way.
    pub clean_epoch: u32,
    /// First offset of the oldest transaction still open (Kafka's first unstable offset);
    /// `read_committed` readers stop there.
    pub first_unstable: Option<i64>,
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
            producer_end: Some(base),
            segments_version: 0,
            clean_epoch: 0,
            first_unstable: None,
        }
    }

    /// The last stable offset: `read_committed` readers see records below it.
    pub fn last_stable_offset(&self) -> i64 {
        self.first_unstable
            .map_or(self.log_end_offset, |o| o.min(self.log_end_offset))
    }

    /// A swap of cleaned segments is under way: the segment files are not all in place.
    pub fn swapping(&self) -> bool {
        self.clean_epoch % 2 == 1
    }

    fn encode(&self) -> [u8; STATE_LEN] {
        let mut b = [0u8; STATE_LEN];
        b[0..4].copy_from_slice(MAGIC);
        b[4] = self.clean as u8;
        b[5] = self.producer_end.is_some() as u8;
        let fields: [i64; 13] = [
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
            self.producer_end.unwrap_or(0),
        ];
        for (i, v) in fields.iter().enumerate() {
            b[8 + i * 8..16 + i * 8].copy_from_slice(&v.to_le_bytes());
        }
        b[112..116].copy_from_slice(&self.segments_version.to_le_bytes());
        b[116..120].copy_from_slice(&self.clean_epoch.to_le_bytes());
        b[128..136].copy_from_slice(&self.first_unstable.unwrap_or(-1).to_le_bytes());
        let crc = crc_of(&b);
        b[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes `b` (a whole current file, or the 112 bytes of an old one). None when it is not
    /// a state file or its CRC does not match.
    fn decode(b: &[u8]) -> Option<Self> {
        Self::decode_fields(b)
    }

    fn decode_fields(b: &[u8]) -> Option<Self> {
        if b.len() < OLD_STATE_LEN || &b[0..4] != MAGIC {
            return None;
        }
        let current = b.len() >= PRE_TXN_STATE_LEN;
        if current {
            let stored =
                u32::from_le_bytes([b[CRC_AT], b[CRC_AT + 1], b[CRC_AT + 2], b[CRC_AT + 3]]);
            if stored != crc_of(b) {
                return None;
            }
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
            producer_end: (current && b[5] == 1).then(|| f(12)),
            segments_version: if current {
                u32::from_le_bytes([b[112], b[113], b[114], b[115]])
            } else {
                0
            },
            clean_epoch: if current {
                u32::from_le_bytes([b[116], b[117], b[118], b[119]])
            } else {
                0
            },
            first_unstable: if b.len() >= STATE_LEN {
                let mut a = [0u8; 8];
                a.copy_from_slice(&b[128..136]);
                Some(i64::from_le_bytes(a)).filter(|&o| o >= 0)
            } else {
                None
            },
        })
        .filter(LogState::consistent)
    }

    /// The fields agree with one another (offsets in order, sizes not negative). A state that
    /// does not is treated as damaged, and the log is recovered from its segments instead of
    /// being appended to from impossible positions.
    fn consistent(&self) -> bool {
        self.active_base >= 0
            && self.log_start_offset >= 0
            && self.log_start_offset <= self.log_end_offset
            && self.active_base <= self.log_end_offset
            && self.log_end_offset - self.active_base <= u32::MAX as i64
            && (self.active_size as i64) >= 0
            && self.recovery_segment <= self.active_base
            && (self.recovery_position as i64) >= 0
            && (self.bytes_since_index as i64) >= 0
            && (self.max_timestamp < 0
                || (self.max_timestamp_offset >= self.active_base
                    && self.max_timestamp_offset < self.log_end_offset.max(self.active_base + 1)))
            && self.producer_end.is_none_or(|e| e >= 0)
    }

    /// Reads the state; `None` if the file is empty, not a state file, or damaged. A read that
    /// a concurrent rewrite tore is retried.
    pub fn read(file: &File, path: &Path) -> Result<Option<Self>> {
        let mut b = [0u8; STATE_LEN];
        for _ in 0..3 {
            let mut len = 0;
            while len < STATE_LEN {
                let n = file
                    .read_at(&mut b[len..], len as u64)
                    .map_err(|e| crate::error::Error::io(path, e))?;
                if n == 0 {
                    break;
                }
                len += n;
            }
            if len < OLD_STATE_LEN {
                return Ok(None);
            }
            if let Some(s) = LogState::decode(&b[..len]) {
                return Ok(Some(s));
            }
            std::thread::yield_now();
        }
        Ok(None)
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
        s.segments_version = 7;
        s.clean_epoch = 3;
        s.first_unstable = Some(40);
        assert_eq!(LogState::decode(&s.encode()), Some(s));
        assert_eq!(s.last_stable_offset(), 40);
        let mut torn_txn = s.encode();
        torn_txn[130] ^= 1;
        assert_eq!(
            LogState::decode(&torn_txn),
            None,
            "the CRC covers the txn field"
        );
        // A file from before transactions: no open transaction.
        let mut pre = s;
        pre.first_unstable = None;
        let mut b = pre.encode();
        let crc = crc32c::crc32c(&b[..CRC_AT]);
        b[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(LogState::decode(&b[..PRE_TXN_STATE_LEN]), Some(pre));
        let mut garbage = s.encode();
        garbage[0] = b'X';
        assert_eq!(LogState::decode(&garbage), None);
        let mut torn = s.encode();
        torn[30] ^= 1;
        assert_eq!(LogState::decode(&torn), None, "the CRC catches a torn read");
        // A file from before the producer end and CRC: read, producer end unknown.
        let old = &s.encode()[..OLD_STATE_LEN];
        let decoded = LogState::decode(old).unwrap();
        assert_eq!(decoded.producer_end, None);
        assert_eq!(decoded.active_size, 1234);
    }
}
