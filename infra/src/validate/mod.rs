//! Rules over finished templates: references resolve, ids and names fit AWS limits, IAM names
//! its resources, alarms are well formed, and the environment's own policy holds. Findings are
//! data, never errors; nothing here calls AWS.

//!
//! One file per rule family; each declares its rules (id, severity, summary) in a `RULES` table,
//! which [`rules`] gathers and a test holds against `docs/validation.md`. To add a rule, add its
//! constant to its family's table, push findings with it, document it, and give it a bad case
//! with its path in `infra/tests/rule_cases.rs` (a test fails for a rule without one; the
//! shipped environments, which must have no finding, are every rule's good case).

mod account;
mod alarms;
pub mod bounds;
mod deploy;
mod handlers;
mod iam;
mod lambda;
mod lifecycle;
mod limits;
mod policy;
mod refs;
pub mod reservation;
mod schema;
mod signing;
mod sns;

use std::fmt;

use serde::Serialize;
use serde_json::Value as Json;

use crate::cfn::Template;
use crate::env::Environment;
use crate::stacks::Stack;

pub use account::{Sibling, account};
pub use handlers::{HANDLERS, ONLY_WITH_PROPERTY, action_matches, resource_matches};
pub use lambda::API_INTEGRATION_TIMEOUT_SECONDS;
pub use limits::{MAX_INLINE_TEMPLATE_BYTES, MAX_OUTPUTS, MAX_PARAMETERS, MAX_RESOURCES, MAX_TEMPLATE_BYTES};
pub use schema::{
    Literal, NODES, Node, PATTERN_TEXTS, SOURCE as SCHEMAS_SOURCE, SchemaPattern, TYPES, pattern, rust_syntax,
    type_schema,
};

/// A rule: its stable id, how bad a finding is, one line saying what it requires, and where
/// the requirement comes from. `docs/validation.md`'s rule table is generated from these
/// (`cargo run -- docs`; see [`rules_table`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The stable id findings carry (`LAMBDA001`): the family and a number.
    pub id: &'static str,
    /// How bad a finding of this rule is.
    pub severity: Severity,
    /// What the rule requires, in one line of Markdown.
    pub summary: &'static str,
    /// Where the requirement comes from: the AWS document or RFC section, or the project's own
    /// setting.
    pub source: &'static str,
}

/// The marker lines around the generated rule table of `docs/validation.md`.
pub const RULES_TABLE_MARKERS: (&str, &str) =
    ("<!-- rules: generated from infra::validate::rules() by `cargo run -- docs` -->", "<!-- end of rules -->");

/// The rule table of `docs/validation.md`, one row per rule in [`rules`] order: id, severity,
/// what it requires, source. Markdown, ending in a newline.
pub fn rules_table() -> String {
    let mut out = String::from("| id | severity | rule | source |\n| --- | --- | --- | --- |\n");
    for r in rules() {
        let sev = match r.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        out.push_str(&format!("| {} | {sev} | {} | {} |\n", r.id, r.summary, r.source));
    }
    out
}

/// `page` (the text of `docs/validation.md`) with its rule table replaced by [`rules_table`];
/// `None` when the page lacks the [`RULES_TABLE_MARKERS`].
pub fn with_rules_table(page: &str) -> Option<String> {
    let (start, end) = RULES_TABLE_MARKERS;
    let head = &page[..page.find(start)? + start.len()];
    let tail = &page[page.find(end)?..];
    Some(format!("{head}\n{}{tail}", rules_table()))
}

/// Every rule, family by family, in the order `docs/validation.md` lists them.
pub fn rules() -> Vec<&'static Rule> {
    [
        refs::RULES,
        limits::RULES,
        schema::RULES,
        iam::RULES,
        handlers::RULES,
        alarms::RULES,
        sns::RULES,
        deploy::RULES,
        lambda::RULES,
        signing::RULES,
        policy::RULES,
        lifecycle::RULES,
        account::RULES,
    ]
    .concat()
}

/// How bad a finding is: errors fail `validate` and `synth`, warnings are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Printed; `validate` and `synth` still succeed.
    Warning,
    /// Fails `validate`, and `synth` writes nothing.
    Error,
}

/// One problem in one template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable rule id, e.g. `IAM001`.
    pub rule: &'static str,
    /// The rule's severity.
    pub severity: Severity,
    /// The stack the template belongs to.
    pub stack: String,
    /// JSON path into the template, e.g. `$.Resources.TokenRole.Properties`.
    pub path: String,
    /// What is wrong and how to fix it, one line.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match self.stack.as_str() {
            // Rules over the environment file: the path names the file.
            "-" => write!(f, "{sev}[{}] {}: {}", self.rule, self.path, self.message),
            stack => write!(f, "{sev}[{}] {stack}: {}: {}", self.rule, self.path, self.message),
        }
    }
}

/// Runs every rule over every stack of `env`.
pub fn all(stacks: &[Stack], env: &Environment) -> Vec<Finding> {
    let mut cx = Ctx { stack: "-", out: Vec::new() };
    // Each template is serialized once; the cross-stack rules read them all.
    let jsons: Vec<(&str, Json)> = stacks.iter().map(|s| (s.name.as_str(), s.template.to_json())).collect();
    for (s, (name, json)) in stacks.iter().zip(&jsons) {
        cx.stack = name;
        template(&mut cx, &s.template, json, env);
    }
    cx.stack = "-";
    policy::environment(&mut cx, stacks, env);
    alarms::settings(&mut cx, env);
    deploy::limits(&mut cx, env);
    signing::capacity(&mut cx, env);
    schema::region(&mut cx, &jsons, env);
    cx.out.extend(cross_stack(&jsons));
    for f in &mut cx.out {
        let value = jsons.iter().find(|(n, _)| *n == f.stack).and_then(|(_, j)| value_at(j, &f.path));
        if let Some(from) = value.and_then(schema::literal_text).and_then(|text| env.origin(&text)) {
            f.message.push_str(&format!(" (from {from})"));
        }
    }
    cx.out
}

/// The value at a finding's path (`$.Resources.Id.Properties.Key[0].Sub`).
fn value_at<'a>(json: &'a Json, path: &str) -> Option<&'a Json> {
    let mut at = json;
    for part in path.strip_prefix("$.")?.split('.') {
        let (key, indexes) = part.split_once('[').map_or((part, ""), |(k, rest)| (k, rest));
        at = at.get(key)?;
        for index in indexes.split('[').filter(|i| !i.is_empty()) {
            at = at.get(index.trim_end_matches(']').parse::<usize>().ok()?)?;
        }
    }
    Some(at)
}

/// The rules that read every template of an environment together, given as (stack name, JSON):
/// alarms watch metrics some stack emits (ALARM006), canaries watch alarms that exist (DEPLOY001/2).
pub fn cross_stack(jsons: &[(&str, Json)]) -> Vec<Finding> {
    let mut cx = Ctx { stack: "-", out: Vec::new() };
    alarms::emitted_metrics(&mut cx, jsons);
    deploy::deployment_alarms(&mut cx, jsons);
    handlers::execution_role_covers_handlers(&mut cx, jsons);
    cx.out
}

/// Every per-template rule.
fn template(cx: &mut Ctx<'_>, t: &Template, json: &Json, env: &Environment) {
    refs::references(cx, t, json);
    limits::limits(cx, t);
    json_rules(cx, json, env);
}

/// The per-template rules that read only the template's JSON.
fn json_rules(cx: &mut Ctx<'_>, json: &Json, env: &Environment) {
    refs::ids(cx, json);
    refs::literals(cx, json, &mut JsonPath::new("$"));
    limits::names(cx, json);
    schema::schema(cx, json);
    iam::iam(cx, json);
    alarms::alarms(cx, json);
    alarms::alarm_actions(cx, json, env);
    sns::topics(cx, json);
    lambda::lambda(cx, json, env);
    policy::policy(cx, json, env);
    lifecycle::lifecycle(cx, json);
}

/// The rules that read only a template's JSON, over a template given as JSON (for checking
/// templates the typed model would not build, such as a hand-edited one).
pub fn template_json(stack: &str, json: &Json, env: &Environment) -> Vec<Finding> {
    let mut cx = Ctx { stack, out: Vec::new() };
    json_rules(&mut cx, json, env);
    cx.out
}

/// A JSON path (`$.Resources.Fn.Properties.Tags[0]`) grown and shrunk in place while a rule
/// walks a template, so the walk allocates only for the findings that keep a copy.
struct JsonPath(String);

impl JsonPath {
    /// The path `root` (`$`, or a resource's `$.Resources.Id.Properties`).
    fn new(root: impl Into<String>) -> Self {
        JsonPath(root.into())
    }

    fn as_str(&self) -> &str {
        &self.0
    }

    /// `f` on this path with `.key` appended.
    fn key<R>(&mut self, key: &str, f: impl FnOnce(&mut Self) -> R) -> R {
        let len = self.0.len();
        self.0.push('.');
        self.0.push_str(key);
        let out = f(self);
        self.0.truncate(len);
        out
    }

    /// `f` on this path with `[i]` appended.
    fn index<R>(&mut self, i: usize, f: impl FnOnce(&mut Self) -> R) -> R {
        let len = self.0.len();
        let _ = fmt::Write::write_fmt(&mut self.0, format_args!("[{i}]"));
        let out = f(self);
        self.0.truncate(len);
        out
    }
}

/// Where findings go while the rules run.
struct Ctx<'a> {
    stack: &'a str,
    out: Vec<Finding>,
}

impl Ctx<'_> {
    /// A finding of `rule` in the current stack.
    fn push(&mut self, rule: &'static Rule, path: impl Into<String>, message: impl Into<String>) {
        let stack = self.stack.to_owned();
        self.push_to(&stack, rule, path, message);
    }

    /// A finding of `rule` in `stack` (for rules that read several stacks).
    fn push_to(&mut self, stack: &str, rule: &'static Rule, path: impl Into<String>, message: impl Into<String>) {
        self.out.push(Finding {
            rule: rule.id,
            severity: rule.severity,
            stack: stack.to_owned(),
            path: path.into(),
            message: message.into(),
        });
    }
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

/// A string or a list of them, as IAM writes `Action` and `Resource`.
fn strings(v: Option<&Json>) -> Vec<String> {
    match v {
        Some(Json::String(s)) => vec![s.clone()],
        Some(Json::Array(a)) => a.iter().map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned)).collect(),
        Some(other) => vec![other.to_string()],
        None => vec![],
    }
}

/// `true` when any finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}
