//! Amazon S3.

use serde::Serialize;

use crate::cfn::policy::PolicyDocument;
use crate::cfn::{Value, resource};

/// `AWS::S3::Bucket`. `Ref` returns the bucket name.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Bucket {
    pub bucket_encryption: serde_json::Value,
    pub versioning_configuration: serde_json::Value,
    pub public_access_block_configuration: serde_json::Value,
    pub ownership_controls: serde_json::Value,
    pub lifecycle_configuration: serde_json::Value,
}
resource!(Bucket, "AWS::S3::Bucket" { arn => "Arn", domain_name => "DomainName" });

/// `AWS::S3::BucketPolicy`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BucketPolicy {
    pub bucket: Value<String>,
    pub policy_document: PolicyDocument,
}
resource!(BucketPolicy, "AWS::S3::BucketPolicy" {});
