//! A damaged batch in the middle of a segment: the records before it are delivered, then the
//! read fails on one line naming the topic, partition, offset and file; skipping it (Kafka's
//! `--skip-message-on-error`) delivers the records after it too. Real binaries, a real byte
//! flipped in a real segment.

mod common;

use std::path::Path;
use std::time::Duration;

use common::Cluster;
use streamlog::client::embedded::EmbeddedConsumer;
use streamlog::client::{Consumer, ConsumerConfig, StartOffset, Subscribe};
use streamlog::engine::{Engine, EngineConfig};

const LINES: usize = 600;

/// (byte position, base offset, size) of every batch of a segment, from the headers.
fn batches(segment: &[u8]) -> Vec<(usize, i64, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 61 <= segment.len() {
        let base = i64::from_be_bytes(segment[at..at + 8].try_into().unwrap());
        let len = i32::from_be_bytes(segment[at + 8..at + 12].try_into().unwrap());
        let size = 12 + len as usize;
        out.push((at, base, size));
        at += size;
    }
    assert_eq!(at, segment.len(), "the segment is whole batches");
    out
}

/// Produces `LINES` lines in small batches, flips the byte at file offset 6677 of segment 0
/// (inside a batch's CRC-covered bytes, in the middle of the segment) and returns the segment,
/// the damaged batch's first offset and the first offset after it.
fn damaged_topic(c: &Cluster) -> (std::path::PathBuf, i64, i64) {
    c.create_topic("dmg", 1, &[]);
    let lines: Vec<String> = (0..LINES).map(|i| format!("line-{i:04}")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    c.produce_with("dmg", &refs, &["--batch-size", "1024"])
        .success();
    let seg = c.first_segment("dmg", 0);
    let mut bytes = std::fs::read(&seg).unwrap();
    let all = batches(&bytes);
    assert!(all.len() > 10, "small batches: {}", all.len());
    const FLIP: usize = 6677;
    let i = all
        .iter()
        .position(|&(at, _, size)| at <= FLIP && FLIP < at + size)
        .unwrap();
    let (at, base, _) = all[i];
    assert!(i > 0 && i + 1 < all.len(), "a batch in the middle");
    assert!(FLIP >= at + 21, "the flipped byte is CRC-covered");
    bytes[FLIP] ^= 0x01;
    std::fs::write(&seg, &bytes).unwrap();
    (seg, base, all[i + 1].1)
}

fn expected(range: impl Iterator<Item = i64>) -> Vec<String> {
    range.map(|i| format!("line-{i:04}")).collect()
}

/// The review case: 0 records, then the CRC error. Now every record before the damaged batch,
/// then one line naming topic, partition, offset and file, and a failing exit.
#[test]
fn records_before_a_damaged_batch_are_delivered_then_one_clear_error() {
    let c = Cluster::new();
    let (seg, bad, _) = damaged_topic(&c);
    let run = c
        .consume_with("dmg", &["--from-beginning"])
        .failure()
        .one_line_error("corrupt record batch");
    assert_eq!(run.lines(), expected(0..bad), "{run:#?}");
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("corrupt record batch"))
        .unwrap();
    for part in [
        &seg.display().to_string(),
        "topic dmg",
        "partition 0",
        &format!("offset {bad}"),
        "CRC",
    ] {
        assert!(line.contains(part), "{part:?} in {line}");
    }
    assert!(
        run.stderr
            .contains(&format!("Processed a total of {bad} messages")),
        "{run:#?}"
    );
}

/// All records of partition 0 of "dmg" from a consumer with `skip_corrupt`, read until idle.
fn consume_skipping(data: &Path) -> Vec<String> {
    let engine = Engine::open(data, EngineConfig::default()).unwrap();
    let mut consumer = EmbeddedConsumer::new(
        engine,
        ConsumerConfig {
            skip_corrupt: true,
            ..ConsumerConfig::default()
        },
    );
    consumer
        .subscribe(Subscribe::Assign(vec![(
            "dmg".to_string(),
            0,
            StartOffset::Earliest,
        )]))
        .unwrap();
    let mut out = Vec::new();
    loop {
        let got = consumer.poll(Duration::from_millis(300)).unwrap();
        if got.is_empty() {
            break;
        }
        out.extend(
            got.into_iter()
                .map(|r| String::from_utf8(r.value.unwrap().to_vec()).unwrap()),
        );
    }
    out
}

/// With `skip_corrupt` the damaged batch is skipped and everything after it delivered, as
/// Kafka's consumer is moved past a corrupt record.
#[test]
fn a_consumer_that_skips_corrupt_batches_reads_on_after_the_damaged_one() {
    let c = Cluster::new();
    let (_, bad, after) = damaged_topic(&c);
    let got = consume_skipping(c.data_dir());
    let want: Vec<String> = expected((0..bad).chain(after..LINES as i64));
    assert_eq!(got, want);
}

/// `console-consumer --skip-message-on-error` does the same, reporting the skipped batch on
/// one line (console_consumer.rs passes the flag on as `ConsumerConfig::skip_corrupt`).
#[test]
fn console_consumer_skip_message_on_error_skips_the_damaged_batch() {
    let c = Cluster::new();
    let (_, bad, after) = damaged_topic(&c);
    let run = c
        .consume_with("dmg", &["--from-beginning", "--skip-message-on-error"])
        .success()
        .one_line_error("skipping this message");
    let want: Vec<String> = expected((0..bad).chain(after..LINES as i64));
    assert_eq!(run.lines(), want, "{run:#?}");
    assert!(
        run.stderr
            .contains(&format!("skipped offsets {bad} to {}", after - 1)),
        "{run:#?}"
    );
}
