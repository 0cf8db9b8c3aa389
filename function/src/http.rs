//! The HTTP face of the service, independent of where it runs: a `Request` in, a `Response`
//! and an `Outcome` (for metrics) out. Lambda and the local server both adapt to these.

use std::time::SystemTime;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use serde_json::json;

use crate::error::OAuthError;
use crate::jwt::{self, Signer};
use crate::oauth::{self, Settings};
use crate::registry::{Registry, to_hex};

/// How long verifiers may cache the JWKS (its `Cache-Control: max-age`, RFC 9111 §5.2.2.1). A
/// new signing key is published at least this long before it signs.
pub const JWKS_MAX_AGE_SECONDS: u64 = 300;

/// How long clients may cache the metadata documents (`Cache-Control: max-age`).
pub const METADATA_MAX_AGE_SECONDS: u64 = 300;

/// An HTTP request, as either runtime sees it.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// The HTTP method, as sent (`GET`, `POST`).
    pub method: String,
    /// The path, without query string: on Lambda the matched API resource (`/oauth/token`),
    /// locally the URI's path.
    pub path: String,
    /// Header names lowercased; a repeated header appears once per value.
    pub headers: Vec<(String, String)>,
    /// The body's bytes, base64-decoded when the Lambda event says it is base64.
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
    /// The HTTP status code.
    pub status: u16,
    /// Header names (lowercase) and values, in the order sent.
    pub headers: Vec<(&'static str, String)>,
    /// The body: a JSON document.
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
    Issued {
        /// The client the token was issued to.
        client_id: String,
    },
    /// A token request failed with this RFC 6749 code; `client_id` is the one the request
    /// presented, when it is a registered client.
    Failed {
        /// The RFC 6749 section 5.2 error code (`invalid_client`, ...).
        reason: &'static str,
        /// The registered client the request presented, if any.
        client_id: Option<String>,
    },
    /// Any other endpoint.
    Other,
}

impl std::fmt::Display for Outcome {
    /// As log lines carry it: `issued`, `failed:<RFC 6749 error code>`, `other`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Issued { .. } => f.write_str("issued"),
            Outcome::Failed { reason, .. } => write!(f, "failed:{reason}"),
            Outcome::Other => f.write_str("other"),
        }
    }
}

impl Outcome {
    /// The client a token was issued to, or the one a failed request presented.
    pub fn client_id(&self) -> Option<&str> {
        match self {
            Outcome::Issued { client_id } => Some(client_id),
            Outcome::Failed { client_id, .. } => client_id.as_deref(),
            Outcome::Other => None,
        }
    }

    /// The RFC 6749 error code of a failed token request.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Outcome::Failed { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// A failed token request.
    pub fn failed(e: &OAuthError, client_id: Option<String>) -> Self {
        Outcome::Failed { reason: e.code(), client_id }
    }
}

/// The token service: settings and a signer. The registry is passed to each call, so the
/// Lambda adapter can refresh it from its cache.
#[derive(Debug)]
pub struct Service<S> {
    /// The grant's settings: issuer, audience, default token lifetime.
    pub settings: Settings,
    /// Signs the tokens; its keys are the JWKS.
    pub signer: S,
    rng: SystemRandom,
}

impl<S: Signer> Service<S> {
    /// A service with these settings and signer.
    pub fn new(settings: Settings, signer: S) -> Self {
        Service { settings, signer, rng: SystemRandom::new() }
    }

    /// Answers one request. OAuth failures are ordinary 4xx answers, never `Err`. Routing
    /// follows [`Endpoint`]: an unknown path is 404, a known path with a method it does not take
    /// is 405 with `Allow`.
    pub async fn handle(&self, req: &Request, registry: &Registry, now: SystemTime) -> (Response, Outcome) {
        let Some(endpoint) = Endpoint::from_path(&req.path) else {
            return (not_found(), Outcome::Other);
        };
        if !endpoint.methods().contains(&req.method.as_str()) {
            return method_not_allowed(endpoint);
        }
        match endpoint {
            Endpoint::Token => self.token(req, registry, now).await,
            Endpoint::Jwks => {
                let mut r = Response::json(200, json!({"keys": self.signer.published()}));
                r.headers.push(("cache-control", format!("public, max-age={JWKS_MAX_AGE_SECONDS}")));
                (r, Outcome::Other)
            }
            Endpoint::Metadata | Endpoint::OpenIdConfiguration => (self.metadata(registry), Outcome::Other),
            Endpoint::Health => (Response::json(200, json!({"status": "ok"})), Outcome::Other),
        }
    }

    /// A token request, answered.
    async fn token(&self, req: &Request, registry: &Registry, now: SystemTime) -> (Response, Outcome) {
        let content_type = req.header_values("content-type").first().copied();
        let parsed = match oauth::parse(content_type, &req.header_values("authorization"), &req.body) {
            Ok(p) => p,
            Err(e) => return (error_response(&e), Outcome::failed(&e, None)),
        };
        match self.issue(&parsed, registry, now).await {
            Ok((resp, client_id)) => (resp, Outcome::Issued { client_id }),
            // Only a registered id is logged: a presented one is the caller's text (a secret
            // pasted in the wrong field, control characters).
            Err(e) => {
                let id = Some(parsed.client_id.clone()).filter(|id| registry.contains(id));
                (error_response(&e), Outcome::failed(&e, id))
            }
        }
    }

    async fn issue(
        &self,
        parsed: &oauth::TokenRequest,
        registry: &Registry,
        now: SystemTime,
    ) -> Result<(Response, String), OAuthError> {
        let mut jti = [0u8; 16];
        self.rng.fill(&mut jti).map_err(|_| OAuthError::ServerError)?;
        let (claims, client) = oauth::grant(parsed, registry, &self.settings, now, to_hex(&jti))?;
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

    /// The server's metadata: one document, served at both [`Endpoint::Metadata`] (RFC 8414 §3)
    /// and [`Endpoint::OpenIdConfiguration`] (OpenID Connect Discovery 1.0 §4), as RFC 8414 §5
    /// allows. Every value is what this service does: the issuer it puts in `iss` (RFC 8414 §3.3:
    /// identical to the issuer the metadata URL was built from), its token endpoint and JWKS
    /// under that issuer, the one grant type and the two client authentication methods it takes
    /// (RFC 6749 §2.3.1), and the algorithms its published keys sign with. The OpenID fields that
    /// Discovery §3 requires are present with what holds for a service that issues no ID tokens:
    /// no response types (it has no authorization endpoint), `public` subjects (a token's `sub`
    /// is its client id for every audience), and the signing algorithm of its tokens.
    fn metadata(&self, registry: &Registry) -> Response {
        let issuer = &self.settings.issuer;
        let mut algorithms: Vec<&str> = self.signer.published().iter().map(|k| k.alg).collect();
        algorithms.sort_unstable();
        algorithms.dedup();
        let mut body = json!({
                "issuer": issuer,
                "token_endpoint": format!("{issuer}{}", Endpoint::Token.path()),
                "jwks_uri": format!("{issuer}{}", Endpoint::Jwks.path()),
                "grant_types_supported": [oauth::GRANT_TYPE],
                "token_endpoint_auth_methods_supported": oauth::AuthMethod::ALL.map(oauth::AuthMethod::name),
                "response_types_supported": [],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": algorithms,
        });
        // RECOMMENDED (RFC 8414 section 2): left out when no client is registered or the
        // registry cannot be read, rather than claiming no scope exists.
        let scopes = registry.scopes();
        if let (false, Some(fields)) = (scopes.is_empty(), body.as_object_mut()) {
            fields.insert("scopes_supported".into(), json!(scopes));
        }
        let mut r = Response::json(200, body);
        r.headers.push(("cache-control", format!("public, max-age={METADATA_MAX_AGE_SECONDS}")));
        r
    }
}

/// The paths the service answers. The deployed API defines exactly these (the service stack
/// builds its API Gateway resources from [`Endpoint::ALL`]) and sends every method on them to
/// the function, so API Gateway and `infra serve` route alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    /// `POST /oauth/token`: RFC 6749 §3.2.
    Token,
    /// `GET /.well-known/jwks.json`: RFC 7517 §5.
    Jwks,
    /// `GET /.well-known/oauth-authorization-server`: RFC 8414 §3. Where the issuer has no
    /// path (a custom domain) this is RFC 8414 §3.1's location; under an issuer with a path it
    /// is `{issuer}/.well-known/oauth-authorization-server`, which RFC 8414 clients do not ask.
    Metadata,
    /// `GET /.well-known/openid-configuration`: OpenID Connect Discovery 1.0 §4, always
    /// `{issuer}/.well-known/openid-configuration`, with or without a path in the issuer. API
    /// Gateway's JWT authorizers and most JWT middleware find the JWKS here.
    OpenIdConfiguration,
    /// `GET /health`.
    Health,
}

impl Endpoint {
    /// Every endpoint.
    pub const ALL: [Endpoint; 5] =
        [Endpoint::Token, Endpoint::Jwks, Endpoint::Metadata, Endpoint::OpenIdConfiguration, Endpoint::Health];

    /// The path, as API Gateway's `resource` names it.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Token => "/oauth/token",
            Endpoint::Jwks => "/.well-known/jwks.json",
            Endpoint::Metadata => "/.well-known/oauth-authorization-server",
            Endpoint::OpenIdConfiguration => "/.well-known/openid-configuration",
            Endpoint::Health => "/health",
        }
    }

    /// The HTTP methods it takes; every other method gets 405 with these in `Allow`.
    pub fn methods(self) -> &'static [&'static str] {
        match self {
            Endpoint::Token => &["POST"],
            Endpoint::Jwks | Endpoint::Metadata | Endpoint::OpenIdConfiguration | Endpoint::Health => &["GET", "HEAD"],
        }
    }

    /// Whether answering reads the client registry: the token endpoint needs it; the metadata
    /// reads it for `scopes_supported` and answers without it when it cannot be read. The others
    /// answer without waiting for it.
    pub fn reads_registry(self) -> bool {
        matches!(self, Endpoint::Token | Endpoint::Metadata | Endpoint::OpenIdConfiguration)
    }

    /// The operation name the API gives the route (API Gateway `OperationName`).
    pub fn operation(self) -> &'static str {
        match self {
            Endpoint::Token => "IssueToken",
            Endpoint::Jwks => "GetJwks",
            Endpoint::Metadata => "GetServerMetadata",
            Endpoint::OpenIdConfiguration => "GetOpenIdConfiguration",
            Endpoint::Health => "GetHealth",
        }
    }

    /// The endpoint at `path` (one trailing `/` allowed), if any.
    pub fn from_path(path: &str) -> Option<Endpoint> {
        let path = path.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(path);
        Endpoint::ALL.into_iter().find(|e| e.path() == path)
    }
}

/// The answer to a path the service does not have. The deployed API answers the same through
/// its `MISSING_AUTHENTICATION_TOKEN` gateway response.
pub fn not_found() -> Response {
    Response::json(404, json!({"error": "not_found"}))
}

fn method_not_allowed(endpoint: Endpoint) -> (Response, Outcome) {
    let allow = endpoint.methods().join(", ");
    if endpoint == Endpoint::Token {
        // Not a token request: no failure for the metrics.
        let mut r = error_response(&OAuthError::MethodNotAllowed);
        r.headers.push(("allow", allow));
        return (r, Outcome::Other);
    }
    let mut r = Response::json(405, json!({"error": "method_not_allowed"}));
    r.headers.push(("allow", allow));
    (r, Outcome::Other)
}

/// An error answer in the RFC 6749 §5.2 form (`{"error": code, "error_description": …}`, not
/// cached), with any status: also what the deployed API answers by itself (its gateway
/// responses), so every error a client sees has one shape.
pub fn error_answer(status: u16, code: &str, description: &str) -> Response {
    Response::json(status, json!({"error": code, "error_description": description})).no_store()
}

/// The RFC 6749 §5.2 error answer.
pub fn error_response(e: &OAuthError) -> Response {
    let mut r = error_answer(e.status(), e.code(), e.description());
    if *e == OAuthError::InvalidClient {
        r.headers.push(("www-authenticate", r#"Basic realm="token", charset="UTF-8""#.into()));
    }
    r
}
