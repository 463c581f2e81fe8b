//! The transaction coordinator's driver: it holds every transactional id's
//! [`TransactionMetadata`] (the pure state machine), runs each request through it under that
//! id's lock, carries out what it decides — transaction markers appended to the partitions,
//! offsets committed to the groups — and keeps the state durable.
//!
//! Durability: Kafka keeps transaction state in the `__transaction_state` topic; here each id's
//! metadata is a small JSON file in `.streamlog/transactions/`, replaced atomically after every
//! change, before the request is answered (like Kafka's, not fsynced: it survives a `kill -9`;
//! a power loss falls back to the previous version, as an unflushed Kafka log would). A
//! decision being carried out (PrepareCommit/PrepareAbort) is written before any marker, so a
//! restart finishes it; an open transaction is aborted when its timeout passes, restart or not.
//!
//! One lock per id, held while its markers are written: requests of one producer are ordered,
//! different producers do not wait for each other.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use kafka_protocol::ResponseError;

use super::state::BrokerState;
use super::transaction_state::{
    EndPlan, EndStep, InitStep, PendingOffset, TopicPartition, TransactionMetadata, TxnState,
};
use crate::engine::group::CommittedOffset;
use crate::error::{Error, Result};
use crate::log::control::{ControlType, encode_marker};
use crate::log::unified::now_ms;

type Shared = Arc<Mutex<TransactionMetadata>>;

/// The transaction coordinator of this broker.
pub struct TransactionCoordinator {
    dir: PathBuf,
    txns: Mutex<HashMap<String, Shared>>,
    /// Producer id → transactional id, for Produce's check of transactional batches.
    by_producer: Mutex<HashMap<i64, String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// File name of an id's state: hex, since ids are arbitrary strings.
fn file_name(transactional_id: &str) -> String {
    let mut s = String::with_capacity(transactional_id.len() * 2 + 5);
    for b in transactional_id.bytes() {
        s.push_str(&format!("{b:02x}"));
    }
    s.push_str(".json");
    s
}

/// A failure to carry out a decision: the client retries (the periodic check retries too).
fn storage(e: &Error) -> ResponseError {
    tracing::error!(error = %e, "transaction state or marker write failed");
    ResponseError::CoordinatorNotAvailable
}

impl TransactionCoordinator {
    /// The coordinator of the data dir whose metadata directory is `meta_dir`, with the state
    /// kept there loaded.
    ///
    /// # Errors
    /// `Io`/`DataDir` when the directory cannot be read or a state file is damaged.
    pub fn load(meta_dir: &std::path::Path) -> Result<Self> {
        let dir = meta_dir.join("transactions");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let mut txns = HashMap::new();
        let mut by_producer = HashMap::new();
        for entry in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let path = entry.map_err(|e| Error::io(&dir, e))?.path();
            if path.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
            let m: TransactionMetadata = serde_json::from_slice(&bytes).map_err(|e| {
                Error::DataDir(format!(
                    "transaction state {} is damaged ({e}); remove it to forget that transactional id",
                    path.display()
                ))
            })?;
            by_producer.insert(m.producer_id, m.transactional_id.clone());
            txns.insert(m.transactional_id.clone(), Arc::new(Mutex::new(m)));
        }
        Ok(TransactionCoordinator {
            dir,
            txns: Mutex::new(txns),
            by_producer: Mutex::new(by_producer),
        })
    }

    fn get(&self, transactional_id: &str) -> Option<Shared> {
        lock(&self.txns).get(transactional_id).cloned()
    }

    fn persist(&self, m: &TransactionMetadata) -> Result<()> {
        let path = self.dir.join(file_name(&m.transactional_id));
        let bytes = serde_json::to_vec(m).map_err(|e| Error::DataDir(e.to_string()))?;
        crate::log::atomic_file::write(&path, &bytes, false)
    }

    /// Persists `m`, or puts `before` back (the request fails and nothing changed).
    fn commit_change(
        &self,
        m: &mut TransactionMetadata,
        before: TransactionMetadata,
    ) -> std::result::Result<(), ResponseError> {
        if *m == before {
            return Ok(());
        }
        if let Err(e) = self.persist(m) {
            *m = before;
            return Err(storage(&e));
        }
        Ok(())
    }

    /// InitProducerId with a transactional id: the producer's id and new epoch. An open
    /// transaction of the id is aborted first (the old producer is fenced).
    pub fn init_producer_id(
        &self,
        state: &BrokerState,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        timeout_ms: i32,
    ) -> std::result::Result<(i64, i16), ResponseError> {
        if timeout_ms <= 0 || timeout_ms > state.config().transaction_max_timeout_ms {
            return Err(ResponseError::InvalidTransactionTimeout);
        }
        let shared = match self.get(transactional_id) {
            Some(s) => s,
            None => {
                let id = state.producers().next_id().map_err(|e| storage(&e))?;
                let m = TransactionMetadata::new(transactional_id, id, timeout_ms, now_ms());
                let mut txns = lock(&self.txns);
                txns.entry(transactional_id.to_string())
                    .or_insert_with(|| Arc::new(Mutex::new(m)))
                    .clone()
            }
        };
        let mut m = lock(&shared);
        loop {
            let before = m.clone();
            let step = m.init_producer_id(producer_id, epoch, timeout_ms, now_ms());
            match step {
                Err(e) => return Err(e),
                Ok(InitStep::Ready(id, epoch)) => {
                    self.commit_change(&mut m, before)?;
                    lock(&self.by_producer).insert(id, transactional_id.to_string());
                    return Ok((id, epoch));
                }
                Ok(InitStep::AbortFirst(plan)) => {
                    self.commit_change(&mut m, before)?;
                    self.carry_out(state, &mut m, &plan)?;
                }
                Ok(InitStep::NeedNewProducerId) => {
                    let id = state.producers().next_id().map_err(|e| storage(&e))?;
                    m.assign_producer_id(id);
                }
            }
        }
    }

    /// Runs `f` on the state of an id that must exist, persisting what it changed.
    fn with_txn<T>(
        &self,
        transactional_id: &str,
        f: impl FnOnce(&mut TransactionMetadata) -> std::result::Result<T, ResponseError>,
    ) -> std::result::Result<T, ResponseError> {
        let shared = self
            .get(transactional_id)
            .ok_or(ResponseError::InvalidProducerIdMapping)?;
        let mut m = lock(&shared);
        let before = m.clone();
        match f(&mut m) {
            Ok(v) => {
                self.commit_change(&mut m, before)?;
                Ok(v)
            }
            Err(e) => {
                *m = before;
                Err(e)
            }
        }
    }

    /// AddPartitionsToTxn (the partitions are known to exist).
    pub fn add_partitions(
        &self,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        partitions: &[TopicPartition],
    ) -> std::result::Result<(), ResponseError> {
        self.with_txn(transactional_id, |m| {
            m.add_partitions(producer_id, epoch, partitions, now_ms())
        })
    }

    /// AddOffsetsToTxn.
    pub fn add_offsets_to_txn(
        &self,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        group: &str,
    ) -> std::result::Result<(), ResponseError> {
        self.with_txn(transactional_id, |m| {
            m.add_group(producer_id, epoch, group, now_ms())
        })
    }

    /// TxnOffsetCommit: the offsets wait in the transaction until it commits.
    pub fn txn_offset_commit(
        &self,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        group: &str,
        offsets: Vec<(TopicPartition, PendingOffset)>,
    ) -> std::result::Result<(), ResponseError> {
        self.with_txn(transactional_id, |m| {
            m.add_offsets(producer_id, epoch, group, offsets, now_ms())
        })
    }

    /// EndTxn: writes the markers (and commits the offsets) before answering.
    pub fn end_txn(
        &self,
        state: &BrokerState,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        commit: bool,
    ) -> std::result::Result<(), ResponseError> {
        let shared = self
            .get(transactional_id)
            .ok_or(ResponseError::InvalidProducerIdMapping)?;
        let mut m = lock(&shared);
        let before = m.clone();
        match m.end(producer_id, epoch, commit, now_ms()) {
            Err(e) => {
                *m = before;
                Err(e)
            }
            Ok(EndStep::AlreadyDone) => Ok(()),
            Ok(EndStep::Write(plan)) => {
                self.commit_change(&mut m, before)?;
                self.carry_out(state, &mut m, &plan)
            }
        }
    }

    /// Writes a decided transaction's markers and offsets, then completes it.
    fn carry_out(
        &self,
        state: &BrokerState,
        m: &mut TransactionMetadata,
        plan: &EndPlan,
    ) -> std::result::Result<(), ResponseError> {
        write_markers(state, plan).map_err(|e| storage(&e))?;
        let before = m.clone();
        m.complete_end(now_ms());
        self.commit_change(m, before)
    }

    /// Checks a transactional batch of a Produce: its producer must have an open transaction
    /// holding the partition, at the current epoch.
    pub fn check_produce(
        &self,
        producer_id: i64,
        epoch: i16,
        partition: &TopicPartition,
    ) -> std::result::Result<(), ResponseError> {
        let id = lock(&self.by_producer).get(&producer_id).cloned();
        let Some(shared) = id.and_then(|id| self.get(&id)) else {
            return Err(ResponseError::InvalidProducerIdMapping);
        };
        let m = lock(&shared);
        if m.producer_id != producer_id {
            return Err(ResponseError::InvalidProducerIdMapping);
        }
        m.accepts_produce(epoch, partition)
    }

    /// The partitions of `group` for which an open transaction holds offsets not committed yet
    /// (OffsetFetch with `require_stable` answers UNSTABLE_OFFSET_COMMIT for them).
    pub fn pending_offsets(&self, group: &str) -> std::collections::HashSet<TopicPartition> {
        let all: Vec<Shared> = lock(&self.txns).values().cloned().collect();
        let mut out = std::collections::HashSet::new();
        for s in all {
            if let Some(o) = lock(&s).pending_offsets.get(group) {
                out.extend(o.keys().cloned());
            }
        }
        out
    }

    /// The periodic check: finishes decisions a failure or a restart left half done, aborts
    /// transactions past their timeout, forgets ids idle past `transactional.id.expiration.ms`.
    pub fn tick(&self, state: &BrokerState, now: i64) {
        let all: Vec<Shared> = lock(&self.txns).values().cloned().collect();
        let expiration = state.config().transactional_id_expiration_ms;
        let mut expired = Vec::new();
        for shared in all {
            let mut m = lock(&shared);
            let plan = match m.pending_plan() {
                Some(plan) => Some(plan),
                None => {
                    let before = m.clone();
                    match m.abort_if_timed_out(now) {
                        Some(plan) => {
                            tracing::info!(transactional_id = %m.transactional_id, timeout_ms = m.timeout_ms, "aborting a transaction past its timeout");
                            if self.commit_change(&mut m, before).is_err() {
                                continue;
                            }
                            Some(plan)
                        }
                        None => None,
                    }
                }
            };
            if let Some(plan) = plan {
                let _ = self.carry_out(state, &mut m, &plan);
            } else if m.expired(now, expiration) {
                expired.push((m.transactional_id.clone(), m.producer_id));
            }
        }
        for (id, producer_id) in expired {
            let path = self.dir.join(file_name(&id));
            if std::fs::remove_file(&path).is_ok() || !path.exists() {
                lock(&self.txns).remove(&id);
                lock(&self.by_producer).remove(&producer_id);
            }
        }
    }

    /// Every id's state, by id (ListTransactions, DescribeTransactions).
    pub fn snapshot(&self) -> BTreeMap<String, TransactionMetadata> {
        let all: Vec<Shared> = lock(&self.txns).values().cloned().collect();
        all.iter()
            .map(|s| {
                let m = lock(s).clone();
                (m.transactional_id.clone(), m)
            })
            .collect()
    }

    /// One id's state.
    pub fn describe(&self, transactional_id: &str) -> Option<TransactionMetadata> {
        self.get(transactional_id).map(|s| lock(&s).clone())
    }

    /// True while any transaction is open or being ended (for tests and shutdown logging).
    pub fn open_count(&self) -> usize {
        self.snapshot()
            .values()
            .filter(|m| m.state == TxnState::Ongoing || m.state.preparing())
            .count()
    }
}

/// Appends the plan's marker to every partition of the transaction (a partition whose topic
/// was deleted meanwhile is skipped), then commits its offsets.
fn write_markers(state: &BrokerState, plan: &EndPlan) -> Result<()> {
    let kind = if plan.commit {
        ControlType::Commit
    } else {
        ControlType::Abort
    };
    let now = now_ms();
    for (topic, partition) in &plan.partitions {
        let meta = match state.engine().topic(topic) {
            Ok(meta) => meta,
            Err(Error::UnknownTopic(_)) => continue,
            Err(e) => return Err(e),
        };
        let log = match state.log(&meta, *partition) {
            Ok(log) => log,
            Err(Error::UnknownPartition { .. }) => continue,
            Err(e) => return Err(e),
        };
        let marker = encode_marker(plan.producer_id, plan.producer_epoch, kind, 0, now);
        log.append_records(&marker)?;
    }
    for (group, offsets) in &plan.offsets {
        let commits: Vec<_> = offsets
            .iter()
            .map(|(tp, o)| {
                (
                    tp.clone(),
                    CommittedOffset {
                        offset: o.offset,
                        metadata: o.metadata.clone(),
                        commit_timestamp: now,
                        expire_timestamp: None,
                    },
                )
            })
            .collect();
        state.engine().groups().commit_many(group, &commits, true)?;
    }
    if !plan.partitions.is_empty() {
        state.notify_appended();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_hex_of_any_id() {
        assert_eq!(file_name("a/b"), "612f62.json");
    }
}
