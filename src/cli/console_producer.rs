//! `console-producer`: lines from stdin become records (Kafka's `kafka-console-producer.sh`
//! with its LineMessageReader).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::{Bytes, BytesMut};
use clap::Parser;

use super::args::{CommonArgs, parse_key_value};
use crate::client::{ProducerConfig, ProducerRecord};
use crate::log::codec::parse_compression;
use crate::log::unified::now_ms;

/// The examples at the end of `--help`.
const EXAMPLES: &str = "\
Examples:
  console-producer --topic quickstart-events
  console-producer --topic quickstart-events --property parse.key=true --property key.separator=:
  console-producer --bootstrap-server localhost:9092 --topic quickstart-events < events.txt";

/// Read lines from standard input and publish them as records.
#[derive(Debug, Parser)]
#[command(name = "console-producer", version, after_help = EXAMPLES)]
pub struct ConsoleProducerArgs {
    /// The topic to produce to.
    #[arg(long, value_name = "TOPIC")]
    pub topic: Option<String>,
    /// Send each line as its own request and wait for it.
    #[arg(long)]
    pub sync: bool,
    /// Compression: none, gzip, snappy, lz4 or zstd. Without a value, gzip.
    #[arg(long, value_name = "CODEC", num_args = 0..=1, default_missing_value = "gzip")]
    pub compression_codec: Option<String>,
    /// Bytes of records per batch when not sending synchronously [default: 16384; against a
    /// cluster, librdkafka's 1000000].
    #[arg(long, value_name = "BYTES")]
    pub batch_size: Option<usize>,
    /// Milliseconds a partial batch may wait for more lines (linger.ms) [default: 1000; against
    /// a cluster, librdkafka's 5].
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u64>,
    /// Acknowledgements required (-1/all, 0, 1). Embedded appends are complete when they return,
    /// so every value behaves like all.
    #[arg(long, value_name = "ACKS", default_value = "-1")]
    pub request_required_acks: String,
    /// A line reader property, key=value: parse.key, key.separator, parse.headers,
    /// headers.delimiter, headers.separator, headers.key.separator, null.marker, ignore.error.
    #[arg(long = "property", visible_alias = "reader-property", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub property: Vec<(String, String)>,
    /// A producer config, key=value (batch.size, linger.ms, compression.type, client.id, acks,
    /// ...); the same as --command-property, Kafka's newer name.
    #[arg(long = "producer-property", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub producer_property: Vec<(String, String)>,
    /// How each input line reads: text (Kafka's line reader and its --property settings) or
    /// json, the envelope `console-consumer --output json` prints: {"key", "value", "headers",
    /// "partition", "timestamp", "encoding"}.
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    pub input: InputFormat,
    /// Read lines from this file instead of standard input.
    #[arg(long, value_name = "PATH")]
    pub file: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// What an input line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum InputFormat {
    /// Kafka's LineMessageReader: the line is the value (keys and headers with --property).
    #[default]
    Text,
    /// One JSON envelope per line, as `console-consumer --output json` prints.
    Json,
}

/// LineMessageReader's settings.
#[derive(Debug, Clone)]
pub struct LineFormat {
    /// Split a key off each line.
    pub parse_key: bool,
    /// Between key and value.
    pub key_separator: Vec<u8>,
    /// Parse headers at the start of each line.
    pub parse_headers: bool,
    /// Between the headers and the rest of the line.
    pub headers_delimiter: Vec<u8>,
    /// Between headers.
    pub headers_separator: Vec<u8>,
    /// Between a header's key and value.
    pub headers_key_separator: Vec<u8>,
    /// A field equal to this is null.
    pub null_marker: Option<Vec<u8>>,
    /// Skip malformed lines instead of failing.
    pub ignore_error: bool,
    /// Refuse a header key repeated on one line. The embedded engine's batch codec keeps one
    /// value per header key; a remote cluster keeps them all, as Kafka does.
    pub unique_header_keys: bool,
    /// Lines are JSON envelopes (`--input json`) instead of Kafka's line format.
    pub json: bool,
}

impl Default for LineFormat {
    fn default() -> Self {
        LineFormat {
            parse_key: false,
            key_separator: b"\t".to_vec(),
            parse_headers: false,
            headers_delimiter: b"\t".to_vec(),
            headers_separator: b",".to_vec(),
            headers_key_separator: b":".to_vec(),
            null_marker: None,
            ignore_error: false,
            unique_header_keys: true,
            json: false,
        }
    }
}

impl LineFormat {
    /// Builds the format from `--property` values.
    pub fn from_properties(props: &BTreeMap<String, String>) -> anyhow::Result<Self> {
        let mut f = LineFormat::default();
        let flag = |k: &str, v: &str| -> anyhow::Result<bool> {
            v.trim()
                .to_ascii_lowercase()
                .parse()
                .with_context(|| format!("--property {k}={v}: expected true or false"))
        };
        for (k, v) in props {
            match k.as_str() {
                "parse.key" => f.parse_key = flag(k, v)?,
                "key.separator" => f.key_separator = v.as_bytes().to_vec(),
                "parse.headers" => f.parse_headers = flag(k, v)?,
                "headers.delimiter" => f.headers_delimiter = v.as_bytes().to_vec(),
                "headers.separator" => f.headers_separator = v.as_bytes().to_vec(),
                "headers.key.separator" => f.headers_key_separator = v.as_bytes().to_vec(),
                "null.marker" => f.null_marker = Some(v.as_bytes().to_vec()),
                "ignore.error" => f.ignore_error = flag(k, v)?,
                other => bail!(
                    "unknown --property '{other}': expected parse.key, key.separator, parse.headers, headers.delimiter, headers.separator, headers.key.separator, null.marker or ignore.error"
                ),
            }
        }
        for (name, sep) in [
            ("key.separator", &f.key_separator),
            ("headers.delimiter", &f.headers_delimiter),
            ("headers.separator", &f.headers_separator),
            ("headers.key.separator", &f.headers_key_separator),
        ] {
            if sep.is_empty() {
                bail!("--property {name} must not be empty");
            }
        }
        let mut distinct: Vec<(&str, &[u8])> = vec![
            ("headers.delimiter", &f.headers_delimiter),
            ("headers.separator", &f.headers_separator),
            ("headers.key.separator", &f.headers_key_separator),
        ];
        for (i, (a, x)) in distinct.iter().enumerate() {
            for (b, y) in &distinct[i + 1..] {
                if x == y {
                    bail!("{a} and {b} may not be equal");
                }
            }
        }
        if let Some(marker) = f.null_marker.as_deref() {
            distinct.insert(0, ("key.separator", &f.key_separator));
            for (name, sep) in distinct {
                if marker == sep {
                    bail!("null.marker and {name} may not be equal");
                }
            }
        }
        Ok(f)
    }

    fn is_null(&self, field: &[u8]) -> bool {
        self.null_marker.as_deref() == Some(field)
    }

    /// Parses one line (without its line ending) into a record, as LineMessageReader does:
    /// headers first, then key, then value.
    ///
    /// # Errors
    /// Kafka's messages, naming the line number.
    pub fn parse(
        &self,
        line: Bytes,
        number: u64,
        timestamp: i64,
    ) -> Result<ProducerRecord, String> {
        if !self.parse_headers && !self.parse_key {
            // The usual line: all value, and no second reference to count up and down.
            let value = (!self.is_null(&line)).then_some(line);
            return Ok(ProducerRecord {
                key: None,
                value,
                headers: Vec::new(),
                timestamp,
            });
        }
        let text = || String::from_utf8_lossy(&line).into_owned();
        let mut rest = line.clone();
        let mut headers = Vec::new();
        if self.parse_headers {
            // With ignore.error a line without the delimiter simply has no headers.
            let part = match memchr::memmem::find(&rest, &self.headers_delimiter) {
                Some(at) => {
                    let part = rest.slice(..at);
                    rest = rest.slice(at + self.headers_delimiter.len()..);
                    Some(part)
                }
                None if self.ignore_error => None,
                None => {
                    return Err(format!(
                        "No headers delimiter found on line number {number}: '{}'",
                        text()
                    ));
                }
            };
            if let Some(part) = part.filter(|p| !self.is_null(p)) {
                for pair in split(&part, &self.headers_separator) {
                    let Some(k) = memchr::memmem::find(&pair, &self.headers_key_separator) else {
                        if self.ignore_error {
                            headers.push((String::from_utf8_lossy(&pair).into_owned(), None));
                            continue;
                        }
                        return Err(format!(
                            "No header key separator found in pair '{}' on line number {number}",
                            String::from_utf8_lossy(&pair)
                        ));
                    };
                    let key = &pair[..k];
                    if self.is_null(key) {
                        return Err(format!(
                            "Header keys should not be equal to the null marker '{}' as they can't be null",
                            String::from_utf8_lossy(key)
                        ));
                    }
                    let value = pair.slice(k + self.headers_key_separator.len()..);
                    let value = (!self.is_null(&value)).then_some(value);
                    let key = String::from_utf8_lossy(key).into_owned();
                    if self.unique_header_keys && headers.iter().any(|(k, _)| *k == key) {
                        // The batch codec (kafka-protocol) keeps one value per header key; say so
                        // rather than drop a value silently.
                        return Err(format!(
                            "Duplicate header key '{key}' on line number {number}: streamlog stores one value per header key"
                        ));
                    }
                    headers.push((key, value));
                }
            }
        }
        let mut key = None;
        if self.parse_key {
            match memchr::memmem::find(&rest, &self.key_separator) {
                Some(at) => {
                    let k = rest.slice(..at);
                    rest = rest.slice(at + self.key_separator.len()..);
                    key = (!self.is_null(&k)).then_some(k);
                }
                // With ignore.error the whole line is the value and the key is null.
                None if self.ignore_error => {}
                None => {
                    return Err(format!(
                        "No key separator found on line number {number}: '{}'",
                        text()
                    ));
                }
            }
        }
        let value = (!self.is_null(&rest)).then_some(rest);
        Ok(ProducerRecord {
            key,
            value,
            headers,
            timestamp,
        })
    }

    /// Parses a block of whole lines (`\n` or `\r\n` endings; the last line may lack one), as
    /// the stdin reader hands them over. `number` is the count of lines before the block and is
    /// advanced; `after_line` runs after each parsed line (the interactive prompt). Stops at the
    /// first bad line: the records before it, and its message.
    ///
    /// Public as the fuzzing entry point of the line reader (`fuzz/fuzz_targets/console_producer.rs`).
    pub fn parse_block(
        &self,
        block: &Bytes,
        number: &mut u64,
        timestamp: i64,
        after_line: impl FnMut(),
    ) -> (Vec<ProducerRecord>, Option<String>) {
        let (records, _, bad) = self.parse_block_to(block, number, timestamp, after_line);
        (records, bad)
    }

    /// [`parse_block`](Self::parse_block) with the partition each record names (JSON input
    /// only; empty otherwise).
    fn parse_block_to(
        &self,
        block: &Bytes,
        number: &mut u64,
        timestamp: i64,
        mut after_line: impl FnMut(),
    ) -> (Vec<ProducerRecord>, Vec<Option<i32>>, Option<String>) {
        let mut records = Vec::with_capacity(block.len() / 64 + 1);
        let mut partitions = Vec::new();
        let mut start = 0;
        while start < block.len() {
            let end = memchr::memchr(b'\n', &block[start..]).map_or(block.len(), |i| start + i);
            let mut line_end = end;
            if line_end > start && block[line_end - 1] == b'\r' {
                line_end -= 1;
            }
            *number += 1;
            if self.json {
                let line = &block[start..line_end];
                start = end + 1;
                if line.iter().all(u8::is_ascii_whitespace) {
                    after_line();
                    continue;
                }
                match json_record(line, *number, timestamp) {
                    Ok((p, r)) => {
                        records.push(r);
                        partitions.push(p);
                    }
                    Err(msg) if self.ignore_error => eprintln!("{msg}"),
                    Err(msg) => return (records, partitions, Some(msg)),
                }
                after_line();
                continue;
            }
            match self.parse(block.slice(start..line_end), *number, timestamp) {
                Ok(r) => records.push(r),
                Err(msg) => return (records, partitions, Some(msg)),
            }
            start = end + 1;
            after_line();
        }
        (records, partitions, None)
    }
}

/// One `--input json` line: the partition it names and the record.
fn json_record(
    line: &[u8],
    number: u64,
    now: i64,
) -> Result<(Option<i32>, ProducerRecord), String> {
    let text = std::str::from_utf8(line)
        .map_err(|_| format!("Invalid JSON on line number {number}: not UTF-8 text"))?;
    let env = super::envelope::parse(text)
        .map_err(|e| format!("Invalid JSON on line number {number}: {e}"))?;
    Ok((
        env.partition,
        ProducerRecord {
            key: env.key,
            value: env.value,
            headers: env.headers,
            timestamp: env.timestamp.unwrap_or(now),
        },
    ))
}

/// Splits like Java's `Pattern.split`: trailing empty pieces are dropped.
fn split(data: &Bytes, sep: &[u8]) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut start = 0;
    for at in memchr::memmem::find_iter(data, sep) {
        out.push(data.slice(start..at));
        start = at + sep.len();
    }
    out.push(data.slice(start..));
    while out.len() > 1 && out.last().is_some_and(|p| p.is_empty()) {
        out.pop();
    }
    out
}

/// What the stdin reader thread hands the producer.
enum Chunk {
    /// Parsed records, the partitions they name (JSON input only, else empty), and the bytes of
    /// input they came from.
    Records(Vec<ProducerRecord>, Vec<Option<i32>>, u64),
    /// A line that could not be parsed (and ignore.error is off).
    Bad(String),
    /// stdin could not be read.
    Failed(std::io::Error),
}

/// Reads stdin in large blocks, cuts lines without copying them, and parses them: one
/// [`Chunk`] per block read.
struct LineReader {
    input: Box<dyn Read + Send>,
    buf: BytesMut,
    format: LineFormat,
    prompt: bool,
    number: u64,
    eof: bool,
    /// What a parse error leaves to hand over after the records before it.
    after: Option<Chunk>,
}

impl LineReader {
    fn new(input: Box<dyn Read + Send>, format: LineFormat, prompt: bool) -> LineReader {
        if prompt {
            print!(">");
            let _ = std::io::stdout().flush();
        }
        LineReader {
            input,
            buf: BytesMut::with_capacity(1 << 18),
            format,
            prompt,
            number: 0,
            eof: false,
            after: None,
        }
    }
}

impl Iterator for LineReader {
    type Item = Chunk;

    fn next(&mut self) -> Option<Chunk> {
        if let Some(chunk) = self.after.take() {
            return Some(chunk);
        }
        let buf = &mut self.buf;
        let block = loop {
            if self.eof {
                return None;
            }
            if buf.capacity() - buf.len() < 1 << 16 {
                buf.reserve(1 << 18);
            }
            let len = buf.len();
            let cap = buf.capacity();
            buf.resize(cap, 0);
            let n = match self.input.read(&mut buf[len..]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                    buf.truncate(len);
                    continue;
                }
                Err(e) => {
                    self.eof = true;
                    return Some(Chunk::Failed(e));
                }
            };
            buf.truncate(len + n);
            self.eof = n == 0;
            let complete = if self.eof {
                buf.len()
            } else {
                match memchr::memrchr(b'\n', buf) {
                    Some(i) => i + 1,
                    None => continue,
                }
            };
            break buf.split_to(complete).freeze();
        };
        let prompt = self.prompt;
        let (records, partitions, bad) =
            self.format
                .parse_block_to(&block, &mut self.number, now_ms(), || {
                    if prompt {
                        print!(">");
                        let _ = std::io::stdout().flush();
                    }
                });
        match bad {
            Some(msg) => {
                self.eof = true;
                self.after = Some(Chunk::Bad(msg));
                Some(Chunk::Records(records, partitions, 0))
            }
            None => Some(Chunk::Records(records, partitions, block.len() as u64)),
        }
    }
}

/// The reader on a thread of its own, handing chunks over.
fn read_stdin(reader: LineReader, tx: mpsc::SyncSender<Chunk>) {
    for chunk in reader {
        if tx.send(chunk).is_err() {
            return;
        }
    }
}

fn progress_bar(total: Option<u64>) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let bar = match total {
        Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
    };
    let template = if total.is_some() {
        "{bar:30} {bytes}/{total_bytes} {msg} ({eta})"
    } else {
        "{spinner} {bytes} {msg}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// Runs the `console-producer` tool.
/// A failed write, saying which lines are stored. Lines go out in batches, so a batch that cannot
/// be written takes the lines gathered in it along, and the line being read is not the first
/// one lost: name the first line that was not written. Keyless lines fill one partition's batch
/// at a time, so the written lines are the ones before it; keyed lines fill many batches at
/// once, so only the count is certain.
fn write_failure(e: crate::Error, written: u64, read: u64, keyed: bool) -> anyhow::Error {
    let e = anyhow::Error::from(e);
    if written >= read {
        return e;
    }
    if keyed {
        e.context(format!(
            "{written} of the first {read} lines were written, the others were not"
        ))
    } else {
        e.context(format!(
            "line {}: not written, nor the lines after it (the {written} before it were)",
            written + 1
        ))
    }
}

pub fn run(args: ConsoleProducerArgs) -> anyhow::Result<ExitCode> {
    let Some(topic) = args.topic.clone() else {
        return super::usage("Missing required argument \"[topic]\"");
    };
    crate::engine::topic::validate_name(&topic)?;
    let reader_props: BTreeMap<String, String> = args.property.iter().cloned().collect();
    let mut format = LineFormat::from_properties(&reader_props)?;
    format.json = args.input == InputFormat::Json;
    if !matches!(
        args.request_required_acks.as_str(),
        "all" | "-1" | "0" | "1"
    ) {
        return super::usage(format!(
            "Invalid value {} for configuration acks: String must be one of: all, -1, 0, 1",
            args.request_required_acks
        ));
    }
    let input: Box<dyn Read + Send> = match &args.file {
        Some(path) => Box::new(
            std::fs::File::open(path)
                .map_err(|e| anyhow::anyhow!("cannot read --file {}: {e}", path.display()))?,
        ),
        None => Box::new(std::io::stdin()),
    };
    let mut config = ProducerConfig {
        batch_size: args.batch_size.unwrap_or(16384).max(1),
        linger: Duration::from_millis(args.timeout.unwrap_or(1000)),
        batching_chosen: args.batch_size.is_some() || args.timeout.is_some(),
        sync: args.sync,
        ..ProducerConfig::default()
    };
    let mut codec = args.compression_codec.clone();
    for (k, v) in args
        .common
        .command_property
        .iter()
        .chain(&args.producer_property)
    {
        match k.as_str() {
            "batch.size" => {
                config.batch_size = v.parse().with_context(|| format!("batch.size={v}"))?;
                config.batching_chosen = true;
            }
            "linger.ms" => {
                config.linger =
                    Duration::from_millis(v.parse().with_context(|| format!("linger.ms={v}"))?);
                config.batching_chosen = true;
            }
            "compression.type" => codec = Some(v.clone()),
            "client.id" => config.client_id = v.clone(),
            _ => {} // Settings for remote clusters; nothing to do for the embedded engine.
        }
    }
    if let Some(c) = codec {
        config.compression = parse_compression(&c).with_context(|| {
            format!("unknown compression codec '{c}': expected none, gzip, snappy, lz4 or zstd")
        })?;
    }
    let backend = args.common.backend_with(&args.producer_property)?;
    format.unique_header_keys = !matches!(backend, crate::client::backend::Backend::Remote(_));
    let mut producer = backend.producer(&config)?;
    // Fail on a bad or missing topic before reading any input.
    producer.partition_count(&topic)?;

    let interactive = args.file.is_none() && std::io::stdin().is_terminal();
    // Kafka prompts only on a console: stdin and stdout both terminals.
    let prompt = interactive && std::io::stdout().is_terminal();
    let bar = (!interactive && std::io::stderr().is_terminal()).then(|| {
        let size = std::fs::metadata(args.file.as_deref().unwrap_or("/dev/stdin".as_ref()))
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        progress_bar(size)
    });
    let interrupted = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, interrupted.clone())?;
    }
    let keyed = format.parse_key;
    let reader = LineReader::new(input, format, prompt);
    // Against a cluster librdkafka batches and sends on its own threads, so piped input is read,
    // parsed and handed over on this thread, as kcat does: a reader thread cost more in hand-off
    // than it gained. The embedded engine writes on this thread, and interactive input needs
    // the linger timer: those read on a thread of their own.
    let inline = !interactive && matches!(backend, crate::client::backend::Backend::Remote(_));

    let sent_lines = std::cell::Cell::new(0u64);
    let mut last_bar = Instant::now();
    // Hands one chunk of input to the producer.
    let mut take =
        |chunk: Chunk, producer: &mut Box<dyn crate::client::Producer>| -> anyhow::Result<()> {
            match chunk {
                Chunk::Records(records, partitions, bytes) => {
                    for (i, r) in records.into_iter().enumerate() {
                        sent_lines.set(sent_lines.get() + 1);
                        match producer.send(&topic, partitions.get(i).copied().flatten(), r) {
                            Ok(_) => {}
                            // This record is refused, not a write: keep the lines before it,
                            // as after a parse error.
                            Err(
                                e @ (crate::Error::RecordTooLarge { .. }
                                | crate::Error::UnknownPartition { .. }),
                            ) => {
                                producer.flush().map_err(|e| {
                                    write_failure(
                                        e,
                                        producer.acknowledged(),
                                        sent_lines.get() - 1,
                                        keyed,
                                    )
                                })?;
                                return Err(anyhow::Error::from(e)
                                    .context(format!("line {}", sent_lines.get())));
                            }
                            Err(e) => {
                                return Err(write_failure(
                                    e,
                                    producer.acknowledged(),
                                    sent_lines.get(),
                                    keyed,
                                ));
                            }
                        }
                    }
                    let flushed = if interactive {
                        producer.flush()
                    } else {
                        producer.flush_expired()
                    };
                    if let Err(e) = flushed {
                        return Err(write_failure(
                            e,
                            producer.acknowledged(),
                            sent_lines.get(),
                            keyed,
                        ));
                    }
                    if let Some(bar) = &bar {
                        bar.inc(bytes);
                        if last_bar.elapsed() > Duration::from_millis(100) {
                            bar.set_message(format!("{} lines", sent_lines.get()));
                            last_bar = Instant::now();
                        }
                    }
                    Ok(())
                }
                Chunk::Bad(msg) => {
                    producer.flush()?;
                    bail!(msg);
                }
                Chunk::Failed(e) => {
                    producer.flush()?;
                    Err(e).context("cannot read standard input")
                }
            }
        };
    let result: anyhow::Result<()> = (|| {
        if inline {
            for chunk in reader {
                if interrupted.load(Ordering::Relaxed) {
                    break;
                }
                take(chunk, &mut producer)?;
            }
        } else {
            let (tx, rx) = mpsc::sync_channel(64);
            std::thread::spawn(move || read_stdin(reader, tx));
            loop {
                if interrupted.load(Ordering::Relaxed) {
                    break;
                }
                match rx.recv_timeout(
                    Duration::from_millis(50).min(config.linger.max(Duration::from_millis(1))),
                ) {
                    Ok(chunk) => take(chunk, &mut producer)?,
                    Err(mpsc::RecvTimeoutError::Timeout) => producer.flush_expired()?,
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
        }
        producer
            .flush()
            .map_err(|e| write_failure(e, producer.acknowledged(), sent_lines.get(), keyed))?;
        Ok(())
    })();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if prompt {
        println!();
    }
    result.with_context(|| format!("cannot produce to topic '{topic}'"))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(props: &[(&str, &str)]) -> LineFormat {
        LineFormat::from_properties(
            &props
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn keys_headers_and_null_markers_parse_like_line_message_reader() {
        let f = fmt(&[
            ("parse.key", "true"),
            ("key.separator", ":"),
            ("parse.headers", "true"),
            ("headers.delimiter", "|"),
            ("null.marker", "NULL"),
        ]);
        let r = f
            .parse(Bytes::from_static(b"h1:v1,h2:NULL|k:v:w"), 1, 5)
            .unwrap();
        assert_eq!(r.key.as_deref(), Some(&b"k"[..]));
        assert_eq!(r.value.as_deref(), Some(&b"v:w"[..]));
        assert_eq!(
            r.headers,
            vec![
                ("h1".to_string(), Some(Bytes::from_static(b"v1"))),
                ("h2".to_string(), None)
            ]
        );
        let r = f
            .parse(Bytes::from_static(b"NULL|NULL:NULL"), 2, 5)
            .unwrap();
        assert_eq!((r.key, r.value, r.headers.len()), (None, None, 0));
    }

    #[test]
    fn a_repeated_header_key_is_refused_rather_than_lost() {
        let f = fmt(&[("parse.headers", "true")]);
        assert_eq!(
            f.parse(Bytes::from_static(b"h:1,h:2\tv"), 4, 0)
                .unwrap_err(),
            "Duplicate header key 'h' on line number 4: streamlog stores one value per header key"
        );
    }

    #[test]
    fn a_line_without_key_separator_is_kafkas_error() {
        let f = fmt(&[("parse.key", "true")]);
        assert_eq!(
            f.parse(Bytes::from_static(b"no tab here"), 3, 0)
                .unwrap_err(),
            "No key separator found on line number 3: 'no tab here'"
        );
    }
}
