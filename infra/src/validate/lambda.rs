//! Function settings that work behind the API (LAMBDA).

use serde_json::Value as Json;

use super::{Ctx, Rule, Severity, props, resources, rtype};

/// LAMBDA001.
pub const LAMBDA001: Rule = Rule {
    id: "LAMBDA001",
    severity: Severity::Warning,
    summary: "function timeout above API Gateway's 29 s integration timeout",
};

/// The rules of this family.
pub const RULES: &[&Rule] = &[&LAMBDA001];

/// API Gateway's default integration timeout.
pub const API_INTEGRATION_TIMEOUT_SECONDS: u64 = 29;

pub(super) fn lambda(cx: &mut Ctx<'_>, json: &Json) {
    let has_api = resources(json).any(|(_, r)| rtype(r) == "AWS::ApiGateway::Method");
    for (id, r) in resources(json).filter(|(_, r)| rtype(r) == "AWS::Lambda::Function") {
        if let Some(t) = props(r, "Timeout").and_then(Json::as_u64)
            && has_api
            && t > API_INTEGRATION_TIMEOUT_SECONDS
        {
            cx.push(&LAMBDA001, format!("$.Resources.{id}.Properties.Timeout"),
                format!("timeout {t} s exceeds API Gateway's {API_INTEGRATION_TIMEOUT_SECONDS} s integration timeout; callers get 504 first"),
            );
        }
    }
}
