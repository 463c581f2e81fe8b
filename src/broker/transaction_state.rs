//! One transactional id's state machine (Kafka's `TransactionMetadata` and the checks of its
//! `TransactionCoordinator`), pure: no locks, no I/O, no clock. Each operation checks the
//! request against the state, moves the state, and says what the driver
//! ([`super::transaction_coordinator`]) must do next — write markers, commit offsets — which
//! the driver reports back with [`TransactionMetadata::complete_end`].
//!
//! ```text
//! Empty ──AddPartitions/AddOffsets──▶ Ongoing ──EndTxn(commit)──▶ PrepareCommit ──markers──▶ CompleteCommit
//!   ▲                                    │  └──EndTxn(abort), timeout──▶ PrepareAbort ──markers──▶ CompleteAbort
//!   └──────────InitProducerId (epoch bump; an Ongoing one is aborted first)───────────────────────┘
//! ```

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::ResponseError;
use serde::{Deserialize, Serialize};

/// A partition, by topic name.
pub type TopicPartition = (String, i32);

/// Kafka's transaction states, spelled as `kafka-transactions describe` prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnState {
    /// No transaction open.
    Empty,
    /// Partitions or offsets were added; records may be in the partitions.
    Ongoing,
    /// Commit decided; markers being written.
    PrepareCommit,
    /// Abort decided; markers being written.
    PrepareAbort,
    /// The last transaction committed.
    CompleteCommit,
    /// The last transaction aborted.
    CompleteAbort,
    /// The id expired.
    Dead,
    /// A newer producer (or a timeout) fenced the epoch; its transaction is being aborted.
    PrepareEpochFence,
}

impl TxnState {
    /// Kafka's name.
    pub fn as_str(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
            TxnState::Dead => "Dead",
            TxnState::PrepareEpochFence => "PrepareEpochFence",
        }
    }

    /// A decision is being carried out: only the driver may move the state on.
    pub fn preparing(self) -> bool {
        matches!(
            self,
            TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::PrepareEpochFence
        )
    }
}

/// An offset a transaction commits for a group when it commits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingOffset {
    /// The offset.
    pub offset: i64,
    /// The committer's metadata string.
    pub metadata: String,
}

/// What the driver must do to end a transaction: write a marker to each partition, and on
/// commit make the pending offsets the groups' committed ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndPlan {
    /// The producer id of the markers.
    pub producer_id: i64,
    /// The epoch of the markers (bumped when a timeout or a new producer fenced the old one).
    pub producer_epoch: i16,
    /// Commit, or abort.
    pub commit: bool,
    /// The partitions to mark.
    pub partitions: Vec<TopicPartition>,
    /// Offsets to commit, by group (empty on abort).
    pub offsets: BTreeMap<String, BTreeMap<TopicPartition, PendingOffset>>,
}

/// What InitProducerId needs next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitStep {
    /// Done: the producer's id and epoch.
    Ready(i64, i16),
    /// An open transaction must be aborted first (its epoch is fenced); then call again.
    AbortFirst(EndPlan),
    /// The epoch is exhausted: give the id a fresh producer id, then call again.
    NeedNewProducerId,
}

/// What EndTxn needs next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndStep {
    /// Nothing: a retry of the transaction that already ended this way.
    AlreadyDone,
    /// Carry out the plan, then [`TransactionMetadata::complete_end`].
    Write(EndPlan),
}

/// The state of one transactional id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionMetadata {
    /// The id.
    pub transactional_id: String,
    /// The producer id it is bound to.
    pub producer_id: i64,
    /// The current epoch (-1 before the first InitProducerId).
    pub producer_epoch: i16,
    /// The epoch before the last bump (-1: none), so a retried InitProducerId is recognised.
    pub last_producer_epoch: i16,
    /// `transaction.timeout.ms` of the producer.
    pub timeout_ms: i32,
    /// Where it is.
    pub state: TxnState,
    /// Partitions in the open transaction.
    pub partitions: BTreeSet<TopicPartition>,
    /// Groups whose offsets the open transaction commits (AddOffsetsToTxn).
    pub groups: BTreeSet<String>,
    /// TxnOffsetCommit offsets waiting for the commit, by group.
    #[serde(with = "pending_as_list")]
    pub pending_offsets: BTreeMap<String, BTreeMap<TopicPartition, PendingOffset>>,
    /// When the open transaction started (ms), or -1.
    pub start_ms: i64,
    /// When the state last changed (ms).
    pub last_update_ms: i64,
}

type Checked<T> = Result<T, ResponseError>;

/// Pending offsets as JSON: a list of (group, topic, partition, offset), since JSON object keys
/// are strings only.
mod pending_as_list {
    use super::*;
    use serde::{Deserializer, Serializer};

    type Pending = BTreeMap<String, BTreeMap<TopicPartition, PendingOffset>>;

    pub fn serialize<S: Serializer>(p: &Pending, s: S) -> Result<S::Ok, S::Error> {
        let list: Vec<(&String, &String, i32, &PendingOffset)> = p
            .iter()
            .flat_map(|(g, o)| o.iter().map(move |((t, n), v)| (g, t, *n, v)))
            .collect();
        list.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Pending, D::Error> {
        let list: Vec<(String, String, i32, PendingOffset)> = Vec::deserialize(d)?;
        let mut out = Pending::new();
        for (g, t, n, v) in list {
            out.entry(g).or_default().insert((t, n), v);
        }
        Ok(out)
    }
}

/// The highest epoch handed out before a producer gets a fresh id (Kafka keeps one step of
/// headroom for the fencing bump).
const MAX_EPOCH: i16 = i16::MAX - 1;

impl TransactionMetadata {
    /// A new id bound to `producer_id`, before its first epoch.
    pub fn new(transactional_id: &str, producer_id: i64, timeout_ms: i32, now: i64) -> Self {
        TransactionMetadata {
            transactional_id: transactional_id.to_string(),
            producer_id,
            producer_epoch: -1,
            last_producer_epoch: -1,
            timeout_ms,
            state: TxnState::Empty,
            partitions: BTreeSet::new(),
            groups: BTreeSet::new(),
            pending_offsets: BTreeMap::new(),
            start_ms: -1,
            last_update_ms: now,
        }
    }

    /// Checks that a request comes from the current producer of this id.
    fn check_producer(&self, producer_id: i64, epoch: i16) -> Checked<()> {
        if producer_id != self.producer_id {
            Err(ResponseError::InvalidProducerIdMapping)
        } else if epoch != self.producer_epoch {
            Err(ResponseError::ProducerFenced)
        } else if self.state.preparing() {
            Err(ResponseError::ConcurrentTransactions)
        } else {
            Ok(())
        }
    }

    /// InitProducerId: `producer_id`/`epoch` are the caller's current ones (KIP-360), or -1.
    pub fn init_producer_id(
        &mut self,
        producer_id: i64,
        epoch: i16,
        timeout_ms: i32,
        now: i64,
    ) -> Checked<InitStep> {
        if self.state.preparing() {
            return Err(ResponseError::ConcurrentTransactions);
        }
        if producer_id >= 0 {
            // A producer recovering its own id: it must be the current one, or a retry of the
            // call that bumped it.
            let retry = epoch == self.last_producer_epoch && self.state != TxnState::Ongoing;
            if producer_id != self.producer_id || (epoch != self.producer_epoch && !retry) {
                return Err(ResponseError::ProducerFenced);
            }
            if retry && epoch != self.producer_epoch {
                return Ok(InitStep::Ready(self.producer_id, self.producer_epoch));
            }
        }
        if self.state == TxnState::Ongoing {
            return Ok(InitStep::AbortFirst(self.fence_and_abort(now)));
        }
        if self.producer_epoch >= MAX_EPOCH {
            return Ok(InitStep::NeedNewProducerId);
        }
        self.last_producer_epoch = self.producer_epoch;
        self.producer_epoch += 1;
        self.timeout_ms = timeout_ms;
        self.reset(TxnState::Empty, now);
        Ok(InitStep::Ready(self.producer_id, self.producer_epoch))
    }

    /// Binds the id to a fresh producer id at epoch -1 (the next InitProducerId makes it 0).
    pub fn assign_producer_id(&mut self, producer_id: i64) {
        self.producer_id = producer_id;
        self.producer_epoch = -1;
        self.last_producer_epoch = -1;
    }

    /// AddPartitionsToTxn.
    pub fn add_partitions(
        &mut self,
        producer_id: i64,
        epoch: i16,
        partitions: &[TopicPartition],
        now: i64,
    ) -> Checked<()> {
        self.check_producer(producer_id, epoch)?;
        if self.state == TxnState::Dead {
            return Err(ResponseError::InvalidTxnState);
        }
        if self.state != TxnState::Ongoing
            || partitions.iter().any(|p| !self.partitions.contains(p))
        {
            self.begin(now);
            self.partitions.extend(partitions.iter().cloned());
            self.last_update_ms = now;
        }
        Ok(())
    }

    /// AddOffsetsToTxn.
    pub fn add_group(
        &mut self,
        producer_id: i64,
        epoch: i16,
        group: &str,
        now: i64,
    ) -> Checked<()> {
        self.check_producer(producer_id, epoch)?;
        if self.state == TxnState::Dead {
            return Err(ResponseError::InvalidTxnState);
        }
        self.begin(now);
        self.groups.insert(group.to_string());
        self.last_update_ms = now;
        Ok(())
    }

    /// TxnOffsetCommit: keeps the offsets until the transaction ends. The group must have been
    /// added to the open transaction first.
    pub fn add_offsets(
        &mut self,
        producer_id: i64,
        epoch: i16,
        group: &str,
        offsets: Vec<(TopicPartition, PendingOffset)>,
        now: i64,
    ) -> Checked<()> {
        self.check_producer(producer_id, epoch)?;
        if self.state != TxnState::Ongoing || !self.groups.contains(group) {
            return Err(ResponseError::InvalidTxnState);
        }
        self.pending_offsets
            .entry(group.to_string())
            .or_default()
            .extend(offsets);
        self.last_update_ms = now;
        Ok(())
    }

    /// True when a Produce of this producer may write transactional records to `partition`.
    pub fn accepts_produce(&self, epoch: i16, partition: &TopicPartition) -> Checked<()> {
        if epoch < self.producer_epoch {
            return Err(ResponseError::InvalidProducerEpoch);
        }
        if epoch > self.producer_epoch {
            return Err(ResponseError::InvalidProducerEpoch);
        }
        if self.state != TxnState::Ongoing || !self.partitions.contains(partition) {
            return Err(ResponseError::InvalidTxnState);
        }
        Ok(())
    }

    /// EndTxn.
    pub fn end(
        &mut self,
        producer_id: i64,
        epoch: i16,
        commit: bool,
        now: i64,
    ) -> Checked<EndStep> {
        if producer_id != self.producer_id {
            return Err(ResponseError::InvalidProducerIdMapping);
        }
        if epoch != self.producer_epoch {
            return Err(ResponseError::ProducerFenced);
        }
        match (self.state, commit) {
            (TxnState::Ongoing, _) => {
                self.state = if commit {
                    TxnState::PrepareCommit
                } else {
                    TxnState::PrepareAbort
                };
                self.last_update_ms = now;
                Ok(EndStep::Write(self.plan(commit)))
            }
            (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => {
                Ok(EndStep::AlreadyDone)
            }
            (s, _) if s.preparing() => Err(ResponseError::ConcurrentTransactions),
            _ => Err(ResponseError::InvalidTxnState),
        }
    }

    /// The plan of a decision being carried out (PrepareCommit/PrepareAbort), e.g. after a
    /// restart or a failed marker write.
    pub fn pending_plan(&self) -> Option<EndPlan> {
        match self.state {
            TxnState::PrepareCommit => Some(self.plan(true)),
            TxnState::PrepareAbort | TxnState::PrepareEpochFence => Some(self.plan(false)),
            _ => None,
        }
    }

    /// The markers are written (and offsets committed): the transaction is complete.
    pub fn complete_end(&mut self, now: i64) {
        let done = match self.state {
            TxnState::PrepareCommit => TxnState::CompleteCommit,
            TxnState::PrepareAbort | TxnState::PrepareEpochFence => TxnState::CompleteAbort,
            _ => return,
        };
        self.reset(done, now);
    }

    /// A transaction open longer than its timeout: fenced (epoch bumped, so the producer cannot
    /// go on writing it) and aborted. None when it has time left.
    pub fn abort_if_timed_out(&mut self, now: i64) -> Option<EndPlan> {
        if self.state != TxnState::Ongoing
            || now.saturating_sub(self.start_ms) <= self.timeout_ms as i64
        {
            return None;
        }
        Some(self.fence_and_abort(now))
    }

    /// True when the id has been idle past `expiration_ms` with no transaction open.
    pub fn expired(&self, now: i64, expiration_ms: i64) -> bool {
        matches!(
            self.state,
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort
        ) && now.saturating_sub(self.last_update_ms) >= expiration_ms
    }

    fn fence_and_abort(&mut self, now: i64) -> EndPlan {
        if self.producer_epoch < i16::MAX {
            self.last_producer_epoch = self.producer_epoch;
            self.producer_epoch += 1;
        }
        self.state = TxnState::PrepareEpochFence;
        self.last_update_ms = now;
        self.plan(false)
    }

    fn plan(&self, commit: bool) -> EndPlan {
        EndPlan {
            producer_id: self.producer_id,
            producer_epoch: self.producer_epoch,
            commit,
            partitions: self.partitions.iter().cloned().collect(),
            offsets: if commit {
                self.pending_offsets.clone()
            } else {
                BTreeMap::new()
            },
        }
    }

    fn begin(&mut self, now: i64) {
        if self.state != TxnState::Ongoing {
            self.reset(TxnState::Ongoing, now);
            self.start_ms = now;
        }
    }

    fn reset(&mut self, state: TxnState, now: i64) {
        self.state = state;
        self.partitions.clear();
        self.groups.clear();
        self.pending_offsets.clear();
        self.start_ms = -1;
        self.last_update_ms = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(t: &str, p: i32) -> TopicPartition {
        (t.to_string(), p)
    }

    fn ready(m: &mut TransactionMetadata, now: i64) -> (i64, i16) {
        match m.init_producer_id(-1, -1, 60_000, now).unwrap() {
            InitStep::Ready(id, epoch) => (id, epoch),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn commit_goes_empty_ongoing_prepare_complete() {
        let mut m = TransactionMetadata::new("t", 7, 60_000, 0);
        assert_eq!(ready(&mut m, 0), (7, 0));
        assert_eq!(m.state, TxnState::Empty);
        m.add_partitions(7, 0, &[tp("a", 0), tp("a", 1)], 10)
            .unwrap();
        assert_eq!((m.state, m.start_ms), (TxnState::Ongoing, 10));
        m.add_group(7, 0, "g", 11).unwrap();
        m.add_offsets(
            7,
            0,
            "g",
            vec![(
                tp("in", 0),
                PendingOffset {
                    offset: 5,
                    metadata: String::new(),
                },
            )],
            12,
        )
        .unwrap();
        assert_eq!(m.accepts_produce(0, &tp("a", 1)), Ok(()));
        assert_eq!(
            m.accepts_produce(0, &tp("a", 2)),
            Err(ResponseError::InvalidTxnState)
        );
        let EndStep::Write(plan) = m.end(7, 0, true, 20).unwrap() else {
            panic!("a plan")
        };
        assert_eq!(m.state, TxnState::PrepareCommit);
        assert_eq!(plan.partitions, [tp("a", 0), tp("a", 1)]);
        assert_eq!(plan.offsets["g"][&tp("in", 0)].offset, 5);
        assert_eq!((plan.producer_epoch, plan.commit), (0, true));
        // While the markers are written, everything else waits.
        assert_eq!(
            m.add_partitions(7, 0, &[tp("a", 0)], 21),
            Err(ResponseError::ConcurrentTransactions)
        );
        assert_eq!(
            m.end(7, 0, true, 21),
            Err(ResponseError::ConcurrentTransactions)
        );
        assert_eq!(m.pending_plan(), Some(plan));
        m.complete_end(22);
        assert_eq!(m.state, TxnState::CompleteCommit);
        assert!(m.partitions.is_empty() && m.pending_offsets.is_empty());
        // A retried EndTxn is answered as done; the other outcome is refused.
        assert_eq!(m.end(7, 0, true, 23), Ok(EndStep::AlreadyDone));
        assert_eq!(m.end(7, 0, false, 23), Err(ResponseError::InvalidTxnState));
    }

    #[test]
    fn abort_drops_pending_offsets() {
        let mut m = TransactionMetadata::new("t", 7, 60_000, 0);
        ready(&mut m, 0);
        m.add_group(7, 0, "g", 1).unwrap();
        m.add_offsets(
            7,
            0,
            "g",
            vec![(
                tp("in", 0),
                PendingOffset {
                    offset: 5,
                    metadata: String::new(),
                },
            )],
            1,
        )
        .unwrap();
        let EndStep::Write(plan) = m.end(7, 0, false, 2).unwrap() else {
            panic!()
        };
        assert_eq!(m.state, TxnState::PrepareAbort);
        assert!(plan.offsets.is_empty() && !plan.commit);
        m.complete_end(3);
        assert_eq!(m.state, TxnState::CompleteAbort);
        assert_eq!(m.end(7, 0, false, 4), Ok(EndStep::AlreadyDone));
    }

    #[test]
    fn bad_requests_get_kafkas_errors() {
        let mut m = TransactionMetadata::new("t", 7, 60_000, 0);
        ready(&mut m, 0);
        assert_eq!(
            m.end(7, 0, true, 1),
            Err(ResponseError::InvalidTxnState),
            "nothing open"
        );
        assert_eq!(
            m.end(8, 0, true, 1),
            Err(ResponseError::InvalidProducerIdMapping)
        );
        assert_eq!(
            m.add_partitions(7, 3, &[tp("a", 0)], 1),
            Err(ResponseError::ProducerFenced)
        );
        assert_eq!(
            m.add_offsets(7, 0, "g", vec![], 1),
            Err(ResponseError::InvalidTxnState),
            "offsets of a group never added"
        );
        assert_eq!(
            m.accepts_produce(0, &tp("a", 0)),
            Err(ResponseError::InvalidTxnState)
        );
    }

    #[test]
    fn a_new_producer_fences_the_old_one_and_aborts_its_transaction() {
        let mut m = TransactionMetadata::new("t", 7, 60_000, 0);
        ready(&mut m, 0);
        m.add_partitions(7, 0, &[tp("a", 0)], 1).unwrap();
        let InitStep::AbortFirst(plan) = m.init_producer_id(-1, -1, 60_000, 2).unwrap() else {
            panic!("the open transaction is aborted first")
        };
        assert_eq!(
            (plan.producer_epoch, plan.commit),
            (1, false),
            "markers carry the fenced epoch"
        );
        assert_eq!(m.state, TxnState::PrepareEpochFence);
        assert_eq!(
            m.init_producer_id(-1, -1, 60_000, 2),
            Err(ResponseError::ConcurrentTransactions)
        );
        m.complete_end(3);
        assert_eq!(m.state, TxnState::CompleteAbort);
        assert_eq!(ready(&mut m, 4), (7, 2));
        // The zombie at epoch 0 is fenced everywhere.
        assert_eq!(
            m.add_partitions(7, 0, &[tp("a", 0)], 5),
            Err(ResponseError::ProducerFenced)
        );
        assert_eq!(m.end(7, 0, true, 5), Err(ResponseError::ProducerFenced));
        assert_eq!(
            m.accepts_produce(0, &tp("a", 0)),
            Err(ResponseError::InvalidProducerEpoch)
        );
        // KIP-360: the current producer re-initializing bumps; a retry of that gets the same.
        assert_eq!(
            m.init_producer_id(7, 2, 60_000, 6),
            Ok(InitStep::Ready(7, 3))
        );
        assert_eq!(
            m.init_producer_id(7, 2, 60_000, 6),
            Ok(InitStep::Ready(7, 3))
        );
        assert_eq!(
            m.init_producer_id(7, 0, 60_000, 6),
            Err(ResponseError::ProducerFenced)
        );
        assert_eq!(
            m.init_producer_id(9, 3, 60_000, 6),
            Err(ResponseError::ProducerFenced)
        );
    }

    #[test]
    fn a_transaction_past_its_timeout_is_fenced_and_aborted() {
        let mut m = TransactionMetadata::new("t", 7, 1_000, 0);
        match m.init_producer_id(-1, -1, 1_000, 0).unwrap() {
            InitStep::Ready(_, 0) => {}
            other => panic!("{other:?}"),
        }
        m.add_partitions(7, 0, &[tp("a", 0)], 100).unwrap();
        assert_eq!(m.abort_if_timed_out(1_100), None, "exactly at the timeout");
        let plan = m.abort_if_timed_out(1_101).expect("timed out");
        assert_eq!((plan.producer_epoch, plan.commit), (1, false));
        assert_eq!(plan.partitions, [tp("a", 0)]);
        m.complete_end(1_102);
        assert_eq!(m.state, TxnState::CompleteAbort);
        assert_eq!(m.end(7, 0, true, 1_103), Err(ResponseError::ProducerFenced));
        assert!(!m.expired(1_103, 10_000));
        assert!(m.expired(11_102, 10_000));
    }

    #[test]
    fn the_state_round_trips_through_json() {
        let mut m = TransactionMetadata::new("t", 7, 60_000, 0);
        ready(&mut m, 0);
        m.add_partitions(7, 0, &[tp("a", 3)], 1).unwrap();
        m.add_group(7, 0, "g", 1).unwrap();
        m.add_offsets(
            7,
            0,
            "g",
            vec![(
                tp("in", 2),
                PendingOffset {
                    offset: 9,
                    metadata: "m".into(),
                },
            )],
            2,
        )
        .unwrap();
        let json = serde_json::to_vec(&m).unwrap();
        let back: TransactionMetadata = serde_json::from_slice(&json).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn an_exhausted_epoch_asks_for_a_new_producer_id() {
        let mut m = TransactionMetadata::new("t", 7, 1_000, 0);
        m.producer_epoch = MAX_EPOCH;
        assert_eq!(
            m.init_producer_id(-1, -1, 1_000, 0),
            Ok(InitStep::NeedNewProducerId)
        );
        m.assign_producer_id(8);
        assert_eq!(
            m.init_producer_id(-1, -1, 1_000, 0),
            Ok(InitStep::Ready(8, 0))
        );
    }
}
