//! SCRAM (RFC 5802, RFC 7677) for SCRAM-SHA-256 and SCRAM-SHA-512, server side, as Kafka's
//! `ScramSaslServer` speaks it: no channel binding (`n,,` or `n,a=<authzid>,`), the user name
//! with `=2C`/`=3D` escapes, and a credential that holds only salt, iteration count, stored key
//! and server key, never the password.
//!
//! ```text
//! SaltedPassword  = PBKDF2-HMAC(password, salt, i)
//! ClientKey       = HMAC(SaltedPassword, "Client Key")     StoredKey = H(ClientKey)
//! ServerKey       = HMAC(SaltedPassword, "Server Key")
//! AuthMessage     = client-first-bare "," server-first "," client-final-without-proof
//! ClientProof     = ClientKey XOR HMAC(StoredKey, AuthMessage)  (checked: H(proof XOR sig) = StoredKey)
//! ServerSignature = HMAC(ServerKey, AuthMessage)           (sent back as v=...)
//! ```

use std::num::NonZeroU32;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::{digest, hmac, pbkdf2};

/// Fewest iterations Kafka accepts for either mechanism (`ScramMechanism.minIterations`).
pub const MIN_ITERATIONS: i32 = 4096;
/// Most iterations Kafka's controller accepts (`ScramControlManager.MAX_ITERATIONS`).
pub const MAX_ITERATIONS: i32 = 16384;

/// A SCRAM mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScramMechanism {
    /// SCRAM-SHA-256 (Kafka's type 1).
    Sha256,
    /// SCRAM-SHA-512 (Kafka's type 2).
    Sha512,
}

impl ScramMechanism {
    /// Both, in Kafka's type order.
    pub const ALL: [ScramMechanism; 2] = [ScramMechanism::Sha256, ScramMechanism::Sha512];

    /// The SASL mechanism name.
    pub fn name(self) -> &'static str {
        match self {
            ScramMechanism::Sha256 => "SCRAM-SHA-256",
            ScramMechanism::Sha512 => "SCRAM-SHA-512",
        }
    }

    /// From the SASL mechanism name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Kafka's wire code (`org.apache.kafka.clients.admin.ScramMechanism.type`).
    pub fn code(self) -> i8 {
        match self {
            ScramMechanism::Sha256 => 1,
            ScramMechanism::Sha512 => 2,
        }
    }

    /// From Kafka's wire code.
    pub fn from_code(code: i8) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.code() == code)
    }

    fn hmac(self) -> hmac::Algorithm {
        match self {
            ScramMechanism::Sha256 => hmac::HMAC_SHA256,
            ScramMechanism::Sha512 => hmac::HMAC_SHA512,
        }
    }

    fn digest(self) -> &'static digest::Algorithm {
        match self {
            ScramMechanism::Sha256 => &digest::SHA256,
            ScramMechanism::Sha512 => &digest::SHA512,
        }
    }

    fn pbkdf2(self) -> pbkdf2::Algorithm {
        match self {
            ScramMechanism::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
            ScramMechanism::Sha512 => pbkdf2::PBKDF2_HMAC_SHA512,
        }
    }

    fn output_len(self) -> usize {
        self.digest().output_len()
    }

    fn mac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        hmac::sign(&hmac::Key::new(self.hmac(), key), data)
            .as_ref()
            .to_vec()
    }

    /// `Hi(password, salt, i)`: the salted password.
    pub fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut out = vec![0u8; self.output_len()];
        let iterations = NonZeroU32::new(iterations).unwrap_or(NonZeroU32::MIN);
        pbkdf2::derive(self.pbkdf2(), iterations, salt, password, &mut out);
        out
    }
}

/// What the broker keeps for one user and mechanism.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredential {
    /// The salt.
    pub salt: Vec<u8>,
    /// `H(ClientKey)`.
    pub stored_key: Vec<u8>,
    /// `HMAC(SaltedPassword, "Server Key")`.
    pub server_key: Vec<u8>,
    /// PBKDF2 iterations.
    pub iterations: i32,
}

impl std::fmt::Debug for ScramCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ScramCredential(iterations={}, keys hidden)",
            self.iterations
        )
    }
}

impl ScramCredential {
    /// The credential for a salted password (what AlterUserScramCredentials carries).
    pub fn from_salted_password(
        mechanism: ScramMechanism,
        salted: &[u8],
        salt: &[u8],
        iterations: i32,
    ) -> Self {
        let client_key = mechanism.mac(salted, b"Client Key");
        ScramCredential {
            salt: salt.to_vec(),
            stored_key: digest::digest(mechanism.digest(), &client_key)
                .as_ref()
                .to_vec(),
            server_key: mechanism.mac(salted, b"Server Key"),
            iterations,
        }
    }

    /// The credential for a password.
    pub fn from_password(
        mechanism: ScramMechanism,
        password: &str,
        salt: &[u8],
        iterations: i32,
    ) -> Self {
        let salted = mechanism.salted_password(password.as_bytes(), salt, iterations.max(1) as u32);
        Self::from_salted_password(mechanism, &salted, salt, iterations)
    }
}

/// Why a SCRAM exchange failed. The text is for the broker's log; the client only hears Kafka's
/// generic "invalid credentials".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScramError {
    /// A message not of SCRAM's form.
    #[error("invalid SCRAM message: {0}")]
    Malformed(&'static str),
    /// No credential for the user and mechanism.
    #[error("unknown user")]
    UnknownUser,
    /// An authorization id other than the user name.
    #[error("authorization id differs from the user name")]
    AuthorizationId,
    /// Too few iterations stored.
    #[error("credential has fewer than {MIN_ITERATIONS} iterations")]
    TooFewIterations,
    /// The final message's nonce is not the exchange's.
    #[error("client nonce does not match")]
    Nonce,
    /// The channel binding echoed is not the header sent first.
    #[error("channel binding does not match")]
    ChannelBinding,
    /// The proof is wrong: a wrong password.
    #[error("invalid client proof")]
    Proof,
}

/// The client's first message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFirst {
    /// `n,,` or `n,a=<authzid>,`.
    pub gs2_header: String,
    /// The authorization id (often empty).
    pub authzid: String,
    /// The user name, unescaped.
    pub username: String,
    /// The client's nonce.
    pub nonce: String,
    /// `n=...,r=...[,ext]`: part of the AuthMessage.
    pub bare: String,
}

fn unescape_name(s: &str) -> Result<String, ScramError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err(ScramError::Malformed("bad escape in user name")),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

fn valid_nonce(n: &str) -> bool {
    !n.is_empty() && n.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

/// Parses the client's first message.
///
/// # Errors
/// Not a SCRAM client-first message, or one asking for channel binding.
pub fn parse_client_first(msg: &[u8]) -> Result<ClientFirst, ScramError> {
    let text = std::str::from_utf8(msg).map_err(|_| ScramError::Malformed("not UTF-8"))?;
    let rest = text.strip_prefix("n,").ok_or(ScramError::Malformed(
        "channel binding is not supported (gs2 header must be 'n')",
    ))?;
    let (authz, bare) = rest
        .split_once(',')
        .ok_or(ScramError::Malformed("no gs2 header"))?;
    let authzid = match authz {
        "" => String::new(),
        a => unescape_name(
            a.strip_prefix("a=")
                .ok_or(ScramError::Malformed("bad authorization id"))?,
        )?,
    };
    let mut fields = bare.splitn(3, ',');
    let name = fields
        .next()
        .and_then(|f| f.strip_prefix("n="))
        .ok_or(ScramError::Malformed("no user name"))?;
    let nonce = fields
        .next()
        .and_then(|f| f.strip_prefix("r="))
        .ok_or(ScramError::Malformed("no nonce"))?;
    if !valid_nonce(nonce) {
        return Err(ScramError::Malformed("bad nonce"));
    }
    Ok(ClientFirst {
        gs2_header: format!("n,{authz},"),
        authzid,
        username: unescape_name(name)?,
        nonce: nonce.to_string(),
        bare: bare.to_string(),
    })
}

/// A server-side exchange after the first round: waits for the client's final message.
pub struct ServerExchange {
    mechanism: ScramMechanism,
    credential: ScramCredential,
    client_first: ClientFirst,
    server_first: String,
    nonce: String,
}

/// Compares in time that depends only on the lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl ServerExchange {
    /// Answers the client's first message: `r=<client+server nonce>,s=<salt>,i=<iterations>`.
    ///
    /// # Errors
    /// No credential, a different authorization id, or a credential below the minimum.
    pub fn start(
        mechanism: ScramMechanism,
        client_first: ClientFirst,
        credential: Option<ScramCredential>,
        server_nonce: &str,
    ) -> Result<(Self, Vec<u8>), ScramError> {
        let credential = credential.ok_or(ScramError::UnknownUser)?;
        if !client_first.authzid.is_empty() && client_first.authzid != client_first.username {
            return Err(ScramError::AuthorizationId);
        }
        if credential.iterations < MIN_ITERATIONS {
            return Err(ScramError::TooFewIterations);
        }
        let nonce = format!("{}{server_nonce}", client_first.nonce);
        let server_first = format!(
            "r={nonce},s={},i={}",
            B64.encode(&credential.salt),
            credential.iterations
        );
        let reply = server_first.clone().into_bytes();
        Ok((
            ServerExchange {
                mechanism,
                credential,
                client_first,
                server_first,
                nonce,
            },
            reply,
        ))
    }

    /// Checks the client's final message (`c=...,r=...,p=...`) and answers `v=<signature>`.
    ///
    /// # Errors
    /// A malformed message, a foreign nonce or channel binding, or a wrong proof.
    pub fn finish(self, client_final: &[u8]) -> Result<Vec<u8>, ScramError> {
        let text =
            std::str::from_utf8(client_final).map_err(|_| ScramError::Malformed("not UTF-8"))?;
        let (without_proof, proof) = text
            .rsplit_once(",p=")
            .ok_or(ScramError::Malformed("no proof"))?;
        let mut fields = without_proof.split(',');
        let channel = fields
            .next()
            .and_then(|f| f.strip_prefix("c="))
            .ok_or(ScramError::Malformed("no channel binding"))?;
        let nonce = fields
            .next()
            .and_then(|f| f.strip_prefix("r="))
            .ok_or(ScramError::Malformed("no nonce"))?;
        if !constant_time_eq(nonce.as_bytes(), self.nonce.as_bytes()) {
            return Err(ScramError::Nonce);
        }
        let channel = B64
            .decode(channel)
            .map_err(|_| ScramError::Malformed("channel binding is not base64"))?;
        if channel != self.client_first.gs2_header.as_bytes() {
            return Err(ScramError::ChannelBinding);
        }
        let proof = B64
            .decode(proof)
            .map_err(|_| ScramError::Malformed("proof is not base64"))?;
        let m = self.mechanism;
        let auth_message = format!(
            "{},{},{without_proof}",
            self.client_first.bare, self.server_first
        );
        let signature = m.mac(&self.credential.stored_key, auth_message.as_bytes());
        if proof.len() != signature.len() {
            return Err(ScramError::Proof);
        }
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(p, s)| p ^ s).collect();
        let stored = digest::digest(m.digest(), &client_key);
        if !constant_time_eq(stored.as_ref(), &self.credential.stored_key) {
            return Err(ScramError::Proof);
        }
        let server_signature = m.mac(&self.credential.server_key, auth_message.as_bytes());
        Ok(format!("v={}", B64.encode(server_signature)).into_bytes())
    }

    /// The user being authenticated.
    pub fn username(&self) -> &str {
        &self.client_first.username
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The client's half, as RFC 5802 section 3 defines it, to drive the server in tests.
    fn client_final(
        m: ScramMechanism,
        password: &str,
        client_first_bare: &str,
        server_first: &str,
        gs2: &str,
    ) -> (String, Vec<u8>) {
        let mut salt = None;
        let mut iterations = 0;
        let mut nonce = "";
        for f in server_first.split(',') {
            if let Some(s) = f.strip_prefix("s=") {
                salt = Some(B64.decode(s).unwrap());
            } else if let Some(i) = f.strip_prefix("i=") {
                iterations = i.parse().unwrap();
            } else if let Some(r) = f.strip_prefix("r=") {
                nonce = r;
            }
        }
        let salted = m.salted_password(password.as_bytes(), &salt.unwrap(), iterations);
        let client_key = m.mac(&salted, b"Client Key");
        let stored = digest::digest(m.digest(), &client_key);
        let without_proof = format!("c={},r={nonce}", B64.encode(gs2));
        let auth = format!("{client_first_bare},{server_first},{without_proof}");
        let sig = m.mac(stored.as_ref(), auth.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
        let server_sig = m.mac(&m.mac(&salted, b"Server Key"), auth.as_bytes());
        (
            format!("{without_proof},p={}", B64.encode(proof)),
            format!("v={}", B64.encode(server_sig)).into_bytes(),
        )
    }

    #[test]
    fn rfc_7677_scram_sha_256_example() {
        // RFC 7677 section 3: user "user", password "pencil".
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let cred = ScramCredential::from_password(ScramMechanism::Sha256, "pencil", &salt, 4096);
        let first = parse_client_first(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO").unwrap();
        assert_eq!(first.username, "user");
        let (exchange, server_first) = ServerExchange::start(
            ScramMechanism::Sha256,
            first,
            Some(cred),
            "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(server_first).unwrap(),
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        );
        let server_final = exchange
            .finish(b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
            .unwrap();
        assert_eq!(
            String::from_utf8(server_final).unwrap(),
            "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
    }

    #[test]
    fn rfc_7914_pbkdf2_hmac_sha256_vector() {
        // RFC 7914 section 11: PBKDF2-HMAC-SHA256("passwd", "salt", 1, 64).
        let mut out = [0u8; 64];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            NonZeroU32::new(1).unwrap(),
            b"salt",
            b"passwd",
            &mut out,
        );
        assert_eq!(
            out[..16],
            [
                0x55, 0xac, 0x04, 0x6e, 0x56, 0xe3, 0x08, 0x9f, 0xec, 0x16, 0x91, 0xc2, 0x25, 0x44,
                0xb6, 0x05
            ]
        );
    }

    #[test]
    fn sha_512_exchange_succeeds_with_the_password_and_fails_without() {
        let m = ScramMechanism::Sha512;
        let cred = ScramCredential::from_password(m, "alice-secret", b"0123456789abcdef", 4096);
        for (password, ok) in [("alice-secret", true), ("wrong", false)] {
            let first = parse_client_first(b"n,,n=alice,r=abc").unwrap();
            let bare = first.bare.clone();
            let (ex, sf) = ServerExchange::start(m, first, Some(cred.clone()), "XYZ").unwrap();
            let sf = String::from_utf8(sf).unwrap();
            let (cf, expected_final) = client_final(m, password, &bare, &sf, "n,,");
            match ex.finish(cf.as_bytes()) {
                Ok(v) => {
                    assert!(ok);
                    assert_eq!(v, expected_final);
                }
                Err(e) => {
                    assert!(!ok);
                    assert_eq!(e, ScramError::Proof);
                }
            }
        }
    }

    #[test]
    fn bad_first_and_final_messages_are_refused() {
        assert!(parse_client_first(b"y,,n=a,r=b").is_err());
        assert!(parse_client_first(b"p=tls-unique,,n=a,r=b").is_err());
        assert!(parse_client_first(b"n,,r=b").is_err());
        assert!(parse_client_first(b"n,,n=a=xx,r=b").is_err());
        assert_eq!(
            parse_client_first(b"n,a=al=2Cice,n=al=2Cice,r=b")
                .unwrap()
                .username,
            "al,ice"
        );
        let m = ScramMechanism::Sha256;
        let cred = ScramCredential::from_password(m, "p", b"salt", 4096);
        let start = |cred: Option<ScramCredential>| {
            ServerExchange::start(m, parse_client_first(b"n,,n=u,r=c").unwrap(), cred, "s")
        };
        assert_eq!(start(None).err(), Some(ScramError::UnknownUser));
        let weak = ScramCredential::from_password(m, "p", b"salt", 1024);
        assert_eq!(start(Some(weak)).err(), Some(ScramError::TooFewIterations));
        let (ex, _) = start(Some(cred.clone())).unwrap();
        assert_eq!(
            ex.finish(b"c=biws,r=cOTHER,p=AAAA").err(),
            Some(ScramError::Nonce)
        );
        let (ex, _) = start(Some(cred)).unwrap();
        assert_eq!(
            ex.finish(b"c=eSws,r=cs,p=AAAA").err(),
            Some(ScramError::ChannelBinding)
        );
    }
}
