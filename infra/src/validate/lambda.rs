//! Function settings that work behind the API (LAMBDA).

use serde_json::Value as Json;

use super::{Ctx, Rule, Severity, props, resources, rtype};
use crate::env::Environment;

/// LAMBDA001.
pub const LAMBDA001: Rule = Rule {
    id: "LAMBDA001",
    severity: Severity::Warning,
    summary: "function timeout above API Gateway's 29 s integration timeout",
    source: "API Gateway developer guide, \"Amazon API Gateway quotas\" (integration timeout)",
};

/// LAMBDA002.
pub const LAMBDA002: Rule = Rule {
    id: "LAMBDA002",
    severity: Severity::Error,
    summary: "a function's environment variables, names and values, total at most 4 KB (values CloudFormation computes counted at 256 bytes)",
    source: "Lambda developer guide, \"Lambda quotas\" (environment variables)",
};

/// The rules of this family.
pub const RULES: &[&Rule] = &[&LAMBDA001, &LAMBDA002];

/// Lambda's limit on the total size of a function's environment variables: 4 KB (Lambda
/// developer guide, "Lambda quotas").
pub const MAX_ENVIRONMENT_BYTES: usize = 4096;
/// What a value CloudFormation computes (`Ref`, `Fn::GetAtt`: an ARN or a name) is counted as:
/// an ARN of the key, secret or topic the stacks create stays well under it.
pub const COMPUTED_VALUE_BYTES: usize = 256;

/// The size Lambda counts for a function's `Environment.Variables`, with the largest variable.
pub fn environment_size(variables: &serde_json::Map<String, Json>) -> (usize, Option<(&str, usize)>) {
    let sizes = variables.iter().map(|(k, v)| {
        let value = v.as_str().map_or(COMPUTED_VALUE_BYTES, str::len);
        (k.as_str(), k.len() + value)
    });
    let largest = sizes.clone().max_by_key(|(_, n)| *n);
    (sizes.map(|(_, n)| n).sum(), largest)
}

/// API Gateway's default integration timeout.
pub const API_INTEGRATION_TIMEOUT_SECONDS: u64 = 29;

pub(super) fn lambda(cx: &mut Ctx<'_>, json: &Json, env: &Environment) {
    let has_api = resources(json).any(|(_, r)| rtype(r) == "AWS::ApiGateway::Method");
    for (id, r) in resources(json).filter(|(_, r)| rtype(r) == "AWS::Lambda::Function") {
        if let Some(vars) = props(r, "Environment").and_then(|e| e.get("Variables")).and_then(Json::as_object) {
            let (total, largest) = environment_size(vars);
            if total > MAX_ENVIRONMENT_BYTES {
                let (name, size) = largest.unwrap_or_default();
                let from = crate::stacks::service::VARIABLES_FROM_FILE
                    .iter()
                    .find(|(var, _)| *var == name)
                    .map(|(_, key)| format!(", set by {}", env.locate(key)))
                    .unwrap_or_default();
                cx.push(
                    &LAMBDA002,
                    format!("$.Resources.{id}.Properties.Environment.Variables"),
                    format!("environment variables total {total} bytes; Lambda allows {MAX_ENVIRONMENT_BYTES}. The largest is {name} ({size} bytes{from})"),
                );
            }
        }
        if let Some(t) = props(r, "Timeout").and_then(Json::as_u64)
            && has_api
            && t > API_INTEGRATION_TIMEOUT_SECONDS
        {
            // The file's timeout is its key's finding; another function's, its template path's.
            let (at, fix) = match u64::from(env.function.timeout_seconds.get()) == t {
                true => (
                    env.locate("function.timeout_seconds"),
                    format!("; set function.timeout_seconds to at most {API_INTEGRATION_TIMEOUT_SECONDS}"),
                ),
                false => (format!("$.Resources.{id}.Properties.Timeout"), String::new()),
            };
            cx.push(&LAMBDA001, at,
                format!("timeout {t} s exceeds API Gateway's {API_INTEGRATION_TIMEOUT_SECONDS} s integration timeout; callers get 504 first{fix}"),
            );
        }
    }
}
