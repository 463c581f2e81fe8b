//! AlterUserScramCredentials (key 51): add, replace or remove users' SCRAM credentials, with
//! Kafka's `ScramControlManager` checks (a user altered once per request, 4096 to 16384
//! iterations, known mechanisms, existing credentials to delete). The client sends a salted
//! password; the broker keeps only the stored and server keys derived from it. Every accepted
//! change of a request is written together.

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::code;
use crate::broker::security::credentials::CredentialStore;
use crate::broker::security::scram::{
    MAX_ITERATIONS, MIN_ITERATIONS, ScramCredential, ScramMechanism,
};

type Outcome = (i16, Option<String>);

fn check_name_and_mechanism(name: &str, mechanism: i8) -> Result<ScramMechanism, Outcome> {
    if name.is_empty() {
        return Err((
            kafka_protocol::ResponseError::UnacceptableCredential.code(),
            Some("Username must not be empty".into()),
        ));
    }
    ScramMechanism::from_code(mechanism).ok_or((
        kafka_protocol::ResponseError::UnsupportedSaslMechanism.code(),
        Some("Unknown SCRAM mechanism".into()),
    ))
}

/// The response.
pub fn handle(
    credentials: &CredentialStore,
    req: AlterUserScramCredentialsRequest,
) -> AlterUserScramCredentialsResponse {
    let existing = credentials.describe();
    let mut errors: BTreeMap<String, Outcome> = BTreeMap::new();
    let mut deletions: BTreeMap<String, ScramMechanism> = BTreeMap::new();
    let mut upsertions: BTreeMap<String, (ScramMechanism, ScramCredential)> = BTreeMap::new();
    let twice = || {
        (
            kafka_protocol::ResponseError::DuplicateResource.code(),
            Some("A user credential cannot be altered twice in the same request".to_string()),
        )
    };
    for d in req.deletions {
        let name = d.name.to_string();
        if errors.contains_key(&name) {
            continue;
        }
        if deletions.remove(&name).is_some() {
            errors.insert(name, twice());
            continue;
        }
        match check_name_and_mechanism(&name, d.mechanism) {
            Err(e) => {
                errors.insert(name, e);
            }
            Ok(m) => {
                let exists = existing
                    .get(&name)
                    .is_some_and(|mechs| mechs.iter().any(|(k, _)| *k == m));
                if exists {
                    deletions.insert(name, m);
                } else {
                    errors.insert(
                        name,
                        (
                            kafka_protocol::ResponseError::ResourceNotFound.code(),
                            Some("Attempt to delete a user credential that does not exist".into()),
                        ),
                    );
                }
            }
        }
    }
    for u in req.upsertions {
        let name = u.name.to_string();
        if errors.contains_key(&name) {
            continue;
        }
        if deletions.remove(&name).is_some() || upsertions.remove(&name).is_some() {
            errors.insert(name, twice());
            continue;
        }
        match check_name_and_mechanism(&name, u.mechanism) {
            Err(e) => {
                errors.insert(name, e);
            }
            Ok(_) if u.iterations < MIN_ITERATIONS => {
                errors.insert(
                    name,
                    (
                        kafka_protocol::ResponseError::UnacceptableCredential.code(),
                        Some("Too few iterations".into()),
                    ),
                );
            }
            Ok(_) if u.iterations > MAX_ITERATIONS => {
                errors.insert(
                    name,
                    (
                        kafka_protocol::ResponseError::UnacceptableCredential.code(),
                        Some("Too many iterations".into()),
                    ),
                );
            }
            Ok(m) => {
                let c = ScramCredential::from_salted_password(
                    m,
                    &u.salted_password,
                    &u.salt,
                    u.iterations,
                );
                upsertions.insert(name, (m, c));
            }
        }
    }
    let mut outcomes: BTreeMap<String, Outcome> = BTreeMap::new();
    let del: Vec<(String, ScramMechanism)> = deletions.into_iter().collect();
    let ups: Vec<(String, ScramMechanism, ScramCredential)> = upsertions
        .into_iter()
        .map(|(n, (m, c))| (n, m, c))
        .collect();
    let changed: Vec<String> = del
        .iter()
        .map(|(n, _)| n.clone())
        .chain(ups.iter().map(|(n, _, _)| n.clone()))
        .collect();
    if !changed.is_empty() {
        let written = credentials.alter(&del, ups);
        for name in changed {
            let outcome = match &written {
                Ok(()) => (code::NONE, None),
                Err(e) => {
                    tracing::error!("{e}");
                    (
                        kafka_protocol::ResponseError::UnknownServerError.code(),
                        Some(e.to_string()),
                    )
                }
            };
            outcomes.insert(name, outcome);
        }
        if written.is_ok() {
            tracing::info!(
                users = %outcomes.keys().cloned().collect::<Vec<_>>().join(", "),
                "SCRAM credentials altered"
            );
        }
    }
    outcomes.extend(errors);
    let mut r = AlterUserScramCredentialsResponse::default();
    r.results = outcomes
        .into_iter()
        .map(|(user, (error, message))| {
            let mut result = AlterUserScramCredentialsResult::default();
            result.user = StrBytes::from_string(user);
            result.error_code = error;
            result.error_message = message.map(StrBytes::from_string);
            result
        })
        .collect();
    r
}
