//! AWS Secrets Manager.

use serde::Serialize;

use crate::cfn::{Value, resource};

/// `AWS::SecretsManager::Secret`. `Ref` returns the secret's ARN.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Secret {
    pub name: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<Value<String>>,
    /// The initial value. CloudFormation writes it again only when this text changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_string: Option<String>,
}
resource!(Secret, "AWS::SecretsManager::Secret" { secret_id => "Id" });
