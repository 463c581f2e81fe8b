//! A producer for a remote cluster: librdkafka's producer with the Java client's partitioner.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use std::ffi::CString;

use rdkafka::ClientContext;
use rdkafka::bindings as rd;
use rdkafka::producer::{BaseProducer, DeliveryResult, Producer as _, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;

use super::super::{Producer, ProducerConfig, ProducerRecord};
use super::{RemoteConfig, Watch, code_error, kafka_error, metadata_watched};
use crate::error::{Error, Result};

/// How many sends between servings of delivery reports.
const POLL_EVERY: u32 = 512;

/// librdkafka's "no partition chosen: run the partitioner" (`RD_KAFKA_PARTITION_UA`).
const PARTITION_UA: i32 = -1;

/// How long `flush` waits for the last acknowledgements.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(60);

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

/// librdkafka's handle on a topic, made once per topic: rdkafka's `send` looks the topic up
/// by name for every record (a C string, a read lock and a search).
struct TopicHandle(*mut rd::rd_kafka_topic_t);

impl TopicHandle {
    /// # Safety
    /// `rk` is a live producer handle that outlives the topic handle.
    unsafe fn new(rk: *mut rd::rd_kafka_t, topic: &str) -> Option<TopicHandle> {
        let name = CString::new(topic).ok()?;
        // SAFETY: rk is live (the caller's contract) and name a NUL-terminated string.
        let rkt = unsafe { rd::rd_kafka_topic_new(rk, name.as_ptr(), std::ptr::null_mut()) };
        (!rkt.is_null()).then_some(TopicHandle(rkt))
    }
}

impl Drop for TopicHandle {
    fn drop(&mut self) {
        // SAFETY: self.0 came from rd_kafka_topic_new and is destroyed once, here.
        unsafe { rd::rd_kafka_topic_destroy(self.0) };
    }
}

/// Hands one record to librdkafka (`rd_kafka_produceva`, the array form of
/// `rd_kafka_producev`): copied key and value, the record's timestamp, its headers.
/// Returns the error code when librdkafka refuses it.
///
/// # Safety
/// `rk` and `rkt` are live handles of one producer.
unsafe fn produce(
    rk: *mut rd::rd_kafka_t,
    rkt: *mut rd::rd_kafka_topic_t,
    partition: Option<i32>,
    record: &ProducerRecord,
) -> Option<RDKafkaErrorCode> {
    use rd::rd_kafka_vtype_t as V;
    let vu = |vtype, u| rd::rd_kafka_vu_t { vtype, u };
    let mem = |b: &Option<bytes::Bytes>| rd::rd_kafka_vu_s__bindgen_ty_1 {
        mem: rd::rd_kafka_vu_s__bindgen_ty_1__bindgen_ty_1 {
            // librdkafka copies and never writes through it (MSG_F_COPY).
            ptr: b
                .as_deref()
                .map_or(std::ptr::null_mut(), |b| b.as_ptr() as *mut _),
            size: b.as_deref().map_or(0, <[u8]>::len),
        },
    };
    // librdkafka allocates a header list even for none: only build one when needed.
    let headers = if record.headers.is_empty() {
        std::ptr::null_mut()
    } else {
        // SAFETY: a plain allocation, owned here until handed over or destroyed below.
        let h = unsafe { rd::rd_kafka_headers_new(record.headers.len()) };
        for (k, v) in &record.headers {
            let (val, size) = v
                .as_deref()
                .map_or((std::ptr::null(), 0), |v| (v.as_ptr(), v.len() as isize));
            // SAFETY: h is the list just made; name and value are valid for their lengths and copied.
            unsafe {
                rd::rd_kafka_header_add(h, k.as_ptr().cast(), k.len() as isize, val.cast(), size)
            };
        }
        h
    };
    let mut vus = [
        vu(
            V::RD_KAFKA_VTYPE_RKT,
            rd::rd_kafka_vu_s__bindgen_ty_1 { rkt },
        ),
        vu(
            V::RD_KAFKA_VTYPE_PARTITION,
            rd::rd_kafka_vu_s__bindgen_ty_1 {
                i32_: partition.unwrap_or(PARTITION_UA),
            },
        ),
        vu(
            V::RD_KAFKA_VTYPE_MSGFLAGS,
            rd::rd_kafka_vu_s__bindgen_ty_1 {
                i: rd::RD_KAFKA_MSG_F_COPY as std::ffi::c_int,
            },
        ),
        vu(V::RD_KAFKA_VTYPE_VALUE, mem(&record.value)),
        vu(V::RD_KAFKA_VTYPE_KEY, mem(&record.key)),
        vu(
            V::RD_KAFKA_VTYPE_TIMESTAMP,
            rd::rd_kafka_vu_s__bindgen_ty_1 {
                i64_: record.timestamp,
            },
        ),
        vu(
            V::RD_KAFKA_VTYPE_HEADERS,
            rd::rd_kafka_vu_s__bindgen_ty_1 { headers },
        ),
    ];
    let n = if headers.is_null() {
        vus.len() - 1
    } else {
        vus.len()
    };
    // SAFETY: rk and rkt are live (the caller's contract); vus holds n initialised entries.
    let error = unsafe { rd::rd_kafka_produceva(rk, vus.as_mut_ptr(), n) };
    if error.is_null() {
        return None;
    }
    // SAFETY: error is the non-null error librdkafka just returned.
    let code = RDKafkaErrorCode::from(unsafe { rd::rd_kafka_error_code(error) });
    // SAFETY: error is ours and destroyed once.
    unsafe { rd::rd_kafka_error_destroy(error) };
    if !headers.is_null() {
        // Refused: the headers are still ours.
        // SAFETY: the refused headers were not taken over by librdkafka; destroyed once.
        unsafe { rd::rd_kafka_headers_destroy(headers) };
    }
    Some(code)
}

/// Producer over a remote cluster.
pub struct RemoteProducer {
    // Before the producer: topic handles go first.
    /// A console producer writes one topic: a list searched by name beats hashing it.
    topics: Vec<(String, TopicHandle)>,
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
            topics: Vec::new(),
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
        let rk = self.producer.client().native_ptr();
        let rkt = match self.topics.iter().find(|(name, _)| name == topic) {
            Some((_, t)) => t.0,
            None => {
                // SAFETY: rk is this producer's live handle; the topic handle is dropped
                // before the producer (field order).
                let t = unsafe { TopicHandle::new(rk, topic) }.ok_or_else(|| {
                    Error::InvalidTopic(format!("{topic}: not a valid topic name"))
                })?;
                let ptr = t.0;
                self.topics.push((topic.to_string(), t));
                ptr
            }
        };
        loop {
            // SAFETY: rk and rkt are live; librdkafka copies key and value (MSG_F_COPY) and
            // takes the headers when it accepts the record.
            let err = unsafe { produce(rk, rkt, partition, &record) };
            match err {
                None => break,
                Some(RDKafkaErrorCode::QueueFull) => {
                    // The local queue is full: serve delivery reports, then try again.
                    self.producer.poll(Duration::from_millis(10));
                }
                Some(code) => return Err(code_error(topic, code, &code.to_string())),
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
        // rdkafka's flush serves delivery reports in 100 ms waits that end only at their
        // deadline: every tool run paid 100 ms for its last acknowledgement.
        let deadline = std::time::Instant::now() + FLUSH_TIMEOUT;
        while self.producer.in_flight_count() > 0 {
            if std::time::Instant::now() >= deadline {
                return Err(Error::Remote(format!(
                    "{} record(s) not acknowledged within {} s",
                    self.producer.in_flight_count(),
                    FLUSH_TIMEOUT.as_secs()
                )));
            }
            self.producer.poll(Duration::from_millis(1));
        }
        self.check_failures()
    }

    fn acknowledged(&self) -> u64 {
        self.producer.context().acked.load(Ordering::Relaxed)
    }
}
