//! The client registry: who may ask for tokens, with which scopes. On Lambda it is the JSON
//! held in the Secrets Manager secret (written by `infra clients`); locally it is built from the
//! environment file. Only a salted SHA-256 of each client secret is held, compared in constant
//! time. A client has one secret, or two while its secret is rotated; a secret past its
//! `expires` time is no longer accepted.
//!
//! Document shape (the secret's `SecretString`, at most 65,536 bytes: Secrets Manager's limit on a
//! secret value, "Quotas for AWS Secrets Manager"):
//! `{"clients":[{"client_id":"…","secrets":[{"salt":"<32 hex>","sha256":"<64 hex>","created":<unix s>,
//! "expires":<unix s, optional>}],"allowed_scopes":["…"],"default_scopes":["…"],"ttl_seconds":<optional>}]}`

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// How long a warm function keeps the registry before reading the secret again: a registry
/// change reaches every warm function within this time.
pub const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// Most secrets a client holds at once: the current one and, during a rotation, the new one.
pub const MAX_SECRETS: usize = 2;
/// Secrets Manager's limit on a secret value, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 65_536;

/// One accepted secret: SHA-256 over a random 16-byte salt followed by the secret's bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredSecret {
    /// 16 random bytes, lowercase hex.
    pub salt: String,
    /// Lowercase hex SHA-256 of salt || secret.
    pub sha256: String,
    /// When it was made, Unix seconds.
    pub created: u64,
    /// From this Unix second on it is refused; `None`: until removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<u64>,
}

impl StoredSecret {
    /// The stored form of `secret`, with a fresh salt.
    pub fn new(secret: &str, now: u64) -> Result<Self, aws_lc_rs::error::Unspecified> {
        use aws_lc_rs::rand::SecureRandom;
        let mut salt = [0u8; 16];
        aws_lc_rs::rand::SystemRandom::new().fill(&mut salt)?;
        Ok(StoredSecret {
            salt: to_hex(&salt),
            sha256: to_hex(&salted_hash(&salt, secret)),
            created: now,
            expires: None,
        })
    }

    /// Whether it is accepted at Unix second `now`.
    pub fn is_live(&self, now: u64) -> bool {
        self.expires.is_none_or(|e| now < e)
    }
}

/// One registered client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    /// The client identifier (RFC 6749 §2.2); unique in the registry.
    pub client_id: String,
    /// One, or two during a rotation (oldest first).
    pub secrets: Vec<StoredSecret>,
    /// Every scope the client may be granted.
    pub allowed_scopes: BTreeSet<String>,
    /// The scopes granted when a request names none (RFC 6749 §3.3): a subset of `allowed_scopes`;
    /// when empty, a request must name its scope.
    #[serde(default)]
    pub default_scopes: BTreeSet<String>,
    /// Token lifetime for this client; the service default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u64>,
}

/// The registry document as stored in the secret.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryDocument {
    /// Every registered client, each id once.
    pub clients: Vec<Client>,
}

/// Why a registry document cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The text is not JSON of the document's shape (an unknown field included).
    #[error("client registry is not valid JSON of the expected shape: {0}")]
    Json(#[from] serde_json::Error),
    /// A secret of the client has a salt that is not 32 or a hash that is not 64 hex digits.
    #[error("client registry: client `{0}` has a secret whose salt is not 32 or sha256 not 64 hex digits")]
    BadHash(String),
    /// The client id appears more than once.
    #[error("client registry: client `{0}` is listed twice")]
    Duplicate(String),
    /// The client has a default scope that is not among its allowed scopes.
    #[error("client registry: client `{0}` has default scopes outside its allowed scopes")]
    DefaultScopes(String),
    /// The client has no secret, or more than [`MAX_SECRETS`].
    #[error("client registry: client `{0}` has no secret, or more than {MAX_SECRETS}")]
    SecretCount(String),
}

/// A secret ready to compare: salt, hash, expiry.
#[derive(Clone, Debug)]
struct Check {
    salt: [u8; 16],
    hash: [u8; 32],
    expires: Option<u64>,
}

/// A loaded registry, ready to authenticate clients.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    clients: HashMap<String, (Client, Vec<Check>)>,
}

/// Compared against when the client id is unknown, so both paths cost the same.
const DUMMY: Check = Check { salt: [0x5A; 16], hash: [0xA5; 32], expires: None };

/// SHA-256 of salt || secret.
pub fn salted_hash(salt: &[u8], secret: &str) -> [u8; 32] {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(salt);
    ctx.update(secret.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// A new random client secret: 256 bits, hex.
pub fn random_secret() -> Result<String, aws_lc_rs::error::Unspecified> {
    use aws_lc_rs::rand::SecureRandom;
    let mut b = [0u8; 32];
    aws_lc_rs::rand::SystemRandom::new().fill(&mut b)?;
    Ok(to_hex(&b))
}

/// Lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = u8::from_str_radix(s.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

impl Registry {
    /// Parses the secret's JSON.
    pub fn from_json(text: &str) -> Result<Self, RegistryError> {
        let doc: RegistryDocument = serde_json::from_str(text)?;
        Self::from_document(doc)
    }

    /// Checks a parsed document and loads it.
    pub fn from_document(doc: RegistryDocument) -> Result<Self, RegistryError> {
        let mut clients = HashMap::new();
        for c in doc.clients {
            if c.secrets.is_empty() || c.secrets.len() > MAX_SECRETS {
                return Err(RegistryError::SecretCount(c.client_id));
            }
            let checks = c
                .secrets
                .iter()
                .map(|s| Some(Check { salt: from_hex(&s.salt)?, hash: from_hex(&s.sha256)?, expires: s.expires }))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| RegistryError::BadHash(c.client_id.clone()))?;
            if !c.default_scopes.is_subset(&c.allowed_scopes) {
                return Err(RegistryError::DefaultScopes(c.client_id));
            }
            let id = c.client_id.clone();
            if clients.insert(id.clone(), (c, checks)).is_some() {
                return Err(RegistryError::Duplicate(id));
            }
        }
        Ok(Registry { clients })
    }

    /// How many clients are registered.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Whether `client_id` is registered.
    pub fn contains(&self, client_id: &str) -> bool {
        self.clients.contains_key(client_id)
    }

    /// Whether no client is registered.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// Every scope some client may ask for (for the metadata document).
    pub fn scopes(&self) -> BTreeSet<&str> {
        self.clients.values().flat_map(|(c, _)| c.allowed_scopes.iter().map(String::as_str)).collect()
    }

    /// The client, if `secret` is one of its secrets live at Unix second `now`. An unknown id and
    /// a wrong secret take the same path; every secret of the client is compared.
    pub fn authenticate(&self, client_id: &str, secret: &str, now: u64) -> Option<&Client> {
        let dummy = [DUMMY];
        let (client, checks) = match self.clients.get(client_id) {
            Some((c, checks)) => (Some(c), checks.as_slice()),
            None => (None, &dummy[..]),
        };
        // Always MAX_SECRETS comparisons, so timing tells nothing of a rotation in progress.
        let padded = checks.iter().chain(std::iter::repeat(&DUMMY)).take(MAX_SECRETS.max(checks.len()));
        let mut matched = subtle::Choice::from(0);
        for c in padded {
            let equal = salted_hash(&c.salt, secret).ct_eq(&c.hash);
            matched |= equal & subtle::Choice::from(u8::from(c.expires.is_none_or(|e| now < e)));
        }
        if bool::from(matched) { client } else { None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn client(id: &str, secrets: Vec<StoredSecret>) -> Client {
        Client {
            client_id: id.into(),
            secrets,
            allowed_scopes: ["x".to_owned(), "y".to_owned()].into(),
            default_scopes: ["x".to_owned()].into(),
            ttl_seconds: None,
        }
    }

    fn registry(clients: Vec<Client>) -> Registry {
        let doc = RegistryDocument { clients };
        // Through JSON, as it is stored.
        Registry::from_json(&serde_json::to_string(&doc).unwrap()).unwrap()
    }

    #[test]
    fn authenticates_only_a_live_secret_of_the_client() {
        let old = StoredSecret { expires: Some(NOW + 10), ..StoredSecret::new("old", NOW - 100).unwrap() };
        let new = StoredSecret::new("new", NOW).unwrap();
        let r = registry(vec![client("a", vec![old, new]), client("b", vec![StoredSecret::new("bee", NOW).unwrap()])]);
        let cases = [
            ("a", "new", NOW, true),
            ("a", "old", NOW, true),
            ("a", "old", NOW + 9, true),
            ("a", "old", NOW + 10, false),
            ("a", "new", NOW + 10, true),
            ("a", "bee", NOW, false),
            ("b", "bee", NOW, true),
            ("b", "new", NOW, false),
            ("c", "new", NOW, false),
            ("a", "", NOW, false),
            ("a", "new ", NOW, false),
        ];
        for (id, secret, now, ok) in cases {
            assert_eq!(
                r.authenticate(id, secret, now).map(|c| c.client_id.as_str()),
                ok.then_some(id),
                "{id} {secret} {now}"
            );
        }
        assert_eq!(r.scopes().into_iter().collect::<Vec<_>>(), ["x", "y"]);
    }

    #[test]
    fn salts_differ_so_equal_secrets_hash_apart() {
        let (a, b) = (StoredSecret::new("same", NOW).unwrap(), StoredSecret::new("same", NOW).unwrap());
        assert_ne!((a.salt.as_str(), a.sha256.as_str()), (b.salt.as_str(), b.sha256.as_str()));
        assert_eq!(a.salt.len(), 32);
        assert_eq!(random_secret().unwrap().len(), 64);
    }

    #[test]
    fn bad_documents_are_refused() {
        let good = serde_json::to_string(&RegistryDocument {
            clients: vec![client("a", vec![StoredSecret::new("s", NOW).unwrap()])],
        })
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&good).unwrap();
        let salt = v["clients"][0]["secrets"][0]["salt"].as_str().unwrap().to_owned();
        let hash = v["clients"][0]["secrets"][0]["sha256"].as_str().unwrap().to_owned();
        type Case = (String, fn(&RegistryError) -> bool);
        let cases: Vec<Case> = vec![
            ("{".into(), |e| matches!(e, RegistryError::Json(_))),
            (r#"{"clients":[],"x":1}"#.into(), |e| matches!(e, RegistryError::Json(_))),
            (good.replace(&hash, "zz"), |e| matches!(e, RegistryError::BadHash(_))),
            (good.replace(&salt, &salt[..30]), |e| matches!(e, RegistryError::BadHash(_))),
            (good.replace(r#""default_scopes":["x"]"#, r#""default_scopes":["z"]"#), |e| {
                matches!(e, RegistryError::DefaultScopes(_))
            }),
            (good.replace(r#""secrets":["#, r#""secrets":[],"x":["#), |e| matches!(e, RegistryError::Json(_))),
            (r#"{"clients":[{"client_id":"a","secrets":[],"allowed_scopes":[]}]}"#.into(), |e| {
                matches!(e, RegistryError::SecretCount(_))
            }),
            (r#"{"clients":[{"client_id":"a","secret_sha256":"00","allowed_scopes":[]}]}"#.into(), |e| {
                matches!(e, RegistryError::Json(_))
            }),
        ];
        for (text, want) in cases {
            match Registry::from_json(&text) {
                Err(e) => assert!(want(&e), "{text}: {e}"),
                Ok(_) => panic!("{text} was accepted"),
            }
        }
        let mut twice: RegistryDocument = serde_json::from_str(&good).unwrap();
        twice.clients.push(twice.clients[0].clone());
        assert!(matches!(Registry::from_document(twice.clone()), Err(RegistryError::Duplicate(_))));
        let mut three = twice.clients[0].clone();
        three.secrets = vec![three.secrets[0].clone(); 3];
        assert!(matches!(
            Registry::from_document(RegistryDocument { clients: vec![three] }),
            Err(RegistryError::SecretCount(_))
        ));
    }
}
