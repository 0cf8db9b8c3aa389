//! The environment's own policy (POL): what `policy:` in its file requires.

use serde_json::Value as Json;

use super::{Ctx, Rule, Severity, props, resources, rtype};
use crate::env::Environment;
use crate::stacks::Stack;

/// POL001.
pub const POL001: Rule = Rule {
    id: "POL001",
    severity: Severity::Error,
    summary: "`policy.require_termination_protection`: the environment has termination protection",
};
/// POL002.
pub const POL002: Rule = Rule {
    id: "POL002",
    severity: Severity::Error,
    summary: "`policy.min_log_retention_days`: every log group keeps logs at least that long",
};
/// POL003.
pub const POL003: Rule = Rule {
    id: "POL003",
    severity: Severity::Error,
    summary: "`policy.require_waf`: a WAF web ACL is associated with the API",
};
/// POL004.
pub const POL004: Rule = Rule {
    id: "POL004",
    severity: Severity::Error,
    summary: "`policy.require_reserved_concurrency`: every function has reserved concurrency",
};
/// POL005.
pub const POL005: Rule = Rule {
    id: "POL005",
    severity: Severity::Error,
    summary: "`policy.require_retain_on_delete`: KMS keys, secrets and log groups are retained on delete",
};

/// The rules of this family.
pub const RULES: &[&Rule] = &[&POL001, &POL002, &POL003, &POL004, &POL005];

/// Resource types that hold data worth keeping when a stack goes away.
const DATA_TYPES: &[&str] = &["AWS::KMS::Key", "AWS::SecretsManager::Secret", "AWS::Logs::LogGroup"];

pub(super) fn policy(cx: &mut Ctx<'_>, json: &Json, env: &Environment) {
    let p = &env.policy;
    let min = p.min_log_retention_days.get();
    for (id, r) in resources(json) {
        let ty = rtype(r);
        let base = format!("$.Resources.{id}");
        if ty == "AWS::Logs::LogGroup" {
            match props(r, "RetentionInDays").and_then(Json::as_u64) {
                Some(d) if d >= u64::from(min) => {}
                Some(d) => cx.push(&POL002, format!("{base}.Properties.RetentionInDays"), format!("retention {d} days is below this environment's minimum of {min} (policy.min_log_retention_days)")),
                None => cx.push(&POL002, format!("{base}.Properties"), "log group keeps logs forever; set RetentionInDays"),
            }
        }
        // Where no reservation fits the file's rules, the reservation's own finding says what
        // to change (`super::reservation`).
        if ty == "AWS::Lambda::Function"
            && p.require_reserved_concurrency
            && props(r, "ReservedConcurrentExecutions").is_none()
            && super::reservation::conflict(env).is_none()
        {
            cx.push(
                &POL004,
                format!("{base}.Properties"),
                "policy requires reserved concurrency; set function.reserved_concurrency",
            );
        }
        if p.require_retain_on_delete
            && DATA_TYPES.contains(&ty)
            && !matches!(r.get("DeletionPolicy").and_then(Json::as_str), Some("Retain" | "RetainExceptOnCreate"))
        {
            cx.push(
                &POL005,
                format!("{base}.DeletionPolicy"),
                format!("policy requires {ty} to be retained on delete; set retain_data_on_delete: true"),
            );
        }
    }
}

/// The rules over the environment as a whole.
pub(super) fn environment(cx: &mut Ctx<'_>, stacks: &[Stack], env: &Environment) {
    let p = &env.policy;
    if p.require_termination_protection && !env.termination_protection {
        cx.push(
            &POL001,
            env.locate("termination_protection"),
            "policy requires termination protection; set termination_protection: true",
        );
    }
    let has_waf =
        stacks.iter().any(|s| s.template.resources().values().any(|r| r.r#type == "AWS::WAFv2::WebACLAssociation"));
    if p.require_waf && !has_waf {
        cx.push(&POL003, env.locate("api.waf"), "policy requires a WAF web ACL in front of the API; add api.waf");
    }
}
