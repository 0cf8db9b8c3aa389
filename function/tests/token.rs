//! The token endpoint's behaviour, request by request, with a fixed clock and an in-process key.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing, clippy::expect_used)]

use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use token_function::http::{Outcome, Request, Response, Service};
use token_function::jwt::{LocalSigner, Signer};
use token_function::oauth::Settings;
use token_function::registry::{Registry, StoredSecret};

const NOW: u64 = 1_800_000_000;

/// The local signer's futures are ready at once.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("future not ready"),
    }
}

fn registry() -> Registry {
    let h = |s: &str| serde_json::to_string(&StoredSecret::new(s, 0).unwrap()).unwrap();
    Registry::from_json(&format!(
        r#"{{"clients":[
            {{"client_id":"orders","secrets":[{}],"allowed_scopes":["orders:read","orders:write"],"default_scopes":["orders:read"]}},
            {{"client_id":"nodefault","secrets":[{}],"allowed_scopes":["a"],"ttl_seconds":120}},
            {{"client_id":"inventory-service","secrets":[{}],"allowed_scopes":["inventory:read"],"default_scopes":["inventory:read"]}},
            {{"client_id":"symbols","secrets":[{}],"allowed_scopes":["s"],"default_scopes":["s"]}}
        ]}}"#,
        h("orders-secret"),
        h("n s+cret"),
        h("abc"),
        h("p&q=r:s t+u%")
    ))
    .unwrap()
}

fn service() -> Service<LocalSigner> {
    Service::new(
        Settings { issuer: "https://issuer.test".into(), audience: "https://aud.test".into(), ttl_seconds: 3600 },
        LocalSigner::generate().unwrap(),
    )
}

fn post(headers: &[(&str, &str)], body: &str) -> Request {
    let mut h: Vec<(String, String)> = vec![("content-type".into(), "application/x-www-form-urlencoded".into())];
    for (k, v) in headers {
        h.retain(|(name, _)| !(name == "content-type" && *k == "content-type"));
        h.push(((*k).into(), (*v).into()));
    }
    Request { method: "POST".into(), path: "/oauth/token".into(), headers: h, body: body.as_bytes().to_vec() }
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

fn call(svc: &Service<LocalSigner>, req: &Request) -> (Response, Outcome, serde_json::Value) {
    let now = UNIX_EPOCH + Duration::from_secs(NOW);
    let (r, o) = block_on(svc.handle(req, &registry(), now));
    let body = serde_json::from_str(&r.body).unwrap_or(serde_json::Value::Null);
    (r, o, body)
}

/// (what, the request, the status and `error` code it must answer with)
type Row = (&'static str, Request, u16, &'static str);

/// Rows of client authentication: missing, unknown, wrong or conflicting credentials.
fn client_authentication_rows() -> Vec<Row> {
    let ok_basic = basic("orders", "orders-secret");
    vec![
        ("no credentials", post(&[], "grant_type=client_credentials"), 401, "invalid_client"),
        (
            "unknown client",
            post(&[("authorization", &basic("ghost", "orders-secret"))], "grant_type=client_credentials"),
            401,
            "invalid_client",
        ),
        (
            "wrong secret",
            post(&[("authorization", &basic("orders", "nope"))], "grant_type=client_credentials"),
            401,
            "invalid_client",
        ),
        (
            "wrong secret, post",
            post(&[], "grant_type=client_credentials&client_id=orders&client_secret=nope"),
            401,
            "invalid_client",
        ),
        ("client_id only", post(&[], "grant_type=client_credentials&client_id=orders"), 401, "invalid_client"),
        ("secret only", post(&[], "grant_type=client_credentials&client_secret=x"), 400, "invalid_request"),
        (
            "bearer scheme",
            post(&[("authorization", "Bearer abc")], "grant_type=client_credentials"),
            401,
            "invalid_client",
        ),
        ("bad base64", post(&[("authorization", "Basic %%%")], "grant_type=client_credentials"), 401, "invalid_client"),
        (
            "no colon",
            post(
                &[("authorization", &format!("Basic {}", STANDARD.encode("orders")))],
                "grant_type=client_credentials",
            ),
            401,
            "invalid_client",
        ),
        (
            "both methods",
            post(
                &[("authorization", &ok_basic)],
                "grant_type=client_credentials&client_id=orders&client_secret=orders-secret",
            ),
            400,
            "invalid_request",
        ),
        (
            "client_id mismatch",
            post(&[("authorization", &ok_basic)], "grant_type=client_credentials&client_id=other"),
            400,
            "invalid_request",
        ),
        (
            "two authorization headers",
            post(&[("authorization", &ok_basic), ("authorization", &ok_basic)], "grant_type=client_credentials"),
            400,
            "invalid_request",
        ),
    ]
}

/// Rows of the request's form: its grant type, repeated parameters and content type.
fn request_form_rows() -> Vec<Row> {
    let ok_basic = basic("orders", "orders-secret");
    vec![
        ("missing grant_type", post(&[("authorization", &ok_basic)], "scope=orders:read"), 400, "invalid_request"),
        ("empty grant_type", post(&[("authorization", &ok_basic)], "grant_type="), 400, "invalid_request"),
        (
            "repeated grant_type",
            post(&[("authorization", &ok_basic)], "grant_type=client_credentials&grant_type=client_credentials"),
            400,
            "invalid_request",
        ),
        (
            "repeated scope",
            post(&[("authorization", &ok_basic)], "grant_type=client_credentials&scope=a&scope=b"),
            400,
            "invalid_request",
        ),
        (
            "password grant",
            post(&[("authorization", &ok_basic)], "grant_type=password&username=u&password=p"),
            400,
            "unsupported_grant_type",
        ),
        (
            "wrong content type",
            post(
                &[("authorization", &ok_basic), ("content-type", "application/json")],
                r#"{"grant_type":"client_credentials"}"#,
            ),
            400,
            "invalid_request",
        ),
        (
            "no content type",
            Request {
                headers: vec![("authorization".into(), ok_basic.clone())],
                ..post(&[], "grant_type=client_credentials")
            },
            400,
            "invalid_request",
        ),
    ]
}

/// Rows of scopes not allowed, malformed or missing.
fn scope_rows() -> Vec<Row> {
    let ok_basic = basic("orders", "orders-secret");
    vec![
        (
            "scope not allowed",
            post(&[("authorization", &ok_basic)], "grant_type=client_credentials&scope=orders:read+admin"),
            400,
            "invalid_scope",
        ),
        (
            "malformed scope",
            post(&[("authorization", &ok_basic)], "grant_type=client_credentials&scope=orders:read++orders:write"),
            400,
            "invalid_scope",
        ),
        (
            "no default scope",
            post(&[("authorization", &basic("nodefault", "n%20s%2Bcret"))], "grant_type=client_credentials"),
            400,
            "invalid_scope",
        ),
    ]
}

/// Rows of bodies over the size limit and of a method other than POST.
fn size_and_method_rows() -> Vec<Row> {
    let ok_basic = basic("orders", "orders-secret");
    vec![
        ("oversized body", post(&[("authorization", &ok_basic)], &"a".repeat(10_000)), 400, "invalid_request"),
        ("one byte over the limit", post(&[("authorization", &ok_basic)], &"a".repeat(4097)), 400, "invalid_request"),
        ("GET", Request { method: "GET".into(), ..post(&[], "") }, 405, "invalid_request"),
    ]
}

#[test]
fn error_paths_answer_with_the_rfc_code() {
    let svc = service();
    let cases = [client_authentication_rows(), request_form_rows(), scope_rows(), size_and_method_rows()];
    for (name, req, status, code) in cases.into_iter().flatten() {
        let (r, outcome, body) = call(&svc, &req);
        assert_eq!((r.status, body["error"].as_str()), (status, Some(code)), "{name}: {}", r.body);
        // A 405 is no token request; every other row is a failed one.
        assert_eq!(outcome.reason(), (status != 405).then_some(code), "{name}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{name}");
        assert_eq!(r.header("pragma"), Some("no-cache"), "{name}");
        // RFC 9110 §15.5.2: every 401 carries a challenge, however the client authenticated.
        assert_eq!(status == 401, code == "invalid_client", "{name}");
        if status == 401 {
            assert!(r.header("www-authenticate").is_some_and(|h| h.starts_with("Basic realm=")), "{name}");
        }
        // RFC 6749 §5.2: a JSON object with `error` and nothing but the defined members.
        let members: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert!(members.iter().all(|m| ["error", "error_description", "error_uri"].contains(&m.as_str())), "{name}");
        assert_eq!(r.header("content-type"), Some("application/json"), "{name}");
        if status == 405 {
            assert_eq!(r.header("allow"), Some("POST"));
        }
    }
}

/// RFC 6749 §2.3.1: base64-decode, split at the first `:`, then form-urldecode each part on its
/// own: `+` is a space, `%HH` a byte, `&` and `=` stand for themselves.
#[test]
fn basic_credentials_are_decoded_part_by_part() {
    let svc = service();
    // (user part, password part as sent inside base64, expected status)
    let cases: &[(&str, &str, u16)] = &[
        ("inventory-service", "abc", 200),
        ("inventory-service", "abc&zzz", 401),
        ("inventory-service", "abc&", 401),
        ("inventory-service", "ab&=c", 401),
        ("inventory-service", "abc=", 401),
        ("inventory-service", "&abc", 401),
        ("inventory-service", "abc%26zzz", 401),
        ("inventory-service", "abc+", 401),
        ("inventory-service", "abc%", 401),
        ("inventory-service", "abc%2", 401),
        ("inventory-service", "abc%00", 401),
        ("inventory-service", "ab%63", 200),
        ("inventory-service", "%61%62%63", 200),
        ("inventory-service&x", "abc", 401),
        ("inventory-service=", "abc", 401),
        ("x&inventory-service", "abc", 401),
        ("inventory%2Dservice", "abc", 200),
        ("inventory-service", "abc:", 401),
        ("inventory-service:", "abc", 401),
        ("inventory-service", "ABC", 401),
        ("inventory-service", "%FF", 401),
        // A secret with every reserved character, encoded as §2.3.1 asks...
        ("symbols", "p%26q%3Dr%3As+t%2Bu%25", 200),
        ("symbols", "p%26q%3Dr%3As%20t%2Bu%25", 200),
        // ... and sent raw: `+` is then a space and the secret differs.
        ("symbols", "p&q=r:s t+u%", 401),
        ("symbols", "p%26q%3Dr%3As+t%2Bu%25&x", 401),
    ];
    for (user, password, status) in cases {
        let req = post(&[("authorization", &basic(user, password))], "grant_type=client_credentials");
        let (r, outcome, body) = call(&svc, &req);
        assert_eq!(r.status, *status, "{user}:{password}: {}", r.body);
        if *status == 401 {
            assert_eq!(body["error"], "invalid_client", "{user}:{password}");
            assert_eq!(outcome.reason(), Some("invalid_client"));
        }
    }
    // The same rows through client_secret_post, where the form decoder sees the whole body.
    for (id, secret, status) in [("inventory-service", "abc", 200), ("inventory-service", "abc%26zzz", 401)] {
        let (r, _, _) =
            call(&svc, &post(&[], &format!("grant_type=client_credentials&client_id={id}&client_secret={secret}")));
        assert_eq!(r.status, status, "post {id}:{secret}: {}", r.body);
    }
}

/// Every endpoint answers its methods, and every other method with 405 and the right `Allow`.
#[test]
fn routes_answer_their_methods_only() {
    use token_function::http::Endpoint;
    let svc = service();
    let methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    for endpoint in Endpoint::ALL {
        for path in [endpoint.path().to_owned(), format!("{}/", endpoint.path())] {
            for method in methods {
                let req = Request { method: method.into(), ..post(&[], "") };
                let (r, _, _) = call(&svc, &Request { path: path.clone(), ..req });
                if endpoint.methods().contains(&method) {
                    assert_ne!(r.status, 405, "{method} {path}");
                    assert_ne!(r.status, 404, "{method} {path}");
                } else {
                    assert_eq!(r.status, 405, "{method} {path}");
                    assert_eq!(r.header("allow"), Some(endpoint.methods().join(", ").as_str()), "{method} {path}");
                }
            }
        }
    }
    for path in ["/", "", "/oauth", "/oauth/token/x", "/OAUTH/TOKEN", "/health//", "/.well-known", "/jwks.json"] {
        let (r, _, body) = call(&svc, &Request { method: "GET".into(), path: path.into(), ..Default::default() });
        assert_eq!((r.status, body["error"].as_str()), (404, Some("not_found")), "{path:?}");
    }
}

#[test]
fn unknown_client_and_wrong_secret_are_indistinguishable() {
    let svc = service();
    let (a, _, _) = call(&svc, &post(&[("authorization", &basic("ghost", "x"))], "grant_type=client_credentials"));
    let (b, _, _) = call(&svc, &post(&[("authorization", &basic("orders", "x"))], "grant_type=client_credentials"));
    assert_eq!(a, b);
}

#[test]
fn issues_a_verifiable_rfc9068_token() {
    let svc = service();
    // Basic credentials are form-urldecoded after base64 (RFC 6749 §2.3.1): "n%20s%2Bcret" is "n s+cret".
    let cases = [
        (
            post(&[("authorization", &basic("orders", "orders-secret"))], "grant_type=client_credentials"),
            "orders",
            "orders:read",
            3600,
        ),
        (
            post(
                &[],
                "grant_type=client_credentials&client_id=orders&client_secret=orders-secret&scope=orders%3Awrite+orders%3Aread&extra=ignored",
            ),
            "orders",
            "orders:read orders:write",
            3600,
        ),
        (
            post(
                &[("authorization", &basic("nodefault", "n%20s%2Bcret"))],
                "grant_type=client_credentials&scope=a&client_id=nodefault&empty=",
            ),
            "nodefault",
            "a",
            120,
        ),
        (
            post(
                &[
                    ("content-type", "Application/X-WWW-Form-Urlencoded; charset=UTF-8"),
                    ("authorization", &basic("orders", "orders-secret")),
                ],
                "grant_type=client_credentials&scope=",
            ),
            "orders",
            "orders:read",
            3600,
        ),
    ];
    let mut jtis = std::collections::BTreeSet::new();
    for (req, client, scope, ttl) in cases {
        let (r, outcome, body) = call(&svc, &req);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(outcome, Outcome::Issued { client_id: client.into() });
        assert_eq!(
            (body["token_type"].as_str(), body["expires_in"].as_u64(), body["scope"].as_str()),
            (Some("Bearer"), Some(ttl), Some(scope))
        );
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let token = body["access_token"].as_str().unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header, serde_json::json!({"alg": "ES256", "typ": "at+jwt", "kid": svc.signer.jwk().kid}));
        let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "https://issuer.test");
        assert_eq!(claims["aud"], "https://aud.test");
        assert_eq!((claims["sub"].as_str(), claims["client_id"].as_str()), (Some(client), Some(client)));
        assert_eq!((claims["iat"].as_u64(), claims["exp"].as_u64()), (Some(NOW), Some(NOW + ttl)));
        assert_eq!(claims["scope"], scope);
        assert!(jtis.insert(claims["jti"].as_str().unwrap().to_owned()));
        // Verify against the published JWK.
        let (_, _, jwks) =
            call(&svc, &Request { method: "GET".into(), path: "/.well-known/jwks.json".into(), ..Default::default() });
        let jwk = &jwks["keys"][0];
        assert!(jwk.get("d").is_none(), "private key published");
        let mut point = vec![4u8];
        point.extend(URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap());
        point.extend(URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap());
        let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let signed = format!("{}.{}", parts[0], parts[1]);
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point).verify(signed.as_bytes(), &sig).unwrap();
    }
}

#[test]
fn discovery_and_health() {
    let svc = service();
    let get = |path: &str| call(&svc, &Request { method: "GET".into(), path: path.into(), ..Default::default() });
    let (r, o, meta) = get("/.well-known/oauth-authorization-server");
    assert_eq!((r.status, o), (200, Outcome::Other));
    assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(meta["issuer"], "https://issuer.test");
    assert_eq!(meta["token_endpoint"], "https://issuer.test/oauth/token");
    assert_eq!(meta["jwks_uri"], "https://issuer.test/.well-known/jwks.json");
    assert_eq!(meta["grant_types_supported"], serde_json::json!(["client_credentials"]));
    assert_eq!(
        meta["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post"])
    );
    assert_eq!(meta["id_token_signing_alg_values_supported"], serde_json::json!(["ES256"]));
    assert_eq!(meta["subject_types_supported"], serde_json::json!(["public"]));
    assert_eq!(
        meta["scopes_supported"],
        serde_json::json!(["a", "inventory:read", "orders:read", "orders:write", "s"])
    );
    // OpenID Connect Discovery's location answers the same document.
    let (r, o, openid) = get("/.well-known/openid-configuration");
    assert_eq!((r.status, o, &openid), (200, Outcome::Other, &meta));
    let (r, _, body) = get("/health");
    assert_eq!((r.status, body["status"].as_str()), (200, Some("ok")));
    assert_eq!(get("/nope").0.status, 404);
    let (r, _, _) = call(&svc, &Request { method: "DELETE".into(), path: "/health".into(), ..Default::default() });
    assert_eq!(r.status, 405);
    let _ = SystemTime::now();
}
