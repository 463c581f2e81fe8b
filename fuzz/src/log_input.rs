//! The `log_recovery` target's harness: lay out a partition directory from the fuzz input, open
//! it as a log, read and search everything, append, close and reopen.
//!
//! Depends on streamlog, `bytes` and `tempfile` only, so the main crate's regression tests
//! include this file (`#[path]`) and replay a crash exactly as the fuzzer ran it.

use std::collections::BTreeMap;
use std::os::unix::fs::FileExt;
use std::path::Path;

use bytes::Bytes;
use streamlog::log::batch::{self, BatchIter};
use streamlog::log::codec::{ProducerRecord, encode_batch};
use streamlog::log::segment::file_name;
use streamlog::log::state::STATE_LEN;
use streamlog::log::unified::STATE_FILE;
use streamlog::log::{FetchData, LogConfig, Mode, Position, Records, UnifiedLog};

/// A partition directory described by a fuzz input (layout in `fuzz_targets/log_recovery.rs`).
#[derive(Debug, Default)]
pub struct LogInput<'a> {
    /// The state file's bytes.
    pub state: Option<&'a [u8]>,
    /// The first segment's `.index`.
    pub index: Option<&'a [u8]>,
    /// The first segment's `.timeindex`.
    pub timeindex: Option<&'a [u8]>,
    /// A second segment: base offset and `.log` bytes.
    pub second: Option<(i64, &'a [u8])>,
    /// Open for writing (recovery always; an append afterwards).
    pub write: bool,
    /// `index.interval.bytes=1` and a small `segment.bytes`, so every batch is indexed and an
    /// append rolls.
    pub small: bool,
    /// `00000000000000000000.log`.
    pub log: &'a [u8],
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
    fn u16(&mut self) -> usize {
        self.take(2).iter().fold(0, |a, &b| (a << 8) | b as usize)
    }
    fn u32(&mut self) -> u64 {
        self.take(4).iter().fold(0, |a, &b| (a << 8) | b as u64)
    }
    fn chunk(&mut self) -> &'a [u8] {
        let n = self.u16();
        self.take(n)
    }
}

impl<'a> LogInput<'a> {
    /// Splits a fuzz input; `None` for an empty one.
    pub fn parse(data: &'a [u8]) -> Option<Self> {
        let (&flags, rest) = data.split_first()?;
        let mut c = Cursor(rest);
        let state = (flags & 1 != 0).then(|| c.take(STATE_LEN));
        let index = (flags & 2 != 0).then(|| c.chunk());
        let timeindex = (flags & 4 != 0).then(|| c.chunk());
        let second = if flags & 8 != 0 {
            let base = c.u32() as i64;
            Some((base, c.chunk()))
        } else {
            None
        };
        Some(LogInput {
            state,
            index,
            timeindex,
            second,
            write: flags & 16 != 0,
            small: flags & 32 != 0,
            log: c.0,
        })
    }

    /// Writes the files into `dir` (which exists), the state file as given.
    pub fn lay_out(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::write(dir.join(file_name(0, "log")), self.log)?;
        if let Some(b) = self.index {
            std::fs::write(dir.join(file_name(0, "index")), b)?;
        }
        if let Some(b) = self.timeindex {
            std::fs::write(dir.join(file_name(0, "timeindex")), b)?;
        }
        if let Some((base, b)) = self.second.filter(|(base, _)| *base != 0) {
            std::fs::write(dir.join(file_name(base, "log")), b)?;
        }
        if let Some(b) = self.state {
            std::fs::write(dir.join(STATE_FILE), b)?;
        }
        Ok(())
    }

    /// True when opening runs recovery over every segment with fresh indexes: no state file
    /// that reads as one. Only then do offsets found by index match the data.
    fn fully_recovered(&self) -> bool {
        self.state
            .is_none_or(|s| s.len() < STATE_LEN || &s[0..4] != b"SLP1")
    }

    fn config(&self) -> LogConfig {
        let mut overrides = BTreeMap::new();
        if self.small {
            overrides.insert("index.interval.bytes".to_string(), "1".to_string());
            overrides.insert("segment.bytes".to_string(), "200".to_string());
        }
        LogConfig::from_overrides(&overrides)
    }
}

/// A scratch directory on tmpfs when there is one: the target does file work on every input.
pub fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let builder = tempfile::Builder::new()
        .prefix("streamlog-fuzz-")
        .tempdir_in(shm);
    match builder {
        Ok(d) => d,
        Err(_) => tempfile::Builder::new()
            .prefix("streamlog-fuzz-")
            .tempdir()
            .unwrap_or_else(|e| panic!("harness: cannot make a scratch dir: {e}")),
    }
}

/// Asserts `records` is a run of whole batches that all pass their CRC; returns their headers.
fn check_crc(records: &[u8], what: &str) -> Vec<batch::BatchHeader> {
    let mut iter = BatchIter::new(records, true);
    let headers: Vec<_> = iter.by_ref().map(|(_, h)| h).collect();
    assert!(
        iter.error.is_none(),
        "{what} returned a batch that fails its checks: {:?}",
        iter.error
    );
    assert_eq!(
        iter.position(),
        records.len(),
        "{what} returned bytes that are not whole batches"
    );
    headers
}

/// Reads the whole log from `from` in small steps; returns every batch header seen.
fn read_all(log: &UnifiedLog, from: Position) -> Vec<batch::BatchHeader> {
    let mut pos = from;
    let mut seen = Vec::new();
    for _ in 0..4096 {
        let Ok(FetchData { records, next, .. }) = log.read(pos, 1024, usize::MAX) else {
            break;
        };
        let Ok(records) = records.into_bytes() else {
            break;
        };
        if records.is_empty() {
            break;
        }
        seen.extend(check_crc(&records, "UnifiedLog::read"));
        assert_ne!(next, pos, "a read returned data but did not move on");
        pos = next;
    }
    seen
}

/// Runs the target on one input.
pub fn run(input: &LogInput<'_>) {
    let scratch = scratch_dir();
    let dir = scratch.path().join("t-0");
    if std::fs::create_dir(&dir).is_err() || input.lay_out(&dir).is_err() {
        return;
    }
    let mode = if input.write { Mode::Write } else { Mode::Read };
    let Ok(log) = UnifiedLog::open(dir.clone(), "t", 0, input.config(), mode) else {
        return;
    };
    let exact = input.fully_recovered();
    let (Ok(start), Ok(end)) = (log.log_start_offset(), log.log_end_offset()) else {
        return;
    };
    let mut headers = Vec::new();
    if let Ok(pos) = log.locate(start) {
        headers = read_all(&log, pos);
        // The same bytes as file ranges (sent with sendfile): whole batches, not CRC-checked.
        if let Ok(slice) = log.read(pos, 1 << 20, 0) {
            match slice.records {
                Records::Memory(b) => {
                    check_crc(&b, "UnifiedLog::read_records");
                }
                Records::File(r) => {
                    let mut buf = vec![0u8; r.len];
                    if r.file.read_exact_at(&mut buf, r.position).is_ok() {
                        let mut iter = BatchIter::new(&buf, false);
                        iter.by_ref().for_each(drop);
                        assert_eq!(iter.position(), buf.len(), "a file region of part batches");
                    }
                }
            }
        }
    }

    let mut offsets = vec![
        start,
        end,
        start.saturating_add(end.saturating_sub(start) / 2),
    ];
    offsets.extend(headers.iter().take(8).map(|h| h.base_offset));
    for o in offsets {
        let Ok(pos) = log.locate(o) else { continue };
        let Ok(data) = log.read(pos, 1, usize::MAX) else {
            continue;
        };
        let Ok(records) = data.records.into_bytes() else {
            continue;
        };
        let found = check_crc(&records, "UnifiedLog::read after locate");
        if exact && let Some(first) = found.first() {
            assert!(
                first.last_offset() >= o,
                "locate({o}) landed on batch {}..={}, before the offset",
                first.base_offset,
                first.last_offset()
            );
        }
    }
    let mut timestamps = vec![i64::MIN, -1, 0, i64::MAX];
    timestamps.extend(headers.iter().take(8).map(|h| h.max_timestamp));
    for ts in timestamps {
        let _ = log.offset_for_timestamp(ts);
    }
    let _ = log.max_timestamp();

    // A record appended after recovery reads back at its offset (recovery cuts batches whose
    // offsets go backwards, which would otherwise shadow it).
    if input.write {
        let record = ProducerRecord {
            value: Some(Bytes::from_static(b"appended after recovery")),
            timestamp: 1,
            ..Default::default()
        };
        if let Ok(mut batch) = encode_batch(&[record], kafka_protocol::records::Compression::None)
            && let Ok(info) = log.append(&mut batch)
            && exact
        {
            let pos = log.locate(info.base_offset).unwrap_or_else(|e| {
                panic!(
                    "the appended offset {} cannot be located: {e}",
                    info.base_offset
                )
            });
            let data = log
                .read(pos, 1, usize::MAX)
                .and_then(|d| d.records.into_bytes())
                .unwrap_or_else(|e| panic!("the appended batch cannot be read: {e}"));
            let found = check_crc(&data, "UnifiedLog::read of the appended batch");
            assert!(
                found.iter().any(|h| h.base_offset == info.base_offset),
                "the batch appended at {} is not where locate points",
                info.base_offset
            );
        }
    }
    drop(log);
    // Closed (cleanly, if it was written): reopening must read the same.
    if let Ok(log) = UnifiedLog::open(dir, "t", 0, input.config(), Mode::Read)
        && let Ok(start) = log.log_start_offset()
        && let Ok(pos) = log.locate(start)
    {
        read_all(&log, pos);
    }
}
