//! OAuth errors (RFC 6749 §5.2) and how each maps to an HTTP answer. `Display` is the RFC code
//! only; details go to logs, never to a place a secret could leak from.

/// A token request that cannot be granted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// Malformed: missing or repeated parameter, wrong content type, two auth methods.
    #[error("invalid_request")]
    InvalidRequest(&'static str),
    /// Client authentication failed, however the client authenticated. Always answered with
    /// 401 and a `WWW-Authenticate: Basic` challenge: RFC 6749 §5.2 requires it when the
    /// client used the `Authorization` header and allows it otherwise, and RFC 9110 §15.5.2
    /// requires a challenge on every 401. One answer for every case also keeps the methods
    /// indistinguishable.
    #[error("invalid_client")]
    InvalidClient,
    /// The `grant_type` is not `client_credentials` (RFC 6749 §5.2).
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    /// The scope is malformed, names a scope the client may not have, or is omitted and the
    /// client has no default scope (RFC 6749 §5.2); the text says which.
    #[error("invalid_scope")]
    InvalidScope(&'static str),
    /// The endpoint does not take this HTTP method.
    #[error("invalid_request")]
    MethodNotAllowed,
    /// The body is larger than any valid request: RFC 6749 §5.2 `invalid_request`, status 400.
    #[error("invalid_request")]
    PayloadTooLarge,
    /// Signing or the client registry failed: not the client's fault.
    #[error("server_error")]
    ServerError,
}

impl OAuthError {
    /// The RFC 6749 error code.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) | OAuthError::MethodNotAllowed | OAuthError::PayloadTooLarge => {
                "invalid_request"
            }
            OAuthError::InvalidClient => "invalid_client",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::ServerError => "server_error",
        }
    }

    /// The HTTP status: 400 for every RFC 6749 §5.2 error but `invalid_client` (401), 405 for
    /// a method the endpoint does not take, 500 for `server_error`.
    pub fn status(&self) -> u16 {
        match self {
            OAuthError::InvalidClient => 401,
            OAuthError::MethodNotAllowed => 405,
            OAuthError::ServerError => 500,
            _ => 400,
        }
    }

    /// A description safe to show the client: it never depends on which check of client
    /// authentication failed.
    pub fn description(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(d) | OAuthError::InvalidScope(d) => d,
            OAuthError::InvalidClient => "client authentication failed",
            OAuthError::UnsupportedGrantType => "only grant_type=client_credentials is supported",
            OAuthError::MethodNotAllowed => "method not allowed",
            OAuthError::PayloadTooLarge => "request body too large",
            OAuthError::ServerError => "the server could not issue a token; retry later",
        }
    }
}
