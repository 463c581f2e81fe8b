//! The `request` target's harness: a client's byte stream (size-prefixed request frames, as on
//! the wire) served by `broker::handler::handle` over a real `BrokerState` on a scratch data dir.
//!
//! Each frame goes through the same steps as in `broker::server`: a frame of a negative size or
//! one cut short ends the stream; the handler decodes header and body and runs the API; a
//! `Close` outcome ends the connection, and the frames after it arrive on a new connection to
//! the same broker (as a client reconnects), so one bad frame does not hide the rest.
//!
//! Time is tokio's paused clock: a long-poll Fetch or a JoinGroup waiting for its group costs
//! no wall time. A request still waiting after [`PATIENCE`] of virtual time is left running (its
//! connection is blocked, as on the real broker) and later frames go on a new connection; at
//! the end the broker is shut down as `server::run` does, which answers every waiting long-poll
//! Fetch, JoinGroup and SyncGroup at once.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::Decodable;
use streamlog::broker::handler::{self, Outcome};
use streamlog::broker::{BrokerConfig, BrokerState};
use streamlog::engine::{Engine, EngineConfig};

/// Frames served per input, at most.
pub const MAX_FRAMES: usize = 128;
/// Virtual time a request may wait before its connection is considered blocked.
pub const PATIENCE: Duration = Duration::from_secs(30);
/// The broker's `max.partitions.per.request` here: low, so that inputs asking for many
/// partitions cost the fuzzer milliseconds rather than seconds, while the bound itself (a
/// request over it refused before any disk work) is fuzzed all the same.
pub const MAX_PARTITIONS: i32 = 16;

/// The frames of a client stream: 4-byte big-endian size, then the frame; stops where the
/// server would stop reading (a negative size, or a frame cut short).
pub fn frames(mut data: &[u8]) -> Vec<Bytes> {
    let mut out = Vec::new();
    while data.len() >= 4 && out.len() < MAX_FRAMES {
        let size = i32::from_be_bytes([data[0], data[1], data[2], data[3]]);
        data = &data[4..];
        let Ok(size) = usize::try_from(size) else {
            break;
        };
        if size > data.len() {
            break;
        }
        out.push(Bytes::copy_from_slice(&data[..size]));
        data = &data[size..];
    }
    out
}

/// A broker over a fresh data dir in `dir`, configured as `server-start` is by default.
pub fn broker(dir: &std::path::Path) -> BrokerState {
    let config = BrokerConfig {
        data_dir: Some(dir.to_path_buf()),
        max_partitions_per_request: MAX_PARTITIONS,
        ..BrokerConfig::default()
    };
    let engine = Engine::open(
        dir,
        EngineConfig {
            auto_create_topics: config.auto_create_topics,
            num_partitions: config.num_partitions,
            log_defaults: config.log_defaults.clone(),
            max_partitions_per_request: config.max_partitions_per_request,
        },
    )
    .and_then(Engine::into_exclusive)
    .unwrap_or_else(|e| panic!("harness: cannot open a data dir in {}: {e}", dir.display()));
    BrokerState::new(engine, config)
        .unwrap_or_else(|e| panic!("harness: cannot start the broker state: {e}"))
}

/// The PLAINTEXT listener `server-start` serves by default, for the requests' context.
fn plaintext_listener(
    state: &BrokerState,
    dir: &std::path::Path,
) -> std::sync::Arc<streamlog::broker::listener::ServedListener> {
    let config = state
        .config()
        .listeners
        .first()
        .cloned()
        .unwrap_or_else(|| panic!("harness: the default config has no listener"));
    let credentials = streamlog::broker::security::credentials::CredentialStore::open(dir)
        .unwrap_or_else(|e| panic!("harness: cannot open the credential store: {e}"));
    std::sync::Arc::new(streamlog::broker::listener::ServedListener {
        config,
        security: streamlog::broker::security::ListenerSecurity {
            tls: None,
            sasl: None,
        },
        credentials: std::sync::Arc::new(credentials),
    })
}

/// Checks that a response frame decodes as the response to `request`: the right correlation
/// id, and a body Kafka clients can read.
fn check_response(request: &[u8], response: &[u8]) {
    let key = i16::from_be_bytes([request[0], request[1]]);
    let mut version = i16::from_be_bytes([request[2], request[3]]);
    let correlation = i32::from_be_bytes([request[4], request[5], request[6], request[7]]);
    let Ok(api) = ApiKey::try_from(key) else {
        panic!("a response to unknown API key {key}");
    };
    let served = streamlog::broker::apis::supported(api);
    if api == ApiKey::ApiVersions && served.is_none_or(|(lo, hi)| version < lo || version > hi) {
        version = 0;
    }
    if api == ApiKey::Produce && version < 3 {
        version = 3;
    }
    let mut buf = Bytes::copy_from_slice(response);
    let header = ResponseHeader::decode(&mut buf, api.response_header_version(version))
        .unwrap_or_else(|e| panic!("{api:?} v{version}: response header does not decode: {e:#}"));
    assert_eq!(
        header.correlation_id, correlation,
        "{api:?} v{version}: wrong correlation id"
    );
    if let Err(e) = ResponseKind::decode(api, &mut buf, version) {
        panic!("{api:?} v{version}: response body does not decode: {e:#}");
    }
}

/// The bytes of a response made of parts (a zero-copy Fetch), read back from the files.
fn assemble(parts: &[streamlog::broker::connection::Part]) -> Vec<u8> {
    use std::os::unix::fs::FileExt;
    let mut out = Vec::new();
    for part in parts {
        match part {
            streamlog::broker::connection::Part::Bytes(b) => out.extend_from_slice(b),
            streamlog::broker::connection::Part::File(r) => {
                let mut buf = vec![0u8; r.len];
                r.file
                    .read_exact_at(&mut buf, r.position)
                    .unwrap_or_else(|e| panic!("a fetched file region cannot be read: {e}"));
                out.extend_from_slice(&buf);
            }
        }
    }
    out
}

/// Serves every frame of `data` (a client stream) on a fresh broker.
pub fn run(data: &[u8]) {
    let frames = frames(data);
    if frames.is_empty() {
        return;
    }
    let scratch = crate::log_input::scratch_dir();
    let state = broker(scratch.path());
    let listener = plaintext_listener(&state, scratch.path());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap_or_else(|e| panic!("harness: cannot build a runtime: {e}"));
    runtime.block_on(async {
        let mut port = 40000u16;
        let mut blocked = Vec::new();
        for frame in frames {
            let peer = SocketAddr::from(([127, 0, 0, 1], port));
            let task_state = state.clone();
            let task_listener = listener.clone();
            let request = frame.clone();
            let mut task = tokio::spawn(async move {
                let ctx = handler::RequestContext {
                    peer,
                    listener: &task_listener,
                };
                handler::handle(&task_state, &ctx, request).await
            });
            let outcome = match tokio::time::timeout(PATIENCE, &mut task).await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Ok(Err(_)) => continue,
                Err(_) => {
                    blocked.push(task);
                    port = port.wrapping_add(1);
                    continue;
                }
            };
            match outcome {
                Outcome::Respond(body) => check_response(&frame, &body),
                Outcome::RespondParts(parts) => check_response(&frame, &assemble(&parts)),
                Outcome::Silent => {}
                Outcome::Close(_) => port = port.wrapping_add(1),
            }
        }
        // Shutdown as `server::run` does it: parked long-polls and group waits are answered.
        state.begin_shutdown();
        state.coordinator().shutdown();
        for task in blocked {
            match tokio::time::timeout(PATIENCE, task).await {
                Ok(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Ok(_) => {}
                Err(_) => panic!("a request still waits after the coordinator shut down"),
            }
        }
    });
    drop(runtime);
    state.close_logs();
}
