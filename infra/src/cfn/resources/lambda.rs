//! AWS Lambda.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cfn::{Value, resource};

/// `AWS::Lambda::Function`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Function {
    /// `FunctionName`: up to 64 characters; a change replaces the function.
    pub function_name: String,
    /// `Description`: up to 256 characters.
    pub description: String,
    /// `Runtime`: the runtime identifier, such as `provided.al2023` (an OS-only runtime).
    pub runtime: &'static str,
    /// `Handler`: the function's entry point; an OS-only runtime only passes it to the program, in
    /// `_HANDLER`.
    pub handler: &'static str,
    /// `Architectures`: one instruction set, `arm64` or `x86_64`.
    pub architectures: Vec<Architecture>,
    /// `MemorySize`: MB, 128 to 10,240; CPU is allocated in proportion.
    pub memory_size: u32,
    /// `Timeout`: the most an invocation may run, in seconds, 1 to 900.
    pub timeout: u32,
    /// `ReservedConcurrentExecutions`: executions reserved for the function, and its cap; `None`
    /// shares the account's unreserved concurrency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_concurrent_executions: Option<u32>,
    /// `Role`: the ARN of the execution role.
    pub role: Value<String>,
    /// `Code`: where the deployment package is.
    pub code: Code,
    /// `TracingConfig`: X-Ray tracing.
    pub tracing_config: TracingConfig,
    /// `LoggingConfig`: log format, log group and log levels.
    pub logging_config: LoggingConfig,
    /// `Environment`: environment variables.
    pub environment: Environment,
}
resource!(Function, "AWS::Lambda::Function" { arn => "Arn" });

/// An `Architectures` value: the instruction set a function runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// `arm64`: 64-bit ARM (AWS Graviton).
    Arm64,
    /// `x86_64`: 64-bit x86.
    #[serde(rename = "x86_64")]
    X86_64,
}

impl Architecture {
    /// The Rust target triple Lambda's provided.al2023 runtime loads for this architecture.
    pub fn target(self) -> &'static str {
        match self {
            Architecture::Arm64 => "aarch64-unknown-linux-gnu",
            Architecture::X86_64 => "x86_64-unknown-linux-gnu",
        }
    }

    /// The name Lambda and the environment files use (`arm64`, `x86_64`).
    pub fn name(self) -> &'static str {
        match self {
            Architecture::Arm64 => "arm64",
            Architecture::X86_64 => "x86_64",
        }
    }

    /// Whether this machine runs binaries of this architecture natively.
    pub fn is_host(self) -> bool {
        match self {
            Architecture::Arm64 => cfg!(target_arch = "aarch64"),
            Architecture::X86_64 => cfg!(target_arch = "x86_64"),
        }
    }
}

/// `Code`: a deployment package in S3.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Code {
    /// `S3Bucket`: the bucket holding the package, in the function's region.
    pub s3_bucket: Value<String>,
    /// `S3Key`: the package's object key.
    pub s3_key: Value<String>,
}

/// `TracingConfig` `Mode`: which requests Lambda traces with X-Ray.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum TracingMode {
    /// `Active`: Lambda samples and traces incoming requests itself.
    Active,
    /// `PassThrough`: Lambda traces only requests an upstream service sampled (the default).
    PassThrough,
}

/// `TracingConfig`: a function's X-Ray tracing.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TracingConfig {
    /// `Mode`: `Active` or `PassThrough`.
    pub mode: TracingMode,
}

/// `LoggingConfig`: how and where a function's logs go to CloudWatch Logs.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoggingConfig {
    /// `LogFormat`: `Text` or `JSON`; the log levels apply only to `JSON`.
    pub log_format: &'static str,
    /// `LogGroup`: the log group's name (not its ARN); `/aws/lambda/<function name>` when unset.
    pub log_group: Value<String>,
    /// `ApplicationLogLevel`: the most detailed application logs sent: `TRACE`, `DEBUG`, `INFO`,
    /// `WARN`, `ERROR` or `FATAL`.
    pub application_log_level: &'static str,
    /// `SystemLogLevel`: the most detailed Lambda platform logs sent: `DEBUG`, `INFO` or `WARN`.
    pub system_log_level: &'static str,
}

/// `Environment`: a function's environment variables.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Environment {
    /// `Variables`: name → value; 4 KB in all at most.
    pub variables: BTreeMap<String, Value<String>>,
}

/// `AWS::Lambda::Permission`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Permission {
    /// `Action`: the action allowed, such as `lambda:InvokeFunction`.
    pub action: &'static str,
    /// `FunctionName`: the function's name or ARN, optionally of a version or alias.
    pub function_name: Value<String>,
    /// `Principal`: who is allowed: a service, such as `apigateway.amazonaws.com`, or an account.
    pub principal: &'static str,
    /// `SourceArn`: the ARN of the only resource of that service that may call, such as an API's
    /// `execute-api` ARN.
    pub source_arn: Value<String>,
}
resource!(Permission, "AWS::Lambda::Permission" {});

/// `AWS::Lambda::Version`: publishes the function as it is. A change to any property replaces
/// it, which publishes a new version.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Version {
    /// `FunctionName`: the function's name or ARN.
    pub function_name: Value<String>,
    /// `Description`: up to 256 characters.
    pub description: Value<String>,
}
resource!(Version, "AWS::Lambda::Version" { version => "Version" });

/// `AWS::Lambda::Alias`. `Ref` returns the alias ARN.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Alias {
    /// `FunctionName`: the function's name or ARN.
    pub function_name: Value<String>,
    /// `FunctionVersion`: the version the alias points to, or `$LATEST`.
    pub function_version: Value<String>,
    /// `Name`: the alias name, up to 128 letters, digits, `-` and `_`, not all digits.
    pub name: String,
}
resource!(Alias, "AWS::Lambda::Alias" {});
