//! AWS Key Management Service.

use serde::Serialize;

use crate::cfn::policy::PolicyDocument;
use crate::cfn::{Value, resource};

/// `AWS::KMS::Key`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Key {
    /// `Description`: up to 8,192 characters.
    pub description: String,
    /// A [`KeySpec`], or a parameter holding one.
    pub key_spec: Value<String>,
    /// `KeyUsage`: what the key is for; it cannot change once the key exists.
    pub key_usage: KeyUsage,
    /// Only symmetric encryption keys can rotate automatically.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_key_rotation: Option<bool>,
    /// `PendingWindowInDays`: days, 7 to 30, that KMS waits before deleting the key once
    /// CloudFormation schedules its deletion.
    pub pending_window_in_days: u32,
    /// `KeyPolicy`: who may use and administer the key.
    pub key_policy: PolicyDocument,
}
resource!(Key, "AWS::KMS::Key" { arn => "Arn", key_id => "KeyId" });

/// `KeySpec`: the type of key material; it cannot change once the key exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum KeySpec {
    /// `SYMMETRIC_DEFAULT`: a 256-bit AES-GCM symmetric key.
    #[serde(rename = "SYMMETRIC_DEFAULT")]
    SymmetricDefault,
    /// `ECC_NIST_P256`: an elliptic-curve key pair on NIST P-256 (secp256r1).
    #[serde(rename = "ECC_NIST_P256")]
    EccNistP256,
    /// `RSA_2048`: a 2,048-bit RSA key pair.
    #[serde(rename = "RSA_2048")]
    Rsa2048,
}

/// `KeyUsage`: the cryptographic operations a key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum KeyUsage {
    /// `ENCRYPT_DECRYPT`: encrypting and decrypting (the default).
    #[serde(rename = "ENCRYPT_DECRYPT")]
    EncryptDecrypt,
    /// `SIGN_VERIFY`: signing and verifying signatures; asymmetric keys only.
    #[serde(rename = "SIGN_VERIFY")]
    SignVerify,
}

/// `AWS::KMS::Alias`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Alias {
    /// `AliasName`: `alias/` then a name of letters, digits, `/`, `_` and `-`; `alias/aws/` is
    /// reserved for AWS managed keys.
    pub alias_name: String,
    /// `TargetKeyId`: the id or ARN of the key the alias points to.
    pub target_key_id: Value<String>,
}
resource!(Alias, "AWS::KMS::Alias" {});

impl KeySpec {
    /// Every key spec, by its CloudFormation name.
    pub const ALL: [KeySpec; 3] = [KeySpec::SymmetricDefault, KeySpec::EccNistP256, KeySpec::Rsa2048];

    /// The name CloudFormation and KMS use.
    pub fn as_str(self) -> &'static str {
        match self {
            KeySpec::SymmetricDefault => "SYMMETRIC_DEFAULT",
            KeySpec::EccNistP256 => "ECC_NIST_P256",
            KeySpec::Rsa2048 => "RSA_2048",
        }
    }
}

impl From<KeySpec> for Value<String> {
    fn from(k: KeySpec) -> Self {
        Value::Lit(k.as_str().to_owned())
    }
}
