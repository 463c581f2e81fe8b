//! What every connection shares: the engine, the open partition logs, and a signal that wakes
//! long-polling fetches when records arrive.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::config::BrokerConfig;
use crate::engine::{Engine, TopicMetadata};
use crate::error::{Error, Result};
use crate::log::{Mode, Position, UnifiedLog};

/// (topic, partition).
type PartitionKey = (String, i32);
/// An open log and the id of the topic it was opened for (a recreated topic gets a new one).
type OpenLog = (uuid::Uuid, Arc<UnifiedLog>);

/// Shared broker state; cheap to clone.
#[derive(Clone)]
pub struct BrokerState {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    config: BrokerConfig,
    cluster_id: String,
    /// Partition logs opened for writing, by (topic, partition), with the topic id they belong to.
    logs: Mutex<HashMap<PartitionKey, OpenLog>>,
    /// Notified after every append, so waiting fetches re-check.
    appended: Notify,
    /// Where the last fetch of each partition ended: the next sequential fetch starts there
    /// without an index lookup.
    positions: Mutex<HashMap<PartitionKey, Position>>,
    /// Producer ids for InitProducerId (sequences live in each partition's log).
    producers: super::producers::ProducerIdManager,
    /// The consumer groups' coordinator (classic protocol).
    coordinator: Arc<super::coordinator::GroupCoordinator>,
    /// The transaction coordinator.
    transactions: super::transaction_coordinator::TransactionCoordinator,
    /// When this broker started, ms since the epoch.
    started_ms: i64,
    /// Set once shutdown begins: parked requests (long-poll fetches) answer at once.
    shutdown: tokio::sync::watch::Sender<bool>,
}

impl BrokerState {
    /// State over an opened engine.
    pub fn new(engine: Engine, config: BrokerConfig) -> Result<Self> {
        let cluster_id = engine.cluster_id()?;
        let coordinator = super::coordinator::GroupCoordinator::with_store(
            &config,
            Some(
                engine
                    .data_dir()
                    .join(".streamlog")
                    .join("group-generations"),
            ),
        );
        let producers =
            super::producers::ProducerIdManager::new(&engine.data_dir().join(".streamlog"));
        let transactions = super::transaction_coordinator::TransactionCoordinator::load(
            &engine.data_dir().join(".streamlog"),
        )?;
        Ok(BrokerState {
            inner: Arc::new(Inner {
                engine,
                config,
                cluster_id,
                logs: Mutex::new(HashMap::new()),
                appended: Notify::new(),
                positions: Mutex::new(HashMap::new()),
                producers,
                coordinator,
                transactions,
                started_ms: crate::log::unified::now_ms(),
                shutdown: tokio::sync::watch::Sender::new(false),
            }),
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// When this broker started, ms since the epoch.
    pub fn started_ms(&self) -> i64 {
        self.inner.started_ms
    }

    /// The broker's settings.
    pub fn config(&self) -> &BrokerConfig {
        &self.inner.config
    }

    /// The cluster id from the data dir.
    pub fn cluster_id(&self) -> &str {
        &self.inner.cluster_id
    }

    /// The log of one partition, opened once and kept.
    pub fn log(&self, meta: &TopicMetadata, partition: i32) -> Result<Arc<UnifiedLog>> {
        if partition < 0 || partition >= meta.partitions {
            return Err(Error::UnknownPartition {
                topic: meta.name.clone(),
                partition,
            });
        }
        let key = (meta.name.clone(), partition);
        let mut logs = self.inner.logs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((id, log)) = logs.get(&key)
            && *id == meta.topic_id
        {
            return Ok(log.clone());
        }
        let log = Arc::new(
            self.inner
                .engine
                .open_partition(meta, partition, Mode::Write)?,
        );
        logs.insert(key, (meta.topic_id, log.clone()));
        Ok(log)
    }

    /// Bytes of a partition's segment files (DescribeLogDirs' partition size): its open log's
    /// size, or, for a partition no request has opened yet, the sum of its files, read without
    /// opening the log (an open would recover it and mark it in use just to be measured).
    pub fn partition_size(&self, meta: &TopicMetadata, partition: i32) -> Result<u64> {
        let open = {
            let logs = self.inner.logs.lock().unwrap_or_else(|e| e.into_inner());
            logs.get(&(meta.name.clone(), partition))
                .filter(|(id, _)| *id == meta.topic_id)
                .map(|(_, log)| log.clone())
        };
        match open {
            Some(log) => log.size_in_bytes(),
            None => self.inner.engine.partition_size(meta, partition),
        }
    }

    /// Forgets the open logs of a deleted topic (its producer state went with its files).
    pub fn forget_topic(&self, topic: &str) {
        self.forget_logs(topic);
    }

    /// Closes a topic's open logs, so the next use reopens them (with changed configs). Each
    /// is closed before it leaves the map, so a request still holding it cannot append behind
    /// the back of its successor.
    pub fn forget_logs(&self, topic: &str) {
        let mut logs = self.inner.logs.lock().unwrap_or_else(|e| e.into_inner());
        logs.retain(|(t, _), (_, log)| {
            if t != topic {
                return true;
            }
            if let Err(e) = log.close_now() {
                tracing::warn!(log = ?log, error = %e, "closing the log failed");
            }
            false
        });
        let mut positions = self
            .inner
            .positions
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        positions.retain(|(t, _), _| t != topic);
    }

    /// Every open log, for flushing at shutdown and retention checks.
    pub fn open_logs(&self) -> Vec<Arc<UnifiedLog>> {
        let logs = self.inner.logs.lock().unwrap_or_else(|e| e.into_inner());
        logs.values().map(|(_, l)| l.clone()).collect()
    }

    /// Closes every open log, flushed and marked cleanly closed. The data of all of them is
    /// made durable with one `syncfs` first and their closing writes with one more after,
    /// instead of two fsyncs per partition (thousands of partitions close in well under a
    /// second); a log that cannot be closed that way closes on its own.
    pub fn close_logs(&self) {
        let logs: Vec<OpenLog> = {
            let mut logs = self.inner.logs.lock().unwrap_or_else(|e| e.into_inner());
            logs.drain().map(|(_, l)| l).collect()
        };
        if logs.is_empty() {
            return;
        }
        let data_dir = self.inner.engine.data_dir().to_path_buf();
        let closed = crate::log::UnifiedLog::close_all_synced(
            &data_dir,
            logs.iter().map(|(_, log)| log.as_ref()),
        );
        if let Err(e) = closed {
            tracing::error!(error = %e, "closing the logs failed; each is closed with its own fsyncs");
        }
        // Dropping the last handles: a log not closed above closes itself, with fsyncs.
        drop(logs);
    }

    /// Producer ids.
    pub fn producers(&self) -> &super::producers::ProducerIdManager {
        &self.inner.producers
    }

    /// The group coordinator.
    pub fn coordinator(&self) -> &super::coordinator::GroupCoordinator {
        &self.inner.coordinator
    }

    /// The transaction coordinator.
    pub fn transactions(&self) -> &super::transaction_coordinator::TransactionCoordinator {
        &self.inner.transactions
    }

    /// Starts shutdown: every [`shutting_down`](Self::shutting_down) resolves.
    pub fn begin_shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// Resolves once shutdown has begun (at once if it already has).
    pub async fn shutting_down(&self) {
        let mut rx = self.inner.shutdown.subscribe();
        let _ = rx.wait_for(|down| *down).await;
    }

    /// Wakes waiting fetches.
    pub fn notify_appended(&self) {
        self.inner.appended.notify_waiters();
    }

    /// Resolves when something is appended next.
    pub fn appended(&self) -> tokio::sync::futures::Notified<'_> {
        self.inner.appended.notified()
    }

    /// The position a fetch of `offset` can start from, if the last fetch ended there.
    pub fn cached_position(&self, topic: &str, partition: i32, offset: i64) -> Option<Position> {
        let positions = self
            .inner
            .positions
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        positions
            .get(&(topic.to_string(), partition))
            .filter(|p| p.offset == offset)
            .copied()
    }

    /// Remembers where a fetch ended.
    pub fn cache_position(&self, topic: &str, partition: i32, next: Position) {
        let mut positions = self
            .inner
            .positions
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        positions.insert((topic.to_string(), partition), next);
    }

    /// A topic by id (Fetch v13+ and Metadata v10+ name topics by id).
    pub fn topic_by_id(&self, id: uuid::Uuid) -> Result<Option<TopicMetadata>> {
        self.inner.engine.topic_by_id(id)
    }
}
