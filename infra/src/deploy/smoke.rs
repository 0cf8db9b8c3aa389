//! The smoke check after a deploy: the health endpoint answers, the JWKS holds a key of the
//! environment's algorithm, and a
//! token request with a wrong secret is refused with 401 `invalid_client`.

use std::collections::BTreeMap;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// One failed check.
#[derive(Debug, thiserror::Error)]
#[error("smoke check `{check}` failed: {message}")]
pub struct SmokeError {
    /// The check that failed (`health`, `jwks`, `metadata`, `token`, …).
    pub check: &'static str,
    /// What went wrong.
    pub message: String,
}

fn fail(check: &'static str, message: impl Into<String>) -> SmokeError {
    SmokeError { check, message: message.into() }
}

type Https = Client<hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>, Full<Bytes>>;

/// What the smoke check's requests say they are.
pub const USER_AGENT: &str = concat!("infra-smoke-check/", env!("CARGO_PKG_VERSION"));

fn client() -> Result<Https, SmokeError> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| fail("tls", format!("no root certificates: {e}")))?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

async fn call(
    client: &Https,
    check: &'static str,
    mut req: hyper::Request<Full<Bytes>>,
) -> Result<(u16, Vec<(String, String)>, serde_json::Value), SmokeError> {
    // AWS's managed common rule set blocks requests without a User-Agent (its
    // `NoUserAgent_HEADER` rule), and staging and prod put it in front of the API.
    req.headers_mut().insert(hyper::header::USER_AGENT, hyper::header::HeaderValue::from_static(USER_AGENT));
    let resp = tokio::time::timeout(Duration::from_secs(15), client.request(req))
        .await
        .map_err(|_| fail(check, "no answer within 15 s"))?
        .map_err(|e| fail(check, format!("request failed: {e}")))?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let body = resp.into_body().collect().await.map_err(|e| fail(check, format!("reading the body: {e}")))?.to_bytes();
    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    Ok((status, headers, json))
}

/// Runs the checks against the stack outputs `ApiUrl`, `JwksUrl`, `TokenUrl` and
/// `OpenIdConfigurationUrl`: the metadata must name the API's URL as its issuer and the other two
/// as its endpoints (RFC 8414 section 3.3; OpenID Connect Discovery 1.0 section 4.3), or strict
/// clients refuse it.
/// `alg` is the environment's signing algorithm (`ES256`, `RS256`): the JWKS's first key must be
/// for it.
pub async fn check(outputs: &BTreeMap<String, String>, alg: &str) -> Result<Vec<String>, SmokeError> {
    let url = |k: &str| outputs.get(k).cloned().ok_or_else(|| fail("outputs", format!("the stack has no output {k}")));
    use crate::stacks::outputs::service as output;
    let (api, jwks, token) = (url(output::API_URL)?, url(output::JWKS_URL)?, url(output::TOKEN_URL)?);
    let discovery = url(output::OPENID_CONFIGURATION_URL)?;
    let client = client()?;
    let get = |u: &str| hyper::Request::get(u).body(Full::new(Bytes::new()));
    let mut passed = Vec::new();

    let (status, _, body) =
        call(&client, "health", get(&format!("{api}/health")).map_err(|e| fail("health", e.to_string()))?).await?;
    if status != 200 {
        return Err(fail("health", format!("GET {api}/health answered {status} {body}")));
    }
    passed.push(format!("GET {api}/health: 200"));

    let (status, _, body) = call(&client, "jwks", get(&jwks).map_err(|e| fail("jwks", e.to_string()))?).await?;
    if status != 200 || body.pointer("/keys/0/alg").and_then(|v| v.as_str()) != Some(alg) {
        return Err(fail("jwks", format!("GET {jwks} answered {status} without an {alg} key: {body}")));
    }
    passed.push(format!(
        "GET {jwks}: 200 with key {}",
        body.pointer("/keys/0/kid").and_then(|v| v.as_str()).unwrap_or("?")
    ));

    let (status, _, body) =
        call(&client, "metadata", get(&discovery).map_err(|e| fail("metadata", e.to_string()))?).await?;
    let field = |k: &str| body.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    if status != 200 {
        return Err(fail("metadata", format!("GET {discovery} answered {status} {body}")));
    }
    let named = [("issuer", &api), ("jwks_uri", &jwks), ("token_endpoint", &token)];
    if let Some((k, want)) = named.iter().find(|(k, want)| field(k) != **want) {
        return Err(fail("metadata", format!("GET {discovery}: {k} is `{}`, not {want}", field(k))));
    }
    passed.push(format!("GET {discovery}: 200, issuer {api}"));

    let req = hyper::Request::post(&token)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", "Basic c21va2UtY2hlY2s6bm90LXRoZS1zZWNyZXQ=") // smoke-check:not-the-secret
        .body(Full::new(Bytes::from_static(b"grant_type=client_credentials")))
        .map_err(|e| fail("token", e.to_string()))?;
    let (status, headers, body) = call(&client, "token", req).await?;
    let challenged = headers.iter().any(|(k, v)| k == "www-authenticate" && v.starts_with("Basic"));
    if status != 401 || body.get("error").and_then(|v| v.as_str()) != Some("invalid_client") || !challenged {
        return Err(fail(
            "token",
            format!("a wrong secret got {status} {body}, not 401 invalid_client with a Basic challenge"),
        ));
    }
    passed.push(format!("POST {token} with a wrong secret: 401 invalid_client"));
    Ok(passed)
}
