//! Amazon CloudWatch Logs.

use serde::Serialize;

use crate::cfn::{Value, resource};

/// `AWS::Logs::LogGroup`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogGroup {
    pub log_group_name: String,
    pub retention_in_days: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<Value<String>>,
}
resource!(LogGroup, "AWS::Logs::LogGroup" { arn => "Arn" });
