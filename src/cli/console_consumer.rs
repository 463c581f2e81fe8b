//! `console-consumer`: print records to stdout (Kafka's `kafka-console-consumer.sh` with its
//! DefaultMessageFormatter).

use std::collections::BTreeMap;
use std::io::{BufWriter, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;

use super::args::{CommonArgs, parse_key_value};
use super::deserializer::Deserializer;
use super::format_string::FormatString;
use super::partition_ends::PartitionEnds;
use super::usage;
use crate::client::{
    Admin, ConsumerConfig, ConsumerRecord, OffsetReset, OffsetSpec, StartOffset, Subscribe,
};
use crate::output::Format;

/// The examples at the end of `--help`.
const EXAMPLES: &str = "\
Examples:
  console-consumer --topic quickstart-events --from-beginning
  console-consumer --topic quickstart-events --group my-group --from-time -15m
  console-consumer --topic quickstart-events --format '%p:%o %k=%s\\n'";

/// Read records and print them on standard output.
#[derive(Debug, Parser)]
#[command(name = "console-consumer", version, after_help = EXAMPLES)]
pub struct ConsoleConsumerArgs {
    /// The topic to consume.
    #[arg(long, value_name = "TOPIC")]
    pub topic: Option<String>,
    /// A regular expression of topics to consume (instead of --topic).
    #[arg(long, value_name = "REGEX")]
    pub include: Option<String>,
    /// Consume only this partition (starting at --offset, default latest).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub partition: Option<i32>,
    /// With --partition: earliest, latest, or an offset.
    #[arg(long, value_name = "OFFSET", allow_hyphen_values = true)]
    pub offset: Option<String>,
    /// Start with the earliest record when there is no committed offset.
    #[arg(long)]
    pub from_beginning: bool,
    /// The consumer group; offsets are committed only with a group.
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Exit after this many records (a negative number, Kafka's default -1, means no limit).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub max_messages: Option<i64>,
    /// Exit if no record arrives for this many milliseconds (negative: wait for ever).
    #[arg(long, value_name = "MS", allow_hyphen_values = true)]
    pub timeout_ms: Option<i64>,
    /// Print each record through a format string, as kcat does: %t topic, %p partition,
    /// %o offset, %k key, %v (or %s) value, %K / %S key / value length, %T timestamp in ms,
    /// %D timestamp as RFC 3339 (UTC), %h headers as k=v,...; escapes \n \t \r \0.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Start each partition at its first record at or after this time: RFC 3339
    /// (2026-12-01T10:00:00Z), a date (2026-12-01, local midnight), or relative to now (-15m,
    /// -2h, -1d).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub from_time: Option<String>,
    /// Stop each partition before its first record after this time (same forms as
    /// --from-time), then exit.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub to_time: Option<String>,
    /// Start at the last N records of each partition (add --exit-at-end to stop there).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub tail: Option<i64>,
    /// Exit once every partition has been read up to the end it had when the consumer first
    /// got it (also with --group).
    #[arg(long)]
    pub exit_at_end: bool,
    /// Skip records that cannot be processed instead of stopping.
    #[arg(long)]
    pub skip_message_on_error: bool,
    /// read_uncommitted, or read_committed: only records of committed transactions, up to the
    /// last stable offset.
    #[arg(long, value_name = "LEVEL", default_value = "read_uncommitted")]
    pub isolation_level: String,
    /// A formatter property, key=value: print.timestamp, print.key, print.offset,
    /// print.partition, print.delivery, print.epoch, print.headers, print.value, key.separator,
    /// line.separator, headers.separator, null.literal, key.deserializer, value.deserializer
    /// (String, ByteArray, Long, Integer, Short, Double, Float, Boolean, UUID).
    #[arg(long = "property", visible_alias = "formatter-property", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub property: Vec<(String, String)>,
    /// A consumer config, key=value: group.id, client.id, auto.offset.reset.
    /// The same as --command-property, Kafka's newer name.
    #[arg(long = "consumer-property", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub consumer_property: Vec<(String, String)>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// DefaultMessageFormatter's settings.
#[derive(Debug, Clone)]
pub struct MessageFormat {
    /// `print.timestamp`.
    pub print_timestamp: bool,
    /// `print.key`.
    pub print_key: bool,
    /// `print.offset`.
    pub print_offset: bool,
    /// `print.partition`.
    pub print_partition: bool,
    /// `print.delivery`: always `Delivery:NOT_PRESENT`, as in Kafka's console consumer.
    pub print_delivery: bool,
    /// `print.epoch`: always `Epoch:NOT_PRESENT`, as in Kafka's console consumer (it rebuilds
    /// each record without its leader epoch).
    pub print_epoch: bool,
    /// `print.headers`.
    pub print_headers: bool,
    /// `print.value`.
    pub print_value: bool,
    /// `key.separator`: between fields.
    pub key_separator: Vec<u8>,
    /// `line.separator`: after each record.
    pub line_separator: Vec<u8>,
    /// `headers.separator`: between headers.
    pub headers_separator: Vec<u8>,
    /// `null.literal`: printed for null keys, values and header values.
    pub null_literal: Vec<u8>,
    /// `key.deserializer`.
    pub key_deserializer: Deserializer,
    /// `value.deserializer`.
    pub value_deserializer: Deserializer,
}

impl Default for MessageFormat {
    fn default() -> Self {
        MessageFormat {
            print_timestamp: false,
            print_key: false,
            print_offset: false,
            print_partition: false,
            print_delivery: false,
            print_epoch: false,
            print_headers: false,
            print_value: true,
            key_separator: b"\t".to_vec(),
            line_separator: b"\n".to_vec(),
            headers_separator: b",".to_vec(),
            null_literal: b"null".to_vec(),
            key_deserializer: Deserializer::Bytes,
            value_deserializer: Deserializer::Bytes,
        }
    }
}

impl MessageFormat {
    /// Builds the format from `--property` values.
    pub fn from_properties(props: &BTreeMap<String, String>) -> anyhow::Result<Self> {
        let mut f = MessageFormat::default();
        let flag = |k: &str, v: &str| -> anyhow::Result<bool> {
            v.trim()
                .to_ascii_lowercase()
                .parse()
                .with_context(|| format!("--property {k}={v}: expected true or false"))
        };
        for (k, v) in props {
            match k.as_str() {
                "print.timestamp" => f.print_timestamp = flag(k, v)?,
                "print.key" => f.print_key = flag(k, v)?,
                "print.offset" => f.print_offset = flag(k, v)?,
                "print.partition" => f.print_partition = flag(k, v)?,
                "print.delivery" => f.print_delivery = flag(k, v)?,
                "print.epoch" => f.print_epoch = flag(k, v)?,
                "print.headers" => f.print_headers = flag(k, v)?,
                "print.value" => f.print_value = flag(k, v)?,
                "key.separator" => f.key_separator = v.as_bytes().to_vec(),
                "line.separator" => f.line_separator = v.as_bytes().to_vec(),
                "headers.separator" => f.headers_separator = v.as_bytes().to_vec(),
                "null.literal" => f.null_literal = v.as_bytes().to_vec(),
                "key.deserializer" => {
                    f.key_deserializer = Deserializer::from_name(v)
                        .map_err(|e| anyhow::anyhow!("--property {k}: {e}"))?
                }
                "value.deserializer" => {
                    f.value_deserializer = Deserializer::from_name(v)
                        .map_err(|e| anyhow::anyhow!("--property {k}: {e}"))?
                }
                // Header values are printed as their bytes, like StringDeserializer.
                "headers.deserializer" => {}
                other => bail!(
                    "unknown --property '{other}': expected print.timestamp, print.key, print.offset, print.partition, print.delivery, print.epoch, print.headers, print.value, key.separator, line.separator, headers.separator null.literal, key.deserializer or value.deserializer"
                ),
            }
        }
        Ok(f)
    }

    /// Writes one record in Kafka's field order: timestamp, partition, offset, delivery, epoch,
    /// headers, key, value; fields apart by `key.separator`, the record ended by
    /// `line.separator`.
    pub fn write(&self, out: &mut impl Write, r: &ConsumerRecord) -> std::io::Result<()> {
        let fields = [
            self.print_timestamp,
            self.print_partition,
            self.print_offset,
            self.print_delivery,
            self.print_epoch,
            self.print_headers,
            self.print_key,
            self.print_value,
        ];
        let sep = |out: &mut dyn Write, i: usize| -> std::io::Result<()> {
            if fields[i + 1..].iter().any(|&f| f) {
                out.write_all(&self.key_separator)
            } else {
                out.write_all(&self.line_separator)
            }
        };
        if self.print_timestamp {
            let kind = if r.log_append_time {
                "LogAppendTime"
            } else {
                "CreateTime"
            };
            if r.timestamp >= 0 {
                write!(out, "{kind}:{}", r.timestamp)?;
            } else {
                out.write_all(b"NO_TIMESTAMP")?;
            }
            sep(out, 0)?;
        }
        if self.print_partition {
            write!(out, "Partition:{}", r.partition)?;
            sep(out, 1)?;
        }
        if self.print_offset {
            write!(out, "Offset:{}", r.offset)?;
            sep(out, 2)?;
        }
        if self.print_delivery {
            out.write_all(b"Delivery:NOT_PRESENT")?;
            sep(out, 3)?;
        }
        if self.print_epoch {
            out.write_all(b"Epoch:NOT_PRESENT")?;
            sep(out, 4)?;
        }
        if self.print_headers {
            if r.headers.is_empty() {
                out.write_all(b"NO_HEADERS")?;
            } else {
                for (i, (k, v)) in r.headers.iter().enumerate() {
                    if i > 0 {
                        out.write_all(&self.headers_separator)?;
                    }
                    out.write_all(k.as_bytes())?;
                    out.write_all(b":")?;
                    out.write_all(v.as_deref().unwrap_or(&self.null_literal))?;
                }
            }
            sep(out, 5)?;
        }
        if self.print_key {
            out.write_all(r.key.as_deref().unwrap_or(&self.null_literal))?;
            sep(out, 6)?;
        }
        if self.print_value {
            out.write_all(r.value.as_deref().unwrap_or(&self.null_literal))?;
            out.write_all(&self.line_separator)?;
        }
        Ok(())
    }
}

/// Runs the `console-consumer` tool.
pub fn run(args: ConsoleConsumerArgs) -> anyhow::Result<ExitCode> {
    if args.topic.is_some() == args.include.is_some() {
        return usage("Exactly one of the following arguments is required: [topic], [include]");
    }
    if args.partition.is_some() && args.topic.is_none() {
        return usage("The topic is required when partition is specified.");
    }
    if let Some(p) = args.partition
        && p < 0
    {
        return usage(format!("--partition {p}: a partition number is 0 or more"));
    }
    if args.offset.is_some() && args.partition.is_none() {
        return usage("The partition is required when offset is specified.");
    }
    if args.offset.is_some() && args.from_beginning {
        return usage("Options from-beginning and offset cannot be specified together.");
    }
    if !matches!(
        args.isolation_level.as_str(),
        "read_uncommitted" | "read_committed"
    ) {
        return usage(format!(
            "Invalid value {} for configuration isolation.level: String must be one of: read_committed, read_uncommitted",
            args.isolation_level
        ));
    }
    if args.group.as_deref().is_some_and(|g| g.trim().is_empty()) {
        return usage("--group '': a group id must not be empty");
    }
    let positioned = [
        (args.from_time.is_some(), "--from-time"),
        (args.tail.is_some(), "--tail"),
        (args.offset.is_some(), "--offset"),
        (args.from_beginning, "--from-beginning"),
    ];
    let chosen: Vec<&str> = positioned
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| *n)
        .collect();
    if chosen.len() > 1 && (args.from_time.is_some() || args.tail.is_some()) {
        return usage(format!(
            "{} cannot be combined: each says where to start",
            chosen.join(" and ")
        ));
    }
    if (args.from_time.is_some() || args.tail.is_some()) && args.topic.is_none() {
        return usage("--from-time and --tail need --topic (they position each of its partitions)");
    }
    if let Some(n) = args.tail
        && n <= 0
    {
        return usage(format!("--tail {n}: expected a positive number of records"));
    }
    if args.format.is_some() && args.common.output == Format::Json {
        return usage("--format and --output json both say how to print records; keep one");
    }
    let now = crate::log::unified::now_ms();
    let from_time = args
        .from_time
        .as_deref()
        .map(|t| {
            super::time::parse_point_in_time(t, now)
                .map_err(|e| super::UsageError(format!("--from-time: {e:#}")))
        })
        .transpose()?;
    let to_time = args
        .to_time
        .as_deref()
        .map(|t| {
            super::time::parse_point_in_time(t, now)
                .map_err(|e| super::UsageError(format!("--to-time: {e:#}")))
        })
        .transpose()?;
    let template = args
        .format
        .as_deref()
        .map(FormatString::parse)
        .transpose()
        .map_err(super::UsageError)?;
    let mut config = ConsumerConfig {
        group: args.group.clone(),
        offset_reset: if args.from_beginning {
            OffsetReset::Earliest
        } else {
            OffsetReset::Latest
        },
        skip_corrupt: args.skip_message_on_error,
        read_committed: args.isolation_level == "read_committed",
        ..ConsumerConfig::default()
    };
    for (k, v) in args
        .common
        .command_property
        .iter()
        .chain(&args.consumer_property)
    {
        match k.as_str() {
            "group.id" => {
                if config.group.as_ref().is_some_and(|g| g != v) {
                    return usage(format!(
                        "The group ids provided in different places (directly using '--group': '{}', via '--consumer-property': '{v}') do not match.",
                        config.group.as_deref().unwrap_or_default()
                    ));
                }
                config.group = Some(v.clone());
            }
            "client.id" => config.client_id = v.clone(),
            "auto.offset.reset" => {
                config.offset_reset = match v.as_str() {
                    "earliest" => OffsetReset::Earliest,
                    "latest" => OffsetReset::Latest,
                    _ => {
                        return usage(format!(
                            "auto.offset.reset={v}: expected earliest or latest"
                        ));
                    }
                }
            }
            "isolation.level" => {
                config.read_committed = match v.as_str() {
                    "read_committed" => true,
                    "read_uncommitted" => false,
                    _ => {
                        return usage(format!(
                            "Invalid value {v} for configuration isolation.level: String must be one of: read_committed, read_uncommitted"
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    if config.group.is_some() && args.partition.is_some() {
        return usage("Options group and partition cannot be specified together.");
    }
    if config.group.is_some() && (from_time.is_some() || args.tail.is_some()) {
        return usage(
            "--from-time and --tail position each partition themselves; drop --group (or reset the group with consumer-groups --reset-offsets --to-datetime)",
        );
    }
    let formatter_props: BTreeMap<String, String> = args.property.iter().cloned().collect();
    let format = MessageFormat::from_properties(&formatter_props)?;
    let backend = args.common.backend_with(&args.consumer_property)?;
    // An admin client only when something must be looked up: against a cluster it is one more
    // connection and metadata round trip before the first record.
    let admin: Option<Box<dyn Admin>> = if args.partition.is_some()
        || from_time.is_some()
        || args.tail.is_some()
        || args.exit_at_end
        || to_time.is_some()
    {
        Some(backend.admin()?)
    } else {
        None
    };
    let admin_ref = || {
        admin
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("no admin client for a lookup"))
    };
    let mut starts: BTreeMap<(String, i32), i64> = BTreeMap::new();
    let subscribe = match (&args.topic, &args.include, args.partition) {
        (Some(t), _, Some(p)) => {
            // An assigned partition must exist: there is no group to wait in.
            let described = admin_ref()?.describe_topics(std::slice::from_ref(t))?;
            let count = described.first().map_or(0, |d| d.partitions.len() as i32);
            if p >= count {
                return Err(crate::Error::UnknownPartition {
                    topic: t.clone(),
                    partition: p,
                }
                .into());
            }
            let start = match args.offset.as_deref() {
                _ if from_time.is_some() || args.tail.is_some() => {
                    StartOffset::At(start_of(admin_ref()?, t, p, from_time, args.tail)?)
                }
                None | Some("latest") => {
                    if args.from_beginning {
                        StartOffset::Earliest
                    } else {
                        StartOffset::Latest
                    }
                }
                Some("earliest") => StartOffset::Earliest,
                Some(n) => match n.parse::<i64>() {
                    Ok(o) if o >= 0 => StartOffset::At(o),
                    _ => {
                        return usage(format!(
                            "The provided offset value '{n}' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long."
                        ));
                    }
                },
            };
            if let StartOffset::At(o) = start {
                starts.insert((t.clone(), p), o);
            }
            Subscribe::Assign(vec![(t.clone(), p, start)])
        }
        (Some(t), _, None) if from_time.is_some() || args.tail.is_some() => {
            let described = admin_ref()?.describe_topics(std::slice::from_ref(t))?;
            let count = described.first().map_or(0, |d| d.partitions.len() as i32);
            let mut list = Vec::new();
            for p in 0..count {
                let o = start_of(admin_ref()?, t, p, from_time, args.tail)?;
                starts.insert((t.clone(), p), o);
                list.push((t.clone(), p, StartOffset::At(o)));
            }
            Subscribe::Assign(list)
        }
        (Some(t), _, None) => Subscribe::Topics(vec![t.clone()]),
        (None, Some(re), _) => Subscribe::Pattern(re.clone()),
        (None, None, _) => unreachable!("checked above"),
    };
    let mut ends = (args.exit_at_end || to_time.is_some())
        .then(|| PartitionEnds::new(to_time, config.group.clone(), config.offset_reset, starts));
    let interrupted = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, interrupted.clone())?;
    }
    let mut consumer = backend.consumer(&config)?;
    consumer.subscribe(subscribe)?;

    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let json = args.common.output == Format::Json;
    // JSON lines are built here, many records at a time, and written past the BufWriter's copy.
    let mut json_lines: Vec<u8> = Vec::with_capacity(if json { 1 << 17 } else { 0 });
    let max_messages = args.max_messages.and_then(|m| u64::try_from(m).ok());
    let progress = max_messages
        .filter(|_| std::io::stderr().is_terminal())
        .map(|max| {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(max),
                indicatif::ProgressDrawTarget::stderr(),
            );
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} records {per_sec}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
    let mut processed: u64 = 0;
    let mut last_record = Instant::now();
    let timeout = args
        .timeout_ms
        .and_then(|t| u64::try_from(t).ok())
        .map(Duration::from_millis);
    let deserialize =
        !format.key_deserializer.is_identity() || !format.value_deserializer.is_identity();
    let result: anyhow::Result<()> = (|| {
        while !interrupted.load(Ordering::Relaxed) {
            if let Some(max) = max_messages
                && processed >= max
            {
                break;
            }
            if let Some(t) = timeout
                && last_record.elapsed() >= t
            {
                break;
            }
            if let Some(e) = ends.as_mut()
                && e.update(&*consumer, admin_ref()?)?
            {
                break;
            }
            if let Some(max) = max_messages {
                // Never take more than will be printed: the group commits what poll returned.
                consumer.set_max_poll_records((max - processed).min(usize::MAX as u64) as usize);
            }
            let records = consumer.poll(Duration::from_millis(100))?;
            if records.is_empty() {
                if stdout_closed() {
                    break;
                }
                continue;
            }
            last_record = Instant::now();
            let room = max_messages.map_or(u64::MAX, |m| m - processed);
            for r in records.iter().take(room.min(usize::MAX as u64) as usize) {
                if let Some(e) = ends.as_mut()
                    && !e.admit(&r.topic, r.partition, r.offset)
                {
                    continue;
                }
                let shown;
                let r = if deserialize {
                    match deserialized(&format, r) {
                        Ok(d) => {
                            shown = d;
                            &shown
                        }
                        Err(e) if args.skip_message_on_error => {
                            eprintln!("Error processing message, skipping this message: {e}");
                            continue;
                        }
                        Err(e) => return Err(e),
                    }
                } else {
                    r
                };
                if json {
                    super::envelope::encode_json_line(&mut json_lines, r);
                    if json_lines.len() >= 1 << 16 {
                        out.write_all(&json_lines)?;
                        json_lines.clear();
                    }
                } else if let Some(t) = &template {
                    t.write(&mut out, r)?;
                } else {
                    format.write(&mut out, r)?;
                }
                processed += 1;
            }
            if let Some(bar) = &progress {
                bar.set_position(processed);
            }
            out.write_all(&json_lines)?;
            json_lines.clear();
            out.flush()?;
        }
        Ok(())
    })();
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let closed = consumer.close();
    let _ = out.flush();
    eprintln!("Processed a total of {processed} messages");
    result?;
    closed?;
    Ok(ExitCode::SUCCESS)
}

/// Where `--from-time` or `--tail` starts a partition.
fn start_of(
    admin: &dyn Admin,
    topic: &str,
    partition: i32,
    from_time: Option<i64>,
    tail: Option<i64>,
) -> anyhow::Result<i64> {
    let latest = admin.list_offset(topic, partition, OffsetSpec::Latest)?;
    if let Some(t) = from_time {
        let o = admin.list_offset(topic, partition, OffsetSpec::Timestamp(t))?;
        return Ok(if o < 0 { latest } else { o });
    }
    let earliest = admin.list_offset(topic, partition, OffsetSpec::Earliest)?;
    let n = tail.unwrap_or(0).max(0);
    Ok(latest.saturating_sub(n).max(earliest))
}

/// The record with its key and value run through the formatter's deserializers.
fn deserialized(format: &MessageFormat, r: &ConsumerRecord) -> anyhow::Result<ConsumerRecord> {
    let at = |e: String| {
        anyhow::anyhow!(
            "{e} (topic {}, partition {}, offset {}); --skip-message-on-error skips such records",
            r.topic,
            r.partition,
            r.offset
        )
    };
    let mut d = r.clone();
    d.key = format.key_deserializer.apply(d.key).map_err(at)?;
    d.value = format.value_deserializer.apply(d.value).map_err(at)?;
    Ok(d)
}

/// True when stdout is a pipe whose reader has gone (`| head -1` done): noticed while no record
/// arrives, so an idle consumer exits instead of waiting for a write to fail.
fn stdout_closed() -> bool {
    let mut fds = libc::pollfd {
        fd: libc::STDOUT_FILENO,
        events: 0,
        revents: 0,
    };
    // SAFETY: one valid pollfd on the stack, a count of one, and no wait.
    let n = unsafe { libc::poll(&mut fds, 1, 0) };
    n > 0 && fds.revents & (libc::POLLERR | libc::POLLHUP) != 0
}
