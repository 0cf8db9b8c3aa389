//! The product's stacks, as plain functions of `&Environment`. No I/O: the same environment
//! always gives the same templates.

pub mod alarms;
pub mod bootstrap;
pub mod monitoring;
pub mod outputs;
pub mod service;

use std::fmt;

use crate::cfn::{ModelError, Template};
use crate::env::Environment;

/// The token function's name (the service stack's function; the bootstrap stack's deploy role
/// names it too).
pub fn function_name(env: &Environment) -> String {
    format!("{}-token", env.qualified())
}

/// Which stack of an environment: its short name in file names, snapshots, the manifest and
/// `--stack`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StackId {
    /// The assets bucket, the deploy and execution roles, the permissions boundary
    /// (`infra bootstrap`).
    Bootstrap,
    /// The function, API, keys and secrets.
    Service,
    /// Alert topics, alarms, dashboard and budget.
    Monitoring,
}

impl StackId {
    /// `bootstrap`, `service` or `monitoring`.
    pub fn as_str(self) -> &'static str {
        match self {
            StackId::Bootstrap => "bootstrap",
            StackId::Service => "service",
            StackId::Monitoring => "monitoring",
        }
    }
}

impl fmt::Display for StackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A synthesized stack: its name and template.
#[derive(Clone, Debug)]
pub struct Stack {
    /// Which stack it is.
    pub id: StackId,
    /// The CloudFormation stack name.
    pub name: String,
    /// The CloudFormation template.
    pub template: Template,
}

/// Every stack of an environment, in deploy order. `bootstrap` is deployed by `infra bootstrap`
/// (once, with administrator rights); `deploy` deploys the others.
pub fn all(env: &Environment) -> Result<Vec<Stack>, ModelError> {
    Ok(vec![
        Stack { id: StackId::Bootstrap, name: env.bootstrap_stack_name(), template: bootstrap::build(env)? },
        Stack { id: StackId::Service, name: env.service_stack_name(), template: service::build(env)? },
        Stack { id: StackId::Monitoring, name: env.monitoring_stack_name(), template: monitoring::build(env)? },
    ])
}
