//! The `properties` target's harness (see `fuzz_targets/properties.rs`). Depends on streamlog
//! only, so the main crate's tests include it with `#[path]`.

use streamlog::broker::BrokerConfig;
use streamlog::cli::args::parse_key_value;
use streamlog::cli::console_producer::LineFormat;
use streamlog::cli::time::{parse_datetime, parse_duration};
use streamlog::client::remote::properties::{parse_jaas, to_librdkafka};
use streamlog::log::LogConfig;
use streamlog::log::config::validate_entry;
use streamlog::properties::parse_properties;

fn has_message<T, E: std::fmt::Display>(r: Result<T, E>) {
    if let Err(e) = r {
        assert!(
            !e.to_string().trim().is_empty(),
            "an error without a message"
        );
    }
}

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for line in text.lines().take(64) {
        has_message(parse_key_value(line));
        has_message(parse_datetime(line));
        has_message(parse_duration(line));
        has_message(parse_jaas(line));
    }
    let props = match parse_properties(data) {
        Ok(p) => p,
        Err(e) => {
            assert!(!format!("{e:#}").trim().is_empty());
            return;
        }
    };
    has_message(BrokerConfig::from_properties(&props));
    has_message(to_librdkafka(&props));
    has_message(LineFormat::from_properties(&props));
    for (k, v) in &props {
        has_message(validate_entry(k, v));
    }
    let _ = LogConfig::from_overrides(&props);
}
