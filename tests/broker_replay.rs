//! Idempotence across restarts (issue 9): an idempotent Produce request, captured as bytes and
//! sent again after `server-start` was killed (-9) or stopped (SIGTERM) and restarted on the
//! same data dir, must not be appended a second time. That is the client's retry of a batch
//! whose acknowledgement was lost in the crash. Kafka rebuilds its producer state from
//! `<offset>.snapshot` files and the log after the snapshot, then answers a duplicate of one of
//! a producer's last batches with the original base offset and no error, and refuses an older
//! one with OUT_OF_ORDER_SEQUENCE_NUMBER. Either way, the log holds each record once.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use indexmap::IndexMap;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::{
    CreateTopicsRequest, FetchRequest, InitProducerIdRequest, ProduceRequest, ProducerId, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use tempfile::TempDir;

#[path = "support/broker.rs"]
mod support;
use support::{Broker, Client};

const TOPIC: &str = "replay";
const NONE: i16 = 0;
const PRODUCE_VERSION: i16 = 9;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn create_topic(c: &mut Client) {
    let req = CreateTopicsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![
            CreatableTopic::default()
                .with_name(name(TOPIC))
                .with_num_partitions(1)
                .with_replication_factor(1),
        ]);
    let resp = c.call(&req, 7);
    assert_eq!(resp.topics[0].error_code, NONE, "create {TOPIC}: {resp:?}");
}

/// A new idempotent producer: (producer id, epoch).
fn init_producer_id(c: &mut Client) -> (i64, i16) {
    let req = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let resp = c.call(&req, 4);
    assert_eq!(resp.error_code, NONE, "InitProducerId: {resp:?}");
    (resp.producer_id.0, resp.producer_epoch)
}

/// One RecordBatch v2 of `values` from producer `pid`/`epoch`, base sequence `first_seq`.
fn idempotent_batch(pid: i64, epoch: i16, first_seq: i32, values: &[String]) -> Bytes {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: pid,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: first_seq + i as i32,
            timestamp: now,
            key: None,
            value: Some(Bytes::from(v.clone())),
            headers: IndexMap::new(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode batch");
    buf.freeze()
}

/// Produce with acks=-1 of one batch to partition 0.
fn produce_request(batch: Bytes) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![
            TopicProduceData::default()
                .with_name(name(TOPIC))
                .with_partition_data(vec![
                    PartitionProduceData::default()
                        .with_index(0)
                        .with_records(Some(batch)),
                ]),
        ])
}

fn partition_response(resp: kafka_protocol::messages::ProduceResponse) -> PartitionProduceResponse {
    assert_eq!(resp.responses.len(), 1);
    assert_eq!(resp.responses[0].partition_responses.len(), 1);
    resp.responses[0].partition_responses[0].clone()
}

/// A Produce request as the client sent it, and where the broker put it the first time.
struct Captured {
    request: Bytes,
    base_offset: i64,
    values: Vec<String>,
}

/// Batch `n` (0-based) of a producer writing three records per batch.
fn send_captured(c: &mut Client, pid: i64, epoch: i16, n: i32) -> Captured {
    let values: Vec<String> = (0..3).map(|i| format!("batch-{n}-record-{i}")).collect();
    let req = produce_request(idempotent_batch(pid, epoch, n * 3, &values));
    let request = c.encode_request(&req, PRODUCE_VERSION);
    let p = partition_response(c.call_raw::<ProduceRequest>(&request, PRODUCE_VERSION));
    assert_eq!(p.error_code, NONE, "first send of batch {n}: {p:?}");
    Captured {
        request,
        base_offset: p.base_offset,
        values,
    }
}

/// The same bytes again, on a new connection (a client reconnecting after the crash).
fn replay(b: &Broker, cap: &Captured) -> PartitionProduceResponse {
    let mut c = b.connect();
    partition_response(c.call_raw::<ProduceRequest>(&cap.request, PRODUCE_VERSION))
}

/// Every value in the partition, in offset order.
fn log_values(b: &Broker) -> Vec<String> {
    let mut c = b.connect();
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let req = FetchRequest::default()
            .with_replica_id((-1).into())
            .with_max_wait_ms(0)
            .with_min_bytes(0)
            .with_max_bytes(1 << 20)
            .with_topics(vec![
                FetchTopic::default()
                    .with_topic(name(TOPIC))
                    .with_partitions(vec![
                        FetchPartition::default()
                            .with_partition(0)
                            .with_fetch_offset(offset)
                            .with_partition_max_bytes(1 << 20),
                    ]),
            ]);
        let resp = c.call(&req, 12);
        let p = &resp.responses[0].partitions[0];
        assert_eq!(p.error_code, NONE, "fetch: {p:?}");
        let mut data = p.records.clone().unwrap_or_default();
        let records: Vec<Record> = RecordBatchDecoder::decode_all(&mut data)
            .expect("decode fetched batches")
            .into_iter()
            .flat_map(|s| s.records)
            .filter(|r| r.offset >= offset)
            .collect();
        let Some(last) = records.last() else {
            return out;
        };
        offset = last.offset + 1;
        out.extend(
            records
                .into_iter()
                .map(|r| String::from_utf8(r.value.unwrap_or_default().to_vec()).unwrap()),
        );
        if offset >= p.high_watermark {
            return out;
        }
    }
}

/// The replay of `cap` was not appended: the log is still `log`, and the answer is either the
/// original base offset with no error, or a refusal.
#[track_caller]
fn assert_not_appended(
    b: &Broker,
    cap: &Captured,
    resp: &PartitionProduceResponse,
    log: &[String],
    when: &str,
) {
    let now = log_values(b);
    assert_eq!(
        now.len(),
        log.len(),
        "{when}: the replayed batch {:?} was appended again (answered {resp:?}); the log now holds {} records, {} before:\n{now:?}",
        cap.values,
        now.len(),
        log.len(),
    );
    assert_eq!(now, log, "{when}: the log changed");
    if resp.error_code == NONE {
        assert_eq!(
            resp.base_offset, cap.base_offset,
            "{when}: a duplicate must be acknowledged at its original base offset"
        );
    }
}

#[derive(Debug, Clone, Copy)]
enum Restart {
    Kill9,
    Sigterm,
}

/// A producer writes batches 0, 1 and 2 (three records each); the broker restarts; batch
/// `replayed` is sent again from its captured bytes. Before the restart the same replay is
/// acknowledged without appending (the in-memory check works); after it the log must be
/// unchanged too. Then the producer's next batch is still taken, right after the others.
fn replay_story(restart: Restart, replayed: usize) {
    let dir = TempDir::new().unwrap();
    let b = Broker::start(dir.path(), &[]);
    let mut c = b.connect();
    create_topic(&mut c);
    let (pid, epoch) = init_producer_id(&mut c);
    let sent: Vec<Captured> = (0..3)
        .map(|n| send_captured(&mut c, pid, epoch, n))
        .collect();
    assert_eq!(
        sent.iter().map(|s| s.base_offset).collect::<Vec<_>>(),
        vec![0, 3, 6]
    );
    let log: Vec<String> = sent.iter().flat_map(|s| s.values.clone()).collect();
    assert_eq!(log_values(&b), log);
    let cap = &sent[replayed];

    // The broker that saw the batch recognises it.
    let resp = replay(&b, cap);
    assert_not_appended(&b, cap, &resp, &log, "replayed before any restart");

    drop(c);
    match restart {
        Restart::Kill9 => b.kill9(),
        Restart::Sigterm => {
            b.stop();
        }
    }
    let b = Broker::start(dir.path(), &[]);
    assert_eq!(log_values(&b), log, "after the {restart:?} restart");
    let resp = replay(&b, cap);
    assert_not_appended(
        &b,
        cap,
        &resp,
        &log,
        &format!("batch {replayed} of 0..=2 replayed after a {restart:?} restart"),
    );

    // The producer carries on where it was.
    let mut c = b.connect();
    let next = send_captured(&mut c, pid, epoch, 3);
    assert_eq!(
        next.base_offset,
        log.len() as i64,
        "the next batch follows the log"
    );
    b.stop();
}

#[test]
fn last_batch_replayed_after_kill9_is_not_appended_again() {
    replay_story(Restart::Kill9, 2);
}

#[test]
fn last_batch_replayed_after_sigterm_restart_is_not_appended_again() {
    replay_story(Restart::Sigterm, 2);
}

#[test]
fn older_batch_replayed_after_kill9_is_not_appended_again() {
    replay_story(Restart::Kill9, 0);
}

#[test]
fn older_batch_replayed_after_sigterm_restart_is_not_appended_again() {
    replay_story(Restart::Sigterm, 1);
}
