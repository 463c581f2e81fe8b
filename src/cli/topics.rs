//! `topics`: create, list, describe, alter and delete topics (Kafka's `kafka-topics.sh`).

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::Parser;
use serde_json::json;

use super::args::{CommonArgs, parse_key_value};
use super::usage;
use crate::client::{Admin, PartitionSizes, TopicDescription};
use crate::error::Error;
use crate::output::{Format, print};

/// The note and the examples at the end of `--help`.
const AFTER_HELP: &str = "\
Exactly one of --list, --describe, --create, --alter or --delete is required.

With --output table or json, --describe adds each partition's size on disk (SIZE, size),
read from the log files of the data dir; against a cluster (--bootstrap-server, or a
server-start serving the data dir) it is left empty (null in JSON), because librdkafka cannot
ask a broker for it (DescribeLogDirs).

Examples:
  topics --create --topic quickstart-events --partitions 3
  topics --describe --topic quickstart-events --output table
  topics --alter --topic quickstart-events --config cleanup.policy=compact";

/// Create, delete, describe, or change a topic.
#[derive(Debug, Parser)]
#[command(name = "topics", version, after_help = AFTER_HELP)]
pub struct TopicsArgs {
    /// List all available topics.
    #[arg(long)]
    pub list: bool,
    /// List details for the given topics (with --output table or json, also each partition's
    /// size on disk).
    #[arg(long)]
    pub describe: bool,
    /// Create a new topic.
    #[arg(long)]
    pub create: bool,
    /// Alter the number of partitions of a topic, or its configs (--config, --delete-config;
    /// Kafka's tool leaves configs to kafka-configs).
    #[arg(long)]
    pub alter: bool,
    /// Delete a topic.
    #[arg(long)]
    pub delete: bool,
    /// The topic to create, alter, describe or delete. Except with --create, a regular
    /// expression.
    #[arg(long, value_name = "TOPIC")]
    pub topic: Option<String>,
    /// The number of partitions for the topic being created or altered. Default:
    /// num.partitions (1).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub partitions: Option<i32>,
    /// The replication factor for each partition. Only 1 is possible on a single node.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub replication_factor: Option<i16>,
    /// A topic configuration override, name=value, for the topic being created or altered;
    /// repeatable.
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse_key_value)]
    pub config: Vec<(String, String)>,
    /// With --alter: a topic configuration override to remove (back to the default);
    /// repeatable. (Kafka 4's tool ignores this flag.)
    #[arg(long, value_name = "NAME")]
    pub delete_config: Vec<String>,
    /// With --alter, --describe or --delete: only act if the topic exists.
    #[arg(long)]
    pub if_exists: bool,
    /// With --create: only create the topic if it does not exist.
    #[arg(long)]
    pub if_not_exists: bool,
    /// Exclude internal topics when listing or describing.
    #[arg(long)]
    pub exclude_internal: bool,
    /// With --describe: only show partitions whose ISR is smaller than their replicas.
    #[arg(long)]
    pub under_replicated_partitions: bool,
    /// With --describe: only show partitions whose leader is unavailable.
    #[arg(long)]
    pub unavailable_partitions: bool,
    /// With --describe: only show topics that have config overrides.
    #[arg(long)]
    pub topics_with_overrides: bool,
    /// With --delete: do not ask for confirmation (it is asked only when stdin and stderr are
    /// terminals).
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

fn matching(
    all: Vec<String>,
    pattern: Option<&str>,
    exclude_internal: bool,
) -> anyhow::Result<Vec<String>> {
    // Kafka's topic filter: trimmed, `,` means `|`, spaces and surrounding quotes dropped.
    let re = match pattern {
        Some(p) => {
            let cleaned = p.trim().replace(',', "|").replace(' ', "");
            let cleaned = cleaned.trim_matches(|c| c == '"' || c == '\'');
            Some(
                regex::Regex::new(&format!("^(?:{cleaned})$"))
                    .map_err(|_| Error::InvalidRequest(format!("{p} is an invalid regex.")))?,
            )
        }
        None => None,
    };
    Ok(all
        .into_iter()
        .filter(|t| re.as_ref().is_none_or(|re| re.is_match(t)))
        .filter(|t| !(exclude_internal && crate::engine::topic::is_internal(t)))
        .collect())
}

/// Broker ids as Kafka joins them: `1,2,3`.
fn ids(v: &[i32]) -> String {
    v.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

/// Config overrides as Kafka joins them: `k=v,k2=v2`.
fn configs_text(t: &TopicDescription) -> String {
    t.configs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Which lines of a described topic Kafka prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescribeLines {
    /// The topic line and its partition lines.
    All,
    /// Partition lines only (under a partition filter such as --under-replicated-partitions).
    Partitions,
    /// The topic line only (--topics-with-overrides).
    Topic,
}

/// Kafka's describe layout: a topic line, then one tab-indented line per partition.
pub fn describe_text(t: &TopicDescription, lines: DescribeLines) -> String {
    let mut out = String::new();
    if lines != DescribeLines::Partitions {
        let configs = configs_text(t);
        // Kafka leaves the TopicId field out when there is none (the zero id).
        let id = if t.topic_id.is_empty() {
            String::new()
        } else {
            format!("\tTopicId: {}", t.topic_id)
        };
        out.push_str(&format!(
            "Topic: {}{id}\tPartitionCount: {}\tReplicationFactor: {}\tConfigs: {}\n",
            t.name,
            t.partitions.len(),
            t.replication_factor,
            configs
        ));
    }
    if lines == DescribeLines::Topic {
        return out;
    }
    for p in &t.partitions {
        let leader = if p.leader < 0 {
            "none".to_string()
        } else {
            p.leader.to_string()
        };
        out.push_str(&format!(
            "\tTopic: {}\tPartition: {}\tLeader: {}\tReplicas: {}\tIsr: {}\tElr: \tLastKnownElr: \n",
            t.name,
            p.partition,
            leader,
            ids(&p.replicas),
            ids(&p.isr)
        ));
    }
    out
}

/// A partition's size on disk, if the backend could tell.
fn size_of(sizes: Option<&PartitionSizes>, topic: &str, partition: i32) -> Option<u64> {
    sizes.and_then(|s| s.get(&(topic.to_string(), partition)).copied())
}

/// One JSON object per topic; `size` is each partition's bytes on disk, null when unknown.
fn describe_json(t: &TopicDescription, sizes: Option<&PartitionSizes>) -> String {
    let v = json!({
        "topic": t.name,
        "topic_id": t.topic_id,
        "partition_count": t.partitions.len(),
        "replication_factor": t.replication_factor,
        "configs": t.configs,
        "partitions": t.partitions.iter().map(|p| json!({
            "partition": p.partition, "leader": p.leader, "replicas": p.replicas, "isr": p.isr,
            "size": size_of(sizes, &t.name, p.partition),
        })).collect::<Vec<_>>(),
    });
    format!("{v}\n")
}

/// One row per partition; SIZE in binary units (KiB, MiB, ...), `-` when unknown.
fn describe_table(topics: &[TopicDescription], sizes: Option<&PartitionSizes>) -> String {
    let mut rows = crate::output::Rows::new(&[
        "TOPIC",
        "PARTITION",
        "LEADER",
        "REPLICAS",
        "ISR",
        "SIZE",
        "TOPIC-ID",
        "CONFIGS",
    ]);
    for t in topics {
        let configs = configs_text(t);
        for p in &t.partitions {
            rows.push(vec![
                Some(t.name.clone()),
                Some(p.partition.to_string()),
                Some(p.leader.to_string()),
                Some(ids(&p.replicas)),
                Some(ids(&p.isr)),
                size_of(sizes, &t.name, p.partition).map(crate::output::human_bytes),
                Some(t.topic_id.clone()),
                Some(configs.clone()),
            ]);
        }
    }
    rows.to_table()
}

/// Runs the `topics` tool.
pub fn run(args: TopicsArgs) -> anyhow::Result<ExitCode> {
    let actions = [
        args.list,
        args.describe,
        args.create,
        args.alter,
        args.delete,
    ];
    if actions.iter().filter(|&&a| a).count() != 1 {
        return usage(
            "Command must include exactly one action: --list, --describe, --create, --alter or --delete",
        );
    }
    if args.if_exists && !(args.alter || args.describe || args.delete) {
        return usage(
            "Option \"[if-exists]\" can only be used with \"[alter]\", \"[describe]\" or \"[delete]\"",
        );
    }
    if args.if_not_exists && !args.create {
        return usage("Option \"[if-not-exists]\" can only be used with \"[create]\"");
    }
    if (args.create || args.alter || args.delete) && args.topic.is_none() {
        return usage("Missing required argument \"[topic]\"");
    }
    if args.replication_factor.is_some() && !args.create {
        return usage("Option \"[replication-factor]\" can only be used with \"[create]\"");
    }
    if args.alter
        && args.partitions.is_none()
        && args.config.is_empty()
        && args.delete_config.is_empty()
    {
        return usage(
            "Missing required argument \"[partitions]\" (or --config NAME=VALUE / --delete-config NAME to change configs)",
        );
    }
    if args.yes && !args.delete {
        return usage("Option \"[yes]\" can only be used with \"[delete]\"");
    }
    if !(args.config.is_empty() || args.create || args.alter) {
        return usage("Option \"[config]\" can only be used with \"[create]\" or \"[alter]\"");
    }
    if !args.delete_config.is_empty() && !args.alter {
        return usage("Option \"[delete-config]\" can only be used with \"[alter]\"");
    }
    if let Some(k) = args
        .delete_config
        .iter()
        .find(|k| args.config.iter().any(|(set, _)| set == *k))
    {
        return usage(format!(
            "Config '{k}' is both set with --config and removed with --delete-config"
        ));
    }
    // Leaked on purpose: the process ends when the tool returns, and destroying a librdkafka
    // client first joins its threads, about 100 ms of nothing.
    let admin: &dyn Admin = Box::leak(args.common.backend()?.admin()?);
    match execute(admin, &args) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if crate::output::is_broken_pipe(&e) => Ok(ExitCode::SUCCESS),
        Err(e) if e.downcast_ref::<Aborted>().is_some() => {
            eprintln!("Aborted.");
            Ok(ExitCode::from(super::EXIT_FAILURE))
        }
        Err(e) => {
            eprintln!(
                "Error while executing topic command : {}",
                super::one_line(&e)
            );
            Ok(ExitCode::from(super::EXIT_FAILURE))
        }
    }
}

fn execute(admin: &dyn Admin, args: &TopicsArgs) -> anyhow::Result<()> {
    let format = args.common.output;
    let topic = args.topic.as_deref();

    if args.create {
        let name = topic.unwrap_or_default();
        // Kafka's tool checks these itself, before any request (so every backend says it
        // alike), and before its collision warning: an error is the first line printed.
        if args.replication_factor.is_some_and(|rf| rf < 1) {
            anyhow::bail!("The replication factor must be between 1 and 32767 inclusive");
        }
        if args.partitions.is_some_and(|p| p < 1) {
            anyhow::bail!("The partitions must be greater than 0");
        }
        crate::engine::topic::validate_name(name)?;
        if name.contains('.') || name.contains('_') {
            eprintln!(
                "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both."
            );
        }
        let configs: BTreeMap<String, String> = args.config.iter().cloned().collect();
        match admin.create_topic(name, args.partitions, args.replication_factor, configs) {
            Ok(()) => {
                let msg = match format {
                    Format::Json => format!("{}\n", json!({"created": name})),
                    _ => format!("Created topic {name}.\n"),
                };
                print(&msg)?;
            }
            Err(Error::TopicExists(_)) if args.if_not_exists => {}
            Err(e) => return Err(e.into()),
        }
        return Ok(());
    }

    let topics = matching(admin.list_topics()?, topic, args.exclude_internal)?;
    if let Some(name) = topic
        && topics.is_empty()
        && !args.list
    {
        if args.if_exists {
            return Ok(());
        }
        anyhow::bail!("Topic '{name}' does not exist as expected");
    }

    if args.list {
        let out = match format {
            Format::Json => topics
                .iter()
                .map(|t| format!("{}\n", json!({"topic": t})))
                .collect(),
            Format::Table => {
                let mut rows = crate::output::Rows::new(&["TOPIC"]);
                topics.iter().for_each(|t| rows.push(vec![Some(t.clone())]));
                rows.to_table()
            }
            Format::Text => topics.iter().map(|t| format!("{t}\n")).collect::<String>(),
        };
        print(&out)?;
    } else if args.describe {
        let mut described = admin.describe_topics(&topics).map_err(as_expected)?;
        let lines = if args.under_replicated_partitions || args.unavailable_partitions {
            DescribeLines::Partitions
        } else if args.topics_with_overrides {
            DescribeLines::Topic
        } else {
            DescribeLines::All
        };
        if args.topics_with_overrides {
            described.retain(|t| !t.configs.is_empty());
        }
        for t in &mut described {
            if args.under_replicated_partitions {
                t.partitions.retain(|p| p.isr.len() < p.replicas.len());
            }
            if args.unavailable_partitions {
                t.partitions.retain(|p| p.leader < 0);
            }
        }
        // Kafka's layout has no sizes: asked for only where they are shown.
        let sizes = match format {
            Format::Text => None,
            Format::Json | Format::Table => {
                let names: Vec<String> = described.iter().map(|t| t.name.clone()).collect();
                admin.partition_sizes(&names)?
            }
        };
        let out = match format {
            Format::Text => described
                .iter()
                .map(|t| describe_text(t, lines))
                .collect::<String>(),
            Format::Json => described
                .iter()
                .map(|t| describe_json(t, sizes.as_ref()))
                .collect(),
            Format::Table => describe_table(&described, sizes.as_ref()),
        };
        print(&out)?;
    } else if args.alter {
        alter(admin, args, &topics)?;
    } else if args.delete {
        delete(admin, args, &topics)?;
    }
    Ok(())
}

/// `--alter`: configs first (the backend checks them all before it writes any, so a bad one
/// changes nothing), then the partition count. Kafka's alter prints nothing; a config change
/// says so as `kafka-configs --alter` does.
fn alter(admin: &dyn Admin, args: &TopicsArgs, topics: &[String]) -> anyhow::Result<()> {
    let set: BTreeMap<String, String> = args.config.iter().cloned().collect();
    let configs = !set.is_empty() || !args.delete_config.is_empty();
    for t in topics {
        if configs {
            admin
                .alter_topic_configs(t, &set, &args.delete_config)
                .map_err(as_expected)?;
            let msg = match args.common.output {
                Format::Json => format!("{}\n", json!({"altered": t})),
                _ => format!("Completed updating config for topic {t}.\n"),
            };
            print(&msg)?;
        }
        if let Some(count) = args.partitions {
            admin.create_partitions(t, count).map_err(as_expected)?;
        }
    }
    Ok(())
}

/// Kafka's one wording for a topic that is missing (it may go between the listing and the
/// operation): `Topic 'x' does not exist as expected`.
fn as_expected(e: Error) -> anyhow::Error {
    match e {
        Error::UnknownTopic(topic) => {
            anyhow::anyhow!("Topic '{topic}' does not exist as expected")
        }
        other => other.into(),
    }
}

/// `--delete`: on a terminal (stdin and stderr) asks first, listing the topics and their
/// partition counts, unless --yes; shows progress for many partitions.
fn delete(admin: &dyn Admin, args: &TopicsArgs, topics: &[String]) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let ask = interactive && !args.yes;
    // Partition counts, for the question and the progress (a topic gone meanwhile counts 0);
    // a script (no terminal) sends no extra request.
    let counted = ask || std::io::stderr().is_terminal();
    let counts: Vec<u64> = topics
        .iter()
        .map(|t| {
            if !counted {
                return 0;
            }
            admin
                .describe_topics(std::slice::from_ref(t))
                .ok()
                .and_then(|d| d.first().map(|d| d.partitions.len() as u64))
                .unwrap_or(0)
        })
        .collect();
    if ask {
        let mut what = String::from("These topics will be deleted, with all their records:\n");
        for (t, n) in topics.iter().zip(&counts) {
            what.push_str(&format!(
                "  {t} ({n} partition{})\n",
                if *n == 1 { "" } else { "s" }
            ));
        }
        eprint!("{what}");
        let yes = dialoguer::Confirm::new()
            .with_prompt(format!("Delete {} topic(s)?", topics.len()))
            .default(false)
            .interact()
            .map_err(|e| anyhow::anyhow!("cannot read the answer from the terminal: {e}"))?;
        if !yes {
            anyhow::bail!(Aborted);
        }
    }
    let total: u64 = counts.iter().sum();
    let bar = crate::output::progress(total, "Deleting topics");
    for (t, n) in topics.iter().zip(&counts) {
        if let Some(bar) = &bar {
            bar.set_message(format!("Deleting topic {t}"));
        }
        let done = admin.delete_topic(t);
        if let Some(bar) = &bar {
            bar.inc(*n);
        }
        if let Err(e) = done {
            if let Some(bar) = &bar {
                bar.finish_and_clear();
            }
            return Err(as_expected(e));
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(())
}

/// A declined confirmation: `Aborted.` on its own, exit 1.
#[derive(Debug)]
struct Aborted;

impl std::fmt::Display for Aborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Aborted.")
    }
}

impl std::error::Error for Aborted {}
