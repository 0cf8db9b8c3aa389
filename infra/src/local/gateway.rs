//! A local translation of the template's REST API: HTTP requests on 127.0.0.1 become Lambda
//! proxy events for the local function, its proxy responses become HTTP responses, and what API
//! Gateway answers by itself is answered here the same way.
//!
//! Behaviour modelled, from the API Gateway developer guide:
//! - URLs are `/{stage}/{resource path}` as on the `execute-api` endpoint; another first
//!   segment is `403 {"message":"Forbidden"}`; routes and gateway responses come from the
//!   template (`api_routes::RouteTable`);
//! - "Throttle API requests": the stage's `MethodSettings` rate (requests per second) and burst
//!   (bucket size) as a token bucket; over it, the `THROTTLED` response (429);
//! - "Input format of a Lambda function for proxy integration": the event's `resource`, `path`,
//!   `httpMethod`, `headers`/`multiValueHeaders`, query parameters, `requestContext` and
//!   `body`; the body is base64 with `isBase64Encoded: true` only when its `Content-Type`
//!   matches one of the API's `BinaryMediaTypes`, and text otherwise;
//! - "Output format": `statusCode`, `headers`, `multiValueHeaders`, `body`,
//!   `isBase64Encoded`; a function error or a malformed response is the `INTEGRATION_FAILURE`
//!   gateway response (502);
//! - "Amazon API Gateway quotas": a 10 MB payload (`REQUEST_TOO_LARGE`) and a 29 s integration
//!   timeout (`INTEGRATION_TIMEOUT`, 504);
//! - every answer API Gateway gives by itself is the template's gateway response for its type
//!   (`crate::api_routes::RouteTable::gateway`).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Value as Json, json};
use tokio::net::TcpListener;

use super::function::LocalFunction;
use super::runtime::{Outcome, now_ms};
use crate::api_routes::{GatewayAnswer, RouteTable, Routed};

/// API Gateway's payload limit: 10 MB.
pub const MAX_PAYLOAD_BYTES: usize = 10 * 1024 * 1024;
/// API Gateway's integration timeout for REST APIs: 29 s.
pub const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(29);
/// How long a client may take to send its headers, then its body.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// What of the template's REST API the translation needs.
#[derive(Clone, Debug)]
pub struct ApiSpec {
    /// The API's routes and gateway responses.
    pub routes: RouteTable,
    /// `StageName`: the first path segment.
    pub stage: String,
    /// The stage's `ThrottlingRateLimit` (requests per second) and `ThrottlingBurstLimit`.
    pub rate: Option<(f64, u32)>,
    /// The API's `BinaryMediaTypes` (`image/png`, `*/*`).
    pub binary_media_types: Vec<String>,
}

impl ApiSpec {
    /// Reads the template's one REST API and stage.
    ///
    /// # Errors
    /// No `AWS::ApiGateway::Stage`, or routes the model cannot read (see `RouteTable`).
    pub fn from_template(template: &Json) -> Result<Self, String> {
        let routes = RouteTable::from_template(template)?;
        let of_type = |ty: &str| {
            template["Resources"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(move |(_, r)| r["Type"] == ty)
                .map(|(_, r)| &r["Properties"])
                .next()
        };
        let stage = of_type("AWS::ApiGateway::Stage").ok_or("the template has no AWS::ApiGateway::Stage")?;
        let name = stage["StageName"].as_str().ok_or("the stage has no StageName")?.to_owned();
        let all = stage["MethodSettings"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["ResourcePath"] == "/*" && m["HttpMethod"] == "*");
        let rate = all.and_then(|m| {
            Some((m["ThrottlingRateLimit"].as_f64()?, u32::try_from(m["ThrottlingBurstLimit"].as_u64()?).ok()?))
        });
        let binary_media_types = of_type("AWS::ApiGateway::RestApi")
            .and_then(|api| api["BinaryMediaTypes"].as_array())
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect();
        Ok(ApiSpec { routes, stage: name, rate, binary_media_types })
    }

    /// Whether a `Content-Type` or `Accept` value matches `BinaryMediaTypes` (`*` wildcards).
    pub fn is_binary(&self, media_type: &str) -> bool {
        let given = media_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        self.binary_media_types.iter().any(|t| {
            let t = t.to_ascii_lowercase();
            match t.split_once('/') {
                Some(("*", "*")) => true,
                Some((ty, "*")) => given.split_once('/').is_some_and(|(g, _)| g == ty),
                _ => given == t,
            }
        })
    }
}

/// The stage's token bucket.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The translated API in front of a local function.
#[derive(Debug)]
pub struct LocalApi {
    spec: ApiSpec,
    function: Arc<LocalFunction>,
    bucket: Option<Mutex<Bucket>>,
    /// Print an access line per request on standard error.
    access_log: bool,
}

/// A response on its way out: status, headers, body.
pub type Answer = (u16, Vec<(String, String)>, Bytes);

impl LocalApi {
    /// The API of `spec` in front of `function`, its throttle bucket full; `access_log` prints an
    /// access line per request on standard error.
    pub fn new(spec: ApiSpec, function: Arc<LocalFunction>, access_log: bool) -> Self {
        let bucket = spec.rate.map(|(rate, burst)| {
            let burst = f64::from(burst.max(1));
            Mutex::new(Bucket { rate, burst, tokens: burst, at: Instant::now() })
        });
        LocalApi { spec, function, bucket, access_log }
    }

    /// The function behind the API.
    pub fn function(&self) -> &LocalFunction {
        &self.function
    }

    /// The stage name: the first path segment of every URL.
    pub fn stage(&self) -> &str {
        &self.spec.stage
    }

    /// Serves until `stop` resolves.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => continue,
                },
                () = &mut stop => return,
            };
            let api = self.clone();
            tokio::spawn(async move {
                let handler = service_fn(move |req: hyper::Request<Incoming>| {
                    let api = api.clone();
                    async move {
                        let (method, path, started) =
                            (req.method().clone(), req.uri().path().to_owned(), Instant::now());
                        let answer = api.answer(req).await;
                        if api.access_log {
                            let id =
                                answer.1.iter().find(|(k, _)| k == "x-amzn-RequestId").map_or("-", |(_, v)| v.as_str());
                            eprintln!("{method} {path} {} {} ms request={id}", answer.0, started.elapsed().as_millis());
                        }
                        Ok::<_, Infallible>(to_hyper(answer))
                    }
                });
                let _ = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(READ_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), handler)
                    .await;
            });
        }
    }

    /// Answers one HTTP request as API Gateway would.
    pub async fn answer(&self, req: hyper::Request<Incoming>) -> Answer {
        let (parts, body) = req.into_parts();
        let path = parts.uri.path();
        let Some(rest) = path.strip_prefix('/').and_then(|p| p.strip_prefix(self.spec.stage.as_str())) else {
            return plain(403, "Forbidden");
        };
        if !(rest.is_empty() || rest.starts_with('/')) {
            return plain(403, "Forbidden");
        }
        let resource_path = if rest.is_empty() { "/" } else { rest };
        let resource = match self.spec.routes.route(parts.method.as_str(), resource_path) {
            Routed::Gateway(a) => return gateway(a),
            Routed::Integration { resource } => resource,
        };
        if let Some(bucket) = &self.bucket
            && !bucket.lock().map(|mut b| b.take()).unwrap_or(true)
        {
            return gateway(self.spec.routes.gateway("THROTTLED"));
        }
        let declared = parts.headers.get(hyper::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok());
        if declared.is_some_and(|n: usize| n > MAX_PAYLOAD_BYTES) {
            return gateway(self.spec.routes.gateway("REQUEST_TOO_LARGE"));
        }
        let body = match tokio::time::timeout(READ_TIMEOUT, Limited::new(body, MAX_PAYLOAD_BYTES).collect()).await {
            Ok(Ok(b)) => b.to_bytes(),
            Ok(Err(_)) => return gateway(self.spec.routes.gateway("REQUEST_TOO_LARGE")),
            Err(_) => return plain(408, "Request Timeout"),
        };
        let event = self.event(&parts, &resource, resource_path, &body);
        let Ok((request_id, outcome)) = self.function.invoke(Bytes::from(event.to_string()), INTEGRATION_TIMEOUT).await
        else {
            return gateway(self.spec.routes.gateway("INTEGRATION_TIMEOUT"));
        };
        let accept = parts.headers.get(hyper::header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let failed = || gateway(self.spec.routes.gateway("INTEGRATION_FAILURE"));
        let mut answer = match outcome {
            Outcome::Response(bytes) => self.spec.response(&bytes, accept).unwrap_or_else(failed),
            Outcome::Error { error_type, message } => {
                eprintln!("function error {error_type}: {message}");
                failed()
            }
        };
        answer.1.push(("x-amzn-RequestId".into(), request_id));
        answer
    }

    /// The proxy integration's input event.
    fn event(&self, parts: &hyper::http::request::Parts, resource: &str, path: &str, body: &[u8]) -> Json {
        let (headers, multi) = single_and_multi(
            parts
                .headers
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned())),
        );
        let (query, multi_query) = single_and_multi(
            url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned())),
        );
        let content_type = parts.headers.get(hyper::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let binary = content_type.is_some_and(|t| self.spec.is_binary(t));
        let body = match (body.is_empty(), binary) {
            (true, _) => Json::Null,
            (false, true) => json!(base64::engine::general_purpose::STANDARD.encode(body)),
            (false, false) => json!(String::from_utf8_lossy(body)),
        };
        let or_null = |m: serde_json::Map<String, Json>| if m.is_empty() { Json::Null } else { Json::Object(m) };
        json!({
            "resource": resource,
            "path": path,
            "httpMethod": parts.method.as_str(),
            "headers": or_null(headers),
            "multiValueHeaders": or_null(multi),
            "queryStringParameters": or_null(query),
            "multiValueQueryStringParameters": or_null(multi_query),
            "pathParameters": null,
            "stageVariables": null,
            "requestContext": {
                "resourcePath": resource,
                "httpMethod": parts.method.as_str(),
                "path": format!("/{}{}", self.spec.stage, path),
                "stage": self.spec.stage,
                "protocol": "HTTP/1.1",
                "requestTimeEpoch": now_ms() as u64,
                "identity": {"sourceIp": "127.0.0.1"},
            },
            "body": body,
            "isBase64Encoded": binary && !body.is_null(),
        })
    }
}

impl ApiSpec {
    #[cfg(test)]
    fn response_for_test(&self, text: &str, accept: &str) -> Option<Answer> {
        self.response(text.as_bytes(), accept)
    }

    /// The HTTP response for a proxy response, or `None` when it is malformed.
    fn response(&self, bytes: &[u8], accept: &str) -> Option<Answer> {
        let r: Json = serde_json::from_slice(bytes).ok()?;
        let status = u16::try_from(r.get("statusCode")?.as_u64()?).ok().filter(|s| (100..600).contains(s))?;
        let mut headers = Vec::new();
        for (k, v) in r["headers"].as_object().into_iter().flatten() {
            headers.push((k.clone(), v.as_str()?.to_owned()));
        }
        for (k, vs) in r["multiValueHeaders"].as_object().into_iter().flatten() {
            for v in vs.as_array()? {
                headers.push((k.clone(), v.as_str()?.to_owned()));
            }
        }
        let text = match &r["body"] {
            Json::Null => "",
            Json::String(s) => s.as_str(),
            _ => return None,
        };
        let body = if r["isBase64Encoded"] == true && self.is_binary(accept) {
            Bytes::from(base64::engine::general_purpose::STANDARD.decode(text).ok()?)
        } else {
            Bytes::from(text.to_owned())
        };
        Some((status, headers, body))
    }
}

/// Name/value pairs as a proxy event carries them twice: the last value per name
/// (`headers`, `queryStringParameters`) and every value per name (`multiValue…`).
fn single_and_multi(
    pairs: impl Iterator<Item = (String, String)>,
) -> (serde_json::Map<String, Json>, serde_json::Map<String, Json>) {
    let mut single = serde_json::Map::new();
    let mut multi = serde_json::Map::<String, Json>::new();
    for (k, v) in pairs {
        single.insert(k.clone(), json!(v));
        match multi.get_mut(&k).and_then(Json::as_array_mut) {
            Some(list) => list.push(json!(v)),
            None => {
                multi.insert(k, json!([v]));
            }
        }
    }
    (single, multi)
}

fn gateway(a: GatewayAnswer) -> Answer {
    (a.status, a.headers, Bytes::from(a.body))
}

fn plain(status: u16, message: &str) -> Answer {
    let body = json!({ "message": message }).to_string();
    (status, vec![("Content-Type".into(), "application/json".into())], Bytes::from(body))
}

fn to_hyper((status, headers, body): Answer) -> hyper::Response<Full<Bytes>> {
    let mut out = hyper::Response::new(Full::new(body));
    *out.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_GATEWAY);
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) =
            (hyper::header::HeaderName::from_bytes(k.as_bytes()), hyper::header::HeaderValue::from_str(&v))
        {
            out.headers_mut().append(k, v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::apigw::ApiGatewayProxyRequest;

    fn spec(binary: &[&str]) -> ApiSpec {
        ApiSpec {
            routes: RouteTable::default(),
            stage: "v1".into(),
            rate: None,
            binary_media_types: binary.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn every_environment_s_api_is_read_from_its_template() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments");
        for name in crate::env::Environment::names(&dir).unwrap() {
            let env = crate::env::Environment::load_named(&dir, &name).unwrap();
            let api = ApiSpec::from_template(&crate::stacks::service::build(&env).unwrap().to_json()).unwrap();
            assert_eq!(api.stage, env.api.stage_name.to_string(), "{name}");
            let t = &env.api.throttling;
            assert_eq!(api.rate, Some((f64::from(t.rate_limit.get()), t.burst_limit.get())), "{name}");
            assert!(api.binary_media_types.is_empty(), "{name}");
        }
    }

    /// `BinaryMediaTypes` match the media type without parameters, case-insensitively, with
    /// `type/*` and `*/*` wildcards.
    #[test]
    fn binary_media_types_match_as_api_gateway_does() {
        let types = spec(&["image/png", "application/*"]);
        let cases = [
            ("image/png", true),
            ("image/png; charset=binary", true),
            ("IMAGE/PNG", true),
            ("image/jpeg", false),
            ("image/pngx", false),
            ("application/json", true),
            ("application/x-www-form-urlencoded", true),
            ("text/plain", false),
            ("", false),
        ];
        for (given, want) in cases {
            assert_eq!(types.is_binary(given), want, "{given:?}");
        }
        assert!(spec(&["*/*"]).is_binary("text/plain"));
        assert!(!spec(&[]).is_binary("image/png"));
    }

    #[test]
    fn the_bucket_holds_the_burst_then_refuses() {
        let mut b = Bucket { rate: 0.001, burst: 3.0, tokens: 3.0, at: Instant::now() };
        let taken: Vec<bool> = (0..5).map(|_| b.take()).collect();
        assert_eq!(taken, [true, true, true, false, false]);
        let mut refilled =
            Bucket { rate: 1000.0, burst: 2.0, tokens: 0.0, at: Instant::now() - Duration::from_secs(1) };
        assert!(refilled.take() && refilled.take() && !refilled.take(), "refills up to the burst only");
    }

    fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> hyper::http::request::Parts {
        let mut b = hyper::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn event(api: &ApiSpec, p: &hyper::http::request::Parts, body: &[u8]) -> ApiGatewayProxyRequest {
        let local =
            LocalApi { spec: api.clone(), function: Arc::new(dummy_function()), bucket: None, access_log: false };
        serde_json::from_value(local.event(p, "/oauth/token", "/oauth/token", body)).unwrap()
    }

    fn dummy_function() -> LocalFunction {
        LocalFunction::new(super::super::function::FunctionSpec {
            name: "f".into(),
            arn: "arn".into(),
            binary: "/nonexistent".into(),
            architecture: crate::env::Architecture::X86_64,
            timeout: Duration::from_secs(1),
            variables: Default::default(),
            max_environments: 1,
            quiet: true,
        })
    }

    /// The event parses as the proxy event type the function deserializes, with every field the
    /// function reads.
    #[test]
    fn events_are_proxy_events() {
        let p = parts(
            "POST",
            "/v1/oauth/token?a=1&a=2&b=x%20y",
            &[("content-type", "application/x-www-form-urlencoded"), ("x-twice", "1"), ("x-twice", "2")],
        );
        let e = event(&spec(&[]), &p, b"grant_type=client_credentials");
        assert_eq!(e.resource.as_deref(), Some("/oauth/token"));
        assert_eq!(e.path.as_deref(), Some("/oauth/token"));
        assert_eq!(e.http_method.as_str(), "POST");
        assert_eq!(e.body.as_deref(), Some("grant_type=client_credentials"));
        assert!(!e.is_base64_encoded);
        assert_eq!(e.headers.get("x-twice").unwrap(), "2", "headers keep the last value");
        assert_eq!(e.multi_value_headers.get_all("x-twice").iter().count(), 2);
        assert_eq!(e.query_string_parameters.first("b"), Some("x y"));
        assert_eq!(e.multi_value_query_string_parameters.all("a"), Some(vec!["1", "2"]));
        assert_eq!(e.request_context.stage.as_deref(), Some("v1"));
        assert_eq!(e.request_context.path.as_deref(), Some("/v1/oauth/token"));

        let binary = spec(&["application/octet-stream"]);
        let p = parts("POST", "/v1/oauth/token", &[("content-type", "application/octet-stream")]);
        let e = event(&binary, &p, &[0xff, 0x00, 0x01]);
        assert!(e.is_base64_encoded);
        assert_eq!(e.body.as_deref(), Some("/wAB"));
        let e = event(&binary, &parts("GET", "/v1/health", &[]), b"");
        assert_eq!((e.body, e.is_base64_encoded), (None, false));
    }

    /// Proxy responses become HTTP answers; anything malformed is `None` (a 502).
    #[test]
    fn responses_translate_or_are_malformed() {
        let text = spec(&[]);
        let binary = spec(&["image/png"]);
        let ok = |s: &ApiSpec, r: &str, accept: &str| s.response_for_test(r, accept);
        type Case<'a> = (&'a ApiSpec, &'a str, &'a str, Option<(u16, &'a str)>);
        let cases: [Case; 9] = [
            (&text, r#"{"statusCode":200,"body":"hi"}"#, "", Some((200, "hi"))),
            (&text, r#"{"statusCode":204}"#, "", Some((204, ""))),
            (&text, r#"{"statusCode":201,"body":null}"#, "", Some((201, ""))),
            (&text, r#"{"body":"hi"}"#, "", None),
            (&text, r#"{"statusCode":700,"body":"hi"}"#, "", None),
            (&text, r#"{"statusCode":200,"body":{"a":1}}"#, "", None),
            (&text, "not json", "", None),
            (&text, r#"{"statusCode":200,"body":"aGk=","isBase64Encoded":true}"#, "image/png", Some((200, "aGk="))),
            (&binary, r#"{"statusCode":200,"body":"aGk=","isBase64Encoded":true}"#, "image/png", Some((200, "hi"))),
        ];
        for (s, r, accept, want) in cases {
            let got = ok(s, r, accept).map(|(status, _, body)| (status, String::from_utf8(body.to_vec()).unwrap()));
            assert_eq!(got, want.map(|(st, b)| (st, b.to_owned())), "{r}");
        }
        let (_, headers, _) =
            ok(&text, r#"{"statusCode":200,"headers":{"a":"1"},"multiValueHeaders":{"b":["2","3"]}}"#, "").unwrap();
        assert_eq!(headers, [("a", "1"), ("b", "2"), ("b", "3")].map(|(k, v)| (k.to_owned(), v.to_owned())));
    }
}
