//! Amazon S3.

use serde::Serialize;

use crate::cfn::policy::PolicyDocument;
use crate::cfn::{Value, resource};

/// `AWS::S3::Bucket`. `Ref` returns the bucket name.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Bucket {
    /// `BucketEncryption`: default encryption of new objects (SSE-S3, SSE-KMS or DSSE-KMS).
    pub bucket_encryption: serde_json::Value,
    /// `VersioningConfiguration`: `Status`, `Enabled` or `Suspended`.
    pub versioning_configuration: serde_json::Value,
    /// `PublicAccessBlockConfiguration`: `BlockPublicAcls`, `BlockPublicPolicy`, `IgnorePublicAcls`
    /// and `RestrictPublicBuckets`.
    pub public_access_block_configuration: serde_json::Value,
    /// `OwnershipControls`: who owns uploaded objects; `BucketOwnerEnforced` also turns ACLs off.
    pub ownership_controls: serde_json::Value,
    /// `LifecycleConfiguration`: rules that expire or transition objects and noncurrent versions.
    pub lifecycle_configuration: serde_json::Value,
}
resource!(Bucket, "AWS::S3::Bucket" { arn => "Arn", domain_name => "DomainName" });

/// `AWS::S3::BucketPolicy`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BucketPolicy {
    /// `Bucket`: the name of the bucket the policy applies to.
    pub bucket: Value<String>,
    /// `PolicyDocument`: the bucket policy.
    pub policy_document: PolicyDocument,
}
resource!(BucketPolicy, "AWS::S3::BucketPolicy" {});
