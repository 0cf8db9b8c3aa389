//! The Lambda side: signing with KMS, per token or (envelope mode) once per cold start (ES256 with an ECC_NIST_P256 key: `Sign` returns DER,
//! converted to r||s; RS256 with an RSA_2048 key: RSASSA_PKCS1_V1_5_SHA_256, used as returned;
//! the public keys come once from `GetPublicKey`) and the client registry read from Secrets
//! Manager, cached for a while so a cold start pays for it once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use aws_smithy_types_display::display;

use crate::jwt::{Algorithm, Jwk, LocalSigner, SignError, Signer, der_to_jose};
use crate::key_pairs::{KeyPairsDocument, Slot, StoredKeyPair, encryption_context};
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
    /// The other published keys that could be read.
    others: Mutex<Vec<Jwk>>,
    /// Published keys that could not be read yet, and when that was last tried.
    missing: Missing<String>,
}

/// How often a published key that could not be read is tried again.
pub const PUBLISHED_RETRY: Duration = Duration::from_secs(10);

/// Published keys not read yet, and when that was last tried: what both signers retry.
type Missing<T> = Mutex<(Vec<T>, Instant)>;

/// The missing keys to try now: all of them, at most once every [`PUBLISHED_RETRY`] (the try is
/// counted from here), or none.
fn due<T: Clone>(missing: &Missing<T>) -> Option<Vec<T>> {
    match missing.lock() {
        Ok(mut m) if !m.0.is_empty() && m.1.elapsed() >= PUBLISHED_RETRY => {
            m.1 = Instant::now();
            Some(m.0.clone())
        }
        _ => None,
    }
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
    /// Reads the signing key's public half once, for the JWKS and the `kid` (failing if it
    /// cannot), and those of the other `published` keys (the signing key among them is skipped).
    /// A published key that cannot be read yet (a key or alias CloudFormation is still creating,
    /// or an alias KMS does not honour yet) is left out of the JWKS and tried again by
    /// [`KmsSigner::retry_missing`]: it never stops the function from starting.
    pub async fn new(
        client: aws_sdk_kms::Client,
        key_id: impl Into<String>,
        published: &[String],
    ) -> Result<Self, SignError> {
        let key_id = key_id.into();
        let jwk = public_jwk(&client, &key_id).await?;
        let mut others = Vec::new();
        let mut missing = Vec::new();
        for other in published.iter().filter(|k| **k != key_id) {
            if missing.contains(other) {
                continue;
            }
            match public_jwk(&client, other).await {
                Ok(j) if j != jwk && !others.contains(&j) => others.push(j),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, key = %other, "a published key cannot be read yet; it is left out of the JWKS for now");
                    missing.push(other.clone());
                }
            }
        }
        Ok(KmsSigner {
            client,
            key_id,
            jwk,
            others: Mutex::new(others),
            missing: Mutex::new((missing, Instant::now())),
        })
    }

    /// Tries again, at most every [`PUBLISHED_RETRY`], the published keys that could not be read.
    pub async fn retry_missing(&self) {
        let Some(due) = due(&self.missing) else { return };
        for key in due {
            match public_jwk(&self.client, &key).await {
                Ok(j) => {
                    if let Ok(mut others) = self.others.lock()
                        && !others.contains(&j)
                    {
                        others.push(j);
                    }
                    if let Ok(mut m) = self.missing.lock() {
                        m.0.retain(|k| *k != key);
                    }
                }
                Err(e) => tracing::warn!(error = %e, key = %key, "a published key still cannot be read"),
            }
        }
    }
}

impl Signer for KmsSigner {
    fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    fn published(&self) -> Vec<Jwk> {
        let others = self.others.lock().map(|o| o.clone()).unwrap_or_default();
        std::iter::once(self.jwk.clone()).chain(others).collect()
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

/// Envelope signing (`crate::key_pairs`): the signing slot's data key pair, decrypted with one
/// KMS `Decrypt` call per cold start, signs in process; the JWKS publishes the public keys of
/// every published slot, read from the key pair document.
#[derive(Debug)]
pub struct EnvelopeSigner {
    secrets: aws_sdk_secretsmanager::Client,
    secret_id: String,
    key: LocalSigner,
    /// The published slots' public keys, the signing key's first.
    published: Mutex<Vec<Jwk>>,
    /// Published slots without a key pair yet (`infra` writes it), and when that was last tried.
    missing: Missing<Slot>,
}

/// The slots of the key pair document, each with its pair or why it cannot be used.
type UsablePairs = BTreeMap<Slot, Result<StoredKeyPair, String>>;

/// The key pair document, read once.
async fn key_pairs(client: &aws_sdk_secretsmanager::Client, secret_id: &str) -> Result<UsablePairs, SignError> {
    let out = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| SignError::Backend(format!("GetSecretValue {secret_id}: {}", display(&e))))?;
    let text = out.secret_string().ok_or(SignError::Key("the key pair secret has no SecretString"))?;
    KeyPairsDocument::usable(text).map_err(|e| SignError::Backend(format!("{secret_id}: {e}")))
}

/// A slot's private key (DER PKCS #8), decrypted under its encryption context; wiped from memory
/// when dropped (the signer keeps its own parsed copy).
async fn decrypt(
    client: &aws_sdk_kms::Client,
    ciphertext: Vec<u8>,
    service: &str,
    slot: Slot,
) -> Result<zeroize::Zeroizing<Vec<u8>>, SignError> {
    let mut call = client.decrypt().ciphertext_blob(Blob::new(ciphertext));
    for (k, v) in encryption_context(service, slot) {
        call = call.encryption_context(k, v);
    }
    let out = call
        .send()
        .await
        .map_err(|e| SignError::Backend(format!("Decrypt slot {}: {}", slot.as_str(), display(&e))))?;
    let plaintext = out.plaintext().ok_or(SignError::Key("Decrypt returned no plaintext"))?;
    Ok(zeroize::Zeroizing::new(plaintext.as_ref().to_vec()))
}

impl EnvelopeSigner {
    /// Reads the key pair document from `secret_id`, decrypts `signing`'s private key under its
    /// encryption context for `service` (failing if the slot has no key pair or it does not
    /// decrypt), and publishes the other `published` slots' public keys. A published slot
    /// without a key pair yet is left out and tried again by [`EnvelopeSigner::retry_missing`].
    pub async fn new(
        kms: &aws_sdk_kms::Client,
        secrets: aws_sdk_secretsmanager::Client,
        secret_id: impl Into<String>,
        service: &str,
        signing: Slot,
        published: &[Slot],
    ) -> Result<Self, SignError> {
        let secret_id = secret_id.into();
        let doc = key_pairs(&secrets, &secret_id).await?;
        let pair = match doc.get(&signing) {
            Some(Ok(pair)) => pair,
            Some(Err(e)) => return Err(SignError::Backend(format!("{secret_id}: {e}"))),
            None => {
                return Err(SignError::Backend(format!(
                    "slot {} has no key pair in {secret_id}: `infra deploy` generates it",
                    signing.as_str()
                )));
            }
        };
        let bad = |e: crate::key_pairs::KeyPairError| SignError::Backend(format!("{secret_id}: {e}"));
        let pkcs8 = decrypt(kms, pair.ciphertext(signing).map_err(bad)?, service, signing).await?;
        let key = pair.signer(signing, &pkcs8).map_err(bad)?;
        let signer = EnvelopeSigner {
            secrets,
            secret_id,
            published: Mutex::new(vec![key.jwk().clone()]),
            key,
            missing: Mutex::new((published.iter().copied().filter(|s| *s != signing).collect(), Instant::now())),
        };
        signer.publish(&doc);
        Ok(signer)
    }

    /// Adds the missing slots that `doc` has a usable key pair for.
    fn publish(&self, doc: &UsablePairs) {
        let (Ok(mut missing), Ok(mut published)) = (self.missing.lock(), self.published.lock()) else { return };
        let jwk =
            |slot: Slot| doc.get(&slot).map(|p| p.clone().and_then(|p| p.public_jwk(slot).map_err(|e| e.to_string())));
        missing.0.retain(|slot| match jwk(*slot) {
            Some(Ok(jwk)) => {
                if !published.contains(&jwk) {
                    published.push(jwk);
                }
                false
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "a published key pair cannot be read; it is left out of the JWKS");
                true
            }
            None => {
                tracing::warn!(
                    slot = slot.as_str(),
                    "a published slot has no key pair yet; it is left out of the JWKS for now"
                );
                true
            }
        });
    }

    /// Reads the document again, at most every [`PUBLISHED_RETRY`], while a published slot has
    /// no key pair.
    pub async fn retry_missing(&self) {
        if due(&self.missing).is_none() {
            return;
        }
        match key_pairs(&self.secrets, &self.secret_id).await {
            Ok(doc) => self.publish(&doc),
            Err(e) => tracing::warn!(error = %e, "the key pair document cannot be read"),
        }
    }
}

impl Signer for EnvelopeSigner {
    fn jwk(&self) -> &Jwk {
        self.key.jwk()
    }

    fn published(&self) -> Vec<Jwk> {
        self.published.lock().map(|p| p.clone()).unwrap_or_else(|_| vec![self.key.jwk().clone()])
    }

    async fn sign(&self, input: &[u8]) -> Result<Vec<u8>, SignError> {
        self.key.sign(input).await
    }
}

/// The deployed function's signer: one KMS `Sign` per token (`kms` mode), or an in-process key
/// decrypted once per cold start (`envelope` mode).
#[derive(Debug)]
pub enum DeployedSigner {
    /// `kms` mode: each token is one KMS `Sign` call.
    Kms(KmsSigner),
    /// `envelope` mode: the key pair decrypted at cold start signs in process.
    Envelope(EnvelopeSigner),
}

impl DeployedSigner {
    /// Tries again to read published keys that could not be read yet.
    pub async fn retry_missing(&self) {
        match self {
            DeployedSigner::Kms(s) => s.retry_missing().await,
            DeployedSigner::Envelope(s) => s.retry_missing().await,
        }
    }
}

impl Signer for DeployedSigner {
    fn jwk(&self) -> &Jwk {
        match self {
            DeployedSigner::Kms(s) => s.jwk(),
            DeployedSigner::Envelope(s) => s.jwk(),
        }
    }

    fn published(&self) -> Vec<Jwk> {
        match self {
            DeployedSigner::Kms(s) => s.published(),
            DeployedSigner::Envelope(s) => s.published(),
        }
    }

    async fn sign(&self, input: &[u8]) -> Result<Vec<u8>, SignError> {
        match self {
            DeployedSigner::Kms(s) => s.sign(input).await,
            DeployedSigner::Envelope(s) => s.sign(input).await,
        }
    }
}

/// Why the client registry could not be read from Secrets Manager.
#[derive(Clone, Debug, thiserror::Error)]
pub enum RegistryFetchError {
    /// `GetSecretValue` failed.
    #[error("GetSecretValue {secret}: {message}")]
    Fetch {
        /// The secret's ARN.
        secret: String,
        /// The error.
        message: String,
    },
    /// The secret's current version has no `SecretString` (the secret's ARN).
    #[error("secret {0} has no SecretString")]
    Empty(String),
    /// The `SecretString` is not a registry document.
    #[error("secret {secret}: {message}")]
    Parse {
        /// The secret's ARN.
        secret: String,
        /// Why it is not.
        message: String,
    },
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
    /// The last failed fetch, for [`FAILED_FETCH_PAUSE`].
    failed: Mutex<Option<(Instant, RegistryFetchError)>>,
}

/// How long after a failed registry fetch the next one is made.
pub const FAILED_FETCH_PAUSE: Duration = Duration::from_secs(5);

impl SecretRegistry {
    /// The registry in secret `secret_id` (ARN or name), read through `client` and cached for
    /// `ttl`.
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: impl Into<String>, ttl: Duration) -> Self {
        SecretRegistry {
            client,
            secret_id: secret_id.into(),
            ttl,
            max_stale: MAX_STALE,
            cached: Mutex::new(None),
            failed: Mutex::new(None),
        }
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

    /// The registry, fetched when the cache is empty or older than the TTL. After a failed
    /// fetch the next one waits [`FAILED_FETCH_PAUSE`], so an outage costs requests no waiting.
    pub async fn get(&self) -> Result<Arc<Registry>, RegistryFetchError> {
        let cached = self.cached();
        if let Some((at, r)) = &cached
            && at.elapsed() < self.ttl
        {
            return Ok(r.clone());
        }
        let paused =
            self.failed.lock().ok().and_then(|f| f.clone()).filter(|(at, _)| at.elapsed() < FAILED_FETCH_PAUSE);
        let fetched = match paused {
            Some((_, e)) => Err(e),
            None => {
                let fetched = self.fetch().await;
                if let (Err(e), Ok(mut f)) = (&fetched, self.failed.lock()) {
                    *f = Some((Instant::now(), e.clone()));
                }
                fetched
            }
        };
        match fetched {
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
        Registry::from_json(text)
            .map_err(|e| RegistryFetchError::Parse { secret: self.secret_id.clone(), message: e.to_string() })
    }
}
