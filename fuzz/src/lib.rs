//! Harnesses of the fuzz targets in `fuzz_targets/`: how an input becomes files, frames or
//! options, and what must hold afterwards. Kept apart from the targets so the main crate's
//! regression tests replay findings and seeds through the same code: every module but
//! `request_input` depends only on crates the main crate has, and is included there with
//! `#[path]` (`tests/fuzz_regressions.rs`).

/// `STREAMLOG_FUZZ_OPEN_ISSUES=1` turns off every harness workaround for a known open issue
/// (each is commented where it is), to replay the findings in `regressions/open/`.
pub fn open_issues() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("STREAMLOG_FUZZ_OPEN_ISSUES").is_some_and(|v| v == "1"))
}

pub mod batch_input;
pub mod line_input;
pub mod log_input;
pub mod properties_input;
pub mod request_input;
