//! DescribeUserScramCredentials (key 50): which users have SCRAM credentials, with each
//! mechanism's iteration count (never the keys), as Kafka's `ScramImage.describe` answers.

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use kafka_protocol::messages::{
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};
use kafka_protocol::protocol::StrBytes;

use crate::broker::security::credentials::CredentialStore;

/// The response: every user when none is named.
pub fn handle(
    credentials: &CredentialStore,
    req: DescribeUserScramCredentialsRequest,
) -> DescribeUserScramCredentialsResponse {
    let known = credentials.describe();
    // Named users, each marked when named twice.
    let mut wanted: BTreeMap<String, bool> = BTreeMap::new();
    match req.users.filter(|u| !u.is_empty()) {
        None => wanted.extend(known.keys().map(|u| (u.clone(), false))),
        Some(users) => {
            for u in users {
                wanted
                    .entry(u.name.to_string())
                    .and_modify(|twice| *twice = true)
                    .or_insert(false);
            }
        }
    }
    let mut r = DescribeUserScramCredentialsResponse::default();
    r.results = wanted
        .into_iter()
        .map(|(user, twice)| {
            let mut result = DescribeUserScramCredentialsResult::default();
            result.user = StrBytes::from_string(user.clone());
            if twice {
                result.error_code = kafka_protocol::ResponseError::DuplicateResource.code();
                result.error_message = Some(StrBytes::from_string(format!(
                    "Cannot describe SCRAM credentials for the same user twice in a single request: {user}"
                )));
            } else if let Some(mechs) = known.get(&user) {
                result.credential_infos = mechs
                    .iter()
                    .map(|(m, iterations)| {
                        let mut info = CredentialInfo::default();
                        info.mechanism = m.code();
                        info.iterations = *iterations;
                        info
                    })
                    .collect();
            } else {
                result.error_code = kafka_protocol::ResponseError::ResourceNotFound.code();
                result.error_message = Some(StrBytes::from_string(format!(
                    "Attempt to describe a user credential that does not exist: {user}"
                )));
            }
            result
        })
        .collect();
    r
}
