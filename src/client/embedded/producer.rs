//! A producer appending straight to the data dir's partition logs, batching like the Java
//! client's RecordAccumulator (per-partition batches of `batch.size`, sent when full or after
//! `linger.ms`).
//!
//! Keyless records are spread as the Java client's built-in uniform sticky partitioner does
//! (KIP-794, `BuiltInPartitioner`): they stick to one partition, chosen at random among all of
//! them, until `batch.size` bytes have been produced to it and its batch is complete, or until
//! twice `batch.size` bytes whatever the batches. Batches sent early by `linger.ms` (a slow
//! feed) therefore do not pin every record to one partition, nor does every flush move on.
//!
//! Full batches are not written one by one: like the batches of one Produce request, a
//! partition's full batches wait in `ready` and go to the log in one append (one lock and one
//! write) at the next `flush_expired` or `flush` (the console producer calls one after every
//! block of input it reads), at `max.request.size` (1 MiB), or when the sticky partition moves
//! on — so the lines written are always a prefix of the keyless input.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::BytesMut;

use super::super::partitioner::partition_for_key;
use super::super::{Producer, ProducerConfig, ProducerRecord};
use crate::engine::{Engine, TopicMetadata};
use crate::error::{Error, Result};
use crate::log::batch::{BatchHeader, HEADER_LEN};
use crate::log::codec::encode_batch;
use crate::log::{Mode, UnifiedLog};

/// Bytes of full batches a partition gathers before they are written at once (Kafka's
/// `max.request.size` default).
const MAX_REQUEST_SIZE: usize = 1 << 20;

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
    /// Full batches per partition, encoded, and how many records they hold: written together.
    ready: Vec<(BytesMut, u64)>,
    /// Partition keyless records stick to (Kafka's `StickyPartitionInfo.index`).
    sticky: i32,
    /// Bytes of records produced to `sticky` since it was chosen (`producedBytes`).
    sticky_bytes: usize,
    /// Lookups since the metadata was read; the clock is checked every 256th.
    calls: u32,
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
        // The clock is read every 256th call only: this runs for every record.
        let stale = self.topics.get_mut(topic).is_none_or(|t| {
            t.calls = t.calls.wrapping_add(1);
            t.calls % 256 == 0 && t.fetched.elapsed() > METADATA_MAX_AGE
        });
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
                    ready: Vec::new(),
                    sticky,
                    sticky_bytes: 0,
                    calls: 0,
                });
            if entry.meta.topic_id != meta.topic_id {
                // Deleted and recreated: nothing of the old topic's handles applies.
                entry.logs.clear();
                entry.batches.clear();
                entry.ready.clear();
            }
            entry.meta = meta;
            entry.max_message_bytes = max_message_bytes;
            entry.fetched = Instant::now();
            entry.logs.resize_with(n, || None);
            entry.batches.resize_with(n, || None);
            entry.ready.resize_with(n, || (BytesMut::new(), 0));
            if entry.sticky as usize >= n {
                // Recreated with fewer partitions.
                entry.sticky = sticky;
                entry.sticky_bytes = 0;
            }
        }
        self.topics
            .get_mut(topic)
            .ok_or_else(|| Error::UnknownTopic(topic.to_string()))
    }

    /// Closes the open batch of a partition: encoded into its `ready` bytes.
    fn send_batch(&mut self, topic: &str, partition: i32) -> Result<()> {
        let compression = self.config.compression;
        let state = self.topic_state(topic)?;
        let p = partition as usize;
        let Some(batch) = state.batches[p].take() else {
            return Ok(());
        };
        let (ready, count) = &mut state.ready[p];
        encode_split(ready, &batch.records, compression, state.max_message_bytes)?;
        *count += batch.records.len() as u64;
        Ok(())
    }

    /// Writes a partition's ready batches to its log in one append.
    fn write_ready(&mut self, topic: &str, partition: i32) -> Result<()> {
        let engine = self.engine.clone();
        let state = self.topic_state(topic)?;
        let p = partition as usize;
        if state.ready[p].1 == 0 {
            return Ok(());
        }
        if state.logs[p].is_none() {
            state.logs[p] = Some(engine.open_partition(&state.meta, partition, Mode::Write)?);
        }
        let Some(log) = state.logs[p].as_ref() else {
            unreachable!("log was just opened")
        };
        // One append per segment's worth at most, so a small `segment.bytes` still rolls
        // between batches as it would if they were written one by one.
        let limit = (log.config().segment_bytes as usize).clamp(1, MAX_REQUEST_SIZE);
        let (ready, count) = &mut state.ready[p];
        let data = ready.split().freeze();
        *count = 0;
        let mut start = 0;
        let mut acked = 0u64;
        let mut result = Ok(());
        while start < data.len() {
            let mut end = start;
            let mut records = 0u64;
            while end < data.len() {
                let Ok(h) = BatchHeader::parse(&data[end..]) else {
                    end = data.len();
                    break;
                };
                if end > start && end - start + h.size() > limit {
                    break;
                }
                records += (h.next_offset() - h.base_offset).max(0) as u64;
                end = (end + h.size()).min(data.len());
            }
            if let Err(e) = log.append_records(&data[start..end]) {
                result = Err(e);
                break;
            }
            acked += records;
            start = end;
        }
        self.acked += acked;
        result
    }

    /// Writes every partition's ready batches.
    fn write_all_ready(&mut self) -> Result<()> {
        let ready: Vec<(String, i32)> = self
            .topics
            .iter()
            .flat_map(|(t, s)| {
                s.ready
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.1 > 0)
                    .map(move |(p, _)| (t.clone(), p as i32))
            })
            .collect();
        for (t, p) in ready {
            self.write_ready(&t, p)?;
        }
        Ok(())
    }
}

/// Encodes records as one batch onto `out`, halving it while it is over `max.message.bytes`.
fn encode_split(
    out: &mut BytesMut,
    records: &[ProducerRecord],
    compression: kafka_protocol::records::Compression,
    max_message_bytes: usize,
) -> Result<()> {
    let encoded = encode_batch(records, compression)?;
    if encoded.len() > max_message_bytes && records.len() > 1 {
        let (a, b) = records.split_at(records.len() / 2);
        encode_split(out, a, compression, max_message_bytes)?;
        return encode_split(out, b, compression, max_message_bytes);
    }
    out.extend_from_slice(&encoded);
    Ok(())
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
        // Drawn for every record, used when the sticky partition moves on.
        let next = self.next_random();
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
        let record_is_keyless = record.key.is_none();
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
        // Bytes this record adds, counting a new batch's header as Kafka's appendedBytes does.
        let appended = size + if slot.is_none() { HEADER_LEN } else { 0 };
        let batch = slot.get_or_insert_with(|| PendingBatch {
            records: Vec::new(),
            bytes: HEADER_LEN,
            created: Instant::now(),
        });
        batch.records.push(record);
        batch.bytes += size;
        let full = sync || batch.bytes >= batch_size;
        let mut moved_on = false;
        if partition.is_none() && record_is_keyless {
            // Kafka's BuiltInPartitioner.updatePartitionInfo: switch once batch.size bytes went
            // to the sticky partition and its batch is complete (it is closed just below when
            // full), or at twice batch.size regardless; the next one is drawn uniformly among
            // all partitions.
            state.sticky_bytes += appended;
            if (state.sticky_bytes >= batch_size && full)
                || state.sticky_bytes >= batch_size.saturating_mul(2)
            {
                state.sticky = (next % n.max(1) as u64) as i32;
                state.sticky_bytes = 0;
                moved_on = state.sticky != p;
            }
        }
        if full {
            self.send_batch(topic, p)?;
            let state = self.topic_state(topic)?;
            if sync || moved_on || state.ready[p as usize].0.len() >= MAX_REQUEST_SIZE {
                // When the sticky partition moves on, the lines written stay a prefix of the
                // input: this partition's batches go before any of the next one's.
                self.write_ready(topic, p)?;
            }
        } else if moved_on {
            self.write_ready(topic, p)?;
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
        self.write_all_ready()
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
        self.write_all_ready()
    }

    fn acknowledged(&self) -> u64 {
        self.acked
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use bytes::Bytes;

    use super::*;
    use crate::engine::EngineConfig;

    /// Sends 10,000 keyless 20-byte records to a 4-partition topic, calling `flush` every
    /// `flush_every` records (a slow feed whose batches `linger.ms` sends before they fill), and
    /// returns the partition of each record and the records each log holds.
    fn spread(flush_every: usize, seed: u64) -> (Vec<i32>, Vec<i64>) {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), EngineConfig::default()).unwrap();
        engine
            .create_topic("spread", Some(4), None, BTreeMap::new())
            .unwrap();
        let mut producer = EmbeddedProducer::new(engine.clone(), ProducerConfig::default());
        producer.rng = seed | 1;
        let mut chosen = Vec::new();
        for i in 0..10_000 {
            let record = ProducerRecord {
                key: None,
                value: Some(Bytes::from(format!("record-number-{i:06}"))),
                headers: Vec::new(),
                timestamp: 0,
            };
            chosen.push(producer.send("spread", None, record).unwrap());
            if (i + 1) % flush_every == 0 {
                producer.flush().unwrap();
            }
        }
        producer.flush().unwrap();
        let meta = engine.topic("spread").unwrap();
        let ends = (0..4)
            .map(|p| {
                let log = engine.open_partition(&meta, p, Mode::Read).unwrap();
                log.state().unwrap().log_end_offset
            })
            .collect();
        (chosen, ends)
    }

    /// Bytes (as the partitioner counts them) of each run of consecutive records sent to one
    /// partition.
    fn runs(chosen: &[i32]) -> Vec<usize> {
        let size = 26 + "record-number-000000".len();
        let mut runs = vec![0];
        for w in chosen.windows(2) {
            *runs.last_mut().unwrap() += size;
            if w[0] != w[1] {
                runs.push(0);
            }
        }
        runs
    }

    /// The review case: keyless records fed slowly (100 at a time, each lot sent by linger
    /// long before a batch fills) all went to one partition. As in Kafka, the sticky partition
    /// changes after at least batch.size and at most twice batch.size bytes.
    #[test]
    fn a_slow_keyless_feed_spreads_over_every_partition_in_runs_of_about_batch_size() {
        for seed in [1, 42, 0x5eed, 987_654_321] {
            let (chosen, ends) = spread(100, seed);
            assert_eq!(ends.iter().sum::<i64>(), 10_000);
            // Kafka draws each next partition uniformly at random, so shares vary; but every
            // partition gets some (before: one partition got all 10,000).
            assert!(
                ends.iter().all(|&n| n > 0),
                "seed {seed}: every partition gets records: {ends:?}"
            );
            let runs = runs(&chosen);
            assert!(runs.len() >= 8, "seed {seed}: {runs:?}");
            // A run may hold two sticky periods when the same partition is drawn again.
            for r in &runs[..runs.len() - 1] {
                assert!(
                    (16_384..=4 * 16_384 + 46).contains(r),
                    "seed {seed}: {runs:?}"
                );
            }
        }
    }

    /// A fast feed fills batches: the partition changes as soon as a batch of batch.size is
    /// sent, as the Java client does.
    #[test]
    fn a_fast_keyless_feed_switches_after_each_full_batch() {
        for seed in [7, 1234] {
            let (chosen, ends) = spread(usize::MAX, seed);
            assert!(ends.iter().all(|&n| n > 0), "seed {seed}: {ends:?}");
            let runs = runs(&chosen);
            for r in &runs[..runs.len() - 1] {
                // Multiples of one full batch (a partition may be drawn again).
                assert!(*r >= 16_384 - HEADER_LEN, "seed {seed}: {runs:?}");
            }
            assert!(runs.len() >= 12, "seed {seed}: {runs:?}");
        }
    }
}
