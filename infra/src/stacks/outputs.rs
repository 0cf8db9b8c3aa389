//! The stack contract: the outputs of the service and bootstrap stacks as the commands read
//! them. The builders (`stacks::service`, `stacks::bootstrap`) write each output under the name
//! defined here; the commands read these structs, never an output by its name.
//!
//! A stack deployed by an older `infra` may lack an output: each struct says what that means
//! (a default, or `None`). An output this version cannot read is an error, never a default.

use std::collections::BTreeMap;

use token_function::key_pairs::SigningMode;

use crate::keys::Stage;

/// Output names of the service stack (`Outputs` keys of its template).
pub mod service {
    /// Base URL of the token API: the issuer (`iss`) of its tokens.
    pub const API_URL: &str = "ApiUrl";
    /// The token endpoint (RFC 6749 section 3.2).
    pub const TOKEN_URL: &str = "TokenUrl";
    /// The JSON Web Key Set (RFC 7517 section 5).
    pub const JWKS_URL: &str = "JwksUrl";
    /// The issuer's metadata (RFC 8414 section 3; OpenID Connect Discovery 1.0 section 4).
    pub const OPENID_CONFIGURATION_URL: &str = "OpenIdConfigurationUrl";
    /// The token function's name.
    pub const FUNCTION_NAME: &str = "FunctionName";
    /// The client registry secret's ARN.
    pub const REGISTRY_SECRET: &str = "ClientRegistrySecretArn";
    /// The signing key stage (`crate::keys::Stage`), and when it began (Unix seconds).
    pub const KEY_STAGE: &str = "CurrentSigningKeyStage";
    /// When the signing key stage began, Unix seconds.
    pub const KEY_STAGE_SINCE: &str = "CurrentSigningKeyStageSince";
    /// How the function signs: `kms` or `envelope` (`kms` when a stack predates it).
    pub const SIGNING_MODE: &str = "SigningMode";
    /// The kms-mode keys' KMS key spec.
    pub const KEY_SPEC: &str = "KmsSigningKeySpec";
    /// The kms-mode signing key's ARN.
    pub const SIGNING_KEY: &str = "SigningKeyArn";
    /// The kms-mode keys the JWKS publishes, comma-separated ARNs.
    pub const PUBLISHED_KEYS: &str = "PublishedKeyArns";
    /// Envelope mode's key pair secret ARN.
    pub const KEY_PAIRS_SECRET: &str = "SigningKeyPairsSecretArn";
    /// The KMS key envelope mode's key pairs are encrypted under (ARN).
    pub const KEY_ENCRYPTION_KEY: &str = "SigningKeyEncryptionKeyArn";
    /// Envelope mode's signing slot (`a` or `b`).
    pub const SIGNING_SLOT: &str = "SigningSlot";
    /// Envelope mode's published slots, comma-separated.
    pub const PUBLISHED_SLOTS: &str = "PublishedSlots";
    /// The custom domain's DNS target (alias or CNAME), when there is a domain.
    pub const DOMAIN_TARGET: &str = "CustomDomainTarget";
}

/// Output names of the bootstrap stack.
pub mod bootstrap {
    /// The assets bucket's name.
    pub const BUCKET: &str = "AssetsBucketName";
    /// The role CloudFormation deploys the other stacks with (ARN).
    pub const EXECUTION_ROLE: &str = "ExecutionRoleArn";
    /// The role GitHub Actions assume to deploy (ARN).
    pub const DEPLOY_ROLE: &str = "DeployRoleArn";
    /// The role a pull request's GitHub Actions job assumes to plan, never deploy (ARN).
    pub const PLAN_ROLE: &str = "PlanRoleArn";
    /// The bootstrap version (`stacks::bootstrap::VERSION`), a decimal number.
    pub const VERSION: &str = "BootstrapVersion";
}

/// Envelope mode's key pairs as deployed: the secret and the key they are encrypted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPairsOutputs {
    /// The key pair secret's ARN.
    pub secret: String,
    /// The key encryption key's ARN.
    pub key_encryption_key: String,
}

/// The service stack's outputs (DescribeStacks `Outputs`), read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceOutputs {
    /// Every output by name, as CloudFormation returned them (for printing and the local run).
    pub all: BTreeMap<String, String>,
    /// The signing key stage; `a` for a stack from before rotation (no output).
    pub key_stage: Stage,
    /// When the stage began, Unix seconds; 0 ("since the stack was created") when absent.
    pub key_stage_since: u64,
    /// The deployed signing mode; `kms` for a stack from before modes.
    pub signing_mode: SigningMode,
    /// The kms-mode keys' spec, when the stack has the output.
    pub key_spec: Option<String>,
    /// Envelope mode's key pairs; `None` for a stack from before key pairs.
    pub key_pairs: Option<KeyPairsOutputs>,
    /// The custom domain's DNS target, when the stack has a domain.
    pub domain_target: Option<String>,
}

impl ServiceOutputs {
    /// Reads `all`. Errors (one line naming the output and its value) on a stage, time or mode
    /// this version cannot read.
    pub fn read(all: BTreeMap<String, String>) -> Result<Self, String> {
        use service as o;
        let key_stage = match all.get(o::KEY_STAGE) {
            None => Stage::A,
            Some(v) => Stage::parse(v)
                .ok_or_else(|| format!("the deployed signing key stage `{v}` is not one this infra knows"))?,
        };
        let key_stage_since = match all.get(o::KEY_STAGE_SINCE) {
            None => 0,
            Some(v) => v.parse().map_err(|_| format!("output {}: `{v}` is not Unix seconds", o::KEY_STAGE_SINCE))?,
        };
        let signing_mode = match all.get(o::SIGNING_MODE) {
            None => SigningMode::Kms,
            Some(v) => [SigningMode::Kms, SigningMode::Envelope]
                .into_iter()
                .find(|m| m.as_str() == v)
                .ok_or_else(|| format!("the deployed signing mode `{v}` is not one this infra knows"))?,
        };
        let key_pairs = match (all.get(o::KEY_PAIRS_SECRET), all.get(o::KEY_ENCRYPTION_KEY)) {
            (Some(secret), Some(kek)) => {
                Some(KeyPairsOutputs { secret: secret.clone(), key_encryption_key: kek.clone() })
            }
            _ => None,
        };
        Ok(ServiceOutputs {
            key_stage,
            key_stage_since,
            signing_mode,
            key_spec: all.get(o::KEY_SPEC).cloned(),
            key_pairs,
            domain_target: all.get(o::DOMAIN_TARGET).cloned(),
            all,
        })
    }

    /// An output by name, for printing (`keys status`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.all.get(name).map(String::as_str)
    }
}

/// The bootstrap stack's outputs, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapOutputs {
    /// The assets bucket's name.
    pub bucket: Option<String>,
    /// The execution role's ARN (a stack from before it has none).
    pub execution_role: Option<String>,
    /// The bootstrap version: 1 for a stack from before the output; `None` when unreadable.
    pub version: Option<u32>,
    /// The version output as written, for messages.
    pub version_text: String,
}

impl BootstrapOutputs {
    /// Reads `all` (never fails: what is missing is `None`, see the fields).
    pub fn read(all: &BTreeMap<String, String>) -> Self {
        use bootstrap as o;
        let (version, version_text) = match all.get(o::VERSION) {
            None => (Some(1), "1 (no BootstrapVersion output)".to_owned()),
            Some(v) => (v.parse().ok(), v.clone()),
        };
        BootstrapOutputs {
            bucket: all.get(o::BUCKET).cloned(),
            execution_role: all.get(o::EXECUTION_ROLE).cloned(),
            version,
            version_text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    /// A stack from before rotation, modes and key pairs reads as stage `a` since creation in
    /// kms mode without key pairs; what this version cannot read is an error naming it.
    #[test]
    fn older_stacks_read_with_their_defaults_and_unknown_values_are_refused() {
        let old = ServiceOutputs::read(map(&[])).unwrap();
        assert_eq!(
            (old.key_stage, old.key_stage_since, old.signing_mode, old.key_pairs.is_some()),
            (Stage::A, 0, SigningMode::Kms, false)
        );
        let now = ServiceOutputs::read(map(&[
            (service::KEY_STAGE, "b"),
            (service::KEY_STAGE_SINCE, "1700000000"),
            (service::SIGNING_MODE, "envelope"),
            (service::KEY_PAIRS_SECRET, "arn:s"),
            (service::KEY_ENCRYPTION_KEY, "arn:k"),
        ]))
        .unwrap();
        assert_eq!(
            (now.key_stage, now.key_stage_since, now.signing_mode),
            (Stage::B, 1_700_000_000, SigningMode::Envelope)
        );
        assert_eq!(now.key_pairs.unwrap().key_encryption_key, "arn:k");
        let refused = [
            (service::KEY_STAGE, "z", "signing key stage `z`"),
            (service::KEY_STAGE_SINCE, "soon", "`soon` is not Unix seconds"),
            (service::SIGNING_MODE, "hsm", "signing mode `hsm`"),
        ];
        for (key, value, said) in refused {
            let e = ServiceOutputs::read(map(&[(key, value)])).unwrap_err();
            assert!(e.contains(said), "{key}={value}: {e}");
        }
    }

    /// The bootstrap version is 1 without the output, and unreadable text is no version.
    #[test]
    fn bootstrap_versions() {
        assert_eq!(BootstrapOutputs::read(&map(&[])).version, Some(1));
        assert_eq!(BootstrapOutputs::read(&map(&[(bootstrap::VERSION, "3")])).version, Some(3));
        assert_eq!(BootstrapOutputs::read(&map(&[(bootstrap::VERSION, "x")])).version, None);
    }
}
