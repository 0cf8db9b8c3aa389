//! The dashboard's Logs Insights queries read fields the function's log lines really have: a
//! line is written by the function's own code (a signing failure, logged at ERROR) through the
//! subscriber the Lambda `bootstrap` installs (`token_function::telemetry::json_logs`), and every
//! field a query names must be a path into that JSON line. With `LogFormat: JSON`, Lambda stores
//! a line that is valid JSON as it is, so this is what the queries see.

use std::io::Write;
use std::path::Path;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

use infra::env::Environment;
use infra::stacks::monitoring;
use token_function::http::{Request, Service};
use token_function::jwt::{Jwk, LocalSigner, SignError, Signer};
use token_function::oauth::Settings;
use token_function::registry::{Registry, StoredSecret};
use tracing_subscriber::util::SubscriberInitExt;

fn block_on<F: Future>(f: F) -> F::Output {
    match pin!(f).as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the service answers at once with this signer"),
    }
}

/// A signer whose backend is down, as KMS can be.
struct Unavailable(LocalSigner);

impl Signer for Unavailable {
    fn jwk(&self) -> &Jwk {
        self.0.jwk()
    }
    fn sign(&self, _: &[u8]) -> impl Future<Output = Result<Vec<u8>, SignError>> + Send {
        std::future::ready(Err(SignError::Backend("KMS is unavailable".into())))
    }
}

/// Where the subscriber writes: a shared buffer the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The JSON lines the function writes for a token request whose signing fails.
fn error_lines() -> Vec<serde_json::Value> {
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = token_function::telemetry::json_logs(Some("TRACE")).with_writer(move || writer.clone()).finish();
    let registry = Registry::from_json(&format!(
        r#"{{"clients":[{{"client_id":"orders","secrets":[{}],"allowed_scopes":["orders:read"],"default_scopes":["orders:read"]}}]}}"#,
        serde_json::to_string(&StoredSecret::new("orders-secret", 0).unwrap()).unwrap()
    ))
    .unwrap();
    let service = Service::new(
        Settings { issuer: "https://issuer.test".into(), audience: "https://aud.test".into(), ttl_seconds: 300 },
        Unavailable(LocalSigner::generate().unwrap()),
    );
    let request = Request {
        method: "POST".into(),
        path: "/oauth/token".into(),
        headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
        body: b"grant_type=client_credentials&client_id=orders&client_secret=orders-secret".to_vec(),
    };
    let (response, outcome) = {
        let _default = subscriber.set_default();
        block_on(service.handle(&request, &registry, UNIX_EPOCH + Duration::from_secs(1_800_000_000)))
    };
    assert_eq!((response.status, outcome.reason(), outcome.client_id()), (500, Some("server_error"), Some("orders")));
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    assert!(!lines.is_empty(), "the failed signing wrote no log line");
    lines
}

/// The Logs Insights queries of every log widget on the environment's dashboard.
fn dashboard_queries(env: &Environment) -> Vec<String> {
    let template = monitoring::build(env).unwrap().to_json();
    let body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
        .as_str()
        .expect("the dashboard body is an Fn::Sub string");
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    body["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["type"] == "log")
        .map(|w| w["properties"]["query"].as_str().unwrap().to_owned())
        .collect()
}

/// The log fields a query's `fields`, `filter` and `sort` commands name, without Logs Insights'
/// own `@` fields, keywords, functions, and string or number literals.
fn referenced_fields(query: &str) -> Vec<String> {
    const KEYWORDS: [&str; 9] = ["and", "or", "not", "in", "like", "as", "asc", "desc", "by"];
    let mut names = Vec::new();
    for command in query.split('|').map(str::trim) {
        let Some((verb, rest)) = command.split_once(char::is_whitespace) else { continue };
        if !matches!(verb.to_ascii_lowercase().as_str(), "fields" | "filter" | "sort") {
            continue;
        }
        // Identifiers outside quotes; a name followed by `(` is a function.
        let mut chars = rest.chars().peekable();
        let mut quote: Option<char> = None;
        let mut word = String::new();
        while let Some(c) = chars.next() {
            if let Some(q) = quote {
                if c == q {
                    quote = None;
                }
                continue;
            }
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@') {
                word.push(c);
                continue;
            }
            if matches!(c, '"' | '\'' | '`' | '/') {
                quote = Some(c);
            }
            let is_call = c == '(' || (c.is_whitespace() && chars.peek() == Some(&'('));
            push_name(&mut names, std::mem::take(&mut word), is_call, &KEYWORDS);
        }
        push_name(&mut names, word, false, &KEYWORDS);
    }
    names
}

fn push_name(names: &mut Vec<String>, word: String, is_call: bool, keywords: &[&str]) {
    let literal = word.is_empty() || word.starts_with(|c: char| c.is_ascii_digit());
    if literal || is_call || word.starts_with('@') || keywords.contains(&word.to_ascii_lowercase().as_str()) {
        return;
    }
    if !names.contains(&word) {
        names.push(word);
    }
}

/// The value at a dotted path (`fields.message`) in a JSON line.
fn lookup<'a>(line: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('.').try_fold(line, |v, key| v.get(key))
}

#[test]
fn the_query_parser_finds_the_fields() {
    assert_eq!(
        referenced_fields(
            "SOURCE '/aws/lambda/x' | fields @timestamp, level, fields.message | filter level = \"ERROR\" or ispresent(fields.error) | sort @timestamp desc | limit 5"
        ),
        ["level", "fields.message", "fields.error"]
    );
}

#[test]
fn dashboard_queries_read_fields_the_function_logs() {
    let lines = error_lines();
    let error = lines.iter().find(|l| l["level"] == "ERROR").expect("the failed signing logs at ERROR");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments");
    for name in Environment::names(&dir).unwrap() {
        let env = Environment::load_named(&dir, &name).unwrap();
        let queries = dashboard_queries(&env);
        assert!(!queries.is_empty(), "{name}: the dashboard has no Logs Insights query");
        for query in queries {
            let fields = referenced_fields(&query);
            assert!(!fields.is_empty(), "{name}: no field found in {query}");
            for field in fields {
                assert!(
                    lookup(error, &field).is_some(),
                    "{name}: the dashboard query reads `{field}`, which the function's log line does not have\n  query: {query}\n  line:  {error}"
                );
            }
        }
    }
}

/// Lambda's log-level filtering as its documentation states it (Lambda developer guide,
/// "Log-level filtering"): a JSON line is filtered by its `level` only when that level is one of
/// Lambda's and the line carries a valid RFC 3339 `timestamp`; any other line is filed as INFO.
/// `true` when Lambda keeps `line` under `application_level`.
fn lambda_keeps(line: &str, application_level: &str) -> bool {
    let levels = token_function::telemetry::LAMBDA_LEVELS;
    let rank = |l: &str| levels.iter().position(|x| x.eq_ignore_ascii_case(l));
    let parsed: serde_json::Value = serde_json::from_str(line).unwrap_or(serde_json::Value::Null);
    let stamped = parsed["timestamp"].as_str().is_some_and(|t| humantime::parse_rfc3339(t).is_ok());
    let level = parsed["level"].as_str().filter(|_| stamped).and_then(rank).unwrap_or(2);
    level >= rank(application_level).unwrap()
}

/// Lines of each kind the function writes: events at every level through the bootstrap's
/// subscriber, and both metric lines.
fn every_kind_of_line() -> (Vec<(tracing::Level, String)>, Vec<String>) {
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = token_function::telemetry::json_logs(Some("TRACE")).with_writer(move || writer.clone()).finish();
    {
        let _default = subscriber.set_default();
        tracing::trace!("t");
        tracing::debug!("d");
        tracing::info!("i");
        tracing::warn!("w");
        tracing::error!("e");
    }
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let levels = [
        tracing::Level::TRACE,
        tracing::Level::DEBUG,
        tracing::Level::INFO,
        tracing::Level::WARN,
        tracing::Level::ERROR,
    ];
    let events: Vec<(tracing::Level, String)> = levels.into_iter().zip(text.lines().map(str::to_owned)).collect();
    assert_eq!(events.len(), 5, "{text}");
    let ms = 1_800_000_000_000;
    let metrics = [
        token_function::http::Outcome::Issued { client_id: "c".into() },
        token_function::http::Outcome::Failed { reason: "invalid_client", client_id: None },
    ]
    .iter()
    .map(|o| token_function::telemetry::emf_line(o, "svc", ms).unwrap())
    .collect();
    (events, metrics)
}

/// `function.log_level` works as Lambda applies it: each line is kept or dropped by its own
/// level, and the metric lines the success-rate alarm reads survive every level an environment
/// may set; the levels that would drop them are refused by the environment file.
#[test]
fn lambda_filters_the_functions_lines_by_their_level_and_keeps_the_metrics() {
    let (events, metrics) = every_kind_of_line();
    for (level, line) in &events {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            humantime::parse_rfc3339(v["timestamp"].as_str().unwrap_or_default()).is_ok(),
            "no RFC 3339 timestamp: {line}"
        );
        assert_eq!(v["level"], level.as_str(), "{line}");
    }
    let levels = ["trace", "debug", "info", "warn", "error"];
    for (i, application) in levels.iter().enumerate() {
        for (j, (_, line)) in events.iter().enumerate() {
            assert_eq!(lambda_keeps(line, application), j >= i, "{application}: {line}");
        }
        let file =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments/dev.yaml")).unwrap();
        let edited = file.replacen("log_level: debug", &format!("log_level: {application}"), 1);
        let accepted = Environment::parse(&edited, "dev", Path::new("environments/dev.yaml"));
        let metrics_kept = metrics.iter().all(|m| lambda_keeps(m, application));
        match accepted {
            Ok(_) => {
                assert!(metrics_kept, "log_level {application} is accepted but Lambda would drop the metric lines")
            }
            Err(e) => {
                assert!(!metrics_kept, "log_level {application} keeps the metrics but is refused: {e}");
                assert!(e.to_string().contains("function.log_level: "), "{e}");
            }
        }
    }
    // The model itself: a line without a timestamp or with an unknown level is INFO.
    assert!(lambda_keeps(r#"{"level":"DEBUG"}"#, "info"));
    assert!(lambda_keeps(r#"{"level":"DEBUG","timestamp":"not a time"}"#, "info"));
    assert!(!lambda_keeps(r#"{"level":"DEBUG","timestamp":"2026-12-07T10:00:00Z"}"#, "info"));
    assert!(!lambda_keeps("plain text", "warn"));
    assert!(lambda_keeps(r#"{"level":"loud","timestamp":"2026-12-07T10:00:00Z"}"#, "info"));
}
