//! Deploying to AWS with the AWS SDK for Rust. The only module that talks to AWS. Credentials,
//! profile and `AWS_ENDPOINT_URL` come from the standard AWS environment, so the same binary
//! targets AWS or a local emulator; the region is the environment file's.

pub mod alarms;
pub mod change_set;
pub mod events;
pub mod guards;
pub mod hotswap;
pub mod interrupt;
pub mod key_pairs;
pub mod logs;
pub mod package;
pub mod pipeline;
pub mod quotas;
pub mod registry;
pub mod saved_plan;
pub mod served;
pub mod smoke;
pub mod stack;
pub mod status;

use aws_config::BehaviorVersion;
use aws_sdk_cloudformation::config::Region;
use aws_sdk_sts::error::SdkError;

/// Why a deploy step failed; each message says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// Stack `stack` is `status`, which takes no change now (an operation running, a failed create
    /// or update); `next` says what to do.
    #[error("stack `{stack}` is {} and cannot be changed now: {next}", status.as_str())]
    Blocked {
        /// The stack's name.
        stack: String,
        /// Its CloudFormation stack status.
        status: crate::deploy::status::StackStatus,
        /// What to do, with the command.
        next: String,
    },
    /// CloudFormation could not compute the change set of `stack`; `reason` is its status reason.
    #[error("the change set for `{stack}` failed: {reason}")]
    ChangeSet {
        /// The stack's name.
        stack: String,
        /// The change set's status reason.
        reason: String,
    },
    /// No AWS credentials were found, or they expired.
    #[error(
        "AWS credentials are missing or expired ({0}); sign in again, e.g. `aws sso login --profile <profile>`, and retry"
    )]
    Credentials(String),
    /// AWS throttled a call (`Throttling`, `Rate exceeded`).
    #[error("AWS is throttling requests ({0}); wait a minute and retry")]
    Throttled(String),
    /// Any other AWS failure: what failed and the error, on one line.
    #[error("{0}")]
    Aws(String),
    /// Ctrl-C before the change set of this stack was executed; the change set was deleted.
    #[error("interrupted before `{0}` changed: its change set was deleted")]
    Interrupted(String),
    /// Ctrl-C while watching `stack`, whose operation goes on; `env` is the environment the resume
    /// command names.
    #[error(
        "stopped watching `{stack}`; its operation goes on in CloudFormation. Resume watching with `cargo run -- status {env} --watch`"
    )]
    Watching {
        /// The stack's name.
        stack: String,
        /// The environment, as the resume command names it.
        env: String,
    },
    /// Watching `stack` failed several reads in a row (`cause` is the last); its operation goes
    /// on, as after Ctrl-C.
    #[error(
        "lost sight of `{stack}` ({cause}); its operation goes on in CloudFormation. Resume watching with `cargo run -- status {env} --watch`"
    )]
    WatchLost {
        /// The stack's name.
        stack: String,
        /// The environment, as the resume command names it.
        env: String,
        /// The last read's error.
        cause: String,
    },
    /// The credentials are for account `actual`, not `expected`, the `account_id` of environment
    /// `env`.
    #[error(
        "the credentials are for account {actual} but this environment is account {expected} (environments/{env}.yaml account_id); use that account's profile"
    )]
    WrongAccount {
        /// The environment's name.
        env: String,
        /// Its `account_id`.
        expected: String,
        /// The account of the credentials (STS `GetCallerIdentity`).
        actual: String,
    },
    /// The function artifact could not be built or read.
    #[error(transparent)]
    Package(#[from] package::PackageError),
    /// The smoke check failed after a deploy that completed: (what failed, the environment as
    /// next steps name it, the function's log group).
    #[error(
        "{0}; the stack is deployed and serves the new version: read the function's logs ({2}), then fix and deploy again, or deploy the previous version; `cargo run -- status {1}` shows the stack, `--no-smoke-check` skips this check"
    )]
    Smoke(String, String, String),
}

/// Time limits of every AWS call: 5 s to connect, 30 s for one attempt, 90 s for a call with its
/// retries (the SDK retries throttling and transient errors three times by default).
/// `INFRA_AWS_TIMEOUT_MS` replaces the last two (for slow links, and tests).
pub fn timeouts() -> aws_config::timeout::TimeoutConfig {
    let ms = |default: u64| {
        let v = std::env::var("INFRA_AWS_TIMEOUT_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
        std::time::Duration::from_millis(v)
    };
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .operation_attempt_timeout(ms(30_000))
        .operation_timeout(ms(90_000))
        .build()
}

/// The account check's own limit (`Aws::check_account`): the first call of every command, and
/// one STS answers in milliseconds, so an endpoint that never answers is named within 15 s
/// rather than the 90 s of [`timeouts`] (which `INFRA_AWS_TIMEOUT_MS` lowers further).
pub const ACCOUNT_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// Whether `endpoint` is an emulator on this machine: its host is `localhost` (or a name under
/// it, or LocalStack's `localhost.localstack.cloud`, which resolves to 127.0.0.1) or a loopback
/// address. Such a target skips the account check and smoke-checks the function locally.
pub fn is_emulator(endpoint: &str) -> bool {
    let Ok(url) = url::Url::parse(endpoint) else { return false };
    match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.to_ascii_lowercase();
            d == "localhost"
                || d.ends_with(".localhost")
                || d == "localhost.localstack.cloud"
                || d.ends_with(".localhost.localstack.cloud")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The AWS clients one command needs.
#[derive(Clone, Debug)]
pub struct Aws {
    /// Where the calls go, as errors name it: `AWS_ENDPOINT_URL`, or AWS in the region.
    pub endpoint: String,
    /// Whether the endpoint is a local emulator (see [`is_emulator`]).
    pub emulator: bool,
    /// The configuration the clients were made from.
    pub config: aws_config::SdkConfig,
    /// CloudFormation: stacks, change sets, events, drift.
    pub cfn: aws_sdk_cloudformation::Client,
    /// S3, path-style: the assets bucket the artifact is uploaded to.
    pub s3: aws_sdk_s3::Client,
    /// STS: `GetCallerIdentity` for the account check.
    pub sts: aws_sdk_sts::Client,
    /// Secrets Manager: the client registry and key pair secrets.
    pub secrets: aws_sdk_secretsmanager::Client,
    /// KMS: envelope mode's key pairs.
    pub kms: aws_sdk_kms::Client,
    /// CloudWatch Logs: `infra logs`.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// CloudWatch: the alarms `infra alarms` lists and drills.
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// SNS: the alert topics' subscriptions, and the drill's own.
    pub sns: aws_sdk_sns::Client,
    /// SQS: the drill's temporary queue.
    pub sqs: aws_sdk_sqs::Client,
    /// Reads what the deployed function (and the version its alias serves) runs with.
    pub lambda: aws_sdk_lambda::Client,
    /// The ARN partition of the caller (`aws`, `aws-cn`, `aws-us-gov`), as
    /// [`Aws::check_account`] read it from the caller's ARN; `aws` until then.
    pub partition: String,
}

impl Aws {
    /// Clients for `region`, from the standard AWS configuration chain, with every call bounded
    /// by [`timeouts`]: an endpoint that accepts connections but never answers fails in seconds.
    pub async fn connect(region: &str) -> Self {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .timeout_config(timeouts())
            .load()
            .await;
        Self::from_config(&config)
    }

    /// Clients from a loaded configuration, as it is; the partition is `aws` until
    /// [`Aws::check_account`] reads it.
    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        // Path-style addressing keeps custom endpoints (emulators) working.
        let s3 = aws_sdk_s3::config::Builder::from(config).force_path_style(true).build();
        let endpoint = match (config.endpoint_url(), config.region()) {
            (Some(url), _) => url.to_owned(),
            (None, Some(region)) => format!("AWS ({region})"),
            (None, None) => "AWS".to_owned(),
        };
        Aws {
            endpoint,
            emulator: config.endpoint_url().is_some_and(is_emulator),
            config: config.clone(),
            cfn: aws_sdk_cloudformation::Client::new(config),
            s3: aws_sdk_s3::Client::from_conf(s3),
            sts: aws_sdk_sts::Client::new(config),
            secrets: aws_sdk_secretsmanager::Client::new(config),
            kms: aws_sdk_kms::Client::new(config),
            logs: aws_sdk_cloudwatchlogs::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            sns: aws_sdk_sns::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            lambda: aws_sdk_lambda::Client::new(config),
            partition: "aws".to_owned(),
        }
    }

    /// Refuses credentials of another account than the environment's; returns the caller's
    /// ARN partition (the second field of `arn:<partition>:…`, IAM User Guide "IAM ARNs"), for
    /// ARNs built here rather than in a template (`${AWS::Partition}` there).
    pub async fn check_account(&self, env: &str, expected: &str) -> Result<String, DeployError> {
        let configured = timeouts();
        let limit = configured.operation_timeout().unwrap_or(ACCOUNT_CHECK_TIMEOUT).min(ACCOUNT_CHECK_TIMEOUT);
        let limits = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(configured.connect_timeout().unwrap_or(limit))
            .operation_attempt_timeout(configured.operation_attempt_timeout().unwrap_or(limit).min(limit))
            .operation_timeout(limit)
            .build();
        let me = self
            .sts
            .get_caller_identity()
            .customize()
            .config_override(aws_sdk_sts::config::Builder::default().timeout_config(limits.clone()))
            .send()
            .await
            .map_err(|e| {
            let text = stack::sdk_text(&e);
            match &e {
                SdkError::DispatchFailure(_) if text.contains("credential") => DeployError::Credentials(
                    "no credentials found in the environment, profile, SSO cache or instance".into(),
                ),
                SdkError::TimeoutError(_) => DeployError::Aws(format!(
                    "GetCallerIdentity: no answer from {} within {} ms (INFRA_AWS_TIMEOUT_MS sets the limit)",
                    self.endpoint,
                    limits.operation_timeout().unwrap_or_default().as_millis()
                )),
                _ if text.contains("ExpiredToken") || text.contains("expired") => DeployError::Credentials(text),
                SdkError::DispatchFailure(_) => DeployError::Aws(format!(
                    "GetCallerIdentity at {}: {text} (is the endpoint right and reachable? AWS_ENDPOINT_URL, AWS_REGION, the network)",
                    self.endpoint
                )),
                // An answer that is not STS's (a web server on the port, another service).
                SdkError::ServiceError(_) | SdkError::ResponseError(_) if text.contains("unhandled") => DeployError::Aws(format!(
                    "GetCallerIdentity at {}: the answer is not an AWS STS one ({text}); is AWS_ENDPOINT_URL the emulator's or AWS's address?",
                    self.endpoint
                )),
                _ => DeployError::Aws(format!("GetCallerIdentity at {}: {text}", self.endpoint)),
            }
        })?;
        let actual = me.account().unwrap_or_default();
        if actual != expected && self.emulator {
            eprintln!(
                "note: {} is a local emulator; its account {actual} stands in for the account_id of environment `{env}` ({expected})",
                self.endpoint
            );
        } else if actual != expected {
            return Err(DeployError::WrongAccount {
                env: env.to_owned(),
                expected: expected.to_owned(),
                actual: actual.to_owned(),
            });
        }
        let partition = me.arn().and_then(|a| a.split(':').nth(1)).filter(|p| !p.is_empty()).unwrap_or("aws");
        Ok(partition.to_owned())
    }

    /// Whether the assets bucket holds an object of `key` (an artifact's key is its hash).
    pub async fn uploaded(&self, bucket: &str, key: &str) -> bool {
        self.s3.head_object().bucket(bucket).key(key).send().await.is_ok()
    }

    /// Uploads the artifact create-only (`If-None-Match: *`, S3 User Guide "Conditional
    /// writes") with its SHA-256 for S3 to check (`x-amz-checksum-sha256`, S3 User Guide
    /// "Checking object integrity"); returns whether it uploaded. An object already under the
    /// key (found first, or a 412 from a write that lost a race) counts only if it holds these
    /// bytes ([`Aws::stored_sha256`]): the key is the artifact's hash, but anyone who may write
    /// to the bucket may have put other bytes there first.
    ///
    /// # Errors
    /// S3 refused or could not be reached, or the object under the key holds other bytes,
    /// naming the object and how to recover.
    pub async fn upload(&self, bucket: &str, artifact: &package::Artifact) -> Result<bool, DeployError> {
        let key = artifact.key();
        let mut found = self.stored_sha256(bucket, &key).await?;
        if found.is_none() {
            let put = self
                .s3
                .put_object()
                .bucket(bucket)
                .key(&key)
                .body(aws_sdk_s3::primitives::ByteStream::from(artifact.zip.clone()))
                .content_type("application/zip")
                .checksum_sha256(package::base64_sha256(&artifact.sha256))
                .if_none_match("*")
                .send()
                .await;
            match put {
                Ok(_) => return Ok(true),
                Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 412) => {
                    found = self.stored_sha256(bucket, &key).await?;
                }
                Err(e) => {
                    return Err(DeployError::Aws(format!("PutObject s3://{bucket}/{key}: {}", stack::sdk_text(&e))));
                }
            }
        }
        match found {
            Some(found) if found == artifact.sha256 => Ok(false),
            found => Err(DeployError::Aws(format!(
                "s3://{bucket}/{key} holds other bytes (SHA-256 {}) than the artifact its key names; nothing was deployed. Delete it (`aws s3 rm s3://{bucket}/{key}`) and run the command again",
                found.as_deref().unwrap_or("unknown: it is gone again")
            ))),
        }
    }

    /// The SHA-256 (hex) of the bytes of object `key`, `None` when there is none (404): S3's
    /// full-object SHA-256 where it keeps one (`HeadObject` with `ChecksumMode`, S3 User Guide
    /// "Checking object integrity"), else the bytes read back and hashed.
    ///
    /// # Errors
    /// S3 refused or could not be reached.
    pub async fn stored_sha256(&self, bucket: &str, key: &str) -> Result<Option<String>, DeployError> {
        use aws_sdk_s3::types::{ChecksumMode, ChecksumType};
        let failed = |call: &str, e: String| DeployError::Aws(format!("{call} s3://{bucket}/{key}: {e}"));
        let head = match self.s3.head_object().bucket(bucket).key(key).checksum_mode(ChecksumMode::Enabled).send().await
        {
            Ok(head) => head,
            Err(e) if e.as_service_error().is_some_and(|se| se.is_not_found()) => return Ok(None),
            Err(e) => return Err(failed("HeadObject", stack::sdk_text(&e))),
        };
        if let Some(b64) = head.checksum_sha256().filter(|_| head.checksum_type() != Some(&ChecksumType::Composite)) {
            return Ok(Some(package::hex_sha256(b64)));
        }
        let object = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| failed("GetObject", stack::sdk_text(&e)))?;
        // The body is read after the call's own time limit ends (with the headers): limited here.
        let limit = timeouts().operation_timeout().unwrap_or(std::time::Duration::from_secs(90));
        let bytes = tokio::time::timeout(limit, object.body.collect())
            .await
            .map_err(|_| failed("GetObject", format!("the body did not arrive within {} ms", limit.as_millis())))?
            .map_err(|e| failed("GetObject", e.to_string()))?;
        Ok(Some(package::sha256_hex(&bytes.into_bytes())))
    }
}

#[cfg(test)]
mod tests {
    /// Only this machine counts as an emulator: a loopback address or a `localhost` name.
    #[test]
    fn emulators_are_loopback_endpoints_only() {
        let cases = [
            ("http://127.0.0.1:4566", true),
            ("http://127.1.2.3", true),
            ("http://[::1]:4566", true),
            ("http://localhost:4566", true),
            ("http://LOCALHOST:1", true),
            ("http://s3.localhost:4566", true),
            ("http://localhost.localstack.cloud:4566", true),
            ("https://s3.localhost.localstack.cloud:4566", true),
            ("http://localhost.evil.example", false),
            ("http://evil-localhost", false),
            ("http://localstack.cloud", false),
            ("https://cloudformation-fips.us-east-1.amazonaws.com", false),
            ("http://10.0.0.5:4566", false),
            ("http://[::ffff:127.0.0.1]:4566", false),
            ("localhost:4566", false),
            ("not a url", false),
        ];
        for (endpoint, want) in cases {
            assert_eq!(super::is_emulator(endpoint), want, "{endpoint}");
        }
    }
}
