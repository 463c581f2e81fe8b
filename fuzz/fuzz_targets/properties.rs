//! Java properties files and what reads them: `--command-config` and `server.properties`
//! (`config::parse_properties`, the body of `read_properties`), then every consumer of the
//! parsed keys: `BrokerConfig::from_properties` (server-start), the remote client's translation
//! to librdkafka (`client::remote::properties::to_librdkafka`, with `parse_jaas`), the
//! console-producer line-reader options (`LineFormat::from_properties`) and topic configs
//! (`log::config::validate_entry`, `LogConfig::from_overrides`). Each line also goes through the
//! `--override`/`--property` parser and the tools' `--to-datetime`/`--by-duration` parsers.
//!
//! Input: the file's text. Invariants: nothing panics; every error has a message.

#![no_main]

use libfuzzer_sys::fuzz_target;
use streamlog::broker::BrokerConfig;
use streamlog::cli::console_producer::LineFormat;
use streamlog::cli::time::{parse_datetime, parse_duration};
use streamlog::client::remote::properties::{parse_jaas, to_librdkafka};
use streamlog::config::{parse_key_value, parse_properties};
use streamlog::log::LogConfig;
use streamlog::log::config::validate_entry;

fn has_message<T, E: std::fmt::Display>(r: Result<T, E>) {
    if let Err(e) = r {
        assert!(
            !e.to_string().trim().is_empty(),
            "an error without a message"
        );
    }
}

fuzz_target!(|data: &[u8]| {
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
});
