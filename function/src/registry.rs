//! The client registry: who may ask for tokens, with which scopes. On Lambda it is the JSON
//! held in the Secrets Manager secret; locally it is built from the environment file. Only a
//! SHA-256 hash of each client secret is held, and it is compared in constant time.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// One registered client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    pub client_id: String,
    /// Lowercase hex SHA-256 of the client secret.
    pub secret_sha256: String,
    pub allowed_scopes: BTreeSet<String>,
    #[serde(default)]
    pub default_scopes: BTreeSet<String>,
    /// Token lifetime for this client; the service default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u64>,
}

/// The registry document as stored in the secret.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryDocument {
    pub clients: Vec<Client>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("client registry is not valid JSON of the expected shape: {0}")]
    Json(#[from] serde_json::Error),
    #[error("client registry: client `{0}` has a secret_sha256 that is not 64 hex digits")]
    BadHash(String),
    #[error("client registry: client `{0}` is listed twice")]
    Duplicate(String),
    #[error("client registry: client `{0}` has default scopes outside its allowed scopes")]
    DefaultScopes(String),
}

/// A loaded registry, ready to authenticate clients.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    clients: HashMap<String, (Client, [u8; 32])>,
}

/// A hash no secret has, compared against when the client id is unknown so both paths cost
/// the same.
const DUMMY_HASH: [u8; 32] = [0xA5; 32];

/// SHA-256 of a client secret.
pub fn hash_secret(secret: &str) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// A new random client secret: 192 bits, hex.
pub fn random_secret() -> Result<String, aws_lc_rs::error::Unspecified> {
    use aws_lc_rs::rand::SecureRandom;
    let mut b = [0u8; 24];
    aws_lc_rs::rand::SystemRandom::new().fill(&mut b)?;
    Ok(to_hex(&b))
}

/// Lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
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

    pub fn from_document(doc: RegistryDocument) -> Result<Self, RegistryError> {
        let mut clients = HashMap::new();
        for c in doc.clients {
            let hash = from_hex(&c.secret_sha256).ok_or_else(|| RegistryError::BadHash(c.client_id.clone()))?;
            if !c.default_scopes.is_subset(&c.allowed_scopes) {
                return Err(RegistryError::DefaultScopes(c.client_id));
            }
            let id = c.client_id.clone();
            if clients.insert(id.clone(), (c, hash)).is_some() {
                return Err(RegistryError::Duplicate(id));
            }
        }
        Ok(Registry { clients })
    }

    pub fn len(&self) -> usize {
        self.clients.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// Every scope some client may ask for (for the metadata document).
    pub fn scopes(&self) -> BTreeSet<&str> {
        self.clients.values().flat_map(|(c, _)| c.allowed_scopes.iter().map(String::as_str)).collect()
    }

    /// The client, if `secret` is its secret. An unknown id and a wrong secret take the same
    /// path and the same time.
    pub fn authenticate(&self, client_id: &str, secret: &str) -> Option<&Client> {
        let presented = hash_secret(secret);
        let (client, expected) = match self.clients.get(client_id) {
            Some((c, h)) => (Some(c), h),
            None => (None, &DUMMY_HASH),
        };
        let equal: bool = presented.ct_eq(expected).into();
        if equal { client } else { None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> String {
        format!(
            r#"{{"clients":[{{"client_id":"a","secret_sha256":"{}","allowed_scopes":["x","y"],"default_scopes":["x"]}}]}}"#,
            to_hex(&hash_secret("s3cret"))
        )
    }

    #[test]
    fn authenticates_only_the_right_secret() {
        let r = Registry::from_json(&doc()).unwrap();
        assert_eq!(r.authenticate("a", "s3cret").map(|c| c.client_id.as_str()), Some("a"));
        assert!(r.authenticate("a", "wrong").is_none());
        assert!(r.authenticate("b", "s3cret").is_none());
        assert_eq!(r.scopes().into_iter().collect::<Vec<_>>(), ["x", "y"]);
    }

    #[test]
    fn bad_documents_are_refused() {
        assert!(matches!(Registry::from_json("{"), Err(RegistryError::Json(_))));
        assert!(matches!(Registry::from_json(r#"{"clients":[],"x":1}"#), Err(RegistryError::Json(_))));
        let bad_hash = r#"{"clients":[{"client_id":"a","secret_sha256":"zz","allowed_scopes":["x"]}]}"#;
        assert!(matches!(Registry::from_json(bad_hash), Err(RegistryError::BadHash(_))));
        let mut twice: RegistryDocument = serde_json::from_str(&doc()).unwrap();
        twice.clients.push(twice.clients[0].clone());
        assert!(matches!(Registry::from_document(twice), Err(RegistryError::Duplicate(_))));
        let defaults = doc().replace(r#""default_scopes":["x"]"#, r#""default_scopes":["z"]"#);
        assert!(matches!(Registry::from_json(&defaults), Err(RegistryError::DefaultScopes(_))));
    }
}
