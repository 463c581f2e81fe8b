//! The tools' argument definitions and run functions. Each binary in `src/bin/` is one line:
//! it calls [`main`] with its tool's `run`.
//!
//! Exit codes: 0 success; 1 the operation failed (one line on stderr says why); 2 invalid usage.
//! A closed stdout (`| head`) ends a tool quietly with 0.

pub mod args;
pub mod completion;
pub mod console_consumer;
pub mod console_producer;
pub mod consumer_groups;
pub mod deserializer;
pub mod envelope;
pub mod format_string;
pub mod partition_ends;
pub mod server_start;
pub mod time;
pub mod topics;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

/// Exit code for a failed operation.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code for invalid usage (bad flags or flag combinations).
pub const EXIT_USAGE: u8 = 2;

/// An error the user caused with the command line, reported with exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Returns a usage error.
pub fn usage<T>(msg: impl Into<String>) -> anyhow::Result<T> {
    Err(UsageError(msg.into()).into())
}

/// Parses arguments (accepting unambiguous abbreviations of long flags, as Kafka's tools do),
/// runs the tool, prints any error as one line and maps it to an exit code.
pub fn main<A: Parser>(run: fn(A) -> anyhow::Result<ExitCode>) -> ExitCode {
    // A soft limit of 1,024 descriptors is common while the hard one is far higher; a topic of
    // thousands of partitions needs more than the soft one.
    crate::log::handles::raise_open_files_limit();
    let matches = match A::command().infer_long_args(true).try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    let args = match A::from_arg_matches(&matches) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match run(args) {
        Ok(code) => code,
        Err(e) if crate::output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {}", one_line(&e));
            if e.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::from(EXIT_FAILURE)
            }
        }
    }
}

/// The error chain on one line, outermost first.
pub fn one_line(e: &anyhow::Error) -> String {
    format!("{e:#}").replace('\n', " ")
}

/// Generates shell completions for a tool into `out`: clap_complete's script, followed for bash
/// by the dynamic completion of topic and group names ([`completion`]).
pub fn write_completions<A: CommandFactory>(
    shell: clap_complete::Shell,
    name: &str,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut cmd = A::command();
    completion::write(shell, &mut cmd, name, out)
}
