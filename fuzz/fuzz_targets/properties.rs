//! Java properties files and what reads them: `--command-config` and `server.properties`
//! (`properties::parse_properties`, the body of `read_properties`), then every consumer of the
//! parsed keys: `BrokerConfig::from_properties` (server-start), the remote client's translation
//! to librdkafka (`client::remote::properties::to_librdkafka`, with `parse_jaas`), the
//! console-producer line-reader options (`LineFormat::from_properties`) and topic configs
//! (`log::config::validate_entry`, `LogConfig::from_overrides`). Each line also goes through the
//! `--override`/`--property` parser and the tools' `--to-datetime`/`--by-duration` parsers.
//!
//! Input: the file's text. Invariants: nothing panics; every error has a message.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| streamlog_fuzz::properties_input::run(data));
