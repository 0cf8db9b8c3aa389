//! The bootstrap stack, like `cdk bootstrap`: the bucket function artifacts are uploaded to
//! before a deploy. Encrypted, versioned, private, TLS only, old artifacts expire.

use serde_json::json;

use crate::cfn::policy::{PolicyDocument, Principal, Statement};
use crate::cfn::resources::s3;
use crate::cfn::{ModelError, Options, Template, Value};
use crate::env::Environment;

/// The output naming the bucket.
pub const OUTPUT_BUCKET: &str = "AssetsBucketName";

pub fn build(env: &Environment) -> Result<Template, ModelError> {
    let days = env.deploy.artifact_retention_days.get();
    let mut t = Template::new(format!("Token service ({}): assets bucket for function artifacts", env.name));
    let bucket = t.add_with(
        "AssetsBucket",
        s3::Bucket {
            bucket_encryption: json!({"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}),
            versioning_configuration: json!({"Status": "Enabled"}),
            public_access_block_configuration: json!({
                "BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true
            }),
            ownership_controls: json!({"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}),
            lifecycle_configuration: json!({"Rules": [{
                "Id": "expire-old-artifacts",
                "Status": "Enabled",
                "ExpirationInDays": days,
                "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}
            }]}),
        },
        Options::new().retain(true),
    )?;
    let objects = Value::sub(format!("{}/*", bucket.arn().sub()));
    t.add(
        "AssetsBucketPolicy",
        s3::BucketPolicy {
            bucket: bucket.r#ref(),
            policy_document: PolicyDocument::new(vec![
                Statement::deny(&["s3:*"], vec![bucket.arn().into(), objects])
                    .sid("DenyWithoutTls")
                    .principal(Principal::anyone())
                    .condition(json!({"Bool": {"aws:SecureTransport": "false"}})),
            ]),
        },
    )?;
    t.output(OUTPUT_BUCKET, "Bucket for function artifacts", bucket.r#ref())?;
    Ok(t)
}
