//! Monitoring of the token service: encrypted `critical` and `warning` alert topics with their
//! subscriptions, the alarm catalogue with each environment's thresholds, a dashboard, and a
//! monthly budget. Alarms find the service's resources by their names, which the service stack
//! sets from the same environment.

use serde_json::json;
use token_function::telemetry;

use super::alarms::{self, ALARMS, AlarmDef};
use super::service;
use crate::alarms::Metric as Watched;
use crate::cfn::policy::{PolicyDocument, Principal, Statement};
use crate::cfn::resources::cloudwatch::{
    Alarm, AlarmMetric, Dashboard, Dimension, Metric, MetricDataQuery, MetricStat, SingleMetric,
};
use crate::cfn::resources::{budgets, kms, sns};
use crate::cfn::{Handle, ModelError, Options, Template, Value};
use crate::env::{AlarmSeverity, Environment, Targets};

fn dim(name: &str, value: &str) -> Dimension {
    Dimension { name: name.to_owned(), value: value.to_owned() }
}

/// Names of the service's resources, as the service stack sets them.
struct Names {
    function: String,
    api: String,
    stage: String,
    service: String,
}

impl Names {
    fn new(env: &Environment) -> Self {
        Names {
            function: service::function_name(env),
            api: service::api_name(env),
            stage: env.api.stage_name.0.clone(),
            service: env.qualified(),
        }
    }
    fn lambda(&self) -> Vec<Dimension> {
        vec![dim("FunctionName", &self.function)]
    }
    fn api(&self) -> Vec<Dimension> {
        vec![dim("ApiName", &self.api), dim("Stage", &self.stage)]
    }
    fn tokens(&self) -> Vec<Dimension> {
        vec![dim(telemetry::DIMENSION_SERVICE, &self.service)]
    }
}

fn single(namespace: &str, metric: &str, dimensions: Vec<Dimension>, period: u32, stat: &str) -> AlarmMetric {
    let (statistic, extended_statistic) = match stat {
        "Sum" => (Some("Sum"), None),
        "Maximum" => (Some("Maximum"), None),
        p => (None, Some(p.to_owned())),
    };
    AlarmMetric::Single(SingleMetric {
        namespace: namespace.to_owned(),
        metric_name: metric.to_owned(),
        dimensions,
        period,
        statistic,
        extended_statistic,
    })
}

fn query(id: &str, namespace: &str, metric: &str, dimensions: Vec<Dimension>, period: u32) -> MetricDataQuery {
    MetricDataQuery {
        id: id.to_owned(),
        expression: None,
        label: None,
        metric_stat: Some(MetricStat {
            metric: Metric { namespace: namespace.to_owned(), metric_name: metric.to_owned(), dimensions },
            period,
            stat: "Sum".into(),
        }),
        return_data: false,
    }
}

fn expression(id: &str, label: &str, expr: &str) -> MetricDataQuery {
    MetricDataQuery {
        id: id.to_owned(),
        expression: Some(expr.to_owned()),
        label: Some(label.to_owned()),
        metric_stat: None,
        return_data: true,
    }
}

/// What the alarm of `def` watches.
fn metric_of(def: &AlarmDef, n: &Names, period: u32) -> AlarmMetric {
    let rate = |errors: &str| AlarmMetric::Math {
        metrics: vec![
            query("errors", "AWS/ApiGateway", errors, n.api(), period),
            query("requests", "AWS/ApiGateway", "Count", n.api(), period),
            expression("rate", &format!("{errors} % of requests"), "IF(requests > 0, 100 * errors / requests, 0)"),
        ],
    };
    match def.metric {
        Watched::Lambda { name, statistic } => single("AWS/Lambda", name, n.lambda(), period, statistic),
        Watched::LambdaConcurrency => single("AWS/Lambda", "ConcurrentExecutions", n.lambda(), period, "Maximum"),
        Watched::Api { name, statistic } => single("AWS/ApiGateway", name, n.api(), period, statistic),
        Watched::ApiRate { errors } => rate(errors),
        Watched::TokenSuccess => AlarmMetric::Math {
            metrics: vec![
                query("issued", telemetry::NAMESPACE, telemetry::TOKENS_ISSUED, n.tokens(), period),
                query("failed", telemetry::NAMESPACE, telemetry::AUTH_FAILURES, n.tokens(), period),
                expression(
                    "rate",
                    "token success %",
                    "IF(FILL(issued, 0) + FILL(failed, 0) > 0, 100 * FILL(issued, 0) / (FILL(issued, 0) + FILL(failed, 0)), 100)",
                ),
            ],
        },
    }
}

/// Builds the monitoring stack's template for `env`: the alert topics and their key, one
/// alarm per applicable row of `crate::alarms::ALARMS`, the dashboard and the budget.
pub fn build(env: &Environment) -> Result<Template, ModelError> {
    let q = env.qualified();
    let names = Names::new(env);
    let mut t = Template::new(format!("Token service ({}): alert topics, alarms, dashboard and budget", env.name));
    let key = alert_topic_key(&mut t, env)?;
    let critical = topic(&mut t, env, "Critical", "critical", &key, &env.monitoring.notifications.critical)?;
    let warning = topic(&mut t, env, "Warning", "warning", &key, &env.monitoring.notifications.warning)?;
    let alarm_handles = alarms(&mut t, env, &names, (&critical, &warning))?;
    t.add(
        "Dashboard",
        Dashboard { dashboard_name: q.clone(), dashboard_body: Value::sub(dashboard_body(&names, &alarm_handles)) },
    )?;
    monthly_budget(&mut t, env)?;
    t.output("CriticalTopicArn", "Alarms that page", critical.r#ref())?;
    t.output("WarningTopicArn", "Alarms that inform", warning.r#ref())?;
    t.output(
        "DashboardUrl",
        "The service's CloudWatch dashboard",
        Value::sub(format!(
            "https://${{AWS::Region}}.console.aws.amazon.com/cloudwatch/home?region=${{AWS::Region}}#dashboards:name={q}"
        )),
    )?;
    Ok(t)
}

/// A customer-managed key for the alert topics, which CloudWatch may use to publish to them.
fn alert_topic_key(t: &mut Template, env: &Environment) -> Result<Handle<kms::Key>, ModelError> {
    let q = env.qualified();
    let key = t.add_with(
        "AlertTopicKey",
        kms::Key {
            description: format!("{q}: encrypts the alert topics"),
            key_spec: kms::KeySpec::SymmetricDefault.into(),
            key_usage: kms::KeyUsage::EncryptDecrypt,
            enable_key_rotation: Some(true),
            pending_window_in_days: env.signing_key.pending_window_days.get(),
            key_policy: PolicyDocument::new(vec![
                Statement::account_administers_key(),
                Statement::key_administered_by(super::bootstrap::execution_role_arn(env)),
                Statement::allow(&["kms:Decrypt", "kms:GenerateDataKey*"], vec!["*".into()])
                    .sid("CloudWatchPublishesAlarms")
                    .principal(Principal::service("cloudwatch.amazonaws.com"))
                    .condition(json!({
                        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                        "ArnLike": {"aws:SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"}}
                    })),
            ]),
        },
        Options::new().retain(env.retain_data_on_delete),
    )?;
    t.add("AlertTopicKeyAlias", kms::Alias { alias_name: format!("alias/{q}-alerts"), target_key_id: key.r#ref() })?;

    Ok(key)
}

/// One alarm per row of the catalogue that applies to `env`, notifying the critical or warning
/// topic (`topics`) by its severity.
fn alarms(
    t: &mut Template,
    env: &Environment,
    names: &Names,
    (critical, warning): (&Handle<sns::Topic>, &Handle<sns::Topic>),
) -> Result<Vec<Handle<Alarm>>, ModelError> {
    let mut alarm_handles = Vec::new();
    for def in ALARMS.iter().filter(|d| alarms::applies(env, d)) {
        let s = alarms::settings(env, def)?;
        let target = match s.severity {
            AlarmSeverity::Critical => critical.r#ref(),
            AlarmSeverity::Warning => warning.r#ref(),
        };
        let handle = t.add(
            def.id,
            Alarm {
                alarm_name: alarms::alarm_name(env, def),
                alarm_description: format!(
                    "{} Threshold: {} {} {}. Runbook: {}#{}",
                    def.meaning,
                    if def.below { "below" } else { "above" },
                    s.threshold,
                    def.unit,
                    env.monitoring.runbook_url,
                    def.key.replace('_', "-")
                ),
                actions_enabled: true,
                alarm_actions: vec![target.clone()],
                ok_actions: vec![target],
                comparison_operator: if def.below { "LessThanThreshold" } else { "GreaterThanThreshold" },
                threshold: alarms::cloudwatch_threshold(env, def)?,
                evaluation_periods: s.evaluation_periods,
                datapoints_to_alarm: s.datapoints_to_alarm,
                treat_missing_data: "notBreaching",
                metric: metric_of(def, names, s.period_seconds),
            },
        )?;
        alarm_handles.push(handle);
    }

    Ok(alarm_handles)
}

/// The monthly cost budget, with its actual and forecast notifications.
fn monthly_budget(t: &mut Template, env: &Environment) -> Result<(), ModelError> {
    let q = env.qualified();
    let b = &env.monitoring.budget;
    let subscribers: Vec<budgets::Subscriber> =
        b.emails.iter().map(|e| budgets::Subscriber { subscription_type: "EMAIL", address: e.0.clone() }).collect();
    let notify = |kind: &'static str, percent: f64| budgets::NotificationWithSubscribers {
        notification: budgets::Notification {
            notification_type: kind,
            comparison_operator: "GREATER_THAN",
            threshold: percent,
            threshold_type: "PERCENTAGE",
        },
        subscribers: subscribers.clone(),
    };
    let notifications = vec![notify("ACTUAL", f64::from(b.alert_at_percent.get())), notify("FORECASTED", 100.0)];
    t.add(
        "MonthlyBudget",
        budgets::Budget {
            budget: budgets::BudgetData {
                // A change of notifications replaces a budget (they are create-only): the name
                // follows them, since a replacement cannot keep a fixed name.
                budget_name: crate::cfn::names::name_with_digest(&format!("{q}-monthly"), &notifications),
                budget_type: "COST",
                time_unit: "MONTHLY",
                budget_limit: budgets::Spend { amount: f64::from(b.monthly_limit_usd.get()), unit: "USD" },
            },
            notifications_with_subscribers: notifications,
        },
    )?;

    Ok(())
}

/// An encrypted topic that only accepts TLS, that CloudWatch may publish to, with its
/// subscriptions.
fn topic(
    t: &mut Template,
    env: &Environment,
    id: &str,
    kind: &str,
    key: &Handle<kms::Key>,
    targets: &Targets,
) -> Result<Handle<sns::Topic>, ModelError> {
    let q = env.qualified();
    let topic = t.add(
        &format!("{id}AlertTopic"),
        sns::Topic {
            topic_name: format!("{q}-{kind}"),
            display_name: format!("{q} {kind} alerts"),
            kms_master_key_id: key.r#ref(),
        },
    )?;
    t.add(
        &format!("{id}AlertTopicPolicy"),
        sns::TopicPolicy {
            policy_document: PolicyDocument::new(vec![
                Statement::allow(&["sns:Publish"], vec![topic.r#ref()])
                    .sid("CloudWatchPublishesAlarms")
                    .principal(Principal::service("cloudwatch.amazonaws.com"))
                    .condition(json!({"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}})),
                Statement::deny(&["sns:Publish"], vec![topic.r#ref()])
                    .sid("DenyPublishWithoutTls")
                    .principal(Principal::anyone())
                    .condition(json!({"Bool": {"aws:SecureTransport": "false"}})),
            ]),
            topics: vec![topic.r#ref()],
        },
    )?;
    let subscriptions = targets
        .emails
        .iter()
        .map(|e| ("email", e.0.clone()))
        .chain(targets.webhooks.iter().map(|w| ("https", w.0.clone())));
    for (i, (protocol, endpoint)) in subscriptions.enumerate() {
        t.add(
            &format!("{id}AlertSubscription{i}"),
            sns::Subscription { topic_arn: topic.r#ref(), protocol, endpoint },
        )?;
    }
    Ok(topic)
}

/// The dashboard as JSON, for `Fn::Sub` (`${AWS::Region}` and the alarms' ARNs). The log
/// widget's query reads the function's JSON lines as `token_function::telemetry::json_logs`
/// writes them (`level` at the top, the message and fields under `fields`);
/// `infra/tests/dashboard_logs.rs` holds every field it names against a real line.
fn dashboard_body(n: &Names, alarms: &[Handle<Alarm>]) -> String {
    let region = "${AWS::Region}";
    let api = |metric: &str, stat: &str, label: &str| json!(["AWS/ApiGateway", metric, "ApiName", n.api, "Stage", n.stage, {"stat": stat, "label": label}]);
    let lambda = |metric: &str, stat: &str, label: &str| json!(["AWS/Lambda", metric, "FunctionName", n.function, {"stat": stat, "label": label}]);
    let widget = |x: u32, y: u32, title: &str, metrics: serde_json::Value| {
        json!({"type": "metric", "x": x, "y": y, "width": 8, "height": 6,
               "properties": {"title": title, "region": region, "view": "timeSeries", "period": 60, "metrics": metrics}})
    };
    let failures_by_reason = format!(
        "SEARCH('{{{},{},{}}} MetricName=\"{}\" {}=\"{}\"', 'Sum', 60)",
        telemetry::NAMESPACE,
        telemetry::DIMENSION_SERVICE,
        telemetry::DIMENSION_REASON,
        telemetry::AUTH_FAILURES,
        telemetry::DIMENSION_SERVICE,
        n.service
    );
    let body = json!({
        "widgets": [
            {"type": "alarm", "x": 0, "y": 0, "width": 24, "height": 3,
             "properties": {"title": "Alarms", "alarms": alarms.iter().map(|a| a.arn().sub()).collect::<Vec<_>>()}},
            widget(0, 3, "API requests and errors", json!([api("Count", "Sum", "requests"), api("4XXError", "Sum", "4XX"), api("5XXError", "Sum", "5XX")])),
            widget(8, 3, "API latency", json!([api("Latency", "p50", "p50"), api("Latency", "p90", "p90"), api("Latency", "p99", "p99")])),
            widget(16, 3, "Tokens issued and auth failures by reason", json!([
                [telemetry::NAMESPACE, telemetry::TOKENS_ISSUED, telemetry::DIMENSION_SERVICE, n.service, {"stat": "Sum", "label": "tokens issued"}],
                [{"expression": failures_by_reason, "id": "failures", "label": ""}]
            ])),
            widget(0, 9, "Lambda duration", json!([lambda("Duration", "p50", "p50"), lambda("Duration", "p95", "p95"), lambda("Duration", "p99", "p99")])),
            widget(8, 9, "Lambda errors and throttles", json!([lambda("Errors", "Sum", "errors"), lambda("Throttles", "Sum", "throttles")])),
            widget(16, 9, "Lambda concurrency", json!([lambda("ConcurrentExecutions", "Maximum", "concurrent executions")])),
            {"type": "log", "x": 0, "y": 15, "width": 24, "height": 6,
             "properties": {"title": "Recent errors", "region": region, "view": "table",
                            "query": format!("SOURCE '/aws/lambda/{}' | fields @timestamp, level, fields.message, fields.error | filter level = \"ERROR\" or level = \"WARN\" | sort @timestamp desc | limit 50", n.function)}}
        ]
    });
    body.to_string()
}
