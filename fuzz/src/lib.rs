//! Harnesses of the fuzz targets in `fuzz_targets/`: how an input becomes files, frames or
//! options, and what must hold afterwards. Kept apart from the targets so the main crate's
//! regression tests can replay a finding through the same code (`log_input` is included there
//! with `#[path]`).

pub mod log_input;
pub mod request_input;
