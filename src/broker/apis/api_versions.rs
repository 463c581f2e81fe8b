//! ApiVersions (key 18): which APIs and versions this broker serves.

use kafka_protocol::messages::ApiVersionsResponse;
use kafka_protocol::messages::api_versions_response::ApiVersion;

use super::{SUPPORTED, code};

/// The response; `error` is UNSUPPORTED_VERSION when the client asked for a version we lack
/// (then it is sent as v0, as Kafka does).
pub fn handle(error: i16) -> ApiVersionsResponse {
    let mut r = ApiVersionsResponse::default();
    r.error_code = error;
    r.api_keys = SUPPORTED
        .iter()
        .map(|&(key, lo, hi)| {
            let mut v = ApiVersion::default();
            v.api_key = key as i16;
            v.min_version = lo;
            v.max_version = hi;
            v
        })
        .collect();
    let _ = code::NONE;
    r
}
