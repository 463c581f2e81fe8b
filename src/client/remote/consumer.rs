//! A consumer for a remote cluster: librdkafka's consumer, alone (assign) or in a group.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _};
use rdkafka::message::{Headers, Message, Timestamp};
use rdkafka::{Offset, TopicPartitionList};

use super::super::{Consumer, ConsumerConfig, ConsumerRecord, OffsetReset, StartOffset, Subscribe};
use super::{RemoteConfig, Watched, kafka_error, metadata_watched};
use crate::error::{Error, Result};

/// Consumer over a remote cluster.
pub struct RemoteConsumer {
    consumer: BaseConsumer<Watched>,
    bootstrap: String,
    group: bool,
    max_poll_records: usize,
    reset: OffsetReset,
    topics: HashMap<String, Arc<str>>,
    uncommitted: bool,
}

impl RemoteConsumer {
    /// Connects a consumer. Without a group it gets a random one and commits nothing, as
    /// Kafka's console consumer does.
    pub fn new(remote: &RemoteConfig, config: &ConsumerConfig) -> Result<Self> {
        let mut c = remote.client_config();
        let group = match &config.group {
            Some(g) => g.clone(),
            None => format!(
                "console-consumer-{}",
                uuid::Uuid::new_v4().as_u128() % 100_000
            ),
        };
        c.set("group.id", &group)
            .set("enable.auto.commit", "false")
            .set(
                "auto.offset.reset",
                match config.offset_reset {
                    OffsetReset::Earliest => "earliest",
                    OffsetReset::Latest => "latest",
                },
            )
            .set("enable.partition.eof", "false");
        // librdkafka 2.x backs off a whole second whenever its local queue is full, which a
        // consumer printing a million records fills: 5.6 s instead of 0.95 s for 1M records.
        if !remote.properties.contains_key("fetch.queue.backoff.ms") {
            c.set("fetch.queue.backoff.ms", "10");
        }
        if !remote.properties.contains_key("client.id") {
            c.set("client.id", &config.client_id);
        }
        let consumer: BaseConsumer<Watched> = c
            .create_with_context(Watched::default())
            .map_err(|e| kafka_error("consumer", e))?;
        let consumer = RemoteConsumer {
            consumer,
            bootstrap: remote.bootstrap_servers.clone(),
            group: config.group.is_some(),
            max_poll_records: config.max_poll_records,
            reset: config.offset_reset,
            topics: HashMap::new(),
            uncommitted: false,
        };
        // Reach the cluster now: an unreachable broker or a wrong password is reported at
        // once, and later poll errors are the transient kind librdkafka recovers from.
        consumer.metadata()?;
        Ok(consumer)
    }

    fn metadata(&self) -> Result<rdkafka::metadata::Metadata> {
        metadata_watched(
            self.consumer.client(),
            &self.consumer.context().watch,
            None,
            &self.bootstrap,
            || {
                // Nothing is assigned yet while this runs, so no record can be lost here.
                let _ = self.consumer.poll(Duration::ZERO);
            },
        )
    }

    fn topic(&mut self, name: &str) -> Arc<str> {
        self.topics
            .entry(name.to_string())
            .or_insert_with(|| Arc::from(name))
            .clone()
    }
}

impl RemoteConsumer {
    /// Every partition of the topics `wanted` picks, starting per `auto.offset.reset`.
    fn all_partitions(
        &self,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<Vec<(String, i32, StartOffset)>> {
        let md = self.metadata()?;
        let start = match self.reset {
            OffsetReset::Earliest => StartOffset::Earliest,
            OffsetReset::Latest => StartOffset::Latest,
        };
        Ok(md
            .topics()
            .iter()
            .filter(|t| wanted(t.name()))
            .flat_map(|t| {
                t.partitions()
                    .iter()
                    .map(move |p| (t.name().to_string(), p.id(), start))
            })
            .collect())
    }
}

impl RemoteConsumer {
    /// Kafka's consumer commits the position of every partition it was assigned, also of those
    /// it returned no record from: where it started (per `auto.offset.reset` when the group had
    /// no offset there). librdkafka knows the positions of the others only, so the starts of
    /// those are committed here, on close.
    fn commit_start_positions(&mut self) -> Result<()> {
        if !self.group {
            return Ok(());
        }
        let positions = self
            .consumer
            .position()
            .map_err(|e| kafka_error("position", e))?;
        let mut unread = TopicPartitionList::new();
        for e in positions.elements() {
            if !matches!(e.offset(), Offset::Offset(_)) {
                unread.add_partition(e.topic(), e.partition());
            }
        }
        if unread.count() == 0 {
            return Ok(());
        }
        let committed = self
            .consumer
            .committed_offsets(unread, super::TIMEOUT)
            .map_err(|e| kafka_error("committed offsets", e))?;
        let mut starts = TopicPartitionList::new();
        for e in committed.elements() {
            if matches!(e.offset(), Offset::Offset(_)) {
                continue;
            }
            let (low, high) = self
                .consumer
                .fetch_watermarks(e.topic(), e.partition(), super::TIMEOUT)
                .map_err(|err| kafka_error(e.topic(), err))?;
            let start = match self.reset {
                OffsetReset::Earliest => low,
                OffsetReset::Latest => high,
            };
            starts
                .add_partition_offset(e.topic(), e.partition(), Offset::Offset(start))
                .map_err(|err| kafka_error(e.topic(), err))?;
        }
        if starts.count() == 0 {
            return Ok(());
        }
        self.consumer
            .commit(&starts, CommitMode::Sync)
            .map_err(|e| kafka_error("commit", e))
    }
}

impl Consumer for RemoteConsumer {
    fn subscribe(&mut self, what: Subscribe) -> Result<()> {
        // Without a group nothing is committed, so plain assignment of every partition does
        // the job and needs no group coordinator.
        let what =
            match what {
                Subscribe::Topics(names) if !self.group => {
                    Subscribe::Assign(self.all_partitions(|t| names.iter().any(|n| n == t))?)
                }
                Subscribe::Pattern(p) if !self.group => {
                    let re = regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                        Error::InvalidRequest(format!("invalid --include pattern '{p}': {e}"))
                    })?;
                    Subscribe::Assign(self.all_partitions(|t| {
                        re.is_match(t) && !crate::engine::topic::is_internal(t)
                    })?)
                }
                other => other,
            };
        match what {
            Subscribe::Topics(names) => {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                self.consumer
                    .subscribe(&names)
                    .map_err(|e| kafka_error("subscribe", e))
            }
            Subscribe::Pattern(p) => {
                // librdkafka treats a subscription starting with ^ as a regex.
                let pattern = if p.starts_with('^') {
                    p
                } else {
                    format!("^{p}")
                };
                self.consumer
                    .subscribe(&[pattern.as_str()])
                    .map_err(|e| kafka_error("subscribe", e))
            }
            Subscribe::Assign(list) => {
                let mut tpl = TopicPartitionList::new();
                for (t, p, start) in &list {
                    let offset = match start {
                        StartOffset::Earliest => Offset::Beginning,
                        StartOffset::Latest => Offset::End,
                        StartOffset::At(o) => Offset::Offset(*o),
                        StartOffset::Committed => Offset::Stored,
                    };
                    tpl.add_partition_offset(t, *p, offset)
                        .map_err(|e| kafka_error(t, e))?;
                }
                self.consumer
                    .assign(&tpl)
                    .map_err(|e| kafka_error("assign", e))
            }
        }
    }

    fn poll(&mut self, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
        self.commit()?;
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        while out.len() < self.max_poll_records {
            // Wait for the first record; then take what is already buffered.
            let wait = if out.is_empty() {
                deadline.saturating_duration_since(Instant::now())
            } else {
                Duration::ZERO
            };
            let Some(msg) = self.consumer.poll(wait) else {
                break;
            };
            let msg = match msg {
                Ok(m) => m,
                // A broker going away or a leader moving: librdkafka reconnects and fetches
                // from the new leader by itself, as Kafka's consumer does.
                Err(e) if is_transient(&e) => {
                    tracing::debug!(error = %e, "transient consumer error");
                    continue;
                }
                Err(e) => return Err(kafka_error("poll", e)),
            };
            let (timestamp, log_append_time) = match msg.timestamp() {
                Timestamp::CreateTime(t) => (t, false),
                Timestamp::LogAppendTime(t) => (t, true),
                Timestamp::NotAvailable => (-1, false),
            };
            let headers = msg
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| (h.key.to_string(), h.value.map(Bytes::copy_from_slice)))
                        .collect()
                })
                .unwrap_or_default();
            let record = ConsumerRecord {
                topic: Arc::from(""),
                partition: msg.partition(),
                offset: msg.offset(),
                timestamp,
                log_append_time,
                key: msg.key().map(Bytes::copy_from_slice),
                value: msg.payload().map(Bytes::copy_from_slice),
                headers,
            };
            let topic = msg.topic().to_string();
            drop(msg);
            out.push(ConsumerRecord {
                topic: self.topic(&topic),
                ..record
            });
            if Instant::now() >= deadline && !out.is_empty() {
                break;
            }
        }
        if !out.is_empty() {
            self.uncommitted = true;
        }
        Ok(out)
    }

    fn set_max_poll_records(&mut self, n: usize) {
        self.max_poll_records = n.max(1);
    }

    fn commit(&mut self) -> Result<()> {
        if self.group && self.uncommitted {
            // Offsets of everything returned so far (librdkafka stores them on poll).
            match self.consumer.commit_consumer_state(CommitMode::Sync) {
                Ok(()) => self.uncommitted = false,
                Err(e)
                    if e.rdkafka_error_code()
                        == Some(rdkafka::types::RDKafkaErrorCode::NoOffset) =>
                {
                    self.uncommitted = false;
                }
                Err(e) => return Err(kafka_error("commit", e)),
            }
        }
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        let result = self.commit().and_then(|()| self.commit_start_positions());
        self.consumer.unsubscribe();
        result
    }
}

/// Errors librdkafka reports from poll and then recovers from on its own.
fn is_transient(e: &rdkafka::error::KafkaError) -> bool {
    use rdkafka::types::RDKafkaErrorCode as C;
    matches!(
        e.rdkafka_error_code(),
        Some(
            C::BrokerTransportFailure
                | C::AllBrokersDown
                | C::OperationTimedOut
                | C::RequestTimedOut
                | C::NotLeaderForPartition
                | C::LeaderNotAvailable
                | C::NetworkException
                | C::NotCoordinator
                | C::CoordinatorNotAvailable
                | C::FencedLeaderEpoch
                | C::UnknownLeaderEpoch
        )
    )
}
