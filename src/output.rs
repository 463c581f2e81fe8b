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

    /// A boxed table.
    pub fn to_table(&self) -> String {
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
}
