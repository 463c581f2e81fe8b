//! A consumer for a remote cluster: librdkafka's consumer, alone (assign) or in a group.

use std::ffi::CStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rdkafka::bindings as rd;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::super::{Consumer, ConsumerConfig, ConsumerRecord, OffsetReset, StartOffset, Subscribe};
use super::fetch_queue::{Attach, FetchQueue, Queue, topic_name};
use super::{RemoteConfig, Watch, code_error, kafka_error, metadata_watched};
use crate::error::{Error, Result};

/// Consumer over a remote cluster.
pub struct RemoteConsumer {
    // Declared first so that they go before the librdkafka handle they were made on.
    fetched: Arc<FetchQueue>,
    control: Queue,
    consumer: BaseConsumer<Fetching>,
    bootstrap: String,
    group: bool,
    max_poll_records: usize,
    reset: OffsetReset,
    topics: Vec<Arc<str>>,
    /// Where keys and values are copied to; see [`RemoteConsumer::take`].
    buf: BytesMut,
    uncommitted: bool,
}

/// The consumer's librdkafka context: the error watch, and the rebalance hook that sends
/// newly assigned partitions to the [`FetchQueue`].
#[derive(Debug, Default)]
struct Fetching {
    watch: Watch,
    attach: Attach,
}

impl ClientContext for Fetching {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::debug!(%error, reason, "librdkafka");
        self.watch.note(&error, reason);
    }
}

impl ConsumerContext for Fetching {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(list) = rebalance {
            // SAFETY: the queue was made on this consumer's handle.
            unsafe { self.attach.attach_all(consumer.client().native_ptr(), list) };
        }
    }
}

impl RemoteConsumer {
    /// Connects a consumer. Without a group it gets a random one (librdkafka assigns only
    /// within a group), assigns itself partitions and commits nothing, as Kafka's console
    /// consumer does.
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
            .set("enable.partition.eof", "false")
            // librdkafka's default is read_committed; Kafka's (and ours) read_uncommitted.
            .set(
                "isolation.level",
                if config.read_committed {
                    "read_committed"
                } else {
                    "read_uncommitted"
                },
            );
        // librdkafka 2.x backs off a whole second whenever its local queue is full, which a
        // consumer printing a million records fills: 5.6 s instead of 0.95 s for 1M records.
        if !remote.properties.contains_key("fetch.queue.backoff.ms") {
            c.set("fetch.queue.backoff.ms", "10");
        }
        if !remote.properties.contains_key("client.id") {
            c.set("client.id", &config.client_id);
        }
        let consumer: BaseConsumer<Fetching> = c
            .create_with_context(Fetching::default())
            .map_err(|e| kafka_error("consumer", e))?;
        // SAFETY: the queue is dropped before the consumer (field order, and Drop below).
        let fetched = unsafe { FetchQueue::new(consumer.client().native_ptr()) }
            .map(Arc::new)
            .ok_or_else(|| Error::Remote("librdkafka could not make a queue".to_string()))?;
        consumer.context().attach.set(Some(fetched.clone()));
        // SAFETY: as for the fetch queue; the consumer has a group, so a consumer queue.
        let control = unsafe { Queue::consumer(consumer.client().native_ptr()) }
            .ok_or_else(|| Error::Remote("librdkafka gave no consumer queue".to_string()))?;
        let consumer = RemoteConsumer {
            fetched,
            control,
            consumer,
            bootstrap: remote.bootstrap_servers.clone(),
            group: config.group.is_some(),
            max_poll_records: config.max_poll_records,
            reset: config.offset_reset,
            topics: Vec::new(),
            buf: BytesMut::new(),
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

    /// The shared name of a topic records come from.
    fn topic(&mut self, name: &[u8]) -> Arc<str> {
        if let Some(t) = self.topics.iter().find(|t| t.as_bytes() == name) {
            return t.clone();
        }
        let t: Arc<str> = Arc::from(String::from_utf8_lossy(name));
        self.topics.push(t.clone());
        t
    }

    /// Turns librdkafka's messages into records, keys and values of all of them copied into
    /// one buffer. Errors of the transient kind librdkafka recovers from are skipped.
    fn take<'a>(
        &mut self,
        messages: impl Iterator<Item = &'a rd::rd_kafka_message_t> + Clone,
        out: &mut Vec<ConsumerRecord>,
    ) -> Result<()> {
        let size = messages.clone().map(|m| m.len + m.key_len).sum();
        // Reuses the last batch's buffer once its records are gone.
        let mut buf = std::mem::take(&mut self.buf);
        buf.reserve(size);
        for m in messages {
            if m.err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                let code = RDKafkaErrorCode::from(m.err);
                // A broker going away or a leader moving: librdkafka reconnects and fetches
                // from the new leader by itself, as Kafka's consumer does.
                if is_transient(code) || code == RDKafkaErrorCode::PartitionEOF {
                    tracing::debug!(error = %code, "transient consumer error");
                    continue;
                }
                // SAFETY: m is live; librdkafka's text for its error.
                let text = unsafe { CStr::from_ptr(rd::rd_kafka_message_errstr(m)) };
                return Err(code_error("poll", code, &text.to_string_lossy()));
            }
            // SAFETY: m is a live message from this consumer.
            let topic = self.topic(unsafe { topic_name(m) });
            // SAFETY: m is a live message without error (checked above).
            out.push(unsafe { record(m, topic, &mut buf) });
        }
        self.buf = buf;
        Ok(())
    }
}

/// One record from a live librdkafka message; key and value are copied into `buf` and
/// split off it, so a batch's records share one allocation.
///
/// # Safety
/// `m` is a live message without error.
unsafe fn record(
    m: &rd::rd_kafka_message_t,
    topic: Arc<str>,
    buf: &mut BytesMut,
) -> ConsumerRecord {
    let mut copy = |p: *mut std::ffi::c_void, len: usize| -> Option<Bytes> {
        if p.is_null() {
            return None;
        }
        // SAFETY: librdkafka's payload and key are `len` readable bytes.
        buf.extend_from_slice(unsafe { std::slice::from_raw_parts(p as *const u8, len) });
        Some(buf.split().freeze())
    };
    let key = copy(m.key, m.key_len);
    let value = copy(m.payload, m.len);
    let mut kind = rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
    // SAFETY: m is live (the caller's contract); kind is a valid out-pointer.
    let timestamp = unsafe { rd::rd_kafka_message_timestamp(m, &mut kind) };
    let (timestamp, log_append_time) = match kind {
        rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_CREATE_TIME => (timestamp, false),
        rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME => (timestamp, true),
        _ => (-1, false),
    };
    ConsumerRecord {
        topic,
        partition: m.partition,
        offset: m.offset,
        timestamp,
        log_append_time,
        key,
        value,
        // SAFETY: m is live (the caller's contract).
        headers: unsafe { headers(m) },
    }
}

/// A live message's headers, in order.
unsafe fn headers(m: &rd::rd_kafka_message_t) -> Vec<(String, Option<Bytes>)> {
    let mut hdrs = std::ptr::null_mut();
    // SAFETY: m is live (the caller's contract); hdrs is a valid out-pointer.
    let err = unsafe { rd::rd_kafka_message_headers(m, &mut hdrs) };
    let mut out = Vec::new();
    if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR || hdrs.is_null() {
        return out;
    }
    for idx in 0.. {
        let mut name = std::ptr::null();
        let mut value = std::ptr::null();
        let mut size = 0;
        let err =
            // SAFETY: hdrs is m's live header list; the out-pointers are valid.
            unsafe { rd::rd_kafka_header_get_all(hdrs, idx, &mut name, &mut value, &mut size) };
        if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR || name.is_null() {
            break;
        }
        // SAFETY: librdkafka's header names are NUL-terminated and live with m.
        let name = unsafe { CStr::from_ptr(name) }
            .to_string_lossy()
            .into_owned();
        let value = (!value.is_null()).then(|| {
            // SAFETY: librdkafka's header value is `size` readable bytes.
            Bytes::copy_from_slice(unsafe { std::slice::from_raw_parts(value as *const u8, size) })
        });
        out.push((name, value));
    }
    out
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

impl RemoteConsumer {
    /// Leaves the group now, as Kafka's consumer does on close, so that the group is empty
    /// when the tool exits. rdkafka's drop would do it too, but polls in 100 ms steps
    /// after the leave is done; this polls in short ones.
    fn leave_group(&mut self) {
        if let Err(e) = self.consumer.close_queue() {
            tracing::debug!(error = %e, "consumer close");
            return;
        }
        let deadline = Instant::now() + super::TIMEOUT;
        while !self.consumer.closed() && Instant::now() < deadline {
            // Revocations are served here; records still arriving are dropped.
            let _ = self.consumer.poll(Duration::from_millis(5));
        }
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
                // SAFETY: the queue was made on this consumer's handle.
                unsafe {
                    let rk = self.consumer.client().native_ptr();
                    self.consumer.context().attach.attach_all(rk, &tpl);
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
        loop {
            // Rebalances and errors; records too, of a partition that could not be attached.
            // rdkafka's poll serves one event per call and says nothing when it was not a
            // record: the queue's length says when to stop.
            let mut budget = 1024;
            while out.len() < self.max_poll_records && self.control.len() > 0 && budget > 0 {
                budget -= 1;
                let Some(msg) = self.consumer.poll(Duration::ZERO) else {
                    continue;
                };
                match msg {
                    // SAFETY: the message lives until it is dropped at the end of this arm.
                    Ok(m) => self.take(std::iter::once(unsafe { &*m.ptr() }), &mut out)?,
                    Err(e) if e.rdkafka_error_code().is_some_and(is_transient) => {
                        tracing::debug!(error = %e, "transient consumer error");
                    }
                    Err(e) => return Err(kafka_error("poll", e)),
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let room = self.max_poll_records.saturating_sub(out.len());
            if room > 0 {
                // Short waits, so that a rebalance waits for the consumer queue no longer.
                let wait = if out.is_empty() {
                    left.min(Duration::from_millis(100))
                } else {
                    Duration::ZERO
                };
                let batch = self.fetched.next_batch(wait, room);
                self.take(batch.messages(), &mut out)?;
            }
            if !out.is_empty() || left.is_zero() {
                break;
            }
        }
        if !out.is_empty() {
            self.uncommitted = true;
        }
        Ok(out)
    }

    fn positions(&self) -> Result<Vec<(String, i32, Option<i64>)>> {
        let positions = self
            .consumer
            .position()
            .map_err(|e| kafka_error("position", e))?;
        Ok(positions
            .elements()
            .iter()
            .map(|e| {
                let at = match e.offset() {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                };
                (e.topic().to_string(), e.partition(), at)
            })
            .collect())
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
        self.leave_group();
        result
    }
}

/// Errors librdkafka reports from poll and then recovers from on its own.
fn is_transient(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        code,
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
}

impl Drop for RemoteConsumer {
    fn drop(&mut self) {
        // The rebalance hook may run while the consumer closes; it must not reach the queue.
        self.consumer.context().attach.set(None);
    }
}
