//! Recovery after an unclean shutdown: CRC-check every batch after the recovery point, truncate
//! at the first torn or corrupt one, drop later segments, rebuild the indexes. Producer
//! snapshots past the recovered log end go too (they describe batches that are gone).

use std::fs::File;
use std::path::Path;

use super::batch::BatchHeader;
use super::producer_state::{self, ProducerStateManager};
use super::segment::{self, LogSegment};
use super::state::LogState;
use crate::error::{IoContext, Result};

/// Recovers the log in `dir`. `prior` is the last published state, if readable; without it every
/// segment is checked. Returns the recovered state, marked clean.
pub fn recover(dir: &Path, prior: Option<LogState>, interval: u64) -> Result<LogState> {
    let mut bases = segment::list_segments(dir)?;
    let log_start = prior.map_or(0, |s| s.log_start_offset);
    if bases.is_empty() {
        LogSegment::open(dir, log_start)?;
        ProducerStateManager::truncate_snapshots_after(dir, log_start)?;
        return Ok(LogState::empty(log_start));
    }
    let first_to_check = prior
        .map(|s| s.recovery_segment)
        .filter(|b| bases.contains(b))
        .unwrap_or(bases[0]);
    let mut state = LogState::empty(bases[bases.len() - 1]);
    // What is known of producer batches: the prior's word for what was not re-checked, and
    // everything seen in what is; unknown if the unchecked part was never vouched for.
    let mut producer_end = if first_to_check == bases[0] {
        Some(log_start)
    } else {
        prior.and_then(|s| s.producer_end)
    };
    let mut i = bases.iter().position(|&b| b == first_to_check).unwrap_or(0);
    while i < bases.len() {
        let base = bases[i];
        let mut seg = LogSegment::open(dir, base)?;
        let file = seg.open_file()?;
        let len = file.metadata().at(&seg.path)?.len();
        let mut seg_state = LogState::empty(base);
        let summary = rebuild(&mut seg, &file, &mut seg_state, 0, len, interval, |h| {
            if producer_state::has_producer_id(h) {
                producer_end =
                    Some(producer_end.map_or(h.next_offset(), |e| e.max(h.next_offset())));
            }
        })?;
        if summary.stopped_early {
            tracing_note(dir, base, summary.valid_size, len);
            file.set_len(summary.valid_size).at(&seg.path)?;
            file.sync_data().at(&seg.path)?;
            // Aborted transactions whose marker was cut off are not aborted here any more.
            super::txn_index::truncate_to(
                &super::txn_index::path(dir, base),
                summary.next_offset.unwrap_or(base),
            )?;
            for &later in &bases[i + 1..] {
                for suffix in ["log", "index", "timeindex", "txnindex"] {
                    let p = dir.join(segment::file_name(later, suffix));
                    if p.exists() {
                        std::fs::remove_file(&p).at(&p)?;
                    }
                }
            }
            bases.truncate(i + 1);
        }
        if summary.valid_size > 0 {
            // What recovery vouches for must be on disk before the state says so.
            file.sync_data().at(&seg.path)?;
            seg.flush_indexes()?;
        }
        state = seg_state;
        state.active_size = summary.valid_size;
        state.log_end_offset = summary.next_offset.unwrap_or(base);
        i += 1;
    }
    state.log_start_offset = log_start.max(bases[0]).min(state.log_end_offset);
    state.recovery_segment = state.active_base;
    state.recovery_position = state.active_size;
    state.clean = true;
    state.generation = prior.map_or(0, |s| s.generation);
    // Segments may have come or gone, and byte positions taken before may not hold: readers in
    // other processes list the segments again and find their positions by offset.
    state.segments_version = prior.map_or(0, |s| s.segments_version.wrapping_add(1));
    state.clean_epoch = prior.map_or(0, |s| (s.clean_epoch | 1).wrapping_add(1));
    // Nothing lies at or past the log end, so the producer end never needs to exceed it.
    state.producer_end = producer_end.map(|e| e.min(state.log_end_offset));
    ProducerStateManager::truncate_snapshots_after(dir, state.log_end_offset)?;
    Ok(state)
}

/// Adopts batches a writer appended but did not publish (it died in between): scans the active
/// segment from the published size to `file_len`, keeps whole valid batches, truncates the rest.
pub fn recover_tail(
    state: &mut LogState,
    active: &mut LogSegment,
    file: &File,
    file_len: u64,
    interval: u64,
) -> Result<()> {
    let from = if file_len < state.active_size {
        // Shorter than published: someone truncated the file; re-check all of it.
        *state = LogState {
            log_start_offset: state.log_start_offset,
            generation: state.generation,
            segments_version: state.segments_version,
            clean_epoch: state.clean_epoch,
            clean: state.clean,
            producer_end: None,
            ..LogState::empty(active.base_offset)
        };
        active.offset_index.reset()?;
        active.time_index.reset()?;
        0
    } else {
        // Entries the dead writer added past the published end go; they are re-added below.
        active
            .offset_index
            .truncate_to_position(state.active_size)?;
        active.time_index.truncate_to_offset(state.log_end_offset)?;
        state.active_size
    };
    let mut producer_end = state.producer_end;
    let summary = rebuild(active, file, state, from, file_len, interval, |h| {
        if producer_state::has_producer_id(h) {
            producer_end = producer_end.map(|e| e.max(h.next_offset()));
        }
    })?;
    if summary.stopped_early || summary.valid_size != file_len {
        file.set_len(summary.valid_size).at(&active.path)?;
    }
    state.active_size = summary.valid_size;
    if let Some(next) = summary.next_offset {
        state.log_end_offset = next;
    }
    state.producer_end = producer_end;
    active.write_indexes()
}

/// Scans `seg` from `from` to `end`, indexing every valid batch into its indexes and `state`,
/// and showing each header to `seen`.
fn rebuild(
    seg: &mut LogSegment,
    file: &File,
    state: &mut LogState,
    from: u64,
    end: u64,
    interval: u64,
    mut seen: impl FnMut(&BatchHeader),
) -> Result<segment::ScanSummary> {
    // Offsets must go on from where the checked part ends: the segment's base from its start,
    // else the log end before the tail.
    let min_offset = if from == 0 {
        seg.base_offset
    } else {
        state.log_end_offset
    };
    if from == 0 {
        seg.offset_index.reset()?;
        seg.time_index.reset()?;
    }
    let LogSegment {
        path,
        offset_index,
        time_index,
        ..
    } = seg;
    segment::scan(file, path, from, end, min_offset, |pos, h, _| {
        seen(h);
        segment::index_batch(offset_index, time_index, state, h, pos, interval);
        Ok(())
    })
}

fn tracing_note(dir: &Path, base: i64, valid: u64, len: u64) {
    eprintln!(
        "WARN recovered {}: truncated segment {} from {} to {} bytes (torn or corrupt tail)",
        dir.display(),
        segment::file_name(base, "log"),
        len,
        valid
    );
}
