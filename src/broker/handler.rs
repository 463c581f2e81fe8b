//! One request: parse the header, check the version, run the API, encode the response.

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{Decodable, Encodable};

use super::apis::{self, code};
use super::listener::ServedListener;
use super::state::BrokerState;

/// Where a request came from: the peer and the listener it arrived on (whose advertised
/// endpoint Metadata and FindCoordinator answer with).
pub struct RequestContext<'a> {
    /// The client's address.
    pub peer: std::net::SocketAddr,
    /// The listener.
    pub listener: &'a ServedListener,
}

/// What to do after a request.
pub enum Outcome {
    /// Send this frame.
    Respond(Bytes),
    /// Send this frame, made of encoded bytes and file regions (a zero-copy Fetch).
    RespondParts(Vec<super::connection::Part>),
    /// Send nothing (Produce with acks=0).
    Silent,
    /// Close the connection (unparseable or unknown request), as Kafka does.
    Close(String),
}

/// Encodes a response frame (header and body, without the size prefix).
pub fn encode_response(
    correlation_id: i32,
    api_key: ApiKey,
    version: i16,
    body: ResponseKind,
) -> Result<Bytes, String> {
    let mut header = ResponseHeader::default();
    header.correlation_id = correlation_id;
    let mut buf = BytesMut::with_capacity(256);
    let header_version = api_key.response_header_version(version);
    header
        .encode(&mut buf, header_version)
        .map_err(|e| format!("cannot encode response header: {e:#}"))?;
    body.encode(&mut buf, version)
        .map_err(|e| format!("cannot encode {api_key:?} v{version} response: {e:#}"))?;
    Ok(buf.freeze())
}

fn encode(correlation_id: i32, api_key: ApiKey, version: i16, body: ResponseKind) -> Outcome {
    match encode_response(correlation_id, api_key, version, body) {
        Ok(frame) => Outcome::Respond(frame),
        Err(e) => Outcome::Close(e),
    }
}

/// A Fetch response whose file-backed records are spliced in at send time.
fn encode_fetch(correlation_id: i32, version: i16, reply: apis::fetch::FetchReply) -> Outcome {
    let body = ResponseKind::Fetch(reply.response);
    let frame = match encode_response(correlation_id, ApiKey::Fetch, version, body) {
        Ok(frame) => frame,
        Err(e) => return Outcome::Close(e),
    };
    if reply.regions.is_empty() {
        return Outcome::Respond(frame);
    }
    match apis::fetch::splice(frame, reply.regions, version) {
        Ok(parts) => Outcome::RespondParts(parts),
        Err(e) => Outcome::Close(e),
    }
}

/// Produce v0-2 are advertised (older librdkafka turns compression off without them) and refused
/// per partition with UNSUPPORTED_VERSION. The codec starts at v3, which only added the
/// transactional id in front: read the body as v3 with a null id, and answer in the v3 layout,
/// which v2's response shares.
fn old_produce(state: &BrokerState, correlation_id: i32, body: Bytes, version: i16) -> Outcome {
    let mut v3 = BytesMut::with_capacity(body.len() + 2);
    v3.extend_from_slice(&(-1i16).to_be_bytes());
    v3.extend_from_slice(&body);
    let mut v3 = v3.freeze();
    match kafka_protocol::messages::ProduceRequest::decode(&mut v3, 3) {
        Ok(r) => match apis::produce::handle(state, r, version) {
            Some(resp) => encode(
                correlation_id,
                ApiKey::Produce,
                3,
                ResponseKind::Produce(resp),
            ),
            None => Outcome::Silent,
        },
        Err(e) => Outcome::Close(format!("bad Produce v{version} request: {e:#}")),
    }
}

/// Handles one request frame.
pub async fn handle(state: &BrokerState, ctx: &RequestContext<'_>, mut frame: Bytes) -> Outcome {
    let peer = ctx.peer;
    let endpoint = &ctx.listener.config.advertised;
    if frame.len() < 8 {
        return Outcome::Close(format!(
            "request of {} bytes is shorter than a header",
            frame.len()
        ));
    }
    let raw_key = (&frame[0..2]).get_i16();
    let version = (&frame[2..4]).get_i16();
    let correlation_id = (&frame[4..8]).get_i32();
    let Ok(api_key) = ApiKey::try_from(raw_key) else {
        return Outcome::Close(format!("unknown API key {raw_key}"));
    };
    let served = apis::supported(api_key);
    if api_key == ApiKey::ApiVersions && served.is_none_or(|(lo, hi)| version < lo || version > hi)
    {
        // Kafka answers an unknown ApiVersions version with a v0 response listing what it has.
        return encode(
            correlation_id,
            api_key,
            0,
            ResponseKind::ApiVersions(apis::api_versions::handle(
                kafka_protocol::ResponseError::UnsupportedVersion.code(),
            )),
        );
    }
    let Some((lo, hi)) = served else {
        return Outcome::Close(format!("{api_key:?} is not served"));
    };
    if version < lo || version > hi {
        return Outcome::Close(format!("{api_key:?} v{version} is not served (v{lo}-{hi})"));
    }
    let header_version = api_key.request_header_version(version);
    let header = match RequestHeader::decode(&mut frame, header_version) {
        Ok(h) => h,
        Err(e) => return Outcome::Close(format!("bad {api_key:?} request header: {e:#}")),
    };
    if api_key == ApiKey::Produce && version < 3 {
        return old_produce(state, correlation_id, frame, version);
    }
    let request = match RequestKind::decode(api_key, &mut frame, version) {
        Ok(r) => r,
        Err(e) => return Outcome::Close(format!("bad {api_key:?} v{version} request: {e:#}")),
    };
    tracing::trace!(?api_key, version, client = ?header.client_id, "request");
    let body = match request {
        RequestKind::ApiVersions(_) => {
            ResponseKind::ApiVersions(apis::api_versions::handle(code::NONE))
        }
        RequestKind::Metadata(r) => {
            ResponseKind::Metadata(apis::metadata::handle(state, endpoint, r, version))
        }
        RequestKind::Produce(r) => match apis::produce::handle(state, r, version) {
            Some(resp) => ResponseKind::Produce(resp),
            None => return Outcome::Silent,
        },
        RequestKind::Fetch(r) => {
            let reply = apis::fetch::handle(state, r, version).await;
            return encode_fetch(correlation_id, version, reply);
        }
        RequestKind::ListOffsets(r) => {
            ResponseKind::ListOffsets(apis::list_offsets::handle(state, r, version))
        }
        RequestKind::FindCoordinator(r) => ResponseKind::FindCoordinator(
            apis::find_coordinator::handle(state, endpoint, r, version),
        ),
        RequestKind::CreateTopics(r) => {
            ResponseKind::CreateTopics(apis::create_topics::handle(state, r, version))
        }
        RequestKind::DeleteTopics(r) => {
            ResponseKind::DeleteTopics(apis::delete_topics::handle(state, r, version))
        }
        RequestKind::DeleteRecords(r) => {
            ResponseKind::DeleteRecords(apis::delete_records::handle(state, r, version))
        }
        RequestKind::InitProducerId(r) => {
            ResponseKind::InitProducerId(apis::init_producer_id::handle(state, r, version))
        }
        RequestKind::AddPartitionsToTxn(r) => {
            ResponseKind::AddPartitionsToTxn(apis::add_partitions_to_txn::handle(state, r, version))
        }
        RequestKind::AddOffsetsToTxn(r) => {
            ResponseKind::AddOffsetsToTxn(apis::add_offsets_to_txn::handle(state, r, version))
        }
        RequestKind::EndTxn(r) => ResponseKind::EndTxn(apis::end_txn::handle(state, r, version)),
        RequestKind::TxnOffsetCommit(r) => {
            ResponseKind::TxnOffsetCommit(apis::txn_offset_commit::handle(state, r, version))
        }
        RequestKind::WriteTxnMarkers(r) => {
            ResponseKind::WriteTxnMarkers(apis::write_txn_markers::handle(state, r, version))
        }
        RequestKind::DescribeProducers(r) => {
            ResponseKind::DescribeProducers(apis::describe_producers::handle(state, r, version))
        }
        RequestKind::DescribeTransactions(r) => ResponseKind::DescribeTransactions(
            apis::describe_transactions::handle(state, r, version),
        ),
        RequestKind::ListTransactions(r) => {
            ResponseKind::ListTransactions(apis::list_transactions::handle(state, r, version))
        }
        RequestKind::DescribeConfigs(r) => {
            ResponseKind::DescribeConfigs(apis::configs::describe(state, r, version))
        }
        RequestKind::AlterConfigs(r) => {
            ResponseKind::AlterConfigs(apis::configs::alter(state, r, version))
        }
        RequestKind::IncrementalAlterConfigs(r) => ResponseKind::IncrementalAlterConfigs(
            apis::configs::incremental_alter(state, r, version),
        ),
        RequestKind::CreatePartitions(r) => {
            ResponseKind::CreatePartitions(apis::create_partitions::handle(state, r, version))
        }
        RequestKind::DescribeCluster(r) => ResponseKind::DescribeCluster(
            apis::describe_cluster::handle(state, endpoint, r, version),
        ),
        RequestKind::DescribeLogDirs(r) => {
            ResponseKind::DescribeLogDirs(apis::describe_log_dirs::handle(state, r, version))
        }
        RequestKind::DescribeTopicPartitions(r) => ResponseKind::DescribeTopicPartitions(
            apis::describe_topic_partitions::handle(state, r, version),
        ),
        RequestKind::JoinGroup(r) => {
            let client_id = header.client_id.as_deref().unwrap_or("");
            ResponseKind::JoinGroup(
                apis::join_group::handle(state, r, version, client_id, peer).await,
            )
        }
        RequestKind::SyncGroup(r) => {
            ResponseKind::SyncGroup(apis::sync_group::handle(state, r, version).await)
        }
        RequestKind::Heartbeat(r) => {
            ResponseKind::Heartbeat(apis::heartbeat::handle(state, r, version))
        }
        RequestKind::LeaveGroup(r) => {
            ResponseKind::LeaveGroup(apis::leave_group::handle(state, r, version))
        }
        RequestKind::OffsetCommit(r) => {
            ResponseKind::OffsetCommit(apis::offset_commit::handle(state, r, version))
        }
        RequestKind::OffsetFetch(r) => {
            ResponseKind::OffsetFetch(apis::offset_fetch::handle(state, r, version))
        }
        RequestKind::ListGroups(r) => {
            ResponseKind::ListGroups(apis::list_groups::handle(state, r, version))
        }
        RequestKind::DescribeGroups(r) => {
            ResponseKind::DescribeGroups(apis::describe_groups::handle(state, r, version))
        }
        RequestKind::DeleteGroups(r) => {
            ResponseKind::DeleteGroups(apis::delete_groups::handle(state, r, version))
        }
        RequestKind::OffsetDelete(r) => {
            ResponseKind::OffsetDelete(apis::offset_delete::handle(state, r, version))
        }
        // Authentication happens before requests reach here (security::sasl): on a listener
        // without SASL, or after it, these are out of place, as Kafka answers.
        RequestKind::SaslHandshake(_) => {
            let mut r = kafka_protocol::messages::SaslHandshakeResponse::default();
            r.error_code = kafka_protocol::ResponseError::IllegalSaslState.code();
            ResponseKind::SaslHandshake(r)
        }
        RequestKind::SaslAuthenticate(_) => {
            let mut r = kafka_protocol::messages::SaslAuthenticateResponse::default();
            r.error_code = kafka_protocol::ResponseError::IllegalSaslState.code();
            r.error_message = Some(kafka_protocol::protocol::StrBytes::from_static_str(
                "SaslAuthenticate request received after successful authentication",
            ));
            ResponseKind::SaslAuthenticate(r)
        }
        RequestKind::DescribeClientQuotas(r) => {
            ResponseKind::DescribeClientQuotas(apis::describe_client_quotas::handle(r))
        }
        RequestKind::DescribeUserScramCredentials(r) => ResponseKind::DescribeUserScramCredentials(
            apis::describe_user_scram_credentials::handle(&ctx.listener.credentials, r),
        ),
        RequestKind::AlterUserScramCredentials(r) => ResponseKind::AlterUserScramCredentials(
            apis::alter_user_scram_credentials::handle(&ctx.listener.credentials, r),
        ),
        other => return Outcome::Close(format!("{:?} has no handler", other)),
    };
    encode(correlation_id, api_key, version, body)
}
