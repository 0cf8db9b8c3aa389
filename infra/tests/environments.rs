//! Loading environment files: the shipped ones load, and every kind of bad input gets one
//! clear error naming the file, the key and the line.

use std::path::{Path, PathBuf};

use infra::env::{EnvError, Environment};

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments")
}

fn dev_text() -> String {
    std::fs::read_to_string(shipped().join("dev.yaml")).unwrap()
}

/// Parses dev.yaml with one edit applied and returns the error message.
fn error_after(from: &str, to: &str) -> String {
    let text = dev_text();
    assert!(text.contains(from), "dev.yaml no longer contains {from:?}");
    let edited = text.replacen(from, to, 1);
    match Environment::parse(&edited, "dev", Path::new("environments/dev.yaml")) {
        Ok(_) => panic!("edit {from:?} -> {to:?} was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn shipped_environments_load() {
    let names = Environment::names(&shipped()).unwrap();
    assert_eq!(names, ["dev", "prod", "staging"]);
    for n in names {
        let env = Environment::load_named(&shipped(), &n).unwrap();
        assert_eq!(env.name, n);
        assert!(!env.token.clients.0.is_empty());
    }
}

#[test]
fn out_of_range_values_name_key_and_line() {
    let cases = [
        ("memory_mb: 256", "memory_mb: 64", "function.memory_mb: 64 is out of range: expected 128 to 10240 at line"),
        ("memory_mb: 256", "memory_mb: 10241", "function.memory_mb: 10241 is out of range"),
        ("timeout_seconds: 10", "timeout_seconds: 0", "function.timeout_seconds: 0 is out of range: expected 1 to 900"),
        ("timeout_seconds: 10", "timeout_seconds: 901", "function.timeout_seconds: 901 is out of range"),
        (
            "log_retention_days: 14",
            "log_retention_days: 15",
            "function.log_retention_days: 15 is not a retention CloudWatch Logs accepts",
        ),
        (
            "access_log_retention_days: 14",
            "access_log_retention_days: 0",
            "api.access_log_retention_days: 0 is not a retention",
        ),
        ("rate_limit: 20", "rate_limit: 0", "api.throttling.rate_limit: 0 is out of range"),
        (
            "pending_window_days: 7",
            "pending_window_days: 6",
            "signing_key.pending_window_days: 6 is out of range: expected 7 to 30",
        ),
        ("account_id: \"111111111111\"", "account_id: \"1111\"", "account_id: `1111` is not an AWS account id"),
        ("region: eu-west-1", "region: Ireland", "region: `Ireland` is not an AWS region code"),
        (
            "issuer: https://auth.dev.example.com",
            "issuer: http://auth.dev.example.com",
            "token.issuer: `http://auth.dev.example.com` is not an https:// URL",
        ),
        ("stage_name: v1", "stage_name: v-1", "api.stage_name: `v-1` is not a stage name"),
        ("architecture: arm64", "architecture: sparc", "function.architecture: unknown variant `sparc`"),
    ];
    for (from, to, want) in cases {
        let got = error_after(from, to);
        assert!(got.starts_with("environments/dev.yaml: "), "{got}");
        assert!(got.contains(want), "for {to:?}\n  got:  {got}\n  want: {want}");
        assert!(got.contains(" at line "), "no line in {got}");
    }
}

#[test]
fn line_numbers_point_at_the_value() {
    let got = error_after("memory_mb: 256", "memory_mb: 64");
    let line = dev_text().lines().position(|l| l.contains("memory_mb")).unwrap() + 1;
    assert!(got.contains(&format!("at line {line} column")), "{got}");
}

#[test]
fn unknown_and_missing_keys_are_refused() {
    let got = error_after("  tracing: Active", "  tracing: Active\n  colour: blue");
    assert!(got.contains("function: unknown field `colour`"), "{got}");
    let got = error_after("stack_prefix: token-service", "stack_prefix: token-service\nextra: 1");
    assert!(got.contains("unknown field `extra`"), "{got}");
    let got = error_after("  memory_mb: 256\n", "");
    assert!(got.contains("missing field `memory_mb`"), "{got}");
}

#[test]
fn client_rules_are_checked() {
    let got = error_after("default_scopes: [orders:read]", "default_scopes: [orders:delete]");
    assert!(
        got.contains("clients[0].default_scopes: `orders:delete` is not in allowed_scopes of client `dev-test-client`"),
        "{got}"
    );
    let got = error_after("id: inventory-service", "id: dev-test-client");
    assert!(got.contains("clients[1].id: client `dev-test-client` is listed twice"), "{got}");
    let got =
        error_after("allowed_scopes: [orders:read, orders:write, inventory:read]", "allowed_scopes: [\"bad scope\"]");
    assert!(got.contains("is not a scope token"), "{got}");
}

#[test]
fn malformed_yaml_names_the_line() {
    let got = error_after("rate_limit: 20", "rate_limit: [20");
    assert!(got.contains("line"), "{got}");
    let e = Environment::parse(": : :\n\t- x", "dev", Path::new("environments/dev.yaml")).unwrap_err();
    assert!(e.to_string().starts_with("environments/dev.yaml: "), "{e}");
    let e = Environment::parse("", "dev", Path::new("environments/dev.yaml")).unwrap_err();
    assert!(e.to_string().starts_with("environments/dev.yaml: "), "{e}");
}

#[test]
fn cross_section_rules_are_checked() {
    let got = error_after("stack_prefix: token-service", "stack_prefix: token-service-with-a-long-name");
    assert!(got.contains("stack_prefix:"), "{got}");
    let text = std::fs::read_to_string(shipped().join("prod.yaml")).unwrap();
    let edited = text.replace("arn:aws:acm:eu-west-1:", "arn:aws:acm:us-east-1:");
    let e = Environment::parse(&edited, "prod", Path::new("environments/prod.yaml")).unwrap_err();
    assert!(e.to_string().contains("api.custom_domain.certificate_arn: the certificate is in us-east-1"), "{e}");
}

#[test]
fn unknown_environment_lists_the_known_ones() {
    let e = Environment::load_named(&shipped(), "qa").unwrap_err();
    assert!(matches!(e, EnvError::Unknown { .. }));
    assert!(e.to_string().contains("known environments: dev, prod, staging"), "{e}");
    let e = Environment::load_named(&shipped(), "../Cargo").unwrap_err();
    assert!(matches!(e, EnvError::Unknown { .. }), "{e}");
}

#[test]
fn monitoring_settings_are_checked() {
    let alarm = "lambda_errors: {threshold: 20, period_seconds: 300, evaluation_periods: 3, datapoints_to_alarm: 2, severity: warning}";
    let cases = [
        (alarm.replace("period_seconds: 300", "period_seconds: 45"), "45 is not an alarm period"),
        (
            alarm.replace("datapoints_to_alarm: 2", "datapoints_to_alarm: 4"),
            "datapoints_to_alarm (4) cannot exceed evaluation_periods (3)",
        ),
        (
            alarm.replace(
                "evaluation_periods: 3, datapoints_to_alarm: 2",
                "evaluation_periods: 300, datapoints_to_alarm: 2",
            ),
            "evaluates at most one day",
        ),
        (alarm.replace("severity: warning", "severity: loud"), "unknown variant `loud`"),
        (alarm.replace("threshold: 20", "threshold: -1"), "threshold -1 must be a number of at least 0"),
    ];
    for (to, want) in cases {
        let got = error_after(alarm, &to);
        assert!(got.contains("monitoring.alarms"), "{got}");
        assert!(got.contains(want), "got {got}\nwant {want}");
    }
    let got = error_after("api_5xx_rate: {threshold: 10,", "api_5xx_rate: {threshold: 101,");
    assert!(got.contains("monitoring.alarms.api_5xx_rate.threshold: 101 is a percentage"), "{got}");
    let got = error_after("emails: [identity-dev@example.com]\n  alarms", "emails: [not-an-email]\n  alarms");
    assert!(got.contains("`not-an-email` is not an email address"), "{got}");
}

#[test]
fn a_threshold_change_shows_in_template_and_runbook() {
    let text = std::fs::read_to_string(shipped().join("prod.yaml")).unwrap();
    let edited = text.replace("lambda_duration_p95: {threshold: 120,", "lambda_duration_p95: {threshold: 135,");
    assert_ne!(text, edited);
    let env = Environment::parse(&edited, "prod", Path::new("environments/prod.yaml")).unwrap();
    let t = infra::stacks::monitoring::build(&env).unwrap().to_json();
    assert_eq!(t["Resources"]["LambdaDurationP95Alarm"]["Properties"]["Threshold"], 135.0);
    let runbook = infra::runbook::render(&env).unwrap();
    assert!(runbook.contains("| [Lambda duration p95](#lambda-duration-p95) | above 135 ms |"), "{runbook}");
}
