//! The product's stacks, as plain functions of `&Environment`. No I/O: the same environment
//! always gives the same templates.

pub mod alarms;
pub mod bootstrap;
pub mod monitoring;
pub mod service;

use crate::cfn::{ModelError, Template};
use crate::env::Environment;

/// A synthesized stack: its name and template.
#[derive(Clone, Debug)]
pub struct Stack {
    /// The short name used in file names (`service`).
    pub id: &'static str,
    /// The CloudFormation stack name.
    pub name: String,
    pub template: Template,
}

/// Every stack of an environment, in deploy order. `bootstrap` is deployed by `infra bootstrap`
/// (once, with administrator rights); `deploy` deploys the others.
pub fn all(env: &Environment) -> Result<Vec<Stack>, ModelError> {
    Ok(vec![
        Stack { id: "bootstrap", name: env.bootstrap_stack_name(), template: bootstrap::build(env)? },
        Stack { id: "service", name: env.service_stack_name(), template: service::build(env)? },
        Stack { id: "monitoring", name: env.monitoring_stack_name(), template: monitoring::build(env)? },
    ])
}
