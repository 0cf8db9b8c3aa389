//! The deployed API answers what `infra serve` answers: the route table read back from each
//! environment's synthesized service template, played against the function's own routing.

use std::path::Path;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

use infra::api_routes::{RouteTable, Routed};
use infra::env::Environment;
use infra::stacks;
use token_function::http::{Endpoint, Request, Response, Service};
use token_function::jwt::LocalSigner;
use token_function::oauth::Settings;
use token_function::registry::Registry;

fn block_on<F: Future>(f: F) -> F::Output {
    match pin!(f).as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the local service answers at once"),
    }
}

const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

fn probes() -> Vec<String> {
    let mut paths: Vec<String> = Endpoint::ALL.iter().map(|e| e.path().to_owned()).collect();
    paths.extend(Endpoint::ALL.iter().map(|e| format!("{}/", e.path())));
    paths.extend(
        ["/", "/oauth", "/.well-known", "/oauth/token/x", "/OAUTH/TOKEN", "/token", "/oauth/authorize", "/x/health"]
            .map(String::from),
    );
    paths
}

/// What a client sees of an answer: status, body (as JSON where it is), and the headers that
/// carry meaning here.
type Seen = (u16, serde_json::Value, [Option<String>; 3]);

fn seen(status: u16, body: &str, header: impl Fn(&str) -> Option<String>) -> Seen {
    let body = serde_json::from_str(body).unwrap_or_else(|_| serde_json::Value::String(body.to_owned()));
    (status, body, ["content-type", "allow", "www-authenticate"].map(header))
}

fn served(r: &Response) -> Seen {
    seen(r.status, &r.body, |name| r.header(name).map(str::to_owned))
}

#[test]
fn deployed_routes_answer_as_serve_does() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments");
    for name in Environment::names(&dir).unwrap() {
        let env = Environment::load_named(&dir, &name).unwrap();
        let template = stacks::service::build(&env).unwrap().to_json();
        let table = RouteTable::from_template(&template).unwrap();
        // Every function endpoint is routed, and nothing else.
        let routed: Vec<&String> = table.routes().keys().collect();
        let mut expected: Vec<&str> = Endpoint::ALL.iter().map(|e| e.path()).collect();
        expected.sort_unstable();
        assert_eq!(routed, expected, "{name}");

        let service = Service::new(
            Settings { issuer: "https://issuer.test".into(), audience: env.token.audience.0.clone(), ttl_seconds: 300 },
            LocalSigner::generate().unwrap(),
        );
        let registry = Registry::from_json(r#"{"clients":[]}"#).unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        for path in probes() {
            for method in METHODS {
                let request = |path: &str| Request {
                    method: method.into(),
                    path: path.into(),
                    headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
                    body: b"grant_type=client_credentials".to_vec(),
                };
                let expected = served(&block_on(service.handle(&request(&path), &registry, now)).0);
                let deployed = match table.route(method, &path) {
                    Routed::Integration { resource } => {
                        served(&block_on(service.handle(&request(&resource), &registry, now)).0)
                    }
                    Routed::Gateway(answer) => seen(answer.status, &answer.body, |name| {
                        answer.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
                    }),
                };
                assert_eq!(deployed, expected, "{name}: {method} {path}");
            }
        }
    }
}

/// Everything API Gateway answers by itself has the function's error form: the 404 for an
/// unknown path, and for every other gateway response type (those the local gateway gives and
/// their neighbours, which fall to `DEFAULT_4XX`/`DEFAULT_5XX`) an RFC 6749 §5.2 body with a
/// registered error code and the status below, uncached.
#[test]
fn every_gateway_answer_has_the_rfc_6749_form() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments");
    let rows: [(&str, u16, &str, &str); 8] = [
        ("REQUEST_TOO_LARGE", 400, "invalid_request", "request body too large"),
        ("THROTTLED", 429, "temporarily_unavailable", "too many requests; retry later"),
        ("INTEGRATION_FAILURE", 502, "server_error", "Internal server error"),
        ("INTEGRATION_TIMEOUT", 504, "server_error", "Endpoint request timed out"),
        ("WAF_FILTERED", 403, "invalid_request", "Forbidden"),
        ("BAD_REQUEST_BODY", 400, "invalid_request", "Invalid request body"),
        // Types the table does not know: API Gateway's 5XX class.
        ("API_CONFIGURATION_ERROR", 500, "server_error", "Internal server error"),
        ("MISSING_AUTHENTICATION_TOKEN", 404, "not_found", ""),
    ];
    for name in Environment::names(&dir).unwrap() {
        let env = Environment::load_named(&dir, &name).unwrap();
        let table = RouteTable::from_template(&stacks::service::build(&env).unwrap().to_json()).unwrap();
        for (response_type, status, code, description) in rows {
            let answer = table.gateway(response_type);
            let body: serde_json::Value = serde_json::from_str(&answer.body)
                .unwrap_or_else(|e| panic!("{name}: {response_type}: not JSON ({e}): {}", answer.body));
            assert_eq!((answer.status, body["error"].as_str()), (status, Some(code)), "{name}: {response_type}");
            if code != "not_found" {
                assert_eq!(body["error_description"], description, "{name}: {response_type}");
                let header =
                    |h: &str| answer.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(h)).map(|(_, v)| v.as_str());
                assert_eq!(header("cache-control"), Some("no-store"), "{name}: {response_type}");
            }
        }
    }
}
