//! The Lambda side: signing with KMS (ES256 with an ECC_NIST_P256 key: `Sign` returns DER,
//! converted to r||s; RS256 with an RSA_2048 key: RSASSA_PKCS1_V1_5_SHA_256, used as returned;
//! the public keys come once from `GetPublicKey`) and the client registry read from Secrets
//! Manager, cached for a while so a cold start pays for it once.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use aws_smithy_types_display::display;

use crate::jwt::{Algorithm, Jwk, SignError, Signer, der_to_jose};
use crate::registry::Registry;

mod aws_smithy_types_display {
    /// An SDK error with its whole cause chain, not just "service error".
    pub fn display(e: &(dyn std::error::Error + 'static)) -> String {
        let mut s = e.to_string();
        let mut cur = e.source();
        while let Some(c) = cur {
            s.push_str(": ");
            s.push_str(&c.to_string());
            cur = c.source();
        }
        s
    }
}

/// Signs with an asymmetric KMS key (ECC_NIST_P256 with ECDSA_SHA_256, or RSA_2048 with
/// RSASSA_PKCS1_V1_5_SHA_256, as the key is), and publishes it with the other keys of a rotation.
#[derive(Debug)]
pub struct KmsSigner {
    client: aws_sdk_kms::Client,
    key_id: String,
    jwk: Jwk,
    /// The other published keys.
    others: Vec<Jwk>,
}

/// The public half of a KMS key as a JWK (one `GetPublicKey` call).
async fn public_jwk(client: &aws_sdk_kms::Client, key_id: &str) -> Result<Jwk, SignError> {
    let out = client
        .get_public_key()
        .key_id(key_id)
        .send()
        .await
        .map_err(|e| SignError::Backend(format!("GetPublicKey {key_id}: {}", display(&e))))?;
    let der = out.public_key().ok_or(SignError::Key("GetPublicKey returned no key"))?;
    Jwk::from_spki(der.as_ref())
}

impl KmsSigner {
    /// Reads the signing key's public half once, for the JWKS and the `kid`, and those of the
    /// other `published` keys (the signing key among them is skipped).
    pub async fn new(
        client: aws_sdk_kms::Client,
        key_id: impl Into<String>,
        published: &[String],
    ) -> Result<Self, SignError> {
        let key_id = key_id.into();
        let jwk = public_jwk(&client, &key_id).await?;
        let mut others = Vec::new();
        for other in published.iter().filter(|k| **k != key_id) {
            others.push(public_jwk(&client, other).await?);
        }
        Ok(KmsSigner { client, key_id, jwk, others })
    }
}

impl Signer for KmsSigner {
    fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    fn published(&self) -> Vec<&Jwk> {
        std::iter::once(&self.jwk).chain(&self.others).collect()
    }

    async fn sign(&self, input: &[u8]) -> Result<Vec<u8>, SignError> {
        let algorithm = match self.jwk.algorithm() {
            Algorithm::ES256 => SigningAlgorithmSpec::EcdsaSha256,
            Algorithm::RS256 => SigningAlgorithmSpec::RsassaPkcs1V15Sha256,
        };
        let out = self
            .client
            .sign()
            .key_id(&self.key_id)
            .message(Blob::new(input.to_vec()))
            .message_type(MessageType::Raw)
            .signing_algorithm(algorithm)
            .send()
            .await
            .map_err(|e| SignError::Backend(format!("Sign: {}", display(&e))))?;
        let signature = out.signature().ok_or(SignError::Der)?.as_ref();
        match self.jwk.algorithm() {
            Algorithm::ES256 => der_to_jose(signature).map(|rs| rs.to_vec()),
            Algorithm::RS256 => Ok(signature.to_vec()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryFetchError {
    #[error("GetSecretValue {secret}: {message}")]
    Fetch { secret: String, message: String },
    #[error("secret {0} has no SecretString")]
    Empty(String),
    #[error("secret {secret}: {source}")]
    Parse { secret: String, source: crate::registry::RegistryError },
}

/// How long a registry that can no longer be refreshed is still served. Past this, token
/// requests fail (`server_error`) rather than honour clients or secrets removed meanwhile.
pub const MAX_STALE: Duration = Duration::from_secs(300);

/// The client registry from Secrets Manager, cached for `ttl`. A failed refresh keeps
/// serving the last good registry for at most [`MAX_STALE`] past its `ttl`, logging an error on
/// each request.
#[derive(Debug)]
pub struct SecretRegistry {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    ttl: Duration,
    max_stale: Duration,
    cached: Mutex<Option<(Instant, Arc<Registry>)>>,
}

impl SecretRegistry {
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: impl Into<String>, ttl: Duration) -> Self {
        SecretRegistry { client, secret_id: secret_id.into(), ttl, max_stale: MAX_STALE, cached: Mutex::new(None) }
    }

    /// How long past its `ttl` a registry that cannot be refreshed is still served (default
    /// [`MAX_STALE`]).
    pub fn with_max_stale(mut self, max_stale: Duration) -> Self {
        self.max_stale = max_stale;
        self
    }

    fn cached(&self) -> Option<(Instant, Arc<Registry>)> {
        self.cached.lock().ok().and_then(|g| g.clone())
    }

    /// The registry, fetched when the cache is empty or older than the TTL.
    pub async fn get(&self) -> Result<Arc<Registry>, RegistryFetchError> {
        let cached = self.cached();
        if let Some((at, r)) = &cached
            && at.elapsed() < self.ttl
        {
            return Ok(r.clone());
        }
        match self.fetch().await {
            Ok(r) => {
                let r = Arc::new(r);
                if let Ok(mut g) = self.cached.lock() {
                    *g = Some((Instant::now(), r.clone()));
                }
                Ok(r)
            }
            Err(e) => match cached {
                Some((at, stale)) if at.elapsed() < self.ttl + self.max_stale => {
                    tracing::error!(error = %e, age_seconds = at.elapsed().as_secs(), "client registry refresh failed; serving the cached one");
                    Ok(stale)
                }
                _ => Err(e),
            },
        }
    }

    async fn fetch(&self) -> Result<Registry, RegistryFetchError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| RegistryFetchError::Fetch { secret: self.secret_id.clone(), message: display(&e) })?;
        let text = out.secret_string().ok_or_else(|| RegistryFetchError::Empty(self.secret_id.clone()))?;
        Registry::from_json(text).map_err(|source| RegistryFetchError::Parse { secret: self.secret_id.clone(), source })
    }
}
