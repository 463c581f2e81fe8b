//! The fuzz targets' committed inputs, replayed by `cargo test`: every seed and every fixed
//! finding (`fuzz/seeds/<target>/`, `fuzz/regressions/<target>/`) goes through the same harness
//! code the fuzzer runs (`fuzz/src/*_input.rs`, included here), so a finding that comes back
//! fails here without a nightly toolchain. The request path is replayed against a real
//! `server-start` over TCP instead (its in-process harness needs tokio's test-util).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kafka_protocol::messages::{ApiVersionsRequest, MetadataRequest};

#[allow(dead_code)]
#[path = "../fuzz/src/batch_input.rs"]
mod batch_input;
#[allow(dead_code)]
#[path = "../fuzz/src/line_input.rs"]
mod line_input;
#[allow(dead_code)]
#[path = "../fuzz/src/log_input.rs"]
mod log_input;
#[allow(dead_code)]
#[path = "../fuzz/src/properties_input.rs"]
mod properties_input;

#[path = "support/broker.rs"]
mod support;
use support::{Broker, Client, HANG_GUARD};

/// The committed inputs of a target: its seeds and its fixed findings.
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut out = Vec::new();
    for dir in [
        fuzz.join("seeds").join(target),
        fuzz.join("regressions").join(target),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        for p in paths {
            let data = std::fs::read(&p).unwrap();
            out.push((p, data));
        }
    }
    out
}

/// Replays every committed input of `target`, naming the file that fails.
fn replay(target: &str, run: impl Fn(&[u8])) {
    let inputs = inputs(target);
    assert!(!inputs.is_empty(), "no committed inputs for {target}");
    for (path, data) in inputs {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&data)));
        if let Err(e) = outcome {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{target}: {} fails: {why}", path.display());
        }
    }
}

#[test]
fn record_batch_inputs_parse_without_panics_and_only_crc_checked_batches_decode() {
    replay("record_batch", batch_input::run);
}

#[test]
fn log_recovery_inputs_recover_and_read_back_only_whole_valid_batches() {
    replay("log_recovery", |data| {
        if let Some(input) = log_input::LogInput::parse(data) {
            log_input::run(&input);
        }
    });
}

#[test]
fn console_producer_inputs_give_one_record_or_one_error_per_line() {
    replay("console_producer", line_input::run);
}

#[test]
fn properties_inputs_parse_or_fail_with_a_message() {
    replay("properties", properties_input::run);
}

/// Every request stream (captured from kcat, kafka-python and confluent-kafka, plus fixed
/// findings) sent raw to one real broker, each on its own connection; afterwards the broker
/// still answers and stops cleanly.
#[test]
fn request_streams_leave_a_broker_that_still_serves() {
    let data = tempfile::tempdir().unwrap();
    let broker = Broker::start(data.path(), &[]);
    let inputs = inputs("request");
    assert!(!inputs.is_empty(), "no committed request inputs");
    let mut open = Vec::new();
    for (path, bytes) in &inputs {
        let mut stream = TcpStream::connect(("127.0.0.1", broker.port)).unwrap();
        stream.set_write_timeout(Some(HANG_GUARD)).unwrap();
        // The broker may close after a bad frame, before reading the rest.
        let _ = stream.write_all(bytes);
        let _ = stream.shutdown(Shutdown::Write);
        open.push((path, stream));
    }
    // Drain the responses: each connection ends once the broker has read the whole stream.
    // A request that waits (a JoinGroup for its group) may keep one open; it is not waited for
    // past the deadline.
    let deadline = Instant::now() + HANG_GUARD;
    for (_, mut stream) in open {
        let left = deadline.saturating_duration_since(Instant::now());
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(10))))
            .unwrap();
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
    }
    let mut client = Client::connect(broker.port);
    client.call(&ApiVersionsRequest::default(), 3);
    client.call(&MetadataRequest::default(), 12);
    broker.stop();
}
