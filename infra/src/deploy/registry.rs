//! Secrets holding a JSON document that `infra` changes (the client registry, envelope mode's key
//! pairs), read and written so that concurrent writers never lose an entry.
//!
//! A write is a compare-and-swap on the `AWSCURRENT` staging label: the new document is stored
//! as a version carrying a staging label of its own writer (`infra-<random>`, so that no other
//! writer can take it away: a version without labels may be dropped), then
//! `UpdateSecretVersionStage` moves `AWSCURRENT` to it *from the version that was read*, and the
//! writer's label is removed again (a secret holds at most 20 labels). Secrets Manager refuses that move
//! when `AWSCURRENT` is no longer on the version read ("UpdateSecretVersionStage":
//! RemoveFromVersionId must name the version the label is on), so a writer that lost the race
//! reads again and re-applies its change. The replaced version keeps `AWSPREVIOUS`, which is how
//! a bad write is undone.

use std::time::Duration;

use std::marker::PhantomData;

use aws_sdk_secretsmanager::Client;
use token_function::key_pairs::KeyPairsDocument;
use token_function::registry::RegistryDocument;

use crate::clients::{self, ClientError};

/// The prefix of a writer's staging label on a version written but not yet made current.
pub const PENDING_STAGE_PREFIX: &str = "infra-";
/// How many times a write is tried when other writers keep winning. Each round one writer at
/// least wins, so n writers at once all get through within n attempts.
pub const ATTEMPTS: usize = 12;

/// Why a document secret cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The change was refused or could not be prepared; nothing was written.
    #[error(transparent)]
    Change(#[from] ClientError),
    /// The current version of `secret` is not a `what` the function accepts: `message` says why,
    /// `recovery` how to make the previous version current again.
    #[error("the secret {secret} is not a {what} the function accepts: {message}; {recovery}")]
    Malformed {
        /// The secret's ARN or name.
        secret: String,
        /// What the document should be (`client registry`, `key pair document`).
        what: &'static str,
        /// Why it is not.
        message: String,
        /// How to restore a good version.
        recovery: String,
    },
    /// The Secrets Manager `call` (`GetSecretValue`, `PutSecretValue`,
    /// `UpdateSecretVersionStage`) on `secret` failed; `message` is the error.
    #[error("{call} {secret}: {message}")]
    Aws {
        /// The Secrets Manager API action.
        call: &'static str,
        /// The secret's ARN or name.
        secret: String,
        /// The error.
        message: String,
    },
    /// Other writers won each of this many attempts; nothing was written.
    #[error("other writers changed the secret {0} times in a row; nothing of this change was written; run it again")]
    Contended(usize),
}

impl From<std::convert::Infallible> for RegistryError {
    fn from(e: std::convert::Infallible) -> Self {
        match e {}
    }
}

/// A document kept in a secret: parsed and checked as the function reads it.
pub trait Document: Clone + PartialEq + serde::Serialize + Sized {
    /// What the document is, for messages ("client registry").
    const WHAT: &'static str;
    /// Parses `text` and checks it as the function reads it; `Err` says why not.
    fn parse(text: &str) -> Result<Self, String>;
}

impl Document for RegistryDocument {
    const WHAT: &'static str = "client registry";
    fn parse(text: &str) -> Result<Self, String> {
        clients::parse(text).map_err(|e| e.to_string())
    }
}

impl Document for KeyPairsDocument {
    const WHAT: &'static str = "key pair document";
    fn parse(text: &str) -> Result<Self, String> {
        KeyPairsDocument::from_json(text).map_err(|e| e.to_string())
    }
}

/// A random wait of up to 50 ms × 2^attempt (at most 1.6 s), so writers that collided do not
/// collide again in step.
fn backoff(attempt: usize) -> Duration {
    use aws_lc_rs::rand::SecureRandom;
    let mut b = [0u8; 2];
    let _ = aws_lc_rs::rand::SystemRandom::new().fill(&mut b);
    let cap = 50u64 << attempt.min(5);
    Duration::from_millis(10 + u64::from(u16::from_le_bytes(b)) % cap)
}

/// A secret holding a `D` document, of one deployed environment.
#[derive(Clone, Debug)]
pub struct DocumentSecret<D> {
    client: Client,
    secret_id: String,
    document: PhantomData<D>,
}

/// The client registry secret.
pub type RegistrySecret = DocumentSecret<RegistryDocument>;
/// Envelope mode's key pair secret.
pub type KeyPairsSecret = DocumentSecret<KeyPairsDocument>;

/// A document with the version it was read from.
#[derive(Clone, Debug)]
pub struct Read<D> {
    /// The document.
    pub doc: D,
    /// The secret version (`VersionId`) it was read from.
    pub version: String,
}

impl<D: Document> DocumentSecret<D> {
    /// The secret `secret_id` (its name or ARN), reached through `client`.
    pub fn new(client: Client, secret_id: impl Into<String>) -> Self {
        DocumentSecret { client, secret_id: secret_id.into(), document: PhantomData }
    }

    fn aws<E, R>(&self, call: &'static str, e: &aws_sdk_secretsmanager::error::SdkError<E, R>) -> RegistryError
    where
        E: aws_sdk_secretsmanager::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        RegistryError::Aws { call, secret: self.secret_id.clone(), message: super::stack::sdk_text(e) }
    }

    /// The current document, checked as the function checks it.
    pub async fn read(&self) -> Result<Read<D>, RegistryError> {
        let mut attempt = 0;
        let out = loop {
            match self.client.get_secret_value().secret_id(&self.secret_id).send().await {
                Ok(out) => break out,
                // While another writer moves AWSCURRENT an emulator may briefly have no current
                // version; read again rather than fail.
                Err(e)
                    if attempt < ATTEMPTS
                        && e.as_service_error().is_some_and(|s| {
                            s.is_resource_not_found_exception() && s.to_string().contains("staging label")
                        }) =>
                {
                    attempt += 1;
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Err(e) => return Err(self.aws("GetSecretValue", &e)),
            }
        };
        let version = out.version_id().unwrap_or_default().to_owned();
        let problem = match out.secret_string() {
            None => Err("it has no SecretString".to_owned()),
            Some(text) => D::parse(text),
        };
        match problem {
            Ok(doc) => Ok(Read { doc, version }),
            Err(message) => Err(RegistryError::Malformed {
                secret: self.secret_id.clone(),
                what: D::WHAT,
                message,
                recovery: self.recovery(&version).await,
            }),
        }
    }

    /// How to make the previous version current again, with its id when there is one.
    async fn recovery(&self, current: &str) -> String {
        let versions = self.client.list_secret_version_ids().secret_id(&self.secret_id).send().await;
        let previous = versions.ok().and_then(|v| {
            v.versions()
                .iter()
                .find(|v| v.version_stages().iter().any(|s| s == "AWSPREVIOUS"))
                .and_then(|v| v.version_id().map(str::to_owned))
        });
        match previous {
            Some(p) => format!(
                "fix it in Secrets Manager, or make the previous version current again: aws secretsmanager update-secret-version-stage --secret-id {} --version-stage AWSCURRENT --move-to-version-id {p} --remove-from-version-id {current}",
                self.secret_id
            ),
            None => "fix it in Secrets Manager (it has no previous version to go back to)".to_owned(),
        }
    }

    /// Stores `doc` as the new current version if the current version is still `read`'s.
    /// `Ok(false)`: another writer made a newer version current first; nothing was changed.
    pub async fn write(&self, read: &Read<D>, doc: &D) -> Result<bool, RegistryError> {
        let text = serde_json::to_string(doc).map_err(|e| ClientError::Serialize(e.to_string()))?;
        let token = token_function::registry::random_secret().map_err(|_| ClientError::Random)?;
        let label = format!("{PENDING_STAGE_PREFIX}{}", &token[..16]);
        let put = self
            .client
            .put_secret_value()
            .secret_id(&self.secret_id)
            .secret_string(text)
            .client_request_token(&token)
            .version_stages(&label)
            .send()
            .await
            .map_err(|e| self.aws("PutSecretValue", &e))?;
        let new_version = put.version_id().unwrap_or_default().to_owned();
        let swapped = self
            .client
            .update_secret_version_stage()
            .secret_id(&self.secret_id)
            .version_stage("AWSCURRENT")
            .move_to_version_id(&new_version)
            .remove_from_version_id(&read.version)
            .send()
            .await;
        // The writer's own label is not needed any more, whatever happened.
        let _ = self
            .client
            .update_secret_version_stage()
            .secret_id(&self.secret_id)
            .version_stage(&label)
            .remove_from_version_id(&new_version)
            .send()
            .await;
        match swapped {
            Ok(_) => Ok(true),
            // Refused: either another writer moved AWSCURRENT, or this very move succeeded and
            // its answer was lost (the SDK's retry then finds the label gone): ask.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_invalid_parameter_exception()) => {
                let current = self.client.get_secret_value().secret_id(&self.secret_id).send().await;
                Ok(current.is_ok_and(|c| c.version_id() == Some(new_version.as_str())))
            }
            Err(e) => Err(self.aws("UpdateSecretVersionStage", &e)),
        }
    }

    /// Reads, applies `change`, and writes the result if it differs, starting again from a fresh
    /// read when another writer won. Returns what `change` returned on the attempt written.
    pub async fn update<T, E>(&self, mut change: impl FnMut(&mut D) -> Result<T, E>) -> Result<T, RegistryError>
    where
        RegistryError: From<E>,
    {
        for attempt in 0..ATTEMPTS {
            let read = self.read().await?;
            let mut doc = read.doc.clone();
            let out = change(&mut doc)?;
            if doc == read.doc || self.write(&read, &doc).await? {
                return Ok(out);
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
        Err(RegistryError::Contended(ATTEMPTS))
    }
}
/// The deployed client registry of `env`: the secret its service stack names
/// (`stacks::outputs::service::REGISTRY_SECRET`; the stack's other outputs are not read, so a
/// signing output this version cannot read does not keep clients from being managed). Errors
/// when the stack is not deployed (naming the deploy command) or lacks the output.
pub async fn deployed(aws: &super::Aws, env: &crate::env::Environment) -> anyhow::Result<RegistrySecret> {
    use anyhow::Context;
    let name = env.service_stack_name();
    let stack = super::stack::describe(&aws.cfn, &name).await?.with_context(|| {
        format!("{name} is not deployed; deploy it first: `cargo run -- deploy {}`", crate::session::target(&env.name))
    })?;
    let output = crate::stacks::outputs::service::REGISTRY_SECRET;
    let arn = super::stack::outputs(&stack)
        .remove(output)
        .with_context(|| format!("{name} has no output {output}; deploy it again"))?;
    Ok(RegistrySecret::new(aws.secrets.clone(), arn))
}

/// For `status` and `diff`: every client whose registry entry and file entry disagree, one line
/// each with the command that resolves it. A registry that cannot be read is said, not fatal.
pub async fn report(aws: &super::Aws, env: &crate::env::Environment) -> Vec<String> {
    let target = crate::session::target(&env.name);
    let read = match deployed(aws, env).await {
        Ok(store) => store.read().await.map_err(anyhow::Error::from),
        Err(e) => Err(e),
    };
    match read {
        Ok(read) => clients::status(env, &read.doc, crate::session::unix_now())
            .iter()
            .filter(|r| r.standing != clients::Standing::Registered || r.secrets > 1)
            .map(|r| format!("client {}: {}", r.client_id, clients::describe(r, &target)))
            .collect(),
        Err(e) => vec![format!("clients: cannot read the registry: {e:#}")],
    }
}
