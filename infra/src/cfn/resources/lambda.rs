//! AWS Lambda.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cfn::{Value, resource};

/// `AWS::Lambda::Function`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Function {
    pub function_name: String,
    pub description: String,
    pub runtime: &'static str,
    pub handler: &'static str,
    pub architectures: Vec<Architecture>,
    pub memory_size: u32,
    pub timeout: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_concurrent_executions: Option<u32>,
    pub role: Value<String>,
    pub code: Code,
    pub tracing_config: TracingConfig,
    pub logging_config: LoggingConfig,
    pub environment: Environment,
}
resource!(Function, "AWS::Lambda::Function" { arn => "Arn" });

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    Arm64,
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

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Code {
    pub s3_bucket: Value<String>,
    pub s3_key: Value<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum TracingMode {
    Active,
    PassThrough,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TracingConfig {
    pub mode: TracingMode,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoggingConfig {
    pub log_format: &'static str,
    pub log_group: Value<String>,
    pub application_log_level: &'static str,
    pub system_log_level: &'static str,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Environment {
    pub variables: BTreeMap<String, Value<String>>,
}

/// `AWS::Lambda::Permission`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Permission {
    pub action: &'static str,
    pub function_name: Value<String>,
    pub principal: &'static str,
    pub source_arn: Value<String>,
}
resource!(Permission, "AWS::Lambda::Permission" {});

/// `AWS::Lambda::Version`: publishes the function as it is. A change to any property replaces
/// it, which publishes a new version.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Version {
    pub function_name: Value<String>,
    pub description: Value<String>,
}
resource!(Version, "AWS::Lambda::Version" { version => "Version" });

/// `AWS::Lambda::Alias`. `Ref` returns the alias ARN.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Alias {
    pub function_name: Value<String>,
    pub function_version: Value<String>,
    pub name: String,
}
resource!(Alias, "AWS::Lambda::Alias" {});
