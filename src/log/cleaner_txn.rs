//! What the cleaner does with transactions (Kafka's `CleanedTransactionMetadata`), followed
//! batch by batch in offset order over one pass:
//! - records of an aborted transaction are removed, and never enter the offset map;
//! - an abort marker stays while this pass removed records of its transaction (the removal is
//!   only durable once swapped in), with its aborted-transaction index entry; after that it may
//!   go;
//! - a commit marker stays while this pass saw records of its transaction; after that it may go;
//! - a marker that may go is first stamped with a delete horizon (`delete.retention.ms` later,
//!   as a tombstone is) and removed by a pass after the horizon, so a consumer part-way through
//!   the transaction still sees it end.

use std::collections::{HashMap, HashSet};

use super::batch::BatchHeader;
use super::control::{self, ControlType};
use super::txn_index::AbortedTxn;

/// What the tracker says of one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Filter its records as usual.
    Keep,
    /// Drop its records: aborted data.
    DropAborted,
    /// A marker still needed: keep it as it is.
    KeepMarker,
    /// A marker no longer needed: remove it once its delete horizon passed (stamp one first).
    MarkerMayGo,
}

/// One pass's view of the transactions in the range it cleans.
#[derive(Debug, Default)]
pub struct TxnTracker {
    /// Aborted transactions not yet reached, by first offset (descending: popped from the end).
    pending: Vec<AbortedTxn>,
    /// Producers inside an aborted transaction: its entry, and whether records were removed.
    aborting: HashMap<i64, (AbortedTxn, bool)>,
    /// Producers inside a committed (or still undecided) transaction whose records were seen.
    committing: HashSet<i64>,
    /// Index entries the cleaned segment must carry (markers kept because data was removed).
    pub kept_entries: Vec<AbortedTxn>,
}

impl TxnTracker {
    /// A tracker over the aborted transactions of the range (from the `.txnindex` files).
    pub fn new(mut aborted: Vec<AbortedTxn>) -> Self {
        aborted.sort_by_key(|a| std::cmp::Reverse(a.first_offset));
        TxnTracker {
            pending: aborted,
            ..TxnTracker::default()
        }
    }

    /// Takes in the aborted transactions that have begun by batch `h` (skipping those that
    /// ended before it: a pass may start past their marker).
    fn reach(&mut self, h: &BatchHeader) {
        while self
            .pending
            .last()
            .is_some_and(|a| a.first_offset <= h.last_offset())
        {
            if let Some(a) = self.pending.pop()
                && a.last_offset >= h.base_offset
            {
                self.aborting.insert(a.producer_id, (a, false));
            }
        }
    }

    /// True for a data batch of an aborted transaction (for the offset map, which must not
    /// learn its keys). Moves the tracker on, as [`Self::verdict`] does.
    pub fn is_aborted_data(&mut self, h: &BatchHeader, marker: Option<ControlType>) -> bool {
        self.verdict(h, marker) == Verdict::DropAborted
    }

    /// The verdict on the next batch (`marker`: its marker type, for a control batch).
    pub fn verdict(&mut self, h: &BatchHeader, marker: Option<ControlType>) -> Verdict {
        self.reach(h);
        if h.is_control() {
            return match marker {
                Some(ControlType::Abort) => match self.aborting.remove(&h.producer_id) {
                    Some((entry, true)) => {
                        self.kept_entries.push(entry);
                        Verdict::KeepMarker
                    }
                    _ => Verdict::MarkerMayGo,
                },
                Some(ControlType::Commit) => {
                    if self.committing.remove(&h.producer_id) {
                        Verdict::KeepMarker
                    } else {
                        Verdict::MarkerMayGo
                    }
                }
                None => Verdict::KeepMarker,
            };
        }
        if !control::is_transactional(h) {
            return Verdict::Keep;
        }
        match self.aborting.get_mut(&h.producer_id) {
            Some((entry, removed)) if entry.last_offset > h.base_offset => {
                *removed = true;
                Verdict::DropAborted
            }
            _ => {
                self.aborting.remove(&h.producer_id);
                self.committing.insert(h.producer_id);
                Verdict::Keep
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(pid: i64, base: i64, attributes: i16) -> BatchHeader {
        BatchHeader {
            base_offset: base,
            batch_length: 49,
            partition_leader_epoch: 0,
            magic: 2,
            crc: 0,
            attributes,
            last_offset_delta: 0,
            base_timestamp: 0,
            max_timestamp: 0,
            producer_id: pid,
            producer_epoch: 0,
            base_sequence: 0,
            records_count: 1,
        }
    }

    const TXN: i16 = control::TRANSACTIONAL;
    const MARKER: i16 = control::TRANSACTIONAL | control::CONTROL;

    #[test]
    fn aborted_data_goes_and_markers_stay_until_a_pass_saw_no_data() {
        let aborted = AbortedTxn {
            producer_id: 1,
            first_offset: 0,
            last_offset: 3,
            last_stable_offset: 4,
        };
        let mut t = TxnTracker::new(vec![aborted]);
        assert_eq!(t.verdict(&batch(1, 0, TXN), None), Verdict::DropAborted);
        assert_eq!(t.verdict(&batch(2, 1, TXN), None), Verdict::Keep);
        assert_eq!(t.verdict(&batch(3, 2, 0), None), Verdict::Keep);
        assert_eq!(
            t.verdict(&batch(1, 3, MARKER), Some(ControlType::Abort)),
            Verdict::KeepMarker
        );
        assert_eq!(t.kept_entries, [aborted]);
        assert_eq!(
            t.verdict(&batch(2, 4, MARKER), Some(ControlType::Commit)),
            Verdict::KeepMarker
        );
        // The next pass: the data is gone, so the markers may go too.
        let mut t = TxnTracker::new(vec![aborted]);
        assert_eq!(t.verdict(&batch(3, 2, 0), None), Verdict::Keep);
        assert_eq!(
            t.verdict(&batch(1, 3, MARKER), Some(ControlType::Abort)),
            Verdict::MarkerMayGo
        );
        assert_eq!(
            t.verdict(&batch(2, 4, MARKER), Some(ControlType::Commit)),
            Verdict::MarkerMayGo
        );
        assert!(t.kept_entries.is_empty());
    }
}
