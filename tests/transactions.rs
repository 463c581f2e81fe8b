//! Transactions against a real `server-start`, over the wire with raw requests: commit and
//! abort seen by `read_committed` and `read_uncommitted` Fetch, the last stable offset, Kafka's
//! error codes for bad transactional requests (the broker serving everyone else meanwhile),
//! timeouts, `kill -9` of the server with a transaction open, the embedded console-consumer
//! reading the data dir as a `read_committed` consumer would, and the cleaner removing aborted
//! records.

mod common;
#[path = "support/broker.rs"]
mod support;

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use indexmap::IndexMap;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, CreateTopicsRequest,
    DescribeTransactionsRequest, EndTxnRequest, FetchRequest, GroupId, InitProducerIdRequest,
    JoinGroupRequest, ListOffsetsRequest, ListTransactionsRequest, MetadataRequest,
    OffsetFetchRequest, ProduceRequest, ProducerId, SyncGroupRequest, TopicName, TransactionalId,
    TxnOffsetCommitRequest,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use support::{Broker, Client};

const NONE: i16 = 0;
const ILLEGAL_GENERATION: i16 = 22;
const INVALID_PRODUCER_EPOCH: i16 = 47;
const INVALID_TXN_STATE: i16 = 48;
const INVALID_PRODUCER_ID_MAPPING: i16 = 49;
const INVALID_TRANSACTION_TIMEOUT: i16 = 50;
const INVALID_RECORD: i16 = 87;
const UNSTABLE_OFFSET_COMMIT: i16 = 88;
const PRODUCER_FENCED: i16 = 90;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn name(v: &str) -> TopicName {
    TopicName(s(v))
}

fn txn_id(v: &str) -> TransactionalId {
    TransactionalId(s(v))
}

fn create_topic(c: &mut Client, topic: &str, configs: &[(&str, &str)]) {
    let req = CreateTopicsRequest::default()
        .with_timeout_ms(10_000)
        .with_topics(vec![
            CreatableTopic::default()
                .with_name(name(topic))
                .with_num_partitions(1)
                .with_replication_factor(1)
                .with_configs(
                    configs
                        .iter()
                        .map(|(k, v)| {
                            CreatableTopicConfig::default()
                                .with_name(s(k))
                                .with_value(Some(s(v)))
                        })
                        .collect(),
                ),
        ]);
    let resp = c.call(&req, 5);
    assert_eq!(resp.topics[0].error_code, NONE, "{:?}", resp.topics[0]);
}

/// A batch of `values` (keys `k<value>` when `keyed`) from a producer; `control` makes it a
/// marker-looking batch a client is not allowed to send.
fn batch(pid: i64, epoch: i16, seq: i32, txn: bool, values: &[&str], keyed: bool) -> Bytes {
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            transactional: txn,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: pid,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: seq + i as i32,
            timestamp: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64),
            key: keyed.then(|| Bytes::from(format!("k{v}"))),
            value: Some(Bytes::from(v.to_string())),
            headers: IndexMap::new(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode");
    buf.freeze()
}

fn produce(c: &mut Client, topic: &str, records: Bytes) -> (i16, i64) {
    let req = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(10_000)
        .with_transactional_id(None)
        .with_topic_data(vec![
            TopicProduceData::default()
                .with_name(name(topic))
                .with_partition_data(vec![
                    PartitionProduceData::default()
                        .with_index(0)
                        .with_records(Some(records)),
                ]),
        ]);
    let resp = c.call(&req, 9);
    let p = &resp.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

fn init(c: &mut Client, id: &str, timeout_ms: i32) -> (i16, i64, i16) {
    let req = InitProducerIdRequest::default()
        .with_transactional_id(Some(txn_id(id)))
        .with_transaction_timeout_ms(timeout_ms)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let r = c.call(&req, 4);
    (r.error_code, r.producer_id.0, r.producer_epoch)
}

fn add_partition(c: &mut Client, id: &str, pid: i64, epoch: i16, topic: &str) -> i16 {
    let req = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(txn_id(id))
        .with_v3_and_below_producer_id(ProducerId(pid))
        .with_v3_and_below_producer_epoch(epoch)
        .with_v3_and_below_topics(vec![
            AddPartitionsToTxnTopic::default()
                .with_name(name(topic))
                .with_partitions(vec![0]),
        ]);
    let r = c.call(&req, 3);
    r.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code
}

fn end(c: &mut Client, id: &str, pid: i64, epoch: i16, commit: bool, version: i16) -> i16 {
    let req = EndTxnRequest::default()
        .with_transactional_id(txn_id(id))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_committed(commit);
    c.call(&req, version).error_code
}

/// Fetch v12 of partition 0 from `offset` at `isolation` (0 uncommitted, 1 committed).
fn fetch(c: &mut Client, topic: &str, offset: i64, isolation: i8) -> PartitionData {
    let req = FetchRequest::default()
        .with_replica_id((-1).into())
        .with_max_wait_ms(0)
        .with_min_bytes(0)
        .with_max_bytes(1 << 20)
        .with_isolation_level(isolation)
        .with_topics(vec![
            FetchTopic::default()
                .with_topic(name(topic))
                .with_partitions(vec![
                    FetchPartition::default()
                        .with_partition(0)
                        .with_fetch_offset(offset)
                        .with_partition_max_bytes(1 << 20),
                ]),
        ]);
    c.call(&req, 12).responses[0].partitions[0].clone()
}

/// What a consumer at `isolation` shows of the partition: the values, with aborted
/// transactions dropped the way Kafka's consumer drops them (from the Fetch's list).
fn consume(c: &mut Client, topic: &str, isolation: i8) -> Vec<String> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let p = fetch(c, topic, offset, isolation);
        assert_eq!(p.error_code, NONE);
        let mut bytes = p.records.clone().unwrap_or_default();
        if bytes.is_empty() {
            return out;
        }
        let aborted: Vec<(i64, i64)> = p
            .aborted_transactions
            .iter()
            .flatten()
            .map(|a| (a.producer_id.0, a.first_offset))
            .collect();
        let mut aborting = std::collections::HashSet::new();
        let mut aborted = aborted.into_iter().peekable();
        while !bytes.is_empty() {
            let set = RecordBatchDecoder::decode(&mut bytes).expect("decode");
            for r in set.records {
                offset = r.offset + 1;
                while let Some((pid, _)) = aborted.next_if(|(_, first)| *first <= r.offset) {
                    aborting.insert(pid);
                }
                if r.control {
                    aborting.remove(&r.producer_id);
                    continue;
                }
                if r.transactional && aborting.contains(&r.producer_id) {
                    continue;
                }
                out.push(String::from_utf8_lossy(r.value.as_deref().unwrap_or(b"")).into_owned());
            }
        }
    }
}

fn latest(c: &mut Client, topic: &str, isolation: i8) -> i64 {
    let req = ListOffsetsRequest::default()
        .with_replica_id((-1).into())
        .with_isolation_level(isolation)
        .with_topics(vec![
            ListOffsetsTopic::default()
                .with_name(name(topic))
                .with_partitions(vec![
                    ListOffsetsPartition::default()
                        .with_partition_index(0)
                        .with_timestamp(-1),
                ]),
        ]);
    c.call(&req, 5).topics[0].partitions[0].offset
}

fn still_serving(c: &mut Client) {
    let r = c.call(&MetadataRequest::default().with_topics(None), 9);
    assert!(!r.brokers.is_empty(), "the broker keeps answering");
}

#[test]
fn commit_and_abort_are_seen_by_read_committed_and_read_uncommitted_fetches() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path(), &[]);
    let mut c = broker.connect();
    create_topic(&mut c, "t", &[]);
    let (e, pid, epoch) = init(&mut c, "tx-1", 60_000);
    assert_eq!((e, epoch), (NONE, 0));
    // A plain producer's record between the transactions.
    assert_eq!(
        produce(&mut c, "t", batch(-1, -1, -1, false, &["plain"], false)).0,
        NONE
    );
    assert_eq!(add_partition(&mut c, "tx-1", pid, epoch, "t"), NONE);
    assert_eq!(
        produce(
            &mut c,
            "t",
            batch(pid, epoch, 0, true, &["c1", "c2"], false)
        )
        .0,
        NONE
    );
    // While it is open, read_committed stops before it.
    let lso = fetch(&mut c, "t", 0, 1);
    assert_eq!((lso.last_stable_offset, lso.high_watermark), (1, 3));
    assert_eq!(latest(&mut c, "t", 1), 1);
    assert_eq!(latest(&mut c, "t", 0), 3);
    assert_eq!(consume(&mut c, "t", 1), ["plain"]);
    assert_eq!(end(&mut c, "tx-1", pid, epoch, true, 3), NONE);
    assert_eq!(add_partition(&mut c, "tx-1", pid, epoch, "t"), NONE);
    assert_eq!(
        produce(
            &mut c,
            "t",
            batch(pid, epoch, 2, true, &["a1", "a2"], false)
        )
        .0,
        NONE
    );
    assert_eq!(end(&mut c, "tx-1", pid, epoch, false, 3), NONE);
    // A retried EndTxn is answered as done; the other outcome is refused.
    assert_eq!(end(&mut c, "tx-1", pid, epoch, false, 3), NONE);
    assert_eq!(end(&mut c, "tx-1", pid, epoch, true, 3), INVALID_TXN_STATE);
    assert_eq!(consume(&mut c, "t", 1), ["plain", "c1", "c2"]);
    assert_eq!(consume(&mut c, "t", 0), ["plain", "c1", "c2", "a1", "a2"]);
    let p = fetch(&mut c, "t", 0, 1);
    assert_eq!(p.last_stable_offset, 7, "markers take offsets");
    let aborted: Vec<(i64, i64)> = p
        .aborted_transactions
        .iter()
        .flatten()
        .map(|a| (a.producer_id.0, a.first_offset))
        .collect();
    assert_eq!(aborted, [(pid, 4)]);
    assert!(
        fetch(&mut c, "t", 0, 0).aborted_transactions.is_none(),
        "read_uncommitted gets no list"
    );
    // Kafka's tools see the id.
    let listed = c.call(&ListTransactionsRequest::default(), 1);
    assert_eq!(listed.transaction_states.len(), 1);
    assert_eq!(
        listed.transaction_states[0].transaction_state.as_str(),
        "CompleteAbort"
    );
    broker.stop();
}

#[test]
fn bad_transactional_requests_get_kafkas_errors_and_the_broker_serves_on() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(
        dir.path(),
        &[
            "transaction.abort.timed.out.transaction.cleanup.interval.ms=200",
            "group.initial.rebalance.delay.ms=0",
        ],
    );
    let mut c = broker.connect();
    create_topic(&mut c, "t", &[]);
    assert_eq!(init(&mut c, "tx", 3_600_000).0, INVALID_TRANSACTION_TIMEOUT);
    assert_eq!(
        end(&mut c, "nobody", 1, 0, true, 3),
        INVALID_PRODUCER_ID_MAPPING
    );
    let (_, pid, epoch) = init(&mut c, "tx", 60_000);
    // A transactional batch to a partition never added.
    let (code, _) = produce(&mut c, "t", batch(pid, epoch, 0, true, &["x"], false));
    assert_eq!(code, INVALID_TXN_STATE);
    // A control batch from a client.
    let mut marker = batch(pid, epoch, 0, true, &["x"], false).to_vec();
    marker[21..23].copy_from_slice(&0x30i16.to_be_bytes());
    let crc = crc32c::crc32c(&marker[21..]);
    marker[17..21].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(produce(&mut c, "t", Bytes::from(marker)).0, INVALID_RECORD);
    // A zombie: a second InitProducerId fences the first epoch everywhere.
    assert_eq!(add_partition(&mut c, "tx", pid, epoch, "t"), NONE);
    let (_, pid2, epoch2) = init(&mut c, "tx", 60_000);
    assert_eq!(pid2, pid);
    assert_eq!(
        epoch2,
        epoch + 2,
        "the open transaction was aborted with a bumped epoch"
    );
    assert_eq!(end(&mut c, "tx", pid, epoch, true, 3), PRODUCER_FENCED);
    assert_eq!(
        end(&mut c, "tx", pid, epoch, true, 1),
        INVALID_PRODUCER_EPOCH
    );
    assert_eq!(
        add_partition(&mut c, "tx", pid, epoch, "t"),
        PRODUCER_FENCED
    );
    // TxnOffsetCommit for a stale generation.
    let join = JoinGroupRequest::default()
        .with_group_id(GroupId(s("g")))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![
            JoinGroupRequestProtocol::default()
                .with_name(s("range"))
                .with_metadata(Bytes::from_static(&[0, 0, 0, 0, 0, 0, 0, 0])),
        ]);
    let joined = c.call(&join, 3);
    assert_eq!(joined.error_code, NONE);
    let sync = SyncGroupRequest::default()
        .with_group_id(GroupId(s("g")))
        .with_generation_id(joined.generation_id)
        .with_member_id(joined.member_id.clone());
    assert_eq!(c.call(&sync, 3).error_code, NONE);
    let add_offsets = AddOffsetsToTxnRequest::default()
        .with_transactional_id(txn_id("tx"))
        .with_producer_id(ProducerId(pid2))
        .with_producer_epoch(epoch2)
        .with_group_id(GroupId(s("g")));
    assert_eq!(c.call(&add_offsets, 3).error_code, NONE);
    let commit = |generation: i32| {
        TxnOffsetCommitRequest::default()
            .with_transactional_id(txn_id("tx"))
            .with_group_id(GroupId(s("g")))
            .with_producer_id(ProducerId(pid2))
            .with_producer_epoch(epoch2)
            .with_generation_id(generation)
            .with_member_id(joined.member_id.clone())
            .with_topics(vec![
                TxnOffsetCommitRequestTopic::default()
                    .with_name(name("t"))
                    .with_partitions(vec![
                        TxnOffsetCommitRequestPartition::default()
                            .with_partition_index(0)
                            .with_committed_offset(5),
                    ]),
            ])
    };
    let stale = c.call(&commit(joined.generation_id - 1), 3);
    assert_eq!(stale.topics[0].partitions[0].error_code, ILLEGAL_GENERATION);
    let ok = c.call(&commit(joined.generation_id), 3);
    assert_eq!(ok.topics[0].partitions[0].error_code, NONE);
    // Pending offsets are unstable for read_committed consumers until the commit.
    let fetch_offsets = OffsetFetchRequest::default()
        .with_group_id(GroupId(s("g")))
        .with_require_stable(true)
        .with_topics(Some(vec![
            OffsetFetchRequestTopic::default()
                .with_name(name("t"))
                .with_partition_indexes(vec![0]),
        ]));
    let before = c.call(&fetch_offsets, 7);
    assert_eq!(
        before.topics[0].partitions[0].error_code,
        UNSTABLE_OFFSET_COMMIT
    );
    assert_eq!(end(&mut c, "tx", pid2, epoch2, true, 3), NONE);
    let after = c.call(&fetch_offsets, 7);
    assert_eq!(after.topics[0].partitions[0].error_code, NONE);
    assert_eq!(after.topics[0].partitions[0].committed_offset, 5);
    // A transaction that outlives its timeout is aborted, its producer fenced.
    let (_, pid3, epoch3) = init(&mut c, "short", 1_000);
    assert_eq!(add_partition(&mut c, "short", pid3, epoch3, "t"), NONE);
    assert_eq!(
        produce(&mut c, "t", batch(pid3, epoch3, 0, true, &["late"], false)).0,
        NONE
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while fetch(&mut c, "t", 0, 1).last_stable_offset != latest(&mut c, "t", 0) {
        assert!(
            Instant::now() < deadline,
            "the timed-out transaction was never aborted"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!consume(&mut c, "t", 1).contains(&"late".to_string()));
    assert_eq!(end(&mut c, "short", pid3, epoch3, true, 3), PRODUCER_FENCED);
    let described = c.call(
        &DescribeTransactionsRequest::default().with_transactional_ids(vec![txn_id("short")]),
        0,
    );
    assert_eq!(
        described.transaction_states[0].transaction_state.as_str(),
        "CompleteAbort"
    );
    still_serving(&mut c);
    broker.stop();
}

#[test]
fn transaction_and_producer_state_survive_kill_9_and_the_embedded_reader_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path(), &[]);
    let mut c = broker.connect();
    create_topic(&mut c, "t", &[]);
    let (_, pid, epoch) = init(&mut c, "durable", 60_000);
    assert_eq!(add_partition(&mut c, "durable", pid, epoch, "t"), NONE);
    assert_eq!(
        produce(&mut c, "t", batch(pid, epoch, 0, true, &["c1"], false)).0,
        NONE
    );
    assert_eq!(end(&mut c, "durable", pid, epoch, true, 3), NONE);
    assert_eq!(add_partition(&mut c, "durable", pid, epoch, "t"), NONE);
    assert_eq!(
        produce(&mut c, "t", batch(pid, epoch, 1, true, &["a1"], false)).0,
        NONE
    );
    assert_eq!(end(&mut c, "durable", pid, epoch, false, 3), NONE);
    assert_eq!(add_partition(&mut c, "durable", pid, epoch, "t"), NONE);
    let open = batch(pid, epoch, 2, true, &["open1", "open2"], false);
    let (code, open_at) = produce(&mut c, "t", open.clone());
    assert_eq!(code, NONE);
    drop(c);
    broker.kill9();

    let broker = Broker::start(dir.path(), &[]);
    let mut c = broker.connect();
    // The open transaction still holds the last stable offset.
    let p = fetch(&mut c, "t", 0, 1);
    assert_eq!(p.last_stable_offset, open_at);
    assert_eq!(consume(&mut c, "t", 1), ["c1"]);
    // Its producer's sequence survived: a retry is a duplicate, acknowledged at its offset.
    assert_eq!(produce(&mut c, "t", open), (NONE, open_at));
    // The coordinator still knows the transaction: its producer commits it.
    let described = c.call(
        &DescribeTransactionsRequest::default().with_transactional_ids(vec![txn_id("durable")]),
        0,
    );
    assert_eq!(
        described.transaction_states[0].transaction_state.as_str(),
        "Ongoing"
    );
    assert_eq!(end(&mut c, "durable", pid, epoch, true, 3), NONE);
    assert_eq!(consume(&mut c, "t", 1), ["c1", "open1", "open2"]);
    drop(c);
    broker.stop();

    // The embedded console-consumer reads the data dir as a read_committed consumer does.
    let read = |isolation: &str| -> Vec<String> {
        let out = std::process::Command::new(common::bin_path("console-consumer"))
            .args(["--data-dir", dir.path().to_str().unwrap()])
            .args(["--topic", "t", "--from-beginning", "--timeout-ms", "2000"])
            .args(["--isolation-level", isolation])
            .output()
            .expect("console-consumer");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(read("read_committed"), ["c1", "open1", "open2"]);
    assert_eq!(read("read_uncommitted"), ["c1", "a1", "open1", "open2"]);
}

#[test]
fn the_cleaner_removes_aborted_records_and_stops_at_the_last_stable_offset() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(
        dir.path(),
        &[
            "log.cleaner.backoff.ms=100",
            "log.cleaner.delete.retention.ms=0",
        ],
    );
    let mut c = broker.connect();
    create_topic(
        &mut c,
        "compacted",
        &[
            ("cleanup.policy", "compact"),
            ("min.cleanable.dirty.ratio", "0.01"),
            ("segment.ms", "100"),
            ("delete.retention.ms", "0"),
        ],
    );
    let (_, pid, epoch) = init(&mut c, "cleaned", 60_000);
    let mut seq = 0;
    let mut txn = |c: &mut Client, values: &[&str], commit: bool| {
        assert_eq!(add_partition(c, "cleaned", pid, epoch, "compacted"), NONE);
        let b = batch(pid, epoch, seq, true, values, true);
        seq += values.len() as i32;
        assert_eq!(produce(c, "compacted", b).0, NONE);
        assert_eq!(end(c, "cleaned", pid, epoch, commit, 3), NONE);
    };
    txn(&mut c, &["1", "2"], true);
    txn(&mut c, &["3", "4"], false);
    txn(&mut c, &["5"], true);
    // An open transaction at the end: nothing of it is cleaned, nor after it.
    assert_eq!(
        add_partition(&mut c, "cleaned", pid, epoch, "compacted"),
        NONE
    );
    std::thread::sleep(Duration::from_millis(200));
    let open = batch(pid, epoch, seq, true, &["6"], true);
    assert_eq!(produce(&mut c, "compacted", open).0, NONE);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // Rolls need appends: a plain keyed record now and then.
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(
            produce(&mut c, "compacted", batch(-1, -1, -1, false, &["p"], true)).0,
            NONE
        );
        let uncommitted = consume(&mut c, "compacted", 0);
        if !uncommitted.contains(&"3".to_string()) {
            assert!(uncommitted.contains(&"6".to_string()), "{uncommitted:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "aborted records never cleaned: {uncommitted:?}"
        );
    }
    let committed = consume(&mut c, "compacted", 1);
    assert_eq!(&committed[..3], ["1", "2", "5"], "{committed:?}");
    assert_eq!(end(&mut c, "cleaned", pid, epoch, true, 3), NONE);
    assert!(consume(&mut c, "compacted", 1).contains(&"6".to_string()));
    broker.stop();
}

#[test]
fn a_commit_decided_before_a_crash_is_finished_by_the_restarted_broker() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path(), &[]);
    let mut c = broker.connect();
    create_topic(&mut c, "a", &[]);
    create_topic(&mut c, "b", &[]);
    let (_, pid, epoch) = init(&mut c, "decided", 60_000);
    for topic in ["a", "b"] {
        assert_eq!(add_partition(&mut c, "decided", pid, epoch, topic), NONE);
        let values = [format!("{topic}1")];
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        assert_eq!(
            produce(&mut c, topic, batch(pid, epoch, 0, true, &values, false)).0,
            NONE
        );
    }
    drop(c);
    broker.kill9();
    // The crash came after the decision was kept and before any marker: the state file says
    // PrepareCommit (what the coordinator writes before its markers).
    let file = dir
        .path()
        .join(".streamlog/transactions")
        .join(format!("{}.json", hex("decided")));
    let state = std::fs::read_to_string(&file).expect("the transaction's state file");
    assert!(state.contains("\"Ongoing\""), "{state}");
    std::fs::write(&file, state.replace("\"Ongoing\"", "\"PrepareCommit\"")).unwrap();

    let broker = Broker::start(dir.path(), &[]);
    let mut c = broker.connect();
    let deadline = Instant::now() + Duration::from_secs(20);
    while consume(&mut c, "a", 1).is_empty() || consume(&mut c, "b", 1).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the decided commit was never finished"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(consume(&mut c, "a", 1), ["a1"]);
    assert_eq!(consume(&mut c, "b", 1), ["b1"]);
    let described = c.call(
        &DescribeTransactionsRequest::default().with_transactional_ids(vec![txn_id("decided")]),
        0,
    );
    assert_eq!(
        described.transaction_states[0].transaction_state.as_str(),
        "CompleteCommit"
    );
    // A retried EndTxn of the producer is answered as done.
    assert_eq!(end(&mut c, "decided", pid, epoch, true, 3), NONE);
    broker.stop();
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}
