//! A producer appending straight to the data dir's partition logs, batching like the Java
//! client's RecordAccumulator (per-partition batches of `batch.size`, sent when full or after
//! `linger.ms`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::super::partitioner::partition_for_key;
use super::super::{Producer, ProducerConfig, ProducerRecord};
use crate::engine::{Engine, TopicMetadata};
use crate::error::{Error, Result};
use crate::log::batch::HEADER_LEN;
use crate::log::codec::encode_batch;
use crate::log::{Mode, UnifiedLog};

/// How often cached topic metadata is re-read, to notice added partitions.
const METADATA_MAX_AGE: Duration = Duration::from_secs(5);

struct PendingBatch {
    records: Vec<ProducerRecord>,
    bytes: usize,
    created: Instant,
}

struct TopicState {
    meta: TopicMetadata,
    /// The topic's `max.message.bytes`, checked for every record.
    max_message_bytes: usize,
    fetched: Instant,
    logs: Vec<Option<UnifiedLog>>,
    batches: Vec<Option<PendingBatch>>,
    /// Partition keyless records stick to until its batch is sent.
    sticky: i32,
}

/// Producer over an embedded data dir.
pub struct EmbeddedProducer {
    engine: Engine,
    config: ProducerConfig,
    topics: HashMap<String, TopicState>,
    acked: u64,
    rng: u64,
}

/// Upper bound of a record's encoded size inside a batch (Kafka's estimateSizeInBytesUpperBound).
pub fn record_size_upper_bound(r: &ProducerRecord) -> usize {
    let headers: usize = r
        .headers
        .iter()
        .map(|(k, v)| 10 + k.len() + v.as_ref().map_or(0, |v| v.len()))
        .sum();
    26 + r.key.as_ref().map_or(0, |k| k.len()) + r.value.as_ref().map_or(0, |v| v.len()) + headers
}

impl EmbeddedProducer {
    /// A producer over `engine`.
    pub fn new(engine: Engine, config: ProducerConfig) -> Self {
        let seed = std::process::id() as u64 ^ crate::log::unified::now_ms() as u64;
        EmbeddedProducer {
            engine,
            config,
            topics: HashMap::new(),
            acked: 0,
            rng: seed | 1,
        }
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64: only spreads keyless batches, no need for more.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn topic_state(&mut self, topic: &str) -> Result<&mut TopicState> {
        let stale = self
            .topics
            .get(topic)
            .is_none_or(|t| t.fetched.elapsed() > METADATA_MAX_AGE);
        if stale {
            let meta = self.engine.topic_or_create(topic)?;
            let n = meta.partitions as usize;
            let sticky = (self.next_random() % n.max(1) as u64) as i32;
            let max_message_bytes = self.engine.log_config(&meta).max_message_bytes;
            let entry = self
                .topics
                .entry(topic.to_string())
                .or_insert_with(|| TopicState {
                    meta: meta.clone(),
                    max_message_bytes,
                    fetched: Instant::now(),
                    logs: Vec::new(),
                    batches: Vec::new(),
                    sticky,
                });
            if entry.meta.topic_id != meta.topic_id {
                // Deleted and recreated: nothing of the old topic's handles applies.
                entry.logs.clear();
                entry.batches.clear();
            }
            entry.meta = meta;
            entry.max_message_bytes = max_message_bytes;
            entry.fetched = Instant::now();
            entry.logs.resize_with(n, || None);
            entry.batches.resize_with(n, || None);
        }
        self.topics
            .get_mut(topic)
            .ok_or_else(|| Error::UnknownTopic(topic.to_string()))
    }

    fn send_batch(&mut self, topic: &str, partition: i32) -> Result<()> {
        let compression = self.config.compression;
        let engine = self.engine.clone();
        let state = self.topic_state(topic)?;
        let p = partition as usize;
        let Some(batch) = state.batches[p].take() else {
            return Ok(());
        };
        if state.logs[p].is_none() {
            state.logs[p] = Some(engine.open_partition(&state.meta, partition, Mode::Write)?);
        }
        let Some(log) = state.logs[p].as_ref() else {
            unreachable!("log was just opened")
        };
        let acked = append_split(log, &batch.records, compression)?;
        self.acked += acked;
        Ok(())
    }
}

/// Appends records as one batch, halving it while it is over `max.message.bytes`.
fn append_split(
    log: &UnifiedLog,
    records: &[ProducerRecord],
    compression: kafka_protocol::records::Compression,
) -> Result<u64> {
    let mut encoded = encode_batch(records, compression)?;
    if encoded.len() > log.config().max_message_bytes && records.len() > 1 {
        let (a, b) = records.split_at(records.len() / 2);
        return Ok(append_split(log, a, compression)? + append_split(log, b, compression)?);
    }
    log.append(&mut encoded)?;
    Ok(records.len() as u64)
}

impl Drop for EmbeddedProducer {
    fn drop(&mut self) {
        let logs: Vec<UnifiedLog> = self
            .topics
            .values_mut()
            .flat_map(|t| t.logs.drain(..).flatten())
            .collect();
        if let Err(e) = UnifiedLog::close_many(logs) {
            tracing::warn!(error = %e, "closing the partition logs failed");
        }
    }
}

impl Producer for EmbeddedProducer {
    fn partition_count(&mut self, topic: &str) -> Result<i32> {
        Ok(self.topic_state(topic)?.meta.partitions)
    }

    fn send(&mut self, topic: &str, partition: Option<i32>, record: ProducerRecord) -> Result<i32> {
        let size = record_size_upper_bound(&record);
        let batch_size = self.config.batch_size;
        let sync = self.config.sync;
        let state = self.topic_state(topic)?;
        let max = state.max_message_bytes;
        if size + HEADER_LEN > max {
            return Err(Error::RecordTooLarge {
                topic: topic.to_string(),
                size: size + HEADER_LEN,
                max,
            });
        }
        let n = state.meta.partitions;
        let p = match (partition, &record.key) {
            (Some(p), _) if p < 0 || p >= n => {
                return Err(Error::UnknownPartition {
                    topic: topic.to_string(),
                    partition: p,
                });
            }
            (Some(p), _) => p,
            (None, Some(key)) => partition_for_key(key, n),
            (None, None) => state.sticky,
        };
        let slot = &mut state.batches[p as usize];
        let batch = slot.get_or_insert_with(|| PendingBatch {
            records: Vec::new(),
            bytes: HEADER_LEN,
            created: Instant::now(),
        });
        batch.records.push(record);
        batch.bytes += size;
        if sync || batch.bytes >= batch_size {
            let was_sticky = p == state.sticky && partition.is_none();
            self.send_batch(topic, p)?;
            if was_sticky && n > 1 {
                // Kafka's sticky partitioner moves on once a batch is sent.
                let next = (self.next_random() % (n as u64 - 1)) as i32;
                let state = self.topic_state(topic)?;
                state.sticky = if next >= p { next + 1 } else { next };
            }
        }
        Ok(p)
    }

    fn flush_expired(&mut self) -> Result<()> {
        let linger = self.config.linger;
        let due: Vec<(String, i32)> = self
            .topics
            .iter()
            .flat_map(|(t, s)| {
                s.batches.iter().enumerate().filter_map(move |(p, b)| {
                    b.as_ref()
                        .filter(|b| b.created.elapsed() >= linger)
                        .map(|_| (t.clone(), p as i32))
                })
            })
            .collect();
        for (t, p) in due {
            self.send_batch(&t, p)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let all: Vec<(String, i32)> = self
            .topics
            .iter()
            .flat_map(|(t, s)| {
                s.batches
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| b.is_some())
                    .map(move |(p, _)| (t.clone(), p as i32))
            })
            .collect();
        for (t, p) in all {
            self.send_batch(&t, p)?;
        }
        Ok(())
    }

    fn acknowledged(&self) -> u64 {
        self.acked
    }
}
