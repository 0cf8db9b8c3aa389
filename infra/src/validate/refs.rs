//! References resolve (REF) and logical ids are valid (ID): a template CloudFormation
//! would refuse before creating anything.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use super::{Ctx, JsonPath, Rule, Severity};
use crate::cfn::deps::sub_variables;
use crate::cfn::{Template, is_pseudo, valid_logical_id};

/// REF001.
pub const REF001: Rule = Rule {
    id: "REF001",
    severity: Severity::Error,
    summary: "every `Ref` names a resource, parameter or pseudo parameter of the template",
    source: "CloudFormation User Guide, \"Ref\"",
};
/// REF002.
pub const REF002: Rule = Rule {
    id: "REF002",
    severity: Severity::Error,
    summary: "every `Fn::GetAtt` (and `${Id.Attr}` in `Fn::Sub`) names a resource and an attribute its type has",
    source: "CloudFormation User Guide, \"Fn::GetAtt\"; the resource type's registry schema (readOnlyProperties)",
};
/// REF003.
pub const REF003: Rule = Rule {
    id: "REF003",
    severity: Severity::Error,
    summary: "every `${Var}` in `Fn::Sub` resolves (`${!Literal}` is skipped)",
    source: "CloudFormation User Guide, \"Fn::Sub\"",
};
/// REF004.
pub const REF004: Rule = Rule {
    id: "REF004",
    severity: Severity::Error,
    summary: "`DependsOn`, resource `Condition` and `Fn::If` name declared things",
    source: "CloudFormation User Guide, \"DependsOn attribute\", \"Conditions syntax\", \"Fn::If\"",
};
/// ID001.
pub const ID001: Rule = Rule {
    id: "ID001",
    severity: Severity::Error,
    summary: "logical ids are 1 to 255 ASCII letters and digits",
    source: "CloudFormation User Guide, \"Resources template section syntax\" (logical ID)",
};

/// REF005.
pub const REF005: Rule = Rule {
    id: "REF005",
    severity: Severity::Error,
    summary: "no literal string holds `${...}` outside `Fn::Sub` (CloudFormation would not substitute it) or a dynamic reference `{{resolve:...}}` (CloudFormation would replace it at deploy)",
    source: "CloudFormation User Guide, \"Fn::Sub\" and \"Get values stored in other services using dynamic references\"",
};

/// The rules of this family.
pub const RULES: &[&Rule] = &[&REF001, &REF002, &REF003, &REF004, &REF005, &ID001];

/// REF005: literal strings that CloudFormation would treat specially. Values from the
/// environment file reach the template as literals; a `${AWS::Region}` in one stays as written,
/// a `{{resolve:ssm:...}}` is replaced by a parameter's value at deploy.
pub(super) fn literals(cx: &mut Ctx<'_>, v: &Json, path: &mut JsonPath) {
    match v {
        Json::String(s) => {
            if s.contains("{{resolve:") {
                cx.push(
                    &REF005,
                    path.as_str(),
                    format!("`{s}` holds a dynamic reference, which CloudFormation resolves at deploy"),
                );
            } else if s.contains("${") {
                cx.push(
                    &REF005,
                    path.as_str(),
                    format!("`{s}` holds `${{...}}` outside Fn::Sub; CloudFormation keeps it as written"),
                );
            }
        }
        Json::Object(map) => {
            for (k, child) in map {
                path.key(k, |here| match (k.as_str(), child) {
                    // The template text of Fn::Sub is meant to hold ${...}; its variables are values.
                    ("Fn::Sub", Json::String(text)) => literals(cx, &Json::String(text.replace("${", "")), here),
                    ("Fn::Sub", Json::Array(parts)) => {
                        if let Some(Json::String(text)) = parts.first() {
                            here.index(0, |at| literals(cx, &Json::String(text.replace("${", "")), at));
                        }
                        for (i, p) in parts.iter().enumerate().skip(1) {
                            here.index(i, |at| literals(cx, p, at));
                        }
                    }
                    _ => literals(cx, child, here),
                });
            }
        }
        Json::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                path.index(i, |at| literals(cx, child, at));
            }
        }
        _ => {}
    }
}

struct Names<'a> {
    resources: BTreeMap<&'a str, &'static [&'static str]>,
    parameters: BTreeSet<&'a str>,
    conditions: BTreeSet<&'a str>,
}

pub(super) fn references(cx: &mut Ctx<'_>, t: &Template, json: &Json) {
    let names = Names {
        resources: t.resources().iter().map(|(k, r)| (k.as_str(), r.attributes)).collect(),
        parameters: t.parameters().keys().map(String::as_str).collect(),
        conditions: t.conditions().keys().map(String::as_str).collect(),
    };
    for (id, r) in t.resources() {
        let base = format!("$.Resources.{id}");
        for (i, dep) in r.depends_on.iter().enumerate() {
            if !names.resources.contains_key(dep.as_str()) {
                cx.push(
                    &REF004,
                    format!("{base}.DependsOn[{i}]"),
                    format!("DependsOn names `{dep}`, which is not a resource of this template"),
                );
            }
        }
        if let Some(c) = &r.condition
            && !names.conditions.contains(c.as_str())
        {
            cx.push(&REF004, format!("{base}.Condition"), format!("condition `{c}` is not declared"));
        }
    }
    walk(cx, &names, json, &mut JsonPath::new("$"));
}

fn walk(cx: &mut Ctx<'_>, n: &Names<'_>, v: &Json, path: &mut JsonPath) {
    match v {
        Json::Object(map) => {
            if map.len() == 1
                && let Some((k, arg)) = map.iter().next()
            {
                path.key(k, |at| intrinsic(cx, n, k, arg, at.as_str()));
            }
            for (k, child) in map {
                path.key(k, |at| walk(cx, n, child, at));
            }
        }
        Json::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                path.index(i, |at| walk(cx, n, child, at));
            }
        }
        _ => {}
    }
}

fn intrinsic(cx: &mut Ctx<'_>, n: &Names<'_>, key: &str, arg: &Json, path: &str) {
    match key {
        "Ref" => {
            let target = arg.as_str().unwrap_or_default();
            if !(n.resources.contains_key(target) || n.parameters.contains(target) || is_pseudo(target)) {
                cx.push(
                    &REF001,
                    path,
                    format!("Ref to `{target}`, which is not a resource, parameter or pseudo parameter"),
                );
            }
        }
        "Fn::GetAtt" => {
            let id = arg.get(0).and_then(Json::as_str).unwrap_or_default();
            let attr = arg.get(1).and_then(Json::as_str).unwrap_or_default();
            get_att(cx, n, id, attr, path);
        }
        "Fn::Sub" => {
            let (text, vars) = match arg {
                Json::String(s) => (s.as_str(), None),
                Json::Array(a) => {
                    (a.first().and_then(Json::as_str).unwrap_or_default(), a.get(1).and_then(Json::as_object))
                }
                _ => ("", None),
            };
            for var in sub_variables(text) {
                if vars.is_some_and(|m| m.contains_key(var)) {
                    continue;
                }
                match var.split_once('.') {
                    Some((id, attr)) => get_att(cx, n, id, attr, path),
                    None if n.resources.contains_key(var) || n.parameters.contains(var) || is_pseudo(var) => {}
                    None => cx.push(
                        &REF003,
                        path,
                        format!("Fn::Sub variable `${{{var}}}` resolves to nothing in this template"),
                    ),
                }
            }
        }
        "Fn::If" | "Condition" => {
            let c = if key == "Condition" { arg.as_str() } else { arg.get(0).and_then(Json::as_str) };
            // `Condition` is also a resource attribute and a key in IAM statements; only a
            // string that names nothing and sits in Conditions or Fn::If is a dangling reference.
            let in_conditions = path.starts_with("$.Conditions");
            if let Some(c) = c
                && (key == "Fn::If" || in_conditions)
                && !n.conditions.contains(c)
            {
                cx.push(&REF004, path, format!("condition `{c}` is not declared"));
            }
        }
        _ => {}
    }
}

fn get_att(cx: &mut Ctx<'_>, n: &Names<'_>, id: &str, attr: &str, path: &str) {
    match n.resources.get(id) {
        None => cx.push(&REF002, path, format!("Fn::GetAtt on `{id}`, which is not a resource of this template")),
        Some(attrs) if !attrs.contains(&attr) => {
            cx.push(&REF002, path, format!("`{id}` has no attribute `{attr}` (it has: {})", attrs.join(", ")))
        }
        Some(_) => {}
    }
}

pub(super) fn ids(cx: &mut Ctx<'_>, json: &Json) {
    let sections = ["Resources", "Parameters", "Outputs", "Conditions"];
    let all = sections.into_iter().flat_map(|section| {
        json.get(section).and_then(Json::as_object).into_iter().flatten().map(move |(id, _)| (section, id))
    });
    for (section, id) in all {
        if !valid_logical_id(id) {
            cx.push(&ID001, format!("$.{section}.{id}"), "logical ids are 1 to 255 ASCII letters and digits");
        }
    }
}
