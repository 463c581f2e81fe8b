//! The committed shell completions in `completions/` are generated from the tools' argument
//! definitions; this test fails when they drift. Regenerate with
//! `STREAMLOG_BLESS=1 cargo test --test completions`.

use clap_complete::Shell;
use streamlog::cli::{
    self, console_consumer, console_producer, consumer_groups, server_start, topics,
};

type Generator = fn(Shell, &str, &mut dyn std::io::Write);

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
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let bless = std::env::var_os("STREAMLOG_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, generate) in tools {
        for (shell, file) in [
            (Shell::Bash, format!("{name}.bash")),
            (Shell::Zsh, format!("_{name}")),
            (Shell::Fish, format!("{name}.fish")),
        ] {
            let mut buf = Vec::new();
            generate(shell, name, &mut buf);
            let path = dir.join(&file);
            if bless {
                std::fs::write(&path, &buf).unwrap();
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
