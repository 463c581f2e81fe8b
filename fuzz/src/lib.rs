//! Harnesses of the fuzz targets in `fuzz_targets/`: how an input becomes files, frames or
//! options, and what must hold afterwards. Kept apart from the targets so the main crate's
//! regression tests replay findings and seeds through the same code: every module but
//! `request_input` depends only on crates the main crate has, and is included there with
//! `#[path]` (`tests/fuzz_regressions.rs`).

pub mod batch_input;
pub mod line_input;
pub mod log_input;
pub mod properties_input;
pub mod request_input;
