//! `server-start` as a client sees it: the real binary on a free port, real sockets, requests
//! built and responses read with the `kafka-protocol` crate. Bad input must close only the
//! connection that sent it; the broker keeps serving everyone else.

use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::describe_topic_partitions_request::{Cursor, TopicRequest};
use kafka_protocol::messages::describe_topic_partitions_response::DescribeTopicPartitionsResponseTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, CreateTopicsRequest, DescribeLogDirsRequest,
    DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse, FetchRequest,
    ListOffsetsRequest, MetadataRequest, MetadataResponse, ProduceRequest, ResponseHeader,
    TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::records::{Compression, RecordBatchDecoder};
use streamlog::log::ProducerRecord;
use streamlog::log::codec::encode_batch;
use tempfile::TempDir;

#[path = "support/broker.rs"]
mod support;
use support::{Broker, Client, HANG_GUARD};

// Kafka error codes the tests expect.
const NONE: i16 = 0;
const CORRUPT_MESSAGE: i16 = 2;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const MESSAGE_TOO_LARGE: i16 = 10;
const INVALID_TOPIC_EXCEPTION: i16 = 17;
const INVALID_REQUEST: i16 = 42;
const UNSUPPORTED_VERSION: i16 = 35;
const INVALID_RECORD: i16 = 87;

// ---------------------------------------------------------------------------------------------
// Request helpers.

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// One batch of `(key, value)` records, all with timestamp `ts`.
fn batch_at(records: &[(Option<&str>, &str)], ts: i64, compression: Compression) -> Bytes {
    let records: Vec<ProducerRecord> = records
        .iter()
        .map(|(k, v)| ProducerRecord {
            key: k.map(|k| Bytes::copy_from_slice(k.as_bytes())),
            value: Some(Bytes::copy_from_slice(v.as_bytes())),
            headers: vec![],
            timestamp: ts,
        })
        .collect();
    encode_batch(&records, compression)
        .expect("encode batch")
        .freeze()
}

/// One uncompressed batch of keyless values stamped now.
fn batch(values: &[&str]) -> Bytes {
    let records: Vec<(Option<&str>, &str)> = values.iter().map(|v| (None, *v)).collect();
    batch_at(&records, now_ms(), Compression::None)
}

fn produce_request(topic: &str, partition: i32, records: Bytes) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![
            TopicProduceData::default()
                .with_name(name(topic))
                .with_partition_data(vec![
                    PartitionProduceData::default()
                        .with_index(partition)
                        .with_records(Some(records)),
                ]),
        ])
}

/// Produce (v9) of `records` to one partition; the partition's response.
fn produce(
    c: &mut Client,
    topic: &str,
    partition: i32,
    records: Bytes,
) -> PartitionProduceResponse {
    let resp = c.call(&produce_request(topic, partition, records), 9);
    assert_eq!(resp.responses.len(), 1);
    let t = &resp.responses[0];
    assert_eq!(t.name.0.as_str(), topic);
    assert_eq!(t.partition_responses.len(), 1);
    t.partition_responses[0].clone()
}

/// Produces and asserts success; the base offset.
#[track_caller]
fn produce_ok(c: &mut Client, topic: &str, partition: i32, records: Bytes) -> i64 {
    let p = produce(c, topic, partition, records);
    assert_eq!(p.error_code, NONE, "produce to {topic}-{partition}: {p:?}");
    p.base_offset
}

fn fetch_request(max_wait_ms: i32, min_bytes: i32, topic: FetchTopic) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id((-1).into())
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(min_bytes)
        .with_max_bytes(1 << 20)
        .with_topics(vec![topic])
}

fn fetch_partition(partition: i32, offset: i64) -> FetchPartition {
    FetchPartition::default()
        .with_partition(partition)
        .with_fetch_offset(offset)
        .with_partition_max_bytes(1 << 20)
}

/// Fetch v12 (topics by name) of one partition.
fn fetch(
    c: &mut Client,
    topic: &str,
    partition: i32,
    offset: i64,
    max_wait_ms: i32,
    min_bytes: i32,
) -> PartitionData {
    let req = fetch_request(
        max_wait_ms,
        min_bytes,
        FetchTopic::default()
            .with_topic(name(topic))
            .with_partitions(vec![fetch_partition(partition, offset)]),
    );
    let resp = c.call(&req, 12);
    assert_eq!(resp.error_code, NONE);
    assert_eq!(resp.responses.len(), 1);
    assert_eq!(resp.responses[0].topic.0.as_str(), topic);
    assert_eq!(resp.responses[0].partitions.len(), 1);
    resp.responses[0].partitions[0].clone()
}

/// Fetch (v13+, topics by id) of one partition.
fn fetch_by_id(
    c: &mut Client,
    topic_id: uuid::Uuid,
    partition: i32,
    offset: i64,
    version: i16,
) -> PartitionData {
    let req = fetch_request(
        0,
        0,
        FetchTopic::default()
            .with_topic_id(topic_id)
            .with_partitions(vec![fetch_partition(partition, offset)]),
    );
    let resp = c.call(&req, version);
    assert_eq!(resp.error_code, NONE);
    assert_eq!(resp.responses.len(), 1);
    assert_eq!(resp.responses[0].topic_id, topic_id);
    resp.responses[0].partitions[0].clone()
}

/// (offset, key, value) of every record in a fetched partition.
fn records_of(p: &PartitionData) -> Vec<(i64, Option<String>, String)> {
    assert_eq!(p.error_code, NONE, "fetch failed: {p:?}");
    let mut data = p.records.clone().unwrap_or_default();
    let sets = RecordBatchDecoder::decode_all(&mut data).expect("decode fetched batches");
    sets.into_iter()
        .flat_map(|s| s.records)
        .map(|r| {
            let text = |b: Bytes| String::from_utf8(b.to_vec()).unwrap();
            (
                r.offset,
                r.key.map(text),
                r.value.map(text).unwrap_or_default(),
            )
        })
        .collect()
}

fn values_of(p: &PartitionData) -> Vec<String> {
    records_of(p).into_iter().map(|(_, _, v)| v).collect()
}

/// ListOffsets (v7) of one partition at `timestamp` (-1 latest, -2 earliest, -3 max timestamp):
/// (error, timestamp, offset).
fn list_offset(c: &mut Client, topic: &str, partition: i32, timestamp: i64) -> (i16, i64, i64) {
    let req = ListOffsetsRequest::default()
        .with_replica_id((-1).into())
        .with_topics(vec![
            ListOffsetsTopic::default()
                .with_name(name(topic))
                .with_partitions(vec![
                    ListOffsetsPartition::default()
                        .with_partition_index(partition)
                        .with_timestamp(timestamp),
                ]),
        ]);
    let resp = c.call(&req, 7);
    let p = &resp.topics[0].partitions[0];
    (p.error_code, p.timestamp, p.offset)
}

/// Metadata (v12); `None` asks for every topic.
fn metadata(c: &mut Client, topics: Option<&[&str]>) -> MetadataResponse {
    let req = MetadataRequest::default()
        .with_topics(topics.map(|ts| {
            ts.iter()
                .map(|t| MetadataRequestTopic::default().with_name(Some(name(t))))
                .collect()
        }))
        .with_allow_auto_topic_creation(true);
    c.call(&req, 12)
}

/// CreateTopics (v7) of one topic; its error code.
fn create_topic(c: &mut Client, topic: &str, partitions: i32, configs: &[(&str, &str)]) -> i16 {
    let req = CreateTopicsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![
            CreatableTopic::default()
                .with_name(name(topic))
                .with_num_partitions(partitions)
                .with_replication_factor(1)
                .with_configs(
                    configs
                        .iter()
                        .map(|(k, v)| {
                            CreatableTopicConfig::default()
                                .with_name(StrBytes::from_string(k.to_string()))
                                .with_value(Some(StrBytes::from_string(v.to_string())))
                        })
                        .collect(),
                ),
        ]);
    let resp = c.call(&req, 7);
    resp.topics[0].error_code
}

#[track_caller]
fn create_topic_ok(c: &mut Client, topic: &str, partitions: i32) {
    assert_eq!(create_topic(c, topic, partitions, &[]), NONE);
}

/// A fresh connection gets a good Metadata answer naming this broker: it is up and serving.
#[track_caller]
fn assert_serves(b: &mut Broker) {
    let answer = TcpStream::connect(("127.0.0.1", b.port)).and_then(|stream| {
        let req = MetadataRequest::default().with_topics(None);
        Client::over(stream).try_call(&req, 12)
    });
    let m = match answer {
        Ok(m) => m,
        Err(e) => {
            // Dead or alive? Give a dying process a moment to be reaped.
            let exited = b.exited_within(Duration::from_secs(5));
            let stderr = b.log();
            let first: Vec<&str> = stderr.lines().take(3).collect();
            panic!(
                "the broker is not serving ({e}); exited: {exited:?}; stderr begins:\n{}",
                first.join("\n")
            );
        }
    };
    assert_eq!(m.brokers.len(), 1);
    assert_eq!(m.brokers[0].port, b.port as i32);
    assert!(m.cluster_id.is_some());
}

// ---------------------------------------------------------------------------------------------
// ApiVersions.

#[test]
fn api_versions_v3_lists_produce_fetch_and_metadata() {
    let dir = TempDir::new().unwrap();
    let b = Broker::start(dir.path(), &[]);
    let mut c = b.connect();
    let req = ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("broker-test"))
        .with_client_software_version(StrBytes::from_static_str("1.0"));
    let resp = c.call(&req, 3);
    assert_eq!(resp.error_code, NONE);
    for key in [ApiKey::Produce, ApiKey::Fetch, ApiKey::Metadata] {
        let v = resp
            .api_keys
            .iter()
            .find(|v| v.api_key == key as i16)
            .unwrap_or_else(|| panic!("{key:?} is not listed: {:?}", resp.api_keys));
        assert!(v.min_version <= v.max_version, "{v:?}");
    }
    // The same connection goes on serving.
    assert_eq!(metadata(&mut c, None).brokers.len(), 1);
    b.stop();
}

#[test]
fn api_versions_of_an_unknown_version_answers_v0_with_unsupported_version() {
    let dir = TempDir::new().unwrap();
    let b = Broker::start(dir.path(), &[]);
    let mut c = b.connect();
    // Encoded by hand: the crate refuses to encode a version it does not know.
    let mut buf = BytesMut::new();
    let header = c.header(ApiKey::ApiVersions as i16, 99);
    header.encode(&mut buf, 2).unwrap();
    ApiVersionsRequest::default().encode(&mut buf, 3).unwrap();
    c.send_frame(&buf);
    let mut frame = c.read_frame().expect("a response, not a closed connection");
    // ApiVersions responses always use header v0; the body is v0.
    let header = ResponseHeader::decode(&mut frame, 0).unwrap();
    assert_eq!(header.correlation_id, c.correlation_id);
    let resp = ApiVersionsResponse::decode(&mut frame, 0).unwrap();
    assert_eq!(resp.error_code, UNSUPPORTED_VERSION);
    assert!(
        resp.api_keys
            .iter()
            .any(|v| v.api_key == ApiKey::ApiVersions as i16),
        "the v0 answer lists what is served: {resp:?}"
    );
    assert!(!frame.has_remaining());
    b.stop();
}

// ---------------------------------------------------------------------------------------------
// Bad input: the offending connection is closed or answered with an error, others are served.

#[test]
fn a_frame_over_socket_request_max_bytes_closes_the_connection() {
    let dir = TempDir::new().unwrap();
    let mut b = Broker::start(dir.path(), &["socket.request.max.bytes=1000"]);
    let mut c = b.connect();
    c.stream.write_all(&10_000_000i32.to_be_bytes()).unwrap();
    c.assert_closed();
    // A negative size too.
    let mut c = b.connect();
    c.stream.write_all(&(-1i32).to_be_bytes()).unwrap();
    c.assert_closed();
    assert_serves(&mut b);
    b.stop();
}

#[test]
fn garbage_bytes_close_the_connection() {
    let dir = TempDir::new().unwrap();
    let mut b = Broker::start(dir.path(), &[]);
    // Not Kafka at all: "GET " read as a size is over a gigabyte.
    let mut c = b.connect();
    c.stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    c.assert_closed();
    // A well-sized frame whose body is noise.
    let mut c = b.connect();
    c.send_frame(&[
        0xde, 0xad, 0xbe, 0xef, 0x13, 0x37, 0xca, 0xfe, 0xba, 0xbe, 0x01,
    ]);
    c.assert_closed();
    // A known API and version whose body is noise after a valid header.
    let mut c = b.connect();
    let mut buf = BytesMut::new();
    c.header(ApiKey::Metadata as i16, 12)
        .encode(&mut buf, 2)
        .unwrap();
    // Two topics announced, then a name whose length runs past the end.
    buf.put_slice(&[0x03, 0x00, 0x00, 0x00, 0x00, 0x7f, 0x01]);
    c.send_frame(&buf);
    c.assert_closed();
    // A frame shorter than a request header.
    let mut c = b.connect();
    c.send_frame(&[0, 3]);
    c.assert_closed();
    assert_serves(&mut b);
    b.stop();
}

#[test]
fn a_truncated_frame_then_close_leaves_the_broker_serving() {
    let dir = TempDir::new().unwrap();
    let mut b = Broker::start(dir.path(), &[]);
    let mut c = b.connect();
    c.stream.write_all(&100i32.to_be_bytes()).unwrap();
    c.stream.write_all(&[0u8; 10]).unwrap();
    drop(c);
    // A request cut short while the broker waits for the rest: also only that connection.
    let mut c = b.connect();
    let mut buf = BytesMut::new();
    c.header(ApiKey::Metadata as i16, 12)
        .encode(&mut buf, 2)
        .unwrap();
    MetadataRequest::default().encode(&mut buf, 12).unwrap();
    c.stream
        .write_all(&(buf.len() as i32 + 50).to_be_bytes())
        .unwrap();
    c.stream.write_all(&buf).unwrap();
    assert_serves(&mut b);
    drop(c);
    assert_serves(&mut b);
    b.stop();
}

#[test]
fn an_unknown_api_key_closes_the_connection() {
    let dir = TempDir::new().unwrap();
    let mut b = Broker::start(dir.path(), &[]);
    let mut c = b.connect();
    let mut buf = BytesMut::new();
    c.header(9999, 0).encode(&mut buf, 1).unwrap();
    c.send_frame(&buf);
    c.assert_closed();
    // A real API the broker does not serve (ElectLeaders) is refused the same way.
    let mut c = b.connect();
    let mut buf = BytesMut::new();
    c.header(ApiKey::ElectLeaders as i16, 0)
        .encode(&mut buf, 1)
        .unwrap();
    buf.put_slice(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    c.send_frame(&buf);
    c.assert_closed();
    // A served API at a version it does not serve (Fetch v3).
    let mut c = b.connect();
    let mut buf = BytesMut::new();
    c.header(ApiKey::Fetch as i16, 3)
        .encode(&mut buf, 1)
        .unwrap();
    buf.put_slice(&[0u8; 24]);
    c.send_frame(&buf);
    c.assert_closed();
    assert_serves(&mut b);
    b.stop();
}

#[test]
fn a_crc_corrupt_batch_is_refused_with_corrupt_message_and_nothing_appended() {
    let dir = TempDir::new().unwrap();
    let mut b = Broker::start(dir.path(), &[]);
    let mut c = b.connect();
    create_topic_ok(&mut c, "crc", 1);
    let good = batch(&["one", "two", "three"]);
    let mut bad = BytesMut::from(&good[..]);
    let last = bad.len() - 1;
    bad[last] ^= 0xff; // inside the records, covered by the CRC
    let p = produce(&mut c, "crc", 0, bad.freeze());
    assert_eq!(p.error_code, CORRUPT_MESSAGE, "{p:?}");
    assert_eq!(p.base_offset, -1);
    assert_eq!(list_offset(&mut c, "crc", 0, -1), (NONE, -1, 0));
    // A batch cut short is corrupt too.
    let p = produce(&mut c, "crc", 0, good.slice(..good.len() - 5));
    assert_eq!(p.error_code, CORRUPT_MESSAGE, "{p:?}");
    assert_eq!(list_offset(&mut c, "crc", 0, -1), (NONE, -1, 0));
    assert_serves(&mut b);
    // The partition still takes good batches.
    assert_eq!(produce_ok(&mut c, "crc", 0, good), 0);
    assert_eq!(list_offset(&mut c, "crc", 0, -1), (NONE, -1, 3));
    b.stop();
}

/// Rewrites a batch's lastOffsetDelta and fixes its CRC: a well-formed-looking batch whose
/// header disagrees with its record count.
fn with_last_offset_delta(batch: &Bytes, delta: i32) -> Bytes {
    let mut b = BytesMut::from(&batch[..]);
    b[23..27].copy_from_slice(&delta.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b.freeze()
}

/// Kafka refuses a batch whose record count and offset range disagree (LogValidator, for
/// batches from clients); storing it would hand out overlapping offsets.
#[test]
fn a_batch_whose_count_and_offset_range_disagree_is_refused() {
    let dir = TempDir::new().unwrap();
    let mut b = Broker::start(dir.path(), &[]);
    let mut c = b.connect();
    create_topic_ok(&mut c, "counted", 1);
    let three = batch(&["a", "b", "c"]);
    for delta in [0, 1, 5] {
        let p = produce(&mut c, "counted", 0, with_last_offset_delta(&three, delta));
        assert!(
            [CORRUPT_MESSAGE, INVALID_RECORD].contains(&p.error_code),
            "a 3-record batch with lastOffsetDelta {delta} was answered {p:?}"
        );
        assert_eq!(list_offset(&mut c, "counted", 0, -1), (NONE, -1, 0));
    }
    assert_eq!(produce_ok(&mut c, "counted", 0, three), 0);
    assert_eq!(list_offset(&mut c, "counted", 0, -1), (NONE, -1, 3));
    assert_serves(&mut b);
    b.stop();
}

/// A partition's records are appended whole or not at all: a corrupt second batch leaves the
/// first one out too, as in Kafka, which validates every batch before appending.
#[test]
fn a_corrupt_batch_after_a_good_one_appends_neither() {
    let dir = TempDir::new().unwrap();
    let mut b = Broker::start(dir.path(), &[]);
    let mut c = b.connect();
    create_topic_ok(&mut c, "whole", 1);
    let good = batch(&["one"]);
    let mut bad = BytesMut::from(&batch(&["two"])[..]);
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    let mut both = BytesMut::from(&good[..]);
    both.put_slice(&bad);
    let p = produce(&mut c, "whole", 0, both.freeze());
    assert_eq!(p.error_code, CORRUPT_MESSAGE, "{p:?}");
    assert_eq!(
        list_offset(&mut c, "whole", 0, -1),
        (NONE, -1, 0),
        "the good batch before the corrupt one was appended"
    );
    assert_serves(&mut b);
    b.stop();
}

#[test]
fn a_batch_over_max_message_bytes_is_refused_with_message_too_large() {
    let dir = TempDir::new().unwrap();
    let mut b = Broker::start(dir.path(), &[]);
    let mut c = b.connect();
    assert_eq!(
        create_topic(&mut c, "small", 1, &[("max.message.bytes", "1000")]),
        NONE
    );
    let big = "x".repeat(2000);
    let p = produce(&mut c, "small", 0, batch(&[&big]));
    assert_eq!(p.error_code, MESSAGE_TOO_LARGE, "{p:?}");
    assert_eq!(list_offset(&mut c, "small", 0, -1), (NONE, -1, 0));
    assert_eq!(produce_ok(&mut c, "small", 0, batch(&["fits"])), 0);
    assert_serves(&mut b);
    b.stop();
}

#[test]
fn produce_to_a_missing_topic_without_auto_create_is_unknown_topic() {
    let dir = TempDir::new().unwrap();
    let mut b = Broker::start(dir.path(), &["auto.create.topics.enable=false"]);
    let mut c = b.connect();
    let p = produce(&mut c, "nowhere", 0, batch(&["lost"]));
    assert_eq!(p.error_code, UNKNOWN_TOPIC_OR_PARTITION, "{p:?}");
    // Metadata does not create it either.
    let m = metadata(&mut c, Some(&["nowhere"]));
    assert_eq!(m.topics[0].error_code, UNKNOWN_TOPIC_OR_PARTITION);
    assert!(metadata(&mut c, None).topics.is_empty());
    // A partition past the topic's count is unknown as well.
    create_topic_ok(&mut c, "two", 2);
    let p = produce(&mut c, "two", 2, batch(&["lost"]));
    assert_eq!(p.error_code, UNKNOWN_TOPIC_OR_PARTITION, "{p:?}");
    assert_serves(&mut b);
    b.stop();
}

#[test]
fn metadata_for_an_invalid_topic_name_is_invalid_topic() {
    let dir = TempDir::new().unwrap();
    let mut b = Broker::start(dir.path(), &[]);
    let mut c = b.connect();
    let m = metadata(&mut c, Some(&["bad topic", "good-topic"]));
    let by_name = |n: &str| {
        m.topics
            .iter()
            .find(|t| t.name.as_ref().map(|x| x.0.as_str()) == Some(n))
            .unwrap_or_else(|| panic!("{n} missing from {m:?}"))
    };
    assert_eq!(by_name("bad topic").error_code, INVALID_TOPIC_EXCEPTION);
    // The valid one beside it is auto-created.
    assert_eq!(by_name("good-topic").error_code, NONE);
    assert_eq!(by_name("good-topic").partitions.len(), 1);
    assert_serves(&mut b);
    b.stop();
}

/// Produce v0-2 are advertised (older librdkafka turns compression off without them) and meant
/// to be answered per partition with UNSUPPORTED_VERSION.
#[test]
fn produce_v2_is_answered_per_partition_with_unsupported_version() {
    let dir = TempDir::new().unwrap();
    let mut b = Broker::start(dir.path(), &[]);
    let mut c = b.connect();
    create_topic_ok(&mut c, "old", 1);
    // By hand, as kafka-protocol encodes v3+ only: v2 is v3 without the leading transactional
    // id (a null string, 2 bytes), under request header v1.
    let mut body = BytesMut::new();
    produce_request("old", 0, batch(&["v2"]))
        .encode(&mut body, 3)
        .unwrap();
    assert_eq!(&body[..2], &[0xff, 0xff]);
    let mut buf = BytesMut::new();
    c.header(ApiKey::Produce as i16, 2)
        .encode(&mut buf, 1)
        .unwrap();
    buf.put_slice(&body[2..]);
    c.send_frame(&buf);
    // Whatever happens to this connection, the broker serves others and appended nothing.
    assert_serves(&mut b);
    let mut other = b.connect();
    assert_eq!(list_offset(&mut other, "old", 0, -1), (NONE, -1, 0));
    let mut frame = c
        .read_frame()
        .unwrap_or_else(|e| panic!("Produce v2 closed the connection ({e})"));
    // The v2 response has the v3 layout.
    let header = ResponseHeader::decode(&mut frame, 0).unwrap();
    assert_eq!(header.correlation_id, c.correlation_id);
    let resp = kafka_protocol::messages::ProduceResponse::decode(&mut frame, 3).unwrap();
    let p = &resp.responses[0].partition_responses[0];
    assert_eq!(p.error_code, UNSUPPORTED_VERSION, "{p:?}");
    // The connection stays usable.
    assert_eq!(produce_ok(&mut c, "old", 0, batch(&["v9"])), 0);
    b.stop();
}

/// A request whose array length claims far more elements than the frame holds must be refused
/// like any other malformed request.
#[test]
fn an_array_length_past_the_end_of_the_frame_is_refused_not_allocated() {
    let dir = TempDir::new().unwrap();
    let mut b = Broker::start(dir.path(), &[]);
    let mut c = b.connect();
    let mut buf = BytesMut::new();
    c.header(ApiKey::Metadata as i16, 4)
        .encode(&mut buf, 1)
        .unwrap();
    buf.put_i32(i32::MAX); // topics: 2^31-1 of them
    buf.put_u8(0); // allow_auto_topic_creation
    c.send_frame(&buf);
    c.assert_closed();
    assert_serves(&mut b);
    b.stop();
}

// ---------------------------------------------------------------------------------------------
// Produce, Fetch, ListOffsets.

#[test]
fn produce_then_fetch_by_name_and_by_topic_id_return_the_same_records() {
    let dir = TempDir::new().unwrap();
    let b = Broker::start(dir.path(), &[]);
    let mut c = b.connect();
    create_topic_ok(&mut c, "events", 2);
    let ts = now_ms();
    let mut expected = Vec::new();
    for (i, compression) in [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ]
    .into_iter()
    .enumerate()
    {
        let recs: Vec<(String, String)> = (0..3)
            .map(|j| (format!("k{i}{j}"), format!("value {i}.{j}")))
            .collect();
        let borrowed: Vec<(Option<&str>, &str)> = recs
            .iter()
            .map(|(k, v)| (Some(k.as_str()), v.as_str()))
            .collect();
        let base = produce_ok(&mut c, "events", 1, batch_at(&borrowed, ts, compression));
        assert_eq!(base, i as i64 * 3);
        for (j, (k, v)) in recs.into_iter().enumerate() {
            expected.push((base + j as i64, Some(k), v));
        }
    }
    let by_name = fetch(&mut c, "events", 1, 0, 0, 0);
    assert_eq!(by_name.high_watermark, 15);
    assert_eq!(records_of(&by_name), expected);
    // From the middle: whole batches come back, starting with the one holding the offset.
    let mid = records_of(&fetch(&mut c, "events", 1, 7, 0, 0));
    assert!(mid.iter().any(|r| r.0 == 7) && mid.last() == expected.last());
    // The other partition is empty.
    assert!(records_of(&fetch(&mut c, "events", 0, 0, 0, 0)).is_empty());

    let m = metadata(&mut c, Some(&["events"]));
    let id = m.topics[0].topic_id;
    assert!(!id.is_nil(), "Metadata v12 names the topic id");
    for version in [13, 16] {
        let by_id = fetch_by_id(&mut c, id, 1, 0, version);
        assert_eq!(records_of(&by_id), expected, "Fetch v{version}");
    }
    // An unknown id is UNKNOWN_TOPIC_ID (100).
    let unknown = fetch_by_id(&mut c, uuid::Uuid::new_v4(), 0, 0, 13);
    assert_eq!(unknown.error_code, 100);
    // Past the end: OFFSET_OUT_OF_RANGE (1).
    assert_eq!(fetch(&mut c, "events", 1, 99, 0, 0).error_code, 1);
    b.stop();
}

/// Fetches `partitions` of one topic (by name before v13, by id from v13) in one request.
fn fetch_many(
    c: &mut Client,
    topic: &str,
    topic_id: uuid::Uuid,
    partitions: &[(i32, i64, i32)],
    version: i16,
) -> Vec<PartitionData> {
    let parts = partitions
        .iter()
        .map(|&(p, offset, max)| fetch_partition(p, offset).with_partition_max_bytes(max))
        .collect();
    let mut t = FetchTopic::default().with_partitions(parts);
    if version >= 13 {
        t.topic_id = topic_id;
    } else {
        t.topic = name(topic);
    }
    let mut req = fetch_request(0, 0, t).with_max_bytes(16 << 20);
    if version < 7 {
        // Fetch sessions start at v7.
        req.session_epoch = -1;
    }
    let resp = c.call(&req, version);
    assert_eq!(resp.error_code, NONE, "Fetch v{version}");
    assert_eq!(resp.responses.len(), 1);
    resp.responses[0].partitions.clone()
}

#[test]
fn large_fetches_arrive_whole_in_every_fetch_version() {
    // Records of 32 KiB and more are sent straight from the segment file (sendfile), spliced
    // between encoded fields; small ones are copied. Mix both in one response, in every
    // layout from v4 (int32 lengths) to v16 (flexible, varint lengths).
    let dir = TempDir::new().unwrap();
    let b = Broker::start(dir.path(), &[]);
    let mut c = b.connect();
    create_topic_ok(&mut c, "big", 3);
    let ts = now_ms();
    let mut expected: Vec<Vec<(i64, Option<String>, String)>> = vec![vec![]; 3];
    let mut put = |c: &mut Client, p: i32, values: Vec<String>| {
        let recs: Vec<(Option<&str>, &str)> = values.iter().map(|v| (None, v.as_str())).collect();
        let base = produce_ok(c, "big", p, batch_at(&recs, ts, Compression::None));
        for (j, v) in values.into_iter().enumerate() {
            expected[p as usize].push((base + j as i64, None, v));
        }
    };
    // Partition 0: 40 batches of 5 KiB; 1: one small batch; 2: one 120 KiB batch.
    for i in 0..40 {
        put(
            &mut c,
            0,
            (0..5).map(|j| format!("{i}.{j} ").repeat(200)).collect(),
        );
    }
    put(&mut c, 1, vec!["small".to_string()]);
    put(&mut c, 2, vec!["x".repeat(60_000), "y".repeat(60_000)]);
    let id = metadata(&mut c, Some(&["big"])).topics[0].topic_id;

    for version in [4, 7, 11, 12, 13, 16] {
        let got = fetch_many(
            &mut c,
            "big",
            id,
            &[(0, 0, 1 << 20), (1, 0, 1 << 20), (2, 0, 1 << 20)],
            version,
        );
        assert_eq!(got.len(), 3);
        for (p, want) in expected.iter().enumerate() {
            assert_eq!(&records_of(&got[p]), want, "Fetch v{version} partition {p}");
        }
        // A partition limit cuts at a batch boundary; a batch over the limit still comes
        // whole. Reading on from where each fetch ended yields every record once.
        let mut all = Vec::new();
        let mut next = 0;
        while next < 200 {
            let got = fetch_many(
                &mut c,
                "big",
                id,
                &[(0, next, 40_000), (2, 0, 50_000)],
                version,
            );
            let part = records_of(&got[0]);
            assert!(
                !part.is_empty() && part.len() < 200,
                "v{version}: {} records",
                part.len()
            );
            next = part.last().unwrap().0 + 1;
            all.extend(part);
            assert_eq!(
                records_of(&got[1]),
                expected[2],
                "v{version}: oversized batch"
            );
        }
        assert_eq!(all, expected[0], "Fetch v{version} in steps");
    }
    b.stop();
}

#[test]
fn a_long_poll_on_an_empty_partition_returns_after_max_wait() {
    let dir = TempDir::new().unwrap();
    let mut b = Broker::start(dir.path(), &[]);
    let mut c = b.connect();
    create_topic_ok(&mut c, "quiet", 1);
    let p = fetch(&mut c, "quiet", 0, 0, 500, 1);
    assert!(records_of(&p).is_empty());
    assert_eq!(p.high_watermark, 0);
    // The connection answers the next request as usual.
    assert_serves(&mut b);
    assert_eq!(metadata(&mut c, None).topics.len(), 1);
    b.stop();
}

#[test]
fn a_waiting_fetch_returns_what_another_connection_produces() {
    let dir = TempDir::new().unwrap();
    let b = Broker::start(dir.path(), &[]);
    let mut c = b.connect();
    create_topic_ok(&mut c, "live", 1);
    let port = b.port;
    let max_wait = Duration::from_secs(20);
    let waiter = thread::spawn(move || {
        let mut c = Client::connect(port);
        let started = Instant::now();
        let p = fetch(&mut c, "live", 0, 0, max_wait.as_millis() as i32, 1);
        (p, started.elapsed())
    });
    thread::sleep(Duration::from_millis(300));
    produce_ok(&mut c, "live", 0, batch(&["wake up"]));
    let (p, waited) = waiter.join().unwrap();
    assert_eq!(values_of(&p), ["wake up"]);
    // Woken by the append, not by its own max wait running out.
    assert!(waited < max_wait, "the fetch waited {waited:?}");
    b.stop();
}

#[test]
fn list_offsets_earliest_latest_and_by_timestamp() {
    let dir = TempDir::new().unwrap();
    let b = Broker::start(dir.path(), &[]);
    let mut c = b.connect();
    create_topic_ok(&mut c, "times", 1);
    assert_eq!(list_offset(&mut c, "times", 0, -2), (NONE, -1, 0));
    assert_eq!(list_offset(&mut c, "times", 0, -1), (NONE, -1, 0));
    // Offsets 0-1 at t=1000, 2 at t=2000, 3-5 at t=3000.
    // Recent: records older than retention.ms (7 days) would be deleted as segments roll.
    let t0 = now_ms() - 60_000;
    produce_ok(
        &mut c,
        "times",
        0,
        batch_at(&[(None, "a"), (None, "b")], t0 + 1000, Compression::None),
    );
    produce_ok(
        &mut c,
        "times",
        0,
        batch_at(&[(None, "c")], t0 + 2000, Compression::None),
    );
    produce_ok(
        &mut c,
        "times",
        0,
        batch_at(
            &[(None, "d"), (None, "e"), (None, "f")],
            t0 + 3000,
            Compression::Gzip,
        ),
    );
    assert_eq!(list_offset(&mut c, "times", 0, -2), (NONE, -1, 0));
    assert_eq!(list_offset(&mut c, "times", 0, -1), (NONE, -1, 6));
    let at = |c: &mut Client, ts: i64| {
        let (err, _, offset) = list_offset(c, "times", 0, ts);
        assert_eq!(err, NONE);
        offset
    };
    assert_eq!(at(&mut c, 0), 0);
    assert_eq!(at(&mut c, t0 + 1000), 0);
    assert_eq!(at(&mut c, t0 + 1500), 2);
    assert_eq!(at(&mut c, t0 + 2000), 2);
    assert_eq!(at(&mut c, t0 + 2001), 3);
    assert_eq!(at(&mut c, t0 + 3000), 3);
    // Nothing at or after: offset -1.
    assert_eq!(at(&mut c, t0 + 3001), -1);
    // Max timestamp (-3): the first record holding the largest timestamp.
    let (err, ts, offset) = list_offset(&mut c, "times", 0, -3);
    assert_eq!(err, NONE);
    assert_eq!(ts, t0 + 3000);
    assert!((3..6).contains(&offset), "max timestamp offset {offset}");
    // An unknown topic is an error, not an offset.
    assert_eq!(
        list_offset(&mut c, "absent-topic", 0, -1).0,
        UNKNOWN_TOPIC_OR_PARTITION
    );
    b.stop();
}

// ---------------------------------------------------------------------------------------------
// DescribeLogDirs and DescribeTopicPartitions: what Kafka's kafka-log-dirs tool and the Java
// admin client's describeTopics ask.

#[test]
fn api_versions_advertise_describe_log_dirs_and_describe_topic_partitions() {
    let dir = TempDir::new().unwrap();
    let b = Broker::start(dir.path(), &[]);
    let resp = b.connect().call(&ApiVersionsRequest::default(), 3);
    let range = |key: ApiKey| {
        resp.api_keys
            .iter()
            .find(|v| v.api_key == key as i16)
            .map(|v| (v.min_version, v.max_version))
    };
    assert_eq!(range(ApiKey::DescribeLogDirs), Some((1, 4)));
    assert_eq!(range(ApiKey::DescribeTopicPartitions), Some((0, 0)));
    b.stop();
}

/// Bytes of a partition's segment files on disk.
fn size_on_disk(data: &std::path::Path, topic: &str, partition: i32) -> i64 {
    std::fs::read_dir(data.join(format!("{topic}-{partition}")))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .map(|e| e.metadata().unwrap().len() as i64)
        .sum()
}

/// (topic, partition) -> size of the one log dir's answer, asserting its fixed fields.
fn log_dir_sizes(
    c: &mut Client,
    topics: Option<Vec<DescribableLogDirTopic>>,
    version: i16,
) -> (
    std::collections::BTreeMap<(String, i32), i64>,
    kafka_protocol::messages::describe_log_dirs_response::DescribeLogDirsResult,
) {
    let resp = c.call(
        &DescribeLogDirsRequest::default().with_topics(topics),
        version,
    );
    assert_eq!(resp.error_code, NONE);
    assert_eq!(resp.results.len(), 1, "one log dir: {resp:?}");
    let dir = resp.results[0].clone();
    assert_eq!(dir.error_code, NONE);
    let mut sizes = std::collections::BTreeMap::new();
    for t in &dir.topics {
        assert!(!t.partitions.is_empty(), "no empty topics: {resp:?}");
        for p in &t.partitions {
            assert_eq!((p.offset_lag, p.is_future_key), (0, false));
            sizes.insert((t.name.0.to_string(), p.partition_index), p.partition_size);
        }
    }
    (sizes, dir)
}

#[test]
fn describe_log_dirs_sizes_every_partition_from_its_files_open_or_not() {
    let dir = TempDir::new().unwrap();
    let b = Broker::start(dir.path(), &[]);
    let mut c = b.connect();
    create_topic_ok(&mut c, "sized", 3);
    create_topic_ok(&mut c, "other", 1);
    produce_ok(&mut c, "sized", 0, batch(&["a", "b"]));
    produce_ok(&mut c, "sized", 1, batch(&["c", "d", "e"]));
    drop(c);
    b.stop();
    // After a restart only sized-0 is opened again; sized-1 must still be counted.
    let b = Broker::start(dir.path(), &[]);
    let mut c = b.connect();
    produce_ok(&mut c, "sized", 0, batch(&["f"]));
    let on_disk = |t: &str, p: i32| size_on_disk(dir.path(), t, p);
    assert!(on_disk("sized", 1) > 0);

    let (sizes, result) = log_dir_sizes(&mut c, None, 4);
    let expected: std::collections::BTreeMap<(String, i32), i64> = [
        (("other".to_string(), 0), 0),
        (("sized".to_string(), 0), on_disk("sized", 0)),
        (("sized".to_string(), 1), on_disk("sized", 1)),
        (("sized".to_string(), 2), 0),
    ]
    .into();
    assert_eq!(sizes, expected);
    let absolute = std::path::absolute(dir.path()).unwrap();
    assert_eq!(result.log_dir.as_str(), absolute.to_str().unwrap());
    assert!(result.total_bytes > 0, "{result:?}");
    assert!(
        (0..=result.total_bytes).contains(&result.usable_bytes),
        "{result:?}"
    );

    // Named partitions: those that exist, each once; a missing topic or partition is left
    // out, and so is a topic with nothing left to answer.
    let ask = |t: &str, ps: &[i32]| {
        DescribableLogDirTopic::default()
            .with_topic(name(t))
            .with_partitions(ps.to_vec())
    };
    let (sizes, _) = log_dir_sizes(
        &mut c,
        Some(vec![
            ask("sized", &[1, 7]),
            ask("sized", &[1]),
            ask("missing", &[0]),
            ask("other", &[3]),
        ]),
        4,
    );
    assert_eq!(
        sizes,
        [(("sized".to_string(), 1), on_disk("sized", 1))].into()
    );
    // Every served version answers; before v4 without the disk's totals.
    for version in 1..=3 {
        let (sizes, result) = log_dir_sizes(&mut c, None, version);
        assert_eq!(sizes, expected, "v{version}");
        assert_eq!((result.total_bytes, result.usable_bytes), (-1, -1));
    }
    b.stop();
}

fn describe_topic_partitions(
    c: &mut Client,
    topics: &[&str],
    limit: i32,
    cursor: Option<(&str, i32)>,
) -> DescribeTopicPartitionsResponse {
    let req = DescribeTopicPartitionsRequest::default()
        .with_topics(
            topics
                .iter()
                .map(|t| TopicRequest::default().with_name(name(t)))
                .collect(),
        )
        .with_response_partition_limit(limit)
        .with_cursor(cursor.map(|(t, p)| {
            Cursor::default()
                .with_topic_name(name(t))
                .with_partition_index(p)
        }));
    c.call(&req, 0)
}

/// (topic, partitions, error) of each topic answered, and the next cursor.
#[allow(clippy::type_complexity)]
fn page(
    r: &DescribeTopicPartitionsResponse,
) -> (Vec<(String, Vec<i32>, i16)>, Option<(String, i32)>) {
    let topics = r
        .topics
        .iter()
        .map(|t: &DescribeTopicPartitionsResponseTopic| {
            (
                t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default(),
                t.partitions.iter().map(|p| p.partition_index).collect(),
                t.error_code,
            )
        })
        .collect();
    let cursor = r
        .next_cursor
        .as_ref()
        .map(|c| (c.topic_name.0.to_string(), c.partition_index));
    (topics, cursor)
}

#[test]
fn describe_topic_partitions_answers_like_metadata_a_page_at_a_time() {
    let dir = TempDir::new().unwrap();
    let b = Broker::start(dir.path(), &[]);
    let mut c = b.connect();
    create_topic_ok(&mut c, "a", 3);
    create_topic_ok(&mut c, "b", 2);
    create_topic_ok(&mut c, "c", 1);
    let ids = metadata(&mut c, Some(&["a", "b", "c"]));

    // Everything in one page: the same partitions, leaders and ids as Metadata.
    let all = describe_topic_partitions(&mut c, &[], 2000, None);
    assert_eq!(all.next_cursor, None);
    assert_eq!(all.topics.len(), 3);
    for (t, m) in all.topics.iter().zip(&ids.topics) {
        assert_eq!(
            (t.error_code, &t.name, t.topic_id),
            (NONE, &m.name, m.topic_id)
        );
        assert!(!t.is_internal);
        assert_eq!(t.topic_authorized_operations, i32::MIN);
        assert_eq!(t.partitions.len(), m.partitions.len());
        for (p, mp) in t.partitions.iter().zip(&m.partitions) {
            assert_eq!(p.error_code, NONE);
            assert_eq!(p.partition_index, mp.partition_index);
            assert_eq!(p.leader_id, mp.leader_id);
            assert_eq!(p.leader_epoch, mp.leader_epoch);
            assert_eq!(p.replica_nodes, mp.replica_nodes);
            assert_eq!(p.isr_nodes, mp.isr_nodes);
            assert_eq!(p.eligible_leader_replicas, Some(vec![]));
            assert_eq!(p.last_known_elr, Some(vec![]));
            assert!(p.offline_replicas.is_empty());
        }
    }

    // Pages of two partitions, each starting where the cursor of the last one points.
    let v = |ps: &[i32]| ps.to_vec();
    let s = |t: &str| t.to_string();
    let first = page(&describe_topic_partitions(&mut c, &[], 2, None));
    assert_eq!(first, (vec![(s("a"), v(&[0, 1]), NONE)], Some((s("a"), 2))));
    let second = page(&describe_topic_partitions(&mut c, &[], 2, Some(("a", 2))));
    assert_eq!(
        second,
        (
            vec![(s("a"), v(&[2]), NONE), (s("b"), v(&[0]), NONE)],
            Some((s("b"), 1))
        )
    );
    let third = page(&describe_topic_partitions(&mut c, &[], 2, Some(("b", 1))));
    assert_eq!(
        third,
        (vec![(s("b"), v(&[1]), NONE), (s("c"), v(&[0]), NONE)], None)
    );
    // A page that ends with a topic points at the next topic's first partition.
    let full = page(&describe_topic_partitions(&mut c, &[], 3, None));
    assert_eq!(
        full,
        (vec![(s("a"), v(&[0, 1, 2]), NONE)], Some((s("b"), 0)))
    );

    // Named topics, sorted; an unknown one gets its error.
    let named = page(&describe_topic_partitions(
        &mut c,
        &["nope", "b"],
        2000,
        None,
    ));
    assert_eq!(
        named,
        (
            vec![
                (s("b"), v(&[0, 1]), NONE),
                (s("nope"), v(&[]), UNKNOWN_TOPIC_OR_PARTITION)
            ],
            None
        )
    );
    // A cursor must name one of the topics asked for.
    let bad = page(&describe_topic_partitions(
        &mut c,
        &["a", "b"],
        2000,
        Some(("c", 0)),
    ));
    assert_eq!(
        bad,
        (
            vec![
                (s("a"), v(&[]), INVALID_REQUEST),
                (s("b"), v(&[]), INVALID_REQUEST)
            ],
            None
        )
    );
    b.stop();
}

// ---------------------------------------------------------------------------------------------
// Restarts.

#[test]
fn records_and_topics_survive_a_clean_restart() {
    let dir = TempDir::new().unwrap();
    let b = Broker::start(dir.path(), &[]);
    let mut c = b.connect();
    create_topic_ok(&mut c, "kept", 3);
    for p in 0..3 {
        produce_ok(
            &mut c,
            "kept",
            p,
            batch(&[&format!("p{p}-a"), &format!("p{p}-b")]),
        );
    }
    let id = metadata(&mut c, Some(&["kept"])).topics[0].topic_id;
    drop(c);
    b.stop();

    let b = Broker::start(dir.path(), &[]);
    let mut c = b.connect();
    let m = metadata(&mut c, None);
    assert_eq!(m.topics.len(), 1);
    assert_eq!(m.topics[0].name.as_ref().unwrap().0.as_str(), "kept");
    assert_eq!(m.topics[0].topic_id, id);
    assert_eq!(m.topics[0].partitions.len(), 3);
    for p in 0..3 {
        let got = values_of(&fetch(&mut c, "kept", p, 0, 0, 0));
        assert_eq!(got, [format!("p{p}-a"), format!("p{p}-b")]);
    }
    // Appends continue after the end.
    assert_eq!(produce_ok(&mut c, "kept", 0, batch(&["after"])), 2);
    b.stop();
}

#[test]
fn every_acknowledged_produce_is_readable_after_kill_9() {
    let dir = TempDir::new().unwrap();
    let flush = "log.flush.interval.messages=1";
    let b = Broker::start(dir.path(), &[flush]);
    let mut c = b.connect();
    create_topic_ok(&mut c, "acked", 1);
    // A producer that keeps going until the broker dies under it, noting each acknowledgement.
    let acked = Arc::new(Mutex::new(Vec::<(i64, String)>::new()));
    let port = b.port;
    let noted = acked.clone();
    let producer = thread::spawn(move || {
        let mut c = Client::connect(port);
        for i in 0..100_000 {
            let value = format!("record-{i}");
            let Ok(resp) = c.try_call(&produce_request("acked", 0, batch(&[&value])), 9) else {
                return; // the broker is gone
            };
            let p = &resp.responses[0].partition_responses[0];
            assert_eq!(p.error_code, NONE);
            noted.lock().unwrap().push((p.base_offset, value));
        }
    });
    let deadline = Instant::now() + HANG_GUARD;
    while acked.lock().unwrap().len() < 50 {
        assert!(Instant::now() < deadline, "the producer made no progress");
        thread::sleep(Duration::from_millis(10));
    }
    b.kill9();
    producer.join().unwrap();
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 50);

    let b = Broker::start(dir.path(), &[flush]);
    let mut c = b.connect();
    let mut stored = Vec::new();
    let mut offset = 0;
    loop {
        let got = records_of(&fetch(&mut c, "acked", 0, offset, 0, 0));
        let Some(next) = got.last().map(|r| r.0 + 1) else {
            break;
        };
        // Whole batches come back: skip what precedes the offset asked for.
        stored.extend(got.into_iter().filter(|r| r.0 >= offset));
        offset = next;
    }
    // Offsets are contiguous from 0, and every acknowledged record is there at its offset.
    for (i, r) in stored.iter().enumerate() {
        assert_eq!(r.0, i as i64, "offsets have a gap");
    }
    for (offset, value) in &acked {
        let r = stored.get(*offset as usize).unwrap_or_else(|| {
            panic!(
                "acknowledged offset {offset} lost ({} stored)",
                stored.len()
            )
        });
        assert_eq!(&r.2, value);
    }
    // The log takes appends after the recovered end.
    let end = stored.len() as i64;
    assert_eq!(produce_ok(&mut c, "acked", 0, batch(&["after"])), end);
    b.stop();
}

// ---------------------------------------------------------------------------------------------
// Bounded work per request.

const POLICY_VIOLATION: i16 = 44;

/// Partition directories (anything with a log state file) under the data dir.
fn partition_dirs(data: &std::path::Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(data)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join(".streamlog-state").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

#[test]
fn a_request_for_two_billion_partitions_is_refused_before_anything_touches_the_disk() {
    let dir = TempDir::new().unwrap();
    let b = Broker::start(dir.path(), &[]);
    let mut c = b.connect();
    let started = Instant::now();
    assert_eq!(
        create_topic(&mut c, "huge", i32::MAX, &[]),
        POLICY_VIOLATION,
        "2^31-1 partitions"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // The whole request is refused, as Kafka's controller refuses an oversized batch: a small
    // topic beside the huge one is not created either.
    let req = CreateTopicsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![
            CreatableTopic::default()
                .with_name(name("small"))
                .with_num_partitions(1)
                .with_replication_factor(1),
            CreatableTopic::default()
                .with_name(name("big"))
                .with_num_partitions(10_000)
                .with_replication_factor(1),
        ]);
    let resp = c.call(&req, 7);
    for t in &resp.topics {
        assert_eq!(t.error_code, POLICY_VIOLATION, "{}", t.name.0);
        let msg = t.error_message.as_deref().unwrap_or_default();
        assert!(
            msg.contains("excessively large") && msg.contains("max.partitions.per.request"),
            "{msg}"
        );
    }
    assert!(partition_dirs(dir.path()).is_empty(), "nothing on disk");
    // Growing a topic is bounded the same way.
    create_topic_ok(&mut c, "grows", 1);
    let req = kafka_protocol::messages::CreatePartitionsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![
            kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic::default()
                .with_name(name("grows"))
                .with_count(i32::MAX),
        ]);
    let resp = c.call(&req, 3);
    assert_eq!(resp.results[0].error_code, POLICY_VIOLATION);
    assert_eq!(partition_dirs(dir.path()), ["grows-0"]);
    // The broker is still serving, and the bound is a setting.
    b.stop();
    let b = Broker::start(dir.path(), &["max.partitions.per.request=3"]);
    let mut c = b.connect();
    assert_eq!(create_topic(&mut c, "four", 4, &[]), POLICY_VIOLATION);
    create_topic_ok(&mut c, "three", 3);
    b.stop();
}

#[test]
fn sigterm_as_soon_as_the_listening_line_is_printed_stops_cleanly() {
    // The handler was once installed after the line: a quick SIGTERM killed the broker
    // (27 of 40 tries) instead of stopping it.
    for _ in 0..10 {
        let dir = TempDir::new().unwrap();
        Broker::start(dir.path(), &[]).stop();
    }
}

#[test]
fn partition_directories_an_interrupted_creation_left_are_removed_at_start() {
    let dir = TempDir::new().unwrap();
    let b = Broker::start(dir.path(), &[]);
    let mut c = b.connect();
    create_topic_ok(&mut c, "kept", 2);
    b.stop();
    // What a kill -9 in the middle of creating "ghost" (and of deleting a topic) leaves behind.
    for d in ["ghost-0", "ghost-1", "kept-7"] {
        std::fs::create_dir_all(dir.path().join(d)).unwrap();
        std::fs::write(dir.path().join(d).join(".streamlog-state"), b"").unwrap();
    }
    std::fs::create_dir_all(dir.path().join("old-0.0123456789abcdef-delete")).unwrap();
    let b = Broker::start(dir.path(), &[]);
    assert_eq!(partition_dirs(dir.path()), ["kept-0", "kept-1"]);
    assert!(!dir.path().join("old-0.0123456789abcdef-delete").exists());
    assert!(
        b.log()
            .contains("removing a partition directory no topic owns")
    );
    b.stop();
}
