//! Retention: delete whole closed segments by age (`retention.ms`) or log size
//! (`retention.bytes`), oldest first, and move the log start offset past them. Only for
//! topics whose `cleanup.policy` includes `delete`: a compact-only topic keeps the latest
//! record of every key for ever.

use std::path::Path;

use super::config::LogConfig;
use super::index::TimeIndex;
use super::segment;
use super::state::LogState;
use crate::error::{IoContext, Result};

/// Deletes the segments retention allows; called under the append lock. Returns the base
/// offsets of the deleted segments.
pub fn apply(dir: &Path, state: &mut LogState, config: &LogConfig, now: i64) -> Result<Vec<i64>> {
    if !config.delete {
        return Ok(Vec::new());
    }
    let bases = segment::list_segments(dir)?;
    let closed: Vec<i64> = bases
        .iter()
        .copied()
        .filter(|&b| b < state.active_base)
        .collect();
    if closed.is_empty() {
        return Ok(Vec::new());
    }
    let mut doomed = 0usize;
    if config.retention_ms >= 0 {
        for &base in &closed {
            if now.saturating_sub(largest_timestamp(dir, base)?) > config.retention_ms {
                doomed += 1;
            } else {
                break;
            }
        }
    }
    if config.retention_bytes >= 0 {
        let mut sizes = Vec::with_capacity(bases.len());
        for &base in &bases {
            let p = dir.join(segment::file_name(base, "log"));
            sizes.push(std::fs::metadata(&p).at(&p)?.len() as i64);
        }
        let mut excess = sizes.iter().sum::<i64>() - config.retention_bytes;
        excess -= sizes[..doomed].iter().sum::<i64>();
        while doomed < closed.len() && excess >= sizes[doomed] {
            excess -= sizes[doomed];
            doomed += 1;
        }
    }
    if doomed == 0 {
        return Ok(Vec::new());
    }
    // The first segment kept (the active one if every closed one goes, even if its file is
    // missing).
    let next_base = bases.get(doomed).copied().unwrap_or(state.active_base);
    state.segments_version = state.segments_version.wrapping_add(1);
    state.log_start_offset = state.log_start_offset.max(next_base);
    if state.recovery_segment < next_base {
        state.recovery_segment = next_base;
        state.recovery_position = 0;
    }
    for &base in &closed[..doomed] {
        for suffix in ["log", "index", "timeindex", "txnindex"] {
            let p = dir.join(segment::file_name(base, suffix));
            match std::fs::remove_file(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(crate::error::Error::io(p, e));
                }
                _ => {}
            }
        }
    }
    Ok(closed[..doomed].to_vec())
}

/// The newest timestamp in a closed segment: its last time index entry, else the file's mtime
/// (as Kafka does for segments without timestamps).
pub(crate) fn largest_timestamp(dir: &Path, base: i64) -> Result<i64> {
    let tindex = TimeIndex::open(dir.join(segment::file_name(base, "timeindex")), base)?;
    if let Some((ts, _)) = tindex.last_entry()? {
        return Ok(ts);
    }
    let p = dir.join(segment::file_name(base, "log"));
    let modified = std::fs::metadata(&p).at(&p)?.modified().at(&p)?;
    Ok(modified
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0))
}
