//! One module per AWS service; one struct per resource type, named after the service's own
//! names (`lambda::Function`, `iam::Role`). Optional properties are skipped when unset.

pub mod apigateway;
pub mod budgets;
pub mod cloudwatch;
pub mod codedeploy;
pub mod iam;
pub mod kms;
pub mod lambda;
pub mod logs;
pub mod s3;
pub mod secretsmanager;
pub mod sns;
pub mod wafv2;

use serde::Serialize;

/// A resource tag.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// `Key`: 1 to 128 characters, not starting with `aws:`.
    pub key: String,
    /// `Value`: 0 to 256 characters.
    pub value: String,
}

/// An empty JSON object, for properties such as WAF's `{"Allow": {}}`.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Empty {}
