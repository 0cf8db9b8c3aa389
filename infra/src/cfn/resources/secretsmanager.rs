//! AWS Secrets Manager.

use serde::Serialize;

use crate::cfn::{Value, resource};

/// `AWS::SecretsManager::Secret`. `Ref` returns the secret's ARN.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Secret {
    /// `Name`: up to 512 letters, digits and `/_+=.@-`.
    pub name: String,
    /// `Description`: up to 2,048 characters.
    pub description: String,
    /// `KmsKeyId`: the ARN, id or alias of the KMS key that encrypts the secret; `None` uses
    /// `aws/secretsmanager`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<Value<String>>,
    /// The initial value. CloudFormation writes it again only when this text changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_string: Option<String>,
}
resource!(Secret, "AWS::SecretsManager::Secret" { secret_id => "Id" });
