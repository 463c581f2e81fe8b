//! A partition directory made of arbitrary files, opened as a log (which runs recovery), then
//! read from the start, searched by offset and timestamp, appended to and reopened.
//!
//! Entry points: `log::UnifiedLog::{open, locate, read, read_records, offset_for_timestamp,
//! max_timestamp, append}`. Input layout (see `streamlog_fuzz::log_input`):
//!
//! | bytes | meaning |
//! |-------|---------|
//! | 0 | flags: 1 state file, 2 `.index`, 4 `.timeindex`, 8 a second segment, 16 open for writing, 32 small `index.interval.bytes`/`segment.bytes` |
//! | … | state file: 112 bytes (fewer if the input ends), if flag 1 |
//! | … | `.index`: u16 BE length, then the bytes, if flag 2 |
//! | … | `.timeindex`: likewise, if flag 4 |
//! | … | second segment: u32 BE base offset, u16 BE length, its `.log` bytes, if flag 8 |
//! | rest | `00000000000000000000.log` |
//!
//! Invariants: nothing panics; every batch a read returns passes its CRC and reads are whole
//! batches; a read that returns data moves on; when recovery checked everything (no readable
//! state file), `locate(o)` lands on the batch holding `o` or the first after it, and a record
//! appended after recovery reads back at the offset the append returned.

#![no_main]

use libfuzzer_sys::fuzz_target;
use streamlog_fuzz::log_input::{self, LogInput};

fuzz_target!(|data: &[u8]| {
    let Some(input) = LogInput::parse(data) else {
        return;
    };
    log_input::run(&input);
});
