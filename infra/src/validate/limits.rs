//! Sizes and counts within CloudFormation's quotas (LIM) and resource names within AWS's
//! limits (NAME).

use serde_json::Value as Json;

use super::{Ctx, Rule, Severity, props, resources, rtype};
use crate::cfn::Template;

/// LIM001.
pub const LIM001: Rule = Rule {
    id: "LIM001",
    severity: Severity::Error,
    summary: "template at most 51,200 bytes (`deploy` sends templates inline; CloudFormation's hard limit is 1,048,576)",
    source: "CloudFormation User Guide, \"CloudFormation quotas\" (template body size)",
};
/// LIM002.
pub const LIM002: Rule = Rule {
    id: "LIM002",
    severity: Severity::Error,
    summary: "at most 500 resources, 200 outputs, 200 parameters",
    source: "CloudFormation User Guide, \"CloudFormation quotas\"",
};
/// NAME001.
pub const NAME001: Rule = Rule {
    id: "NAME001",
    severity: Severity::Error,
    summary: "resource names within AWS length limits (function 64, log group 512, alias 256, WAF ACL 128, alarm 255, ...)",
    source: "each service's API reference for its name (`infra::cfn::types`): API Gateway \"CreateRestApi\", \"CreateStage\"; CloudWatch \"PutDashboard\"; KMS \"CreateAlias\"",
};
/// NAME002.
pub const NAME002: Rule = Rule {
    id: "NAME002",
    severity: Severity::Error,
    summary: "KMS alias starts with `alias/` and not `alias/aws/`",
    source: "AWS KMS API reference, \"CreateAlias\"",
};

/// The rules of this family.
pub const RULES: &[&Rule] = &[&LIM001, &LIM002, &NAME001, &NAME002];

/// The largest template, bytes, uploaded through S3 (CloudFormation User Guide, "CloudFormation
/// quotas").
pub const MAX_TEMPLATE_BYTES: usize = 1_048_576;
/// The largest template `deploy` sends inline (`TemplateBody`), bytes (same page).
pub const MAX_INLINE_TEMPLATE_BYTES: usize = 51_200;
/// Resources per template (same page).
pub const MAX_RESOURCES: usize = 500;
/// Outputs per template (same page).
pub const MAX_OUTPUTS: usize = 200;
/// Parameters per template (same page).
pub const MAX_PARAMETERS: usize = 200;

pub(super) fn limits(cx: &mut Ctx<'_>, t: &Template) {
    let size = t.json_len();
    if size > MAX_TEMPLATE_BYTES {
        cx.push(&LIM001, "$", format!("template is {size} bytes; CloudFormation accepts at most {MAX_TEMPLATE_BYTES}"));
    } else if size > MAX_INLINE_TEMPLATE_BYTES {
        cx.push(&LIM001, "$",
            format!(
                "template is {size} bytes; deploy sends templates inline, which CloudFormation caps at {MAX_INLINE_TEMPLATE_BYTES}: split the stack"
            ),
        );
    }
    let counts = [
        ("Resources", t.resources().len(), MAX_RESOURCES),
        ("Outputs", t.outputs().len(), MAX_OUTPUTS),
        ("Parameters", t.parameters().len(), MAX_PARAMETERS),
    ];
    for (section, n, max) in counts {
        if n > max {
            cx.push(
                &LIM002,
                format!("$.{section}"),
                format!("{n} {section}; a template may have at most {max}: split the stack"),
            );
        }
    }
}

pub(super) fn names(cx: &mut Ctx<'_>, json: &Json) {
    for (id, r) in resources(json) {
        let ty = rtype(r);
        // Name properties whose CloudFormation schema sets no length, with the limit of the
        // service's own API (`cfn::types`); every other name is checked by its schema (SCHEMA001).
        let Some((prop, max)) = crate::cfn::types::find(ty).and_then(|t| Some((t.name_property?, t.name_limit?)))
        else {
            continue;
        };
        let Some(name) = props(r, prop).and_then(Json::as_str) else { continue };
        let path = format!("$.Resources.{id}.Properties.{prop}");
        if name.is_empty() || name.len() > max {
            cx.push(&NAME001, &path, format!("`{name}` is {} characters; {ty} {prop} allows 1 to {max}", name.len()));
        }
        if ty == "AWS::KMS::Alias" && (!name.starts_with("alias/") || name.starts_with("alias/aws/")) {
            cx.push(&NAME002, &path, format!("`{name}` must start with alias/ and not with alias/aws/"));
        }
    }
}
