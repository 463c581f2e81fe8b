//! Helpers for the tools' integration tests: a throwaway data dir per test, and runners for the
//! built binaries that always pass `--data-dir` and check that nothing panicked.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use tempfile::TempDir;

/// A guard against a hung tool: no test here should come anywhere near it.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// What a tool run produced.
#[derive(Debug, Clone)]
pub struct Run {
    /// Exit code (-1 if killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Asserts exit code 0 and returns self.
    #[track_caller]
    pub fn success(self) -> Self {
        assert_eq!(self.code, 0, "expected success, got {self:#?}");
        self
    }

    /// Asserts a specific exit code and returns self.
    #[track_caller]
    pub fn code(self, code: i32) -> Self {
        assert_eq!(self.code, code, "expected exit code {code}, got {self:#?}");
        self
    }

    /// Asserts a non-zero exit code and returns self.
    #[track_caller]
    pub fn failure(self) -> Self {
        assert_ne!(self.code, 0, "expected failure, got {self:#?}");
        self
    }

    /// Asserts stderr contains `text` and returns self.
    #[track_caller]
    pub fn stderr_has(self, text: &str) -> Self {
        assert!(
            self.stderr.contains(text),
            "stderr should contain {text:?}, got {self:#?}"
        );
        self
    }

    /// Asserts stdout contains `text` and returns self.
    #[track_caller]
    pub fn stdout_has(self, text: &str) -> Self {
        assert!(
            self.stdout.contains(text),
            "stdout should contain {text:?}, got {self:#?}"
        );
        self
    }

    /// Asserts the error is reported on exactly one non-empty line of stderr that contains
    /// `text`, and returns self.
    #[track_caller]
    pub fn one_line_error(self, text: &str) -> Self {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert!(
            lines.iter().filter(|l| l.contains(text)).count() == 1,
            "stderr should have one line containing {text:?}, got {self:#?}"
        );
        self
    }

    /// Stdout split into lines.
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

/// A data dir in a temp directory, removed when dropped.
pub struct Cluster {
    dir: TempDir,
    data: PathBuf,
}

impl Cluster {
    /// A fresh, empty data dir.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        Cluster { dir, data }
    }

    /// The data dir path.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// A scratch path next to the data dir (not inside it).
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A command for one of the tools, with `--data-dir` set and the environment cleaned.
    pub fn cmd(&self, bin: &str) -> Command {
        let mut cmd = bare_cmd(bin);
        cmd.arg("--data-dir").arg(&self.data);
        cmd
    }

    /// Runs a tool with `args` and empty stdin.
    pub fn run(&self, bin: &str, args: &[&str]) -> Run {
        self.run_with_stdin(bin, args, "")
    }

    /// Runs a tool with `args`, feeding `stdin`.
    pub fn run_with_stdin(&self, bin: &str, args: &[&str], stdin: &str) -> Run {
        let mut cmd = self.cmd(bin);
        cmd.args(args).write_stdin(stdin.as_bytes().to_vec());
        finish(cmd)
    }

    /// `topics ARGS`.
    pub fn topics(&self, args: &[&str]) -> Run {
        self.run("topics", args)
    }

    /// `consumer-groups ARGS`.
    pub fn groups(&self, args: &[&str]) -> Run {
        self.run("consumer-groups", args)
    }

    /// Creates a topic with `partitions` partitions and extra `args`, asserting success.
    pub fn create_topic(&self, topic: &str, partitions: u32, args: &[&str]) {
        let n = partitions.to_string();
        let mut all = vec!["--create", "--topic", topic, "--partitions", &n];
        all.extend_from_slice(args);
        let run = self.topics(&all).success();
        assert_eq!(run.stdout, format!("Created topic {topic}.\n"));
    }

    /// Produces `lines` (one record each) to `topic` with extra producer `args`.
    pub fn produce_with(&self, topic: &str, lines: &[&str], args: &[&str]) -> Run {
        let mut input = lines.join("\n");
        input.push('\n');
        let mut all = vec!["--topic", topic];
        all.extend_from_slice(args);
        self.run_with_stdin("console-producer", &all, &input)
    }

    /// Produces `lines` to `topic`, asserting success.
    pub fn produce(&self, topic: &str, lines: &[&str]) {
        self.produce_with(topic, lines, &[]).success();
    }

    /// Consumes `topic` with extra consumer `args`; ends after 500 ms without records.
    pub fn consume_with(&self, topic: &str, args: &[&str]) -> Run {
        let mut all = vec!["--topic", topic, "--timeout-ms", "500"];
        all.extend_from_slice(args);
        self.run("console-consumer", &all)
    }

    /// Everything in `topic` from the beginning, asserting success; returns stdout lines.
    pub fn consume_all(&self, topic: &str) -> Vec<String> {
        self.consume_with(topic, &["--from-beginning"])
            .success()
            .lines()
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// A fresh data dir with topic `t` (one partition) holding `lines`, and group `g` that has
    /// read the first `read` of them.
    pub fn with_group_that_read(lines: &[&str], read: usize) -> Cluster {
        let c = Cluster::new();
        c.create_topic("t", 1, &[]);
        c.produce("t", lines);
        let n = read.to_string();
        let run = c
            .consume_with(
                "t",
                &["--group", "g", "--from-beginning", "--max-messages", &n],
            )
            .success();
        let expected: String = lines[..read].iter().map(|l| format!("{l}\n")).collect();
        assert_eq!(run.stdout, expected);
        c
    }

    /// The segment file of the first segment of `topic`'s partition `p`.
    pub fn first_segment(&self, topic: &str, p: u32) -> PathBuf {
        self.data
            .join(format!("{topic}-{p}"))
            .join("00000000000000000000.log")
    }
}

/// A command for one of the tools with no `--data-dir`, no data dir, cluster or context in the
/// environment, and no contexts file (the user's own must not leak in).
pub fn bare_cmd(bin: &str) -> Command {
    let mut cmd = Command::cargo_bin(bin).expect("tool binary is built");
    cmd.env_remove("STREAMLOG_DATA_DIR")
        .env_remove("STREAMLOG_CONTEXT")
        .env_remove("STREAMLOG_BOOTSTRAP_SERVER")
        .env("STREAMLOG_CONFIG", "/nonexistent/streamlog/config.toml")
        .env_remove("RUST_BACKTRACE")
        .timeout(HANG_GUARD);
    cmd
}

/// Runs a prepared command and checks that it did not panic.
#[track_caller]
pub fn finish(mut cmd: Command) -> Run {
    let out = cmd.output().expect("tool runs");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "a tool panicked: {run:#?}"
    );
    assert_ne!(
        run.code, 101,
        "exit code 101 is Rust's panic exit: {run:#?}"
    );
    assert_ne!(run.code, -1, "the tool was killed by a signal: {run:#?}");
    run
}

/// Path of a built tool binary.
pub fn bin_path(bin: &str) -> PathBuf {
    assert_cmd::cargo::cargo_bin(bin)
}
