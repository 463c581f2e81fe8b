//! The broker's request path: frame → request header → kafka-protocol decode → handler, over a
//! real `BrokerState` on a scratch data dir, several requests per input on one connection.
//!
//! Input: the bytes a client sends (4-byte big-endian size, then the request), as captured
//! from real clients by `fuzz/capture.py`. Entry point: `broker::handler::handle`, on a tokio
//! current-thread runtime with paused time (see `streamlog_fuzz::request_input`).
//!
//! Invariants: nothing panics or aborts (the allocator is `server-start`'s, so a request that
//! claims a huge array behaves as on the real broker); no request waits forever once the
//! coordinator shuts down; every response decodes as the response to its request, with its
//! correlation id.

#![no_main]

use libfuzzer_sys::fuzz_target;

/// The allocator `server-start` runs with (see `broker::alloc`).
#[global_allocator]
static ALLOC: streamlog::broker::alloc::BrokerAlloc = streamlog::broker::alloc::BrokerAlloc;

fuzz_target!(|data: &[u8]| {
    streamlog_fuzz::request_input::run(data);
});
