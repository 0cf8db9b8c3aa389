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

/// Applies each edit to dev.yaml and checks the outcome: `None` loads, `Some(part)` is refused
/// in one line naming the file, holding `part` and a line number.
fn assert_edits(cases: &[(&str, String, Option<&str>)]) {
    let text = dev_text();
    for (from, to, want) in cases {
        assert!(text.contains(from), "dev.yaml no longer contains {from:?}");
        let got = Environment::parse(&text.replacen(from, to, 1), "dev", Path::new("environments/dev.yaml"));
        match (got, want) {
            (Ok(_), None) => {}
            (Err(e), Some(want)) => {
                let e = e.to_string();
                assert!(e.starts_with("environments/dev.yaml: "), "{e}");
                assert!(e.contains(want) && e.contains(" at line "), "for {to:?}\n  got:  {e}\n  want: {want}");
                assert_eq!(e.lines().count(), 1, "{e}");
            }
            (got, want) => panic!("{to:?}: got {:?}, want {want:?}", got.map(|_| ()).map_err(|e| e.to_string())),
        }
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
        // Numbers past 64 bits, written as decimals or exponents, or with a leading zero: the
        // range or the whole number to write, never a Rust type.
        (
            "ttl_seconds: 3600",
            "ttl_seconds: 99999999999999999999999",
            "token.ttl_seconds: 99999999999999999999999 is out of range: expected 60 to 86400",
        ),
        (
            "ttl_seconds: 3600",
            "ttl_seconds: -99999999999999999999999",
            "token.ttl_seconds: -99999999999999999999999 is out of range: expected 60 to 86400",
        ),
        ("ttl_seconds: 3600", "ttl_seconds: 9223372036854775808", "9223372036854775808 is out of range"),
        (
            "ttl_seconds: 3600",
            "ttl_seconds: 1e3",
            "token.ttl_seconds: 1000.0 is written as a decimal or with an exponent; write the whole number 1000",
        ),
        ("ttl_seconds: 3600", "ttl_seconds: 3600.5", "token.ttl_seconds: 3600.5 is not a whole number"),
        (
            "ttl_seconds: 3600",
            "ttl_seconds: 0900",
            "token.ttl_seconds: `0900` has a leading zero, which YAML 1.1 readers take as octal; write 900",
        ),
        ("log_retention_days: 14", "log_retention_days: 014", "`014` has a leading zero"),
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
            "# No `issuer:` here: without api.custom_domain the issuer is the API's own URL.",
            "issuer: http://auth.dev.example.com",
            "token.issuer: `http://auth.dev.example.com`: an issuer must use https",
        ),
        ("stage_name: v1", "stage_name: v-1", "api.stage_name: `v-1` is not a stage name"),
        ("architecture: arm64", "architecture: sparc", "function.architecture: unknown variant `sparc`"),
        ("pending_window_days: 7", "pending_window_days: 7\n  mode: hsm", "signing_key.mode: unknown variant `hsm`"),
        (
            "pending_window_days: 7",
            "pending_window_days: 7\n  kms_quotas: {ecc: 0}",
            "signing_key.kms_quotas.ecc: 0 is out of range: expected 1 to 1000000",
        ),
        (
            "pending_window_days: 7",
            "pending_window_days: 7\n  kms_quotas: {hsm: 10}",
            "signing_key.kms_quotas: unknown field `hsm`",
        ),
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
    // The first key of the file: the typed reader gives no position at the document's start.
    let first = dev_text().lines().next().unwrap().to_owned();
    let got = error_after(&first, &format!("acount_id: x\n{first}"));
    assert!(got.contains("unknown field `acount_id`") && got.ends_with(" at line 1"), "{got}");
}

#[test]
fn client_rules_are_checked() {
    // Each message points at the value's own line, not the section's.
    let text = dev_text();
    let line = |needle: &str| text[..text.find(needle).unwrap()].matches('\n').count() + 1;
    let got = error_after("default_scopes: [orders:read]", "default_scopes: [orders:delete]");
    let want = format!(
        "token.clients[0].default_scopes: `orders:delete` is not in allowed_scopes of client `dev-test-client` at line {}",
        line("default_scopes: [orders:read]")
    );
    assert!(got.contains(&want), "{got}\nwant {want}");
    let got = error_after("id: inventory-service", "id: dev-test-client");
    let want = format!(
        "token.clients[1].id: client `dev-test-client` is listed twice at line {}",
        line("id: inventory-service")
    );
    assert!(got.contains(&want), "{got}\nwant {want}");
    let got =
        error_after("allowed_scopes: [orders:read, orders:write, inventory:read]", "allowed_scopes: [\"bad scope\"]");
    assert!(got.contains("token.clients[0].allowed_scopes[0]: `bad scope` is not a scope token"), "{got}");
}

/// Every message names a list item one way, `token.clients[1]`, whichever reader found the
/// fault: the typed reading (serde), the YAML pass (`yaml_keys`) or the cross-field checks.
#[test]
fn list_items_are_named_one_way() {
    let rows = [
        ("ttl_seconds: 900", "ttl_seconds: 5", "token.clients[1].ttl_seconds: 5 is out of range"),
        ("ttl_seconds: 900", "ttl_secs: 900", "token.clients[1]: unknown field `ttl_secs`"),
        ("ttl_seconds: 900", "ttl_seconds: !!int 900", "token.clients[1].ttl_seconds: the YAML tag `!!int`"),
        (
            "id: inventory-service",
            "id: dev-test-client",
            "token.clients[1].id: client `dev-test-client` is listed twice",
        ),
        ("default_scopes: [inventory:read]", "default_scopes: [x]", "token.clients[1].default_scopes: `x` is not in"),
        ("ttl_seconds: 900", "ttl_seconds: 900\n      id: again", "token.clients[1].id: the key is given twice"),
    ];
    for (from, to, want) in rows {
        let got = error_after(from, to);
        assert!(got.contains(want), "{to}: {got}\nwant {want}");
    }
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
            alarm
                .replace("period_seconds: 300, evaluation_periods: 3", "period_seconds: 3600, evaluation_periods: 169"),
            "CloudWatch evaluates at most 604800 s",
        ),
        (
            alarm.replace("period_seconds: 300, evaluation_periods: 3", "period_seconds: 300, evaluation_periods: 289"),
            "CloudWatch evaluates at most 86400 s",
        ),
        (
            alarm.replace("datapoints_to_alarm: 2", "datapoints_to_alarm: 4"),
            "monitoring.alarms.lambda_errors.datapoints_to_alarm: 4 cannot exceed evaluation_periods (3) at line 50",
        ),
        (
            alarm.replace(
                "evaluation_periods: 3, datapoints_to_alarm: 2",
                "evaluation_periods: 300, datapoints_to_alarm: 2",
            ),
            "CloudWatch evaluates at most 86400 s",
        ),
        (alarm.replace("severity: warning", "severity: loud"), "unknown variant `loud`"),
        (
            alarm.replace("threshold: 20", "threshold: -1"),
            "monitoring.alarms.lambda_errors.threshold: -1 must be a number of at least 0 at line 50",
        ),
    ];
    for (to, want) in cases {
        let got = error_after(alarm, &to);
        assert!(got.contains("monitoring.alarms"), "{got}");
        assert!(got.contains(want), "got {got}\nwant {want}");
    }
    let got = error_after("api_5xx_rate: {threshold: 10,", "api_5xx_rate: {threshold: 101,");
    assert!(
        got.contains("monitoring.alarms.api_5xx_rate.threshold: 101 is a percentage, at most 100 at line "),
        "{got}"
    );
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

/// Every duplicate key is refused, with its path and line; the same key in different maps is fine.
#[test]
fn duplicate_keys_are_refused_everywhere() {
    let cases: [(&str, &str, Option<&str>); 9] = [
        ("tags:\n", "tags:\n  team: payments\n", Some("tags.team: the key is given twice, at line 8 and at line 9")),
        (
            "  memory_mb: 256\n",
            "  memory_mb: 256\n  memory_mb: 512\n",
            Some("function.memory_mb: the key is given twice, at line 12 and at line 13"),
        ),
        (
            "region: eu-west-1\n",
            "region: eu-west-1\nregion: us-east-1\n",
            Some("region: the key is given twice, at line 3 and at line 4"),
        ),
        (
            "region: eu-west-1\n",
            "region: eu-west-1\n\"region\": us-east-1\n",
            Some("region: the key is given twice, at line 3 and at line 4"),
        ),
        (
            "lambda_errors: {threshold: 20,",
            "lambda_errors: {threshold: 20, threshold: 1,",
            Some("monitoring.alarms.lambda_errors.threshold: the key is given twice, at line 50 and at line 50"),
        ),
        (
            "    - id: inventory-service\n",
            "    - id: inventory-service\n      id: other\n",
            Some("token.clients[1].id: the key is given twice, at line 26 and at line 27"),
        ),
        (
            "      ttl_seconds: 900\n",
            "      ttl_seconds: 900\n      ttl_seconds: 60\n",
            Some("token.clients[1].ttl_seconds: the key is given twice, at line 29 and at line 30"),
        ),
        // Neighbours: the same key in two different maps, and a tag value that repeats another.
        ("tags:\n", "tags:\n  owner: identity\n", None),
        ("tags:\n", "tags:\n  also: identity\n", None),
    ];
    assert!(dev_text().contains("tags:\n  team: identity\n"), "dev.yaml's tags changed");
    let cases: Vec<(&str, String, Option<&str>)> = cases.into_iter().map(|(f, t, w)| (f, t.to_owned(), w)).collect();
    assert_edits(&cases);
}

/// dev.yaml's lines that the URL rows edit.
const ISSUER: &str = "# No `issuer:` here: without api.custom_domain the issuer is the API's own URL.";
const RUNBOOK: &str = "runbook_url: https://github.com/example/token-service/blob/main/docs/runbooks/dev.md";
const WARNING_EMAILS: &str = "emails: [identity-dev@example.com]";

/// The warning notifications with one webhook at `url`.
fn webhook(url: &str) -> String {
    format!("emails: [identity-dev@example.com]\n      webhooks: [\"{url}\"]")
}

/// (what the edit replaces, what it puts there, `None` when it loads, else a part of the error)
type Row = (&'static str, String, Option<&'static str>);

/// Rows of issuer URLs.
fn issuer_rows() -> Vec<Row> {
    vec![
        // Issuer (RFC 8414 section 2).
        // Well formed, but dev has no custom domain: it answers only at its API's URL.
        (ISSUER, "issuer: https://auth.example.com".into(), Some("without api.custom_domain")),
        (ISSUER, "issuer: http://localhost:8080".into(), Some("an issuer must use https")),
        (ISSUER, "issuer: https://localhost".into(), Some("`localhost` is this machine")),
        (ISSUER, "issuer: https://auth..example.com".into(), Some("is not a DNS name")),
        (ISSUER, "issuer: https://-auth.example.com".into(), Some("is not a DNS name")),
        (ISSUER, "issuer: https://auth.example.com.".into(), Some("is not a DNS name")),
        (ISSUER, "issuer: https://10.0.0.1".into(), Some("10.0.0.1 is not a public address")),
        (ISSUER, "issuer: https://auth.example.com/tenant".into(), Some("without api.custom_domain")),
        (ISSUER, "issuer: http://localhost.evil.example".into(), Some("an issuer must use https")),
        (ISSUER, "issuer: http://localhostevil.example".into(), Some("an issuer must use https")),
        (ISSUER, "issuer: http://auth.example.com".into(), Some("an issuer must use https")),
        (
            ISSUER,
            "issuer: ftp://auth.example.com".into(),
            Some("an issuer must use https (RFC 8414 section 2), not ftp"),
        ),
        (ISSUER, "issuer: https://auth.example.com/".into(), Some("no trailing `/`")),
        (ISSUER, "issuer: https://auth.example.com?tenant=a".into(), Some("no query or fragment")),
        (ISSUER, "issuer: https://auth.example.com#x".into(), Some("no query or fragment")),
        (ISSUER, "issuer: https://user:pw@auth.example.com".into(), Some("credentials do not belong")),
        (
            ISSUER,
            "issuer: HTTPS://Auth.Example.com".into(),
            Some("not written in normal form; write `https://auth.example.com`"),
        ),
        (ISSUER, "issuer: https://auth.example.com:443".into(), Some("not written in normal form")),
        (ISSUER, "issuer: \"https://auth example.com\"".into(), Some("is not a URL")),
        (ISSUER, "issuer: auth.example.com".into(), Some("is not a URL")),
    ]
}

/// Rows of SNS https subscription URLs.
fn subscription_rows() -> Vec<Row> {
    vec![
        // SNS https subscriptions.
        (WARNING_EMAILS, webhook("https://events.pagerduty.com/integration/x/enqueue"), None),
        (WARNING_EMAILS, webhook("http://localhost.evil.example/hook"), Some("must be an https:// URL")),
        (WARNING_EMAILS, webhook("http://events.pagerduty.com/x"), Some("must be an https:// URL")),
        (WARNING_EMAILS, webhook("https://localhost/hook"), Some("SNS delivers only to public hosts")),
        (WARNING_EMAILS, webhook("https://localhost./hook"), Some("is not a DNS name")),
        (WARNING_EMAILS, webhook("https://sub.localhost/hook"), Some("is this machine")),
        (WARNING_EMAILS, webhook("https://127.0.0.1/hook"), Some("127.0.0.1 is not a public address")),
        (WARNING_EMAILS, webhook("https://0.0.0.0/hook"), Some("is not a public address")),
        (WARNING_EMAILS, webhook("https://10.0.0.1/hook"), Some("is not a public address")),
        (WARNING_EMAILS, webhook("https://169.254.169.254/latest"), Some("is not a public address")),
        (WARNING_EMAILS, webhook("https://[::ffff:7f00:1]/x"), Some("is not a public address")),
        (WARNING_EMAILS, webhook("https://[::1]/x"), Some("is not a public address")),
        (WARNING_EMAILS, webhook("https://203.0.113.9/x"), Some("documentation (RFC 5737)")),
        (WARNING_EMAILS, webhook("https://100.64.0.1/x"), Some("shared address space")),
        (WARNING_EMAILS, webhook("https://224.0.0.1/x"), Some("multicast")),
        (WARNING_EMAILS, webhook("https://255.255.255.255/x"), Some("reserved")),
        (WARNING_EMAILS, webhook("https://[ff02::1]/x"), Some("multicast")),
        (WARNING_EMAILS, webhook("https://[64:ff9b::7f00:1]/x"), Some("NAT64 form of 127.0.0.1")),
        (WARNING_EMAILS, webhook("https://[2002:7f00:1::]/x"), Some("6to4 form of 127.0.0.1")),
        (WARNING_EMAILS, webhook("https://8.8.8.8/x"), None),
    ]
}

/// Rows of special-use and single-label host names, and their public look-alikes.
fn special_use_rows() -> Vec<Row> {
    vec![
        // Special-use and single-label names; their public look-alikes pass.
        (WARNING_EMAILS, webhook("https://foo.internal/x"), Some("under `internal`, a special-use name")),
        (WARNING_EMAILS, webhook("https://metadata.google.internal/x"), Some("under `internal`")),
        (WARNING_EMAILS, webhook("https://foo.local/x"), Some("under `local`")),
        (WARNING_EMAILS, webhook("https://foo.home.arpa/x"), Some("under `home.arpa`")),
        (WARNING_EMAILS, webhook("https://foo.test/x"), Some("under `test`")),
        (WARNING_EMAILS, webhook("https://foo.invalid/x"), Some("under `invalid`")),
        (WARNING_EMAILS, webhook("https://example/x"), Some("single-label name")),
        (WARNING_EMAILS, webhook("https://internal.example.com/x"), None),
        (WARNING_EMAILS, webhook("https://local.hooks.example.com/x"), None),
        (WARNING_EMAILS, webhook("https://hooks.example.com:0/x"), Some("port 0")),
        (WARNING_EMAILS, webhook("https://hooks.example.com:8443/x"), None),
        (ISSUER, "issuer: https://auth.internal".into(), Some("special-use name")),
        (WARNING_EMAILS, webhook("https://[2606:4700:4700::1111]/x"), None),
        (ISSUER, "issuer: https://100.64.0.1".into(), Some("shared address space")),
        (WARNING_EMAILS, webhook("https://user:secret@hooks.example.com/x"), Some("credentials do not belong")),
        (WARNING_EMAILS, webhook("mailto:oncall@example.com"), Some("must be an https:// URL")),
    ]
}

/// Rows of runbook links and of endpoints listed twice.
fn runbook_and_duplicate_rows() -> Vec<Row> {
    vec![
        // Runbook links (alarms append #section).
        (RUNBOOK, "runbook_url: https://wiki.example.com/runbooks/dev".into(), None),
        // One subscription per endpoint.
        (
            "emails: [identity-dev@example.com]\n  alarms",
            "emails: [identity-dev@example.com, Identity-Dev@example.com]\n  alarms".into(),
            Some("monitoring.notifications.warning.emails: `identity-dev@example.com` is listed twice"),
        ),
        (
            WARNING_EMAILS,
            format!("{WARNING_EMAILS}\n      webhooks: [\"https://a.example.com/x\", \"https://a.example.com/x\"]"),
            Some("monitoring.notifications.warning.webhooks: `https://a.example.com/x` is listed twice"),
        ),
        (
            WARNING_EMAILS,
            format!("{WARNING_EMAILS}\n      webhooks: [\"https://a.example.com/x\", \"https://a.example.com/y\"]"),
            None,
        ),
        (
            RUNBOOK,
            "runbook_url: http://wiki.example.com/runbooks/dev".into(),
            Some("the runbook must be an https:// URL"),
        ),
        (RUNBOOK, "runbook_url: https://wiki.example.com/runbooks/dev#top".into(), Some("no query or fragment")),
    ]
}

/// URL-typed values are parsed as URLs and checked against the rules of where they are used.
#[test]
fn urls_are_parsed_and_checked_where_they_are_used() {
    let cases = [issuer_rows(), subscription_rows(), special_use_rows(), runbook_and_duplicate_rows()];
    assert_edits(&cases.concat());
}

/// File names that cannot be environment names are refused by `names` (so `list` and `--all`)
/// and by name, with the reason; good names load.
#[test]
fn file_names_must_be_environment_names() {
    let cases = [
        ("qa_1", false),
        ("QA", false),
        ("1qa", false),
        ("-qa", false),
        ("qa.1", false),
        ("qa 1", false),
        ("a-very-long-environment-name", false),
        ("qa", true),
        ("qa-1", true),
        ("q1", true),
    ];
    for (name, ok) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(format!("{name}.yaml")), dev_text()).unwrap();
        let by_name = Environment::load_named(dir.path(), name);
        let listed = Environment::names(dir.path());
        if ok {
            assert!(by_name.is_ok(), "{name}: {:?}", by_name.err().map(|e| e.to_string()));
            assert_eq!(listed.unwrap(), [name]);
        } else {
            for e in [by_name.unwrap_err(), listed.unwrap_err()] {
                assert!(matches!(e, EnvError::BadName { .. }), "{name}: {e}");
                assert!(e.to_string().contains(&format!("`{name}` cannot be an environment name")), "{e}");
                assert!(e.to_string().contains(&format!("{name}.yaml")), "{e}");
            }
        }
    }
}

/// Free-text values that reach AWS as they are: stack tags (CloudFormation's `Tag` limits and
/// the resource schemas' tag characters) and the token audience (no CloudFormation syntax).
#[test]
fn free_text_values_are_checked() {
    let cases: Vec<(&str, String, Option<&str>)> = vec![
        ("  team: identity\n", format!("  team: {}\n", "t".repeat(256)), None),
        ("  team: identity\n", format!("  team: {}\n", "t".repeat(257)), Some("tags.team: ")),
        ("  team: identity\n", "  team: \"a\\nb\"\n".into(), Some("is not a tag value")),
        ("  team: identity\n", "  team: a|b\n".into(), Some("is not a tag value")),
        ("  team: identity\n", "  team: \"\"\n".into(), Some("is not a tag value")),
        ("  team: identity\n", "  team: ident ity/+=.:@-_\n".into(), None),
        // Letters and numbers by general category, as the schemas' `\p{L}\p{N}`: a combining
        // vowel sign (U+0940, Alphabetic but a mark) is refused; letters of other scripts, a
        // no-break space (Zs) and a superscript digit (No) are not.
        ("  team: identity\n", "  team: \"\u{91f}\u{940}\u{92e}\"\n".into(), Some("is not a tag value")),
        ("  team: identity\n", "  team: \"\u{e9}quipe \u{6f22}\u{5b57}\"\n".into(), None),
        ("  team: identity\n", "  team: \"a\u{a0}b\u{b2}\"\n".into(), None),
        ("  team: identity\n", "  team: \"a\tb\"\n".into(), Some("is not a tag value")),
        ("  team: identity\n", format!("  {}: x\n", "k".repeat(128)), None),
        ("  team: identity\n", format!("  {}: x\n", "k".repeat(129)), Some("is not a tag key")),
        ("  team: identity\n", "  \"aws:team\": x\n".into(), Some("is not a tag key")),
        ("  team: identity\n", "  \"AWS:team\": x\n".into(), Some("is not a tag key")),
        ("  team: identity\n", "  environment: prod\n".into(), Some("tags.environment: `environment` is set by infra")),
        ("  team: identity\n", "  service: x\n".into(), Some("tags.service: `service` is set by infra")),
        ("audience: https://api.dev.example.com", format!("audience: {}", "a".repeat(1024)), None),
        ("audience: https://api.dev.example.com", format!("audience: {}", "a".repeat(1025)), Some("token.audience: ")),
        (
            "audience: https://api.dev.example.com",
            "audience: \"api-${AWS::Region}\"".into(),
            Some("is not an audience"),
        ),
        ("audience: https://api.dev.example.com", "audience: \"{{resolve:ssm:x}}\"".into(), Some("is not an audience")),
        ("audience: https://api.dev.example.com", "audience: \"a\\tb\"".into(), Some("is not an audience")),
        ("audience: https://api.dev.example.com", "audience: urn:example:api".into(), None),
        ("audience: https://api.dev.example.com", "audience: \" \"".into(), Some("is not an audience")),
        (
            "audience: https://api.dev.example.com",
            format!("audience: \"{}\\u0000\"", "a".repeat(5000)),
            Some("... (5001 characters)` is not an audience"),
        ),
    ];
    assert_edits(&cases);
}

/// Files that look like environments under another extension are refused, not skipped.
#[test]
fn other_extensions_are_refused() {
    for (file, refused) in [("qa.yml", true), ("qa.YAML", true), ("notes.md", false), ("qa.yaml.bak", false)] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("dev.yaml"), dev_text()).unwrap();
        std::fs::write(dir.path().join(file), "x").unwrap();
        match Environment::names(dir.path()) {
            Ok(names) => assert!(!refused && names == ["dev"], "{file}: {names:?}"),
            Err(e) => assert!(
                refused && e.to_string().contains(file) && e.to_string().contains("end in .yaml"),
                "{file}: {e}"
            ),
        }
    }
}

/// Values AWS reads differently than they look: IAM compares a role's tag keys without regard
/// to case (stack tags reach every role), and a regional custom domain takes a certificate of
/// its own partition, region and account.
#[test]
fn tag_keys_are_compared_as_iam_compares_them() {
    let cases: Vec<(&str, String, Option<&str>)> = vec![
        ("  team: identity\n", "  Service: x\n".into(), Some("tags.Service: `Service` is set by infra")),
        ("  team: identity\n", "  ENVIRONMENT: x\n".into(), Some("tags.ENVIRONMENT: `ENVIRONMENT` is set by infra")),
        ("  team: identity\n", "  team: identity\n  Team: x\n".into(), Some("differ only in case")),
        ("  team: identity\n", "  team: identity\n  TEAM: x\n".into(), Some("differ only in case")),
        // Neighbours that are fine: another key, a reserved word inside a longer key.
        ("  team: identity\n", "  team: identity\n  teams: x\n".into(), None),
        ("  team: identity\n", "  service-owner: x\n".into(), None),
        ("  team: identity\n", "  Team: identity\n".into(), None),
    ];
    assert_edits(&cases);
}

#[test]
fn a_certificate_is_of_the_environments_partition_region_and_account() {
    let text = std::fs::read_to_string(shipped().join("prod.yaml")).unwrap();
    let arn = "arn:aws:acm:eu-west-1:333333333333:certificate/";
    assert!(text.contains(arn), "prod.yaml's certificate changed");
    let rows = [
        ("arn:aws:acm:us-east-1:333333333333:certificate/", Some("the certificate is in us-east-1")),
        ("arn:aws:acm:eu-west-1:444444444444:certificate/", Some("belongs to account 444444444444")),
        ("arn:aws-cn:acm:eu-west-1:333333333333:certificate/", Some("partition aws-cn")),
        ("arn:aws-us-gov:acm:eu-west-1:333333333333:certificate/", Some("partition aws-us-gov")),
        (arn, None),
    ];
    for (to, want) in rows {
        let got = Environment::parse(&text.replace(arn, to), "prod", Path::new("environments/prod.yaml"));
        match (got, want) {
            (Ok(_), None) => {}
            (Err(e), Some(want)) => {
                let e = e.to_string();
                assert!(
                    e.contains("api.custom_domain.certificate_arn: ") && e.contains(want) && e.contains(" at line "),
                    "{e}"
                );
            }
            (got, want) => panic!("{to}: got {:?}, want {want:?}", got.map(|_| ()).map_err(|e| e.to_string())),
        }
    }
    let china = infra::env::certificate_fits("arn:aws-cn:acm:cn-north-1:1:certificate/x", "cn-north-1", "1");
    assert_eq!(china, Ok(()));
    assert!(infra::env::certificate_fits("arn:aws:acm:cn-north-1:1:certificate/x", "cn-north-1", "1").is_err());
}

/// The custom domain is the issuer, so it is a public DNS name that is not AWS's own; a change
/// window has at least one day, each once.
#[test]
fn custom_domains_and_change_windows() {
    let prod = std::fs::read_to_string(shipped().join("prod.yaml")).unwrap();
    let domain = "domain_name: auth.example.com";
    let days = "days: [mon, tue, wed, thu]";
    let without_issuer = |t: String| t.replacen("  issuer: https://auth.example.com\n", "", 1);
    let rows: Vec<(String, Option<&str>)> = vec![
        (
            without_issuer(prod.replacen(domain, "domain_name: a.b.internal", 1)),
            Some(
                "api.custom_domain.domain_name: a custom domain is the issuer, so it needs a public name: `a.b.internal` is under `internal`",
            ),
        ),
        (
            without_issuer(prod.replacen(domain, "domain_name: auth.example", 1)),
            Some("api.custom_domain.domain_name: a custom domain is the issuer"),
        ),
        (prod.replacen(domain, "domain_name: 10.0.0.1", 1), Some("`10.0.0.1` is an IP address, not a domain name")),
        (prod.replacen(domain, "domain_name: 1.2.3.4", 1), Some("`1.2.3.4` is an IP address")),
        (
            prod.replacen(domain, "domain_name: abc123.execute-api.eu-west-1.amazonaws.com", 1),
            Some("is AWS's own host"),
        ),
        (without_issuer(prod.replacen(domain, "domain_name: login.example.org", 1)), None),
        (prod.replacen(days, "days: []", 1), Some("deploy.change_window.days: no day, so no deploy could ever start")),
        (prod.replacen(days, "days: [mon, mon]", 1), Some("deploy.change_window.days: `mon` is listed twice")),
        (prod.replacen(days, "days: [mon]", 1), None),
    ];
    for (text, want) in rows {
        let got = Environment::parse(&text, "prod", Path::new("environments/prod.yaml"))
            .map(|_| ())
            .map_err(|e| e.to_string());
        match (got, want) {
            (Ok(()), None) => {}
            (Err(e), Some(part)) => assert!(e.contains(part) && e.contains(" at line "), "got {e}\nwant {part}"),
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }
    // Without a custom domain an execute-api URL as the issuer is the API's own.
    let e = error_after(
        "# No `issuer:` here: without api.custom_domain the issuer is the API's own URL.",
        "issuer: https://abc123.execute-api.eu-west-1.amazonaws.com/v1",
    );
    assert!(e.contains("is the API's own URL") && e.contains("leave token.issuer out"), "{e}");
}
