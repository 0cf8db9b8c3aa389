//! The rules. Each pushes findings with a stable id; ids are listed in docs/validation.md.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use super::{Finding, Severity};
use crate::cfn::{Template, is_pseudo, valid_logical_id};
use crate::env::Environment;
use crate::stacks::Stack;

/// CloudFormation quotas (per template, uploaded through S3).
pub const MAX_TEMPLATE_BYTES: usize = 1_048_576;
/// The largest template `deploy` sends inline (`TemplateBody`).
pub const MAX_INLINE_TEMPLATE_BYTES: usize = 51_200;
pub const MAX_RESOURCES: usize = 500;
pub const MAX_OUTPUTS: usize = 200;
pub const MAX_PARAMETERS: usize = 200;
/// API Gateway's default integration timeout.
pub const API_INTEGRATION_TIMEOUT_SECONDS: u64 = 29;

/// Name properties with their AWS length limits: (type, property, max length).
const NAME_LIMITS: &[(&str, &str, usize)] = &[
    ("AWS::Lambda::Function", "FunctionName", 64),
    ("AWS::Logs::LogGroup", "LogGroupName", 512),
    ("AWS::SecretsManager::Secret", "Name", 512),
    ("AWS::KMS::Alias", "AliasName", 256),
    ("AWS::ApiGateway::RestApi", "Name", 1024),
    ("AWS::ApiGateway::Stage", "StageName", 128),
    ("AWS::WAFv2::WebACL", "Name", 128),
    ("AWS::IAM::Role", "RoleName", 64),
    ("AWS::SNS::Topic", "TopicName", 256),
    ("AWS::CloudWatch::Alarm", "AlarmName", 255),
    ("AWS::CloudWatch::Dashboard", "DashboardName", 255),
];

/// Actions that support no resource-level permissions, so `"Resource": "*"` is the only form.
const NO_RESOURCE_LEVEL: &[&str] = &[
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "cloudwatch:PutMetricData",
    "sts:GetCallerIdentity",
    "s3:ListAllMyBuckets",
    "logs:DescribeLogGroups",
    "kms:CreateKey",
    "cloudformation:DescribeStackDriftDetectionStatus",
];

/// Resource types that hold data worth keeping when a stack goes away.
const DATA_TYPES: &[&str] = &["AWS::KMS::Key", "AWS::SecretsManager::Secret", "AWS::Logs::LogGroup"];

struct Ctx<'a> {
    stack: &'a str,
    out: Vec<Finding>,
}

impl Ctx<'_> {
    fn push(&mut self, rule: &'static str, severity: Severity, path: impl Into<String>, message: impl Into<String>) {
        self.out.push(Finding {
            rule,
            severity,
            stack: self.stack.to_owned(),
            path: path.into(),
            message: message.into(),
        });
    }
}

/// Every per-template rule.
pub(super) fn check(stack: &str, t: &Template, env: &Environment) -> Vec<Finding> {
    let mut cx = Ctx { stack, out: Vec::new() };
    let json = t.to_json();
    references(&mut cx, t, &json);
    ids(&mut cx, t);
    limits(&mut cx, t);
    names(&mut cx, &json);
    iam(&mut cx, &json);
    alarms(&mut cx, &json);
    alarm_actions(&mut cx, &json, env);
    topics(&mut cx, &json);
    lambda(&mut cx, &json);
    policy(&mut cx, &json, env);
    cx.out
}

/// Rules over the environment as a whole.
pub(super) fn environment(stacks: &[Stack], env: &Environment) -> Vec<Finding> {
    let file = env.source.display().to_string();
    let mut cx = Ctx { stack: "-", out: Vec::new() };
    let p = &env.policy;
    if p.require_termination_protection && !env.termination_protection {
        cx.push(
            "POL001",
            Severity::Error,
            format!("{file}:termination_protection"),
            "policy requires termination protection; set termination_protection: true",
        );
    }
    let has_waf =
        stacks.iter().any(|s| s.template.resources().values().any(|r| r.r#type == "AWS::WAFv2::WebACLAssociation"));
    if p.require_waf && !has_waf {
        cx.push(
            "POL003",
            Severity::Error,
            format!("{file}:api.waf"),
            "policy requires a WAF web ACL in front of the API; add api.waf",
        );
    }
    // The cross-stack rules read every template: serialize each once.
    let jsons: Vec<(&str, Json)> = stacks.iter().map(|s| (s.name.as_str(), s.template.to_json())).collect();
    emitted_metrics(&mut cx, &jsons);
    deployment_alarms(&mut cx, &jsons);
    cx.out
}

fn resources(json: &Json) -> impl Iterator<Item = (&String, &Json)> {
    json.get("Resources").and_then(Json::as_object).into_iter().flatten()
}

fn props<'a>(r: &'a Json, name: &str) -> Option<&'a Json> {
    r.get("Properties").and_then(|p| p.get(name))
}

fn rtype(r: &Json) -> &str {
    r.get("Type").and_then(Json::as_str).unwrap_or_default()
}

// ---- REF: references -------------------------------------------------------------------------

struct Names<'a> {
    resources: BTreeMap<&'a str, &'static [&'static str]>,
    parameters: BTreeSet<&'a str>,
    conditions: BTreeSet<&'a str>,
}

fn references(cx: &mut Ctx<'_>, t: &Template, json: &Json) {
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
                    "REF004",
                    Severity::Error,
                    format!("{base}.DependsOn[{i}]"),
                    format!("DependsOn names `{dep}`, which is not a resource of this template"),
                );
            }
        }
        if let Some(c) = &r.condition
            && !names.conditions.contains(c.as_str())
        {
            cx.push("REF004", Severity::Error, format!("{base}.Condition"), format!("condition `{c}` is not declared"));
        }
    }
    walk(cx, &names, json, "$");
}

fn walk(cx: &mut Ctx<'_>, n: &Names<'_>, v: &Json, path: &str) {
    match v {
        Json::Object(map) => {
            if map.len() == 1
                && let Some((k, arg)) = map.iter().next()
            {
                intrinsic(cx, n, k, arg, &format!("{path}.{k}"));
            }
            for (k, child) in map {
                walk(cx, n, child, &format!("{path}.{k}"));
            }
        }
        Json::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(cx, n, child, &format!("{path}[{i}]"));
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
                    "REF001",
                    Severity::Error,
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
                        "REF003",
                        Severity::Error,
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
                cx.push("REF004", Severity::Error, path, format!("condition `{c}` is not declared"));
            }
        }
        _ => {}
    }
}

fn get_att(cx: &mut Ctx<'_>, n: &Names<'_>, id: &str, attr: &str, path: &str) {
    match n.resources.get(id) {
        None => cx.push(
            "REF002",
            Severity::Error,
            path,
            format!("Fn::GetAtt on `{id}`, which is not a resource of this template"),
        ),
        Some(attrs) if !attrs.contains(&attr) => cx.push(
            "REF002",
            Severity::Error,
            path,
            format!("`{id}` has no attribute `{attr}` (it has: {})", attrs.join(", ")),
        ),
        Some(_) => {}
    }
}

/// The `${…}` variables of a `Fn::Sub` string, skipping `${!literal}`.
pub(crate) fn sub_variables(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let var = &after[..end];
        if !var.starts_with('!') {
            out.push(var.trim());
        }
        rest = &after[end + 1..];
    }
    out
}

// ---- ID, LIM ---------------------------------------------------------------------------------

fn ids(cx: &mut Ctx<'_>, t: &Template) {
    let all = t
        .resources()
        .keys()
        .map(|k| ("Resources", k))
        .chain(t.parameters().keys().map(|k| ("Parameters", k)))
        .chain(t.outputs().keys().map(|k| ("Outputs", k)));
    for (section, id) in all {
        if !valid_logical_id(id) {
            cx.push(
                "ID001",
                Severity::Error,
                format!("$.{section}.{id}"),
                "logical ids are 1 to 255 ASCII letters and digits",
            );
        }
    }
}

fn limits(cx: &mut Ctx<'_>, t: &Template) {
    let size = t.to_json_string().len();
    if size > MAX_TEMPLATE_BYTES {
        cx.push(
            "LIM001",
            Severity::Error,
            "$",
            format!("template is {size} bytes; CloudFormation accepts at most {MAX_TEMPLATE_BYTES}"),
        );
    } else if size > MAX_INLINE_TEMPLATE_BYTES {
        cx.push(
            "LIM001",
            Severity::Error,
            "$",
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
                "LIM002",
                Severity::Error,
                format!("$.{section}"),
                format!("{n} {section}; a template may have at most {max}: split the stack"),
            );
        }
    }
}

// ---- NAME ------------------------------------------------------------------------------------

fn names(cx: &mut Ctx<'_>, json: &Json) {
    for (id, r) in resources(json) {
        let ty = rtype(r);
        for (_, prop, max) in NAME_LIMITS.iter().filter(|(t, _, _)| *t == ty) {
            let Some(name) = props(r, prop).and_then(Json::as_str) else { continue };
            let path = format!("$.Resources.{id}.Properties.{prop}");
            if name.is_empty() || name.len() > *max {
                cx.push(
                    "NAME001",
                    Severity::Error,
                    &path,
                    format!("`{name}` is {} characters; {ty} {prop} allows 1 to {max}", name.len()),
                );
            }
            if ty == "AWS::KMS::Alias" && (!name.starts_with("alias/") || name.starts_with("alias/aws/")) {
                cx.push(
                    "NAME002",
                    Severity::Error,
                    &path,
                    format!("`{name}` must start with alias/ and not with alias/aws/"),
                );
            }
        }
    }
}

// ---- IAM -------------------------------------------------------------------------------------

fn strings(v: Option<&Json>) -> Vec<String> {
    match v {
        Some(Json::String(s)) => vec![s.clone()],
        Some(Json::Array(a)) => a.iter().map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned)).collect(),
        Some(other) => vec![other.to_string()],
        None => vec![],
    }
}

/// Identity policy documents of a resource, with their paths.
fn identity_policies<'a>(id: &str, r: &'a Json) -> Vec<(String, &'a Json)> {
    let base = format!("$.Resources.{id}.Properties");
    match rtype(r) {
        "AWS::IAM::Role" | "AWS::IAM::User" | "AWS::IAM::Group" => props(r, "Policies")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, p)| p.get("PolicyDocument").map(|d| (format!("{base}.Policies[{i}].PolicyDocument"), d)))
            .collect(),
        "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => {
            props(r, "PolicyDocument").map(|d| vec![(format!("{base}.PolicyDocument"), d)]).unwrap_or_default()
        }
        _ => vec![],
    }
}

fn iam(cx: &mut Ctx<'_>, json: &Json) {
    for (id, r) in resources(json) {
        for (doc_path, doc) in identity_policies(id, r) {
            let statements = doc.get("Statement").and_then(Json::as_array).into_iter().flatten();
            for (i, st) in statements.enumerate() {
                let path = format!("{doc_path}.Statement[{i}]");
                if st.get("Effect").and_then(Json::as_str) != Some("Allow") {
                    continue;
                }
                let actions = strings(st.get("Action"));
                let resources = strings(st.get("Resource"));
                for a in &actions {
                    if a == "*" || a.ends_with(":*") {
                        cx.push(
                            "IAM002",
                            Severity::Error,
                            format!("{path}.Action"),
                            format!("`{a}` allows every action; list the actions the role needs"),
                        );
                    }
                }
                if st.get("NotAction").is_some() || st.get("NotResource").is_some() {
                    cx.push(
                        "IAM003",
                        Severity::Error,
                        &path,
                        "Allow with NotAction or NotResource grants more than it names; list actions and resources",
                    );
                }
                if resources.iter().any(|r| r == "*") {
                    let scoped: Vec<&String> =
                        actions.iter().filter(|a| !NO_RESOURCE_LEVEL.contains(&a.as_str())).collect();
                    if !scoped.is_empty() {
                        cx.push(
                            "IAM001",
                            Severity::Error,
                            format!("{path}.Resource"),
                            format!(
                                "`*` resource for {}, which can be scoped to named resources; name them",
                                scoped.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
                            ),
                        );
                    }
                }
            }
        }
    }
}

// ---- ALARM -----------------------------------------------------------------------------------

/// `true` for a period CloudWatch alarms accept: 10, 30 or a multiple of 60 seconds.
pub fn valid_alarm_period(p: u64) -> bool {
    p == 10 || p == 30 || (p >= 60 && p.is_multiple_of(60))
}

fn alarms(cx: &mut Ctx<'_>, json: &Json) {
    for (id, r) in resources(json).filter(|(_, r)| rtype(r) == "AWS::CloudWatch::Alarm") {
        let base = format!("$.Resources.{id}.Properties");
        let num = |k: &str| props(r, k).and_then(Json::as_u64);
        let has_metric = props(r, "MetricName").is_some();
        let metrics = props(r, "Metrics").and_then(Json::as_array);
        if has_metric == metrics.is_some() {
            cx.push("ALARM001", Severity::Error, &base, "an alarm needs exactly one of MetricName or Metrics");
        }
        // The period of a single-metric alarm, or of each metric in a math alarm.
        let mut periods: Vec<(String, u64)> =
            num("Period").map(|p| vec![(format!("{base}.Period"), p)]).unwrap_or_default();
        for (i, m) in metrics.into_iter().flatten().enumerate() {
            if let Some(p) = m.pointer("/MetricStat/Period").and_then(Json::as_u64) {
                periods.push((format!("{base}.Metrics[{i}].MetricStat.Period"), p));
            }
        }
        for (path, p) in &periods {
            if !valid_alarm_period(*p) {
                cx.push(
                    "ALARM002",
                    Severity::Error,
                    path,
                    format!("period {p} s: CloudWatch alarms take 10, 30 or a multiple of 60"),
                );
            }
        }
        let evals = num("EvaluationPeriods").unwrap_or(0);
        if evals == 0 {
            cx.push(
                "ALARM003",
                Severity::Error,
                format!("{base}.EvaluationPeriods"),
                "EvaluationPeriods must be at least 1",
            );
        }
        if let Some(dp) = num("DatapointsToAlarm")
            && (dp == 0 || dp > evals)
        {
            cx.push(
                "ALARM003",
                Severity::Error,
                format!("{base}.DatapointsToAlarm"),
                format!("DatapointsToAlarm {dp} must be between 1 and EvaluationPeriods ({evals})"),
            );
        }
        if let Some(max) = periods.iter().map(|(_, p)| *p).max()
            && evals * max > 86_400
        {
            cx.push(
                "ALARM004",
                Severity::Error,
                format!("{base}.EvaluationPeriods"),
                format!(
                    "EvaluationPeriods x Period = {} s; CloudWatch evaluates at most one day (86400 s)",
                    evals * max
                ),
            );
        }
        if props(r, "ComparisonOperator").is_none() {
            cx.push("ALARM001", Severity::Error, &base, "an alarm needs a ComparisonOperator");
        }
        let threshold = props(r, "Threshold").is_some();
        let band = props(r, "ThresholdMetricId").is_some();
        if threshold == band {
            cx.push("ALARM001", Severity::Error, &base, "an alarm needs exactly one of Threshold or ThresholdMetricId");
        }
    }
}

// ---- LAMBDA ----------------------------------------------------------------------------------

fn lambda(cx: &mut Ctx<'_>, json: &Json) {
    let has_api = resources(json).any(|(_, r)| rtype(r) == "AWS::ApiGateway::Method");
    for (id, r) in resources(json).filter(|(_, r)| rtype(r) == "AWS::Lambda::Function") {
        if let Some(t) = props(r, "Timeout").and_then(Json::as_u64)
            && has_api
            && t > API_INTEGRATION_TIMEOUT_SECONDS
        {
            cx.push(
                "LAMBDA001",
                Severity::Warning,
                format!("$.Resources.{id}.Properties.Timeout"),
                format!("timeout {t} s exceeds API Gateway's {API_INTEGRATION_TIMEOUT_SECONDS} s integration timeout; callers get 504 first"),
            );
        }
    }
}

// ---- POL: the environment's own policy -------------------------------------------------------

fn policy(cx: &mut Ctx<'_>, json: &Json, env: &Environment) {
    let p = &env.policy;
    let min = p.min_log_retention_days.get();
    for (id, r) in resources(json) {
        let ty = rtype(r);
        let base = format!("$.Resources.{id}");
        if ty == "AWS::Logs::LogGroup" {
            match props(r, "RetentionInDays").and_then(Json::as_u64) {
                Some(d) if d >= u64::from(min) => {}
                Some(d) => cx.push("POL002", Severity::Error, format!("{base}.Properties.RetentionInDays"), format!("retention {d} days is below this environment's minimum of {min} (policy.min_log_retention_days)")),
                None => cx.push("POL002", Severity::Error, format!("{base}.Properties"), "log group keeps logs forever; set RetentionInDays"),
            }
        }
        if ty == "AWS::Lambda::Function"
            && p.require_reserved_concurrency
            && props(r, "ReservedConcurrentExecutions").is_none()
        {
            cx.push(
                "POL004",
                Severity::Error,
                format!("{base}.Properties"),
                "policy requires reserved concurrency; set function.reserved_concurrency",
            );
        }
        if p.require_retain_on_delete
            && DATA_TYPES.contains(&ty)
            && r.get("DeletionPolicy").and_then(Json::as_str) != Some("Retain")
        {
            cx.push(
                "POL005",
                Severity::Error,
                format!("{base}.DeletionPolicy"),
                format!("policy requires {ty} to be retained on delete; set retain_data_on_delete: true"),
            );
        }
    }
}

// ---- ALARM005: actions ------------------------------------------------------------------------

fn alarm_actions(cx: &mut Ctx<'_>, json: &Json, env: &Environment) {
    if !env.policy.require_alarm_actions {
        return;
    }
    for (id, r) in resources(json).filter(|(_, r)| rtype(r) == "AWS::CloudWatch::Alarm") {
        for prop in ["AlarmActions", "OKActions"] {
            let empty = props(r, prop).and_then(Json::as_array).is_none_or(Vec::is_empty);
            if empty {
                cx.push(
                    "ALARM005",
                    Severity::Error,
                    format!("$.Resources.{id}.Properties.{prop}"),
                    format!("policy requires every alarm to notify: {prop} is empty"),
                );
            }
        }
        if props(r, "ActionsEnabled").and_then(Json::as_bool) == Some(false) {
            cx.push(
                "ALARM005",
                Severity::Error,
                format!("$.Resources.{id}.Properties.ActionsEnabled"),
                "policy requires alarm actions to be enabled",
            );
        }
    }
}

// ---- SNS: alert topics CloudWatch can publish to ------------------------------------------

/// `true` when a key policy lets CloudWatch use the key to publish alarms.
fn lets_cloudwatch_publish(key: &Json) -> bool {
    let statements = props(key, "KeyPolicy").and_then(|p| p.get("Statement")).and_then(Json::as_array);
    statements.into_iter().flatten().any(|st| {
        let service = strings(st.pointer("/Principal/Service"));
        let actions = strings(st.get("Action"));
        st.get("Effect").and_then(Json::as_str) == Some("Allow")
            && service.iter().any(|s| s == "cloudwatch.amazonaws.com")
            && actions.iter().any(|a| a == "kms:Decrypt" || a == "kms:*")
            && actions.iter().any(|a| a == "kms:GenerateDataKey*" || a == "kms:*")
    })
}

fn topics(cx: &mut Ctx<'_>, json: &Json) {
    let all: Vec<(&String, &Json)> = resources(json).collect();
    for (id, r) in all.iter().filter(|(_, r)| rtype(r) == "AWS::SNS::Topic") {
        let path = format!("$.Resources.{id}.Properties.KmsMasterKeyId");
        match props(r, "KmsMasterKeyId") {
            None => cx.push("SNS001", Severity::Error, path, "alert topic is not encrypted; use a customer-managed KMS key"),
            Some(Json::String(k)) if k.ends_with("alias/aws/sns") => cx.push(
                "SNS001",
                Severity::Error,
                path,
                "alias/aws/sns cannot be used by CloudWatch: alarm notifications would be silently dropped; use a customer-managed key",
            ),
            Some(k) => {
                let target = k.get("Ref").or_else(|| k.pointer("/Fn::GetAtt/0")).and_then(Json::as_str);
                let key = target.and_then(|t| all.iter().find(|(kid, _)| kid.as_str() == t)).map(|(_, r)| *r);
                if let Some(key) = key
                    && !lets_cloudwatch_publish(key)
                {
                    cx.push(
                        "SNS002",
                        Severity::Error,
                        path,
                        format!("the key policy of `{}` does not let cloudwatch.amazonaws.com use kms:Decrypt and kms:GenerateDataKey*", target.unwrap_or_default()),
                    );
                }
            }
        }
    }
}

// ---- ALARM006: every alarm watches a metric some resource emits ----------------------------

/// Metric sources the stacks create: function names, (API name, stage) pairs, and the
/// `Service` names the functions put on their own metrics.
#[derive(Default)]
struct Emitters {
    functions: BTreeSet<String>,
    apis: BTreeSet<(String, String)>,
    services: BTreeSet<String>,
}

fn emitters(jsons: &[(&str, Json)]) -> Emitters {
    let mut e = Emitters::default();
    for (_, json) in jsons {
        let mut api_names = BTreeMap::new();
        for (id, r) in resources(json) {
            match rtype(r) {
                "AWS::Lambda::Function" => {
                    if let Some(n) = props(r, "FunctionName").and_then(Json::as_str) {
                        e.functions.insert(n.to_owned());
                    }
                    if let Some(n) = props(r, "Environment")
                        .and_then(|v| v.pointer("/Variables/SERVICE_NAME"))
                        .and_then(Json::as_str)
                    {
                        e.services.insert(n.to_owned());
                    }
                }
                "AWS::ApiGateway::RestApi" => {
                    if let Some(n) = props(r, "Name").and_then(Json::as_str) {
                        api_names.insert(id.clone(), n.to_owned());
                    }
                }
                _ => {}
            }
        }
        for (_, r) in resources(json).filter(|(_, r)| rtype(r) == "AWS::ApiGateway::Stage") {
            let api = props(r, "RestApiId")
                .and_then(|v| v.get("Ref"))
                .and_then(Json::as_str)
                .and_then(|id| api_names.get(id));
            if let (Some(api), Some(stage)) = (api, props(r, "StageName").and_then(Json::as_str)) {
                e.apis.insert((api.clone(), stage.to_owned()));
            }
        }
    }
    e
}

/// Lambda and API Gateway metrics an alarm may watch.
const LAMBDA_METRICS: &[&str] = &["Errors", "Throttles", "Duration", "ConcurrentExecutions", "Invocations"];
const API_METRICS: &[&str] = &["Count", "4XXError", "5XXError", "Latency", "IntegrationLatency"];

fn emitted_metrics(cx: &mut Ctx<'_>, jsons: &[(&str, Json)]) {
    let e = emitters(jsons);
    for (stack, json) in jsons {
        for (id, r) in resources(json).filter(|(_, r)| rtype(r) == "AWS::CloudWatch::Alarm") {
            let base = format!("$.Resources.{id}.Properties");
            let mut watched: Vec<(String, &Json)> = Vec::new();
            if let Some(p) = r.get("Properties").filter(|p| p.get("MetricName").is_some()) {
                watched.push((base.clone(), p));
            }
            for (i, m) in props(r, "Metrics").and_then(Json::as_array).into_iter().flatten().enumerate() {
                if let Some(metric) = m.pointer("/MetricStat/Metric") {
                    watched.push((format!("{base}.Metrics[{i}].MetricStat.Metric"), metric));
                }
            }
            for (path, m) in watched {
                let ns = m.get("Namespace").and_then(Json::as_str).unwrap_or_default();
                let name = m.get("MetricName").and_then(Json::as_str).unwrap_or_default();
                let dims: BTreeMap<&str, &str> = m
                    .get("Dimensions")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|d| Some((d.get("Name")?.as_str()?, d.get("Value")?.as_str()?)))
                    .collect();
                let d = |k: &str| dims.get(k).copied().unwrap_or_default().to_owned();
                let problem = match ns {
                    "AWS/Lambda" if !LAMBDA_METRICS.contains(&name) => {
                        Some(format!("AWS/Lambda has no metric `{name}`"))
                    }
                    "AWS/Lambda" if !e.functions.contains(&d("FunctionName")) => {
                        Some(format!("no function named `{}` in this environment's stacks", d("FunctionName")))
                    }
                    "AWS/ApiGateway" if !API_METRICS.contains(&name) => {
                        Some(format!("AWS/ApiGateway has no metric `{name}`"))
                    }
                    "AWS/ApiGateway" if !e.apis.contains(&(d("ApiName"), d("Stage"))) => Some(format!(
                        "no API `{}` with stage `{}` in this environment's stacks",
                        d("ApiName"),
                        d("Stage")
                    )),
                    "AWS/Lambda" | "AWS/ApiGateway" => None,
                    ns if ns == token_function::telemetry::NAMESPACE => {
                        let known =
                            [token_function::telemetry::TOKENS_ISSUED, token_function::telemetry::AUTH_FAILURES];
                        if !known.contains(&name) {
                            Some(format!("the token function writes no metric `{name}`"))
                        } else if !e.services.contains(&d(token_function::telemetry::DIMENSION_SERVICE)) {
                            Some(format!(
                                "no function writes metrics for service `{}`",
                                d(token_function::telemetry::DIMENSION_SERVICE)
                            ))
                        } else {
                            None
                        }
                    }
                    other => Some(format!("namespace `{other}` is written by no resource of this environment")),
                };
                if let Some(p) = problem {
                    cx.out.push(Finding {
                        rule: "ALARM006",
                        severity: Severity::Error,
                        stack: (*stack).to_owned(),
                        path,
                        message: format!("alarm can never fire: {p}"),
                    });
                }
            }
        }
    }
}

// ---- DEPLOY001: canary deployments watch alarms that exist ---------------------------------

fn deployment_alarms(cx: &mut Ctx<'_>, jsons: &[(&str, Json)]) {
    let names: BTreeSet<&str> = jsons
        .iter()
        .flat_map(|(_, j)| {
            resources(j)
                .filter(|(_, r)| rtype(r) == "AWS::CloudWatch::Alarm")
                .filter_map(|(_, r)| props(r, "AlarmName").and_then(Json::as_str))
        })
        .collect();
    for (stack, json) in jsons {
        for (id, r) in resources(json).filter(|(_, r)| rtype(r) == "AWS::CodeDeploy::DeploymentGroup") {
            let alarms = props(r, "AlarmConfiguration").and_then(|a| a.get("Alarms")).and_then(Json::as_array);
            if alarms.is_none_or(Vec::is_empty) {
                cx.out.push(Finding {
                    rule: "DEPLOY001",
                    severity: Severity::Warning,
                    stack: (*stack).to_owned(),
                    path: format!("$.Resources.{id}.Properties.AlarmConfiguration"),
                    message: "the canary watches no alarm, so a bad version is never rolled back automatically".into(),
                });
            }
            for (i, a) in alarms.into_iter().flatten().enumerate() {
                let name = a.get("Name").and_then(Json::as_str).unwrap_or_default();
                if !names.contains(name) {
                    cx.out.push(Finding {
                        rule: "DEPLOY001",
                        severity: Severity::Error,
                        stack: (*stack).to_owned(),
                        path: format!("$.Resources.{id}.Properties.AlarmConfiguration.Alarms[{i}]"),
                        message: format!("alarm `{name}` is defined by no stack of this environment"),
                    });
                }
            }
        }
    }
}
