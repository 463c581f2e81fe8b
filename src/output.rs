//! One formatter for every tool: Kafka's text layouts, a boxed table, or JSON lines.

use std::io::{self, Write};

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use serde_json::{Map, Value};

/// How a tool prints listings and records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Exactly what Apache Kafka's tool prints.
    #[default]
    Text,
    /// A boxed table, for people.
    Table,
    /// One JSON object per line, for scripts.
    Json,
}

impl Format {
    /// The default: a table for a person at a terminal, Kafka's exact text for a pipe or file.
    pub fn for_stdout() -> Format {
        if io::IsTerminal::is_terminal(&io::stdout()) {
            Format::Table
        } else {
            Format::Text
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::Text => "text",
            Format::Table => "table",
            Format::Json => "json",
        })
    }
}

/// Rows with named columns, printable in every format.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    /// Column names as Kafka prints them (e.g. `CURRENT-OFFSET`).
    pub headers: Vec<&'static str>,
    /// Cells; `None` prints as `-` in text and `null` in JSON.
    pub rows: Vec<Vec<Option<String>>>,
    /// Columns that hold numbers, so JSON prints them unquoted.
    pub numeric: Vec<&'static str>,
}

impl Rows {
    /// Empty rows with these headers.
    pub fn new(headers: &[&'static str]) -> Self {
        Rows {
            headers: headers.to_vec(),
            rows: Vec::new(),
            numeric: Vec::new(),
        }
    }

    /// Marks columns as numeric for JSON.
    pub fn numeric(mut self, cols: &[&'static str]) -> Self {
        self.numeric = cols.to_vec();
        self
    }

    /// Adds a row.
    pub fn push(&mut self, row: Vec<Option<String>>) {
        self.rows.push(row);
    }

    /// Kafka's padded layout: every column left-aligned to `max(min_width, longest cell)`,
    /// one space apart, the last column unpadded. `min_widths` pairs with `headers`.
    pub fn to_text(&self, min_widths: &[usize]) -> String {
        let n = self.headers.len();
        let widths: Vec<usize> = (0..n)
            .map(|i| {
                let longest = self
                    .rows
                    .iter()
                    .map(|r| r[i].as_deref().unwrap_or("-").chars().count())
                    .chain(std::iter::once(self.headers[i].len()))
                    .max()
                    .unwrap_or(0);
                longest.max(min_widths.get(i).copied().unwrap_or(0))
            })
            .collect();
        let line = |cells: Vec<&str>| {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate() {
                if i + 1 == n {
                    s.push_str(c);
                } else {
                    s.push_str(&format!("{c:<w$} ", w = widths[i]));
                }
            }
            s.push('\n');
            s
        };
        let mut out = line(self.headers.clone());
        for r in &self.rows {
            out.push_str(&line(
                r.iter().map(|c| c.as_deref().unwrap_or("-")).collect(),
            ));
        }
        out
    }

    /// A boxed table, coloured when stdout is a terminal and `NO_COLOR` is unset or empty (see
    /// [`colour_enabled`]).
    pub fn to_table(&self) -> String {
        self.to_table_coloured(colour_enabled())
    }

    /// A boxed table; with `colour`, cells that need attention are coloured (see
    /// [`cell_colour`]).
    pub fn to_table_coloured(&self, colour: bool) -> String {
        let plain = self.to_plain_table();
        if !colour {
            return plain;
        }
        // The table is laid out on the plain text (comfy-table is built without its terminal
        // features), then cells are wrapped in ANSI colours: the header and its rule are the
        // first three lines, then one line per row, `│` at both ends and `┆` between cells.
        let mut out = String::with_capacity(plain.len() + 64);
        for (i, line) in plain.lines().enumerate() {
            let row = i.checked_sub(3).and_then(|r| self.rows.get(r));
            let inner = line.strip_prefix('│').and_then(|l| l.strip_suffix('│'));
            match (row, inner) {
                (Some(row), Some(inner)) if inner.split('┆').count() == self.headers.len() => {
                    out.push('│');
                    for (c, seg) in inner.split('┆').enumerate() {
                        if c > 0 {
                            out.push('┆');
                        }
                        let code = row
                            .get(c)
                            .and_then(|cell| cell_colour(self.headers[c], cell.as_deref()?));
                        match code {
                            Some(code) if !seg.trim().is_empty() => {
                                let start = seg.len() - seg.trim_start().len();
                                let end = seg.trim_end().len();
                                out.push_str(&seg[..start]);
                                out.push_str(&paint(&seg[start..end], code, true));
                                out.push_str(&seg[end..]);
                            }
                            _ => out.push_str(seg),
                        }
                    }
                    out.push('│');
                }
                _ => out.push_str(line),
            }
            out.push('\n');
        }
        out
    }

    fn to_plain_table(&self) -> String {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(self.headers.clone());
        for r in &self.rows {
            t.add_row(
                r.iter()
                    .map(|c| c.as_deref().unwrap_or("-"))
                    .collect::<Vec<_>>(),
            );
        }
        format!("{t}\n")
    }

    /// One JSON object per row, keys in lower case with `_` (e.g. `current_offset`).
    pub fn to_json_lines(&self) -> String {
        let mut out = String::new();
        for r in &self.rows {
            let mut obj = Map::new();
            for (h, c) in self.headers.iter().zip(r) {
                let v = match c {
                    None => Value::Null,
                    Some(s) if self.numeric.contains(h) => s
                        .parse::<i64>()
                        .map(Value::from)
                        .or_else(|_| s.parse::<f64>().map(Value::from))
                        .unwrap_or_else(|_| Value::String(s.clone())),
                    Some(s) => Value::String(s.clone()),
                };
                obj.insert(json_key(h), v);
            }
            out.push_str(&Value::Object(obj).to_string());
            out.push('\n');
        }
        out
    }

    /// Renders in `format`, with Kafka's minimum column widths for text.
    pub fn render(&self, format: Format, min_widths: &[usize]) -> String {
        match format {
            Format::Text => self.to_text(min_widths),
            Format::Table => self.to_table(),
            Format::Json => self.to_json_lines(),
        }
    }
}

/// A byte count for people, in binary units with one decimal: `512 B`, `11.5 KiB`, `1.0 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    // 1023.96 KiB would print as 1024.0 KiB: move up a unit before rounding gets there.
    while value >= 1023.95 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// ANSI colour codes of the table view.
pub const YELLOW: &str = "33";
/// Red: errors, dead and unknown groups.
pub const RED: &str = "31";
/// Green: a healthy (Stable) group.
pub const GREEN: &str = "32";

/// The colour of a table cell, by its column: a lag above 0 yellow; a group state green when
/// Stable, red when Dead or Unknown; an error status red.
pub fn cell_colour(header: &str, cell: &str) -> Option<&'static str> {
    match header {
        "LAG" | "TOTAL-LAG" => cell.parse::<i64>().ok().filter(|&l| l > 0).map(|_| YELLOW),
        "STATE" => match cell {
            "Stable" => Some(GREEN),
            "Dead" | "Unknown" => Some(RED),
            _ => None,
        },
        "STATUS" | "ERROR" => cell.starts_with("Error").then_some(RED),
        _ => None,
    }
}

/// True when output may be coloured: stdout is a terminal and `NO_COLOR` is unset or empty
/// (<https://no-color.org>).
pub fn colour_enabled() -> bool {
    io::IsTerminal::is_terminal(&io::stdout()) && no_color_allows(std::env::var_os("NO_COLOR"))
}

fn no_color_allows(v: Option<std::ffi::OsString>) -> bool {
    v.is_none_or(|v| v.is_empty())
}

/// Wraps `text` in an ANSI colour when `colour` is on.
pub fn paint(text: &str, code: &str, colour: bool) -> String {
    if colour {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// Operations on at least this many partitions show progress on a terminal.
pub const PROGRESS_MIN_PARTITIONS: u64 = 100;

/// A spinner on stderr with `msg` and the elapsed time for an operation on `partitions`
/// partitions, or None: when stderr is not a terminal, or for fewer than
/// [`PROGRESS_MIN_PARTITIONS`]. The caller clears it when done.
pub fn progress(partitions: u64, msg: &str) -> Option<indicatif::ProgressBar> {
    if partitions < PROGRESS_MIN_PARTITIONS || !io::IsTerminal::is_terminal(&io::stderr()) {
        return None;
    }
    Some(progress_bar(partitions, msg))
}

/// A bar on stderr counting partitions (see [`progress`] for when to show one).
pub fn progress_bar(partitions: u64, msg: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(partitions),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {msg} [{bar:30}] {pos}/{len} partitions ({elapsed})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(msg.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    bar
}

/// `CURRENT-OFFSET` → `current_offset`, `#PARTITIONS` → `partitions`.
pub fn json_key(header: &str) -> String {
    header
        .trim_start_matches('#')
        .to_ascii_lowercase()
        .replace(['-', ' '], "_")
        .replace(['(', ')'], "")
}

/// Writes to stdout, treating a closed pipe as a normal end.
pub fn print(s: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(s.as_bytes())?;
    out.flush()
}

/// True if the error chain holds a broken pipe (the reader went away, e.g. `| head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            || e.downcast_ref::<crate::Error>().is_some_and(|se| {
                matches!(se, crate::Error::Io { error: source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_read_in_binary_units_with_one_decimal() {
        let cases = [
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (11_729, "11.5 KiB"),
            (1024 * 1024 - 1, "1.0 MiB"),
            (5 * 1024 * 1024 * 1024, "5.0 GiB"),
            (u64::MAX, "16.0 EiB"),
        ];
        for (bytes, text) in cases {
            assert_eq!(human_bytes(bytes), text, "{bytes}");
        }
    }

    #[test]
    fn text_layout_pads_like_kafka_and_json_has_typed_fields() {
        let mut rows = Rows::new(&["GROUP", "LAG", "CLIENT-ID"]).numeric(&["LAG"]);
        rows.push(vec![Some("g".into()), Some("5".into()), None]);
        assert_eq!(
            rows.to_text(&[15, 15, 0]),
            "GROUP           LAG             CLIENT-ID\ng               5               -\n"
        );
        assert_eq!(
            rows.to_json_lines(),
            "{\"client_id\":null,\"group\":\"g\",\"lag\":5}\n"
        );
    }

    #[test]
    fn table_colours_only_cells_that_need_attention_and_keeps_the_layout() {
        let mut rows = Rows::new(&["GROUP", "STATE", "LAG"]);
        rows.push(vec![
            Some("a".into()),
            Some("Stable".into()),
            Some("0".into()),
        ]);
        rows.push(vec![
            Some("b".into()),
            Some("Dead".into()),
            Some("7".into()),
        ]);
        let plain = rows.to_table_coloured(false);
        assert!(!plain.contains('\x1b'));
        let coloured = rows.to_table_coloured(true);
        assert!(coloured.contains("\x1b[32mStable\x1b[0m"), "{coloured}");
        assert!(coloured.contains("\x1b[31mDead\x1b[0m"), "{coloured}");
        assert!(coloured.contains("\x1b[33m7\x1b[0m"), "{coloured}");
        assert!(
            !coloured.contains("\x1b[33m0"),
            "no colour for a lag of 0: {coloured}"
        );
        let stripped = coloured
            .replace("\x1b[32m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[33m", "")
            .replace("\x1b[0m", "");
        assert_eq!(stripped, plain);
    }

    #[test]
    fn no_color_with_any_value_turns_colour_off() {
        assert!(no_color_allows(None));
        assert!(no_color_allows(Some("".into())));
        assert!(!no_color_allows(Some("1".into())));
        assert!(!no_color_allows(Some("0".into())));
    }
}
