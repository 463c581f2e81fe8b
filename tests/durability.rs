//! Many processes on one data dir, and crashes: the stories of issue 2's acceptance list, run
//! with the real binaries as separate processes and real `kill -9`.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

fn bin(name: &str) -> Command {
    Command::new(assert_cmd::cargo::cargo_bin(name))
}

fn run_ok(name: &str, data: &Path, args: &[&str]) -> String {
    let out = bin(name)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run tool");
    assert!(
        out.status.success(),
        "{name} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

fn create_topic(data: &Path, topic: &str, partitions: &str, extra: &[&str]) {
    let mut args = vec!["--create", "--topic", topic, "--partitions", partitions];
    args.extend_from_slice(extra);
    run_ok("topics", data, &args);
}

/// Everything in the topic, as `partition offset value` lines, read until idle.
fn consume_all(data: &Path, topic: &str) -> Vec<(i32, i64, String)> {
    let out = run_ok(
        "console-consumer",
        data,
        &[
            "--topic",
            topic,
            "--from-beginning",
            "--timeout-ms",
            "1500",
            "--property",
            "print.partition=true",
            "--property",
            "print.offset=true",
        ],
    );
    out.lines()
        .map(|l| {
            let mut f = l.splitn(3, '\t');
            let p = f
                .next()
                .and_then(|s| s.strip_prefix("Partition:"))
                .expect("partition");
            let o = f
                .next()
                .and_then(|s| s.strip_prefix("Offset:"))
                .expect("offset");
            (
                p.parse().expect("p"),
                o.parse().expect("o"),
                f.next().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// A process whose stdout lines arrive on a channel.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

fn spawn(name: &str, data: &Path, args: &[&str], stdin: Stdio) -> Running {
    let mut child = bin(name)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Running { child, lines: rx }
}

impl Running {
    /// Collects lines until `n` arrived or `within` passed.
    fn take(&self, n: usize, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        let mut got = Vec::new();
        while got.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => got.push(l),
                Err(_) => break,
            }
        }
        got
    }

    fn kill9(&mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn produce(data: &Path, topic: &str, lines: &[String], extra: &[&str]) {
    let mut child = bin("console-producer")
        .arg("--data-dir")
        .arg(data)
        .args(["--topic", topic])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn producer");
    let mut stdin = child.stdin.take().expect("stdin");
    for l in lines {
        writeln!(stdin, "{l}").expect("write");
    }
    drop(stdin);
    assert!(child.wait().expect("wait").success());
}

#[test]
fn two_producer_processes_and_a_following_consumer_share_one_partition() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    create_topic(data, "shared", "1", &[]);
    let follower = spawn(
        "console-consumer",
        data,
        &[
            "--topic",
            "shared",
            "--from-beginning",
            "--property",
            "print.offset=true",
        ],
        Stdio::null(),
    );
    const N: usize = 3000;
    let producers: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|who| {
            let data = data.to_path_buf();
            thread::spawn(move || {
                let lines: Vec<String> = (0..N).map(|i| format!("{who}-{i}")).collect();
                // Small batches and no linger so the two processes really interleave.
                produce(
                    &data,
                    "shared",
                    &lines,
                    &["--batch-size", "200", "--timeout", "0"],
                );
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    let seen = follower.take(2 * N, Duration::from_secs(30));
    assert_eq!(seen.len(), 2 * N, "the follower saw every record");
    let mut values = BTreeSet::new();
    for (i, line) in seen.iter().enumerate() {
        let (offset, value) = line.split_once('\t').unwrap();
        assert_eq!(offset, format!("Offset:{i}"), "offsets are contiguous");
        assert!(values.insert(value.to_string()), "{value} delivered once");
    }
    // Each producer's lines stay in order.
    for who in ["a", "b"] {
        let order: Vec<usize> = seen
            .iter()
            .filter_map(|l| {
                l.split_once('\t')
                    .unwrap()
                    .1
                    .strip_prefix(&format!("{who}-"))
            })
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(order, (0..N).collect::<Vec<_>>());
    }
}

#[test]
fn kill_9_of_a_producer_keeps_a_contiguous_prefix_with_every_acknowledged_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    create_topic(data, "crash", "1", &["--config", "flush.messages=1"]);
    let follower = spawn(
        "console-consumer",
        data,
        &["--topic", "crash", "--from-beginning"],
        Stdio::null(),
    );
    let mut producer = bin("console-producer")
        .arg("--data-dir")
        .arg(data)
        .args(["--topic", "crash", "--sync"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = producer.stdin.take().unwrap();
    let writer = thread::spawn(move || {
        for i in 0..1_000_000 {
            if writeln!(stdin, "line-{i:07}-{}", "x".repeat(i % 200)).is_err() {
                break; // the producer is dead
            }
        }
    });
    // Let it append for a while, note what was acknowledged (seen by another process), kill.
    let acknowledged = follower.take(500, Duration::from_secs(30));
    assert_eq!(acknowledged.len(), 500);
    let _ = producer.kill();
    let _ = producer.wait();
    writer.join().unwrap();
    drop(follower);

    let stored = consume_all(data, "crash");
    assert!(stored.len() >= acknowledged.len());
    for (i, (p, offset, value)) in stored.iter().enumerate() {
        assert_eq!((*p, *offset), (0, i as i64), "contiguous offsets");
        assert_eq!(
            value,
            &format!("line-{i:07}-{}", "x".repeat(i % 200)),
            "record {i} is the {i}th line, intact"
        );
    }
    // And the log takes new appends after the crash, right after the prefix.
    produce(data, "crash", &["after".to_string()], &[]);
    let again = consume_all(data, "crash");
    assert_eq!(
        again.last().unwrap(),
        &(0, stored.len() as i64, "after".to_string())
    );
}

#[test]
fn a_torn_batch_left_by_a_crash_is_never_returned_and_is_cut_on_the_next_append() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    create_topic(data, "torn", "1", &[]);
    produce(data, "torn", &["one".into(), "two".into()], &[]);
    let segment = data.join("torn-0/00000000000000000000.log");
    let whole = std::fs::read(&segment).unwrap();
    // A crash mid-write: the start of another batch's bytes, cut short.
    let mut torn = whole.clone();
    torn.extend_from_slice(&whole[..whole.len() / 2]);
    std::fs::write(&segment, &torn).unwrap();
    let values: Vec<String> = consume_all(data, "torn").into_iter().map(|r| r.2).collect();
    assert_eq!(values, ["one", "two"]);
    produce(data, "torn", &["three".into()], &[]);
    let records = consume_all(data, "torn");
    assert_eq!(
        records,
        vec![
            (0, 0, "one".to_string()),
            (0, 1, "two".to_string()),
            (0, 2, "three".to_string())
        ]
    );
    // The torn bytes were cut: the new batch starts right where the valid data ended.
    let after = std::fs::read(&segment).unwrap();
    assert_eq!(&after[..whole.len()], &whole[..]);
    assert_eq!(
        after[whole.len()..whole.len() + 8],
        2i64.to_be_bytes(),
        "base offset 2 follows"
    );
}

/// Waits until the group has `n` members that each have partitions assigned.
fn wait_for_members(data: &Path, group: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let out = run_ok(
            "consumer-groups",
            data,
            &[
                "--describe",
                "--group",
                group,
                "--members",
                "--output",
                "json",
            ],
        );
        let busy = out
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|m| m["partitions"].as_i64().unwrap_or(0) > 0)
            .count();
        if busy == n {
            // Members hand partitions over within one membership check (100 ms).
            thread::sleep(Duration::from_millis(400));
            return;
        }
        assert!(
            Instant::now() < deadline,
            "group {group} never had {n} busy members"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn two_group_members_split_partitions_and_the_survivor_takes_over_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    create_topic(data, "work", "4", &[]);
    let args = [
        "--topic",
        "work",
        "--group",
        "g",
        "--from-beginning",
        "--property",
        "print.partition=true",
    ];
    let a = spawn("console-consumer", data, &args, Stdio::null());
    // a is alone: it owns all four partitions.
    thread::sleep(Duration::from_millis(500));
    let mut b = spawn("console-consumer", data, &args, Stdio::null());
    wait_for_members(data, "g", 2);
    let keys: Vec<String> = (0..400).map(|i| format!("k{i}")).collect();
    let lines: Vec<String> = keys.iter().map(|k| format!("{k}:{k}-v1")).collect();
    produce(
        data,
        "work",
        &lines,
        &[
            "--property",
            "parse.key=true",
            "--property",
            "key.separator=:",
        ],
    );
    let mut from_a = a.take(400, Duration::from_secs(3));
    let from_b = b.take(400 - from_a.len(), Duration::from_secs(5));
    from_a.extend(a.take(400, Duration::from_millis(300)));
    let parts = |lines: &[String]| -> BTreeSet<String> {
        lines
            .iter()
            .map(|l| l.split('\t').next().unwrap().to_string())
            .collect()
    };
    assert!(
        !from_a.is_empty() && !from_b.is_empty(),
        "both members got partitions"
    );
    assert!(
        parts(&from_a).is_disjoint(&parts(&from_b)),
        "partitions are split"
    );
    let mut all: Vec<&String> = from_a.iter().chain(&from_b).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 400, "every record delivered exactly once");
    assert_eq!(from_a.len() + from_b.len(), 400);

    // b dies without a goodbye; a takes over b's partitions from the committed offsets.
    b.kill9();
    let start = Instant::now();
    let lines: Vec<String> = keys.iter().map(|k| format!("{k}:{k}-v2")).collect();
    produce(
        data,
        "work",
        &lines,
        &[
            "--property",
            "parse.key=true",
            "--property",
            "key.separator=:",
        ],
    );
    let after = a.take(400, Duration::from_secs(5));
    assert_eq!(after.len(), 400, "the survivor reads every new record");
    assert!(start.elapsed() < Duration::from_secs(6));
    assert_eq!(parts(&after).len(), 4, "on all four partitions");
    assert!(
        after.iter().all(|l| l.ends_with("-v2")),
        "nothing b delivered comes again"
    );
}

#[test]
fn ctrl_c_commits_and_exits_cleanly_and_resets_are_refused_while_a_member_lives() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    create_topic(data, "stop", "2", &[]);
    let mut consumer = bin("console-consumer")
        .arg("--data-dir")
        .arg(data)
        .args(["--topic", "stop", "--group", "g", "--from-beginning"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = consumer.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let lines: Vec<String> = (0..5).map(|i| format!("event-{i}")).collect();
    produce(data, "stop", &lines, &[]);
    let mut got = Vec::new();
    while got.len() < 5 {
        got.push(rx.recv_timeout(Duration::from_secs(10)).expect("record"));
    }

    // While it lives, nobody may move its offsets.
    let refused = bin("consumer-groups")
        .arg("--data-dir")
        .arg(data)
        .args([
            "--reset-offsets",
            "--group",
            "g",
            "--topic",
            "stop",
            "--to-earliest",
            "--execute",
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("Assignments can only be reset if the group 'g' is inactive, but the current state is Stable."),
        "{err}"
    );

    let interrupted = Command::new("kill")
        .args(["-INT", &consumer.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let out = consumer.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "Ctrl-C is a clean exit");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Processed a total of 5 messages"));

    let described = run_ok(
        "consumer-groups",
        data,
        &["--describe", "--group", "g", "--output", "json"],
    );
    let committed: i64 = described
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|row| {
            assert!(row["consumer_id"].is_null(), "the member left the group");
            row["current_offset"].as_i64().unwrap()
        })
        .sum();
    assert_eq!(committed, 5, "everything printed was committed");
}
