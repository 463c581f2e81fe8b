//! Idempotent producers: ids handed out by InitProducerId, and per-partition sequence checks
//! on Produce (Kafka's ProducerStateManager): a retried batch is acknowledged again without
//! being appended twice, and a gap in sequence numbers is refused.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

/// Batches remembered per producer and partition for duplicate detection (Kafka keeps 5, the
/// most a producer may have in flight).
const REMEMBERED: usize = 5;

/// OUT_OF_ORDER_SEQUENCE_NUMBER.
pub const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
/// INVALID_PRODUCER_EPOCH.
pub const INVALID_PRODUCER_EPOCH: i16 = 47;

#[derive(Debug, Clone, Copy)]
struct Appended {
    first_seq: i32,
    last_seq: i32,
    base_offset: i64,
}

#[derive(Debug, Default)]
struct Entry {
    epoch: i16,
    batches: VecDeque<Appended>,
}

/// The idempotence fields of one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerBatch {
    /// Producer id.
    pub producer_id: i64,
    /// Producer epoch.
    pub epoch: i16,
    /// Sequence of the first record.
    pub first_seq: i32,
    /// Sequence of the last record.
    pub last_seq: i32,
}

impl ProducerBatch {
    /// The batch's idempotence fields, if it comes from an idempotent producer.
    pub fn of(h: &crate::log::batch::BatchHeader) -> Option<Self> {
        (h.producer_id >= 0 && h.base_sequence >= 0).then(|| ProducerBatch {
            producer_id: h.producer_id,
            epoch: h.producer_epoch,
            first_seq: h.base_sequence,
            last_seq: h.base_sequence.wrapping_add(h.last_offset_delta),
        })
    }
}

/// What to do with an incoming batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Append it.
    Append,
    /// Already appended at this base offset: acknowledge without appending.
    Duplicate(i64),
    /// Refuse with this Kafka error code.
    Reject(i16),
}

/// Producer ids and sequence state, in memory.
#[derive(Debug)]
pub struct ProducerStates {
    next_id: AtomicI64,
    entries: Mutex<HashMap<(i64, String, i32), Entry>>,
}

impl Default for ProducerStates {
    fn default() -> Self {
        // Ids from the clock so ids from before a restart are not handed out again.
        let base = crate::log::unified::now_ms().max(1) << 8;
        ProducerStates {
            next_id: AtomicI64::new(base),
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl ProducerStates {
    /// A fresh producer id (epoch 0).
    pub fn next_id(&self) -> i64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Checks a batch from an idempotent producer against what the partition has seen.
    pub fn check(&self, topic: &str, partition: i32, b: &ProducerBatch) -> Verdict {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = entries.get(&(b.producer_id, topic.to_string(), partition)) else {
            // Unknown here (new, or from before a restart): accept and start tracking.
            return Verdict::Append;
        };
        if b.epoch < entry.epoch {
            return Verdict::Reject(INVALID_PRODUCER_EPOCH);
        }
        if b.epoch > entry.epoch {
            // A bumped epoch starts its sequences again at 0.
            return if b.first_seq == 0 {
                Verdict::Append
            } else {
                Verdict::Reject(OUT_OF_ORDER_SEQUENCE_NUMBER)
            };
        }
        if let Some(dup) = entry
            .batches
            .iter()
            .find(|a| a.first_seq == b.first_seq && a.last_seq == b.last_seq)
        {
            return Verdict::Duplicate(dup.base_offset);
        }
        let expected = entry
            .batches
            .back()
            .map_or(0, |b| b.last_seq.wrapping_add(1));
        if b.first_seq == expected {
            Verdict::Append
        } else {
            Verdict::Reject(OUT_OF_ORDER_SEQUENCE_NUMBER)
        }
    }

    /// Records an appended batch.
    pub fn record(&self, topic: &str, partition: i32, b: &ProducerBatch, base_offset: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries
            .entry((b.producer_id, topic.to_string(), partition))
            .or_default();
        if b.epoch != entry.epoch {
            entry.epoch = b.epoch;
            entry.batches.clear();
        }
        entry.batches.push_back(Appended {
            first_seq: b.first_seq,
            last_seq: b.last_seq,
            base_offset,
        });
        while entry.batches.len() > REMEMBERED {
            entry.batches.pop_front();
        }
    }

    /// Forgets the producers of a deleted topic.
    pub fn forget_topic(&self, topic: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|(_, t, _), _| t != topic);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(pid: i64, epoch: i16, first_seq: i32, last_seq: i32) -> ProducerBatch {
        ProducerBatch {
            producer_id: pid,
            epoch,
            first_seq,
            last_seq,
        }
    }

    #[test]
    fn retries_are_duplicates_gaps_and_old_epochs_are_refused() {
        let s = ProducerStates::default();
        let pid = s.next_id();
        assert_eq!(s.check("t", 0, &batch(pid, 0, 0, 4)), Verdict::Append);
        s.record("t", 0, &batch(pid, 0, 0, 4), 100);
        assert_eq!(
            s.check("t", 0, &batch(pid, 0, 0, 4)),
            Verdict::Duplicate(100)
        );
        assert_eq!(
            s.check("t", 0, &batch(pid, 0, 7, 9)),
            Verdict::Reject(OUT_OF_ORDER_SEQUENCE_NUMBER)
        );
        assert_eq!(s.check("t", 0, &batch(pid, 0, 5, 9)), Verdict::Append);
        s.record("t", 0, &batch(pid, 1, 0, 0), 110);
        assert_eq!(
            s.check("t", 0, &batch(pid, 0, 1, 1)),
            Verdict::Reject(INVALID_PRODUCER_EPOCH)
        );
        assert_eq!(
            s.check("t", 1, &batch(pid, 1, 0, 0)),
            Verdict::Append,
            "partitions are separate"
        );
    }
}
