//! OAuth errors (RFC 6749 §5.2) and how each maps to an HTTP answer. `Display` is the RFC code
//! only; details go to logs, never to a place a secret could leak from.

/// A token request that cannot be granted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// Malformed: missing or repeated parameter, wrong content type, two auth methods.
    #[error("invalid_request")]
    InvalidRequest(&'static str),
    /// Client authentication failed. `basic` when the client used HTTP Basic (or sent no
    /// credentials at all), so the answer carries `WWW-Authenticate`.
    #[error("invalid_client")]
    InvalidClient { basic: bool },
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    #[error("invalid_scope")]
    InvalidScope(&'static str),
    /// The endpoint does not take this HTTP method.
    #[error("invalid_request")]
    MethodNotAllowed { allow: &'static str },
    /// The body is larger than any valid request.
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
            OAuthError::InvalidRequest(_) | OAuthError::MethodNotAllowed { .. } | OAuthError::PayloadTooLarge => {
                "invalid_request"
            }
            OAuthError::InvalidClient { .. } => "invalid_client",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::ServerError => "server_error",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            OAuthError::InvalidClient { .. } => 401,
            OAuthError::MethodNotAllowed { .. } => 405,
            OAuthError::PayloadTooLarge => 413,
            OAuthError::ServerError => 500,
            _ => 400,
        }
    }

    /// A description safe to show the client: it never depends on which check of client
    /// authentication failed.
    pub fn description(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(d) | OAuthError::InvalidScope(d) => d,
            OAuthError::InvalidClient { .. } => "client authentication failed",
            OAuthError::UnsupportedGrantType => "only grant_type=client_credentials is supported",
            OAuthError::MethodNotAllowed { .. } => "method not allowed",
            OAuthError::PayloadTooLarge => "request body too large",
            OAuthError::ServerError => "the server could not issue a token; retry later",
        }
    }
}
