//! The function on Lambda: API Gateway (REST, Lambda proxy) events in and out of the
//! runtime-independent `http` types, and `App`, the state a cold start builds once.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine;

use crate::aws::{DeployedSigner, EnvelopeSigner, KmsSigner, SecretRegistry};
use crate::error::OAuthError;
use crate::http::{Endpoint, Outcome, Request, Response, Service, error_response};
use crate::key_pairs::Slot;
use crate::oauth::Settings;
use crate::registry::Registry;
use crate::telemetry;

pub use crate::registry::CACHE_TTL as REGISTRY_TTL;

/// A setting the function cannot start without.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required environment variable (named) is not set.
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    /// A variable (named) that holds seconds is not a whole number.
    #[error("environment variable {0} is not a whole number of seconds")]
    NotANumber(&'static str),
    /// `SIGNING_SLOT` or `PUBLISHED_SLOTS` holds something other than `a` and `b`.
    #[error("SIGNING_SLOT and PUBLISHED_SLOTS take `a` and `b`")]
    NotASlot,
    /// `SIGNING_MODE` is neither `kms` nor `envelope`.
    #[error("SIGNING_MODE is `kms` or `envelope`")]
    NotAMode,
    /// The signing key could not be read or decrypted.
    #[error("signing key: {0}")]
    Signer(#[from] crate::jwt::SignError),
}

/// Everything a cold start builds once: the service with its KMS signer, and the cached
/// client registry.
#[derive(Debug)]
pub struct App {
    /// The token service with the deployed signer.
    pub service: Service<DeployedSigner>,
    /// The client registry, cached.
    pub registry: SecretRegistry,
    /// The `Service` dimension of the metrics.
    pub service_name: String,
}

impl App {
    /// Builds the app from the variables the template sets (`TOKEN_ISSUER`, `TOKEN_AUDIENCE`,
    /// `TOKEN_TTL_SECONDS`, `CLIENT_REGISTRY_SECRET_ARN`, `SERVICE_NAME`, and the signer's: see
    /// [`signer_from_vars`]).
    pub async fn from_vars(
        var: impl Fn(&str) -> Option<String>,
        config: &aws_config::SdkConfig,
    ) -> Result<Self, ConfigError> {
        let get = |name: &'static str| required(&var, name);
        let ttl_seconds =
            get("TOKEN_TTL_SECONDS")?.parse().map_err(|_| ConfigError::NotANumber("TOKEN_TTL_SECONDS"))?;
        let settings = Settings { issuer: get("TOKEN_ISSUER")?, audience: get("TOKEN_AUDIENCE")?, ttl_seconds };
        let secret = get("CLIENT_REGISTRY_SECRET_ARN")?;
        let service_name = get("SERVICE_NAME").or_else(|_| get("AWS_LAMBDA_FUNCTION_NAME"))?;
        let signer = signer_from_vars(&var, config, &service_name).await?;
        let registry = SecretRegistry::new(aws_sdk_secretsmanager::Client::new(config), secret, REGISTRY_TTL);
        Ok(App { service: Service::new(settings, signer), registry, service_name })
    }
    /// Answers one event; also returns the metrics line to print, if any.
    pub async fn handle(
        &self,
        event: ApiGatewayProxyRequest,
        now: SystemTime,
    ) -> (ApiGatewayProxyResponse, Option<String>) {
        let refuse = |e: OAuthError| (error_response(&e), Outcome::failed(&e, None));
        let (response, outcome) = match from_event(event) {
            Err(e) => {
                tracing::info!(error = e.description(), "event refused");
                refuse(e)
            }
            Ok(request) => {
                // Only the token and metadata endpoints read the registry: health and the JWKS
                // answer without it, and without waiting for it.
                let endpoint = Endpoint::from_path(&request.path);
                if endpoint == Some(Endpoint::Jwks) {
                    self.service.signer.retry_missing().await;
                }
                let answer = if endpoint.is_some_and(Endpoint::reads_registry) {
                    match self.registry.get().await {
                        Ok(registry) => self.service.handle(&request, &registry, now).await,
                        // Discovery must not fail with the registry: verifiers read it at start
                        // (go-oidc, Spring, JWT authorizers). Its scopes are left out instead.
                        Err(e) if endpoint != Some(Endpoint::Token) => {
                            tracing::warn!(error = %e, "client registry unavailable; metadata without scopes_supported");
                            self.service.handle(&request, &Registry::default(), now).await
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "client registry unavailable");
                            refuse(OAuthError::ServerError)
                        }
                    }
                } else {
                    self.service.handle(&request, &Registry::default(), now).await
                };
                tracing::info!(method = %request.method, path = %request.path, status = answer.0.status, outcome = %answer.1, client_id = answer.1.client_id(), "request");
                answer
            }
        };
        let ms = now.duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
        (to_event(response), telemetry::emf_line(&outcome, &self.service_name, ms))
    }
}

/// A variable the function cannot start without: set and not empty.
fn required(var: &impl Fn(&str) -> Option<String>, name: &'static str) -> Result<String, ConfigError> {
    var(name).filter(|v| !v.is_empty()).ok_or(ConfigError::Missing(name))
}

/// The signer the variables name. `SIGNING_MODE` `kms` (or absent): `SIGNING_KEY_ARN` signs and
/// `PUBLISHED_KEY_ARNS` (comma-separated; absent on a stack from before key rotation) are the
/// JWKS's keys. `envelope`: the key pair document `SIGNING_KEY_PAIRS_SECRET_ARN`, the slot
/// `SIGNING_SLOT` (`a` or `b`) signs, `PUBLISHED_SLOTS` (comma-separated) are published.
pub async fn signer_from_vars(
    var: impl Fn(&str) -> Option<String>,
    config: &aws_config::SdkConfig,
    service: &str,
) -> Result<DeployedSigner, ConfigError> {
    let get = |name: &'static str| required(&var, name);
    let list = |name: &str| -> Vec<String> {
        var(name)
            .map(|v| v.split(',').map(str::trim).filter(|k| !k.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let kms = aws_sdk_kms::Client::new(config);
    match var("SIGNING_MODE").as_deref() {
        None | Some("" | "kms") => {
            let key = get("SIGNING_KEY_ARN")?;
            Ok(DeployedSigner::Kms(KmsSigner::new(kms, key, &list("PUBLISHED_KEY_ARNS")).await?))
        }
        Some("envelope") => {
            let slot = |text: &str| Slot::parse(text).ok_or(ConfigError::NotASlot);
            let signing = slot(&get("SIGNING_SLOT")?)?;
            let published = list("PUBLISHED_SLOTS").iter().map(|s| slot(s)).collect::<Result<Vec<_>, _>>()?;
            let secrets = aws_sdk_secretsmanager::Client::new(config);
            let secret = get("SIGNING_KEY_PAIRS_SECRET_ARN")?;
            let signer = EnvelopeSigner::new(&kms, secrets, secret, service, signing, &published).await?;
            Ok(DeployedSigner::Envelope(signer))
        }
        Some(_) => Err(ConfigError::NotAMode),
    }
}

/// The proxy event as a `Request`. The matched resource (`/oauth/token`) is the path, so stage
/// names and custom-domain base paths do not matter.
///
/// # Errors
/// `invalid_request` when `isBase64Encoded` is set and the body is not standard base64
/// (RFC 4648 §4, padded): such a body is never used as it stands.
pub fn from_event(e: ApiGatewayProxyRequest) -> Result<Request, OAuthError> {
    let path = e.resource.or(e.path).unwrap_or_default();
    let source = if e.multi_value_headers.is_empty() { &e.headers } else { &e.multi_value_headers };
    let headers = source
        .iter()
        .map(|(k, v)| (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let body = match e.body {
        None => Vec::new(),
        Some(b) if e.is_base64_encoded => base64::engine::general_purpose::STANDARD
            .decode(b.as_bytes())
            .map_err(|_| OAuthError::InvalidRequest("the body is marked base64 but is not valid base64"))?,
        Some(b) => b.into_bytes(),
    };
    Ok(Request { method: e.http_method.as_str().to_owned(), path, headers, body })
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
        let req = from_event(event).unwrap();
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

    /// `isBase64Encoded: true` means the body must decode; anything else is refused, never used
    /// as it stands.
    #[test]
    fn base64_bodies_decode_or_are_refused() {
        let text = include_str!("../tests/data/token-request.json");
        let event: ApiGatewayProxyRequest = serde_json::from_str(text).unwrap();
        let with = |body: &str, encoded: bool| {
            let mut e = event.clone();
            e.body = Some(body.to_owned());
            e.is_base64_encoded = encoded;
            from_event(e).map(|r| r.body)
        };
        let bad = OAuthError::InvalidRequest("the body is marked base64 but is not valid base64");
        let refused: Result<Vec<u8>, OAuthError> = Err(bad.clone());
        let cases = [
            ("Z3JhbnRfdHlwZT1jbGllbnRfY3JlZGVudGlhbHM=", true, Ok(b"grant_type=client_credentials".to_vec())),
            ("", true, Ok(Vec::new())),
            ("grant_type=client_credentials", true, refused.clone()),
            ("Z3JhbnRfdHlwZT1jbGllbnRfY3JlZGVudGlhbHM", true, refused.clone()),
            ("Z3JhbnRfdHlwZT1jbGllbnRfY3JlZGVudGlhbHM=\n", true, refused.clone()),
            ("Z3JhbnRf dHlwZT1jbGllbnRfY3JlZGVudGlhbHM=", true, refused.clone()),
            ("%%%", true, refused.clone()),
            (
                "Z3JhbnRfdHlwZT1jbGllbnRfY3JlZGVudGlhbHM=",
                false,
                Ok(b"Z3JhbnRfdHlwZT1jbGllbnRfY3JlZGVudGlhbHM=".to_vec()),
            ),
            ("grant_type=client_credentials", false, Ok(b"grant_type=client_credentials".to_vec())),
        ];
        for (body, encoded, want) in cases {
            assert_eq!(with(body, encoded), want, "{body:?} base64={encoded}");
        }
        let answer = error_response(&bad);
        assert_eq!(answer.status, 400);
        assert!(answer.body.contains("\"invalid_request\""));
    }
}
