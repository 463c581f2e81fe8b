//! `consumer-groups`: list, describe, reset and delete consumer groups (Kafka's
//! `kafka-consumer-groups.sh`).
//!
//! Beyond Kafka's text (which stays byte for byte Kafka's):
//! - `--describe` in the table view ends each group with `GROUP <g> TOTAL-LAG <n>` (rpk's total,
//!   the sum of the known lags); JSON rows carry `total_lag`. Kafka's text prints no total.
//! - `--list` in the table and JSON views shows `GROUP STATE MEMBERS`; `--list --state` in text
//!   is Kafka's `GROUP STATE` layout. An unknown state is a usage error naming the valid ones.
//! - A group whose data cannot be read (a damaged offsets file) is named on stderr, one line;
//!   the others are still listed or described, and the exit code is 1.
//! - `--describe --watch [SECS]` redraws the offsets with consume and produce rates and the time
//!   to catch up; see [`watch`].
//! - `--delete` and `--delete-offsets` ask before deleting when stdin and stderr are terminals
//!   (`--yes` skips); declined, `Aborted.` and exit 1. Without a terminal nothing is asked.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use clap::Parser;
use serde_json::json;

use super::args::CommonArgs;
use super::usage;
use crate::client::{Admin, GroupDescription, OffsetSpec};
use crate::error::Error;
use crate::output::{Format, Rows, print};

/// The examples at the end of `--help`.
const EXAMPLES: &str = "\
Examples:
  consumer-groups --list
  consumer-groups --describe --group my-group
  consumer-groups --reset-offsets --group my-group --topic quickstart-events --to-earliest --execute";

/// List, describe, delete consumer groups, or reset their offsets.
#[derive(Debug, Parser)]
#[command(name = "consumer-groups", version, after_help = EXAMPLES)]
pub struct ConsumerGroupsArgs {
    /// List all consumer groups.
    #[arg(long)]
    pub list: bool,
    /// Describe groups: their offsets and lag (default), members (--members) or state (--state).
    #[arg(long)]
    pub describe: bool,
    /// Delete groups that have no active members.
    #[arg(long)]
    pub delete: bool,
    /// Delete committed offsets of a group for --topic.
    #[arg(long)]
    pub delete_offsets: bool,
    /// Reset a group's committed offsets (a dry run unless --execute).
    #[arg(long)]
    pub reset_offsets: bool,
    /// The group; repeatable.
    #[arg(long, value_name = "GROUP")]
    pub group: Vec<String>,
    /// Act on every group.
    #[arg(long)]
    pub all_groups: bool,
    /// A topic, optionally with partitions (`t:0,1`); repeatable.
    #[arg(long, value_name = "TOPIC[:P,..]")]
    pub topic: Vec<String>,
    /// With --reset-offsets: every topic the group has offsets for.
    #[arg(long)]
    pub all_topics: bool,
    /// With --describe: show members.
    #[arg(long)]
    pub members: bool,
    /// With --describe: show the members' assignments too.
    #[arg(long)]
    pub verbose: bool,
    /// With --describe: show offsets (the default view).
    #[arg(long)]
    pub offsets: bool,
    /// With --describe: show the group state. With --list: show states, optionally only these
    /// (comma-separated).
    #[arg(long, value_name = "STATES", num_args = 0..=1, default_missing_value = "")]
    pub state: Option<String>,
    /// Reset to the earliest offset.
    #[arg(long)]
    pub to_earliest: bool,
    /// Reset to the latest offset.
    #[arg(long)]
    pub to_latest: bool,
    /// Reset to the current committed offset.
    #[arg(long)]
    pub to_current: bool,
    /// Reset to this offset (clamped to the log).
    #[arg(long, value_name = "OFFSET", allow_negative_numbers = true)]
    pub to_offset: Option<i64>,
    /// Move the committed offset by N (may be negative; clamped to the log).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub shift_by: Option<i64>,
    /// Reset to the first offset at or after this time: YYYY-MM-DDTHH:mm:SS.sss, optionally
    /// followed by Z, ±hh:mm, ±hhmm or ±hh; without a zone the time is UTC, as in Kafka.
    #[arg(long, value_name = "DATETIME")]
    pub to_datetime: Option<String>,
    /// Reset to the first offset at or after now minus this ISO-8601 duration (PnDTnHnMn.nS,
    /// e.g. PT1H30M or P1DT12H; PT alone is not a duration).
    #[arg(long, value_name = "DURATION")]
    pub by_duration: Option<String>,
    /// Show what a reset would do (the default).
    #[arg(long)]
    pub dry_run: bool,
    /// Apply the reset.
    #[arg(long)]
    pub execute: bool,
    /// With --describe: redraw the offsets and lag every SECS seconds (default 2) with each
    /// partition's consume rate and time to catch up, until Ctrl-C.
    #[arg(
        long,
        value_name = "SECS",
        num_args = 0..=1,
        default_missing_value = "2",
        allow_negative_numbers = true
    )]
    pub watch: Option<f64>,
    /// With --watch: stop after this many refreshes (for scripts and tests).
    #[arg(long, value_name = "N", hide = true)]
    pub watch_count: Option<u64>,
    /// With --delete or --delete-offsets: do not ask for confirmation (it is asked only when
    /// stdin and stderr are terminals).
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

fn parse_topic_arg(arg: &str) -> anyhow::Result<(String, Option<Vec<i32>>)> {
    match arg.split_once(':') {
        None => Ok((arg.to_string(), None)),
        Some((t, ps)) => {
            let parts = ps
                .split(',')
                .map(|p| p.trim().parse::<i32>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| anyhow!("--topic {arg}: partitions must be numbers, as in {t}:0,1"))?;
            Ok((t.to_string(), Some(parts)))
        }
    }
}

struct OffsetRow {
    topic: String,
    partition: i32,
    current: Option<i64>,
    log_end: Option<i64>,
    member: Option<(String, String, String)>,
}

fn offset_rows(admin: &dyn Admin, desc: &GroupDescription) -> anyhow::Result<Vec<OffsetRow>> {
    let committed = admin.group_offsets(&desc.group)?;
    let mut owners = BTreeMap::new();
    for m in &desc.members {
        for tp in &m.assignment {
            owners.insert(
                tp.clone(),
                (m.member_id.clone(), m.host.clone(), m.client_id.clone()),
            );
        }
    }
    let keys: BTreeSet<(String, i32)> = committed
        .keys()
        .cloned()
        .chain(owners.keys().cloned())
        .collect();
    let mut rows = Vec::new();
    for (topic, partition) in keys {
        let log_end = admin
            .list_offset(&topic, partition, OffsetSpec::Latest)
            .ok();
        rows.push(OffsetRow {
            current: committed.get(&(topic.clone(), partition)).copied(),
            member: owners.remove(&(topic.clone(), partition)),
            log_end,
            topic,
            partition,
        });
    }
    Ok(rows)
}

fn describe_group(
    admin: &dyn Admin,
    args: &ConsumerGroupsArgs,
    group: &str,
) -> anyhow::Result<String> {
    let desc = admin.describe_group(group)?;
    if desc.state == "Dead" {
        return Err(Error::GroupNotFound(group.to_string()).into());
    }
    let format = args.common.output;
    // Kafka's notes on the group's state, before its table (stderr).
    if format == Format::Text {
        match desc.state.as_str() {
            "Empty" => eprintln!("\nConsumer group '{group}' has no active members."),
            "PreparingRebalance" | "CompletingRebalance" | "Assigning" | "Reconciling" => {
                eprintln!("\nWarning: Consumer group '{group}' is rebalancing.")
            }
            _ => {}
        }
    }
    if args.state.is_some() {
        let mut headers = vec!["GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE"];
        let mut widths = vec![15, 25, 20, 20];
        if args.verbose {
            headers.extend(["GROUP-EPOCH", "TARGET-ASSIGNMENT-EPOCH"]);
            widths.extend([15, 25]);
        }
        headers.push("#MEMBERS");
        widths.push(0);
        let mut rows = Rows::new(&headers).numeric(&["#MEMBERS"]);
        let mut row = vec![
            Some(desc.group.clone()),
            Some(desc.coordinator.clone()),
            // Kafka prints `-` when the group has no assignor yet (an Empty group).
            Some(desc.assignment_strategy.clone()).filter(|s| !s.is_empty()),
            Some(desc.state.clone()),
        ];
        if args.verbose {
            // Classic groups have no group or target-assignment epoch.
            row.extend([None, None]);
        }
        row.push(Some(desc.members.len().to_string()));
        rows.push(row);
        return Ok(prefix(format, rows.render(format, &widths)));
    }
    if args.members {
        let mut headers = vec!["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"];
        if args.verbose {
            headers.extend([
                "CURRENT-EPOCH",
                "CURRENT-ASSIGNMENT",
                "TARGET-EPOCH",
                "TARGET-ASSIGNMENT",
            ]);
        }
        let mut rows = Rows::new(&headers).numeric(&["#PARTITIONS"]);
        for m in &desc.members {
            let mut row = vec![
                Some(desc.group.clone()),
                Some(m.member_id.clone()),
                Some(m.host.clone()),
                Some(m.client_id.clone()),
                Some(m.assignment.len().to_string()),
            ];
            if args.verbose {
                // Kafka's layout: `topic:p1,p2` per topic, topics joined by `;`.
                let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
                for (t, p) in &m.assignment {
                    by_topic.entry(t).or_default().push(*p);
                }
                let a = by_topic
                    .iter_mut()
                    .map(|(t, ps)| {
                        ps.sort_unstable();
                        let ps: Vec<String> = ps.iter().map(i32::to_string).collect();
                        format!("{t}:{}", ps.join(","))
                    })
                    .collect::<Vec<_>>()
                    .join(";");
                // Classic groups have no epochs or target assignment.
                row.extend([None, (!a.is_empty()).then_some(a), None, None]);
            }
            rows.push(row);
        }
        return Ok(prefix(
            format,
            rows.render(format, &[15, 15, 15, 15, 15, 15, 20, 15, 20]),
        ));
    }
    let offsets = offset_rows(admin, &desc)?;
    let total = total_lag(&offsets);
    // JSON rows carry the group's total lag; Kafka's text has none.
    let json = format == Format::Json;
    let mut headers = vec![
        "GROUP",
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    ];
    if json {
        headers.push("TOTAL-LAG");
    }
    let mut rows = Rows::new(&headers).numeric(&[
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "TOTAL-LAG",
    ]);
    for r in offsets {
        let lag = lag_of(&r).map(|l| l.to_string());
        let (id, host, client) = match r.member {
            Some((a, b, c)) => (Some(a), Some(b), Some(c)),
            None => (None, None, None),
        };
        let mut row = vec![
            Some(desc.group.clone()),
            Some(r.topic),
            Some(r.partition.to_string()),
            r.current.map(|c| c.to_string()),
            r.log_end.map(|c| c.to_string()),
            lag,
            id,
            host,
            client,
        ];
        if json {
            row.push(Some(total.to_string()));
        }
        rows.push(row);
    }
    // Kafka prints no table at all for a group with neither members nor offsets.
    if rows.rows.is_empty() && format == Format::Text {
        return Ok(String::new());
    }
    let mut out = prefix(
        format,
        rows.render(format, &[15, 15, 10, 15, 15, 15, 15, 15, 0]),
    );
    if format == Format::Table {
        out.push_str(&total_line(
            &desc.group,
            total,
            crate::output::colour_enabled(),
        ));
    }
    Ok(out)
}

/// A partition's lag: log end minus committed offset, when both are known.
fn lag_of(r: &OffsetRow) -> Option<i64> {
    match (r.current, r.log_end) {
        (Some(c), Some(e)) => Some((e - c).max(0)),
        _ => None,
    }
}

/// The sum of the known lags of a group's partitions (rpk's TOTAL-LAG).
fn total_lag(rows: &[OffsetRow]) -> i64 {
    rows.iter().filter_map(lag_of).fold(0, i64::saturating_add)
}

/// The table view's summary line under a group's offsets: `GROUP g TOTAL-LAG n`.
fn total_line(group: &str, total: i64, colour: bool) -> String {
    let n = if total > 0 {
        crate::output::paint(&total.to_string(), crate::output::YELLOW, colour)
    } else {
        total.to_string()
    };
    format!("GROUP {group} TOTAL-LAG {n}\n")
}

/// The previous sample of a partition under --watch: when, committed offset, log end.
type Sample = (std::time::Instant, Option<i64>, Option<i64>);

/// Records per second between two offsets `secs` apart (never below 0: a reset moves the
/// committed offset back).
fn rate(before: Option<i64>, now: Option<i64>, secs: f64) -> Option<f64> {
    match (before, now) {
        (Some(b), Some(n)) if secs > 0.0 => Some(((n - b) as f64 / secs).max(0.0)),
        _ => None,
    }
}

/// The time to catch up: `lag / (consume - produce)` when that is positive; `0s` without lag,
/// `∞` when the group does not gain on the producers, `-` before there are two samples.
fn eta(lag: Option<i64>, consume: Option<f64>, produce: Option<f64>) -> String {
    let (Some(lag), Some(c), Some(p)) = (lag, consume, produce) else {
        return "-".to_string();
    };
    if lag == 0 {
        return "0s".to_string();
    }
    let net = c - p;
    if net <= 0.0 {
        return "∞".to_string();
    }
    let secs = (lag as f64 / net).ceil();
    if secs > 100.0 * 365.0 * 86400.0 {
        return "∞".to_string();
    }
    let secs = secs as u64;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s:02}s"),
        _ => format!("{h}h{m:02}m{s:02}s"),
    }
}

/// One refresh of --watch for one group: its offsets with consume and produce rates since the
/// previous refresh and the time to catch up.
fn watch_view(
    admin: &dyn Admin,
    format: Format,
    group: &str,
    prev: &mut BTreeMap<(String, String, i32), Sample>,
) -> anyhow::Result<String> {
    let desc = admin.describe_group(group)?;
    if desc.state == "Dead" {
        return Err(Error::GroupNotFound(group.to_string()).into());
    }
    let offsets = offset_rows(admin, &desc)?;
    let total = total_lag(&offsets);
    let now = std::time::Instant::now();
    let mut headers = vec![
        "GROUP",
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUME-RATE",
        "PRODUCE-RATE",
        "TIME-TO-CATCH-UP",
        "CONSUMER-ID",
    ];
    if format == Format::Json {
        headers.push("TOTAL-LAG");
    }
    let mut rows = Rows::new(&headers).numeric(&[
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUME-RATE",
        "PRODUCE-RATE",
        "TOTAL-LAG",
    ]);
    for r in offsets {
        let key = (group.to_string(), r.topic.clone(), r.partition);
        let (consume, produce) = match prev.get(&key) {
            Some((at, c, e)) => {
                let secs = now.duration_since(*at).as_secs_f64();
                (rate(*c, r.current, secs), rate(*e, r.log_end, secs))
            }
            None => (None, None),
        };
        prev.insert(key, (now, r.current, r.log_end));
        let lag = lag_of(&r);
        let mut row = vec![
            Some(group.to_string()),
            Some(r.topic.clone()),
            Some(r.partition.to_string()),
            r.current.map(|c| c.to_string()),
            r.log_end.map(|c| c.to_string()),
            lag.map(|l| l.to_string()),
            consume.map(|c| format!("{c:.1}")),
            produce.map(|p| format!("{p:.1}")),
            Some(eta(lag, consume, produce)),
            r.member.map(|m| m.0),
        ];
        if format == Format::Json {
            row.push(Some(total.to_string()));
        }
        rows.push(row);
    }
    let mut out = prefix(
        format,
        rows.render(format, &[15, 15, 10, 15, 15, 15, 13, 13, 17, 0]),
    );
    if format != Format::Json {
        out.push_str(&total_line(
            group,
            total,
            format == Format::Table && crate::output::colour_enabled(),
        ));
    }
    Ok(out)
}

/// `--describe --watch`: on a terminal the view is redrawn in place (clear screen, cursor
/// home); otherwise a fresh view is printed each interval, without escape codes. Ends with
/// exit 0 on Ctrl-C (or SIGTERM), or after `--watch-count` refreshes.
fn watch(
    admin: &dyn Admin,
    args: &ConsumerGroupsArgs,
    groups: &[String],
    interval: f64,
) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone())
            .context("cannot install the Ctrl-C handler for --watch")?;
    }
    let format = args.common.output;
    // Redrawn in place only for a person: JSON lines are for a program even on a terminal.
    let tty = std::io::stdout().is_terminal() && format != Format::Json;
    let colour = tty && crate::output::colour_enabled();
    let mut prev = BTreeMap::new();
    let mut refreshes = 0u64;
    let mut failed = false;
    while !stop.load(Ordering::Relaxed) {
        let mut out = String::new();
        if tty {
            out.push_str("\x1b[H\x1b[2J");
        }
        if format != Format::Json {
            out.push_str(&format!(
                "Every {interval}s: consumer-groups --describe --group {} at {}{}\n",
                groups.join(","),
                jiff::Zoned::now().strftime("%Y-%m-%d %H:%M:%S"),
                if tty { " (Ctrl-C to stop)" } else { "" }
            ));
        }
        failed = false;
        for g in groups {
            match watch_view(admin, format, g, &mut prev) {
                Ok(view) => out.push_str(&view),
                Err(e) if crate::output::is_broken_pipe(&e) => return Err(e),
                Err(e) => {
                    failed = true;
                    if tty {
                        let line = format!("Error: {}", super::one_line(&e));
                        out.push_str(&format!(
                            "\n{}\n",
                            crate::output::paint(&line, crate::output::RED, colour)
                        ));
                    } else {
                        eprintln!("Error: {}", super::one_line(&e));
                    }
                }
            }
        }
        print(&out)?;
        refreshes += 1;
        if args.watch_count.is_some_and(|n| refreshes >= n) {
            break;
        }
        let until = std::time::Instant::now() + std::time::Duration::from_secs_f64(interval);
        while !stop.load(Ordering::Relaxed) && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    // Ctrl-C is how a watch ends: a success; bounded by --watch-count, the last view decides.
    Ok(if failed && !stop.load(Ordering::Relaxed) {
        ExitCode::from(super::EXIT_FAILURE)
    } else {
        ExitCode::SUCCESS
    })
}

/// Kafka prints a blank line before each group's table.
fn prefix(format: Format, body: String) -> String {
    if format == Format::Text {
        format!("\n{body}")
    } else {
        body
    }
}

/// A delete-offsets row: a topic and its partition (none for a topic that could not be
/// described).
type OffsetRowKey = (String, Option<i32>);

/// A reset plan: the new offset of every partition in scope.
type ResetPlan = BTreeMap<(String, i32), i64>;

fn reset_offsets(
    admin: &dyn Admin,
    args: &ConsumerGroupsArgs,
    group: &str,
) -> anyhow::Result<(ResetPlan, Rows)> {
    let desc = admin.describe_group(group)?;
    // Kafka resets only inactive groups: Empty, or Dead (which includes unknown groups).
    if !matches!(desc.state.as_str(), "Empty" | "Dead") {
        return Err(Error::group_not_inactive(group, &desc.state).into());
    }
    let committed = admin.group_offsets(group)?;
    let mut targets: BTreeSet<(String, i32)> = BTreeSet::new();
    if args.all_topics {
        targets.extend(committed.keys().cloned());
    }
    let mut missing = Vec::new();
    for arg in &args.topic {
        let (topic, parts) = parse_topic_arg(arg)?;
        let meta = admin.describe_topics(std::slice::from_ref(&topic))?;
        let count = meta.first().map_or(0, |t| t.partitions.len() as i32);
        match parts {
            Some(ps) => {
                for p in ps {
                    if p < 0 || p >= count {
                        missing.push(format!("{topic}-{p}"));
                    }
                    targets.insert((topic.clone(), p));
                }
            }
            None => targets.extend((0..count).map(|p| (topic.clone(), p))),
        }
    }
    if !missing.is_empty() {
        // Kafka checks every partition before it plans anything.
        return Err(Error::InvalidRequest(format!(
            "The partitions \"{}\" do not exist",
            missing.join(",")
        ))
        .into());
    }
    let now = crate::log::unified::now_ms();
    let timestamp = match (&args.to_datetime, &args.by_duration) {
        (Some(dt), _) => {
            Some(super::time::parse_datetime(dt).map_err(|e| super::UsageError(format!("{e:#}")))?)
        }
        (_, Some(d)) => Some(
            now - super::time::parse_duration(d)
                .map_err(|e| super::UsageError(format!("{e:#}")))?,
        ),
        _ => None,
    };
    let mut plan = BTreeMap::new();
    for (topic, p) in targets {
        let earliest = admin.list_offset(&topic, p, OffsetSpec::Earliest)?;
        let latest = admin.list_offset(&topic, p, OffsetSpec::Latest)?;
        let current = committed.get(&(topic.clone(), p)).copied();
        let new = if args.to_earliest {
            earliest
        } else if args.to_latest {
            latest
        } else if args.to_current {
            current.unwrap_or(latest)
        } else if let Some(o) = args.to_offset {
            o
        } else if let Some(n) = args.shift_by {
            let c = current.ok_or_else(|| {
                anyhow!("Cannot shift offset for partition {topic}-{p} since there is no current committed offset")
            })?;
            c.saturating_add(n)
        } else if let Some(ts) = timestamp {
            let found = admin.list_offset(&topic, p, OffsetSpec::Timestamp(ts))?;
            // No record at or after the time: the lookup answers with the log end.
            if found >= latest && args.common.output == Format::Text {
                print(&format!(
                    "\nWarn: Partition {p} from topic {topic} is empty. Falling back to latest known offset.\n"
                ))?;
            }
            found
        } else {
            unreachable!("a reset scenario was checked")
        };
        let clamped = new.clamp(earliest, latest);
        if clamped != new && !matches!(args.common.output, Format::Json) {
            let which = if new > latest {
                "higher than latest"
            } else {
                "lower than earliest"
            };
            eprintln!(
                "New offset ({new}) is {which} offset for topic partition {topic}-{p}. Value will be set to {clamped}."
            );
        }
        plan.insert((topic, p), clamped);
    }
    let mut rows = Rows::new(&["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"])
        .numeric(&["PARTITION", "NEW-OFFSET"]);
    for ((t, p), o) in &plan {
        rows.push(vec![
            Some(group.to_string()),
            Some(t.clone()),
            Some(p.to_string()),
            Some(o.to_string()),
        ]);
    }
    Ok((plan, rows))
}

/// The consumer group states Kafka 4.x accepts in `--list --state`, in its order.
const VALID_STATES: [&str; 7] = [
    "PreparingRebalance",
    "CompletingRebalance",
    "Stable",
    "Dead",
    "Empty",
    "Assigning",
    "Reconciling",
];

/// `--state a,b` of --list, lower-cased; empty means every state. Unknown names are a usage
/// error naming the valid states, as Kafka's.
fn parse_states(filter: &str) -> anyhow::Result<Vec<String>> {
    if filter.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for s in filter.split(',').map(str::trim) {
        if !VALID_STATES.iter().any(|v| v.eq_ignore_ascii_case(s)) {
            return usage(format!(
                "Invalid state list '{filter}'. Valid states are: {}",
                VALID_STATES.join(", ")
            ));
        }
        out.push(s.to_ascii_lowercase());
    }
    Ok(out)
}

/// `--list`: Kafka's names, or with --state its `GROUP STATE` columns; the table and JSON
/// views add each group's member count. A group whose data cannot be read (embedded: a damaged
/// offsets file) is named on stderr, the others are still listed, and the exit code is 1.
fn list(
    admin: &dyn Admin,
    with_state: bool,
    wanted: &[String],
    format: Format,
) -> anyhow::Result<ExitCode> {
    let mut listed = Vec::new();
    let mut damaged = false;
    for (g, s) in admin.list_groups()? {
        if s == "Unknown"
            && let Err(e) = admin.group_offsets(&g)
        {
            eprintln!("Error: cannot read consumer group '{g}': {e}");
            damaged = true;
            continue;
        }
        if wanted.is_empty() || wanted.contains(&s.to_ascii_lowercase()) {
            listed.push((g, s));
        }
    }
    let out = match format {
        Format::Text if with_state => {
            // Kafka's layout: the group column as wide as the longest id (at least 15) plus
            // 10, then the state padded to 20.
            let w = listed.iter().map(|(g, _)| g.len()).fold(15, usize::max) + 10;
            let mut out = format!("{:<w$} {:<20}\n", "GROUP", "STATE");
            for (g, s) in &listed {
                out.push_str(&format!("{g:<w$} {s:<20}\n"));
            }
            out
        }
        Format::Text => listed.iter().map(|(g, _)| format!("{g}\n")).collect(),
        Format::Table | Format::Json => {
            let mut rows = Rows::new(&["GROUP", "STATE", "MEMBERS"]).numeric(&["MEMBERS"]);
            for (g, s) in listed {
                let members = admin
                    .describe_group(&g)
                    .ok()
                    .map(|d| d.members.len().to_string());
                rows.push(vec![Some(g), Some(s), members]);
            }
            rows.render(format, &[])
        }
    };
    print(&out)?;
    Ok(if damaged {
        ExitCode::from(super::EXIT_FAILURE)
    } else {
        ExitCode::SUCCESS
    })
}

/// True when a confirmation can be asked: stdin and stderr are both terminals.
fn interactive() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Shows `what` on stderr and asks `question` (default no).
fn confirm(what: &str, question: &str) -> anyhow::Result<bool> {
    eprint!("{what}");
    dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact()
        .context("cannot read the answer from the terminal")
}

/// Sorted partitions as ranges: `0-3,7`.
fn ranges(ps: &[i32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < ps.len() {
        let start = ps[i];
        let mut end = start;
        while i + 1 < ps.len() && ps[i + 1] == end + 1 {
            i += 1;
            end = ps[i];
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    out.join(",")
}

/// Runs the `consumer-groups` tool.
pub fn run(args: ConsumerGroupsArgs) -> anyhow::Result<ExitCode> {
    let actions = [
        args.list,
        args.describe,
        args.delete,
        args.delete_offsets,
        args.reset_offsets,
    ];
    if actions.iter().filter(|&&a| a).count() != 1 {
        return usage(
            "Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets",
        );
    }
    let needs_group = args.describe || args.delete || args.delete_offsets || args.reset_offsets;
    if needs_group && args.group.is_empty() && !args.all_groups {
        return usage(
            "Option [describe|delete|reset-offsets|delete-offsets] takes one of these options: [all-groups], [group]",
        );
    }
    if args.delete_offsets && (args.group.len() != 1 || args.topic.is_empty()) {
        return usage("Option [delete-offsets] takes the following options: [topic], [group]");
    }
    if args.group.iter().any(|g| g.is_empty()) {
        return usage("The group id '' is invalid: --group needs a non-empty group id.");
    }
    if let Some(o) = args.to_offset
        && o < 0
    {
        return usage(format!(
            "The offset must be 0 or greater, not {o} (--to-offset); to move back from the committed offset use --shift-by {o}."
        ));
    }
    let watch_interval = match args.watch {
        Some(_) if !args.describe => {
            return usage("Option [watch] can only be used with [describe]");
        }
        Some(_) if args.members || args.state.is_some() => {
            return usage(
                "Option [watch] shows offsets and lag: it cannot be used with [members] or [state]",
            );
        }
        Some(secs) if !(secs.is_finite() && secs > 0.0 && secs <= 86_400.0) => {
            return usage(format!(
                "--watch takes a refresh interval in seconds greater than 0 (up to 86400), not {secs}"
            ));
        }
        other => other,
    };
    if args.watch_count.is_some() && args.watch.is_none() {
        return usage("Option [watch-count] can only be used with [watch]");
    }
    if args.yes && !(args.delete || args.delete_offsets) {
        return usage("Option [yes] can only be used with [delete] or [delete-offsets]");
    }
    // Kafka checks the states of --list --state before asking the cluster.
    let wanted_states = match (&args.state, args.list) {
        (Some(filter), true) => parse_states(filter)?,
        _ => Vec::new(),
    };
    let scenarios = [
        args.to_earliest,
        args.to_latest,
        args.to_current,
        args.to_offset.is_some(),
        args.shift_by.is_some(),
        args.to_datetime.is_some(),
        args.by_duration.is_some(),
    ];
    if args.reset_offsets {
        if scenarios.iter().filter(|&&s| s).count() != 1 {
            return usage(
                "Option [reset-offsets] needs exactly one of: --to-datetime, --by-duration, --to-earliest, --to-latest, --shift-by, --to-current, --to-offset",
            );
        }
        if args.topic.is_empty() && !args.all_topics {
            return usage("One of the reset scopes should be defined: --all-topics, --topic.");
        }
        if !args.topic.is_empty() && args.all_topics {
            return usage("Option \"[all-topics]\" can't be used with option \"[topic]\"");
        }
        if args.dry_run && args.execute {
            return usage("Option [execute] cannot be used with [dry-run]");
        }
    } else if scenarios.iter().any(|&s| s) || args.execute || args.dry_run {
        return usage(
            "Reset options (--to-*, --shift-by, --by-duration, --execute, --dry-run) only apply to --reset-offsets",
        );
    }
    // Leaked on purpose: the process ends when the tool returns, and destroying a librdkafka
    // client first joins its threads, about 100 ms of nothing.
    let admin: &dyn crate::client::Admin = Box::leak(args.common.backend()?.admin()?);
    let format = args.common.output;
    let groups: Vec<String> = if args.all_groups {
        admin.list_groups()?.into_iter().map(|(g, _)| g).collect()
    } else {
        args.group.clone()
    };

    if args.list {
        return list(admin, args.state.is_some(), &wanted_states, format);
    }
    if let Some(interval) = watch_interval {
        return watch(admin, &args, &groups, interval);
    }

    let mut failed = false;
    if args.describe {
        for g in &groups {
            match describe_group(admin, &args, g) {
                Ok(out) => print(&out)?,
                Err(e) if crate::output::is_broken_pipe(&e) => return Err(e),
                Err(e) => {
                    eprintln!("Error: {}", super::one_line(&e));
                    failed = true;
                }
            }
        }
    } else if args.delete {
        if !groups.is_empty() && !args.yes && interactive() {
            let mut what = String::from("These consumer groups will be deleted:\n");
            for g in &groups {
                what.push_str(&format!("  {g}\n"));
            }
            if !confirm(
                &what,
                &format!("Delete {} consumer group(s)?", groups.len()),
            )? {
                eprintln!("Aborted.");
                return Ok(ExitCode::from(super::EXIT_FAILURE));
            }
        }
        let mut deleted = Vec::new();
        for g in &groups {
            match admin.delete_group(g) {
                Ok(()) => deleted.push(g.clone()),
                Err(e) => {
                    let why = match &e {
                        Error::NonEmptyGroup(_) => "The group is not empty.".to_string(),
                        other => other.to_string(),
                    };
                    eprintln!("Error: Deletion of consumer group '{g}' failed: {why}");
                    failed = true;
                }
            }
        }
        let quoted = |gs: &[String]| {
            gs.iter()
                .map(|g| format!("'{g}'"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !deleted.is_empty() {
            match format {
                Format::Json => {
                    for g in &deleted {
                        print(&format!("{}\n", json!({"group": g, "deleted": true})))?;
                    }
                }
                // Kafka's wording when only some of the groups could be deleted.
                _ if failed => print(&format!(
                    "\nThese consumer groups were deleted successfully: {}\n",
                    quoted(&deleted)
                ))?,
                _ => print(&format!(
                    "Deletion of requested consumer groups ({}) was successful.\n",
                    quoted(&deleted)
                ))?,
            }
        }
    } else if args.delete_offsets {
        let group = &groups[0];
        // Kafka deletes the offsets of every partition of a topic given without partitions;
        // a topic that cannot be described gets one row with partition `-` and its error.
        let mut partitions = Vec::new();
        let mut undescribed: Vec<(String, String)> = Vec::new();
        for arg in &args.topic {
            let (topic, parts) = parse_topic_arg(arg)?;
            match parts {
                Some(ps) => partitions.extend(ps.into_iter().map(|p| (topic.clone(), p))),
                None => {
                    match admin.describe_topics(std::slice::from_ref(&topic)) {
                        Ok(described) => partitions.extend(described.iter().flat_map(|t| {
                            t.partitions.iter().map(|p| (t.name.clone(), p.partition))
                        })),
                        Err(e) => undescribed.push((topic, e.to_string())),
                    }
                }
            }
        }
        if !partitions.is_empty() && !args.yes && interactive() {
            let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
            for (t, p) in &partitions {
                by_topic.entry(t).or_default().push(*p);
            }
            let mut what =
                format!("The committed offsets of group '{group}' will be deleted for:\n");
            for (t, ps) in &mut by_topic {
                ps.sort_unstable();
                ps.dedup();
                what.push_str(&format!("  {t}: partitions {}\n", ranges(ps)));
            }
            if !confirm(
                &what,
                &format!("Delete the offsets of {} partition(s)?", partitions.len()),
            )? {
                eprintln!("Aborted.");
                return Ok(ExitCode::from(super::EXIT_FAILURE));
            }
        }
        let results = if partitions.is_empty() {
            Vec::new()
        } else {
            let bar = crate::output::progress(
                partitions.len() as u64,
                &format!("Deleting offsets of group '{group}'"),
            );
            let results = admin.delete_group_offsets(group, &partitions);
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            results?
        };
        // Rows sorted by topic then partition.
        let mut statuses: Vec<(OffsetRowKey, Result<(), String>)> = results
            .into_iter()
            .map(|((t, p), r)| ((t, Some(p)), r.map_err(|e| e.to_string())))
            .chain(undescribed.into_iter().map(|(t, e)| ((t, None), Err(e))))
            .collect();
        statuses.sort_by(|a, b| a.0.cmp(&b.0));
        let partition_failed = statuses.iter().any(|(_, r)| r.is_err());
        let mut rows = Rows::new(&["TOPIC", "PARTITION", "STATUS"]).numeric(&["PARTITION"]);
        for ((t, p), r) in statuses {
            let status = match r {
                Ok(()) => "Successful".to_string(),
                Err(e) => format!("Error: {e}"),
            };
            rows.push(vec![Some(t), p.map(|p| p.to_string()), Some(status)]);
        }
        if format == Format::Text {
            // Kafka's first line tells the partition-level errors of the request apart from
            // topics it could not even describe (those still count as a success).
            let sent_failed = rows
                .rows
                .iter()
                .any(|r| r[1].is_some() && r[2].as_deref() != Some("Successful"));
            if sent_failed {
                print(
                    "\nError: Encountered some partition-level error, see the follow-up details.\n",
                )?;
            } else {
                print(&format!(
                    "Request succeeded for deleting offsets from group {group}.\n"
                ))?;
            }
            print(&format!("\n{}", rows.to_text(&[15, 10, 0])))?;
        } else {
            print(&rows.render(format, &[]))?;
        }
        failed |= partition_failed;
    } else if args.reset_offsets {
        use std::io::IsTerminal;
        // Kafka announces that a reset without --dry-run/--execute will prompt; on a terminal
        // we do so now, and keep the warned dry run for scripts.
        let undecided = !args.execute && !args.dry_run;
        let ask = undecided
            && format == Format::Text
            && std::io::stdin().is_terminal()
            && std::io::stderr().is_terminal();
        // Every group's plan first: an error is the first thing printed, before any warning
        // or table (and nothing is reset when one group cannot be).
        let mut plans = Vec::new();
        for g in &groups {
            let planned = reset_offsets(admin, &args, g)
                .with_context(|| format!("cannot reset offsets of group '{g}'"))?;
            plans.push((g, planned));
        }
        if undecided && !ask && format == Format::Text {
            eprintln!(
                "WARN: No action will be performed as the --execute option is missing. In version 5.0, this command will require either --dry-run or --execute to be specified. You should add the --dry-run option explicitly if you are scripting this command and want to keep the current default behavior without prompting."
            );
        }
        for (g, (plan, rows)) in plans {
            if args.execute {
                let bar = crate::output::progress(
                    plan.len() as u64,
                    &format!("Resetting offsets of group '{g}'"),
                );
                let done = admin.alter_group_offsets(g, &plan);
                if let Some(bar) = bar {
                    bar.finish_and_clear();
                }
                done.with_context(|| format!("cannot reset offsets of group '{g}'"))?;
            }
            print(&prefix(format, rows.render(format, &[15, 15, 10, 0])))?;
            if ask && !plan.is_empty() {
                let yes = dialoguer::Confirm::new()
                    .with_prompt(format!("Reset the offsets of group '{g}' as shown?"))
                    .default(false)
                    .interact()
                    .context("cannot read the answer from the terminal")?;
                if yes {
                    admin.alter_group_offsets(g, &plan)?;
                    eprintln!("Offsets of group '{g}' were reset.");
                }
            }
        }
    }
    Ok(if failed {
        ExitCode::from(super::EXIT_FAILURE)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_to_catch_up() {
        assert_eq!(eta(Some(10), None, None), "-", "one sample: no rate yet");
        assert_eq!(eta(Some(0), Some(0.0), Some(0.0)), "0s");
        assert_eq!(eta(Some(10), Some(5.0), Some(5.0)), "∞");
        assert_eq!(eta(Some(10), Some(1.0), Some(3.0)), "∞");
        assert_eq!(eta(Some(10), Some(7.0), Some(2.0)), "2s");
        assert_eq!(eta(Some(600), Some(2.0), Some(0.0)), "5m00s");
        assert_eq!(eta(Some(7261), Some(1.0), Some(0.0)), "2h01m01s");
    }

    #[test]
    fn rates_are_records_per_second_and_never_negative() {
        assert_eq!(rate(Some(10), Some(30), 2.0), Some(10.0));
        assert_eq!(
            rate(Some(30), Some(10), 2.0),
            Some(0.0),
            "a reset moves back"
        );
        assert_eq!(rate(None, Some(10), 2.0), None);
    }

    #[test]
    fn partition_ranges_and_states() {
        assert_eq!(ranges(&[0, 1, 2, 3, 7, 9, 10]), "0-3,7,9-10");
        assert_eq!(
            parse_states("stable, EMPTY").ok(),
            Some(vec!["stable".into(), "empty".into()])
        );
        assert!(parse_states("Stable,Bogus").is_err());
        assert_eq!(parse_states("").ok(), Some(vec![]));
    }
}
