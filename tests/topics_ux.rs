//! `topics` bugs from the review: bounded and all-or-nothing creation, the real error first,
//! Kafka's wording for a missing topic, negative numbers, and no prompt without a terminal.

mod common;

use std::time::{Duration, Instant};

use common::Cluster;

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
