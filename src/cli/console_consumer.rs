//! `console-consumer`: print records to stdout (Kafka's `kafka-console-consumer.sh` with its
//! DefaultMessageFormatter).

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::json;

use super::usage;
use crate::client::{ConsumerConfig, ConsumerRecord, OffsetReset, StartOffset, Subscribe};
use crate::config::{CommonArgs, parse_key_value};
use crate::output::Format;

/// Read records and print them on standard output.
#[derive(Debug, Parser)]
#[command(name = "console-consumer", version)]
pub struct ConsoleConsumerArgs {
    /// The topic to consume.
    #[arg(long, value_name = "TOPIC")]
    pub topic: Option<String>,
    /// A regular expression of topics to consume (instead of --topic).
    #[arg(long, value_name = "REGEX")]
    pub include: Option<String>,
    /// Consume only this partition (starting at --offset, default latest).
    #[arg(long, value_name = "N")]
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
    /// Exit after this many records.
    #[arg(long, value_name = "N")]
    pub max_messages: Option<u64>,
    /// Exit if no record arrives for this many milliseconds.
    #[arg(long, value_name = "MS")]
    pub timeout_ms: Option<u64>,
    /// Skip records that cannot be processed instead of stopping.
    #[arg(long)]
    pub skip_message_on_error: bool,
    /// read_uncommitted or read_committed (no transactions exist in the embedded engine).
    #[arg(long, value_name = "LEVEL", default_value = "read_uncommitted")]
    pub isolation_level: String,
    /// A formatter property, key=value: print.timestamp, print.key, print.offset,
    /// print.partition, print.delivery, print.epoch, print.headers, print.value, key.separator,
    /// line.separator, headers.separator, null.literal.
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
                // Deserializers: records are printed as their bytes, like StringDeserializer.
                "key.deserializer" | "value.deserializer" | "headers.deserializer" => {}
                other => bail!(
                    "unknown --property '{other}': expected print.timestamp, print.key, print.offset, print.partition, print.delivery, print.epoch, print.headers, print.value, key.separator, line.separator, headers.separator or null.literal"
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

fn json_record(r: &ConsumerRecord) -> String {
    let text =
        |b: &Option<bytes::Bytes>| b.as_ref().map(|b| String::from_utf8_lossy(b).into_owned());
    let v = json!({
        "topic": &*r.topic,
        "partition": r.partition,
        "offset": r.offset,
        "timestamp": r.timestamp,
        "timestamp_type": if r.log_append_time { "LogAppendTime" } else { "CreateTime" },
        "headers": r.headers.iter().map(|(k, v)| json!([k, text(v)])).collect::<Vec<_>>(),
        "key": text(&r.key),
        "value": text(&r.value),
    });
    format!("{v}\n")
}

/// Runs the `console-consumer` tool.
pub fn run(args: ConsoleConsumerArgs) -> anyhow::Result<ExitCode> {
    if args.topic.is_some() == args.include.is_some() {
        return usage("Exactly one of the following arguments is required: [topic], [include]");
    }
    if args.partition.is_some() && args.topic.is_none() {
        return usage("The topic is required when partition is specified.");
    }
    if args.offset.is_some() && args.partition.is_none() {
        return usage("The partition is required when offset is specified.");
    }
    if args.offset.is_some() && args.from_beginning {
        return usage("Options from-beginning and offset cannot be specified together.");
    }
    let mut config = ConsumerConfig {
        group: args.group.clone(),
        offset_reset: if args.from_beginning {
            OffsetReset::Earliest
        } else {
            OffsetReset::Latest
        },
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
            _ => {}
        }
    }
    if config.group.is_some() && args.partition.is_some() {
        return usage("Options group and partition cannot be specified together.");
    }
    let formatter_props: BTreeMap<String, String> = args.property.iter().cloned().collect();
    let format = MessageFormat::from_properties(&formatter_props)?;
    let subscribe = match (&args.topic, &args.include, args.partition) {
        (Some(t), _, Some(p)) => {
            let start = match args.offset.as_deref() {
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
            Subscribe::Assign(vec![(t.clone(), p, start)])
        }
        (Some(t), _, None) => Subscribe::Topics(vec![t.clone()]),
        (None, Some(re), _) => Subscribe::Pattern(re.clone()),
        (None, None, _) => unreachable!("checked above"),
    };
    let backend = args.common.backend_with(&args.consumer_property)?;
    if let Subscribe::Assign(list) = &subscribe {
        // An assigned partition must exist: there is no group to wait in.
        let admin = backend.admin()?;
        for (t, p, _) in list {
            let described = admin.describe_topics(std::slice::from_ref(t))?;
            let count = described.first().map_or(0, |d| d.partitions.len() as i32);
            if *p < 0 || *p >= count {
                return Err(crate::Error::UnknownPartition {
                    topic: t.clone(),
                    partition: *p,
                }
                .into());
            }
        }
    }
    let interrupted = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, interrupted.clone())?;
    }
    let mut consumer = backend.consumer(&config)?;
    consumer.subscribe(subscribe)?;

    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let json = args.common.output == Format::Json;
    let mut processed: u64 = 0;
    let mut last_record = Instant::now();
    let timeout = args.timeout_ms.map(Duration::from_millis);
    let result: anyhow::Result<()> = (|| {
        while !interrupted.load(Ordering::Relaxed) {
            if let Some(max) = args.max_messages
                && processed >= max
            {
                break;
            }
            if let Some(t) = timeout
                && last_record.elapsed() >= t
            {
                break;
            }
            if let Some(max) = args.max_messages {
                // Never take more than will be printed: the group commits what poll returned.
                consumer.set_max_poll_records((max - processed).min(usize::MAX as u64) as usize);
            }
            let records = consumer.poll(Duration::from_millis(100))?;
            if records.is_empty() {
                continue;
            }
            last_record = Instant::now();
            let room = args.max_messages.map_or(u64::MAX, |m| m - processed);
            for r in records.iter().take(room.min(usize::MAX as u64) as usize) {
                if json {
                    out.write_all(json_record(r).as_bytes())?;
                } else {
                    format.write(&mut out, r)?;
                }
                processed += 1;
            }
            out.flush()?;
        }
        Ok(())
    })();
    let closed = consumer.close();
    let _ = out.flush();
    eprintln!("Processed a total of {processed} messages");
    result?;
    closed?;
    Ok(ExitCode::SUCCESS)
}
