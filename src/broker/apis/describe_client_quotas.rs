//! DescribeClientQuotas (key 48): this broker enforces no client quotas, so none are
//! described. Kafka's `kafka-configs --describe --entity-type users` asks for them before it
//! describes SCRAM credentials.

use kafka_protocol::messages::{DescribeClientQuotasRequest, DescribeClientQuotasResponse};

/// The response: no entries.
pub fn handle(_req: DescribeClientQuotasRequest) -> DescribeClientQuotasResponse {
    let mut r = DescribeClientQuotasResponse::default();
    r.entries = Some(Vec::new());
    r
}
