//! Amazon CloudWatch Logs.

use serde::Serialize;

use crate::cfn::{Value, resource};

/// `AWS::Logs::LogGroup`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogGroup {
    /// `LogGroupName`: 1 to 512 letters, digits and `.-_/#`.
    pub log_group_name: String,
    /// `RetentionInDays`: days to keep log events: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365,
    /// 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653.
    pub retention_in_days: u32,
    /// `KmsKeyId`: the ARN of the KMS key that encrypts the log data; `None` leaves it to
    /// CloudWatch Logs' own encryption.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<Value<String>>,
}
resource!(LogGroup, "AWS::Logs::LogGroup" { arn => "Arn" });
