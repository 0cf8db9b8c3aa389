//! The operations runbook of an environment, written from the same alarm catalogue and
//! thresholds as the alarms themselves.

use askama::Template;

use crate::env::{AlarmSeverity, Environment, Targets};
use crate::stacks::alarms::{self, ALARMS};
use crate::stacks::service;

struct AlarmView {
    title: &'static str,
    anchor: String,
    name: String,
    condition: String,
    evaluation: String,
    severity: &'static str,
    meaning: &'static str,
    checks: &'static [&'static str],
    remedies: &'static [&'static str],
}

#[derive(Template)]
#[template(path = "runbook.md", escape = "none")]
struct Runbook {
    env: String,
    service_stack: String,
    monitoring_stack: String,
    account: String,
    region: String,
    dashboard: String,
    function: String,
    critical: String,
    warning: String,
    alarms: Vec<AlarmView>,
    budget_emails: String,
    budget_percent: u32,
    budget_limit: u32,
}

fn targets(t: &Targets) -> String {
    let all: Vec<String> = t.emails.iter().map(|e| e.0.clone()).chain(t.webhooks.iter().map(|w| w.0.clone())).collect();
    if all.is_empty() { "nobody (no subscription in the environment file)".into() } else { all.join(", ") }
}

/// Renders the runbook of `env` as Markdown.
pub fn render(env: &Environment) -> anyhow::Result<String> {
    let mut views = Vec::new();
    for def in ALARMS.iter().filter(|d| alarms::applies(env, d)) {
        let s = alarms::settings(env, def)?;
        let number = |x: f64| if x.fract() == 0.0 { format!("{x:.0}") } else { format!("{x}") };
        let mut condition =
            format!("{} {} {}", if def.below { "below" } else { "above" }, number(s.threshold), def.unit);
        if def.metric == crate::alarms::Metric::LambdaConcurrency {
            condition.push_str(&format!(" ({} executions)", number(alarms::cloudwatch_threshold(env, def)?)));
        }
        views.push(AlarmView {
            title: def.title,
            anchor: def.key.replace('_', "-"),
            name: alarms::alarm_name(env, def),
            condition,
            evaluation: format!(
                "{} of {} periods of {} s",
                s.datapoints_to_alarm, s.evaluation_periods, s.period_seconds
            ),
            severity: match s.severity {
                AlarmSeverity::Critical => "critical",
                AlarmSeverity::Warning => "warning",
            },
            meaning: def.meaning,
            checks: def.checks,
            remedies: def.remedies,
        });
    }
    let m = &env.monitoring;
    let page = Runbook {
        env: env.name.clone(),
        service_stack: env.service_stack_name(),
        monitoring_stack: env.monitoring_stack_name(),
        account: env.account_id.0.clone(),
        region: env.region.0.clone(),
        dashboard: env.qualified(),
        function: service::function_name(env),
        critical: targets(&m.notifications.critical),
        warning: targets(&m.notifications.warning),
        alarms: views,
        budget_emails: m.budget.emails.iter().map(|e| e.0.as_str()).collect::<Vec<_>>().join(", "),
        budget_percent: m.budget.alert_at_percent.get(),
        budget_limit: m.budget.monthly_limit_usd.get(),
    };
    Ok(page.render()?)
}
