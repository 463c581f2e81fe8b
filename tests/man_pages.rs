//! The committed man pages in `man/` are generated from the tools' argument definitions with
//! clap_mangen; this test fails when they drift. Regenerate with
//! `STREAMLOG_BLESS=1 cargo test --test man_pages`.
//!
//! Each tool's `--help` ends with examples (its `after_help`); in the man page they become an
//! EXAMPLES section, typeset as written, and any note before them a NOTES section.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::CommandFactory;
use streamlog::cli::{console_consumer, console_producer, consumer_groups, server_start, topics};

/// Where the examples start in a tool's `after_help`.
const EXAMPLES_HEADING: &str = "Examples:\n";

fn tools() -> [(&'static str, clap::Command); 5] {
    [
        ("topics", topics::TopicsArgs::command()),
        (
            "console-producer",
            console_producer::ConsoleProducerArgs::command(),
        ),
        (
            "console-consumer",
            console_consumer::ConsoleConsumerArgs::command(),
        ),
        (
            "consumer-groups",
            consumer_groups::ConsumerGroupsArgs::command(),
        ),
        ("server-start", server_start::ServerStartArgs::command()),
    ]
}

/// One line of text for roff, shown as written: backslashes and hyphens escaped, and a leading
/// `.` or `'` kept from being read as a request.
fn roff_literal(line: &str) -> String {
    let escaped = line.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// The after_help of `cmd` split into the note before the examples and the example lines.
fn notes_and_examples(cmd: &clap::Command) -> (String, Vec<String>) {
    let after = cmd
        .get_after_long_help()
        .or_else(|| cmd.get_after_help())
        .map(|s| s.to_string())
        .unwrap_or_default();
    let (notes, examples) = match after.find(EXAMPLES_HEADING) {
        Some(at) => (&after[..at], &after[at + EXAMPLES_HEADING.len()..]),
        None => (after.as_str(), ""),
    };
    let examples = examples
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    (notes.trim().to_string(), examples)
}

/// The man page of one tool: clap_mangen's sections, with the after_help as NOTES and EXAMPLES.
fn man_page(cmd: clap::Command) -> Vec<u8> {
    let (notes, examples) = notes_and_examples(&cmd);
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    man.render_title(&mut out).unwrap();
    man.render_name_section(&mut out).unwrap();
    man.render_synopsis_section(&mut out).unwrap();
    man.render_description_section(&mut out).unwrap();
    man.render_options_section(&mut out).unwrap();
    if !notes.is_empty() {
        writeln!(out, ".SH NOTES").unwrap();
        for line in notes.lines() {
            writeln!(out, "{}", roff_literal(line)).unwrap();
        }
    }
    if !examples.is_empty() {
        writeln!(out, ".SH EXAMPLES\n.nf").unwrap();
        for line in &examples {
            writeln!(out, "{}", roff_literal(line)).unwrap();
        }
        writeln!(out, ".fi").unwrap();
    }
    man.render_version_section(&mut out).unwrap();
    out
}

fn man_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("man")
}

#[test]
fn committed_man_pages_match_the_argument_definitions() {
    let dir = man_dir();
    let bless = std::env::var_os("STREAMLOG_BLESS").is_some();
    if bless {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let mut stale = Vec::new();
    for (name, cmd) in tools() {
        let page = man_page(cmd);
        let file = format!("{name}.1");
        let path = dir.join(&file);
        if bless {
            // Replaced whole, so that the rendering test alongside never reads half a page.
            let tmp = dir.join(format!(".{file}.tmp"));
            std::fs::write(&tmp, &page).unwrap();
            std::fs::rename(&tmp, &path).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&page[..]) {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "stale man pages {stale:?}: run STREAMLOG_BLESS=1 cargo test --test man_pages"
    );
}

#[test]
fn man_pages_render_with_their_examples_as_written() {
    // Rendered from what the test would commit, so this holds before a bless too.
    for (name, cmd) in tools() {
        let (_, examples) = notes_and_examples(&cmd);
        assert!(examples.len() >= 2, "{name}: {examples:?}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("{name}.1"));
        std::fs::write(&path, man_page(cmd)).unwrap();
        let out = Command::new("groff")
            .args(["-man", "-Tutf8", "-P-cbou", "-ww"])
            .arg(&path)
            .output();
        let Ok(out) = out else {
            eprintln!("groff is not installed: man page rendering not checked");
            return;
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "{name}: {stderr}"
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("EXAMPLES"), "{name}: {text}");
        for example in &examples {
            // groff prints escaped hyphens as U+2010/U+2212 in some setups; compare on ASCII.
            let shown = text.replace(['\u{2010}', '\u{2212}'], "-");
            assert!(
                shown.lines().any(|l| l.trim() == example),
                "{name}: example {example:?} not on a line of its own in\n{shown}"
            );
        }
    }
}

/// Runs a tool's binary with one argument and returns its stdout.
fn help_of(name: &str, flag: &str) -> String {
    let bin = match name {
        "topics" => env!("CARGO_BIN_EXE_topics"),
        "console-producer" => env!("CARGO_BIN_EXE_console-producer"),
        "console-consumer" => env!("CARGO_BIN_EXE_console-consumer"),
        "consumer-groups" => env!("CARGO_BIN_EXE_consumer-groups"),
        "server-start" => env!("CARGO_BIN_EXE_server-start"),
        other => panic!("no tool {other}"),
    };
    let out = Command::new(bin).arg(flag).output().unwrap();
    assert!(out.status.success(), "{name} {flag}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The words of an example command line as a shell would pass them: split on spaces, single
/// quotes kept together, and a `<` redirection left out.
fn shell_words(line: &str) -> Vec<String> {
    let line = line.split(" < ").next().unwrap_or(line);
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut started = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                started = true;
            }
            ' ' if !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(word);
    }
    words
}

#[test]
fn every_example_parses_with_the_tools_flags() {
    for (name, cmd) in tools() {
        let (_, examples) = notes_and_examples(&cmd);
        for example in examples {
            let words = shell_words(&example);
            assert_eq!(words.first().map(String::as_str), Some(name), "{example}");
            if let Err(e) = cmd.clone().try_get_matches_from(&words) {
                panic!("{name}: example {example:?} does not parse: {e}");
            }
        }
    }
}

#[test]
fn every_help_ends_with_examples_of_the_tool_itself() {
    for (name, _) in tools() {
        for flag in ["-h", "--help"] {
            let help = help_of(name, flag);
            let tail = help
                .rsplit_once("\nExamples:\n")
                .map(|(_, tail)| tail)
                .unwrap_or_else(|| panic!("{name} {flag}: no Examples: section in\n{help}"));
            let examples: Vec<&str> = tail.lines().filter(|l| !l.trim().is_empty()).collect();
            assert!(
                (2..=3).contains(&examples.len()),
                "{name} {flag}: {examples:?}"
            );
            for example in examples {
                assert!(
                    example.starts_with(&format!("  {name}")),
                    "{name} {flag}: {example:?} is not an indented {name} command line"
                );
            }
        }
    }
}
