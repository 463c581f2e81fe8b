//! `consumer-groups` for people and scripts: TOTAL-LAG, `--list --state` with member counts,
//! `--watch`, confirmations that never prompt without a terminal, and the review's bugs (a
//! damaged group, error order, invalid input accepted).

mod common;

use std::time::{Duration, Instant};

use common::{Cluster, bin_path};
use serde_json::Value;

/// A group `g` that read 2 of topic `t`'s 4 records (all in partition 0).
fn group_with_lag() -> Cluster {
    Cluster::with_group_that_read(&["a", "b", "c", "d"], 2)
}

#[test]
fn describe_text_is_kafkas_layout_with_no_total() {
    let c = group_with_lag();
    let run = c.groups(&["--describe", "--group", "g"]).success();
    assert_eq!(
        run.stdout,
        "\nGROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID\n\
         g               t               0          2               4               2               -               -               -\n"
    );
}

#[test]
fn describe_table_ends_with_the_groups_total_lag_and_no_colour_in_a_pipe() {
    let c = Cluster::new();
    c.create_topic("t", 2, &[]);
    c.produce("t", &["a", "b", "c", "d", "e"]);
    c.consume_with(
        "t",
        &["--group", "g", "--from-beginning", "--max-messages", "1"],
    )
    .success();
    let run = c
        .groups(&["--describe", "--group", "g", "--output", "table"])
        .success();
    let last = run.stdout.lines().last().unwrap_or_default();
    // One record consumed of five: a total lag of 4 whichever partition it came from.
    assert_eq!(last, "GROUP g TOTAL-LAG 4", "{run:#?}");
    assert!(run.stdout.contains("│ g"), "a boxed table: {run:#?}");
    assert!(
        !run.stdout.contains('\x1b'),
        "no colour off a terminal: {run:#?}"
    );
}

#[test]
fn describe_json_rows_carry_the_total_lag() {
    let c = group_with_lag();
    let run = c
        .groups(&["--describe", "--group", "g", "--output", "json"])
        .success();
    let rows: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(rows.len(), 1, "{run:#?}");
    assert_eq!(rows[0]["lag"], 2);
    assert_eq!(rows[0]["total_lag"], 2);
}

#[test]
fn list_state_text_is_kafkas_padded_layout() {
    let c = group_with_lag();
    let run = c.groups(&["--list", "--state"]).success();
    // Kafka: the group column max(15, longest id) + 10 wide, then the state padded to 20.
    assert_eq!(
        run.stdout,
        format!(
            "{:<25} {:<20}\n{:<25} {:<20}\n",
            "GROUP", "STATE", "g", "Empty"
        )
    );
    let run = c.groups(&["--list", "--state", "EMPTY,stable"]).success();
    assert!(
        run.stdout.contains("\ng "),
        "states match in any case: {run:#?}"
    );
    let run = c.groups(&["--list", "--state", "Stable"]).success();
    assert_eq!(run.stdout.lines().count(), 1, "only the header: {run:#?}");
}

#[test]
fn list_table_and_json_show_state_and_member_count() {
    let c = group_with_lag();
    let run = c.groups(&["--list", "--output", "json"]).success();
    assert_eq!(
        run.stdout,
        "{\"group\":\"g\",\"members\":0,\"state\":\"Empty\"}\n"
    );
    let run = c
        .groups(&["--list", "--state", "--output", "table"])
        .success();
    assert!(run.stdout.contains("MEMBERS"), "{run:#?}");
    assert!(run.stdout.contains("Empty"), "{run:#?}");
}

#[test]
fn list_refuses_an_unknown_state_naming_the_valid_ones() {
    let c = group_with_lag();
    let run = c.groups(&["--list", "--state", "Bogus"]).code(2);
    assert_eq!(
        run.stderr,
        "Error: Invalid state list 'Bogus'. Valid states are: PreparingRebalance, CompletingRebalance, Stable, Dead, Empty, Assigning, Reconciling\n"
    );
    assert_eq!(run.stdout, "");
}

#[test]
fn an_empty_group_id_is_refused_and_creates_nothing() {
    let c = group_with_lag();
    for args in [
        &["--describe", "--group", ""][..],
        &[
            "--reset-offsets",
            "--group",
            "",
            "--topic",
            "t",
            "--to-earliest",
            "--execute",
        ][..],
    ] {
        c.groups(args).code(2).one_line_error("group id ''");
    }
    let groups = c.data_dir().join(".streamlog").join("groups");
    let names: Vec<String> = std::fs::read_dir(&groups)
        .expect("groups dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["g"], "no directory for the empty group id");
}

#[test]
fn a_negative_to_offset_says_what_is_wrong() {
    let c = group_with_lag();
    let run = c
        .groups(&[
            "--reset-offsets",
            "--group",
            "g",
            "--topic",
            "t",
            "--to-offset",
            "-3",
            "--execute",
        ])
        .code(2)
        .one_line_error("The offset must be 0 or greater");
    assert!(!run.stderr.contains("unexpected argument"), "{run:#?}");
    // --shift-by still takes negative numbers.
    c.groups(&[
        "--reset-offsets",
        "--group",
        "g",
        "--topic",
        "t",
        "--shift-by",
        "-1",
        "--execute",
    ])
    .success()
    .stdout_has("g               t               0          1");
}

#[test]
fn a_damaged_group_is_named_and_the_others_still_listed() {
    let c = group_with_lag();
    c.consume_with("t", &["--group", "h", "--from-beginning"])
        .success();
    let offsets = c.data_dir().join(".streamlog/groups/h/offsets.json");
    assert!(
        offsets.exists(),
        "the group store keeps {}",
        offsets.display()
    );
    std::fs::write(&offsets, b"\0garbage{").expect("damage the file");

    let run = c.groups(&["--list"]).code(1);
    assert_eq!(run.stdout, "g\n");
    let run = run.one_line_error("cannot read consumer group 'h'");
    assert!(
        run.stderr.contains("offsets.json"),
        "names the file: {run:#?}"
    );

    let run = c.groups(&["--list", "--state"]).code(1);
    assert!(run.stdout.contains("\ng "), "{run:#?}");
    assert!(!run.stdout.contains("\nh "), "{run:#?}");

    // Describing every group still shows the good one.
    let run = c.groups(&["--describe", "--all-groups"]).code(1);
    assert!(run.stdout.contains("\ng "), "{run:#?}");

    // A damaged group does not stop a topic's deletion either.
    c.topics(&["--delete", "--topic", "t"]).success();
}

#[test]
fn a_failing_reset_prints_its_error_first_and_no_warning() {
    let c = group_with_lag();
    let run = c
        .groups(&[
            "--reset-offsets",
            "--group",
            "g",
            "--topic",
            "t:5",
            "--to-earliest",
        ])
        .code(1);
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("Error:") && first.contains("t-5"),
        "the error comes first: {run:#?}"
    );
    assert!(
        !run.stderr.contains("--execute option is missing"),
        "{run:#?}"
    );
    // A successful dry run still gets Kafka's warning.
    c.groups(&[
        "--reset-offsets",
        "--group",
        "g",
        "--topic",
        "t",
        "--to-earliest",
    ])
    .success()
    .stderr_has("--execute option is missing");
}

#[test]
fn delete_without_a_terminal_never_prompts() {
    let c = group_with_lag();
    c.groups(&["--delete-offsets", "--group", "g", "--topic", "t"])
        .success()
        .stdout_has("Request succeeded for deleting offsets from group g.");
    c.consume_with(
        "t",
        &["--group", "g", "--from-beginning", "--max-messages", "1"],
    )
    .success();
    let run = c.groups(&["--delete", "--group", "g", "--yes"]).success();
    assert_eq!(
        run.stdout,
        "Deletion of requested consumer groups ('g') was successful.\n"
    );
    c.groups(&["--list", "--yes"])
        .code(2)
        .one_line_error("[yes]");
}

#[test]
fn watch_prints_a_fresh_view_each_interval_without_escape_codes() {
    let c = group_with_lag();
    let started = Instant::now();
    let run = c
        .groups(&[
            "--describe",
            "--group",
            "g",
            "--watch",
            "0.2",
            "--watch-count",
            "3",
        ])
        .success();
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "waits between views"
    );
    assert!(
        !run.stdout.contains('\x1b'),
        "no escape codes in a pipe: {run:#?}"
    );
    assert_eq!(run.stdout.matches("Every 0.2s: ").count(), 3, "{run:#?}");
    assert_eq!(
        run.stdout.matches("GROUP g TOTAL-LAG 2\n").count(),
        3,
        "{run:#?}"
    );
    let header = "GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUME-RATE  PRODUCE-RATE  TIME-TO-CATCH-UP  CONSUMER-ID";
    assert_eq!(run.stdout.matches(header).count(), 3, "{run:#?}");
    let rows: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("g ")).collect();
    // No rate before a second sample; then nothing moves: 0 records/s, never caught up.
    assert_eq!(
        rows[0].split_whitespace().collect::<Vec<_>>(),
        ["g", "t", "0", "2", "4", "2", "-", "-", "-", "-"]
    );
    assert_eq!(
        rows[2].split_whitespace().collect::<Vec<_>>(),
        ["g", "t", "0", "2", "4", "2", "0.0", "0.0", "∞", "-"]
    );
}

#[test]
fn watch_ends_with_exit_0_on_ctrl_c() {
    let c = group_with_lag();
    let mut child = std::process::Command::new(bin_path("consumer-groups"))
        .arg("--data-dir")
        .arg(c.data_dir())
        .args(["--describe", "--group", "g", "--watch", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: kill(2) on our own child's pid, which has not been waited for yet.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(sent, 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "--watch did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn watch_is_only_for_describing_offsets() {
    let c = group_with_lag();
    c.groups(&["--list", "--watch"])
        .code(2)
        .one_line_error("[watch]");
    c.groups(&["--describe", "--group", "g", "--members", "--watch", "1"])
        .code(2)
        .one_line_error("[watch]");
    for secs in ["0", "-1"] {
        c.groups(&["--describe", "--group", "g", "--watch", secs])
            .code(2)
            .one_line_error("greater than 0");
    }
}

/// Runs `consumer-groups ARGS` on a pseudo-terminal (util-linux `script`), typing `keys` after
/// half a second; returns the exit code and everything the terminal showed. None when `script`
/// is not installed.
fn on_terminal(
    c: &Cluster,
    args: &[&str],
    keys: &str,
    env: &[(&str, &str)],
) -> Option<(i32, String)> {
    use std::io::Write;
    let line = std::iter::once(bin_path("consumer-groups").display().to_string())
        .chain(["--data-dir".to_string(), c.data_dir().display().to_string()])
        .chain(args.iter().map(|a| format!("'{a}'")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"])
        .env_remove("NO_COLOR")
        .env_remove("STREAMLOG_DATA_DIR")
        .env_remove("STREAMLOG_BOOTSTRAP_SERVER")
        .env_remove("STREAMLOG_CONTEXT")
        .env("STREAMLOG_CONFIG", "/nonexistent/streamlog/config.toml")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().ok()?;
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
fn watch_on_a_terminal_redraws_in_place_with_colour_unless_no_color() {
    let c = group_with_lag();
    let args = [
        "--describe",
        "--group",
        "g",
        "--watch",
        "0.2",
        "--watch-count",
        "2",
    ];
    let Some((code, screen)) = on_terminal(&c, &args, "", &[]) else {
        eprintln!("skipped: no `script` to make a terminal");
        return;
    };
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.starts_with("\x1b[H\x1b[2JEvery 0.2s: "),
        "{screen:?}"
    );
    assert_eq!(screen.matches("\x1b[H\x1b[2J").count(), 2, "{screen:?}");
    assert!(screen.contains("(Ctrl-C to stop)"), "{screen:?}");
    assert!(
        screen.contains("┆ TIME-TO-CATCH-UP ┆"),
        "a table on a terminal: {screen:?}"
    );
    assert!(
        screen.contains("GROUP g TOTAL-LAG \x1b[33m2\x1b[0m"),
        "{screen:?}"
    );

    let (_, plain) = on_terminal(&c, &args, "", &[("NO_COLOR", "1")]).expect("script ran");
    assert!(plain.contains("GROUP g TOTAL-LAG 2"), "{plain:?}");
    assert!(!plain.contains("\x1b[33m"), "NO_COLOR: {plain:?}");
    assert!(
        plain.contains("\x1b[H\x1b[2J"),
        "still redrawn in place: {plain:?}"
    );
}

#[test]
fn deletes_on_a_terminal_ask_first() {
    let c = group_with_lag();
    let Some((code, screen)) = on_terminal(&c, &["--delete", "--group", "g"], "n", &[]) else {
        eprintln!("skipped: no `script` to make a terminal");
        return;
    };
    assert_eq!(code, 1, "{screen}");
    assert!(
        screen.contains("These consumer groups will be deleted:"),
        "{screen}"
    );
    assert!(screen.contains("Aborted."), "{screen}");
    c.groups(&["--list"]).success().stdout_has("g");

    let (code, screen) = on_terminal(
        &c,
        &["--delete-offsets", "--group", "g", "--topic", "t"],
        "n",
        &[],
    )
    .expect("script ran");
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("  t: partitions 0"), "{screen}");
    c.groups(&["--describe", "--group", "g"])
        .success()
        .stdout_has("g               t               0          2");

    let (code, screen) =
        on_terminal(&c, &["--delete", "--group", "g"], "y", &[]).expect("script ran");
    assert_eq!(code, 0, "{screen}");
    assert_eq!(c.groups(&["--list"]).success().stdout, "");

    // --yes never asks.
    c.consume_with("t", &["--group", "h", "--from-beginning"])
        .success();
    let (code, screen) =
        on_terminal(&c, &["--delete", "--group", "h", "--yes"], "", &[]).expect("script ran");
    assert_eq!(code, 0, "{screen}");
    assert!(!screen.contains("[y/N]"), "{screen}");
}
