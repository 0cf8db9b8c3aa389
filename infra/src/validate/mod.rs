//! Rules over finished templates: references resolve, ids and names fit AWS limits, IAM names
//! its resources, alarms are well formed, and the environment's own policy holds. Findings are
//! data, never errors; nothing here calls AWS.

mod rules;

use std::fmt;

use serde::Serialize;

use crate::env::Environment;
use crate::stacks::Stack;

/// How bad a finding is: errors fail `validate` and `synth`, warnings are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// One problem in one template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable rule id, e.g. `IAM001`.
    pub rule: &'static str,
    pub severity: Severity,
    /// The stack the template belongs to.
    pub stack: String,
    /// JSON path into the template, e.g. `$.Resources.TokenRole.Properties`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}[{}] {}: {}: {}", self.rule, self.stack, self.path, self.message)
    }
}

/// Runs every rule over every stack of `env`.
pub fn all(stacks: &[Stack], env: &Environment) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in stacks {
        out.extend(rules::check(&s.name, &s.template, env));
    }
    out.extend(rules::environment(stacks, env));
    out
}

/// `true` when any finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}
