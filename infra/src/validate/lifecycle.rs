//! Rules on what happens to resources around a stack's own life (LIFE): a first create that
//! rolls back must leave nothing that blocks the retry.

use serde_json::Value as Json;

use super::{Ctx, Rule, Severity, resources};
use crate::cfn::names::fixed_name;

/// LIFE001.
pub const LIFE001: Rule = Rule {
    id: "LIFE001",
    severity: Severity::Error,
    summary: "a resource with a fixed name is not kept by `DeletionPolicy: Retain`: when the stack's first create rolls back it would stay, and the retry would fail on a name already taken; `RetainExceptOnCreate` keeps it only once the stack exists (CloudFormation User Guide, \"DeletionPolicy attribute\")",
};

/// The rules of this family.
pub const RULES: &[&Rule] = &[&LIFE001];

pub(super) fn lifecycle(cx: &mut Ctx<'_>, json: &Json) {
    for (id, r) in resources(json) {
        let Some((ty, name)) = fixed_name(r) else { continue };
        if r.get("DeletionPolicy").and_then(Json::as_str) == Some("Retain") {
            cx.push(
                &LIFE001,
                format!("$.Resources.{id}.DeletionPolicy"),
                format!(
                    "{} `{name}` is kept when the stack's first create rolls back, and the retry then fails on \"already exists\"; use RetainExceptOnCreate",
                    ty.r#type
                ),
            );
        }
    }
}
