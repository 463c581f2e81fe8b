//! Descriptors as a budget: 5,000 topics and a 2,000-partition topic, produced and consumed
//! under `ulimit -n 1024` (soft and hard), through `server-start` and through the embedded
//! tools. Before the budget the broker kept about six descriptors per partition it had touched
//! and stalled at the limit; the embedded tools failed with "Too many open files".

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{CreateTopicsRequest, FetchRequest, ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Compression, RecordBatchDecoder};
use streamlog::log::ProducerRecord;
use streamlog::log::codec::encode_batch;

#[path = "support/broker.rs"]
mod support;
use support::{Broker, Client};

const LIMIT: u64 = 1024;
const TOPICS: usize = 5_000;
const BIG_PARTITIONS: i32 = 2_000;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn one_record(value: &str) -> Bytes {
    let r = ProducerRecord {
        value: Some(Bytes::copy_from_slice(value.as_bytes())),
        // Now: an old timestamp would let retention (7 days) delete it at the next roll.
        timestamp: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
        ..Default::default()
    };
    encode_batch(&[r], Compression::None).unwrap().freeze()
}

/// Every (topic, partition) the test writes, with the value it writes there.
fn targets() -> Vec<(String, i32, String)> {
    let mut out: Vec<(String, i32, String)> = (0..TOPICS)
        .map(|i| (format!("many-{i:04}"), 0, format!("v-many-{i}")))
        .collect();
    out.extend((0..BIG_PARTITIONS).map(|p| ("big".to_string(), p, format!("v-big-{p}"))));
    out
}

fn create_topics(c: &mut Client, topics: &[(String, i32)]) {
    let req = CreateTopicsRequest::default()
        .with_timeout_ms(60_000)
        .with_topics(
            topics
                .iter()
                .map(|(t, n)| {
                    CreatableTopic::default()
                        .with_name(name(t))
                        .with_num_partitions(*n)
                        .with_replication_factor(1)
                })
                .collect(),
        );
    let resp = c.call(&req, 5);
    assert_eq!(resp.topics.len(), topics.len());
    for t in &resp.topics {
        assert_eq!(
            t.error_code, 0,
            "create {}: {:?}",
            t.name.0, t.error_message
        );
    }
}

/// One Produce request (acks=-1) for a chunk of targets; asserts every partition succeeded.
fn produce(c: &mut Client, chunk: &[(String, i32, String)]) {
    let mut by_topic: BTreeMap<&str, Vec<PartitionProduceData>> = BTreeMap::new();
    for (t, p, v) in chunk {
        by_topic.entry(t).or_default().push(
            PartitionProduceData::default()
                .with_index(*p)
                .with_records(Some(one_record(v))),
        );
    }
    let req = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(60_000)
        .with_topic_data(
            by_topic
                .into_iter()
                .map(|(t, parts)| {
                    TopicProduceData::default()
                        .with_name(name(t))
                        .with_partition_data(parts)
                })
                .collect(),
        );
    let resp = c.call(&req, 9);
    for t in &resp.responses {
        for p in &t.partition_responses {
            assert_eq!(
                (p.error_code, p.base_offset),
                (0, 0),
                "produce to {}-{}",
                t.name.0,
                p.index
            );
        }
    }
}

/// One Fetch for a chunk of targets; asserts each partition returns its one value.
fn fetch(c: &mut Client, chunk: &[(String, i32, String)]) {
    let mut by_topic: BTreeMap<&str, Vec<FetchPartition>> = BTreeMap::new();
    let mut want: BTreeMap<(String, i32), &str> = BTreeMap::new();
    for (t, p, v) in chunk {
        by_topic.entry(t).or_default().push(
            FetchPartition::default()
                .with_partition(*p)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 16),
        );
        want.insert((t.clone(), *p), v);
    }
    let req = FetchRequest::default()
        .with_replica_id((-1).into())
        .with_max_wait_ms(0)
        .with_min_bytes(0)
        .with_max_bytes(64 << 20)
        .with_topics(
            by_topic
                .into_iter()
                .map(|(t, parts)| {
                    FetchTopic::default()
                        .with_topic(name(t))
                        .with_partitions(parts)
                })
                .collect(),
        );
    let resp = c.call(&req, 12);
    assert_eq!(resp.error_code, 0);
    let mut seen = 0;
    for t in &resp.responses {
        for p in &t.partitions {
            assert_eq!(p.error_code, 0, "fetch {}-{}", t.topic.0, p.partition_index);
            let mut bytes = p.records.clone().unwrap_or_default();
            let set = RecordBatchDecoder::decode(&mut bytes).unwrap();
            let values: Vec<String> = set
                .records
                .iter()
                .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or(&[])).into_owned())
                .collect();
            let key = (t.topic.0.to_string(), p.partition_index);
            assert_eq!(values, [want[&key]], "{key:?}");
            seen += 1;
        }
    }
    assert_eq!(seen, chunk.len());
}

fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Runs an embedded tool under the descriptor limit, feeding `stdin`.
fn tool(data: &Path, bin: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new("prlimit")
        .arg(format!("--nofile={LIMIT}:{LIMIT}"))
        .arg("--")
        .arg(bin)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tool");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("feed stdin");
    child.wait_with_output().expect("tool output")
}

#[track_caller]
fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn thousands_of_partitions_under_ulimit_1024_through_the_broker_and_the_embedded_tools() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let broker = Broker::start_opts(&data, &[], 1, Some(LIMIT));
    let mut c = broker.connect();
    let started = Instant::now();
    let mut topics: Vec<(String, i32)> = (0..TOPICS).map(|i| (format!("many-{i:04}"), 1)).collect();
    topics.push(("big".to_string(), BIG_PARTITIONS));
    for chunk in topics.chunks(1_000) {
        create_topics(&mut c, chunk);
    }
    let created = started.elapsed();
    let all = targets();
    for chunk in all.chunks(500) {
        produce(&mut c, chunk);
    }
    let produced = started.elapsed();
    for chunk in all.chunks(1_000) {
        fetch(&mut c, chunk);
    }
    let fds = open_files(broker.pid());
    eprintln!(
        "broker under ulimit -n {LIMIT}: {} partitions created in {created:?}, produced by {produced:?}, fetched by {:?}; {fds} descriptors open",
        all.len(),
        started.elapsed()
    );
    assert!(fds < LIMIT as usize, "{fds} descriptors");
    drop(c);
    let log = broker.stop();
    assert!(
        !log.contains("Too many open files"),
        "the broker ran out of descriptors:\n{log}"
    );

    // The embedded tools on the same data dir, under the same limit: read every partition,
    // write to every partition of the big topic, and consume it in a group.
    let consumer = env!("CARGO_BIN_EXE_console-consumer");
    let out = tool(
        &data,
        consumer,
        &[
            "--include",
            "many-.*|big",
            "--from-beginning",
            "--max-messages",
            &all.len().to_string(),
            "--timeout-ms",
            "60000",
        ],
        "",
    );
    let mut lines: Vec<String> = ok(&out).lines().map(str::to_string).collect();
    let mut expected: Vec<String> = all.iter().map(|(_, _, v)| v.clone()).collect();
    lines.sort();
    expected.sort();
    assert_eq!(
        lines, expected,
        "every partition read once by the embedded consumer"
    );

    let keyed: String = (0..2 * BIG_PARTITIONS)
        .map(|i| format!("k{i}\tw{i}\n"))
        .collect();
    let producer = env!("CARGO_BIN_EXE_console-producer");
    ok(&tool(
        &data,
        producer,
        &["--topic", "big", "--property", "parse.key=true"],
        &keyed,
    ));
    let total = (3 * BIG_PARTITIONS).to_string();
    let out = tool(
        &data,
        consumer,
        &[
            "--topic",
            "big",
            "--group",
            "g",
            "--from-beginning",
            "--max-messages",
            &total,
            "--timeout-ms",
            "60000",
        ],
        "",
    );
    assert_eq!(ok(&out).lines().count(), 3 * BIG_PARTITIONS as usize);
    let groups = env!("CARGO_BIN_EXE_consumer-groups");
    let out = tool(
        &data,
        groups,
        &["--describe", "--group", "g", "--output", "json"],
        "",
    );
    let committed: i64 = ok(&out)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["current_offset"].as_i64().unwrap_or(0)
        })
        .sum();
    assert_eq!(
        committed,
        3 * BIG_PARTITIONS as i64,
        "the group committed all it read"
    );
}
