//! The environment's own policy (POL): what `policy:` in its file requires.

use serde_json::Value as Json;

use super::{Ctx, Rule, Severity, props, resources, rtype};
use crate::cfn::Policy;
use crate::env::Environment;
use crate::stacks::Stack;

/// POL001.
pub const POL001: Rule = Rule {
    id: "POL001",
    severity: Severity::Error,
    summary: "`policy.require_termination_protection`: the environment has termination protection",
    source: "the environment file's `policy` section (docs/environments.md)",
};
/// POL002.
pub const POL002: Rule = Rule {
    id: "POL002",
    severity: Severity::Error,
    summary: "`policy.min_log_retention_days`: every log group keeps logs at least that long",
    source: "the environment file's `policy` section (docs/environments.md)",
};
/// POL003.
pub const POL003: Rule = Rule {
    id: "POL003",
    severity: Severity::Error,
    summary: "`policy.require_waf`: a WAF web ACL is associated with the API",
    source: "the environment file's `policy` section (docs/environments.md)",
};
/// POL004.
pub const POL004: Rule = Rule {
    id: "POL004",
    severity: Severity::Error,
    summary: "`policy.require_reserved_concurrency`: every function has reserved concurrency",
    source: "the environment file's `policy` section (docs/environments.md)",
};
/// POL005.
pub const POL005: Rule = Rule {
    id: "POL005",
    severity: Severity::Error,
    summary: "`policy.require_retain_on_delete`: KMS keys, secrets and log groups are retained on delete",
    source: "the environment file's `policy` section (docs/environments.md)",
};

/// The rules of this family.
pub const RULES: &[&Rule] = &[&POL001, &POL002, &POL003, &POL004, &POL005];

/// Resource types that hold data worth keeping when a stack goes away.
const DATA_TYPES: &[&str] = &["AWS::KMS::Key", "AWS::SecretsManager::Secret", "AWS::Logs::LogGroup"];

/// The template-level side of the policy: what the environment's keys do not explain. A log
/// group's retention below the minimum that one of the file's retention keys set is that key's
/// finding (`environment`), and resources the file's `retain_data_on_delete: false` leaves
/// unretained are one finding at that key; what remains is a resource the file does not
/// govern, named by its template path.
pub(super) fn policy(cx: &mut Ctx<'_>, json: &Json, env: &Environment) {
    let p = &env.policy;
    let min = p.min_log_retention_days.get();
    let from_file = |d: u64| env.log_retentions().iter().any(|(_, days)| u64::from(*days) == d);
    for (id, r) in resources(json) {
        let ty = rtype(r);
        let base = format!("$.Resources.{id}");
        if ty == "AWS::Logs::LogGroup" {
            match props(r, "RetentionInDays").and_then(Json::as_u64) {
                Some(d) if d >= u64::from(min) || from_file(d) => {}
                Some(d) => cx.push(&POL002, format!("{base}.Properties.RetentionInDays"), format!("retention {d} days is below this environment's minimum of {min} (policy.min_log_retention_days)")),
                None => cx.push(&POL002, format!("{base}.Properties"), "log group keeps logs forever; set RetentionInDays"),
            }
        }
        if p.require_retain_on_delete && env.retain_data_on_delete && !retained(r) && DATA_TYPES.contains(&ty) {
            cx.push(&POL005, format!("{base}.DeletionPolicy"), format!("policy requires {ty} to be retained on delete, and retain_data_on_delete is set: this resource does not follow it"));
        }
    }
}

fn retained(r: &Json) -> bool {
    matches!(r.get("DeletionPolicy").and_then(Json::as_str), Some("Retain" | "RetainExceptOnCreate"))
}

/// Where a finding about a key the policy requires points: the key where it is written, else the
/// policy key that requires it.
fn at_key(env: &Environment, key: &str, policy_key: &str) -> String {
    match env.line_of(key) {
        Some(_) => env.locate(key),
        None => env.locate(policy_key),
    }
}

/// The rules over the environment as a whole, each finding at the key of the file to change.
pub(super) fn environment(cx: &mut Ctx<'_>, stacks: &[Stack], env: &Environment) {
    let p = &env.policy;
    if p.require_termination_protection && !env.termination_protection {
        cx.push(
            &POL001,
            env.locate("termination_protection"),
            "policy requires termination protection; set termination_protection: true",
        );
    }
    let min = p.min_log_retention_days.get();
    for (key, days) in env.log_retentions() {
        if days < min {
            cx.push(&POL002, env.locate(key), format!("retention {days} days is below this environment's minimum of {min} (policy.min_log_retention_days); use at least {min}"));
        }
    }
    let has_waf =
        stacks.iter().any(|s| s.template.resources().values().any(|r| r.r#type == "AWS::WAFv2::WebACLAssociation"));
    if p.require_waf && !has_waf {
        cx.push(&POL003, env.locate("api.waf"), "policy requires a WAF web ACL in front of the API; add api.waf");
    }
    // Where no reservation fits the file's rules, the reservation's own finding says what to
    // change (`super::reservation`).
    let unreserved = stacks
        .iter()
        .flat_map(|s| s.template.resources().values())
        .any(|r| r.r#type == "AWS::Lambda::Function" && r.properties.get("ReservedConcurrentExecutions").is_none());
    if p.require_reserved_concurrency && unreserved && super::reservation::conflict(env).is_none() {
        cx.push(
            &POL004,
            at_key(env, "function.reserved_concurrency", "policy.require_reserved_concurrency"),
            "policy requires reserved concurrency (policy.require_reserved_concurrency); set function.reserved_concurrency",
        );
    }
    if p.require_retain_on_delete && !env.retain_data_on_delete {
        let kept: Vec<String> = stacks
            .iter()
            .flat_map(|s| s.template.resources())
            .filter(|(_, r)| DATA_TYPES.contains(&r.r#type))
            .filter(|(_, r)| !matches!(r.deletion_policy, Some(Policy::Retain | Policy::RetainExceptOnCreate)))
            .map(|(id, _)| id.to_string())
            .collect();
        cx.push(
            &POL005,
            env.locate("retain_data_on_delete"),
            format!("policy requires KMS keys, secrets and log groups to be retained on delete (policy.require_retain_on_delete), and these would be deleted with their stacks: {}; set retain_data_on_delete: true", kept.join(", ")),
        );
    }
}
