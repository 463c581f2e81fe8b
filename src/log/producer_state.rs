//! Producer state of one partition (Kafka's `ProducerStateManager`): for each producer id, its
//! epoch, the last five batches it appended (sequence range and offsets), the time of its last
//! write, and the transaction fields that transactions will use. It is what lets a retried
//! batch be acknowledged with its original offset instead of being appended twice, across clean
//! restarts and `kill -9`.
//!
//! Durability, as Kafka does it: the state is snapshotted to `<offset>.snapshot` (20-digit end
//! offset, like segment names) when a segment rolls and when the log closes; on open it is
//! rebuilt from the newest snapshot at or below the log end, then by scanning the batch headers
//! after it (from the log start when there is no snapshot, e.g. a log never closed cleanly and
//! never rolled). The scan reads headers only and is skipped when the shared state says no
//! batch with a producer id was appended past the snapshot ([`super::state::LogState`]'s
//! producer end).
//!
//! Snapshot file (Kafka's producer snapshot version 1, big endian):
//!
//! | bytes | field |
//! |-------|-------|
//! | 0..2  | version (1) |
//! | 2..6  | CRC-32C of bytes 6..end |
//! | 6..10 | entry count |
//! | then 46 bytes per entry | producer id i64, epoch i16, last sequence i32, last offset i64, offset delta i32, timestamp i64, coordinator epoch i32, current txn first offset i64 (-1: none) |
//!
//! Kafka writes one entry per producer (its last batch). We write one entry per remembered
//! batch, oldest first, so the last five batches survive a clean restart; Kafka's reader keeps
//! the last entry of each producer id, which is exactly the entry it would have written itself,
//! so Kafka and `DumpLogSegments` read our snapshots and we read Kafka's.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};

use super::batch::BatchHeader;
use crate::error::{Error, IoContext, Result};

/// Batches remembered per producer for duplicate detection (Kafka keeps 5, the most a producer
/// may have in flight).
pub const REMEMBERED_BATCHES: usize = 5;
/// Kafka's `producer.id.expiration.ms` default: one day.
pub const DEFAULT_EXPIRATION_MS: i64 = 86_400_000;

const SNAPSHOT_VERSION: i16 = 1;
const HEADER: usize = 10;
const ENTRY: usize = 46;

/// One appended batch of a producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMetadata {
    /// Sequence of the batch's last record.
    pub last_seq: i32,
    /// Offset of the batch's last record.
    pub last_offset: i64,
    /// last offset − first offset (= last sequence − first sequence).
    pub offset_delta: i32,
    /// The batch's max timestamp.
    pub timestamp: i64,
}

impl BatchMetadata {
    /// Sequence of the batch's first record (sequences wrap at i32::MAX).
    pub fn first_seq(&self) -> i32 {
        self.last_seq.wrapping_sub(self.offset_delta)
    }

    /// Offset of the batch's first record.
    pub fn first_offset(&self) -> i64 {
        self.last_offset - self.offset_delta as i64
    }
}

/// What the partition knows of one producer id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerStateEntry {
    /// The producer id.
    pub producer_id: i64,
    /// Its current epoch.
    pub epoch: i16,
    /// Its last batches in this epoch, oldest first.
    pub batches: VecDeque<BatchMetadata>,
    /// Epoch of the transaction coordinator that wrote its last marker (-1: none).
    pub coordinator_epoch: i32,
    /// Max timestamp of its last write; expiration counts from here.
    pub last_timestamp: i64,
    /// First offset of its open transaction, if one is open.
    pub current_txn_first_offset: Option<i64>,
}

impl ProducerStateEntry {
    fn new(producer_id: i64, epoch: i16) -> Self {
        ProducerStateEntry {
            producer_id,
            epoch,
            batches: VecDeque::new(),
            coordinator_epoch: -1,
            last_timestamp: -1,
            current_txn_first_offset: None,
        }
    }

    /// Sequence of its last batch, if any.
    pub fn last_seq(&self) -> Option<i32> {
        self.batches.back().map(|b| b.last_seq)
    }

    fn find_duplicate(&self, h: &BatchHeader) -> Option<BatchMetadata> {
        if h.producer_epoch != self.epoch {
            return None;
        }
        let last_seq = h.base_sequence.wrapping_add(h.last_offset_delta);
        self.batches
            .iter()
            .find(|b| b.first_seq() == h.base_sequence && b.last_seq == last_seq)
            .copied()
    }

    fn add_batch(&mut self, b: BatchMetadata) {
        self.batches.push_back(b);
        while self.batches.len() > REMEMBERED_BATCHES {
            self.batches.pop_front();
        }
    }
}

/// Why a producer's batch was refused, with Kafka's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SequenceError {
    /// INVALID_PRODUCER_EPOCH: the batch's epoch is older than the partition has seen.
    InvalidEpoch {
        /// The producer id.
        producer_id: i64,
        /// The batch's epoch.
        epoch: i16,
        /// The epoch the partition knows.
        current: i16,
    },
    /// OUT_OF_ORDER_SEQUENCE_NUMBER: a gap, or a sequence neither next nor a known retry.
    OutOfOrder {
        /// The producer id.
        producer_id: i64,
        /// The batch's first sequence.
        got: i32,
        /// The sequence the partition expects next.
        expected: i32,
    },
}

/// The outcome of checking a request's batches against the producer state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Append them.
    Append,
    /// One of them was appended before: acknowledge with its original offsets, append nothing
    /// (Kafka returns at the first duplicate).
    Duplicate(BatchMetadata),
}

/// The producer state of one partition.
#[derive(Debug)]
pub struct ProducerStateManager {
    dir: PathBuf,
    producers: HashMap<i64, ProducerStateEntry>,
    /// Open transactions as (first offset, producer id), oldest first (Kafka's ongoingTxns):
    /// the last stable offset without a walk over every producer.
    ongoing: std::collections::BTreeSet<(i64, i64)>,
    /// The state reflects every batch below this offset (Kafka's lastMapOffset).
    map_end_offset: i64,
    /// Offset of the newest snapshot on disk, if any.
    last_snapshot_offset: Option<i64>,
    expiration_ms: i64,
}

/// Kafka's snapshot file name for offset `offset`.
pub fn snapshot_file_name(offset: i64) -> String {
    format!("{offset:020}.snapshot")
}

/// The snapshot files in `dir`, by offset.
pub fn list_snapshots(dir: &Path) -> Result<BTreeMap<i64, PathBuf>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(stem) = name.strip_suffix(".snapshot")
            && stem.len() == 20
            && let Ok(offset) = stem.parse::<i64>()
        {
            out.insert(offset, entry.path());
        }
    }
    Ok(out)
}

/// Encodes entries as a snapshot file.
pub fn encode_snapshot<'a>(entries: impl Iterator<Item = &'a ProducerStateEntry>) -> Vec<u8> {
    let mut body = Vec::new();
    let mut count: i32 = 0;
    let mut put = |e: &ProducerStateEntry, b: Option<&BatchMetadata>| {
        body.extend_from_slice(&e.producer_id.to_be_bytes());
        body.extend_from_slice(&e.epoch.to_be_bytes());
        body.extend_from_slice(&b.map_or(-1, |b| b.last_seq).to_be_bytes());
        body.extend_from_slice(&b.map_or(-1i64, |b| b.last_offset).to_be_bytes());
        body.extend_from_slice(&b.map_or(0, |b| b.offset_delta).to_be_bytes());
        body.extend_from_slice(&b.map_or(e.last_timestamp, |b| b.timestamp).to_be_bytes());
        body.extend_from_slice(&e.coordinator_epoch.to_be_bytes());
        body.extend_from_slice(&e.current_txn_first_offset.unwrap_or(-1).to_be_bytes());
        count += 1;
    };
    for e in entries {
        if e.batches.is_empty() {
            put(e, None);
        }
        for b in &e.batches {
            put(e, Some(b));
        }
    }
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend_from_slice(&SNAPSHOT_VERSION.to_be_bytes());
    let mut crc_input = Vec::with_capacity(4 + body.len());
    crc_input.extend_from_slice(&count.to_be_bytes());
    crc_input.extend_from_slice(&body);
    out.extend_from_slice(&crc32c::crc32c(&crc_input).to_be_bytes());
    out.extend_from_slice(&crc_input);
    out
}

/// Decodes a snapshot file into entries (an entry per producer, its batches oldest first).
///
/// # Errors
/// `DataDir` naming the file when the version, CRC or layout is wrong.
pub fn decode_snapshot(path: &Path, bytes: &[u8]) -> Result<Vec<ProducerStateEntry>> {
    let corrupt = |why: String| {
        Error::DataDir(format!(
            "producer snapshot {} is corrupt: {why}",
            path.display()
        ))
    };
    if bytes.len() < HEADER {
        return Err(corrupt(format!(
            "{} bytes is shorter than its header",
            bytes.len()
        )));
    }
    let version = i16::from_be_bytes([bytes[0], bytes[1]]);
    if version != SNAPSHOT_VERSION {
        return Err(corrupt(format!("unknown version {version}")));
    }
    let stored = u32::from_be_bytes([bytes[2], bytes[3], bytes[4], bytes[5]]);
    let computed = crc32c::crc32c(&bytes[6..]);
    if stored != computed {
        return Err(corrupt(format!(
            "CRC mismatch (stored {stored:#010x}, computed {computed:#010x})"
        )));
    }
    let count = i32::from_be_bytes([bytes[6], bytes[7], bytes[8], bytes[9]]);
    if count < 0 || (bytes.len() - HEADER) != count as usize * ENTRY {
        return Err(corrupt(format!(
            "{count} entries do not fill {} bytes",
            bytes.len() - HEADER
        )));
    }
    let mut by_id: Vec<ProducerStateEntry> = Vec::new();
    let mut index: HashMap<i64, usize> = HashMap::new();
    for e in bytes[HEADER..].chunks_exact(ENTRY) {
        let i64_at = |at: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&e[at..at + 8]);
            i64::from_be_bytes(a)
        };
        let i32_at = |at: usize| i32::from_be_bytes([e[at], e[at + 1], e[at + 2], e[at + 3]]);
        let producer_id = i64_at(0);
        let epoch = i16::from_be_bytes([e[8], e[9]]);
        let last_seq = i32_at(10);
        let last_offset = i64_at(14);
        let offset_delta = i32_at(22);
        let timestamp = i64_at(26);
        let coordinator_epoch = i32_at(34);
        let txn_first = i64_at(38);
        let at = *index.entry(producer_id).or_insert_with(|| {
            by_id.push(ProducerStateEntry::new(producer_id, epoch));
            by_id.len() - 1
        });
        let entry = &mut by_id[at];
        if entry.epoch != epoch {
            entry.epoch = epoch;
            entry.batches.clear();
        }
        entry.coordinator_epoch = coordinator_epoch;
        entry.last_timestamp = timestamp;
        entry.current_txn_first_offset = (txn_first >= 0).then_some(txn_first);
        if last_offset >= 0 {
            entry.add_batch(BatchMetadata {
                last_seq,
                last_offset,
                offset_delta,
                timestamp,
            });
        }
    }
    Ok(by_id)
}

/// True for a batch that carries a producer id (idempotent or transactional).
pub fn has_producer_id(h: &BatchHeader) -> bool {
    h.producer_id >= 0
}

impl ProducerStateManager {
    /// An empty state for the log in `dir` whose first offset is `log_start_offset`.
    pub fn empty(dir: &Path, log_start_offset: i64, expiration_ms: i64) -> Self {
        ProducerStateManager {
            dir: dir.to_path_buf(),
            producers: HashMap::new(),
            ongoing: std::collections::BTreeSet::new(),
            map_end_offset: log_start_offset,
            last_snapshot_offset: None,
            expiration_ms,
        }
    }

    /// Loads the newest usable snapshot at or below `log_end_offset` (deleting snapshots past
    /// the log end, which a truncation left behind, and corrupt ones); the state then reflects
    /// the log up to [`Self::map_end_offset`], and the caller scans from there.
    pub fn load(
        dir: &Path,
        log_start_offset: i64,
        log_end_offset: i64,
        expiration_ms: i64,
        now: i64,
    ) -> Result<Self> {
        let mut m = ProducerStateManager::empty(dir, log_start_offset, expiration_ms);
        let snapshots = list_snapshots(dir)?;
        for (&offset, path) in snapshots.iter().rev() {
            if offset > log_end_offset {
                tracing::info!(snapshot = %path.display(), log_end_offset, "deleting a producer snapshot past the log end");
                remove_file(path)?;
                continue;
            }
            let bytes = match std::fs::read(path) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io(path, e)),
            };
            match decode_snapshot(path, &bytes) {
                Ok(entries) => {
                    for e in entries {
                        if !m.is_expired(&e, now) {
                            if let Some(first) = e.current_txn_first_offset {
                                m.ongoing.insert((first, e.producer_id));
                            }
                            m.producers.insert(e.producer_id, e);
                        }
                    }
                    m.map_end_offset = offset.max(log_start_offset);
                    m.last_snapshot_offset = Some(offset);
                    return Ok(m);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "deleting a corrupt producer snapshot");
                    remove_file(path)?;
                }
            }
        }
        Ok(m)
    }

    /// The state reflects every batch below this offset.
    pub fn map_end_offset(&self) -> i64 {
        self.map_end_offset
    }

    /// Offset of the newest snapshot written or loaded.
    pub fn last_snapshot_offset(&self) -> Option<i64> {
        self.last_snapshot_offset
    }

    /// The entry of one producer.
    pub fn entry(&self, producer_id: i64) -> Option<&ProducerStateEntry> {
        self.producers.get(&producer_id)
    }

    /// First offset of the producer's open transaction on this partition, if one is open.
    pub fn txn_first_offset(&self, producer_id: i64) -> Option<i64> {
        self.producers
            .get(&producer_id)
            .and_then(|e| e.current_txn_first_offset)
    }

    /// The first offset of the oldest open transaction (Kafka's firstUnstableOffset): the
    /// last stable offset, below which `read_committed` readers may read.
    pub fn first_unstable_offset(&self) -> Option<i64> {
        self.ongoing.first().map(|&(first, _)| first)
    }

    /// What [`Self::first_unstable_offset`] will be once `placed` (batches at their final
    /// offsets, in order) are applied.
    pub fn first_unstable_after(&self, placed: &[BatchHeader]) -> Option<i64> {
        let mut open: HashMap<i64, Option<i64>> = HashMap::new();
        for h in placed.iter().filter(|h| has_producer_id(h)) {
            let current = open
                .get(&h.producer_id)
                .copied()
                .unwrap_or_else(|| self.txn_first_offset(h.producer_id));
            let next = if h.is_control() {
                None
            } else if h.attributes & (1 << 4) != 0 {
                current.or(Some(h.base_offset))
            } else {
                current
            };
            open.insert(h.producer_id, next);
        }
        self.ongoing
            .iter()
            .find(|(_, id)| !open.contains_key(id))
            .map(|&(first, _)| first)
            .into_iter()
            .chain(open.values().filter_map(|o| *o))
            .min()
    }

    /// Every producer the partition knows.
    pub fn producers(&self) -> impl Iterator<Item = &ProducerStateEntry> {
        self.producers.values()
    }

    fn is_expired(&self, e: &ProducerStateEntry, now: i64) -> bool {
        e.current_txn_first_offset.is_none()
            && now.saturating_sub(e.last_timestamp) >= self.expiration_ms
    }

    /// Forgets producers idle longer than `producer.id.expiration.ms` (Kafka's
    /// removeExpiredProducers); a producer in an open transaction never expires.
    pub fn remove_expired(&mut self, now: i64) {
        let expiration = self.expiration_ms;
        self.producers.retain(|_, e| {
            e.current_txn_first_offset.is_some()
                || now.saturating_sub(e.last_timestamp) < expiration
        });
    }

    /// Checks a request's batches (in order) as Kafka's `analyzeAndValidateProducerState` does:
    /// a duplicate of a remembered batch ends the check; otherwise each batch must carry the
    /// producer's current or a newer epoch and continue its sequence. Batches without a
    /// producer id or sequence (plain producers, control batches) are not checked.
    pub fn check(&self, batches: &[BatchHeader]) -> std::result::Result<Check, SequenceError> {
        // Batches of one request may follow one another: check each against the state the
        // earlier ones would leave.
        let mut pending: HashMap<i64, ProducerStateEntry> = HashMap::new();
        for h in batches {
            if !has_producer_id(h) || h.base_sequence < 0 || h.is_control() {
                continue;
            }
            let current = pending
                .get(&h.producer_id)
                .or_else(|| self.producers.get(&h.producer_id));
            if let Some(dup) = current.and_then(|e| e.find_duplicate(h)) {
                return Ok(Check::Duplicate(dup));
            }
            let updated = match current {
                None => {
                    // Unknown here: a new producer, or one whose state expired. Kafka accepts
                    // any sequence then.
                    ProducerStateEntry::new(h.producer_id, h.producer_epoch)
                }
                Some(e) if h.producer_epoch < e.epoch => {
                    return Err(SequenceError::InvalidEpoch {
                        producer_id: h.producer_id,
                        epoch: h.producer_epoch,
                        current: e.epoch,
                    });
                }
                Some(e) if h.producer_epoch > e.epoch => {
                    // A bumped epoch starts its sequences again at 0.
                    if h.base_sequence != 0 {
                        return Err(SequenceError::OutOfOrder {
                            producer_id: h.producer_id,
                            got: h.base_sequence,
                            expected: 0,
                        });
                    }
                    ProducerStateEntry {
                        epoch: h.producer_epoch,
                        batches: VecDeque::new(),
                        ..e.clone()
                    }
                }
                Some(e) => {
                    if let Some(last) = e.last_seq() {
                        let expected = if last == i32::MAX { 0 } else { last + 1 };
                        if h.base_sequence != expected {
                            return Err(SequenceError::OutOfOrder {
                                producer_id: h.producer_id,
                                got: h.base_sequence,
                                expected,
                            });
                        }
                    }
                    e.clone()
                }
            };
            let mut updated = updated;
            updated.add_batch(BatchMetadata {
                last_seq: h.base_sequence.wrapping_add(h.last_offset_delta),
                last_offset: h.last_offset(),
                offset_delta: h.last_offset_delta,
                timestamp: h.max_timestamp,
            });
            pending.insert(h.producer_id, updated);
        }
        Ok(Check::Append)
    }

    /// Applies one batch now in the log at its final offsets (after an append, or while
    /// scanning the log). Batches below the map end are already reflected and skipped.
    pub fn apply(&mut self, h: &BatchHeader) {
        if h.next_offset() <= self.map_end_offset {
            return;
        }
        self.map_end_offset = h.next_offset();
        if !has_producer_id(h) {
            return;
        }
        let entry = self
            .producers
            .entry(h.producer_id)
            .or_insert_with(|| ProducerStateEntry::new(h.producer_id, h.producer_epoch));
        if h.producer_epoch != entry.epoch {
            entry.epoch = h.producer_epoch;
            entry.batches.clear();
        }
        entry.last_timestamp = h.max_timestamp;
        if h.is_control() {
            // A transaction marker ends the producer's open transaction.
            if let Some(first) = entry.current_txn_first_offset.take() {
                self.ongoing.remove(&(first, h.producer_id));
            }
            return;
        }
        if h.attributes & (1 << 4) != 0 && entry.current_txn_first_offset.is_none() {
            entry.current_txn_first_offset = Some(h.base_offset);
            self.ongoing.insert((h.base_offset, h.producer_id));
        }
        if h.base_sequence >= 0 {
            entry.add_batch(BatchMetadata {
                last_seq: h.base_sequence.wrapping_add(h.last_offset_delta),
                last_offset: h.last_offset(),
                offset_delta: h.last_offset_delta,
                timestamp: h.max_timestamp,
            });
        }
    }

    /// Records the coordinator epoch of the marker just applied for `producer_id` (Kafka keeps
    /// the latest one per producer; DescribeProducers shows it).
    pub fn set_coordinator_epoch(&mut self, producer_id: i64, epoch: i32) {
        if let Some(e) = self.producers.get_mut(&producer_id) {
            e.coordinator_epoch = epoch;
        }
    }

    /// Moves the map end forward over offsets known to hold no producer batch (appends of
    /// plain producers, or a range the shared state vouches for).
    pub fn advance_map_end(&mut self, offset: i64) {
        self.map_end_offset = self.map_end_offset.max(offset);
    }

    /// Writes a snapshot at the map end if it moved since the last one, durably, and deletes
    /// snapshots below `keep_from` (those of deleted segments) except the newest.
    pub fn take_snapshot(&mut self, keep_from: i64, now: i64) -> Result<()> {
        self.snapshot_with(keep_from, None, now)
    }

    /// Like [`Self::take_snapshot`], but the snapshot is only staged into `staged`: the caller
    /// (closing many logs) syncs the file system, commits every staged file, and syncs again.
    pub fn stage_snapshot(
        &mut self,
        keep_from: i64,
        staged: &mut Vec<super::atomic_file::Staged>,
        now: i64,
    ) -> Result<()> {
        self.snapshot_with(keep_from, Some(staged), now)
    }

    fn snapshot_with(
        &mut self,
        keep_from: i64,
        staged: Option<&mut Vec<super::atomic_file::Staged>>,
        now: i64,
    ) -> Result<()> {
        self.remove_expired(now);
        if self.last_snapshot_offset == Some(self.map_end_offset) {
            return Ok(());
        }
        let offset = self.map_end_offset;
        let mut entries: Vec<&ProducerStateEntry> = self.producers.values().collect();
        entries.sort_by_key(|e| e.producer_id);
        let bytes = encode_snapshot(entries.into_iter());
        let path = self.dir.join(snapshot_file_name(offset));
        match staged {
            Some(staged) => staged.push(super::atomic_file::stage(&path, &bytes)?),
            None => super::atomic_file::write(&path, &bytes, true)?,
        }
        self.last_snapshot_offset = Some(offset);
        for (o, p) in list_snapshots(&self.dir)? {
            if o < keep_from && o != offset {
                remove_file(&p)?;
            }
        }
        Ok(())
    }

    /// Deletes every snapshot past `offset` (the log was truncated below them).
    pub fn truncate_snapshots_after(dir: &Path, offset: i64) -> Result<()> {
        for (o, p) in list_snapshots(dir)? {
            if o > offset {
                remove_file(&p)?;
            }
        }
        Ok(())
    }
}

fn remove_file(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(path, e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(pid: i64, epoch: i16, base_seq: i32, count: i32, base_offset: i64) -> BatchHeader {
        BatchHeader {
            base_offset,
            batch_length: 49,
            partition_leader_epoch: 0,
            magic: 2,
            crc: 0,
            attributes: 0,
            last_offset_delta: count - 1,
            base_timestamp: 1_000,
            max_timestamp: 1_000,
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: base_seq,
            records_count: count,
        }
    }

    fn manager(dir: &Path) -> ProducerStateManager {
        ProducerStateManager::empty(dir, 0, DEFAULT_EXPIRATION_MS)
    }

    #[test]
    fn retries_are_duplicates_and_gaps_or_old_epochs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = manager(dir.path());
        let first = header(7, 0, 0, 5, 100);
        assert_eq!(m.check(&[first]), Ok(Check::Append));
        m.apply(&first);
        let dup = m.check(&[header(7, 0, 0, 5, 0)]).unwrap();
        assert!(
            matches!(dup, Check::Duplicate(b) if b.first_offset() == 100 && b.last_offset == 104)
        );
        assert!(matches!(
            m.check(&[header(7, 0, 7, 3, 0)]),
            Err(SequenceError::OutOfOrder {
                expected: 5,
                got: 7,
                ..
            })
        ));
        assert_eq!(m.check(&[header(7, 0, 5, 5, 0)]), Ok(Check::Append));
        // Two batches of one request: the second follows the first.
        assert_eq!(
            m.check(&[header(7, 0, 5, 5, 0), header(7, 0, 10, 1, 0)]),
            Ok(Check::Append)
        );
        m.apply(&header(7, 1, 0, 1, 105));
        assert!(matches!(
            m.check(&[header(7, 0, 1, 1, 0)]),
            Err(SequenceError::InvalidEpoch {
                epoch: 0,
                current: 1,
                ..
            })
        ));
        assert!(matches!(
            m.check(&[header(7, 2, 3, 1, 0)]),
            Err(SequenceError::OutOfOrder { expected: 0, .. })
        ));
        assert_eq!(
            m.check(&[header(8, 0, 42, 1, 0)]),
            Ok(Check::Append),
            "unknown producer"
        );
    }

    #[test]
    fn the_last_five_batches_survive_a_snapshot_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = manager(dir.path());
        let now = crate::log::unified::now_ms();
        for i in 0..7 {
            let mut h = header(9, 3, i * 2, 2, 10 + i as i64 * 2);
            h.max_timestamp = now;
            m.apply(&h);
        }
        let mut other = header(11, 0, 0, 1, 24);
        other.max_timestamp = now;
        m.apply(&other);
        m.take_snapshot(0, now).unwrap();
        let snaps = list_snapshots(dir.path()).unwrap();
        assert_eq!(snaps.keys().copied().collect::<Vec<_>>(), [25]);
        let loaded =
            ProducerStateManager::load(dir.path(), 0, 25, DEFAULT_EXPIRATION_MS, now).unwrap();
        assert_eq!(loaded.map_end_offset(), 25);
        assert_eq!(loaded.entry(9), m.entry(9));
        assert_eq!(loaded.entry(9).unwrap().batches.len(), REMEMBERED_BATCHES);
        // A retry of the oldest remembered batch is still a duplicate after the reload.
        let retry = header(9, 3, 4, 2, 0);
        assert!(
            matches!(loaded.check(&[retry]), Ok(Check::Duplicate(b)) if b.first_offset() == 14)
        );
        // Expired producers are not loaded.
        let later = now + DEFAULT_EXPIRATION_MS + 1;
        let expired =
            ProducerStateManager::load(dir.path(), 0, 25, DEFAULT_EXPIRATION_MS, later).unwrap();
        assert!(expired.entry(9).is_none());
        // A snapshot past the log end (the log was truncated) is dropped.
        let truncated =
            ProducerStateManager::load(dir.path(), 0, 20, DEFAULT_EXPIRATION_MS, now).unwrap();
        assert_eq!(truncated.map_end_offset(), 0);
        assert!(list_snapshots(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn the_first_unstable_offset_follows_open_transactions_and_survives_a_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = manager(dir.path());
        let txn = |pid, base| BatchHeader {
            attributes: 1 << 4,
            ..header(pid, 0, 0, 1, base)
        };
        let marker = |pid, base| BatchHeader {
            attributes: (1 << 4) | (1 << 5),
            base_sequence: -1,
            ..header(pid, 0, 0, 1, base)
        };
        m.apply(&txn(1, 0));
        m.apply(&txn(2, 1));
        assert_eq!(m.first_unstable_offset(), Some(0));
        assert_eq!(m.first_unstable_after(&[marker(1, 2)]), Some(1));
        assert_eq!(m.first_unstable_after(&[marker(1, 2), marker(2, 3)]), None);
        m.apply(&marker(1, 2));
        assert_eq!(m.first_unstable_offset(), Some(1));
        m.take_snapshot(0, 1_000).unwrap();
        let loaded =
            ProducerStateManager::load(dir.path(), 0, 3, DEFAULT_EXPIRATION_MS, 1_000).unwrap();
        assert_eq!(loaded.first_unstable_offset(), Some(1));
        m.apply(&marker(2, 3));
        assert_eq!(m.first_unstable_offset(), None);
    }

    #[test]
    fn a_corrupt_snapshot_is_named_and_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = manager(dir.path());
        m.apply(&header(5, 0, 0, 1, 0));
        m.take_snapshot(0, 1_000).unwrap();
        let path = dir.path().join(snapshot_file_name(1));
        let mut bytes = std::fs::read(&path).unwrap();
        let err = {
            let mut b = bytes.clone();
            b[12] ^= 1;
            decode_snapshot(&path, &b).unwrap_err().to_string()
        };
        assert!(
            err.contains("00000000000000000001.snapshot") && err.contains("CRC"),
            "{err}"
        );
        bytes[12] ^= 1;
        bytes[13] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let loaded =
            ProducerStateManager::load(dir.path(), 0, 1, DEFAULT_EXPIRATION_MS, 1_000).unwrap();
        assert!(loaded.entry(5).is_none());
        assert!(!path.exists());
    }
}
