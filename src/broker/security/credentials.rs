//! SCRAM credentials of the broker's users, kept in the data dir in one file,
//! `.streamlog/scram-credentials.json` (mode 0600), replaced atomically on every change (temp
//! file, fsync, rename, fsync the directory). Only what SCRAM needs is stored: salt, iterations,
//! stored key and server key per user and mechanism (keys in base64), never a password.
//! Managed with AlterUserScramCredentials and DescribeUserScramCredentials, as in Kafka.
//!
//! ```json
//! {"version":1,"users":{"alice":{"SCRAM-SHA-256":{"salt":"..","stored_key":"..","server_key":"..","iterations":4096}}}}
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::scram::{ScramCredential, ScramMechanism};

/// The file's name under `.streamlog/`.
pub const FILE_NAME: &str = "scram-credentials.json";

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredCredential {
    salt: String,
    stored_key: String,
    server_key: String,
    iterations: i32,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredFile {
    version: u32,
    users: BTreeMap<String, BTreeMap<String, StoredCredential>>,
}

type Users = BTreeMap<String, BTreeMap<ScramMechanism, ScramCredential>>;

/// The credentials, in memory and on disk.
pub struct CredentialStore {
    /// Where they are kept.
    path: PathBuf,
    /// By user, then mechanism.
    users: RwLock<Users>,
}

/// A change that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write SCRAM credentials to {path}: {source}")]
pub struct StoreError {
    path: PathBuf,
    source: std::io::Error,
}

fn decode(users: StoredFile, path: &Path) -> anyhow::Result<Users> {
    let mut out = Users::new();
    for (user, mechs) in users.users {
        let entry = out.entry(user.clone()).or_default();
        for (mech, c) in mechs {
            let m = ScramMechanism::from_name(&mech).ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: user {user} has an unknown mechanism {mech}",
                    path.display()
                )
            })?;
            let field = |s: &str, what: &str| {
                B64.decode(s).map_err(|_| {
                    anyhow::anyhow!(
                        "{}: user {user} {mech}: {what} is not base64",
                        path.display()
                    )
                })
            };
            entry.insert(
                m,
                ScramCredential {
                    salt: field(&c.salt, "salt")?,
                    stored_key: field(&c.stored_key, "stored_key")?,
                    server_key: field(&c.server_key, "server_key")?,
                    iterations: c.iterations,
                },
            );
        }
    }
    Ok(out)
}

impl CredentialStore {
    /// Loads `<data_dir>/.streamlog/scram-credentials.json` (none yet: no users).
    ///
    /// # Errors
    /// An unreadable or malformed file, naming it.
    pub fn open(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join(".streamlog").join(FILE_NAME);
        let users = match std::fs::read(&path) {
            Ok(bytes) => {
                let file: StoredFile = serde_json::from_slice(&bytes).map_err(|e| {
                    anyhow::anyhow!("{} is not a SCRAM credentials file: {e}", path.display())
                })?;
                decode(file, &path)?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Users::new(),
            Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
        };
        Ok(CredentialStore {
            path,
            users: RwLock::new(users),
        })
    }

    /// The credential of `user` for `mechanism`.
    pub fn get(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential> {
        let users = self.users.read().unwrap_or_else(|e| e.into_inner());
        users.get(user).and_then(|m| m.get(&mechanism)).cloned()
    }

    /// Every user with a credential, and the (mechanism, iterations) of each.
    pub fn describe(&self) -> BTreeMap<String, Vec<(ScramMechanism, i32)>> {
        let users = self.users.read().unwrap_or_else(|e| e.into_inner());
        users
            .iter()
            .filter(|(_, m)| !m.is_empty())
            .map(|(u, m)| {
                (
                    u.clone(),
                    m.iter().map(|(k, c)| (*k, c.iterations)).collect(),
                )
            })
            .collect()
    }

    /// Applies deletions and upsertions together, then writes the file. On a write failure
    /// nothing changes.
    ///
    /// # Errors
    /// The file could not be replaced.
    pub fn alter(
        &self,
        deletions: &[(String, ScramMechanism)],
        upsertions: Vec<(String, ScramMechanism, ScramCredential)>,
    ) -> Result<(), StoreError> {
        let mut users = self.users.write().unwrap_or_else(|e| e.into_inner());
        let mut next = users.clone();
        for (user, m) in deletions {
            if let Some(mechs) = next.get_mut(user) {
                mechs.remove(m);
                if mechs.is_empty() {
                    next.remove(user);
                }
            }
        }
        for (user, m, c) in upsertions {
            next.entry(user).or_default().insert(m, c);
        }
        self.write(&next).map_err(|source| StoreError {
            path: self.path.clone(),
            source,
        })?;
        *users = next;
        Ok(())
    }

    fn write(&self, users: &Users) -> std::io::Result<()> {
        let file = StoredFile {
            version: 1,
            users: users
                .iter()
                .map(|(u, mechs)| {
                    let mechs = mechs
                        .iter()
                        .map(|(m, c)| {
                            (
                                m.name().to_string(),
                                StoredCredential {
                                    salt: B64.encode(&c.salt),
                                    stored_key: B64.encode(&c.stored_key),
                                    server_key: B64.encode(&c.server_key),
                                    iterations: c.iterations,
                                },
                            )
                        })
                        .collect();
                    (u.clone(), mechs)
                })
                .collect(),
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(std::io::Error::other)?;
        write_private_atomic(&self.path, &bytes)
    }
}

/// As `engine::fsutil::write_atomic`, but the file is created readable by its owner only: the
/// stored and server keys allow an offline guess of the password.
fn write_private_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{FILE_NAME}.tmp-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_data()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn credentials_survive_a_reopen_without_the_password_and_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::open(dir.path()).unwrap();
        assert!(store.describe().is_empty());
        let c =
            ScramCredential::from_password(ScramMechanism::Sha256, "alice-secret", b"salt", 4096);
        let c512 =
            ScramCredential::from_password(ScramMechanism::Sha512, "alice-secret", b"salt", 8192);
        store
            .alter(
                &[],
                vec![
                    ("alice".into(), ScramMechanism::Sha256, c.clone()),
                    ("alice".into(), ScramMechanism::Sha512, c512),
                ],
            )
            .unwrap();
        let path = dir.path().join(".streamlog").join(FILE_NAME);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("alice-secret"));
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let again = CredentialStore::open(dir.path()).unwrap();
        assert_eq!(again.get("alice", ScramMechanism::Sha256), Some(c));
        assert_eq!(
            again.describe()["alice"],
            vec![
                (ScramMechanism::Sha256, 4096),
                (ScramMechanism::Sha512, 8192)
            ]
        );
        again
            .alter(&[("alice".into(), ScramMechanism::Sha256)], vec![])
            .unwrap();
        again
            .alter(&[("alice".into(), ScramMechanism::Sha512)], vec![])
            .unwrap();
        assert!(
            CredentialStore::open(dir.path())
                .unwrap()
                .describe()
                .is_empty()
        );
    }

    #[test]
    fn a_corrupt_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".streamlog")).unwrap();
        std::fs::write(dir.path().join(".streamlog").join(FILE_NAME), "{").unwrap();
        let e = CredentialStore::open(dir.path()).err().unwrap().to_string();
        assert!(e.contains(FILE_NAME), "{e}");
    }
}
