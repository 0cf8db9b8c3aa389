//! Alarms are well formed, notify, and watch metrics that exist (ALARM).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use super::bounds::Admissible;
use super::{Ctx, Rule, Severity, props, resources, rtype};
use crate::env::Environment;
use crate::stacks::alarms as catalogue;

/// ALARM001.
pub const ALARM001: Rule = Rule {
    id: "ALARM001",
    severity: Severity::Error,
    summary: "an alarm has exactly one of `MetricName`/`Metrics`, a `ComparisonOperator`, and exactly one of `Threshold`/`ThresholdMetricId`",
    source: "CloudWatch API reference, \"PutMetricAlarm\"",
};
/// ALARM002.
pub const ALARM002: Rule = Rule {
    id: "ALARM002",
    severity: Severity::Error,
    summary: "alarm periods are 10, 20, 30 or a multiple of 60 seconds",
    source: "CloudWatch API reference, \"PutMetricAlarm\" (Period)",
};
/// ALARM003.
pub const ALARM003: Rule = Rule {
    id: "ALARM003",
    severity: Severity::Error,
    summary: "`EvaluationPeriods` at least 1; `DatapointsToAlarm` between 1 and `EvaluationPeriods`",
    source: "CloudWatch API reference, \"PutMetricAlarm\" (EvaluationPeriods, DatapointsToAlarm)",
};
/// ALARM004.
pub const ALARM004: Rule = Rule {
    id: "ALARM004",
    severity: Severity::Error,
    summary: "`EvaluationPeriods` x `Period` at most one day, or seven days when the period is an hour or more",
    source: "CloudWatch API reference, \"PutMetricAlarm\" (EvaluationPeriods)",
};
/// ALARM010.
pub const ALARM010: Rule = Rule {
    id: "ALARM010",
    severity: Severity::Error,
    summary: "`policy.require_alarm_actions`: every SNS topic an alarm notifies has a subscription; CloudWatch publishes to a topic without one and nobody is told",
    source: "Amazon SNS developer guide, \"Subscribing to a topic\"",
};

/// ALARM005.
pub const ALARM005: Rule = Rule {
    id: "ALARM005",
    severity: Severity::Error,
    summary: "`policy.require_alarm_actions`: every alarm has `AlarmActions` and `OKActions`, and actions enabled",
    source: "the environment file's `policy` section (docs/environments.md)",
};
/// ALARM006.
pub const ALARM006: Rule = Rule {
    id: "ALARM006",
    severity: Severity::Error,
    summary: "every alarm watches a metric a resource of the environment emits: the function's name, the API's name and stage, the token function's own metrics and `Service`",
    source: "CloudWatch User Guide, \"AWS services that publish CloudWatch metrics\"; Lambda developer guide, \"Types of metrics for Lambda functions\"; API Gateway developer guide, \"Amazon API Gateway dimensions and metrics\"",
};

/// The rules of this family.
/// ALARM007.
pub const ALARM007: Rule = Rule {
    id: "ALARM007",
    severity: Severity::Error,
    summary: "an alarm's `period_seconds` is a multiple of its metric's resolution (60 s for AWS/Lambda, AWS/ApiGateway and the function's own metrics), or it lapses into INSUFFICIENT_DATA",
    source: "CloudWatch User Guide, \"CloudWatch concepts\" (metric resolution)",
};
/// ALARM008.
pub const ALARM008: Rule = Rule {
    id: "ALARM008",
    severity: Severity::Error,
    summary: "every alarm's threshold can be crossed: below the metric's ceiling (100 % for rates, the reserved concurrency, the function timeout, API Gateway's 29 s integration timeout) and, for alarms that fire below, above 0",
    source: "API Gateway developer guide, \"Amazon API Gateway quotas\" (29 s integration timeout); Lambda developer guide, \"Lambda quotas\"",
};
/// ALARM009.
pub const ALARM009: Rule = Rule {
    id: "ALARM009",
    severity: Severity::Error,
    summary: "every alarm a canary watches can fire during the canary: `period_seconds` x `datapoints_to_alarm` at most the time traffic is held at the canary step (and at most `rollback_monitoring_minutes`, when set), and a threshold on a share of requests reachable by the canary's share of traffic (10 %) failing",
    source: "CodeDeploy User Guide, \"Deployment configurations on an AWS Lambda compute platform\"",
};

/// The rules of this family.
pub const RULES: &[&Rule] =
    &[&ALARM001, &ALARM002, &ALARM003, &ALARM004, &ALARM005, &ALARM006, &ALARM007, &ALARM008, &ALARM009, &ALARM010];

pub(super) fn alarms(cx: &mut Ctx<'_>, json: &Json) {
    for (id, r) in resources(json).filter(|(_, r)| rtype(r) == "AWS::CloudWatch::Alarm") {
        let base = format!("$.Resources.{id}.Properties");
        let num = |k: &str| props(r, k).and_then(Json::as_u64);
        let has_metric = props(r, "MetricName").is_some();
        let metrics = props(r, "Metrics").and_then(Json::as_array);
        if has_metric == metrics.is_some() {
            cx.push(&ALARM001, &base, "an alarm needs exactly one of MetricName or Metrics");
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
            if !crate::env::is_alarm_period(*p) {
                cx.push(
                    &ALARM002,
                    path,
                    format!("period {p} s: CloudWatch alarms take 10, 20, 30 or a multiple of 60"),
                );
            }
        }
        let evals = num("EvaluationPeriods").unwrap_or(0);
        if evals == 0 {
            cx.push(&ALARM003, format!("{base}.EvaluationPeriods"), "EvaluationPeriods must be at least 1");
        }
        if let Some(dp) = num("DatapointsToAlarm")
            && (dp == 0 || dp > evals)
        {
            cx.push(
                &ALARM003,
                format!("{base}.DatapointsToAlarm"),
                format!("DatapointsToAlarm {dp} must be between 1 and EvaluationPeriods ({evals})"),
            );
        }
        if let Some(period) = periods.iter().map(|(_, p)| *p).max() {
            let limit = crate::env::max_evaluation_seconds(u32::try_from(period).unwrap_or(u32::MAX));
            if evals * period > limit {
                cx.push(
                    &ALARM004,
                    format!("{base}.EvaluationPeriods"),
                    format!("EvaluationPeriods x Period = {} s; with a {period} s period CloudWatch evaluates at most {limit} s", evals * period),
                );
            }
        }
        if props(r, "ComparisonOperator").is_none() {
            cx.push(&ALARM001, &base, "an alarm needs a ComparisonOperator");
        }
        let threshold = props(r, "Threshold").is_some();
        let band = props(r, "ThresholdMetricId").is_some();
        if threshold == band {
            cx.push(&ALARM001, &base, "an alarm needs exactly one of Threshold or ThresholdMetricId");
        }
    }
}

pub(super) fn alarm_actions(cx: &mut Ctx<'_>, json: &Json, env: &Environment) {
    if !env.policy.require_alarm_actions {
        return;
    }
    for (id, r) in resources(json).filter(|(_, r)| rtype(r) == "AWS::CloudWatch::Alarm") {
        for prop in ["AlarmActions", "OKActions"] {
            let empty = props(r, prop).and_then(Json::as_array).is_none_or(Vec::is_empty);
            if empty {
                cx.push(
                    &ALARM005,
                    format!("$.Resources.{id}.Properties.{prop}"),
                    format!("policy requires every alarm to notify: {prop} is empty"),
                );
            }
        }
        for action in props(r, "AlarmActions").and_then(Json::as_array).into_iter().flatten() {
            let Some(topic) = action.get("Ref").and_then(Json::as_str) else { continue };
            let subscribed = resources(json).any(|(_, s)| {
                rtype(s) == "AWS::SNS::Subscription"
                    && props(s, "TopicArn").and_then(|a| a.get("Ref")) == Some(&Json::from(topic))
            }) || props(&json["Resources"][topic], "Subscription")
                .and_then(Json::as_array)
                .is_some_and(|s| !s.is_empty());
            if !subscribed {
                cx.push(
                    &ALARM010,
                    format!("$.Resources.{id}.Properties.AlarmActions"),
                    format!("{topic} has no subscription: the alarm would fire and nobody would be told; add emails or webhooks for this severity under monitoring.notifications"),
                );
            }
        }
        if props(r, "ActionsEnabled").and_then(Json::as_bool) == Some(false) {
            cx.push(
                &ALARM005,
                format!("$.Resources.{id}.Properties.ActionsEnabled"),
                "policy requires alarm actions to be enabled",
            );
        }
    }
}

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

pub(super) fn emitted_metrics(cx: &mut Ctx<'_>, jsons: &[(&str, Json)]) {
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
                    cx.push_to(stack, &ALARM006, path, format!("alarm can never fire: {p}"));
                }
            }
        }
    }
}

/// The environment's alarm settings against the catalogue: each metric's resolution, each
/// threshold's reachable range, and the canary window (ALARM007-009). Findings point at the
/// environment file's key and line.
pub(super) fn settings(cx: &mut Ctx<'_>, env: &Environment) {
    let canary_window = env.function.canary.as_ref().map(|c| c.deployment.window_seconds());
    let watched: BTreeSet<&str> = catalogue::critical(env).map(|d| d.key).collect();
    canary_share(cx, env, &watched);
    rollback_monitoring(cx, env);
    for def in catalogue::ALARMS.iter().filter(|d| catalogue::applies(env, d)) {
        let Ok(s) = catalogue::settings(env, def) else { continue };
        let key = |field: &str| env.locate(&format!("monitoring.alarms.{}.{field}", def.key));
        if !s.period_seconds.is_multiple_of(def.resolution_seconds) {
            cx.push(
                &ALARM007,
                key("period_seconds"),
                format!(
                    "{} s: {} is stored every {} s, so the alarm would lapse into INSUFFICIENT_DATA; use a multiple of {}",
                    s.period_seconds, def.title, def.resolution_seconds, def.resolution_seconds
                ),
            );
        }
        if !left_to_the_reservation(env, def)
            && let Some(problem) = concurrency_conflict(env, def).or_else(|| catalogue::unreachable(env, def))
        {
            cx.push(&ALARM008, key("threshold"), problem);
        }
        if let Some(window) = canary_window.filter(|_| watched.contains(def.key)) {
            let needs = s.period_seconds * s.datapoints_to_alarm;
            if window == 0 {
                cx.push(
                    &ALARM009,
                    env.locate("function.canary.deployment"),
                    format!("AllAtOnce shifts all traffic at once, so {} cannot roll it back: choose a Canary or Linear configuration, or make the alarm severity warning", def.key),
                );
            } else if needs > window {
                cx.push(
                    &ALARM009,
                    key("period_seconds"),
                    format!(
                        "the canary watches this alarm for {window} s, but it needs {} x {} s = {needs} s of bad data to fire: shorten period_seconds or datapoints_to_alarm",
                        s.datapoints_to_alarm, s.period_seconds
                    ),
                );
            }
        }
    }
}

/// Where no reservation fits the file's rules, the reservation's own finding says what to
/// change (`super::reservation`), and ALARM008 is silent on the concurrency alarm's threshold.
fn left_to_the_reservation(env: &Environment, def: &catalogue::AlarmDef) -> bool {
    def.metric == crate::alarms::Metric::LambdaConcurrency && super::reservation::conflict(env).is_some()
}

/// With reserved concurrency `r` the concurrency alarm compares `floor(r x threshold / 100)` whole
/// executions: a threshold under one execution fires whenever the function runs, and `r` can
/// never be exceeded. At `r = 1` no threshold is left; the message says what to change instead
/// (the reservation, which ACCT001 checks against the account).
fn concurrency_conflict(env: &Environment, def: &catalogue::AlarmDef) -> Option<String> {
    let r = env.function.reserved_concurrency.filter(|_| def.metric == crate::alarms::Metric::LambdaConcurrency)?.get();
    let instead = if env.policy.require_reserved_concurrency {
        "raise function.reserved_concurrency to at least 2 instead"
    } else {
        "raise function.reserved_concurrency to at least 2 instead, or remove it (the alarm goes with it)"
    };
    Admissible::new()
        .lower(
            100.0 / f64::from(r),
            false,
            ALARM008.id,
            format!(
                "less rounds down to 0 of the {r} reserved executions, and the alarm fires whenever the function runs"
            ),
        )
        .upper(100.0, true, ALARM008.id, format!("the function never exceeds its {r} reserved executions"))
        .message(&format!("monitoring.alarms.{}.threshold with function.reserved_concurrency {r}", def.key), instead)
}

/// A canary's failing requests are at most its share of traffic: a watched alarm on a share of
/// all requests must fire at that share (ALARM009), or a fully broken version is never rolled
/// back.
fn canary_share(cx: &mut Ctx<'_>, env: &Environment, watched: &BTreeSet<&str>) {
    let Some(canary) = &env.function.canary else { return };
    let share = canary.deployment.traffic_percent();
    for def in catalogue::ALARMS.iter().filter(|d| watched.contains(d.key) && d.metric.share_of_requests()) {
        let Ok(s) = catalogue::settings(env, def) else { continue };
        let (reachable, worst) =
            if def.below { (s.threshold > 100.0 - share, 100.0 - share) } else { (s.threshold < share, share) };
        if !reachable {
            cx.push(
                &ALARM009,
                env.locate(&format!("monitoring.alarms.{}.threshold", def.key)),
                format!(
                    "the canary gets {share} % of traffic: with every canary request failing, {} reaches {worst} % at worst, so a threshold of {} % never fires during the canary; use a threshold {} {worst}",
                    def.title,
                    s.threshold,
                    if def.below { "above" } else { "below" }
                ),
            );
        }
    }
}

/// CloudFormation watches the rollback triggers (the critical alarms) for
/// `rollback_monitoring_minutes` after an update: each must be able to fire within it
/// (ALARM009). 0 means during the update only.
fn rollback_monitoring(cx: &mut Ctx<'_>, env: &Environment) {
    let Some(canary) = &env.function.canary else { return };
    let minutes = canary.rollback_monitoring_minutes.get();
    if minutes == 0 {
        return;
    }
    for def in catalogue::critical(env) {
        let Ok(s) = catalogue::settings(env, def) else { continue };
        let needs = s.period_seconds * s.datapoints_to_alarm;
        if needs > minutes * 60 {
            cx.push(
                &ALARM009,
                env.locate("function.canary.rollback_monitoring_minutes"),
                format!(
                    "CloudFormation watches the rollback triggers for {minutes} min after an update, but {} needs {needs} s of bad data to fire; use at least {}",
                    def.key,
                    needs.div_ceil(60)
                ),
            );
        }
    }
}
