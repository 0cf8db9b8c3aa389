//! The client credentials grant (RFC 6749 §4.4): parse and authenticate a token request,
//! check its scope, and build the RFC 9068 claims. Pure: time comes in as `now`.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde::Serialize;

use crate::error::OAuthError;
use crate::registry::{Client, Registry};

/// Bodies above this are refused before parsing: a valid request is far smaller.
pub const MAX_BODY_BYTES: usize = 4096;

/// How the client authenticated (RFC 6749 §2.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// HTTP Basic with the URL-encoded id and secret.
    Basic,
    /// `client_id` and `client_secret` in the form body.
    Post,
}

impl AuthMethod {
    /// Every method the token endpoint takes.
    pub const ALL: [AuthMethod; 2] = [AuthMethod::Basic, AuthMethod::Post];

    /// Its name in the OAuth Token Endpoint Authentication Methods registry (RFC 7591 §2), as
    /// metadata lists it (`token_endpoint_auth_methods_supported`, RFC 8414 §2).
    pub fn name(self) -> &'static str {
        match self {
            AuthMethod::Basic => "client_secret_basic",
            AuthMethod::Post => "client_secret_post",
        }
    }
}

/// A well-formed token request, not yet authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRequest {
    /// The client identifier, from the `Authorization` header or the body (RFC 6749 §2.3.1).
    pub client_id: String,
    /// The client secret as presented, decoded.
    pub client_secret: String,
    /// Where the credentials came from.
    pub method: AuthMethod,
    /// The requested scopes; `None` when the parameter was omitted or empty.
    pub scope: Option<BTreeSet<String>>,
}

/// `true` for an RFC 6749 §3.3 scope token.
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// The one grant type this service takes: RFC 6749 §4.4.2.
pub const GRANT_TYPE: &str = "client_credentials";

/// Parses a token request from its `Content-Type`, `Authorization` header(s) and body.
pub fn parse(content_type: Option<&str>, authorization: &[&str], body: &[u8]) -> Result<TokenRequest, OAuthError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(OAuthError::PayloadTooLarge);
    }
    let media = content_type.and_then(|c| c.split(';').next()).map(str::trim);
    if !media.is_some_and(|m| m.eq_ignore_ascii_case("application/x-www-form-urlencoded")) {
        return Err(OAuthError::InvalidRequest("content type must be application/x-www-form-urlencoded"));
    }
    let mut grant_type = None;
    let mut scope = None;
    let mut client_id = None;
    let mut client_secret = None;
    for (k, v) in form_urlencoded::parse(body) {
        // §3.1: a parameter without a value is as if omitted.
        if v.is_empty() {
            continue;
        }
        let slot = match k.as_ref() {
            "grant_type" => &mut grant_type,
            "scope" => &mut scope,
            "client_id" => &mut client_id,
            "client_secret" => &mut client_secret,
            _ => continue, // §3.2: unrecognized parameters are ignored
        };
        if slot.replace(v.into_owned()).is_some() {
            return Err(OAuthError::InvalidRequest("a parameter is repeated"));
        }
    }

    let (client_id, client_secret, method) = match authorization {
        [] => match (client_id, client_secret) {
            (Some(id), Some(secret)) => (id, secret, AuthMethod::Post),
            (_, None) => return Err(OAuthError::InvalidClient),
            (None, Some(_)) => return Err(OAuthError::InvalidRequest("client_secret without client_id")),
        },
        [header] => {
            if client_secret.is_some() {
                return Err(OAuthError::InvalidRequest("more than one client authentication method"));
            }
            let (id, secret) = basic_credentials(header).ok_or(OAuthError::InvalidClient)?;
            if client_id.as_ref().is_some_and(|c| *c != id) {
                return Err(OAuthError::InvalidRequest("client_id does not match the Authorization header"));
            }
            (id, secret, AuthMethod::Basic)
        }
        _ => return Err(OAuthError::InvalidRequest("more than one Authorization header")),
    };

    match grant_type.as_deref() {
        None => return Err(OAuthError::InvalidRequest("grant_type is required")),
        Some(GRANT_TYPE) => {}
        Some(_) => return Err(OAuthError::UnsupportedGrantType),
    }

    let scope = match scope {
        None => None,
        Some(s) => {
            let tokens: Vec<&str> = s.split(' ').collect();
            if !tokens.iter().all(|t| is_scope_token(t)) {
                return Err(OAuthError::InvalidScope("scope is malformed"));
            }
            Some(tokens.into_iter().map(str::to_owned).collect())
        }
    };
    Ok(TokenRequest { client_id, client_secret, method, scope })
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`, decoded as RFC 6749 §2.3.1 requires.
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD.decode(rest.trim()).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (id, secret) = raw.split_once(':')?;
    let (id, secret) = (form_decode(id)?, form_decode(secret)?);
    (!id.is_empty() && !secret.is_empty()).then_some((id, secret))
}

/// Decodes one `application/x-www-form-urlencoded` value (RFC 6749 Appendix B, WHATWG URL
/// "application/x-www-form-urlencoded parsing" for a single value): `+` is a space, `%HH` is a
/// byte, and every other character, `&` and `=` included, stands for itself. `None` when the
/// decoded bytes are not UTF-8.
pub fn form_decode(value: &str) -> Option<String> {
    let spaced = value.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced).decode_utf8().ok().map(std::borrow::Cow::into_owned)
}

/// The settings of the grant.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The `iss` of every token (RFC 7519 §4.1.1), and the base URL of the endpoints the metadata
    /// lists (RFC 8414 §2).
    pub issuer: String,
    /// The `aud` of every token (RFC 7519 §4.1.3).
    pub audience: String,
    /// Token lifetime in seconds, for a client that sets none of its own.
    pub ttl_seconds: u64,
}

/// RFC 9068 access token claims.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Claims {
    /// Issuer (RFC 7519 §4.1.1): the service's issuer.
    pub iss: String,
    /// Subject (RFC 7519 §4.1.2): the client id, as RFC 9068 §2.2 has it without a resource owner.
    pub sub: String,
    /// Audience (RFC 7519 §4.1.3): the configured audience.
    pub aud: String,
    /// The client the token was issued to (RFC 9068 §2.2, RFC 8693 §4.3).
    pub client_id: String,
    /// Issued at (RFC 7519 §4.1.6), Unix seconds.
    pub iat: u64,
    /// Expiration time (RFC 7519 §4.1.4), Unix seconds: `iat` plus the client's or the default
    /// lifetime.
    pub exp: u64,
    /// JWT ID (RFC 7519 §4.1.7): 16 random bytes, lowercase hex.
    pub jti: String,
    /// The granted scopes, space-separated (RFC 9068 §2.2.3, RFC 8693 §4.2).
    pub scope: String,
}

/// Authenticates the client and decides the scopes and lifetime. `jti` must be unique.
pub fn grant<'r>(
    req: &TokenRequest,
    registry: &'r Registry,
    settings: &Settings,
    now: SystemTime,
    jti: String,
) -> Result<(Claims, &'r Client), OAuthError> {
    let iat = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let client = registry.authenticate(&req.client_id, &req.client_secret, iat).ok_or(OAuthError::InvalidClient)?;
    let scopes = match &req.scope {
        None if client.default_scopes.is_empty() => {
            return Err(OAuthError::InvalidScope("no scope requested and the client has no default scope"));
        }
        None => client.default_scopes.clone(),
        Some(s) if s.is_subset(&client.allowed_scopes) => s.clone(),
        Some(_) => return Err(OAuthError::InvalidScope("a requested scope is not allowed for this client")),
    };
    let ttl = client.ttl_seconds.unwrap_or(settings.ttl_seconds);
    let claims = Claims {
        iss: settings.issuer.clone(),
        sub: client.client_id.clone(),
        aud: settings.audience.clone(),
        client_id: client.client_id.clone(),
        iat,
        exp: iat + ttl,
        jti,
        scope: scopes.into_iter().collect::<Vec<_>>().join(" "),
    };
    Ok((claims, client))
}
