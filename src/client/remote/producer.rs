//! A producer for a remote cluster: librdkafka's producer with the Java client's partitioner.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rdkafka::ClientContext;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer as _, ProducerContext};

use super::super::{Producer, ProducerConfig, ProducerRecord};
use super::{RemoteConfig, Watch, kafka_error, metadata_watched};
use crate::error::{Error, Result};

/// How many sends between servings of delivery reports.
const POLL_EVERY: u32 = 512;

/// Counts delivery reports and keeps the first failure.
#[derive(Default)]
pub struct Deliveries {
    acked: AtomicU64,
    failed: Mutex<Option<String>>,
    watch: Watch,
}

impl ClientContext for Deliveries {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        tracing::debug!(%error, reason, "librdkafka");
        self.watch.note(&error, reason);
    }
}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.acked.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, m)) => {
                use rdkafka::Message;
                let mut failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
                failed.get_or_insert_with(|| {
                    format!("delivery to {}-{} failed: {e}", m.topic(), m.partition())
                });
            }
        }
    }
}

/// Producer over a remote cluster.
pub struct RemoteProducer {
    producer: BaseProducer<Deliveries>,
    bootstrap: String,
    /// Records sent since delivery reports were last served.
    unpolled: u32,
    partitions: HashMap<String, i32>,
}

impl RemoteProducer {
    /// Connects a producer with Kafka's console-producer settings.
    pub fn new(remote: &RemoteConfig, config: &ProducerConfig) -> Result<Self> {
        let mut c = remote.client_config();
        let codec = match config.compression {
            kafka_protocol::records::Compression::None => "none",
            kafka_protocol::records::Compression::Gzip => "gzip",
            kafka_protocol::records::Compression::Snappy => "snappy",
            kafka_protocol::records::Compression::Lz4 => "lz4",
            kafka_protocol::records::Compression::Zstd => "zstd",
        };
        c.set("compression.type", codec)
            // The Java client's default: murmur2 for keys, random (sticky) without.
            .set("partitioner", "murmur2_random");
        if config.batching_chosen {
            c.set("batch.size", config.batch_size.to_string())
                .set("linger.ms", config.linger.as_millis().to_string());
        }
        if !remote.properties.contains_key("client.id") {
            c.set("client.id", &config.client_id);
        }
        let producer = c
            .create_with_context(Deliveries::default())
            .map_err(|e| kafka_error("producer", e))?;
        Ok(RemoteProducer {
            producer,
            bootstrap: remote.bootstrap_servers.clone(),
            unpolled: 0,
            partitions: HashMap::new(),
        })
    }

    fn check_failures(&self) -> Result<()> {
        let failed = self
            .producer
            .context()
            .failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        match failed {
            Some(msg) => Err(Error::Remote(msg)),
            None => Ok(()),
        }
    }
}

impl Producer for RemoteProducer {
    fn partition_count(&mut self, topic: &str) -> Result<i32> {
        if let Some(&n) = self.partitions.get(topic) {
            return Ok(n);
        }
        let md = metadata_watched(
            self.producer.client(),
            &self.producer.context().watch,
            Some(topic),
            &self.bootstrap,
            || self.producer.poll(Duration::ZERO),
        )?;
        let t = md
            .topics()
            .first()
            .ok_or_else(|| Error::UnknownTopic(topic.to_string()))?;
        if let Some(e) = t.error() {
            return Err(Error::Remote(format!("topic '{topic}': {e:?}")));
        }
        let n = t.partitions().len() as i32;
        self.partitions.insert(topic.to_string(), n);
        Ok(n)
    }

    fn send(&mut self, topic: &str, partition: Option<i32>, record: ProducerRecord) -> Result<i32> {
        // librdkafka allocates a header list even for none: only build one when needed.
        let headers = (!record.headers.is_empty()).then(|| {
            let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
            for (k, v) in &record.headers {
                headers = headers.insert(Header {
                    key: k,
                    value: v.as_deref(),
                });
            }
            headers
        });
        loop {
            let mut r: BaseRecord<'_, [u8], [u8]> =
                BaseRecord::to(topic).timestamp(record.timestamp);
            if let Some(h) = &headers {
                r = r.headers(h.clone());
            }
            if let Some(k) = record.key.as_deref() {
                r = r.key(k);
            }
            if let Some(v) = record.value.as_deref() {
                r = r.payload(v);
            }
            if let Some(p) = partition {
                r = r.partition(p);
            }
            match self.producer.send(r) {
                Ok(()) => break,
                Err((e, _))
                    if e.rdkafka_error_code()
                        == Some(rdkafka::types::RDKafkaErrorCode::QueueFull) =>
                {
                    // The local queue is full: serve delivery reports, then try again.
                    self.producer.poll(Duration::from_millis(10));
                }
                Err((e, _)) => return Err(kafka_error(topic, e)),
            }
        }
        // Serving delivery reports costs a lock and an event per call: do it every few
        // hundred records (the queue holds 100,000), not per record.
        self.unpolled += 1;
        if self.unpolled >= POLL_EVERY {
            self.unpolled = 0;
            self.producer.poll(Duration::ZERO);
            self.check_failures()?;
        }
        Ok(partition.unwrap_or(-1))
    }

    fn flush_expired(&mut self) -> Result<()> {
        self.producer.poll(Duration::ZERO);
        self.check_failures()
    }

    fn flush(&mut self) -> Result<()> {
        self.producer
            .flush(Duration::from_secs(60))
            .map_err(|e| kafka_error("flush", e))?;
        self.check_failures()
    }

    fn acknowledged(&self) -> u64 {
        self.producer.context().acked.load(Ordering::Relaxed)
    }
}
