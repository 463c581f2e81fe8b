//! `topics` bugs from the review: bounded and all-or-nothing creation, the real error first,
//! Kafka's wording for a missing topic, negative numbers, and no prompt without a terminal.
//! Then configs changed with `--alter --config` / `--delete-config` (embedded, and through a
//! real `server-start` that must act on them in logs it has open), and the partition sizes
//! `--describe` shows in its table and JSON.

mod common;
#[path = "support/broker.rs"]
mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Cluster, Run};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use serde_json::Value;
use streamlog::log::ProducerRecord;
use support::{Broker, Client};

/// Names in the data dir, without the tools' own `.streamlog` and `meta.properties`.
fn entries(c: &Cluster) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(c.data_dir())
        .expect("data dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".streamlog" && n != "meta.properties")
        .collect();
    names.sort();
    names
}

#[test]
fn a_huge_partition_count_is_refused_at_once_and_leaves_nothing() {
    let c = Cluster::new();
    for n in ["2147483647", "100000", "10001"] {
        let started = Instant::now();
        let run = c
            .topics(&["--create", "--topic", "big", "--partitions", n])
            .code(1)
            .one_line_error("max.partitions.per.request is 10000");
        assert!(
            run.stderr.contains(&format!("would create {n} partitions")),
            "{run:#?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "refused before any work"
        );
        assert_eq!(entries(&c), Vec::<String>::new());
    }
    c.topics(&["--list"]).success();
    assert_eq!(c.topics(&["--list"]).success().stdout, "");
}

#[test]
fn a_failed_creation_leaves_no_partition_directory() {
    let c = Cluster::new();
    c.topics(&["--list"]).success();
    // Partition 2's directory cannot be made: a file is in the way (as a full disk would
    // fail a creation halfway).
    std::fs::write(c.data_dir().join("t-2"), b"in the way").expect("write");
    c.topics(&["--create", "--topic", "t", "--partitions", "4"])
        .code(1);
    assert_eq!(entries(&c), ["t-2"], "t-0 and t-1 were removed");
    assert_eq!(c.topics(&["--list"]).success().stdout, "");
}

#[test]
fn what_an_interrupted_creation_left_is_removed_by_the_next_one() {
    let c = Cluster::new();
    c.create_topic("kept", 1, &[]);
    // A creation killed halfway: partition directories of no topic.
    for dir in ["t-0", "t-7", "gone-0"] {
        let d = c.data_dir().join(dir);
        std::fs::create_dir(&d).expect("mkdir");
        std::fs::write(d.join(".streamlog-state"), b"{}").expect("state file");
    }
    c.create_topic("t", 2, &[]);
    assert_eq!(entries(&c), ["kept-0", "t-0", "t-1"]);
    assert_eq!(c.topics(&["--list"]).success().stdout, "kept\nt\n");
}

#[test]
fn an_invalid_name_is_the_first_and_only_line() {
    let c = Cluster::new();
    let run = c.topics(&["--create", "--topic", "."]).code(1);
    assert_eq!(
        run.stderr,
        "Error while executing topic command : Topic name is invalid: '.' is not allowed\n"
    );
    let run = c
        .topics(&["--create", "--topic", "a.b_c", "--partitions", "0"])
        .code(1);
    assert_eq!(
        run.stderr,
        "Error while executing topic command : The partitions must be greater than 0\n"
    );
    // A valid name with both characters still gets Kafka's warning.
    c.topics(&["--create", "--topic", "a.b_c"])
        .success()
        .stderr_has("WARNING: Due to limitations in metric names");
}

#[test]
fn negative_numbers_get_kafkas_messages_not_a_parse_error() {
    let c = Cluster::new();
    c.topics(&["--create", "--topic", "x", "--partitions", "-1"])
        .code(1)
        .one_line_error("The partitions must be greater than 0");
    c.topics(&["--create", "--topic", "x", "--replication-factor", "-1"])
        .code(1)
        .one_line_error("The replication factor must be between 1 and 32767 inclusive");
    assert_eq!(entries(&c), Vec::<String>::new());
}

#[test]
fn a_missing_topic_has_one_wording() {
    let c = Cluster::new();
    for action in ["--delete", "--describe"] {
        c.topics(&[action, "--topic", "nope"])
            .code(1)
            .one_line_error("Topic 'nope' does not exist as expected");
    }
    c.topics(&["--alter", "--topic", "nope", "--partitions", "2"])
        .code(1)
        .one_line_error("Topic 'nope' does not exist as expected");
}

#[test]
fn delete_without_a_terminal_never_prompts() {
    let c = Cluster::new();
    c.create_topic("a", 2, &[]);
    c.create_topic("b", 1, &[]);
    let run = c.topics(&["--delete", "--topic", "a"]).success();
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, "");
    c.topics(&["--delete", "--topic", "b", "--yes"]).success();
    assert_eq!(c.topics(&["--list"]).success().stdout, "");
    c.topics(&["--list", "--yes"])
        .code(2)
        .one_line_error("[yes]");
}

/// Runs `topics ARGS` on a pseudo-terminal (util-linux `script`), typing `keys` after half a
/// second; the exit code and what the terminal showed, or None without `script`.
fn on_terminal(c: &Cluster, args: &[&str], keys: &str) -> Option<(i32, String)> {
    use std::io::Write;
    let line = std::iter::once(common::bin_path("topics").display().to_string())
        .chain(["--data-dir".to_string(), c.data_dir().display().to_string()])
        .chain(args.iter().map(|a| format!("'{a}'")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env_remove("STREAMLOG_DATA_DIR")
        .env_remove("STREAMLOG_BOOTSTRAP_SERVER")
        .env_remove("STREAMLOG_CONTEXT")
        .env("STREAMLOG_CONFIG", "/nonexistent/streamlog/config.toml")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    std::thread::sleep(Duration::from_millis(500));
    let _ = stdin.write_all(keys.as_bytes());
    drop(stdin);
    let out = child.wait_with_output().ok()?;
    Some((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

#[test]
fn delete_on_a_terminal_lists_the_topics_and_asks() {
    let c = Cluster::new();
    c.create_topic("a1", 3, &[]);
    c.create_topic("a2", 1, &[]);
    let Some((code, screen)) = on_terminal(&c, &["--delete", "--topic", "a.*"], "n") else {
        eprintln!("skipped: no `script` to make a terminal");
        return;
    };
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("  a1 (3 partitions)"), "{screen}");
    assert!(screen.contains("  a2 (1 partition)"), "{screen}");
    assert!(screen.contains("Aborted."), "{screen}");
    assert_eq!(c.topics(&["--list"]).success().stdout, "a1\na2\n");

    let (code, screen) = on_terminal(&c, &["--delete", "--topic", "a.*"], "y").expect("script");
    assert_eq!(code, 0, "{screen}");
    assert_eq!(c.topics(&["--list"]).success().stdout, "");
}

#[test]
fn deleting_many_partitions_on_a_terminal_shows_progress() {
    let c = Cluster::new();
    c.create_topic("many", 120, &[]);
    let Some((code, screen)) = on_terminal(&c, &["--delete", "--topic", "many", "--yes"], "")
    else {
        eprintln!("skipped: no `script` to make a terminal");
        return;
    };
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("/120 partitions"), "{screen:?}");
    assert_eq!(c.topics(&["--list"]).success().stdout, "");
}

// ---------------------------------------------------------------------------------------------
// --alter --config / --delete-config.

/// The `Configs:` of a topic's line in Kafka's describe layout.
fn configs_of(c: &Cluster, topic: &str) -> String {
    let run = c.topics(&["--describe", "--topic", topic]).success();
    let line = run.lines()[0].to_string();
    line.split("\tConfigs: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no Configs in {line:?}"))
        .to_string()
}

/// Alters `topic` with `args` after `--alter --topic topic`, asserting Kafka's confirmation.
#[track_caller]
fn alter_ok(c: &Cluster, topic: &str, args: &[&str]) -> Run {
    let mut all = vec!["--alter", "--topic", topic];
    all.extend_from_slice(args);
    let run = c.topics(&all).success();
    assert_eq!(
        run.stdout,
        format!("Completed updating config for topic {topic}.\n")
    );
    run
}

/// The config stories every backend must tell alike.
fn alter_configs_story(c: &Cluster) {
    c.create_topic("events", 1, &["--config", "retention.ms=60000"]);
    alter_ok(c, "events", &["--config", "cleanup.policy=compact"]);
    assert_eq!(
        configs_of(c, "events"),
        "cleanup.policy=compact,retention.ms=60000",
        "other overrides stay"
    );
    alter_ok(
        c,
        "events",
        &[
            "--config",
            "cleanup.policy=delete",
            "--delete-config",
            "retention.ms",
        ],
    );
    assert_eq!(configs_of(c, "events"), "cleanup.policy=delete");
    alter_ok(c, "events", &["--delete-config", "cleanup.policy"]);
    assert_eq!(configs_of(c, "events"), "");

    // Kafka's words for a bad value or name; and nothing changes when one of them is bad.
    c.topics(&["--alter", "--topic", "events", "--config", "cleanup.policy=sometimes"])
        .code(1)
        .one_line_error(
            "Error while executing topic command : Invalid value sometimes for configuration cleanup.policy: String must be one of: delete, compact, compact,delete, delete,compact",
        );
    c.topics(&[
        "--alter",
        "--topic",
        "events",
        "--config",
        "retention.ms=soon",
    ])
    .code(1)
    .one_line_error("Invalid value soon for configuration retention.ms: Not a number of type LONG");
    c.topics(&[
        "--alter",
        "--topic",
        "events",
        "--config",
        "cleanup.policy=compact",
        "--delete-config",
        "no.such.config",
    ])
    .code(1)
    .one_line_error(
        "Error while executing topic command : Unknown topic config name: no.such.config",
    );
    assert_eq!(configs_of(c, "events"), "", "a bad request changes nothing");
    c.topics(&[
        "--alter",
        "--topic",
        "nope",
        "--config",
        "cleanup.policy=compact",
    ])
    .code(1)
    .one_line_error("Topic 'nope' does not exist as expected");

    // Partitions and configs in one go, on every topic the pattern matches.
    c.create_topic("events2", 1, &[]);
    let run = c
        .topics(&[
            "--alter",
            "--topic",
            "events.*",
            "--partitions",
            "2",
            "--config",
            "segment.bytes=1048576",
        ])
        .success();
    assert_eq!(
        run.stdout,
        "Completed updating config for topic events.\nCompleted updating config for topic events2.\n"
    );
    for t in ["events", "events2"] {
        let run = c.topics(&["--describe", "--topic", t]).success();
        assert!(
            run.stdout.starts_with(&format!("Topic: {t}\tTopicId: ")),
            "{run:#?}"
        );
        assert!(
            run.stdout.contains(
                "\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: segment.bytes=1048576\n"
            ),
            "{run:#?}"
        );
    }
    let json = c
        .topics(&[
            "--alter",
            "--topic",
            "events2",
            "--delete-config",
            "segment.bytes",
            "--output",
            "json",
        ])
        .success();
    assert_eq!(json.stdout, "{\"altered\":\"events2\"}\n");
}

#[test]
fn alter_sets_and_removes_configs_embedded() {
    let c = Cluster::new();
    alter_configs_story(&c);
}

#[test]
fn alter_sets_and_removes_configs_through_a_server() {
    let c = Cluster::new();
    let b = Broker::start(c.data_dir(), &[]);
    // With the broker serving the data dir, the tools go through it (IncrementalAlterConfigs).
    alter_configs_story(&c);
    b.stop();
}

#[test]
fn alter_flags_are_checked_before_anything_runs() {
    let c = Cluster::new();
    c.create_topic("t", 1, &[]);
    c.topics(&["--alter", "--topic", "t"])
        .code(2)
        .one_line_error("Missing required argument \"[partitions]\"");
    c.topics(&["--describe", "--topic", "t", "--config", "retention.ms=1"])
        .code(2)
        .one_line_error("Option \"[config]\" can only be used with \"[create]\" or \"[alter]\"");
    c.topics(&[
        "--create",
        "--topic",
        "u",
        "--delete-config",
        "retention.ms",
    ])
    .code(2)
    .one_line_error("Option \"[delete-config]\" can only be used with \"[alter]\"");
    c.topics(&[
        "--alter",
        "--topic",
        "t",
        "--config",
        "retention.ms=1",
        "--delete-config",
        "retention.ms",
    ])
    .code(2)
    .one_line_error(
        "Config 'retention.ms' is both set with --config and removed with --delete-config",
    );
    assert_eq!(configs_of(&c, "t"), "");
    assert_eq!(c.topics(&["--list"]).success().stdout, "t\n");
}

fn produce_request(topic: &str, value: &[u8]) -> ProduceRequest {
    let record = ProducerRecord {
        key: None,
        value: Some(Bytes::copy_from_slice(value)),
        headers: vec![],
        timestamp: 1_700_000_000_000,
    };
    let batch =
        streamlog::log::codec::encode_batch(&[record], kafka_protocol::records::Compression::None)
            .expect("encode")
            .freeze();
    ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![
            TopicProduceData::default()
                .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                .with_partition_data(vec![
                    PartitionProduceData::default()
                        .with_index(0)
                        .with_records(Some(batch)),
                ]),
        ])
}

/// The error code of a Produce (v9) of one record of `value` to partition 0 of `topic`.
fn produce_code(client: &mut Client, topic: &str, value: &[u8]) -> i16 {
    let resp = client.call(&produce_request(topic, value), 9);
    resp.responses[0].partition_responses[0].error_code
}

#[test]
fn a_server_acts_on_an_altered_config_in_a_log_it_has_open() {
    const NONE: i16 = 0;
    const MESSAGE_TOO_LARGE: i16 = 10;
    let c = Cluster::new();
    let b = Broker::start(c.data_dir(), &[]);
    c.create_topic("limits", 1, &[]);
    let mut client = b.connect();
    let big = vec![b'x'; 1000];
    // The first produce opens the partition's log in the broker.
    assert_eq!(produce_code(&mut client, "limits", &big), NONE);
    alter_ok(&c, "limits", &["--config", "max.message.bytes=200"]);
    assert_eq!(produce_code(&mut client, "limits", &big), MESSAGE_TOO_LARGE);
    assert_eq!(produce_code(&mut client, "limits", b"small"), NONE);
    alter_ok(&c, "limits", &["--delete-config", "max.message.bytes"]);
    assert_eq!(produce_code(&mut client, "limits", &big), NONE);
    drop(client);
    b.stop();
}

// ---------------------------------------------------------------------------------------------
// --describe: partition sizes in the table and JSON, never in Kafka's layout.

/// Bytes of a partition's segment files.
fn size_on_disk(c: &Cluster, topic: &str, partition: u32) -> u64 {
    std::fs::read_dir(c.data_dir().join(format!("{topic}-{partition}")))
        .expect("partition dir")
        .map(|e| e.expect("entry"))
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .map(|e| e.metadata().expect("stat").len())
        .sum()
}

#[test]
fn describe_shows_partition_sizes_in_the_table_and_json_only() {
    let c = Cluster::new();
    c.create_topic("sized", 2, &[]);
    // Every record to partition 0; partition 1 stays empty.
    let input: String = (0..300)
        .map(|i| {
            format!(
                "{{\"value\":\"line {i:04} {}\",\"partition\":0}}\n",
                "x".repeat(40)
            )
        })
        .collect();
    c.run_with_stdin(
        "console-producer",
        &["--topic", "sized", "--input", "json"],
        &input,
    )
    .success();
    let on_disk = size_on_disk(&c, "sized", 0);
    assert!(on_disk > 10_000, "{on_disk}");

    let json = c
        .topics(&["--describe", "--topic", "sized", "--output", "json"])
        .success();
    let v: Value = serde_json::from_str(json.stdout.trim()).expect("one JSON line");
    let sizes: Vec<&Value> = v["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .map(|p| &p["size"])
        .collect();
    assert_eq!(sizes, [&Value::from(on_disk), &Value::from(0)]);

    let table = c
        .topics(&["--describe", "--topic", "sized", "--output", "table"])
        .success();
    assert!(table.stdout.contains("SIZE"), "{table:#?}");
    let human = format!(" {:.1} KiB ", on_disk as f64 / 1024.0);
    assert!(table.stdout.contains(&human), "{human:?} in {table:#?}");
    assert!(table.stdout.contains(" 0 B "), "{table:#?}");

    // Kafka's layout stays Kafka's.
    let text = c.topics(&["--describe", "--topic", "sized"]).success();
    assert!(!text.stdout.contains("SIZE") && !text.stdout.contains("Size"));
    assert!(
        text.stdout
            .ends_with("\tPartition: 1\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: \tLastKnownElr: \n")
    );
}

#[test]
fn through_a_server_sizes_are_unknown_not_wrong() {
    let c = Cluster::new();
    c.create_topic("sized", 1, &[]);
    c.produce("sized", &["one", "two"]);
    let b = Broker::start(c.data_dir(), &[]);
    let json = c
        .topics(&["--describe", "--topic", "sized", "--output", "json"])
        .success();
    let v: Value = serde_json::from_str(json.stdout.trim()).expect("one JSON line");
    assert_eq!(v["partitions"][0]["size"], Value::Null, "{json:#?}");
    b.stop();
}
