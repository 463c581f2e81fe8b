//! Compacted topics with the real tools: embedded (a writer cleans in the background when it
//! rolls a segment) and served (server-start's cleaner threads), keyless records refused, and
//! real `kill -9` of a writer and of the server in the middle of cleaning, checked by reading
//! everything back.

mod common;
#[path = "support/broker.rs"]
mod support;

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Cluster;
use support::Broker;

const COMPACT: &[&str] = &[
    "--config",
    "cleanup.policy=compact",
    "--config",
    "min.cleanable.dirty.ratio=0.01",
];

fn bin(name: &str) -> Command {
    Command::new(common::bin_path(name))
}

/// `count` lines `k<i % keys>:<tag>-<i>`.
fn keyed(count: usize, keys: usize, tag: &str) -> Vec<String> {
    (0..count)
        .map(|i| format!("k{}:{tag}-{i}", i % keys))
        .collect()
}

/// Feeds `lines` to a console-producer with `args`; returns its exit status and stderr.
fn produce(args: &[&str], lines: &[String]) -> (bool, String) {
    let mut child = bin("console-producer")
        .args(args)
        .args([
            "--property",
            "parse.key=true",
            "--property",
            "key.separator=:",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn producer");
    let mut stdin = child.stdin.take().expect("stdin");
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    stdin.write_all(input.as_bytes()).expect("write");
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every record from the beginning: (offset, key, value).
fn read_back(args: &[&str]) -> Vec<(i64, String, String)> {
    let out = bin("console-consumer")
        .args(args)
        .args([
            "--from-beginning",
            "--timeout-ms",
            "1500",
            "--property",
            "print.offset=true",
            "--property",
            "print.key=true",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run consumer");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let mut parts = l.splitn(3, '\t');
            let offset = parts.next().and_then(|o| o.strip_prefix("Offset:"));
            let offset: i64 = offset
                .and_then(|o| o.parse().ok())
                .unwrap_or_else(|| panic!("unexpected line {l:?}; stderr: {stderr}"));
            (
                offset,
                parts.next().unwrap_or_default().to_string(),
                parts.next().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Checks a compacted read-back against the lines stored (offset i holds `input[i]`): offsets
/// rise, every record is the line at its offset, and the last line of every key is there.
/// Returns how many records the cleaner removed.
#[track_caller]
fn check_compacted(input: &[String], got: &[(i64, String, String)]) -> usize {
    assert!(!got.is_empty(), "nothing read back");
    let end = got.last().map_or(0, |r| r.0 as usize + 1);
    assert!(
        end <= input.len(),
        "offset {end} past the {} lines",
        input.len()
    );
    for pair in got.windows(2) {
        assert!(pair[0].0 < pair[1].0, "offsets go back: {pair:?}");
    }
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (i, line) in input[..end].iter().enumerate() {
        let (k, _) = line.split_once(':').unwrap();
        last.insert(k, i);
    }
    let present: HashMap<i64, (&str, &str)> = got
        .iter()
        .map(|(o, k, v)| (*o, (k.as_str(), v.as_str())))
        .collect();
    for (o, k, v) in got {
        assert_eq!(
            format!("{k}:{v}"),
            input[*o as usize],
            "offset {o} holds another record than was written there"
        );
    }
    for (k, &i) in &last {
        assert!(
            present.contains_key(&(i as i64)),
            "the latest record of {k} (offset {i}) is gone"
        );
    }
    end - got.len()
}

fn wait_for(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The checkpoint's entry for one partition.
fn checkpoint(data: &Path, topic: &str, partition: i32) -> Option<i64> {
    let text = std::fs::read_to_string(data.join("cleaner-offset-checkpoint")).ok()?;
    text.lines().skip(2).find_map(|l| {
        let mut p = l.split_whitespace();
        (p.next()? == topic && p.next()?.parse::<i32>().ok()? == partition)
            .then(|| p.next()?.parse().ok())
            .flatten()
    })
}

#[test]
fn an_embedded_writer_compacts_its_topic_and_refuses_keyless_records() {
    let c = Cluster::new();
    let mut args = COMPACT.to_vec();
    args.extend(["--config", "segment.bytes=4096"]);
    c.create_topic("prices", 1, &args);
    c.topics(&["--describe", "--topic", "prices"])
        .success()
        .stdout_has("cleanup.policy=compact");
    let data = c.data_dir().to_str().unwrap().to_string();
    let dd = ["--data-dir", data.as_str(), "--topic", "prices"];
    let mut input = Vec::new();
    for round in 0..5 {
        let lines = keyed(1500, 100, &format!("r{round}"));
        let (ok, err) = produce(&dd, &lines);
        assert!(ok, "{err}");
        input.extend(lines);
    }
    let got = read_back(&dd);
    let removed = check_compacted(&input, &got);
    assert!(
        removed > 3000,
        "the writers cleaned as they rolled: {removed} removed"
    );
    assert!(checkpoint(c.data_dir(), "prices", 0).is_some_and(|o| o > 0));

    let keyless = c
        .produce_with("prices", &["no key here"], &[])
        .failure()
        .stderr_has("Compacted topic cannot accept message without key");
    assert_eq!(keyless.stderr.lines().count(), 1, "{keyless:#?}");
    assert_eq!(read_back(&dd).len(), got.len(), "nothing of it was stored");
}

#[test]
fn server_start_cleans_compacted_topics_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::start(dir.path(), &["log.cleaner.backoff.ms=100"]);
    let bootstrap = b.bootstrap();
    let bs = ["--bootstrap-server", bootstrap.as_str()];
    let mut create = vec![
        "--create",
        "--topic",
        "users",
        "--bootstrap-server",
        &bootstrap,
    ];
    create.extend(COMPACT);
    create.extend(["--config", "segment.bytes=8192"]);
    let out = bin("topics").args(&create).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let to = [bs[0], bs[1], "--topic", "users"];
    let mut input = Vec::new();
    for round in 0..4 {
        let lines = keyed(2000, 50, &format!("r{round}"));
        let (ok, err) = produce(&to, &lines);
        assert!(ok, "{err}");
        input.extend(lines);
    }
    wait_for("the cleaner's checkpoint", Duration::from_secs(30), || {
        checkpoint(dir.path(), "users", 0).is_some_and(|o| o > 4000)
    });
    let got = read_back(&to);
    let removed = check_compacted(&input, &got);
    assert!(removed > 4000, "{removed} removed");

    // A keyless record: INVALID_RECORD from the broker (librdkafka names the code, not the
    // broker's message), one clear line from the tool.
    let (ok, err) = {
        let mut child = bin("console-producer")
            .args(to)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"no key\n").unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert!(!ok, "a keyless record must be refused: {err}");
    assert!(
        err.contains("Compacted topic cannot accept message without key")
            || err.contains("InvalidRecord"),
        "{err}"
    );
    // Nothing of it was stored (the cleaner may have removed more meanwhile).
    assert_eq!(read_back(&to).last().map(|r| r.0), got.last().map(|r| r.0));
    b.stop();
}

/// A writer killed at random moments while its background cleaner works: every record read
/// back is the line written at its offset, and the latest line of every key is there.
#[test]
fn kill_9_of_an_embedded_writer_while_it_cleans_loses_no_latest_record() {
    let c = Cluster::new();
    let mut args = COMPACT.to_vec();
    args.extend(["--config", "segment.bytes=16384"]);
    c.create_topic("state", 1, &args);
    let data = c.data_dir().to_str().unwrap().to_string();
    let dd = ["--data-dir", data.as_str(), "--topic", "state"];
    let mut stored: Vec<String> = Vec::new();
    let mut removed = 0;
    for (round, kill_after_ms) in [700u64, 1300, 900, 1600, 1100, 2000]
        .into_iter()
        .enumerate()
    {
        let lines = keyed(200_000, 500, &format!("r{round}"));
        let mut child = bin("console-producer")
            .args(dd)
            .args([
                "--property",
                "parse.key=true",
                "--property",
                "key.separator=:",
            ])
            .args(["--batch-size", "50", "--timeout", "0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = {
            let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
            std::thread::spawn(move || {
                let _ = stdin.write_all(input.as_bytes());
            })
        };
        std::thread::sleep(Duration::from_millis(kill_after_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let _ = writer.join();
        let got = read_back(&dd);
        if got.is_empty() {
            continue;
        }
        let end = got.last().map_or(0, |r| r.0 as usize + 1);
        assert!(
            end >= stored.len(),
            "records vanished: {end} < {}",
            stored.len()
        );
        // What this run stored is a prefix of its lines.
        stored.extend(lines[..end - stored.len()].iter().cloned());
        removed = check_compacted(&stored, &got);
    }
    assert!(
        stored.len() > 10_000,
        "the writers got going: {}",
        stored.len()
    );
    assert!(removed > 0, "the writers' cleaners ran");
    let leftovers: Vec<_> = std::fs::read_dir(c.data_dir().join("state-0"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".cleaned") || n.ends_with(".swap"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// server-start killed while its cleaner works, again and again: after each restart every
/// record read back is the line written at its offset and every key's latest line is there.
#[test]
fn kill_9_of_server_start_while_it_cleans_loses_no_latest_record() {
    let c = Cluster::new();
    let mut args = COMPACT.to_vec();
    args.extend(["--config", "segment.bytes=65536"]);
    c.create_topic("state", 1, &args);
    let data = c.data_dir().to_str().unwrap().to_string();
    let dd = ["--data-dir", data.as_str(), "--topic", "state"];
    let mut input = Vec::new();
    for round in 0..3 {
        let lines = keyed(60_000, 2000, &format!("r{round}"));
        let (ok, err) = produce(&dd, &lines);
        assert!(ok, "{err}");
        input.extend(lines);
    }
    for kill_after_ms in [60u64, 150, 90, 240, 30] {
        // More dirty data each time, so every start has cleaning to do.
        let lines = keyed(20_000, 2000, &format!("k{kill_after_ms}"));
        let (ok, err) = produce(&dd, &lines);
        assert!(ok, "{err}");
        input.extend(lines);
        let b = Broker::start(c.data_dir(), &["log.cleaner.backoff.ms=10"]);
        std::thread::sleep(Duration::from_millis(kill_after_ms));
        drop(b); // SIGKILL
        check_compacted(&input, &read_back(&dd));
    }
    let b = Broker::start(c.data_dir(), &["log.cleaner.backoff.ms=10"]);
    let bootstrap = b.bootstrap();
    wait_for(
        "a clean pass after the crashes",
        Duration::from_secs(60),
        || checkpoint(c.data_dir(), "state", 0).is_some_and(|o| o as usize > input.len() - 25_000),
    );
    let removed = check_compacted(
        &input,
        &read_back(&["--bootstrap-server", bootstrap.as_str(), "--topic", "state"]),
    );
    assert!(removed > 100_000, "{removed} removed");
    b.stop();
}

/// A consumer in another process follows a partition while writers roll and clean it: it never
/// sees a half-swapped log — offsets only rise, and every record is the line written there.
#[test]
fn a_following_consumer_never_sees_a_half_swapped_partition() {
    let c = Cluster::new();
    let mut args = COMPACT.to_vec();
    args.extend(["--config", "segment.bytes=8192"]);
    c.create_topic("live", 1, &args);
    let data = c.data_dir().to_str().unwrap().to_string();
    let dd = ["--data-dir", data.as_str(), "--topic", "live"];
    let follower = bin("console-consumer")
        .args(dd)
        .args([
            "--from-beginning",
            "--timeout-ms",
            "4000",
            "--property",
            "print.offset=true",
            "--property",
            "print.key=true",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = Vec::new();
    for round in 0..8 {
        let lines = keyed(3000, 40, &format!("r{round}"));
        let (ok, err) = produce(&dd, &lines);
        assert!(ok, "{err}");
        input.extend(lines);
    }
    let out = follower.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let seen: Vec<(i64, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let (o, rest) = l
                .split_once('\t')
                .unwrap_or_else(|| panic!("{l:?} {stderr}"));
            let o: i64 = o.trim_start_matches("Offset:").parse().unwrap();
            (o, rest.replacen('\t', ":", 1))
        })
        .collect();
    assert!(
        seen.len() > 1000,
        "the follower kept up: {} records; {stderr}",
        seen.len()
    );
    for pair in seen.windows(2) {
        assert!(pair[0].0 < pair[1].0, "offsets go back: {pair:?}");
    }
    for (o, line) in &seen {
        assert_eq!(line, &input[*o as usize], "offset {o}");
    }
    let after = read_back(&dd);
    assert!(
        check_compacted(&input, &after) > 0,
        "cleaning happened meanwhile"
    );
}

/// A segment the cleaner is about to read is damaged: server-start logs one error for that
/// partition and sets it aside; the partition stays readable and writable, and the other
/// compacted topic is still cleaned.
#[test]
fn a_corrupt_segment_stops_the_cleaner_for_its_partition_only() {
    let c = Cluster::new();
    let mut args = COMPACT.to_vec();
    args.extend(["--config", "segment.bytes=4096"]);
    c.create_topic("damaged", 1, &args);
    c.create_topic("healthy", 1, &args);
    let data = c.data_dir().to_str().unwrap().to_string();
    for topic in ["damaged", "healthy"] {
        let (ok, err) = produce(
            &["--data-dir", data.as_str(), "--topic", topic],
            &keyed(3000, 30, "before"),
        );
        assert!(ok, "{err}");
    }
    // Flip a byte inside a record of one of the damaged topic's closed segments.
    let mut segs: Vec<_> = std::fs::read_dir(c.data_dir().join("damaged-0"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    segs.sort();
    segs.pop(); // the active segment
    let seg = segs
        .into_iter()
        .find(|p| std::fs::metadata(p).unwrap().len() > 200)
        .expect("a closed segment with records");
    let mut bytes = std::fs::read(&seg).unwrap();
    let at = 61 + 10;
    bytes[at] ^= 0x55;
    std::fs::write(&seg, &bytes).unwrap();
    let before_healthy = checkpoint(c.data_dir(), "healthy", 0);
    let before_damaged = checkpoint(c.data_dir(), "damaged", 0);

    let b = Broker::start(c.data_dir(), &["log.cleaner.backoff.ms=50"]);
    let bootstrap = b.bootstrap();
    for topic in ["damaged", "healthy"] {
        let (ok, err) = produce(
            &["--bootstrap-server", bootstrap.as_str(), "--topic", topic],
            &keyed(3000, 30, "after"),
        );
        assert!(ok, "{topic} stays writable: {err}");
    }
    wait_for(
        "the healthy topic to be cleaned",
        Duration::from_secs(30),
        || checkpoint(c.data_dir(), "healthy", 0) > before_healthy,
    );
    wait_for("the cleaner's error", Duration::from_secs(30), || {
        b.log().contains("cleaning failed")
    });
    assert_eq!(checkpoint(c.data_dir(), "damaged", 0), before_damaged);
    // Readable past the damage: the newest records come back.
    let tail = bin("console-consumer")
        .args([
            "--bootstrap-server",
            bootstrap.as_str(),
            "--topic",
            "damaged",
        ])
        .args([
            "--partition",
            "0",
            "--offset",
            "5990",
            "--max-messages",
            "10",
        ])
        .args(["--timeout-ms", "10000"])
        .output()
        .unwrap();
    let lines = String::from_utf8_lossy(&tail.stdout);
    assert_eq!(lines.lines().count(), 10, "{lines}");
    assert!(lines.contains("after-2999"), "{lines}");
    let log = b.stop();
    assert_eq!(
        log.matches("cleaning failed").count(),
        1,
        "one error, then set aside: {log}"
    );
    assert!(log.contains("damaged"), "{log}");
}

/// `topics --alter --config cleanup.policy=delete` turns a compacted topic back into a plain
/// one: keyless records are taken again, retention deletes old segments, the cleaner leaves it.
#[test]
fn a_topic_switched_from_compact_back_to_delete() {
    let c = Cluster::new();
    let mut args = COMPACT.to_vec();
    args.extend(["--config", "segment.bytes=4096"]);
    c.create_topic("t", 1, &args);
    let data = c.data_dir().to_str().unwrap().to_string();
    let dd = ["--data-dir", data.as_str(), "--topic", "t"];
    let (ok, err) = produce(&dd, &keyed(2000, 20, "compacted"));
    assert!(ok, "{err}");
    c.produce_with("t", &["keyless"], &[]).failure();
    c.topics(&[
        "--alter",
        "--topic",
        "t",
        "--config",
        "cleanup.policy=delete",
        "--config",
        "retention.bytes=8192",
    ])
    .success();
    c.topics(&["--describe", "--topic", "t"])
        .success()
        .stdout_has("cleanup.policy=delete");
    let cleaned_to = checkpoint(c.data_dir(), "t", 0);
    let lines: Vec<String> = (0..3000).map(|i| format!("plain-{i}")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    c.produce("t", &refs);
    let got = read_back(&dd);
    // Retention trimmed the log to about retention.bytes, from the front.
    let first = got.first().unwrap().0;
    assert!(first > 2000, "old segments deleted: first offset {first}");
    assert_eq!(got.last().unwrap().2, "plain-2999");
    assert_eq!(
        checkpoint(c.data_dir(), "t", 0),
        cleaned_to,
        "no more cleaning"
    );
}
