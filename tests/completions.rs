//! The committed shell completions in `completions/` are generated from the tools' argument
//! definitions; this test fails when they drift. Regenerate with
//! `STREAMLOG_BLESS=1 cargo test --test completions`.
//!
//! The bash scripts also complete topic and group names by asking the tools; the tests below
//! source the committed scripts in a real bash and check what it offers.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap_complete::Shell;
use streamlog::cli::{
    self, console_consumer, console_producer, consumer_groups, server_start, topics,
};

type Generator = fn(Shell, &str, &mut dyn std::io::Write) -> std::io::Result<()>;

fn completions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("completions")
}

#[test]
fn committed_completions_match_the_argument_definitions() {
    let tools: [(&str, Generator); 5] = [
        ("topics", cli::write_completions::<topics::TopicsArgs>),
        (
            "console-producer",
            cli::write_completions::<console_producer::ConsoleProducerArgs>,
        ),
        (
            "console-consumer",
            cli::write_completions::<console_consumer::ConsoleConsumerArgs>,
        ),
        (
            "consumer-groups",
            cli::write_completions::<consumer_groups::ConsumerGroupsArgs>,
        ),
        (
            "server-start",
            cli::write_completions::<server_start::ServerStartArgs>,
        ),
    ];
    let dir = completions_dir();
    let bless = std::env::var_os("STREAMLOG_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, generate) in tools {
        for (shell, file) in [
            (Shell::Bash, format!("{name}.bash")),
            (Shell::Zsh, format!("_{name}")),
            (Shell::Fish, format!("{name}.fish")),
            (Shell::Elvish, format!("{name}.elv")),
            (Shell::PowerShell, format!("_{name}.ps1")),
        ] {
            let mut buf = Vec::new();
            generate(shell, name, &mut buf).unwrap();
            let path = dir.join(&file);
            if bless {
                // Replaced whole, so that the bash tests running alongside never source half a file.
                let tmp = dir.join(format!(".{file}.tmp"));
                std::fs::write(&tmp, &buf).unwrap();
                std::fs::rename(&tmp, &path).unwrap();
            } else if std::fs::read(&path).ok().as_deref() != Some(&buf[..]) {
                stale.push(file);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale completions {stale:?}: run STREAMLOG_BLESS=1 cargo test --test completions"
    );
}

#[test]
fn only_the_tools_with_topic_or_group_flags_get_the_dynamic_wrapper() {
    let read = |file: &str| std::fs::read_to_string(completions_dir().join(file)).unwrap();
    for tool in [
        "topics",
        "console-producer",
        "console-consumer",
        "consumer-groups",
    ] {
        let script = read(&format!("{tool}.bash"));
        let wrapper = format!("_streamlog_{}", tool.replace('-', "_"));
        assert!(
            script.contains(&format!("complete -F {wrapper} -o nosort")),
            "{tool}.bash does not register {wrapper}"
        );
    }
    let server = read("server-start.bash");
    assert!(!server.contains("_streamlog_"), "{server}");
    // `--group` is completed only where the tool has it.
    assert!(!read("topics.bash").contains("--group)"));
    assert!(read("console-consumer.bash").contains("--group)"));
}

// ---------------------------------------------------------------------------------------------
// Dynamic completion in a real bash.
// ---------------------------------------------------------------------------------------------

/// Runs a tool to completion, failing the test on a non-zero exit.
fn run_tool(bin: &str, args: &[&str], stdin: &str) {
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{bin} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A data dir with topics `orders` and `payments`, and groups `order-readers` and `auditors`.
fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for topic in ["orders", "payments"] {
        run_tool(
            env!("CARGO_BIN_EXE_topics"),
            &["--data-dir", d, "--create", "--topic", topic],
            "",
        );
    }
    run_tool(
        env!("CARGO_BIN_EXE_console-producer"),
        &["--data-dir", d, "--topic", "orders"],
        "one\n",
    );
    for group in ["order-readers", "auditors"] {
        run_tool(
            env!("CARGO_BIN_EXE_console-consumer"),
            &[
                "--data-dir",
                d,
                "--topic",
                "orders",
                "--from-beginning",
                "--group",
                group,
                "--max-messages",
                "1",
            ],
            "",
        );
    }
    dir
}

/// The directory of the built binaries, to put on PATH.
fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_topics"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Sources `completions/<tool>.bash`, completes the last of `words` (the command line so far,
/// the word under the cursor last) with the function registered for `tool`, and returns
/// COMPREPLY. `env` is added to an environment whose data dir is empty, so that only what the
/// command line names can be found.
fn complete(tool: &str, words: &[&str], env: &[(&str, &str)]) -> Vec<String> {
    let empty = tempfile::tempdir().unwrap();
    let script = completions_dir().join(format!("{tool}.bash"));
    let path = format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let program = r#"
        source "$1" || exit 90
        tool="$2"; shift 2
        func=$(complete -p "$tool" | sed -E 's/.* -F ([^ ]+) .*/\1/')
        COMP_WORDS=("$@")
        COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
        COMP_LINE="${COMP_WORDS[*]}"
        COMP_POINT=${#COMP_LINE}
        prev=""
        (( COMP_CWORD > 0 )) && prev="${COMP_WORDS[COMP_CWORD-1]}"
        "$func" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "$prev"
        printf '%s\n' "${COMPREPLY[@]}"
    "#;
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(program)
        .arg("bash")
        .arg(&script)
        .arg(tool)
        .args(words)
        .env("PATH", path)
        .env("STREAMLOG_DATA_DIR", empty.path())
        .env("STREAMLOG_CONFIG", empty.path().join("no-config.toml"))
        .env_remove("STREAMLOG_BOOTSTRAP_SERVER")
        .env_remove("STREAMLOG_CONTEXT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "bash failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_topic_names_from_the_data_dir_on_the_command_line() {
    let dir = data_dir();
    let d = dir.path().to_str().unwrap();
    let reply = complete(
        "console-consumer",
        &["console-consumer", "--data-dir", d, "--topic", "or"],
        &[],
    );
    assert_eq!(reply, ["orders"]);
    // The same through topics.bash, the `--data-dir=D` form, and an empty prefix.
    let reply = complete(
        "topics",
        &["topics", "--describe", "--data-dir", "=", d, "--topic", ""],
        &[],
    );
    assert!(reply.contains(&"orders".to_string()), "{reply:?}");
    assert!(reply.contains(&"payments".to_string()), "{reply:?}");
    // `--topic=p` comes to bash as `--topic` `=` `p`.
    let reply = complete(
        "console-producer",
        &["console-producer", "--data-dir", d, "--topic", "=", "p"],
        &[],
    );
    assert_eq!(reply, ["payments"]);
}

#[test]
fn bash_completes_group_names_and_uses_the_binary_next_to_the_one_typed() {
    let dir = data_dir();
    let d = dir.path().to_str().unwrap();
    let reply = complete(
        "console-consumer",
        &["console-consumer", "--data-dir", d, "--group", "ord"],
        &[],
    );
    assert_eq!(reply, ["order-readers"]);
    // Typed with a path, the listing runs the sibling binary (PATH has no streamlog tools).
    let typed = env!("CARGO_BIN_EXE_consumer-groups");
    let reply = complete(
        "consumer-groups",
        &[typed, "--describe", "--group", "a", "--data-dir", d],
        &[("PATH", "/usr/bin:/bin")],
    );
    // The cursor is on the last word: that is a --data-dir value here, not a group.
    assert!(!reply.contains(&"auditors".to_string()), "{reply:?}");
    let reply = complete(
        "consumer-groups",
        &[typed, "--data-dir", d, "--describe", "--group", "a"],
        &[("PATH", "/usr/bin:/bin")],
    );
    assert_eq!(reply, ["auditors"]);
}

#[test]
fn bash_follows_the_environment_and_named_contexts() {
    let dir = data_dir();
    let d = dir.path().to_str().unwrap();
    // Nothing on the command line: the tools read STREAMLOG_DATA_DIR themselves.
    let reply = complete(
        "console-consumer",
        &["console-consumer", "--topic", "pay"],
        &[("STREAMLOG_DATA_DIR", d)],
    );
    assert_eq!(reply, ["payments"]);
    // Without it, the empty data dir of the environment lists nothing.
    let reply = complete(
        "console-consumer",
        &["console-consumer", "--topic", ""],
        &[],
    );
    assert!(reply.is_empty(), "{reply:?}");
    // `--context NAME` is passed along.
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!("[contexts.scratch]\ndata-dir = {:?}\n", dir.path()),
    )
    .unwrap();
    let mut reply = complete(
        "consumer-groups",
        &["consumer-groups", "--context", "scratch", "--group", ""],
        &[("STREAMLOG_CONFIG", config.to_str().unwrap())],
    );
    reply.sort();
    assert_eq!(reply, ["auditors", "order-readers"]);
}

#[test]
fn bash_gives_up_on_an_unreachable_cluster_within_the_timeout() {
    // Nothing listens on port 1: the listing would wait for the cluster far longer than 2 s.
    let started = Instant::now();
    let reply = complete(
        "console-consumer",
        &[
            "console-consumer",
            "--bootstrap-server",
            "127.0.0.1:1",
            "--topic",
            "",
        ],
        &[],
    );
    assert!(reply.is_empty(), "{reply:?}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "took {:?}",
        started.elapsed()
    );
}
