//! Every rule fires on a template that breaks it, and the shipped environments are clean.

use std::path::Path;

mod builders;

use builders::{RawAlarm, alarm_properties, log_group, role};
use infra::cfn::policy::{PolicyDocument, Principal, Statement};
use infra::cfn::{Template, Value};
use infra::env::Environment;
use infra::stacks::{self, Stack};
use infra::validate::{self, Finding, Severity};

fn env(name: &str) -> Environment {
    Environment::load_named(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments"), name).unwrap()
}

fn check(t: Template, env: &Environment) -> Vec<Finding> {
    validate::all(&[Stack { id: stacks::StackId::Service, name: "test-stack".into(), template: t }], env)
}

fn rules(findings: &[Finding]) -> Vec<&'static str> {
    let mut r: Vec<&str> = findings.iter().filter(|f| f.severity == Severity::Error).map(|f| f.rule).collect();
    r.sort();
    r.dedup();
    r
}

#[test]
fn shipped_environments_have_no_findings() {
    for name in ["dev", "staging", "prod"] {
        let e = env(name);
        let s = stacks::all(&e).unwrap();
        let findings = validate::all(&s, &e);
        assert!(findings.is_empty(), "{name}: {findings:#?}");
    }
}

#[test]
fn dangling_sub_and_unknown_attribute_are_found() {
    let mut t = Template::new("t");
    let logs = t.add("Logs", log_group("/a", 14)).unwrap();
    t.output("Bad", "sub to nothing", Value::sub("${Nothing}-${AWS::Region}-${!Literal}")).unwrap();
    t.output("BadAtt", "sub to a missing attribute", Value::sub("${Logs.Nope}")).unwrap();
    t.output("BadAttTarget", "sub to a missing resource", Value::sub("${Ghost.Arn}")).unwrap();
    t.output("Good", "fine", Value::sub(format!("{}{}", logs.arn().sub(), logs.sub_ref()))).unwrap();
    let f = check(t, &env("dev"));
    assert_eq!(rules(&f), ["REF002", "REF003"]);
    let paths: Vec<&str> = f.iter().map(|f| f.path.as_str()).collect();
    assert!(paths.contains(&"$.Outputs.Bad.Value.Fn::Sub"), "{paths:?}");
    assert!(f.iter().any(|f| f.message.contains("`Logs` has no attribute `Nope` (it has: Arn)")), "{f:#?}");
    assert!(!f.iter().any(|f| f.message.contains("Literal")), "{f:#?}");
}

#[test]
fn iam_wildcards_are_found_except_for_unscopable_actions() {
    let mut t = Template::new("t");
    let statements = vec![
        Statement::allow(&["s3:GetObject"], vec!["*".into()]),
        Statement::allow(&["dynamodb:*"], vec![Value::sub("arn:${AWS::Partition}:dynamodb:::table/x")]),
        Statement::allow(&["xray:PutTraceSegments"], vec!["*".into()]),
        Statement::deny(&["*"], vec!["*".into()]),
    ];
    t.add("Role", role(statements)).unwrap();
    let f = check(t, &env("dev"));
    assert_eq!(rules(&f), ["IAM001", "IAM002"]);
    let iam001: Vec<&Finding> = f.iter().filter(|f| f.rule == "IAM001").collect();
    assert_eq!(iam001.len(), 1, "{f:#?}");
    assert_eq!(iam001[0].path, "$.Resources.Role.Properties.Policies[0].PolicyDocument.Statement[0].Resource");
}

#[test]
fn names_over_aws_limits_are_found() {
    let mut t = Template::new("t");
    t.add("Logs", log_group(&format!("/{}", "x".repeat(600)), 14)).unwrap();
    t.add(
        "Alias",
        infra::cfn::resources::kms::Alias { alias_name: "alias/aws/mine".into(), target_key_id: "k".into() },
    )
    .unwrap();
    t.add(
        "Dashboard",
        infra::cfn::resources::cloudwatch::Dashboard {
            dashboard_name: "d".repeat(256),
            dashboard_body: Value::Lit("{}".into()),
        },
    )
    .unwrap();
    let f = check(t, &env("dev"));
    // The log group's length comes from its schema; the dashboard's, which no schema sets, from PutDashboard.
    assert_eq!(rules(&f), ["NAME001", "NAME002", "SCHEMA001"]);
    let paths: Vec<(&str, &str)> = f.iter().map(|f| (f.rule, f.path.as_str())).collect();
    assert!(paths.contains(&("NAME001", "$.Resources.Dashboard.Properties.DashboardName")), "{paths:?}");
    assert!(paths.contains(&("SCHEMA001", "$.Resources.Logs.Properties.LogGroupName")), "{paths:?}");
    assert!(paths.contains(&("NAME002", "$.Resources.Alias.Properties.AliasName")), "{paths:?}");
}

#[test]
fn resource_count_limit_is_found() {
    let mut t = Template::new("t");
    for i in 0..501 {
        t.add(&format!("Logs{i}"), log_group(&format!("/l/{i}"), 14)).unwrap();
    }
    // 501 resources are also far too large to send inline.
    assert_eq!(rules(&check(t, &env("dev"))), ["LIM001", "LIM002"]);
}

#[test]
fn alarm_sanity_rules() {
    let cases: Vec<(serde_json::Value, &[&str])> = vec![
        (serde_json::json!({}), &[]),
        (serde_json::json!({"Period": 45}), &["ALARM002"]),
        (serde_json::json!({"Period": 10}), &[]),
        (serde_json::json!({"Period": 20}), &[]),
        (serde_json::json!({"Period": 90}), &["ALARM002"]),
        (serde_json::json!({"Period": 86460}), &["ALARM002"]),
        (serde_json::json!({"DatapointsToAlarm": 6}), &["ALARM003"]),
        (serde_json::json!({"EvaluationPeriods": 0}), &["ALARM003", "SCHEMA001"]),
        // One day below one-hour periods, seven days from one hour (PutMetricAlarm).
        (serde_json::json!({"Period": 300, "EvaluationPeriods": 288, "DatapointsToAlarm": 1}), &[]),
        (serde_json::json!({"Period": 300, "EvaluationPeriods": 289, "DatapointsToAlarm": 1}), &["ALARM004"]),
        (serde_json::json!({"Period": 3600, "EvaluationPeriods": 48, "DatapointsToAlarm": 1}), &[]),
        (serde_json::json!({"Period": 3600, "EvaluationPeriods": 168, "DatapointsToAlarm": 1}), &[]),
        (serde_json::json!({"Period": 3600, "EvaluationPeriods": 169, "DatapointsToAlarm": 1}), &["ALARM004"]),
        (serde_json::json!({"Metrics": []}), &["ALARM001"]),
        (serde_json::json!({"Threshold": null}), &["ALARM001"]),
    ];
    for (patch, want) in cases {
        let mut t = Template::new("t");
        t.add("Alarm", RawAlarm(alarm_properties(&patch))).unwrap();
        // The raw alarm watches a function no stack has; that is ALARM006's business, not this test's.
        let got: Vec<&str> = rules(&check(t, &env("dev"))).into_iter().filter(|r| *r != "ALARM006").collect();
        assert_eq!(got, want, "patch {patch}");
    }
}

#[test]
fn environment_policy_is_enforced() {
    // prod's policy applied to a template that breaks it.
    let mut prod = env("prod");
    let mut t = Template::new("t");
    t.add("Logs", log_group("/short", 30)).unwrap();
    let f = check(t.clone(), &prod);
    assert_eq!(rules(&f), ["POL002", "POL003", "POL005"]);
    prod.termination_protection = false;
    assert!(rules(&check(t, &prod)).contains(&"POL001"));

    // The real prod stack, with reserved concurrency and WAF removed from its settings.
    let mut e = env("prod");
    e.function.reserved_concurrency = None;
    e.api.waf = None;
    e.retain_data_on_delete = false;
    let s = stacks::all(&e).unwrap();
    assert_eq!(rules(&validate::all(&s, &e)), ["POL003", "POL004", "POL005"]);
}

/// A finding about a setting of the file points at the line to change: the key that breaks the
/// rule where it is written, else the policy key that requires it; each says what to write.
#[test]
fn findings_about_settings_point_at_the_file() {
    let rows = [
        (
            ("  timeout_seconds: 10", "  timeout_seconds: 60"),
            "LAMBDA001",
            "environments/prod.yaml:function.timeout_seconds (line 14)",
            "callers get 504 first; set function.timeout_seconds to at most 29",
        ),
        (
            ("  log_retention_days: 365", "  log_retention_days: 30"),
            "POL002",
            "environments/prod.yaml:function.log_retention_days (line 18)",
            "retention 30 days is below this environment's minimum of 90 (policy.min_log_retention_days); use at least 90",
        ),
        (
            ("  access_log_retention_days: 365", "  access_log_retention_days: 60"),
            "POL002",
            "environments/prod.yaml:api.access_log_retention_days (line 43)",
            "retention 60 days",
        ),
        (
            ("  reserved_concurrency: 200\n", ""),
            "POL004",
            "environments/prod.yaml:policy.require_reserved_concurrency (line 96)",
            "set function.reserved_concurrency",
        ),
        (
            ("retain_data_on_delete: true", "retain_data_on_delete: false"),
            "POL005",
            "environments/prod.yaml:retain_data_on_delete (line 6)",
            "would be deleted with their stacks: ApiAccessLogGroup, ClientRegistrySecret,",
        ),
    ];
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments/prod.yaml")).unwrap();
    for ((from, to), rule, path, message) in rows {
        assert!(text.contains(from), "prod.yaml no longer contains {from:?}");
        let e = Environment::parse(&text.replacen(from, to, 1), "prod", Path::new("environments/prod.yaml")).unwrap();
        let findings = validate::all(&stacks::all(&e).unwrap(), &e);
        let mine: Vec<_> = findings.iter().filter(|f| f.rule == rule).collect();
        assert_eq!(mine.len(), 1, "{to:?}: {findings:?}");
        assert_eq!(mine[0].path, path, "{to:?}");
        assert!(mine[0].message.contains(message), "{to:?}: {}", mine[0].message);
    }
}

#[test]
fn long_timeouts_warn_about_api_gateway() {
    let mut e = env("dev");
    e.function.timeout_seconds = serde_norway::from_str("60").unwrap();
    let s = stacks::all(&e).unwrap();
    let f = validate::all(&s, &e);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!((f[0].rule, f[0].severity), ("LAMBDA001", Severity::Warning));
}

#[test]
fn alarms_must_watch_metrics_the_stacks_emit() {
    let prod = env("prod");
    let service = stacks::service::build(&prod).unwrap();
    let check_with = |other: &Environment| {
        let stacks = vec![
            Stack { id: stacks::StackId::Service, name: "svc".into(), template: service.clone() },
            Stack {
                id: stacks::StackId::Monitoring,
                name: "mon".into(),
                template: stacks::monitoring::build(other).unwrap(),
            },
        ];
        validate::all(&stacks, &prod)
    };
    assert!(check_with(&prod).is_empty());

    // Alarms of another stage: every API alarm watches nothing.
    let mut other = env("prod");
    other.api.stage_name = serde_norway::from_str("v2").unwrap();
    let f = check_with(&other);
    assert_eq!(rules(&f), ["ALARM006"]);
    assert_eq!(f.len(), 6, "{f:#?}"); // two rate alarms x 2 metrics + two latency alarms
    assert!(f.iter().all(|f| f.message.contains("no API `token-service-prod-api` with stage `v2`")), "{f:#?}");
    assert!(f.iter().all(|f| f.stack == "mon"));

    // Alarms of another service name: function and token metrics watch nothing.
    let mut other = env("prod");
    other.stack_prefix = serde_norway::from_str("tokens").unwrap();
    let f = check_with(&other);
    assert!(f.iter().any(|f| f.message.contains("no function named `tokens-prod-token`")), "{f:#?}");
    assert!(f.iter().any(|f| f.message.contains("no function writes metrics for service `tokens-prod`")), "{f:#?}");
}

#[test]
fn alert_topics_need_a_key_cloudwatch_can_use() {
    use infra::cfn::resources::{kms, sns};
    let mut t = Template::new("t");
    t.add(
        "Managed",
        sns::Topic { topic_name: "a".into(), display_name: "a".into(), kms_master_key_id: "alias/aws/sns".into() },
    )
    .unwrap();
    let key = t
        .add(
            "Key",
            kms::Key {
                description: "k".into(),
                key_spec: kms::KeySpec::SymmetricDefault.into(),
                key_usage: kms::KeyUsage::EncryptDecrypt,
                enable_key_rotation: Some(true),
                pending_window_in_days: 7,
                key_policy: PolicyDocument::new(vec![
                    Statement::allow(&["kms:*"], vec!["*".into()])
                        .principal(Principal::Aws("arn:aws:iam::1:root".into())),
                ]),
            },
        )
        .unwrap();
    t.add("Own", sns::Topic { topic_name: "b".into(), display_name: "b".into(), kms_master_key_id: key.r#ref() })
        .unwrap();
    let f = check(t, &env("dev"));
    assert_eq!(rules(&f), ["SNS001", "SNS002"]);
    assert!(f.iter().any(|f| f.rule == "SNS001" && f.message.contains("silently dropped")));
}

#[test]
fn alarm_actions_are_required_where_policy_says() {
    let alarm = serde_json::json!({
        "MetricName": "Errors", "Namespace": "AWS/Lambda", "Statistic": "Sum", "Period": 60,
        "EvaluationPeriods": 1, "Threshold": 1, "ComparisonOperator": "GreaterThanThreshold",
        "AlarmActions": [], "OKActions": ["arn:aws:sns:eu-west-1:1:t"]
    });
    let mut t = Template::new("t");
    t.add("Alarm", RawAlarm(alarm)).unwrap();
    let prod_rules: Vec<&str> =
        check(t.clone(), &env("prod")).iter().filter(|f| f.rule.starts_with("ALARM")).map(|f| f.rule).collect();
    assert_eq!(prod_rules, ["ALARM005", "ALARM006"]);
    let dev_rules: Vec<&str> = check(t, &env("dev")).iter().map(|f| f.rule).collect();
    assert_eq!(dev_rules, ["ALARM006"]);
}

#[test]
fn templates_too_large_to_send_inline_are_found() {
    let mut t = Template::new("t");
    for i in 0..300 {
        t.add(&format!("Logs{i}"), log_group(&format!("/a/fairly/long/log/group/name/to/take/room/{i}"), 14)).unwrap();
    }
    let f = check(t, &env("dev"));
    assert_eq!(rules(&f), ["LIM001"]);
    assert!(f[0].message.contains("caps at 51200"), "{}", f[0].message);
}

#[test]
fn canary_alarms_must_exist() {
    let prod = env("prod");
    let service =
        Stack { id: stacks::StackId::Service, name: "svc".into(), template: stacks::service::build(&prod).unwrap() };
    let f = validate::all(std::slice::from_ref(&service), &prod);
    assert_eq!(rules(&f), ["DEPLOY001"]);
    assert!(
        f.iter().any(|f| f.message.contains("alarm `token-service-prod-lambda-errors` is defined by no stack")),
        "{f:#?}"
    );
    let all = stacks::all(&prod).unwrap();
    assert!(validate::all(&all, &prod).is_empty());
}

/// docs/validation.md's rule table is the one the rules generate (`cargo run -- docs`), every
/// rule has a source, and rule ids are unique.
#[test]
fn rule_table_matches_the_docs() {
    let page = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/validation.md")).unwrap();
    let generated = validate::with_rules_table(&page).expect("docs/validation.md has the rule table markers");
    assert!(generated == page, "docs/validation.md's rule table is out of date: run `cargo run -- docs`");
    assert!(validate::rules().iter().all(|r| !r.source.is_empty()));
    let mut ids: Vec<&str> = validate::rules().iter().map(|r| r.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), validate::rules().len(), "rule ids are unique");
}

/// Edits prod.yaml's text and returns the errors `validate` finds, as (rule, path, message).
fn findings_after(edits: &[(&str, &str)]) -> Vec<(String, String, String)> {
    let mut text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments/prod.yaml")).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "prod.yaml no longer contains {from:?}");
        text = text.replacen(from, to, 1);
    }
    let e = Environment::parse(&text, "prod", Path::new("environments/prod.yaml")).unwrap();
    let s = stacks::all(&e).unwrap();
    validate::all(&s, &e)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| (f.rule.to_owned(), f.path, f.message))
        .collect()
}

/// Edits to prod.yaml, and the error finding they must give (rule, path part, message part), or
/// `None` for none.
type Case<'a> = (Vec<(&'a str, String)>, Option<(&'a str, &'a str, &'a str)>);

/// Each case's edits applied to prod.yaml give exactly its finding, located in prod.yaml.
fn assert_findings_after(cases: Vec<Case>) {
    for (edits, want) in cases {
        let edits: Vec<(&str, &str)> = edits.iter().map(|(a, b)| (*a, b.as_str())).collect();
        let got = findings_after(&edits);
        match want {
            None => assert!(got.is_empty(), "{edits:?}: {got:#?}"),
            Some((rule, path, message)) => assert!(
                got.iter().any(|(r, p, m)| r == rule
                    && p.starts_with("environments/prod.yaml:")
                    && p.contains(path)
                    && m.contains(message)),
                "{edits:?}\n  want {rule} at {path}: {message}\n  got {got:#?}"
            ),
        }
    }
}

/// prod.yaml's alarm settings that the alarm rows edit.
const ERRORS: &str = "lambda_errors: {threshold: 5, period_seconds: 60, evaluation_periods: 5, datapoints_to_alarm: 3, severity: critical}";
const CONC: &str = "lambda_concurrency: {threshold: 80,";
const P95: &str = "lambda_duration_p95: {threshold: 120,";
const LAT: &str = "api_latency_p90: {threshold: 150,";
const RATE: &str = "api_5xx_rate: {threshold: 1,";
const SUCCESS: &str = "token_success_rate: {threshold: 95,";

/// Rows of the alarms' period against their metric's resolution (ALARM007).
fn resolution_rows() -> Vec<Case<'static>> {
    vec![
        // Resolution (ALARM007): every metric here is stored every 60 s.
        (
            vec![(ERRORS, ERRORS.replace("period_seconds: 60", "period_seconds: 10"))],
            Some(("ALARM007", "monitoring.alarms.lambda_errors.period_seconds (line 66)", "use a multiple of 60")),
        ),
        (
            vec![(ERRORS, ERRORS.replace("period_seconds: 60", "period_seconds: 20"))],
            Some(("ALARM007", "monitoring.alarms.lambda_errors.period_seconds (line 66)", "stored every 60 s")),
        ),
        (
            vec![(ERRORS, ERRORS.replace("period_seconds: 60", "period_seconds: 30"))],
            Some(("ALARM007", "lambda_errors.period_seconds", "INSUFFICIENT_DATA")),
        ),
        (
            vec![(ERRORS, ERRORS.replace("period_seconds: 60", "period_seconds: 120").replace("critical", "warning"))],
            None,
        ),
        // A valid long evaluation: 48 hours of one-hour periods (CloudWatch allows 7 days).
        (
            vec![(
                ERRORS,
                ERRORS
                    .replace(
                        "period_seconds: 60, evaluation_periods: 5",
                        "period_seconds: 3600, evaluation_periods: 48",
                    )
                    .replace("critical", "warning"),
            )],
            None,
        ),
    ]
}

/// Rows of thresholds their metric can reach (ALARM008), and a canary's failures can (ALARM009).
fn threshold_rows() -> Vec<Case<'static>> {
    vec![
        // Reachable thresholds (ALARM008).
        (
            vec![(CONC, "lambda_concurrency: {threshold: 100,".into())],
            Some(("ALARM008", "monitoring.alarms.lambda_concurrency.threshold (line 70)", "can never exceed")),
        ),
        (
            vec![(CONC, "lambda_concurrency: {threshold: 150,".into())],
            Some(("ALARM008", "lambda_concurrency.threshold", "300 concurrent executions")),
        ),
        (vec![(CONC, "lambda_concurrency: {threshold: 99.5,".into())], None),
        (
            vec![(RATE, "api_5xx_rate: {threshold: 100,".into())],
            Some(("ALARM008", "api_5xx_rate.threshold", "can never exceed 100")),
        ),
        // Reachable (ALARM008), but not by a canary's 10 % (ALARM009).
        (
            vec![(RATE, "api_5xx_rate: {threshold: 99,".into())],
            Some(("ALARM009", "api_5xx_rate.threshold", "reaches 10 % at worst")),
        ),
        (vec![("api_4xx_rate: {threshold: 25,", "api_4xx_rate: {threshold: 99,".into())], None),
        (
            vec![(SUCCESS, "token_success_rate: {threshold: 0,".into())],
            Some(("ALARM008", "token_success_rate.threshold", "never be below 0")),
        ),
        (
            vec![(SUCCESS, "token_success_rate: {threshold: 0.5,".into())],
            Some(("ALARM009", "token_success_rate.threshold", "reaches 90 % at worst")),
        ),
        (
            vec![(P95, "lambda_duration_p95: {threshold: 10000,".into())],
            Some(("ALARM008", "lambda_duration_p95.threshold", "can never exceed 10000")),
        ),
        (vec![(P95, "lambda_duration_p95: {threshold: 9999,".into())], None),
        (
            vec![(LAT, "api_latency_p90: {threshold: 29000,".into())],
            Some(("ALARM008", "api_latency_p90.threshold", "can never exceed 29000")),
        ),
    ]
}

/// Rows of alarms against the canary's window and share of traffic, and rollback monitoring (ALARM009).
fn canary_rows() -> Vec<Case<'static>> {
    vec![
        // The canary's alarms fire within its 5-minute window (ALARM009).
        (
            vec![(
                ERRORS,
                ERRORS
                    .replace("period_seconds: 60, evaluation_periods: 5", "period_seconds: 300, evaluation_periods: 3")
                    .replace("datapoints_to_alarm: 3", "datapoints_to_alarm: 2"),
            )],
            Some(("ALARM009", "lambda_errors.period_seconds (line 66)", "600 s of bad data")),
        ),
        (
            vec![(
                ERRORS,
                ERRORS.replace(
                    "period_seconds: 60, evaluation_periods: 5, datapoints_to_alarm: 3",
                    "period_seconds: 60, evaluation_periods: 5, datapoints_to_alarm: 5",
                ),
            )],
            None,
        ),
        (
            vec![(
                ERRORS,
                ERRORS.replace(
                    "period_seconds: 60, evaluation_periods: 5, datapoints_to_alarm: 3",
                    "period_seconds: 60, evaluation_periods: 6, datapoints_to_alarm: 6",
                ),
            )],
            Some(("ALARM009", "lambda_errors", "360 s")),
        ),
        (
            vec![("deployment: Canary10Percent5Minutes", "deployment: AllAtOnce".into())],
            Some(("ALARM009", "function.canary.deployment", "AllAtOnce shifts all traffic at once")),
        ),
        (
            vec![
                ("deployment: Canary10Percent5Minutes", "deployment: Canary10Percent10Minutes".into()),
                (
                    ERRORS,
                    ERRORS
                        .replace("datapoints_to_alarm: 3", "datapoints_to_alarm: 5")
                        .replace("evaluation_periods: 5", "evaluation_periods: 10")
                        .replace("period_seconds: 60", "period_seconds: 120"),
                ),
            ],
            None,
        ),
        // The canary's share of traffic (10 %): a rate alarm must fire when all of it fails.
        (vec![(RATE, RATE.replace(" 1,", " 9,"))], None),
        (
            vec![(RATE, RATE.replace(" 1,", " 10,"))],
            Some(("ALARM009", "api_5xx_rate.threshold", "reaches 10 % at worst")),
        ),
        (vec![(SUCCESS, SUCCESS.replace("95", "91"))], None),
        (
            vec![(SUCCESS, SUCCESS.replace("95", "90"))],
            Some(("ALARM009", "token_success_rate.threshold", "use a threshold above 90")),
        ),
        // CloudFormation's rollback monitoring must outlast the critical alarms' time to fire.
        (vec![("rollback_monitoring_minutes: 10", "rollback_monitoring_minutes: 3".into())], None),
        (
            vec![("rollback_monitoring_minutes: 10", "rollback_monitoring_minutes: 2".into())],
            Some(("ALARM009", "function.canary.rollback_monitoring_minutes", "needs 180 s of bad data")),
        ),
        (vec![("rollback_monitoring_minutes: 10", "rollback_monitoring_minutes: 0".into())], None),
    ]
}

/// Rows of concurrency thresholds that round down to no execution (ALARM008).
fn rounding_rows() -> Vec<Case<'static>> {
    vec![
        // A concurrency threshold that rounds down to 0 executions fires on any traffic.
        (vec![(CONC, CONC.replace("80", "0.5"))], None),
        (
            vec![(CONC, CONC.replace("80", "0.4"))],
            Some((
                "ALARM008",
                "lambda_concurrency.threshold",
                "rounds down to 0 concurrent executions, so the alarm fires whenever the function runs; use at least 0.5",
            )),
        ),
    ]
}

/// Rows of the count limits of what deploy sends (DEPLOY003).
fn count_limit_rows(conc_warning: &str) -> Vec<Case<'_>> {
    vec![
        // Count limits of what deploy sends (DEPLOY003): five critical alarms pass, six do not.
        (
            vec![(
                conc_warning,
                format!(
                    "{CONC} period_seconds: 60, evaluation_periods: 3, datapoints_to_alarm: 3, severity: critical}}"
                ),
            )],
            Some(("DEPLOY003", "monitoring.alarms (line 65)", "6 critical alarms")),
        ),
        (
            vec![("  cost-center: \"4711\"\n", (0..48).map(|i| format!("  t{i}: x\n")).collect())],
            Some(("DEPLOY003", "tags (line 7)", "51 stack tags")),
        ),
        (vec![("  cost-center: \"4711\"\n", (0..47).map(|i| format!("  t{i}: x\n")).collect())], None),
    ]
}

/// Alarm settings that cannot work on their metric are refused with the file, key and line;
/// their valid neighbours pass.
#[test]
fn alarms_that_cannot_work_are_refused() {
    let w = "severity: warning}";
    let conc_warning = format!("{CONC} period_seconds: 60, evaluation_periods: 3, datapoints_to_alarm: 3, {w}");
    // Edits of prod.yaml, and the finding expected: (rule, where in the file, message part).
    let cases: Vec<Case> =
        [resolution_rows(), threshold_rows(), canary_rows(), rounding_rows(), count_limit_rows(&conc_warning)]
            .into_iter()
            .flatten()
            .collect();
    assert_findings_after(cases);
}

/// The signing mode's capacity (SIGN001): in kms mode the API's rate and burst must fit the KMS
/// quota of the key type (prod's 500/s and 1,000 burst do not fit ECC's 300/s); in envelope mode
/// the function's concurrency must fit the symmetric quota. Neighbours at the limit pass.
#[test]
fn signing_capacity_fits_the_kms_quota() {
    let envelope = "  mode: envelope #";
    let kms = |extra: &str| format!("{extra}  mode: kms #");
    let rate = "    rate_limit: 500\n    burst_limit: 1000\n";
    let cases: Vec<Case> = vec![
        (vec![], None),
        // prod as it would be in kms mode: both limits over the ECC quota.
        (
            vec![(envelope, kms(""))],
            Some((
                "SIGN001",
                "api.throttling.rate_limit (line 41)",
                "rate_limit lets 500 requests per second through, over the account's KMS ECC quota of 300/s",
            )),
        ),
        (
            vec![(envelope, kms(""))],
            Some(("SIGN001", "api.throttling.burst_limit (line 42)", "burst_limit lets 1000 requests at once through")),
        ),
        // At the quota: passes.
        (vec![(envelope, kms("")), (rate, "    rate_limit: 300\n    burst_limit: 300\n".into())], None),
        (
            vec![(envelope, kms("")), (rate, "    rate_limit: 300\n    burst_limit: 301\n".into())],
            Some((
                "SIGN001",
                "burst_limit",
                "lets 301 requests at once through, over the account's KMS ECC quota of 300/s",
            )),
        ),
        // A raised quota, declared.
        (vec![(envelope, kms("  kms_quotas: {ecc: 1000}\n"))], None),
        (
            vec![(envelope, kms("  kms_quotas: {ecc: 999}\n"))],
            Some(("SIGN001", "burst_limit", "quota of 999/s (signing_key.kms_quotas.ecc)")),
        ),
        // RS256 counts against the RSA quota (500 by default).
        (
            vec![(envelope, kms("  algorithm: RS256\n")), (rate, "    rate_limit: 500\n    burst_limit: 500\n".into())],
            None,
        ),
        (
            vec![(envelope, kms("  algorithm: RS256\n"))],
            Some(("SIGN001", "burst_limit", "KMS RSA quota of 500/s (signing_key.kms_quotas.rsa)")),
        ),
        // Envelope: one Decrypt per cold start, against the symmetric quota.
        (vec![(envelope, format!("  kms_quotas: {{symmetric: 600}}\n{envelope}"))], None),
        (
            vec![(envelope, format!("  kms_quotas: {{symmetric: 599}}\n{envelope}"))],
            Some((
                "SIGN001",
                "function.reserved_concurrency (line 15)",
                "reserved_concurrency 200 environments starting at once make 600, over the account's quota of 599/s",
            )),
        ),
        (
            vec![
                (envelope, format!("  kms_quotas: {{symmetric: 2999}}\n{envelope}")),
                ("  reserved_concurrency: 200\n", String::new()),
                ("  require_reserved_concurrency: true", "  require_reserved_concurrency: false".into()),
            ],
            Some((
                "SIGN001",
                "function.reserved_concurrency",
                "(unset: the account's concurrency, 1,000 by default) environments starting at once make 3000",
            )),
        ),
    ];
    assert_findings_after(cases);
}

/// A template value over its limit that an environment value made names the file's key and line
/// (SCHEMA001 on the alarms' descriptions, built from `monitoring.runbook_url`).
#[test]
fn template_findings_name_the_file_key_they_come_from() {
    let url = "runbook_url: https://github.com/example/token-service/blob/main/docs/runbooks/prod.md";
    let long = |n: usize| format!("runbook_url: https://wiki.example.com/{}", "r".repeat(n));
    assert!(findings_after(&[(url, &long(700))]).is_empty());
    let got = findings_after(&[(url, &long(1000))]);
    assert!(!got.is_empty());
    for (rule, path, message) in &got {
        assert_eq!(rule, "SCHEMA001");
        assert!(path.ends_with(".Properties.AlarmDescription"), "{path}");
        assert!(
            message.contains("characters; at most 1024 (from environments/prod.yaml:monitoring.runbook_url (line 58))"),
            "{message}"
        );
    }
}

/// The schemas file as JSON: `build.rs` compiles it, these tests read it to check that.
fn schemas_json() -> serde_json::Value {
    serde_json::from_str(include_str!("../data/cfn-schemas.json")).unwrap()
}

/// Every pattern written in `node` of the schemas file.
fn collect_patterns(node: &serde_json::Value, out: &mut Vec<String>) {
    match node {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("pattern", serde_json::Value::String(p)) => out.push(p.clone()),
                    ("patternProperties", serde_json::Value::Object(props)) => {
                        out.extend(props.keys().cloned());
                        props.values().for_each(|v| collect_patterns(v, out));
                    }
                    ("enum", _) => {}
                    _ => collect_patterns(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_patterns(v, out)),
        _ => {}
    }
}

/// Every pattern of the schemas file, once each, sorted.
fn schema_patterns() -> Vec<String> {
    let mut all = Vec::new();
    collect_patterns(&schemas_json()["types"], &mut all);
    all.sort();
    all.dedup();
    all
}

/// Every pattern of the CloudFormation schemas is compiled in and compiles, in both engines, so
/// no pattern check passes by default.
#[test]
fn every_schema_pattern_compiles() {
    let all = schema_patterns();
    let mut compiled: Vec<String> = validate::PATTERN_TEXTS.iter().map(|p| p.to_string()).collect();
    compiled.sort();
    assert_eq!(compiled, all, "the compiled patterns are the file's");
    let compiles = |i: usize| validate::pattern(i).is_some_and(|re| re.is_match_fancy("\u{e9}").is_some());
    let missing: Vec<&str> =
        (0..validate::PATTERN_TEXTS.len()).filter(|i| !compiles(*i)).map(|i| validate::PATTERN_TEXTS[i]).collect();
    assert!(missing.is_empty(), "patterns that do not compile: {missing:?}");
    assert!(all.len() > 40, "{} patterns", all.len());
    assert!(validate::SCHEMAS_SOURCE.contains("cfn-lint"), "{}", validate::SCHEMAS_SOURCE);
}

/// `schema` (JSON, of the type whose schema is `root`) with its `$ref`s followed.
fn resolved<'a>(root: &'a serde_json::Value, mut schema: &'a serde_json::Value) -> &'a serde_json::Value {
    for _ in 0..16 {
        let Some(name) = schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/definitions/")) else { break };
        schema = &root["definitions"][name];
    }
    schema
}

/// Whether the compiled `node` says what the JSON `schema` says, its children too (each node
/// once: recursive definitions close).
fn same_node(
    root: &serde_json::Value,
    schema: &serde_json::Value,
    node: &validate::Node,
    seen: &mut std::collections::BTreeSet<*const validate::Node>,
) {
    if !seen.insert(node) {
        return;
    }
    let schema = resolved(root, schema);
    let texts =
        |key: &str| -> Vec<&str> { schema[key].as_array().into_iter().flatten().filter_map(|v| v.as_str()).collect() };
    assert_eq!(node.enumeration.map(<[validate::Literal]>::len), schema["enum"].as_array().map(Vec::len));
    assert_eq!(node.pattern.map(|p| validate::PATTERN_TEXTS[usize::from(p)]), schema["pattern"].as_str());
    assert_eq!(node.max_length, schema["maxLength"].as_f64());
    assert_eq!(node.min_length, schema["minLength"].as_f64());
    assert_eq!((node.minimum, node.maximum), (schema["minimum"].as_f64(), schema["maximum"].as_f64()));
    assert_eq!((node.min_items, node.max_items), (schema["minItems"].as_f64(), schema["maxItems"].as_f64()));
    assert_eq!(node.required, texts("required").as_slice());
    assert_eq!(node.closed, schema["additionalProperties"] == serde_json::Value::Bool(false));
    assert_eq!(node.unique_items, schema["uniqueItems"] == serde_json::Value::Bool(true));
    let props = schema["properties"].as_object().cloned().unwrap_or_default();
    assert_eq!(node.properties.len(), props.len());
    for (name, child) in node.properties {
        same_node(root, &props[*name], &validate::NODES[usize::from(*child)], seen);
    }
    let patterned = schema["patternProperties"].as_object().cloned().unwrap_or_default();
    assert_eq!(node.pattern_properties.len(), patterned.len());
    for (p, child) in node.pattern_properties {
        same_node(
            root,
            &patterned[validate::PATTERN_TEXTS[usize::from(*p)]],
            &validate::NODES[usize::from(*child)],
            seen,
        );
    }
    if let Some(item) = node.items {
        same_node(root, &schema["items"], &validate::NODES[usize::from(item)], seen);
    }
}

/// The compiled schemas say what `infra/data/cfn-schemas.json` says, for every type.
#[test]
fn compiled_schemas_hold_the_schemas_file() {
    let json = schemas_json();
    let types = json["types"].as_object().unwrap();
    assert_eq!(validate::TYPES.len(), types.len());
    let mut seen = std::collections::BTreeSet::new();
    for (ty, root) in types {
        same_node(root, root, validate::type_schema(ty).unwrap(), &mut seen);
    }
    assert!(seen.len() > 500, "{} nodes compared", seen.len());
}

/// Texts that tell regex dialects apart: ASCII and not, digits of other scripts, white space,
/// line ends, ARNs and names as the templates hold them.
const DIALECT_SAMPLES: &[&str] = &[
    "",
    "a",
    "A",
    "abc",
    "0",
    "\u{0663}",
    "\u{661}\u{662}\u{663}\u{664}\u{665}\u{666}\u{667}\u{668}\u{669}\u{660}\u{661}\u{662}",
    "123456789012",
    "a\u{a0}b",
    "\u{e9}t\u{e9}",
    "a-b_c.d/e#f",
    "arn:aws:lambda:eu-west-1:123456789012:function:f",
    "arn:aws:iam::123456789012:role/x",
    "arn:aws:kms:eu-west-1:123456789012:key/k",
    "/mnt/x",
    "/a/b/",
    "alias/token-service",
    "\u{e9}",
    "\u{65e5}\u{672c}",
    "a\n",
    "\n",
    " ",
    "x y",
    ":",
    "$LATEST",
    "token-service-prod",
    "o-abcdefghij",
    "2026-12-07T10:00:00Z",
    "CLOUDFRONT",
    "\u{1c}",
    "a\u{1f}b",
    "\t",
    "a\n\n",
    "a&b",
    "[",
    "<a>",
    "a\r",
    "a\r\n",
    "/a\rb",
    "a\u{85}",
    "a\u{2028}",
    "a\u{2029}b",
    "r\u{f4}le",
    "\u{661}\u{662}",
    "a\u{b}b",
    "\u{3000}",
    "x~y",
];

/// `java.util.regex` verdicts (CloudFormation's reading of the schemas, see
/// `validate::SchemaPattern`), from `infra/tests/java/PatternVerdicts.java`: for each pattern,
/// `None` when Java does not compile it, else whether it finds a match in each text.
fn java_verdicts(patterns: &[String], texts: &[String]) -> Vec<Option<Vec<bool>>> {
    let hex = |s: &String| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    let mut input = String::new();
    for list in [patterns, texts] {
        input.push_str(&format!("{}\n", list.len()));
        list.iter().for_each(|s| input.push_str(&format!("{}\n", hex(s))));
    }
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/java/PatternVerdicts.java");
    let mut java = std::process::Command::new("java")
        .arg(&source)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("java runs (a JDK: the reference reading of the schemas' patterns)");
    std::io::Write::write_all(&mut java.stdin.take().unwrap(), input.as_bytes()).unwrap();
    let out = java.wait_with_output().unwrap();
    assert!(out.status.success(), "java failed");
    let lines: Vec<Option<Vec<bool>>> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| (l != "E").then(|| l.chars().map(|c| c == '1').collect()))
        .collect();
    assert_eq!(lines.len(), patterns.len());
    lines
}

/// Every schema pattern answers as `java.util.regex` does, through both engines of
/// `SchemaPattern` where each compiles it, on texts that tell the dialects apart and on each
/// pattern's own text.
#[test]
fn schema_patterns_answer_as_java_does() {
    let patterns = schema_patterns();
    let texts: Vec<String> = DIALECT_SAMPLES.iter().map(|t| t.to_string()).chain(patterns.iter().cloned()).collect();
    let mut compared = 0;
    for (p, verdicts) in patterns.iter().zip(java_verdicts(&patterns, &texts)) {
        let verdicts = verdicts.unwrap_or_else(|| panic!("Java does not compile {p}"));
        let index = validate::PATTERN_TEXTS.iter().position(|t| t == p).unwrap();
        let ours = validate::pattern(index).unwrap();
        for (text, java) in texts.iter().zip(verdicts) {
            assert_eq!(ours.is_match(text), Some(java), "{p} on {text:?}");
            assert_eq!(ours.is_match_fancy(text), Some(java), "{p} on {text:?} (fancy-regex)");
        }
        compared += 1;
    }
    assert!(compared > 40, "{compared} patterns compared");
}

/// Java's syntax in Rust's: each rule of `rust_syntax`, with its neighbours.
#[test]
fn java_patterns_are_written_in_rust_syntax() {
    let end = "(?:(?:\\r\\n|[\\n\\r\\x{85}\\x{2028}\\x{2029}])?\\z)";
    let rows = [
        ("^a\\Z".to_owned(), format!("^a{end}")),
        ("^a$".to_owned(), format!("^a{end}")),
        ("^a\\z".to_owned(), "^a\\z".to_owned()),
        ("[$]".to_owned(), "[$]".to_owned()),
        ("\\$".to_owned(), "\\$".to_owned()),
        ("a.b".to_owned(), "a[^\\n\\r\\x{85}\\x{2028}\\x{2029}]b".to_owned()),
        ("[.]".to_owned(), "[.]".to_owned()),
        ("\\.".to_owned(), "\\.".to_owned()),
        ("\\s".to_owned(), "[\\t\\n\\x0B\\x0C\\r ]".to_owned()),
        ("\\S".to_owned(), "[^\\t\\n\\x0B\\x0C\\r ]".to_owned()),
        ("[\\s,]".to_owned(), "[\\t\\n\\x0B\\x0C\\r ,]".to_owned()),
        ("[^\\S]".to_owned(), "[^[^\\t\\n\\x0B\\x0C\\r ]]".to_owned()),
        ("\\w\\d".to_owned(), "[0-9A-Za-z_][0-9]".to_owned()),
        ("[\\w-]\\W\\D".to_owned(), "[0-9A-Za-z_-][^0-9A-Za-z_][^0-9]".to_owned()),
        ("[]a]".to_owned(), "[]a]".to_owned()),
        ("[a~~b]".to_owned(), "[a\\~\\~b]".to_owned()),
        ("a~~b".to_owned(), "a~~b".to_owned()),
        ("[a-z&&[^q]]".to_owned(), "[a-z&&[^q]]".to_owned()),
        ("\\<a\\>".to_owned(), "<a>".to_owned()),
        ("[\\]]$".to_owned(), format!("[\\]]{end}")),
    ];
    for (java, rust) in rows {
        assert_eq!(validate::rust_syntax(&java), rust, "{java}");
    }
}

/// An edit of the service stack's JSON.
type Edit = Box<dyn Fn(&mut serde_json::Value)>;
/// (rule, path, message part) of the finding a case expects.
type Want<'a> = Option<(&'a str, &'a str, &'a str)>;
/// A schema row: the edit, and the finding it must give.
type SchemaRow = (Edit, Want<'static>);

/// The edit that sets the value at `pointer`.
fn set(pointer: &str, value: serde_json::Value) -> Edit {
    let pointer = pointer.to_owned();
    Box::new(move |j: &mut serde_json::Value| *j.pointer_mut(&pointer).unwrap() = value.clone())
}

/// The edit that gives the token function these layers.
fn layers(arns: [&'static str; 2]) -> Edit {
    Box::new(move |j: &mut serde_json::Value| {
        j.pointer_mut("/Resources/TokenFunction/Properties").unwrap()["Layers"] = serde_json::json!(arns);
    })
}

/// Rows of literal values against the registry schemas (SCHEMA001) and of unknown types (SCHEMA002).
fn schema_value_rows() -> Vec<SchemaRow> {
    let fp = "/Resources/TokenFunction/Properties";
    vec![
        (set("/Resources/TokenFunction/Properties/FunctionName", "f".repeat(64).into()), None),
        (
            set("/Resources/TokenFunction/Properties/FunctionName", "f".repeat(65).into()),
            Some(("SCHEMA001", "$.Resources.TokenFunction.Properties.FunctionName", "65 characters; at most 64")),
        ),
        (
            set("/Resources/TokenFunctionLogGroup/Properties/LogGroupName", "/aws/lambda/bad name".into()),
            Some(("SCHEMA001", "$.Resources.TokenFunctionLogGroup.Properties.LogGroupName", "does not match")),
        ),
        (
            set("/Resources/TokenFunction/Properties/Runtime", "python9".into()),
            Some(("SCHEMA001", "$.Resources.TokenFunction.Properties.Runtime", "is not one of")),
        ),
        (set("/Resources/TokenFunction/Properties/MemorySize", 10240.into()), None),
        (
            set("/Resources/TokenFunction/Properties/Timeout", 901.into()),
            Some(("SCHEMA001", "$.Resources.TokenFunction.Properties.Timeout", "above the maximum 900")),
        ),
        (
            set("/Resources/TokenFunction/Properties/Architectures", serde_json::json!(["arm64", "x86_64"])),
            Some(("SCHEMA001", "$.Resources.TokenFunction.Properties.Architectures", "2 items; at most 1")),
        ),
        // uniqueItems: a layer given twice; its neighbours, two different layers.
        (
            layers([
                "arn:aws:lambda:eu-west-1:123456789012:layer:a:1",
                "arn:aws:lambda:eu-west-1:123456789012:layer:a:1",
            ]),
            Some(("SCHEMA001", "$.Resources.TokenFunction.Properties.Layers", "is given twice")),
        ),
        (
            layers([
                "arn:aws:lambda:eu-west-1:123456789012:layer:a:1",
                "arn:aws:lambda:eu-west-1:123456789012:layer:a:2",
            ]),
            None,
        ),
        (
            Box::new(move |j: &mut serde_json::Value| {
                j.pointer_mut(fp).unwrap()["Colour"] = "blue".into();
            }),
            Some(("SCHEMA001", "$.Resources.TokenFunction.Properties.Colour", "not a property")),
        ),
        (
            Box::new(|j: &mut serde_json::Value| {
                j["Resources"]["TokenSigningKeyAlias"]["Properties"].as_object_mut().unwrap().remove("TargetKeyId");
            }),
            Some(("SCHEMA001", "$.Resources.TokenSigningKeyAlias.Properties", "required property TargetKeyId")),
        ),
        (
            set("/Resources/TokenFunctionLogGroup/Properties/RetentionInDays", 15.into()),
            Some(("SCHEMA001", "$.Resources.TokenFunctionLogGroup.Properties.RetentionInDays", "is not one of")),
        ),
        (
            set("/Resources/TokenFunction/Type", "AWS::Lambda::Nope".into()),
            Some(("SCHEMA002", "$.Resources.TokenFunction.Type", "no schema for AWS::Lambda::Nope")),
        ),
    ]
}

/// Rows of values CloudFormation computes, whose literal text is a lower bound (SCHEMA001).
fn computed_value_rows() -> Vec<SchemaRow> {
    let fp = "/Resources/TokenFunction/Properties";
    vec![
        // Values CloudFormation computes: their literal text is a lower bound.
        (
            set(
                &format!("{fp}/FunctionName"),
                serde_json::json!({"Fn::Sub": format!("${{AWS::StackName}}{}", "f".repeat(64))}),
            ),
            None,
        ),
        (
            set(
                &format!("{fp}/FunctionName"),
                serde_json::json!({"Fn::Sub": format!("${{AWS::StackName}}-{}", "f".repeat(64))}),
            ),
            Some((
                "SCHEMA001",
                "$.Resources.TokenFunction.Properties.FunctionName",
                "resolves to at least 65 characters",
            )),
        ),
        (
            set(
                &format!("{fp}/FunctionName"),
                serde_json::json!({"Fn::Sub": format!("${{!Literal}}{}", "f".repeat(55))}),
            ),
            Some((
                "SCHEMA001",
                "$.Resources.TokenFunction.Properties.FunctionName",
                "resolves to at least 65 characters",
            )),
        ),
        (
            set(
                &format!("{fp}/FunctionName"),
                serde_json::json!({"Fn::Join": ["-", ["a".repeat(31), "b".repeat(32)]]}),
            ),
            None,
        ),
        (
            set(
                &format!("{fp}/FunctionName"),
                serde_json::json!({"Fn::Join": ["-", ["a".repeat(32), {"Ref": "AWS::StackName"}, "b".repeat(31)]]}),
            ),
            Some((
                "SCHEMA001",
                "$.Resources.TokenFunction.Properties.FunctionName",
                "resolves to at least 65 characters",
            )),
        ),
    ]
}

/// Rows of the function's environment size (LAMBDA002).
fn environment_size_rows() -> Vec<SchemaRow> {
    vec![
        // Lambda's 4 KB of environment variables: the audience is the big one here (dev's issuer
        // is computed, counted as COMPUTED_VALUE_BYTES).
        (
            set("/Resources/TokenFunction/Properties/Environment/Variables/TOKEN_AUDIENCE", "a".repeat(2800).into()),
            None,
        ),
        (
            set("/Resources/TokenFunction/Properties/Environment/Variables/TOKEN_AUDIENCE", "a".repeat(5000).into()),
            Some((
                "LAMBDA002",
                "$.Resources.TokenFunction.Properties.Environment.Variables",
                "The largest is TOKEN_AUDIENCE (5014 bytes, set by ",
            )),
        ),
        (
            set("/Resources/TokenFunction/Properties/Environment/Variables/TOKEN_AUDIENCE", "a".repeat(5000).into()),
            Some((
                "LAMBDA002",
                "$.Resources.TokenFunction.Properties.Environment.Variables",
                "environments/dev.yaml:token.audience (line 20))",
            )),
        ),
    ]
}

/// Literal values against the registry schemas (SCHEMA001), unknown types (SCHEMA002), and the
/// function's environment size (LAMBDA002): the bad value, its neighbour at the limit, the path.
#[test]
fn schema_limits_are_checked() {
    let base = env("dev");
    let service = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut json = stacks::service::build(&base).unwrap().to_json();
        edit(&mut json);
        json
    };
    let cases = [schema_value_rows(), computed_value_rows(), environment_size_rows()];
    for (i, (edit, want)) in cases.into_iter().flatten().enumerate() {
        let json = service(&*edit);
        let t = serde_json::from_value::<serde_json::Value>(json).unwrap();
        let findings = validate::template_json("test-stack", &t, &base);
        let errors: Vec<(&str, &str, &str)> = findings
            .iter()
            .filter(|f| f.severity == Severity::Error && f.rule != "REF001" && f.rule != "REF002")
            .map(|f| (f.rule, f.path.as_str(), f.message.as_str()))
            .collect();
        match want {
            None => assert!(errors.is_empty(), "case {i}: {errors:#?}"),
            Some((rule, path, message)) => assert!(
                errors.iter().any(|(r, p, m)| *r == rule && *p == path && m.contains(message)),
                "case {i}: want {rule} at {path}: {message}\n got {errors:#?}"
            ),
        }
    }
}

/// Rules the typed model makes hard to break, each with a bad case and its path: ids
/// (ID001), a reference into another template (REF004), NotAction (IAM003), a canary that
/// watches nothing (DEPLOY002).
#[test]
fn rules_behind_the_typed_model_still_fire() {
    let dev = env("dev");
    let json_cases = [
        (
            serde_json::json!({"Resources": {"Bad-Id": {"Type": "AWS::SNS::Topic", "Properties": {}}}}),
            "ID001",
            "$.Resources.Bad-Id",
        ),
        (serde_json::json!({"Outputs": {"": {"Value": "x"}}}), "ID001", "$.Outputs."),
        (
            serde_json::json!({"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
                "Policies": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "arn:aws:s3:::b"}]}}]}}}}),
            "IAM003",
            "$.Resources.Role.Properties.Policies[0].PolicyDocument.Statement[0]",
        ),
    ];
    for (json, rule, path) in json_cases {
        let f = validate::template_json("t", &json, &dev);
        assert!(f.iter().any(|f| f.rule == rule && f.path == path), "{rule} at {path}: {f:#?}");
    }
    let good = serde_json::json!({"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {}}}});
    assert!(validate::template_json("t", &good, &dev).iter().all(|f| f.rule != "ID001"));

    // A handle of another template: its id dangles here.
    let mut other = Template::new("other");
    let foreign = other.add("Logs", log_group("/x", 14)).unwrap();
    let mut t = Template::new("t");
    t.add_with("Mine", log_group("/y", 14), infra::cfn::Options::new().depends_on(&foreign)).unwrap();
    let f = check(t, &dev);
    assert!(f.iter().any(|f| f.rule == "REF004" && f.path == "$.Resources.Mine.DependsOn[0]"), "{f:#?}");

    // A canary deployment group with no alarms is a warning.
    let prod = env("prod");
    let mut json = stacks::service::build(&prod).unwrap().to_json();
    assert!(validate::cross_stack(&[("s", json.clone())]).iter().all(|f| f.rule != "DEPLOY002"));
    json["Resources"]["TokenDeployGroup"]["Properties"]["AlarmConfiguration"]["Alarms"] = serde_json::json!([]);
    let f = validate::cross_stack(&[("s", json)]);
    assert!(
        f.iter().any(|f| f.rule == "DEPLOY002"
            && f.severity == Severity::Warning
            && f.path == "$.Resources.TokenDeployGroup.Properties.AlarmConfiguration"),
        "{f:#?}"
    );
}

/// The region must offer every resource type (REGION001), and literal strings carry no
/// CloudFormation syntax (REF005), with their paths.
#[test]
fn regions_and_literal_syntax_are_checked() {
    for (region, want) in [
        ("eu-west-1", None),
        ("us-east-1", None),
        ("il-central-1", Some("CloudFormation does not offer AWS::Budgets::Budget in il-central-1")),
        ("us-gov-west-1", Some("does not offer AWS::Budgets::Budget")),
        ("xx-east-9", Some("`xx-east-9` is not a region CloudFormation has")),
    ] {
        let cert = format!("arn:{}:acm:{region}:", infra::env::partition_of(region));
        let got =
            findings_after(&[("region: eu-west-1", &format!("region: {region}")), ("arn:aws:acm:eu-west-1:", &cert)]);
        let region001: Vec<&(String, String, String)> = got.iter().filter(|(r, _, _)| r == "REGION001").collect();
        match want {
            None => assert!(region001.is_empty(), "{region}: {region001:?}"),
            Some(m) => assert!(
                region001.iter().any(|(_, p, msg)| p.ends_with("prod.yaml:region (line 3)") && msg.contains(m)),
                "{region}: {got:?}"
            ),
        }
    }
    let dev = env("dev");
    for (value, bad) in [
        (serde_json::json!("plain text"), false),
        (serde_json::json!("api-${AWS::Region}"), true),
        (serde_json::json!("{{resolve:ssm:/x}}"), true),
        (serde_json::json!({"Fn::Sub": "arn:${AWS::Partition}:x"}), false),
        (serde_json::json!({"Fn::Sub": ["${A}-{{resolve:ssm:/x}}", {"A": "b"}]}), true),
        (serde_json::json!({"Fn::Sub": ["${A}", {"A": "${B}"}]}), true),
    ] {
        let t = serde_json::json!({"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": value}}}});
        let f = validate::template_json("t", &t, &dev);
        let found =
            f.iter().any(|f| f.rule == "REF005" && f.path.starts_with("$.Resources.Topic.Properties.DisplayName"));
        assert_eq!(found, bad, "{value}: {f:#?}");
    }
}
