//! The HTTP face of the service, independent of where it runs: a `Request` in, a `Response`
//! and an `Outcome` (for metrics) out. Lambda and the local server both adapt to these.

use std::time::SystemTime;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use serde_json::json;

use crate::error::OAuthError;
use crate::jwt::{self, Signer};
use crate::oauth::{self, Settings};
use crate::registry::{Registry, to_hex};

/// An HTTP request, as either runtime sees it.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Header names lowercased; a repeated header appears once per value.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// Every value of header `name` (lowercase).
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }
}

/// An HTTP response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Response {
    fn json(status: u16, body: serde_json::Value) -> Self {
        Response { status, headers: vec![("content-type", "application/json".into())], body: body.to_string() }
    }

    /// The value of header `name`, if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Token endpoint answers must never be cached (RFC 6749 §5.1).
    fn no_store(mut self) -> Self {
        self.headers.push(("cache-control", "no-store".into()));
        self.headers.push(("pragma", "no-cache".into()));
        self
    }
}

/// What happened, for metrics and logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A token was issued.
    Issued { client_id: String },
    /// A token request failed with this RFC 6749 code.
    Failed { reason: &'static str },
    /// Any other endpoint.
    Other,
}

/// The token service: settings and a signer. The registry is passed to each call, so the
/// Lambda adapter can refresh it from its cache.
#[derive(Debug)]
pub struct Service<S> {
    pub settings: Settings,
    pub signer: S,
    rng: SystemRandom,
}

impl<S: Signer> Service<S> {
    pub fn new(settings: Settings, signer: S) -> Self {
        Service { settings, signer, rng: SystemRandom::new() }
    }

    /// Answers one request. OAuth failures are ordinary 4xx answers, never `Err`.
    pub async fn handle(&self, req: &Request, registry: &Registry, now: SystemTime) -> (Response, Outcome) {
        let path = req.path.trim_end_matches('/');
        match (path, req.method.as_str()) {
            ("/oauth/token", "POST") => match self.token(req, registry, now).await {
                Ok((resp, client_id)) => (resp, Outcome::Issued { client_id }),
                Err(e) => (error_response(&e), Outcome::Failed { reason: e.code() }),
            },
            ("/oauth/token", _) => {
                let e = OAuthError::MethodNotAllowed { allow: "POST" };
                (error_response(&e), Outcome::Failed { reason: e.code() })
            }
            ("/.well-known/jwks.json", "GET" | "HEAD") => {
                let mut r = Response::json(200, json!({"keys": [self.signer.jwk()]}));
                r.headers.push(("cache-control", "public, max-age=300".into()));
                (r, Outcome::Other)
            }
            ("/.well-known/oauth-authorization-server", "GET" | "HEAD") => (self.metadata(registry), Outcome::Other),
            ("/health", "GET" | "HEAD") => (Response::json(200, json!({"status": "ok"})), Outcome::Other),
            ("/.well-known/jwks.json" | "/.well-known/oauth-authorization-server" | "/health", _) => {
                let mut r = Response::json(405, json!({"error": "method_not_allowed"}));
                r.headers.push(("allow", "GET, HEAD".into()));
                (r, Outcome::Other)
            }
            _ => (Response::json(404, json!({"error": "not_found"})), Outcome::Other),
        }
    }

    async fn token(
        &self,
        req: &Request,
        registry: &Registry,
        now: SystemTime,
    ) -> Result<(Response, String), OAuthError> {
        let content_type = req.header_values("content-type").first().copied();
        let parsed = oauth::parse(content_type, &req.header_values("authorization"), &req.body)?;
        let mut jti = [0u8; 16];
        self.rng.fill(&mut jti).map_err(|_| OAuthError::ServerError)?;
        let (claims, client) = oauth::grant(&parsed, registry, &self.settings, now, to_hex(&jti))?;
        let token = jwt::encode(&self.signer, &claims).await.map_err(|e| {
            tracing::error!(error = %e, "signing failed");
            OAuthError::ServerError
        })?;
        let body = json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": claims.exp - claims.iat,
            "scope": claims.scope,
        });
        Ok((Response::json(200, body).no_store(), client.client_id.clone()))
    }

    /// RFC 8414 authorization server metadata.
    fn metadata(&self, registry: &Registry) -> Response {
        let issuer = &self.settings.issuer;
        Response::json(
            200,
            json!({
                "issuer": issuer,
                "token_endpoint": format!("{issuer}/oauth/token"),
                "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
                "grant_types_supported": ["client_credentials"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "response_types_supported": [],
                "scopes_supported": registry.scopes(),
            }),
        )
    }
}

/// The RFC 6749 §5.2 error answer.
pub fn error_response(e: &OAuthError) -> Response {
    let mut r = Response::json(e.status(), json!({"error": e.code(), "error_description": e.description()})).no_store();
    match e {
        OAuthError::InvalidClient { basic: true } => {
            r.headers.push(("www-authenticate", r#"Basic realm="token", charset="UTF-8""#.into()));
        }
        OAuthError::MethodNotAllowed { allow } => r.headers.push(("allow", (*allow).into())),
        _ => {}
    }
    r
}
