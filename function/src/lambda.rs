//! API Gateway (REST, Lambda proxy) events in and out of the runtime-independent `http` types.

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine;

use crate::http::{Request, Response};

/// The proxy event as a `Request`. The matched resource (`/oauth/token`) is the path, so stage
/// names and custom-domain base paths do not matter.
pub fn from_event(e: ApiGatewayProxyRequest) -> Request {
    let path = e.resource.or(e.path).unwrap_or_default();
    let source = if e.multi_value_headers.is_empty() { &e.headers } else { &e.multi_value_headers };
    let headers = source
        .iter()
        .map(|(k, v)| (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let body = match e.body {
        None => Vec::new(),
        Some(b) if e.is_base64_encoded => {
            base64::engine::general_purpose::STANDARD.decode(b.as_bytes()).unwrap_or_else(|_| b.into_bytes())
        }
        Some(b) => b.into_bytes(),
    };
    Request { method: e.http_method.as_str().to_owned(), path, headers, body }
}

/// A `Response` as the proxy response.
pub fn to_event(r: Response) -> ApiGatewayProxyResponse {
    let mut out = ApiGatewayProxyResponse::default();
    out.status_code = i64::from(r.status);
    for (k, v) in r.headers {
        if let Ok(v) = v.parse() {
            out.headers.append(k, v);
        }
    }
    out.body = Some(Body::Text(r.body));
    out.is_base64_encoded = false;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_event_converts_both_ways() {
        let text = include_str!("../tests/data/token-request.json");
        let event: ApiGatewayProxyRequest = serde_json::from_str(text).unwrap();
        let req = from_event(event);
        assert_eq!((req.method.as_str(), req.path.as_str()), ("POST", "/oauth/token"));
        assert_eq!(req.body, b"grant_type=client_credentials");
        assert_eq!(req.header_values("authorization"), ["Basic b3JkZXJzOnB3"]);
        assert_eq!(req.header_values("content-type"), ["application/x-www-form-urlencoded"]);

        let resp = to_event(Response {
            status: 401,
            headers: vec![("www-authenticate", "Basic realm=\"token\"".into())],
            body: "{}".into(),
        });
        assert_eq!(resp.status_code, 401);
        assert_eq!(resp.headers.get("www-authenticate").unwrap(), "Basic realm=\"token\"");
        assert!(matches!(resp.body, Some(Body::Text(ref b)) if b == "{}"));
    }
}
