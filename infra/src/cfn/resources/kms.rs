//! AWS Key Management Service.

use serde::Serialize;

use crate::cfn::policy::PolicyDocument;
use crate::cfn::{Value, resource};

/// `AWS::KMS::Key`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Key {
    pub description: String,
    /// A [`KeySpec`], or a parameter holding one.
    pub key_spec: Value<String>,
    pub key_usage: KeyUsage,
    /// Only symmetric encryption keys can rotate automatically.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_key_rotation: Option<bool>,
    pub pending_window_in_days: u32,
    pub key_policy: PolicyDocument,
}
resource!(Key, "AWS::KMS::Key" { arn => "Arn", key_id => "KeyId" });

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum KeySpec {
    #[serde(rename = "SYMMETRIC_DEFAULT")]
    SymmetricDefault,
    #[serde(rename = "ECC_NIST_P256")]
    EccNistP256,
    #[serde(rename = "RSA_2048")]
    Rsa2048,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum KeyUsage {
    #[serde(rename = "ENCRYPT_DECRYPT")]
    EncryptDecrypt,
    #[serde(rename = "SIGN_VERIFY")]
    SignVerify,
}

/// `AWS::KMS::Alias`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Alias {
    pub alias_name: String,
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
