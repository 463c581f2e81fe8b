//! The tools' user-facing behaviour, told as the stories a Kafka user would live through:
//! what they type, what they see on stdout and stderr, and the exit code they get.
//!
//! Every run goes through `common::finish`, which fails the test if a tool panicked.

mod common;

use std::collections::BTreeSet;

use common::{Cluster, bare_cmd, bin_path, finish};
use serde_json::Value;
use streamlog::client::partitioner::partition_for_key;

// ---------------------------------------------------------------------------------------------
// Helpers for reading what the tools print.
// ---------------------------------------------------------------------------------------------

/// The TopicId field of a `topics --describe` topic line.
fn topic_id_of(topic_line: &str) -> String {
    topic_line
        .split('\t')
        .find_map(|f| f.strip_prefix("TopicId: "))
        .unwrap_or_else(|| panic!("no TopicId in {topic_line:?}"))
        .to_string()
}

/// Kafka's textual topic id: 22 characters of URL-safe base64 without padding.
fn assert_kafka_topic_id(id: &str) {
    assert_eq!(id.len(), 22, "topic id {id:?}");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "topic id {id:?} is not URL-safe base64"
    );
}

/// Parses every stdout line as one JSON value.
fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

/// Non-empty stdout lines split on whitespace, for Kafka's padded tables.
fn table(stdout: &str) -> Vec<Vec<String>> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

const OFFSETS_HEADER: &str =
    "GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID";

/// The committed offset of partition 0 of `topic` for `group`, from `--describe`.
fn committed(c: &Cluster, group: &str, topic: &str) -> String {
    let run = c.groups(&["--describe", "--group", group]).success();
    let rows = table(&run.stdout);
    rows.iter()
        .find(|r| r[1] == topic && r[2] == "0")
        .unwrap_or_else(|| panic!("no row for {topic}-0 in {run:#?}"))[3]
        .clone()
}

// ---------------------------------------------------------------------------------------------
// 1. The quickstart.
// ---------------------------------------------------------------------------------------------

#[test]
fn quickstart_create_describe_write_and_read_events() {
    let c = Cluster::new();

    let created = c
        .topics(&["--create", "--topic", "quickstart-events"])
        .success();
    assert_eq!(created.stdout, "Created topic quickstart-events.\n");

    let described = c
        .topics(&["--describe", "--topic", "quickstart-events"])
        .success();
    let lines = described.lines();
    assert_eq!(lines.len(), 2, "{described:#?}");
    let id = topic_id_of(lines[0]);
    assert_kafka_topic_id(&id);
    assert_eq!(
        lines[0],
        format!(
            "Topic: quickstart-events\tTopicId: {id}\tPartitionCount: 1\tReplicationFactor: 1\tConfigs: "
        )
    );
    assert_eq!(
        lines[1],
        "\tTopic: quickstart-events\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: \tLastKnownElr: "
    );
    // The id is the topic's, not made up per run.
    let again = c
        .topics(&["--describe", "--topic", "quickstart-events"])
        .success();
    assert_eq!(topic_id_of(again.lines()[0]), id);

    let produced = c
        .produce_with(
            "quickstart-events",
            &[
                "This is my first event",
                "This is my second event",
                "This is my third event",
            ],
            &[],
        )
        .success();
    assert_eq!(produced.stdout, "", "piped input gets no prompt");

    let consumed = c
        .run(
            "console-consumer",
            &[
                "--topic",
                "quickstart-events",
                "--from-beginning",
                "--max-messages",
                "3",
            ],
        )
        .success();
    assert_eq!(
        consumed.stdout,
        "This is my first event\nThis is my second event\nThis is my third event\n"
    );
    assert!(
        consumed
            .stderr
            .lines()
            .any(|l| l == "Processed a total of 3 messages"),
        "{consumed:#?}"
    );
}

#[test]
fn the_data_dir_can_come_from_the_environment() {
    let c = Cluster::new();
    let mut cmd = bare_cmd("topics");
    cmd.env("STREAMLOG_DATA_DIR", c.data_dir())
        .args(["--create", "--topic", "from-env"]);
    finish(cmd).success();
    assert_eq!(c.topics(&["--list"]).success().stdout, "from-env\n");
}

#[test]
fn contexts_name_data_dirs_and_a_flag_beats_the_environment_beats_the_file() {
    let c = Cluster::new();
    let (a, b) = (c.scratch("a"), c.scratch("b"));
    let config = c.scratch("config.toml");
    std::fs::write(
        &config,
        format!(
            "current-context = \"a\"\n\n[contexts.a]\ndata-dir = {:?}\n\n[contexts.b]\ndata-dir = {:?}\n",
            a.display().to_string(),
            b.display().to_string()
        ),
    )
    .unwrap();
    let topics = |env_context: Option<&str>, args: &[&str]| {
        let mut cmd = bare_cmd("topics");
        cmd.env("STREAMLOG_CONFIG", &config).args(args);
        if let Some(name) = env_context {
            cmd.env("STREAMLOG_CONTEXT", name);
        }
        finish(cmd)
    };
    // The file's current-context, then the environment, then the flag.
    topics(None, &["--create", "--topic", "in-a"]).success();
    topics(Some("b"), &["--create", "--topic", "in-b"]).success();
    topics(
        Some("b"),
        &["--context", "a", "--create", "--topic", "also-in-a"],
    )
    .success();
    let list = |dir: &std::path::Path| {
        topics(None, &["--data-dir", dir.to_str().unwrap(), "--list"])
            .success()
            .stdout
    };
    assert_eq!(list(&a), "also-in-a\nin-a\n");
    assert_eq!(list(&b), "in-b\n");
    // --data-dir beats the environment's context.
    topics(
        Some("b"),
        &[
            "--data-dir",
            c.data_dir().to_str().unwrap(),
            "--create",
            "--topic",
            "x",
        ],
    )
    .success();
    assert_eq!(c.topics(&["--list"]).success().stdout, "x\n");

    let unknown = topics(None, &["--context", "nope", "--list"]).failure();
    let unknown = unknown.one_line_error("context 'nope' is not in");
    assert!(unknown.stderr.contains("contexts: a, b"), "{unknown:#?}");

    std::fs::write(&config, "[contexts.a]\ndata-dir = 3\n").unwrap();
    topics(None, &["--list"])
        .failure()
        .one_line_error(&format!("contexts file {}", config.display()));
}

// ---------------------------------------------------------------------------------------------
// 2. topics
// ---------------------------------------------------------------------------------------------

#[test]
fn list_prints_topic_names_sorted() {
    let c = Cluster::new();
    for t in ["zeta", "alpha", "mid-topic", "Beta"] {
        c.create_topic(t, 1, &[]);
    }
    let run = c.topics(&["--list"]).success();
    assert_eq!(run.stdout, "Beta\nalpha\nmid-topic\nzeta\n");

    let filtered = c.topics(&["--list", "--topic", "m.*|z.*"]).success();
    assert_eq!(filtered.stdout, "mid-topic\nzeta\n");
}

#[test]
fn list_exclude_internal_hides_kafkas_internal_topics() {
    let c = Cluster::new();
    c.create_topic("__consumer_offsets", 1, &[]);
    c.create_topic("events", 1, &[]);
    assert_eq!(
        c.topics(&["--list"]).success().stdout,
        "__consumer_offsets\nevents\n"
    );
    assert_eq!(
        c.topics(&["--list", "--exclude-internal"]).success().stdout,
        "events\n"
    );
}

#[test]
fn describe_takes_a_regex_and_lists_several_topics() {
    let c = Cluster::new();
    c.create_topic("orders", 1, &[]);
    c.create_topic("orders-eu", 2, &[]);
    c.create_topic("payments", 1, &[]);

    let topic_names = |stdout: &str| -> Vec<String> {
        stdout
            .lines()
            .filter(|l| l.starts_with("Topic: "))
            .map(|l| {
                l["Topic: ".len()..]
                    .split('\t')
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    };

    let run = c.topics(&["--describe", "--topic", "orders.*"]).success();
    assert_eq!(topic_names(&run.stdout), ["orders", "orders-eu"]);
    // The regex must match the whole name: `orders` alone is not `orders-eu`.
    let run = c.topics(&["--describe", "--topic", "orders"]).success();
    assert_eq!(topic_names(&run.stdout), ["orders"]);
    // Kafka's filter turns `,` into `|`.
    let run = c
        .topics(&["--describe", "--topic", "orders,payments"])
        .success();
    assert_eq!(topic_names(&run.stdout), ["orders", "payments"]);
    // Without --topic every topic is described, each followed by its partitions.
    let run = c.topics(&["--describe"]).success();
    assert_eq!(
        topic_names(&run.stdout),
        ["orders", "orders-eu", "payments"]
    );
    let partition_lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("\tTopic: "))
        .collect();
    assert_eq!(partition_lines.len(), 4);
    assert!(partition_lines[2].starts_with("\tTopic: orders-eu\tPartition: 1\t"));
}

#[test]
fn create_with_partitions_and_config_shows_them_in_describe() {
    let c = Cluster::new();
    c.create_topic("cfg", 3, &["--config", "retention.ms=1000"]);
    let run = c.topics(&["--describe", "--topic", "cfg"]).success();
    let lines = run.lines();
    assert_eq!(lines.len(), 4, "{run:#?}");
    let id = topic_id_of(lines[0]);
    assert_eq!(
        lines[0],
        format!(
            "Topic: cfg\tTopicId: {id}\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: retention.ms=1000"
        )
    );
    for p in 0..3 {
        assert_eq!(
            lines[1 + p],
            format!(
                "\tTopic: cfg\tPartition: {p}\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: \tLastKnownElr: "
            )
        );
    }
}

#[test]
fn create_twice_fails_unless_if_not_exists() {
    let c = Cluster::new();
    c.create_topic("t", 1, &[]);

    let dup = c.topics(&["--create", "--topic", "t"]).code(1);
    dup.clone()
        .one_line_error("Error while executing topic command : Topic 't' already exists.");
    assert_eq!(dup.stdout, "");

    let quiet = c
        .topics(&["--create", "--topic", "t", "--if-not-exists"])
        .success();
    assert_eq!((quiet.stdout.as_str(), quiet.stderr.as_str()), ("", ""));
}

#[test]
fn replication_factor_above_one_is_refused_on_a_single_node() {
    let c = Cluster::new();
    c.topics(&["--create", "--topic", "rf", "--replication-factor", "3"])
        .code(1)
        .one_line_error("Error while executing topic command : Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 1 broker(s) are registered or some brokers have all their log directories cordoned.")
        .stderr_has("replication factor");
    assert_eq!(c.topics(&["--list"]).success().stdout, "");
    // One replica is what a single node has, so asking for it works.
    c.create_topic("rf1", 1, &["--replication-factor", "1"]);
}

#[test]
fn invalid_topic_names_are_refused_with_kafkas_reason() {
    let c = Cluster::new();
    let long = "a".repeat(250);
    let cases = [
        (
            "bad topic",
            "Topic name is invalid: 'bad topic' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'".to_string(),
        ),
        (".", "Topic name is invalid: '.' is not allowed".to_string()),
        ("..", "Topic name is invalid: '..' is not allowed".to_string()),
        (
            long.as_str(),
            format!(
                "Topic name is invalid: the length of '{long}' is longer than the max allowed length 249"
            ),
        ),
    ];
    for (name, reason) in cases {
        let run = c.topics(&["--create", "--topic", name]).failure();
        run.clone().one_line_error(&reason);
        assert!(
            run.stderr
                .contains(&format!("Error while executing topic command : {reason}")),
            "{run:#?}"
        );
    }
    // 249 characters is still fine, for the whole life of the topic.
    let longest = "b".repeat(249);
    c.create_topic(&longest, 1, &[]);
    assert_eq!(
        c.topics(&["--list"]).success().stdout,
        format!("{longest}\n")
    );
    c.produce(&longest, &["fits"]);
    assert_eq!(c.consume_all(&longest), ["fits"]);
    c.topics(&["--delete", "--topic", &longest]).success();
    assert_eq!(c.topics(&["--list"]).success().stdout, "");
    assert!(!c.data_dir().join(format!("{longest}-0")).exists());
}

#[test]
fn alter_adds_partitions_but_never_removes_them() {
    let c = Cluster::new();
    c.create_topic("grow", 1, &[]);

    let altered = c
        .topics(&["--alter", "--topic", "grow", "--partitions", "3"])
        .success();
    assert_eq!(altered.stdout, "", "Kafka prints nothing on success");
    let run = c.topics(&["--describe", "--topic", "grow"]).success();
    assert!(run.lines()[0].contains("\tPartitionCount: 3\t"), "{run:#?}");
    assert_eq!(run.lines().len(), 4);

    c.topics(&["--alter", "--topic", "grow", "--partitions", "2"])
        .code(1)
        .one_line_error("Error while executing topic command : The topic grow currently has 3 partition(s); 2 would not be an increase.");
    c.topics(&["--alter", "--topic", "grow", "--partitions", "3"])
        .code(1)
        .one_line_error("Error while executing topic command : Topic already has 3 partition(s).");
    c.topics(&["--alter", "--topic", "nope", "--partitions", "3"])
        .code(1)
        .one_line_error("Topic 'nope' does not exist as expected");

    // The new partitions take records.
    c.produce_with(
        "grow",
        &["k:v"],
        &[
            "--property",
            "parse.key=true",
            "--property",
            "key.separator=:",
        ],
    )
    .success();
    let p = partition_for_key(b"k", 3).to_string();
    let run = c
        .consume_with("grow", &["--partition", &p, "--offset", "earliest"])
        .success();
    assert_eq!(run.stdout, "v\n");
}

#[test]
fn delete_removes_the_topic_and_its_records() {
    let c = Cluster::new();
    c.create_topic("doomed", 1, &[]);
    c.create_topic("kept", 1, &[]);
    c.produce("doomed", &["old"]);

    let run = c.topics(&["--delete", "--topic", "doomed"]).success();
    assert_eq!(run.stdout, "");
    assert_eq!(c.topics(&["--list"]).success().stdout, "kept\n");
    assert!(!c.data_dir().join("doomed-0").exists());

    // A topic created again under the same name starts empty, with a new id.
    c.create_topic("doomed", 1, &[]);
    assert!(c.consume_all("doomed").is_empty());
}

#[test]
fn delete_if_exists_on_a_missing_topic_is_a_quiet_success() {
    let c = Cluster::new();
    let run = c
        .topics(&["--delete", "--topic", "ghost", "--if-exists"])
        .success();
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));

    c.topics(&["--delete", "--topic", "ghost"])
        .code(1)
        .one_line_error(
            "Error while executing topic command : Topic 'ghost' does not exist as expected",
        );
}

#[test]
fn describe_of_a_missing_topic_fails() {
    let c = Cluster::new();
    let run = c.topics(&["--describe", "--topic", "x"]).code(1);
    run.clone().one_line_error(
        "Error while executing topic command : Topic 'x' does not exist as expected",
    );
    assert_eq!(run.stdout, "");
    let quiet = c
        .topics(&["--describe", "--topic", "x", "--if-exists"])
        .success();
    assert_eq!(quiet.stdout, "");
}

#[test]
fn unknown_topic_configs_are_refused() {
    let c = Cluster::new();
    c.topics(&["--create", "--topic", "t", "--config", "foo=bar"])
        .code(1)
        .one_line_error("Error while executing topic command : Unknown topic config name: foo");
    assert_eq!(c.topics(&["--list"]).success().stdout, "");
}

#[test]
fn topics_without_an_action_is_a_usage_error() {
    let c = Cluster::new();
    c.topics(&[])
        .code(2)
        .stderr_has("Command must include exactly one action: --list, --describe, --create, --alter or --delete");
    c.topics(&["--list", "--describe"]).code(2);
}

#[test]
fn topics_json_output_is_one_object_per_line() {
    let c = Cluster::new();
    c.create_topic("a", 1, &[]);
    c.create_topic("b", 2, &["--config", "retention.ms=1000"]);

    let list = json_lines(&c.topics(&["--list", "--output", "json"]).success().stdout);
    assert_eq!(
        list,
        [
            serde_json::json!({"topic": "a"}),
            serde_json::json!({"topic": "b"})
        ]
    );

    let described = json_lines(
        &c.topics(&["--describe", "--output", "json"])
            .success()
            .stdout,
    );
    assert_eq!(described.len(), 2);
    let b = &described[1];
    assert_eq!(b["topic"], "b");
    assert_kafka_topic_id(b["topic_id"].as_str().unwrap_or_default());
    assert_eq!(b["partition_count"], 2);
    assert_eq!(b["replication_factor"], 1);
    assert_eq!(b["configs"]["retention.ms"], "1000");
    let parts = b["partitions"].as_array().expect("partitions array");
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[1]["partition"], 1);
    assert_eq!(parts[1]["leader"], 1);
}

// ---------------------------------------------------------------------------------------------
// 3. console-producer
// ---------------------------------------------------------------------------------------------

const KEYED: [&str; 4] = [
    "--property",
    "parse.key=true",
    "--property",
    "key.separator=:",
];

#[test]
fn keyed_lines_keep_their_keys() {
    let c = Cluster::new();
    c.create_topic("keyed", 1, &[]);
    c.produce_with(
        "keyed",
        &["user1:alice", "user2:bob:smith", "user3:"],
        &KEYED,
    )
    .success();
    let run = c
        .consume_with(
            "keyed",
            &["--from-beginning", "--property", "print.key=true"],
        )
        .success();
    // Only the first separator splits; the value may be empty.
    assert_eq!(run.stdout, "user1\talice\nuser2\tbob:smith\nuser3\t\n");
}

#[test]
fn headers_are_parsed_and_printed() {
    let c = Cluster::new();
    c.create_topic("hdr", 1, &[]);
    c.produce_with(
        "hdr",
        &["h1:v1,h2:v2\tvalue"],
        &["--property", "parse.headers=true"],
    )
    .success();
    c.produce("hdr", &["plain"]);
    let run = c
        .consume_with(
            "hdr",
            &["--from-beginning", "--property", "print.headers=true"],
        )
        .success();
    assert_eq!(run.stdout, "h1:v1,h2:v2\tvalue\nNO_HEADERS\tplain\n");
}

#[test]
fn null_marker_makes_null_keys_values_and_header_values() {
    let c = Cluster::new();
    c.create_topic("nulls", 1, &[]);
    c.produce_with(
        "nulls",
        &["h1:NULL\tNULL\tv1", "NULL\tk2\tNULL", "NULL\tk3\tNULLx"],
        &[
            "--property",
            "parse.key=true",
            "--property",
            "parse.headers=true",
            "--property",
            "null.marker=NULL",
        ],
    )
    .success();
    let run = c
        .consume_with(
            "nulls",
            &[
                "--from-beginning",
                "--property",
                "print.key=true",
                "--property",
                "print.headers=true",
            ],
        )
        .success();
    assert_eq!(
        run.stdout,
        "h1:null\tnull\tv1\nNO_HEADERS\tk2\tnull\nNO_HEADERS\tk3\tNULLx\n"
    );
    // They are real nulls, not the text "null".
    let recs = json_lines(
        &c.consume_with("nulls", &["--from-beginning", "--output", "json"])
            .success()
            .stdout,
    );
    assert_eq!(recs[0]["key"], Value::Null);
    assert_eq!(recs[0]["headers"], serde_json::json!([["h1", null]]));
    assert_eq!(recs[1]["value"], Value::Null);
    assert_eq!(recs[2]["value"], "NULLx");
}

#[test]
fn a_line_without_the_key_separator_stops_the_producer_after_storing_earlier_lines() {
    let c = Cluster::new();
    c.create_topic("strict", 1, &[]);
    let run = c
        .produce_with("strict", &["k1:v1", "bad line", "k3:v3"], &KEYED)
        .failure();
    run.clone()
        .one_line_error("No key separator found on line number 2: 'bad line'");
    let run = c
        .consume_with(
            "strict",
            &["--from-beginning", "--property", "print.key=true"],
        )
        .success();
    assert_eq!(run.stdout, "k1\tv1\n");
}

#[test]
fn ignore_error_keeps_a_line_without_key_separator_as_a_keyless_record() {
    let c = Cluster::new();
    c.create_topic("lenient", 1, &[]);
    let mut args = KEYED.to_vec();
    args.extend(["--property", "ignore.error=true"]);
    c.produce_with("lenient", &["k1:v1", "bad line", "k3:v3"], &args)
        .success();
    // Kafka's LineMessageReader: with ignore.error the key is null and the line is the value.
    let run = c
        .consume_with(
            "lenient",
            &["--from-beginning", "--property", "print.key=true"],
        )
        .success();
    assert_eq!(run.stdout, "k1\tv1\nnull\tbad line\nk3\tv3\n");
}

#[test]
fn keyed_records_land_on_the_partition_kafkas_partitioner_picks() {
    // From docs/kafka-tool-behaviour.md §6, checked against Kafka 4.4.0: key → partition of 3.
    let vectors: [(&str, i32); 8] = [
        ("21", 0),
        ("foobar", 0),
        ("a-little-bit-long-string", 2),
        ("abc", 0),
        ("key", 1),
        ("key1", 2),
        ("hello", 0),
        ("k", 2),
    ];
    for (key, p) in vectors {
        assert_eq!(partition_for_key(key.as_bytes(), 3), p, "key {key}");
    }

    let c = Cluster::new();
    c.create_topic("spread", 3, &[]);
    let lines: Vec<String> = vectors
        .iter()
        .map(|(k, _)| format!("{k}:value-of-{k}"))
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    c.produce_with("spread", &refs, &KEYED).success();

    for p in 0..3 {
        let run = c
            .consume_with(
                "spread",
                &[
                    "--partition",
                    &p.to_string(),
                    "--offset",
                    "earliest",
                    "--property",
                    "print.key=true",
                ],
            )
            .success();
        let expected: String = vectors
            .iter()
            .filter(|(k, _)| partition_for_key(k.as_bytes(), 3) == p)
            .map(|(k, _)| format!("{k}\tvalue-of-{k}\n"))
            .collect();
        assert_eq!(run.stdout, expected, "partition {p}");
    }
}

#[test]
fn every_compression_codec_round_trips() {
    let c = Cluster::new();
    // RecordBatch attributes, bits 0-2.
    for (codec, id) in [("gzip", 1u8), ("snappy", 2), ("lz4", 3), ("zstd", 4)] {
        let topic = format!("z-{codec}");
        c.create_topic(&topic, 1, &[]);
        let lines: Vec<String> = (0..200)
            .map(|i| format!("{codec} record {i} {}", "repetitive text ".repeat(i % 7)))
            .collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        c.produce_with(&topic, &refs, &["--compression-codec", codec])
            .success();
        assert_eq!(c.consume_all(&topic), lines, "codec {codec}");

        let segment = std::fs::read(c.first_segment(&topic, 0)).expect("segment");
        assert_eq!(
            segment[22] & 0x07,
            id,
            "first batch of {codec} is compressed so"
        );
    }
}

#[test]
fn a_record_over_max_message_bytes_is_refused_with_one_line() {
    let c = Cluster::new();
    c.create_topic("small", 1, &["--config", "max.message.bytes=1000"]);
    let big = "x".repeat(2000);
    let run = c.produce_with("small", &["fits", &big], &[]).failure();
    run.clone().one_line_error("max.message.bytes");
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("max.message.bytes"))
        .unwrap_or_default();
    assert!(line.contains("'small'"), "names the topic: {line}");
    assert!(line.contains("line 2"), "names the line: {line}");
    assert!(!run.stderr.contains(&big), "does not echo the record");
    // The line before it was stored.
    assert_eq!(c.consume_all("small"), ["fits"]);
}

#[test]
fn sync_sends_every_line_and_keeps_order() {
    let c = Cluster::new();
    c.create_topic("sync", 1, &[]);
    c.produce_with("sync", &["one", "two", "three"], &["--sync"])
        .success();
    let run = c
        .consume_with(
            "sync",
            &["--from-beginning", "--property", "print.offset=true"],
        )
        .success();
    assert_eq!(
        run.stdout,
        "Offset:0\tone\nOffset:1\ttwo\nOffset:2\tthree\n"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(8))]

    /// Whatever keys and values a user types (any text without tabs or line breaks) come back
    /// byte for byte, in order.
    #[test]
    fn typed_keys_and_values_come_back_unchanged(
        records in proptest::collection::vec(("[^\t\n\r]{0,12}", "[^\n\r]{0,40}"), 1..20)
    ) {
        let c = Cluster::new();
        c.create_topic("typed", 1, &[]);
        let lines: Vec<String> = records.iter().map(|(k, v)| format!("{k}\t{v}")).collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        c.produce_with("typed", &refs, &["--property", "parse.key=true"]).success();
        let n = records.len().to_string();
        let run = c
            .run(
                "console-consumer",
                &[
                    "--topic", "typed", "--from-beginning", "--max-messages", &n,
                    "--property", "print.key=true",
                ],
            )
            .success();
        let expected: String = lines.iter().map(|l| format!("{l}\n")).collect();
        proptest::prop_assert_eq!(run.stdout, expected);
    }
}

// ---------------------------------------------------------------------------------------------
// 4. console-consumer
// ---------------------------------------------------------------------------------------------

#[test]
fn formatter_prints_fields_in_kafkas_order() {
    let c = Cluster::new();
    c.create_topic("fmt", 1, &[]);
    let before = now_ms();
    c.produce_with(
        "fmt",
        &["h1:v1\tk1\tv1"],
        &[
            "--property",
            "parse.key=true",
            "--property",
            "parse.headers=true",
        ],
    )
    .success();
    let after = now_ms();
    let run = c
        .consume_with(
            "fmt",
            &[
                "--from-beginning",
                // Given in a different order than they print.
                "--property",
                "print.key=true",
                "--property",
                "print.offset=true",
                "--property",
                "print.headers=true",
                "--property",
                "print.partition=true",
                "--property",
                "print.timestamp=true",
            ],
        )
        .success();
    let line = run.stdout.strip_suffix('\n').expect("one line");
    let fields: Vec<&str> = line.split('\t').collect();
    assert_eq!(fields.len(), 6, "{line:?}");
    let ts: i64 = fields[0]
        .strip_prefix("CreateTime:")
        .unwrap_or_else(|| panic!("CreateTime: prefix in {line:?}"))
        .parse()
        .expect("numeric timestamp");
    assert!(
        (before..=after).contains(&ts),
        "timestamp {ts} is when it was produced"
    );
    assert_eq!(
        fields[1..],
        ["Partition:0", "Offset:0", "h1:v1", "k1", "v1"]
    );
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[test]
fn separators_and_null_literal_are_configurable() {
    let c = Cluster::new();
    c.create_topic("seps", 1, &[]);
    c.produce_with(
        "seps",
        &["NULL:v1", "k2:v2"],
        &[
            "--property",
            "parse.key=true",
            "--property",
            "key.separator=:",
            "--property",
            "null.marker=NULL",
        ],
    )
    .success();
    let run = c
        .consume_with(
            "seps",
            &[
                "--from-beginning",
                "--property",
                "print.key=true",
                "--property",
                "key.separator=:::",
                "--property",
                "line.separator=@@",
                "--property",
                "null.literal=NIL",
            ],
        )
        .success();
    assert_eq!(run.stdout, "NIL:::v1@@k2:::v2@@");

    let run = c
        .consume_with(
            "seps",
            &[
                "--from-beginning",
                "--property",
                "print.value=false",
                "--property",
                "print.offset=true",
                "--property",
                "line.separator=@@",
            ],
        )
        .success();
    assert_eq!(run.stdout, "Offset:0@@Offset:1@@");
}

#[test]
fn partition_and_offset_pick_where_reading_starts() {
    let c = Cluster::new();
    c.create_topic("seek", 1, &[]);
    c.produce("seek", &["a", "b", "c"]);
    let run = c
        .consume_with("seek", &["--partition", "0", "--offset", "1"])
        .success();
    assert_eq!(run.stdout, "b\nc\n");
    assert!(run.stderr.contains("Processed a total of 2 messages"));

    let run = c
        .consume_with("seek", &["--partition", "0", "--offset", "earliest"])
        .success();
    assert_eq!(run.stdout, "a\nb\nc\n");
}

#[test]
fn offset_latest_with_nothing_new_times_out_with_zero_messages() {
    let c = Cluster::new();
    c.create_topic("quiet", 1, &[]);
    c.produce("quiet", &["old"]);
    let run = c
        .consume_with("quiet", &["--partition", "0", "--offset", "latest"])
        .success();
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .lines()
            .any(|l| l == "Processed a total of 0 messages"),
        "{run:#?}"
    );
    // Subscribing without --from-beginning also starts at the end.
    let run = c.consume_with("quiet", &[]).success();
    assert_eq!(run.stdout, "");
}

#[test]
fn include_consumes_every_matching_topic() {
    let c = Cluster::new();
    for t in ["foo1", "foo2", "bar"] {
        c.create_topic(t, 1, &[]);
        c.produce(t, &[&format!("from-{t}")]);
    }
    let run = c
        .run(
            "console-consumer",
            &[
                "--include",
                "foo.*",
                "--from-beginning",
                "--timeout-ms",
                "500",
            ],
        )
        .success();
    let got: BTreeSet<&str> = run.stdout.lines().collect();
    assert_eq!(got, BTreeSet::from(["from-foo1", "from-foo2"]));
}

#[test]
fn consumer_usage_errors_exit_2() {
    let c = Cluster::new();
    c.create_topic("t", 1, &[]);
    let cases: [(&[&str], &str); 5] = [
        (
            &["--topic", "t", "--include", "t.*"],
            "Exactly one of the following arguments is required: [topic], [include]",
        ),
        (
            &[],
            "Exactly one of the following arguments is required: [topic], [include]",
        ),
        (
            &["--topic", "t", "--offset", "1"],
            "The partition is required when offset is specified.",
        ),
        (
            &["--topic", "t", "--partition", "0", "--group", "g"],
            "Options group and partition cannot be specified together.",
        ),
        (
            &["--topic", "t", "--partition", "0", "--offset", "-3"],
            "The provided offset value '-3' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long.",
        ),
    ];
    for (args, message) in cases {
        let run = c.run("console-consumer", args).code(2);
        run.one_line_error(message);
    }
}

#[test]
fn consumer_json_output_is_one_object_per_record() {
    let c = Cluster::new();
    c.create_topic("js", 1, &[]);
    c.produce_with("js", &["k1:v1", "k2:v2"], &KEYED).success();
    let recs = json_lines(
        &c.consume_with("js", &["--from-beginning", "--output", "json"])
            .success()
            .stdout,
    );
    assert_eq!(recs.len(), 2);
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(r["topic"], "js");
        assert_eq!(r["partition"], 0);
        assert_eq!(r["offset"], i as i64);
        assert_eq!(r["key"], format!("k{}", i + 1));
        assert_eq!(r["value"], format!("v{}", i + 1));
        assert_eq!(r["timestamp_type"], "CreateTime");
        assert!(r["timestamp"].as_i64().is_some_and(|t| t > 0));
    }
}

#[test]
fn a_reader_that_goes_away_ends_the_consumer_quietly() {
    let c = Cluster::new();
    c.create_topic("firehose", 1, &[]);
    // Far more than a pipe buffer holds, so the consumer must notice the closed pipe.
    let lines: Vec<String> = (0..20_000)
        .map(|i| format!("record number {i:>8}"))
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    c.produce("firehose", &refs);

    let err = c.scratch("consumer.stderr");
    let rc = c.scratch("consumer.rc");
    let script = r#""$0" --data-dir "$1" --topic firehose --from-beginning --timeout-ms 2000 2>"$2"; echo $? >"$3""#;
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c")
        .arg(format!("{{ {script}; }} | head -1"))
        .arg(bin_path("console-consumer"))
        .arg(c.data_dir())
        .arg(&err)
        .arg(&rc);
    let out = sh.output().expect("sh runs");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "record number        0\n"
    );
    let stderr = std::fs::read_to_string(&err).expect("consumer stderr");
    let code = std::fs::read_to_string(&rc).expect("consumer exit code");
    assert_eq!(code.trim(), "0", "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    // It stopped at the closed pipe instead of printing everything into the void.
    let processed: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("Processed a total of "))
        .and_then(|l| l.strip_suffix(" messages"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no total in {stderr}"));
    assert!(processed < 20_000, "{stderr}");
}

#[test]
fn a_missing_topic_with_partition_is_an_error() {
    let c = Cluster::new();
    c.consume_with("nope", &["--partition", "0"])
        .code(1)
        .one_line_error("nope");
    assert_eq!(
        c.topics(&["--list"]).success().stdout,
        "",
        "not auto-created"
    );

    c.create_topic("one", 1, &[]);
    c.consume_with("one", &["--partition", "5"])
        .code(1)
        .one_line_error("Partition 5 of topic 'one' does not exist");
}

// ---------------------------------------------------------------------------------------------
// 5. consumer-groups
// ---------------------------------------------------------------------------------------------

/// A topic `t` with records a, b, c that group `g` has read to the end.
fn group_that_read_everything() -> Cluster {
    Cluster::with_group_that_read(&["a", "b", "c"], 3)
}

#[test]
fn describe_shows_the_groups_offsets_and_lag() {
    let c = group_that_read_everything();

    let run = c.groups(&["--describe", "--group", "g"]).success();
    assert_eq!(
        run.stdout,
        "\nGROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID\n\
         g               t               0          3               3               0               -               -               -\n"
    );
    assert!(
        run.stderr
            .contains("Consumer group 'g' has no active members."),
        "{run:#?}"
    );

    c.produce("t", &["d", "e"]);
    let rows = table(&c.groups(&["--describe", "--group", "g"]).success().stdout);
    assert_eq!(rows[0], words(OFFSETS_HEADER));
    assert_eq!(rows[1], words("g t 0 3 5 2 - - -"));

    // The group picks up where it left off.
    let run = c.consume_with("t", &["--group", "g"]).success();
    assert_eq!(run.stdout, "d\ne\n");
    let rows = table(&c.groups(&["--describe", "--group", "g"]).success().stdout);
    assert_eq!(rows[1], words("g t 0 5 5 0 - - -"));
}

#[test]
fn list_and_state_show_the_group() {
    let c = group_that_read_everything();
    assert_eq!(c.groups(&["--list"]).success().stdout, "g\n");

    let run = c
        .groups(&["--describe", "--group", "g", "--state"])
        .success();
    let rows = table(&run.stdout);
    assert_eq!(
        rows[0],
        words("GROUP COORDINATOR (ID) ASSIGNMENT-STRATEGY STATE #MEMBERS")
    );
    let row = &rows[1];
    assert_eq!(row[0], "g");
    assert_eq!(row[row.len() - 3..], ["-", "Empty", "0"], "{run:#?}");

    let run = c.groups(&["--list", "--state"]).success();
    assert_eq!(table(&run.stdout), [words("GROUP STATE"), words("g Empty")]);
}

#[test]
fn reset_offsets_without_execute_only_shows_the_plan() {
    let c = group_that_read_everything();
    let run = c
        .groups(&[
            "--reset-offsets",
            "--group",
            "g",
            "--topic",
            "t",
            "--to-earliest",
        ])
        .success();
    assert_eq!(
        run.stdout,
        "\nGROUP           TOPIC           PARTITION  NEW-OFFSET\ng               t               0          0\n"
    );
    assert!(run.stderr.contains("--execute"), "warns: {run:#?}");
    assert_eq!(committed(&c, "g", "t"), "3", "a dry run changes nothing");

    let run = c
        .groups(&[
            "--reset-offsets",
            "--group",
            "g",
            "--topic",
            "t",
            "--to-earliest",
            "--dry-run",
        ])
        .success();
    assert_eq!(table(&run.stdout)[1], words("g t 0 0"));
    assert!(!run.stderr.contains("WARN"), "{run:#?}");
    assert_eq!(committed(&c, "g", "t"), "3");
}

#[test]
fn reset_offsets_execute_moves_the_group_back() {
    let c = group_that_read_everything();
    let run = c
        .groups(&[
            "--reset-offsets",
            "--group",
            "g",
            "--topic",
            "t",
            "--to-earliest",
            "--execute",
        ])
        .success();
    assert_eq!(table(&run.stdout)[1], words("g t 0 0"));
    let rows = table(&c.groups(&["--describe", "--group", "g"]).success().stdout);
    assert_eq!(rows[1], words("g t 0 0 3 3 - - -"));

    // Consuming with the group again re-reads from the new offset.
    let run = c.consume_with("t", &["--group", "g"]).success();
    assert_eq!(run.stdout, "a\nb\nc\n");
    assert_eq!(committed(&c, "g", "t"), "3");
}

#[test]
fn every_reset_scenario_lands_where_kafka_would() {
    let c = group_that_read_everything();
    let reset = |scenario: &[&str]| -> String {
        let mut args = vec![
            "--reset-offsets",
            "--group",
            "g",
            "--topic",
            "t",
            "--execute",
        ];
        args.extend_from_slice(scenario);
        let run = c.groups(&args).success();
        // Kafka's fallback notes (`Warn: ...`) come before the table.
        let rows: Vec<_> = table(&run.stdout)
            .into_iter()
            .filter(|r| r[0] != "Warn:")
            .collect();
        assert_eq!(rows[0], words("GROUP TOPIC PARTITION NEW-OFFSET"));
        let new = rows[1][3].clone();
        assert_eq!(
            committed(&c, "g", "t"),
            new,
            "{scenario:?} committed its plan"
        );
        new
    };
    assert_eq!(reset(&["--shift-by", "-1"]), "2");
    assert_eq!(reset(&["--shift-by", "-1"]), "1");
    assert_eq!(reset(&["--to-offset", "2"]), "2");
    assert_eq!(reset(&["--to-latest"]), "3");
    assert_eq!(reset(&["--to-datetime", "1970-01-01T00:00:00.000"]), "0");
    assert_eq!(reset(&["--to-current"]), "0");
    assert_eq!(reset(&["--shift-by", "2"]), "2");
    // Everything was produced within the last hour.
    assert_eq!(reset(&["--by-duration", "PT1H"]), "0");
    // A date after every record falls back to the log end.
    assert_eq!(reset(&["--to-datetime", "2999-01-01T00:00:00.000"]), "3");
    let run = c
        .groups(&[
            "--reset-offsets",
            "--group",
            "g",
            "--topic",
            "t",
            "--to-datetime",
            "2999-01-01T00:00:00.000",
            "--dry-run",
        ])
        .success();
    assert!(
        run.stdout.starts_with(
            "\nWarn: Partition 0 from topic t is empty. Falling back to latest known offset.\n"
        ),
        "{run:#?}"
    );

    // Out-of-range targets are clamped, with Kafka's warning.
    let run = c
        .groups(&[
            "--reset-offsets",
            "--group",
            "g",
            "--topic",
            "t",
            "--to-offset",
            "100",
            "--dry-run",
        ])
        .success();
    assert_eq!(table(&run.stdout)[1], words("g t 0 3"));
    assert!(
        run.stderr.contains(
            "New offset (100) is higher than latest offset for topic partition t-0. Value will be set to 3."
        ),
        "{run:#?}"
    );
    let run = c
        .groups(&[
            "--reset-offsets",
            "--group",
            "g",
            "--topic",
            "t",
            "--shift-by",
            "-10",
            "--dry-run",
        ])
        .success();
    assert_eq!(table(&run.stdout)[1], words("g t 0 0"));
    assert!(
        run.stderr.contains(
            "New offset (-7) is lower than earliest offset for topic partition t-0. Value will be set to 0."
        ),
        "{run:#?}"
    );
}

#[test]
fn delete_offsets_forgets_one_topic_of_a_group() {
    let c = group_that_read_everything();
    c.create_topic("u", 1, &[]);
    c.produce("u", &["x"]);
    c.consume_with("u", &["--group", "g", "--from-beginning"])
        .success();

    let run = c
        .groups(&["--delete-offsets", "--group", "g", "--topic", "t"])
        .success();
    let mut lines = run.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("Request succeeded for deleting offsets from group g.")
    );
    assert_eq!(
        table(&run.stdout)[1..],
        [words("TOPIC PARTITION STATUS"), words("t 0 Successful")]
    );

    let rows = table(&c.groups(&["--describe", "--group", "g"]).success().stdout);
    assert_eq!(rows[1..], [words("g u 0 1 1 0 - - -")]);
}

#[test]
fn delete_removes_an_idle_group() {
    let c = group_that_read_everything();
    let run = c.groups(&["--delete", "--group", "g"]).success();
    assert_eq!(
        run.stdout,
        "Deletion of requested consumer groups ('g') was successful.\n"
    );
    assert_eq!(c.groups(&["--list"]).success().stdout, "");
    c.groups(&["--describe", "--group", "g"])
        .failure()
        .one_line_error("does not exist");
}

#[test]
fn describe_of_a_missing_group_fails() {
    let c = Cluster::new();
    let run = c.groups(&["--describe", "--group", "nope"]).failure();
    assert_eq!(run.stdout, "");
    run.one_line_error("Consumer group 'nope' does not exist.");
}

#[test]
fn consumer_groups_json_output() {
    let c = group_that_read_everything();
    c.produce("t", &["d"]);

    let list = json_lines(&c.groups(&["--list", "--output", "json"]).success().stdout);
    assert_eq!(
        list,
        [serde_json::json!({"group": "g", "members": 0, "state": "Empty"})]
    );

    let run = c
        .groups(&["--describe", "--group", "g", "--output", "json"])
        .success();
    let rows = json_lines(&run.stdout);
    assert_eq!(
        rows,
        [serde_json::json!({
            "group": "g", "topic": "t", "partition": 0, "current_offset": 3,
            "log_end_offset": 4, "lag": 1, "consumer_id": null, "host": null, "client_id": null,
            "total_lag": 1,
        })]
    );

    let run = c
        .groups(&[
            "--reset-offsets",
            "--group",
            "g",
            "--topic",
            "t",
            "--to-earliest",
            "--output",
            "json",
        ])
        .success();
    assert_eq!(
        json_lines(&run.stdout),
        [serde_json::json!({"group": "g", "topic": "t", "partition": 0, "new_offset": 0})]
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Bad input
// ---------------------------------------------------------------------------------------------

#[test]
fn a_data_dir_that_is_a_file_is_reported_by_every_tool() {
    let c = Cluster::new();
    let file = c.scratch("not-a-dir");
    std::fs::write(&file, "hello").expect("write file");
    let path = file.to_string_lossy().to_string();

    let runs: [(&str, &[&str]); 4] = [
        ("topics", &["--list"]),
        ("console-producer", &["--topic", "t"]),
        ("console-consumer", &["--topic", "t", "--timeout-ms", "500"]),
        ("consumer-groups", &["--list"]),
    ];
    for (bin, args) in runs {
        let mut cmd = bare_cmd(bin);
        cmd.arg("--data-dir")
            .arg(&file)
            .args(args)
            .write_stdin("x\n");
        let run = finish(cmd).code(1);
        run.clone().one_line_error(&path);
        assert!(run.stderr.contains("not a directory"), "{bin}: {run:#?}");
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap_or_default(), "hello");
}

#[test]
fn a_corrupted_batch_is_reported_not_served() {
    let c = Cluster::new();
    c.create_topic("fragile", 1, &[]);
    let lines: Vec<String> = (0..20).map(|i| format!("precious record {i}")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    c.produce("fragile", &refs);

    let path = c.first_segment("fragile", 0);
    let mut bytes = std::fs::read(&path).expect("segment");
    let batch_len = u32::from_be_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
    let batch_end = 12 + batch_len;
    assert!(
        batch_end <= bytes.len() && batch_end > 60,
        "one batch of {batch_len} bytes"
    );
    // Past the CRC field (bytes 17..21): inside what the CRC covers.
    let at = (21 + batch_end) / 2;
    bytes[at] ^= 0xff;
    std::fs::write(&path, &bytes).expect("write segment");

    let run = c.consume_with("fragile", &["--from-beginning"]).failure();
    assert!(run.stderr.contains("corrupt"), "{run:#?}");
    assert!(
        run.stderr.contains(&path.to_string_lossy().to_string()),
        "names the segment: {run:#?}"
    );
    assert_eq!(run.stdout, "", "nothing from the damaged batch is printed");
}
