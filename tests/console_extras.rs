//! The console tools' extras, as a user scripts them: JSON round trips that copy a topic
//! exactly, format strings, time ranges, tails, stopping at the end, Kafka's deserializers, and
//! the flag values they refuse. Each story runs on the embedded data dir and, where the backend
//! matters, against a real `server-start`.

mod common;
#[path = "support/broker.rs"]
mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use assert_cmd::Command as AssertCommand;
use base64::Engine as _;
use common::{Cluster, Run, bare_cmd, finish};
use serde_json::{Value, json};
use support::Broker;

/// Where the tools point: the data dir itself, or a server-start serving another one.
enum Target<'a> {
    Embedded(&'a Cluster),
    Served(&'a Broker),
}

impl Target<'_> {
    fn cmd(&self, bin: &str) -> AssertCommand {
        match self {
            Target::Embedded(c) => c.cmd(bin),
            Target::Served(b) => {
                let mut cmd = bare_cmd(bin);
                cmd.arg("--bootstrap-server")
                    .arg(format!("127.0.0.1:{}", b.port));
                cmd
            }
        }
    }

    fn run(&self, bin: &str, args: &[&str], stdin: &[u8]) -> Run {
        let mut cmd = self.cmd(bin);
        cmd.args(args).write_stdin(stdin.to_vec());
        finish(cmd)
    }
}

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

/// Records with text, binary and null keys, values and headers, over three partitions.
fn mixed_records() -> Vec<Value> {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    vec![
        json!({"key": "k1", "value": "plain text", "partition": 0, "headers": [["h", "v"]]}),
        json!({"key": b64(b"\xff\x00"), "value": b64(b"\x80\x81\xfe"), "partition": 1,
               "headers": [["bin", b64(b"\xc3\x28")], ["n", null]], "encoding": "base64",
               "timestamp": 1_700_000_000_000i64}),
        json!({"key": null, "value": null, "partition": 2}),
        json!({"key": "k2", "value": "caf\u{e9}", "partition": 1}),
    ]
}

/// The fields a copy must keep: everything but the topic name.
fn comparable(v: &Value) -> Value {
    let mut v = v.clone();
    if let Value::Object(o) = &mut v {
        o.remove("topic");
    }
    v
}

fn json_round_trip_copies_a_topic_exactly(t: &Target) {
    for topic in ["orig", "copy"] {
        t.run(
            "topics",
            &["--create", "--topic", topic, "--partitions", "3"],
            b"",
        )
        .success();
    }
    let input: String = mixed_records().iter().map(|r| format!("{r}\n")).collect();
    t.run(
        "console-producer",
        &["--topic", "orig", "--input", "json"],
        input.as_bytes(),
    )
    .success();
    let read = |topic: &str| -> Vec<Value> {
        let run = t
            .run(
                "console-consumer",
                &[
                    "--topic",
                    topic,
                    "--from-beginning",
                    "--exit-at-end",
                    "--output",
                    "json",
                ],
                b"",
            )
            .success();
        let mut v = json_lines(&run.stdout);
        v.sort_by_key(|r| (r["partition"].as_i64(), r["offset"].as_i64()));
        v
    };
    let original = read("orig");
    assert_eq!(original.len(), 4, "{original:?}");
    let binary = original
        .iter()
        .find(|r| r["partition"] == 1 && r["offset"] == 0)
        .expect("the binary record");
    assert_eq!(binary["encoding"], "base64", "{binary}");
    assert_eq!(binary["value"], "gIH+", "binary value kept byte for byte");
    assert_eq!(binary["timestamp"], 1_700_000_000_000i64);

    // The pipe a user types: console-consumer --output json | console-producer --input json.
    let mut dump: Vec<u8> = original
        .iter()
        .flat_map(|r| format!("{r}\n").into_bytes())
        .collect();
    dump.extend_from_slice(b"\n");
    t.run(
        "console-producer",
        &["--topic", "copy", "--input", "json"],
        &dump,
    )
    .success();
    let copy = read("copy");
    assert_eq!(
        copy.iter().map(comparable).collect::<Vec<_>>(),
        original.iter().map(comparable).collect::<Vec<_>>()
    );
}

#[test]
fn json_round_trip_copies_a_topic_exactly_embedded() {
    let c = Cluster::new();
    json_round_trip_copies_a_topic_exactly(&Target::Embedded(&c));
}

#[test]
fn json_round_trip_copies_a_topic_exactly_served() {
    let c = Cluster::new();
    let b = Broker::start(c.data_dir(), &[]);
    json_round_trip_copies_a_topic_exactly(&Target::Served(&b));
}

#[test]
fn a_real_shell_pipe_copies_a_topic_with_binary_values() {
    let c = Cluster::new();
    c.create_topic("src", 2, &[]);
    c.create_topic("dst", 2, &[]);
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut input = String::new();
    for i in 0..200u32 {
        let value = [0xff, (i % 256) as u8, 0x00, 0xc0];
        input.push_str(&format!(
            "{}\n",
            json!({"key": b64(&i.to_be_bytes()), "value": b64(&value), "partition": i % 2,
                   "headers": [["i", b64(&i.to_le_bytes())]], "encoding": "base64"})
        ));
    }
    c.run_with_stdin(
        "console-producer",
        &["--topic", "src", "--input", "json"],
        &input,
    )
    .success();
    let d = c.data_dir().display().to_string();
    let consumer = common::bin_path("console-consumer");
    let producer = common::bin_path("console-producer");
    let status = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -o pipefail; {} --data-dir {d} --topic src --from-beginning --exit-at-end --output json 2>/dev/null | {} --data-dir {d} --topic dst --input json",
            consumer.display(),
            producer.display()
        ))
        .env_remove("STREAMLOG_DATA_DIR")
        .env_remove("STREAMLOG_BOOTSTRAP_SERVER")
        .env("STREAMLOG_CONFIG", "/nonexistent")
        .status()
        .expect("bash");
    assert!(status.success());
    let dump = |topic: &str| -> Vec<Value> {
        let run = c
            .run(
                "console-consumer",
                &[
                    "--topic",
                    topic,
                    "--from-beginning",
                    "--exit-at-end",
                    "--output",
                    "json",
                ],
            )
            .success();
        let mut v: Vec<Value> = json_lines(&run.stdout).iter().map(comparable).collect();
        v.sort_by_key(|r| (r["partition"].as_i64(), r["offset"].as_i64()));
        v
    };
    let (a, b) = (dump("src"), dump("dst"));
    assert_eq!(a.len(), 200);
    assert!(a.iter().all(|r| r["encoding"] == "base64"));
    assert_eq!(a, b);
}

#[test]
fn format_strings_print_kcat_tokens_and_rfc3339_times() {
    let c = Cluster::new();
    c.create_topic("t", 1, &[]);
    c.run_with_stdin(
        "console-producer",
        &["--topic", "t", "--input", "json"],
        "{\"key\":\"k\",\"value\":\"hello\",\"timestamp\":1764669845123,\"headers\":[[\"a\",\"1\"]]}\n",
    )
    .success();
    let run = c
        .run(
            "console-consumer",
            &[
                "--topic",
                "t",
                "--from-beginning",
                "--exit-at-end",
                "--format",
                "%t %p %o %k=%v %K %S %T %D [%h] 100%%\\n",
            ],
        )
        .success();
    assert_eq!(
        run.stdout,
        "t 0 0 k=hello 1 5 1764669845123 2025-12-02T10:04:05.123Z [a=1] 100%\n"
    );
    let run = c
        .run("console-consumer", &["--topic", "t", "--format", "%x"])
        .code(2);
    assert!(run.stderr.contains("%x"), "{run:#?}");
    let run = c
        .run(
            "console-consumer",
            &["--topic", "t", "--format", "%v", "--output", "json"],
        )
        .code(2);
    assert!(run.stderr.contains("keep one"), "{run:#?}");
}

fn produce_at(c: &Cluster, topic: &str, records: &[(i64, &str)]) {
    let input: String = records
        .iter()
        .map(|(ts, v)| format!("{}\n", json!({"value": v, "timestamp": ts})))
        .collect();
    c.run_with_stdin(
        "console-producer",
        &["--topic", topic, "--input", "json"],
        &input,
    )
    .success();
}

#[test]
fn from_time_to_time_and_tail_pick_records_by_time_and_position() {
    let c = Cluster::new();
    c.create_topic("t", 1, &[]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let hour = 3_600_000;
    produce_at(
        &c,
        "t",
        &[
            (now - 3 * hour, "three hours ago"),
            (now - 2 * hour, "two hours ago"),
            (now - hour / 2, "half an hour ago"),
            (now - 60_000, "a minute ago"),
        ],
    );
    let values = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["--topic", "t", "--format", "%v\\n"];
        all.extend_from_slice(args);
        c.run("console-consumer", &all)
            .success()
            .lines()
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    assert_eq!(
        values(&["--from-time", "-90m", "--exit-at-end"]),
        ["half an hour ago", "a minute ago"]
    );
    assert_eq!(
        values(&["--from-time", "-150m", "--to-time", "-10m"]),
        ["two hours ago", "half an hour ago"]
    );
    let rfc = |ms: i64| jiff::Timestamp::from_millisecond(ms).unwrap().to_string();
    assert_eq!(
        values(&[
            "--from-time",
            &rfc(now - 3 * hour - 1),
            "--to-time",
            &rfc(now - 2 * hour - 1)
        ]),
        ["three hours ago"]
    );
    assert_eq!(
        values(&["--tail", "2", "--exit-at-end"]),
        ["half an hour ago", "a minute ago"]
    );
    assert_eq!(values(&["--tail", "10", "--exit-at-end"]).len(), 4);
    assert!(values(&["--from-time", "+1h", "--exit-at-end"]).is_empty());
    for bad in [
        &["--from-time", "yesterday-ish"][..],
        &["--tail", "0"],
        &["--tail", "-3"],
        &["--tail", "2", "--from-beginning"],
        &["--from-time", "-1h", "--group", "g"],
    ] {
        let mut all = vec!["--topic", "t"];
        all.extend_from_slice(bad);
        let run = c.run("console-consumer", &all).code(2);
        assert_eq!(run.stderr.lines().count(), 1, "{bad:?}: {run:#?}");
    }
}

#[test]
fn exit_at_end_stops_at_each_partition_s_end_also_with_a_group() {
    let c = Cluster::new();
    c.create_topic("t", 3, &[]);
    let lines: Vec<String> = (0..30).map(|i| format!("k{i}\tv{i}")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    c.produce_with("t", &refs, &["--property", "parse.key=true"])
        .success();
    let run = c
        .run(
            "console-consumer",
            &[
                "--topic",
                "t",
                "--group",
                "g",
                "--from-beginning",
                "--exit-at-end",
                "--max-messages",
                "10",
            ],
        )
        .success();
    assert_eq!(run.lines().len(), 10);
    // The group goes on where it stopped and ends at the end: the other 20, nothing twice.
    let rest = c
        .run(
            "console-consumer",
            &["--topic", "t", "--group", "g", "--exit-at-end"],
        )
        .success();
    assert_eq!(rest.lines().len(), 20, "{rest:#?}");
    let mut all: Vec<&str> = run.lines();
    all.extend(rest.lines());
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 30);
    // Nothing left: exits at once with nothing.
    let none = c
        .run(
            "console-consumer",
            &["--topic", "t", "--group", "g", "--exit-at-end"],
        )
        .success();
    assert!(none.stdout.is_empty());
    let groups = c
        .groups(&["--describe", "--group", "g", "--output", "json"])
        .success();
    let lag: i64 = json_lines(&groups.stdout)
        .iter()
        .filter_map(|r| r["lag"].as_i64())
        .sum();
    assert_eq!(lag, 0, "{groups:#?}");
}

#[test]
fn deserializers_print_kafka_s_common_types() {
    let c = Cluster::new();
    c.create_topic("counts", 1, &[]);
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let input = format!(
        "{}\n{}\n",
        json!({"key": b64(b"kafka"), "value": b64(&3i64.to_be_bytes()), "encoding": "base64"}),
        json!({"key": b64(b"summit"), "value": b64(&1i64.to_be_bytes()), "encoding": "base64"}),
    );
    c.run_with_stdin(
        "console-producer",
        &["--topic", "counts", "--input", "json"],
        &input,
    )
    .success();
    // The Kafka Streams word-count demo's consumer command.
    let run = c
        .run(
            "console-consumer",
            &[
                "--topic",
                "counts",
                "--from-beginning",
                "--exit-at-end",
                "--property",
                "print.key=true",
                "--property",
                "key.deserializer=org.apache.kafka.common.serialization.StringDeserializer",
                "--property",
                "value.deserializer=org.apache.kafka.common.serialization.LongDeserializer",
            ],
        )
        .success();
    assert_eq!(run.stdout, "kafka\t3\nsummit\t1\n");
    // The wrong type: Kafka's message, or skipped with --skip-message-on-error.
    let run = c
        .run(
            "console-consumer",
            &[
                "--topic",
                "counts",
                "--from-beginning",
                "--exit-at-end",
                "--property",
                "value.deserializer=Integer",
            ],
        )
        .failure();
    assert!(
        run.stderr
            .contains("Size of data received by IntegerDeserializer is not 4"),
        "{run:#?}"
    );
    let run = c
        .run(
            "console-consumer",
            &[
                "--topic",
                "counts",
                "--from-beginning",
                "--exit-at-end",
                "--property",
                "value.deserializer=Integer",
                "--skip-message-on-error",
            ],
        )
        .success();
    assert!(run.stdout.is_empty());
    let run = c
        .run(
            "console-consumer",
            &["--topic", "counts", "--property", "value.deserializer=Avro"],
        )
        .failure();
    assert!(run.stderr.contains("Long"), "{run:#?}");
}

#[test]
fn producer_reads_a_file_and_names_the_bad_json_line() {
    let c = Cluster::new();
    c.create_topic("t", 1, &[]);
    let file = c.scratch("in.json");
    std::fs::write(
        &file,
        "{\"value\":\"one\"}\n{\"value\":\"two\"}\n{\"value\": \"three\"\n{\"value\":\"four\"}\n",
    )
    .unwrap();
    let run = c
        .run(
            "console-producer",
            &[
                "--topic",
                "t",
                "--input",
                "json",
                "--file",
                file.to_str().unwrap(),
            ],
        )
        .failure();
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    assert!(run.stderr.contains("line number 3"), "{run:#?}");
    // The lines before the bad one are stored, nothing after it.
    assert_eq!(c.consume_all("t"), ["one", "two"]);
    let text = c.scratch("in.txt");
    std::fs::write(&text, "a\nb\n").unwrap();
    c.run(
        "console-producer",
        &["--topic", "t", "--file", text.to_str().unwrap()],
    )
    .success();
    assert_eq!(c.consume_all("t"), ["one", "two", "a", "b"]);
    let run = c
        .run(
            "console-producer",
            &["--topic", "t", "--file", "/nonexistent/x"],
        )
        .failure();
    assert!(run.stderr.contains("/nonexistent/x"), "{run:#?}");
}

#[test]
fn invalid_flag_values_are_refused_with_kafka_s_words() {
    let c = Cluster::new();
    c.create_topic("t", 1, &[]);
    for (bin, args, says) in [
        (
            "console-consumer",
            &["--topic", "t", "--isolation-level", "foo"][..],
            "isolation.level",
        ),
        (
            "console-consumer",
            &["--topic", "t", "--group", ""],
            "group",
        ),
        (
            "console-consumer",
            &["--topic", "t", "--partition", "-1"],
            "partition",
        ),
        (
            "console-producer",
            &["--topic", "t", "--request-required-acks", "5"],
            "acks",
        ),
    ] {
        let run = c.run(bin, args).code(2);
        assert!(run.stderr.contains(says), "{bin} {args:?}: {run:#?}");
        assert_eq!(run.stderr.lines().count(), 1, "{bin} {args:?}: {run:#?}");
    }
    // Kafka's -1 means no limit.
    c.produce("t", &["x"]);
    let run = c
        .run(
            "console-consumer",
            &[
                "--topic",
                "t",
                "--from-beginning",
                "--max-messages",
                "-1",
                "--exit-at-end",
            ],
        )
        .success();
    assert_eq!(run.stdout, "x\n");
    assert!(
        c.data_dir()
            .read_dir()
            .unwrap()
            .all(|e| { !e.unwrap().file_name().to_string_lossy().contains('%') })
    );
}

#[test]
fn an_idle_consumer_exits_when_its_reader_goes_away() {
    let c = Cluster::new();
    c.create_topic("t", 1, &[]);
    c.produce("t", &["first", "second"]);
    let mut consumer = Command::new(common::bin_path("console-consumer"))
        .args([
            "--data-dir",
            c.data_dir().to_str().unwrap(),
            "--topic",
            "t",
            "--from-beginning",
        ])
        .env("STREAMLOG_CONFIG", "/nonexistent")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // `| head -1`: read one line, then close the pipe while the topic is idle.
    let mut out = consumer.stdout.take().unwrap();
    let mut buf = [0u8; 6];
    std::io::Read::read_exact(&mut out, &mut buf).unwrap();
    assert_eq!(&buf, b"first\n");
    drop(out);
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = consumer.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the consumer kept waiting on a closed pipe"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = std::io::stderr().flush();
}
