//! Rules on what happens to resources around a stack's own life (LIFE): a first create that
//! rolls back must leave nothing that blocks the retry.

use serde_json::Value as Json;

use super::{Ctx, Rule, Severity, props, resources, rtype};
use crate::cfn::deps::{parameters_feeding, sub_variables};
use crate::cfn::names::fixed_name;

/// LIFE001.
pub const LIFE001: Rule = Rule {
    id: "LIFE001",
    severity: Severity::Error,
    summary: "a resource with a fixed name is not kept by `DeletionPolicy: Retain`: when the stack's first create rolls back it would stay, and the retry would fail on a name already taken; `RetainExceptOnCreate` keeps it only once the stack exists",
    source: "CloudFormation User Guide, \"DeletionPolicy attribute\"",
};

/// VERSION001.
pub const VERSION001: Rule = Rule {
    id: "VERSION001",
    severity: Severity::Error,
    summary: "a Lambda version publishes again whenever its function's configuration can change: every parameter that reaches the function (directly, through conditions or through the resources it refers to) is in the version's create-only `Description`; a published version's configuration is frozen, so otherwise an alias keeps serving the old one",
    source: "Lambda developer guide, \"Manage Lambda function versions\"",
};

/// VERSION002.
pub const VERSION002: Rule = Rule {
    id: "VERSION002",
    severity: Severity::Error,
    summary: "a Lambda version's settings digest (`settings <hex>` in its create-only `Description`) is also in its function's `Description`: a template change that replaces the version but resolves to the same configuration would otherwise publish nothing, and CloudFormation fails the update (\"A version for this Lambda function exists\"; Lambda API reference, \"PublishVersion\")",
    source: "Lambda API reference, \"PublishVersion\"",
};

/// The rules of this family.
pub const RULES: &[&Rule] = &[&LIFE001, &VERSION001, &VERSION002];

pub(super) fn lifecycle(cx: &mut Ctx<'_>, json: &Json) {
    retained_names(cx, json);
    versions_follow_their_function(cx, json);
}

/// VERSION001.
fn versions_follow_their_function(cx: &mut Ctx<'_>, json: &Json) {
    for (id, r) in resources(json).filter(|(_, r)| rtype(r) == "AWS::Lambda::Version") {
        let Some(function) = props(r, "FunctionName").and_then(|f| f.get("Ref")).and_then(Json::as_str) else {
            continue;
        };
        let description = props(r, "Description");
        let text = description.and_then(|d| d.get("Fn::Sub")).and_then(Json::as_str).unwrap_or_default();
        settings_in_function(cx, json, id, function, text);
        let named = sub_variables(text);
        let missing: Vec<String> =
            parameters_feeding(json, function).into_iter().filter(|p| !named.contains(&p.as_str())).collect();
        if !missing.is_empty() {
            cx.push(
                &VERSION001,
                format!("$.Resources.{id}.Properties.Description"),
                format!(
                    "{function}'s configuration follows {} at deploy time, but the version's description does not: a new value would reach $LATEST only, never the alias; add `${{{}}}` to the description",
                    missing.join(", "),
                    missing.join("} ${")
                ),
            );
        }
    }
}

/// VERSION002: the `settings <hex>` word pair of a version's description, in its function's.
fn settings_in_function(cx: &mut Ctx<'_>, json: &Json, version: &str, function: &str, description: &str) {
    let words: Vec<&str> = description.split([' ', ',']).filter(|w| !w.is_empty()).collect();
    let Some(digest) = words.windows(2).find(|w| w[0] == "settings").map(|w| w[1]) else {
        return;
    };
    let own = json["Resources"][function]["Properties"]["Description"].as_str().unwrap_or_default();
    if !own.contains(&format!("settings {digest}")) {
        cx.push(
            &VERSION002,
            format!("$.Resources.{function}.Properties.Description"),
            format!(
                "{version} publishes settings {digest}, which {function}'s configuration does not carry: a template change that resolves to the same configuration would replace {version} and publish nothing; put `settings {digest}` in {function}'s Description"
            ),
        );
    }
}

/// LIFE001.
fn retained_names(cx: &mut Ctx<'_>, json: &Json) {
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
