//! The deployed client registry (`infra clients`): what the environment file says about each
//! client (scopes, default scopes, token lifetime) joined with the secrets only the registry
//! holds. Every change here is a pure function on the registry document; `deploy::registry`
//! reads and writes the document in Secrets Manager.
//!
//! Rotation without downtime: `rotate` adds a second secret, and the function accepts both
//! until `finish-rotation` removes the older one, or until the older one's `expires` time (the
//! `--overlap` given to `rotate`) has passed. Warm functions cache the registry for
//! `token_function::lambda::REGISTRY_TTL` (60 s), so a change takes up to that long to be seen.

use std::collections::BTreeSet;

use serde::Serialize;
use token_function::registry::{
    Client, MAX_DOCUMENT_BYTES, MAX_SECRETS, Registry, RegistryDocument, StoredSecret, random_secret,
};

use crate::env::{ClientSettings, Environment};

/// Why a change was refused; nothing was written.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClientError {
    /// The client id is not in the environment file's `token.clients`.
    #[error("`{id}` is not a client of `{env}` ({file} token.clients: {known})")]
    NotInFile {
        /// The client id asked for.
        id: String,
        /// The environment's name.
        env: String,
        /// The environment file's path.
        file: String,
        /// The file's client ids, comma-separated.
        known: String,
    },
    /// `add` refused: the client with this id is already in the registry.
    #[error("`{0}` is already registered; `rotate` gives it a new secret")]
    AlreadyRegistered(String),
    /// The client with this id is not in the registry.
    #[error("`{0}` is not registered (`clients <env> list` shows who is)")]
    NotRegistered(String),
    /// `rotate` refused: the client with this id already has two secrets.
    #[error("`{0}` is being rotated (it has {MAX_SECRETS} secrets); `finish-rotation {0}` first")]
    Rotating(String),
    /// `finish-rotation` refused: the client with this id has only one secret.
    #[error("`{0}` is not being rotated (it has one working secret)")]
    NotRotating(String),
    /// The registry document would be this many bytes, over Secrets Manager's limit on a secret
    /// value (`MAX_DOCUMENT_BYTES`).
    #[error("the registry would be {0} bytes; Secrets Manager holds at most {MAX_DOCUMENT_BYTES} per secret")]
    TooLarge(usize),
    /// The system's secure random generator failed, so no secret or salt could be made.
    #[error("no secure random source")]
    Random,
    /// The registry document could not be serialized to JSON; holds the error message.
    #[error("cannot write the registry as JSON: {0}")]
    Serialize(String),
}

/// How a client stands, file against registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// In both, with the file's scopes and lifetime.
    Registered,
    /// In both, but the registry's scopes or lifetime differ from the file's (`sync` applies them).
    Differs,
    /// In the file only: it gets no token until `add`.
    NotRegistered,
    /// In the registry only: it still gets tokens until `remove`.
    NotInFile,
}

/// One line of `clients list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClientStatus {
    /// The OAuth 2.0 client identifier (`client_id`).
    pub client_id: String,
    /// How it stands, file against registry.
    pub standing: Standing,
    /// Secrets in the registry: 1, or 2 during a rotation.
    pub secrets: usize,
    /// When the older secret of a rotation stops being accepted (Unix seconds), if set.
    pub old_secret_expires: Option<u64>,
}

/// The registry entry the file describes, with `secrets`.
pub fn from_file(c: &ClientSettings, secrets: Vec<StoredSecret>) -> Client {
    Client {
        client_id: c.id.0.clone(),
        secrets,
        allowed_scopes: c.allowed_scopes.iter().map(|s| s.0.clone()).collect(),
        default_scopes: c.default_scopes.iter().map(|s| s.0.clone()).collect(),
        ttl_seconds: c.ttl_seconds.map(|t| u64::from(t.get())),
    }
}

fn in_file<'e>(env: &'e Environment, id: &str) -> Result<&'e ClientSettings, ClientError> {
    env.token.clients.0.iter().find(|c| c.id.0 == id).ok_or_else(|| ClientError::NotInFile {
        id: id.to_owned(),
        env: env.name.clone(),
        file: env.source.display().to_string(),
        known: env.token.clients.0.iter().map(|c| c.id.0.as_str()).collect::<Vec<_>>().join(", "),
    })
}

fn position(doc: &RegistryDocument, id: &str) -> Result<usize, ClientError> {
    doc.clients.iter().position(|c| c.client_id == id).ok_or_else(|| ClientError::NotRegistered(id.to_owned()))
}

fn new_secret(now: u64) -> Result<(String, StoredSecret), ClientError> {
    let secret = random_secret().map_err(|_| ClientError::Random)?;
    let stored = StoredSecret::new(&secret, now).map_err(|_| ClientError::Random)?;
    Ok((secret, stored))
}

/// Drops secrets that expired, keeping the newest of each client.
fn prune(doc: &mut RegistryDocument, now: u64) {
    for c in &mut doc.clients {
        let newest = c.secrets.pop();
        c.secrets.retain(|s| s.is_live(now));
        c.secrets.extend(newest);
    }
}

/// Refuses a document Secrets Manager would not store, or the function would not load.
fn check(doc: &RegistryDocument) -> Result<(), ClientError> {
    let size = serde_json::to_string(doc).map(|s| s.len()).unwrap_or(usize::MAX);
    if size > MAX_DOCUMENT_BYTES {
        return Err(ClientError::TooLarge(size));
    }
    Ok(())
}

/// A change to the registry; `apply` returns the new secret when there is one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change<'a> {
    /// Registers a client of the file with a new secret.
    Add(&'a str),
    /// Adds a second secret; the older one expires `overlap` seconds from now, if given.
    Rotate(&'a str, Option<u64>),
    /// Removes the older secret of a rotation.
    FinishRotation(&'a str),
    /// Removes a client from the registry.
    Remove(&'a str),
    /// Applies the file's scopes and lifetimes to every registered client of the file.
    Sync,
}

impl Change<'_> {
    /// Applies the change to `doc` at Unix second `now`; on error `doc` is unchanged.
    pub fn apply(self, env: &Environment, doc: &mut RegistryDocument, now: u64) -> Result<Option<String>, ClientError> {
        let mut next = doc.clone();
        prune(&mut next, now);
        let secret = match self {
            Change::Add(id) => {
                let settings = in_file(env, id)?;
                if position(&next, id).is_ok() {
                    return Err(ClientError::AlreadyRegistered(id.to_owned()));
                }
                let (secret, stored) = new_secret(now)?;
                next.clients.push(from_file(settings, vec![stored]));
                Some(secret)
            }
            Change::Rotate(id, overlap) => {
                let settings = in_file(env, id)?;
                let at = position(&next, id)?;
                let client = &mut next.clients[at];
                if client.secrets.len() >= MAX_SECRETS {
                    return Err(ClientError::Rotating(id.to_owned()));
                }
                let (secret, stored) = new_secret(now)?;
                for old in &mut client.secrets {
                    old.expires = overlap.map(|o| now.saturating_add(o)).or(old.expires);
                }
                let mut secrets = std::mem::take(&mut client.secrets);
                secrets.push(stored);
                *client = from_file(settings, secrets);
                Some(secret)
            }
            Change::FinishRotation(id) => {
                let at = position(&next, id)?;
                let secrets = &mut next.clients[at].secrets;
                if secrets.len() < 2 {
                    return Err(ClientError::NotRotating(id.to_owned()));
                }
                secrets.drain(..secrets.len() - 1);
                None
            }
            Change::Remove(id) => {
                let at = position(&next, id)?;
                next.clients.remove(at);
                None
            }
            Change::Sync => {
                for c in &mut next.clients {
                    if let Ok(settings) = in_file(env, &c.client_id) {
                        *c = from_file(settings, std::mem::take(&mut c.secrets));
                    }
                }
                None
            }
        };
        check(&next)?;
        *doc = next;
        Ok(secret)
    }
}

/// Parses the registry secret's text as the function would, so a hand-edited document that the
/// function would refuse is refused here too.
pub fn parse(text: &str) -> Result<RegistryDocument, token_function::registry::RegistryError> {
    let doc: RegistryDocument = serde_json::from_str(text)?;
    Registry::from_document(doc.clone())?;
    Ok(doc)
}

/// Every client of the file or the registry, with its standing, sorted by id.
pub fn status(env: &Environment, doc: &RegistryDocument, now: u64) -> Vec<ClientStatus> {
    let ids: BTreeSet<&str> = env
        .token
        .clients
        .0
        .iter()
        .map(|c| c.id.0.as_str())
        .chain(doc.clients.iter().map(|c| c.client_id.as_str()))
        .collect();
    ids.into_iter()
        .map(|id| {
            let registered = doc.clients.iter().find(|c| c.client_id == id);
            let file = env.token.clients.0.iter().find(|c| c.id.0 == id);
            let standing = match (file, registered) {
                (Some(f), Some(r)) if from_file(f, r.secrets.clone()) == *r => Standing::Registered,
                (Some(_), Some(_)) => Standing::Differs,
                (Some(_), None) => Standing::NotRegistered,
                (None, _) => Standing::NotInFile,
            };
            // Secrets the function still accepts: an old one past its `--overlap` is over, as
            // `finish-rotation` and the next write see it.
            let live: Vec<&StoredSecret> =
                registered.into_iter().flat_map(|r| r.secrets.iter()).filter(|s| s.is_live(now)).collect();
            let secrets = live.len();
            let old_secret_expires = live.first().filter(|_| secrets > 1).and_then(|s| s.expires);
            ClientStatus { client_id: id.to_owned(), standing, secrets, old_secret_expires }
        })
        .collect()
}

/// One client's standing in words, with the command that resolves it.
pub fn describe(r: &ClientStatus, target: &str) -> String {
    let rotation = match (r.secrets, r.old_secret_expires) {
        (2, Some(t)) => format!("; rotating, old secret expires at {}", crate::deploy::logs::iso_seconds(t)),
        (2, None) => format!("; rotating (`cargo run -- clients {target} finish-rotation {}` ends it)", r.client_id),
        _ => String::new(),
    };
    let standing = match r.standing {
        Standing::Registered => "registered".to_owned(),
        Standing::Differs => {
            format!("registered, scopes or lifetime differ from the file (`cargo run -- clients {target} sync`)")
        }
        Standing::NotRegistered => {
            format!("not registered: gets no token (`cargo run -- clients {target} add {}`)", r.client_id)
        }
        Standing::NotInFile => {
            format!(
                "in the registry but not the file: still gets tokens (`cargo run -- clients {target} remove {}`)",
                r.client_id
            )
        }
    };
    format!("{standing}{rotation}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn dev() -> Environment {
        Environment::load_named(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments"), "dev")
            .unwrap()
    }

    fn secret(created: u64, expires: Option<u64>) -> StoredSecret {
        StoredSecret { expires, ..StoredSecret::new("s", created).unwrap() }
    }

    /// dev-test-client registered with `secrets`, and `stranger` only in the registry.
    fn doc(secrets: Vec<StoredSecret>) -> RegistryDocument {
        let env = dev();
        let file = &env.token.clients.0[0];
        let mut stranger = from_file(file, vec![secret(NOW, None)]);
        stranger.client_id = "stranger".into();
        RegistryDocument { clients: vec![from_file(file, secrets), stranger] }
    }

    fn secrets_of(doc: &RegistryDocument, id: &str) -> Vec<Option<u64>> {
        doc.clients
            .iter()
            .find(|c| c.client_id == id)
            .map(|c| c.secrets.iter().map(|s| s.expires).collect())
            .unwrap_or_default()
    }

    /// Each change: the registry before, the change, and the secrets of the client after (or the
    /// refusal, with the registry unchanged).
    #[test]
    fn changes_apply_or_refuse_leaving_the_registry_as_it_was() {
        let env = dev();
        let one = || doc(vec![secret(NOW - 100, None)]);
        let two = || doc(vec![secret(NOW - 100, Some(NOW + 50)), secret(NOW - 10, None)]);
        let expired = || doc(vec![secret(NOW - 100, Some(NOW - 1)), secret(NOW - 10, None)]);
        let err = |e: ClientError| Err::<(&str, Vec<Option<u64>>), _>(e);
        let not_in_file = |id: &str| ClientError::NotInFile {
            id: id.into(),
            env: "dev".into(),
            file: env.source.display().to_string(),
            known: "dev-test-client, inventory-service".into(),
        };
        type Case = (RegistryDocument, Change<'static>, Result<(&'static str, Vec<Option<u64>>), ClientError>);
        let cases: Vec<Case> = vec![
            (one(), Change::Add("inventory-service"), Ok(("inventory-service", vec![None]))),
            (one(), Change::Add("dev-test-client"), err(ClientError::AlreadyRegistered("dev-test-client".into()))),
            (one(), Change::Add("nobody"), err(not_in_file("nobody"))),
            (one(), Change::Add("stranger"), err(not_in_file("stranger"))),
            (one(), Change::Rotate("dev-test-client", None), Ok(("dev-test-client", vec![None, None]))),
            (
                one(),
                Change::Rotate("dev-test-client", Some(3600)),
                Ok(("dev-test-client", vec![Some(NOW + 3600), None])),
            ),
            (two(), Change::Rotate("dev-test-client", None), err(ClientError::Rotating("dev-test-client".into()))),
            (expired(), Change::Rotate("dev-test-client", None), Ok(("dev-test-client", vec![None, None]))),
            (
                one(),
                Change::Rotate("inventory-service", None),
                err(ClientError::NotRegistered("inventory-service".into())),
            ),
            (one(), Change::Rotate("stranger", None), err(not_in_file("stranger"))),
            (two(), Change::FinishRotation("dev-test-client"), Ok(("dev-test-client", vec![None]))),
            (one(), Change::FinishRotation("dev-test-client"), err(ClientError::NotRotating("dev-test-client".into()))),
            (
                expired(),
                Change::FinishRotation("dev-test-client"),
                err(ClientError::NotRotating("dev-test-client".into())),
            ),
            (one(), Change::Remove("stranger"), Ok(("stranger", vec![]))),
            (one(), Change::Remove("dev-test-client"), Ok(("dev-test-client", vec![]))),
            (one(), Change::Remove("nobody"), err(ClientError::NotRegistered("nobody".into()))),
            (expired(), Change::Sync, Ok(("dev-test-client", vec![None]))),
        ];
        for (mut registry, change, want) in cases {
            let before = registry.clone();
            let got = change.apply(&env, &mut registry, NOW);
            match want {
                Ok((id, secrets)) => {
                    let new_secret = got.unwrap_or_else(|e| panic!("{change:?}: {e}"));
                    assert_eq!(
                        new_secret.is_some(),
                        matches!(change, Change::Add(_) | Change::Rotate(..)),
                        "{change:?}"
                    );
                    assert_eq!(secrets_of(&registry, id), secrets, "{change:?}");
                    assert!(
                        parse(&serde_json::to_string(&registry).unwrap()).is_ok(),
                        "{change:?}: the function loads it"
                    );
                }
                Err(e) => {
                    assert_eq!(got, Err(e), "{change:?}");
                    assert_eq!(registry, before, "{change:?}: nothing changed");
                }
            }
        }
    }

    #[test]
    fn the_new_secret_is_the_one_stored() {
        let env = dev();
        let mut registry = RegistryDocument::default();
        let secret = Change::Add("dev-test-client").apply(&env, &mut registry, NOW).unwrap().unwrap();
        let loaded = Registry::from_document(registry).unwrap();
        assert!(loaded.authenticate("dev-test-client", &secret, NOW).is_some());
        assert!(loaded.authenticate("dev-test-client", &secret[1..], NOW).is_none());
    }

    #[test]
    fn sync_applies_the_file_and_leaves_strangers() {
        let env = dev();
        let mut registry = doc(vec![secret(NOW, None)]);
        registry.clients[0].allowed_scopes.insert("extra".into());
        registry.clients[1].allowed_scopes.insert("kept".into());
        assert_eq!(status(&env, &registry, NOW)[0].standing, Standing::Differs);
        Change::Sync.apply(&env, &mut registry, NOW).unwrap();
        assert!(!registry.clients[0].allowed_scopes.contains("extra"));
        assert!(registry.clients[1].allowed_scopes.contains("kept"));
    }

    #[test]
    fn status_names_each_client_s_standing() {
        let env = dev();
        let rows = status(&env, &doc(vec![secret(NOW - 100, Some(NOW + 50)), secret(NOW, None)]), NOW);
        let seen: Vec<(&str, Standing, usize, Option<u64>)> =
            rows.iter().map(|r| (r.client_id.as_str(), r.standing.clone(), r.secrets, r.old_secret_expires)).collect();
        assert_eq!(
            seen,
            [
                ("dev-test-client", Standing::Registered, 2, Some(NOW + 50)),
                ("inventory-service", Standing::NotRegistered, 0, None),
                ("stranger", Standing::NotInFile, 1, None),
            ]
        );
        // Past the overlap the old secret is over: one secret, as finish-rotation sees it.
        let later = status(&env, &doc(vec![secret(NOW - 100, Some(NOW + 50)), secret(NOW, None)]), NOW + 50);
        assert_eq!((later[0].secrets, later[0].old_secret_expires), (1, None));
        assert_eq!(
            Change::FinishRotation("dev-test-client").apply(
                &env,
                &mut doc(vec![secret(NOW - 100, Some(NOW + 50)), secret(NOW, None)]),
                NOW + 50
            ),
            Err(ClientError::NotRotating("dev-test-client".into()))
        );
    }

    #[test]
    fn a_registry_secrets_manager_cannot_hold_is_refused() {
        let env = dev();
        let mut registry = doc(vec![secret(NOW, None)]);
        registry.clients[1].allowed_scopes = (0..6000).map(|i| format!("scope:{i:04}")).collect();
        let before = registry.clone();
        let got = Change::Add("inventory-service").apply(&env, &mut registry, NOW);
        assert!(matches!(got, Err(ClientError::TooLarge(n)) if n > MAX_DOCUMENT_BYTES), "{got:?}");
        assert_eq!(registry, before);
    }
}
