//! The Lambda path against a local AWS emulator (moto server on 127.0.0.1): a real KMS
//! ECC_NIST_P256 key signs tokens (DER converted to r||s and verified against the JWK), and the
//! client registry is read from a real Secrets Manager secret. Needs `moto[server]`
//! (`pip install 'moto[server]'`); run with `--features lambda`.
#![cfg(feature = "lambda")]
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing, clippy::expect_used)]

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use token_function::aws::{KmsSigner, RegistryFetchError, SecretRegistry};
use token_function::http::{Request, Service};
use token_function::jwt::Signer;
use token_function::oauth::Settings;
use token_function::registry::StoredSecret;

struct Emulator(Child, String);

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn emulator() -> Emulator {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("python3")
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 -m moto.server (pip install 'moto[server]')");
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "moto server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Emulator(child, format!("http://127.0.0.1:{port}"))
}

async fn config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .load()
        .await
}

#[tokio::test(flavor = "current_thread")]
async fn kms_signs_and_secrets_manager_holds_the_registry() {
    let emu = emulator();
    let cfg = config(&emu.1).await;
    let kms = aws_sdk_kms::Client::new(&cfg);
    let key = kms.create_key().key_spec(KeySpec::EccNistP256).key_usage(KeyUsageType::SignVerify).send().await.unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_owned();
    let signer = KmsSigner::new(kms, &key_id, &[]).await.unwrap();
    let jwk = signer.jwk().clone();

    let sm = aws_sdk_secretsmanager::Client::new(&cfg);
    let doc = format!(
        r#"{{"clients":[{{"client_id":"orders","secrets":[{}],"allowed_scopes":["orders:read"],"default_scopes":["orders:read"]}}]}}"#,
        serde_json::to_string(&StoredSecret::new("pw", 0).unwrap()).unwrap()
    );
    sm.create_secret().name("registry").secret_string(doc).send().await.unwrap();
    sm.create_secret().name("broken").secret_string("{not json").send().await.unwrap();

    let registry = SecretRegistry::new(sm.clone(), "registry", Duration::from_secs(60)).get().await.unwrap();
    lambda_app(&cfg, &key_id).await;
    assert_eq!(registry.len(), 1);
    let broken = SecretRegistry::new(sm.clone(), "broken", Duration::from_secs(60)).get().await;
    assert!(matches!(broken, Err(RegistryFetchError::Parse { .. })), "{broken:?}");
    let missing = SecretRegistry::new(sm.clone(), "missing", Duration::from_secs(60)).get().await;
    assert!(matches!(missing, Err(RegistryFetchError::Fetch { .. })), "{missing:?}");

    // A registry that breaks after it was read is served for a while, then refused: a client or
    // secret removed meanwhile must not work for ever.
    let doc_again = sm.get_secret_value().secret_id("registry").send().await.unwrap();
    sm.create_secret().name("breaks").secret_string(doc_again.secret_string().unwrap()).send().await.unwrap();
    let breaks = SecretRegistry::new(sm.clone(), "breaks", Duration::ZERO).with_max_stale(Duration::from_millis(300));
    assert_eq!(breaks.get().await.unwrap().len(), 1);
    sm.put_secret_value().secret_id("breaks").secret_string("{not json").send().await.unwrap();
    assert_eq!(breaks.get().await.map(|r| r.len()).ok(), Some(1), "served stale within max_stale");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let refused = breaks.get().await;
    assert!(matches!(refused, Err(RegistryFetchError::Parse { .. })), "{refused:?}");

    let service = Service::new(
        Settings { issuer: "https://issuer.test".into(), audience: "aud".into(), ttl_seconds: 300 },
        signer,
    );
    let public = {
        let mut p = vec![4u8];
        p.extend(URL_SAFE_NO_PAD.decode(jwk.x.as_ref().unwrap()).unwrap());
        p.extend(URL_SAFE_NO_PAD.decode(jwk.y.as_ref().unwrap()).unwrap());
        p
    };
    for _ in 0..20 {
        let req = Request {
            method: "POST".into(),
            path: "/oauth/token".into(),
            headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
            body: b"grant_type=client_credentials&client_id=orders&client_secret=pw".to_vec(),
        };
        let (resp, _) = service.handle(&req, &registry, SystemTime::now()).await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        let body: serde_json::Value = serde_json::from_str(&resp.body).unwrap();
        let token = body["access_token"].as_str().unwrap();
        let (signed, sig) = token.rsplit_once('.').unwrap();
        let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        assert_eq!(sig.len(), 64);
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &public).verify(signed.as_bytes(), &sig).unwrap();
    }
}

/// The whole Lambda handler: captured API Gateway events in, proxy responses and metrics out.
async fn lambda_app(cfg: &aws_config::SdkConfig, key_id: &str) {
    use aws_lambda_events::apigw::ApiGatewayProxyRequest;
    use token_function::lambda::{App, ConfigError};

    let vars = |secret: &'static str| {
        let key_id = key_id.to_owned();
        move |name: &str| -> Option<String> {
            Some(match name {
                "TOKEN_ISSUER" => "https://issuer.test".into(),
                "TOKEN_AUDIENCE" => "aud".into(),
                "TOKEN_TTL_SECONDS" => "300".into(),
                "SIGNING_KEY_ARN" => key_id.clone(),
                "CLIENT_REGISTRY_SECRET_ARN" => secret.into(),
                "SERVICE_NAME" => "token-service-test".into(),
                _ => return None,
            })
        }
    };
    let app = App::from_vars(vars("registry"), cfg).await.unwrap();
    let event: ApiGatewayProxyRequest = serde_json::from_str(include_str!("data/token-request.json")).unwrap();
    let (resp, metrics) = app.handle(event.clone(), SystemTime::now()).await;
    assert_eq!(resp.status_code, 200, "{:?}", resp.body);
    assert_eq!(resp.headers.get("cache-control").unwrap(), "no-store");
    let metrics: serde_json::Value = serde_json::from_str(&metrics.unwrap()).unwrap();
    assert_eq!((metrics["TokensIssued"].as_u64(), metrics["Service"].as_str()), (Some(1), Some("token-service-test")));

    // Wrong secret ("orders:nope"): 401 with the Basic challenge, counted by reason.
    let mut wrong = event.clone();
    wrong.multi_value_headers.clear();
    wrong.headers.insert("authorization", "Basic b3JkZXJzOm5vcGU=".parse().unwrap());
    let (resp, metrics) = app.handle(wrong, SystemTime::now()).await;
    assert_eq!(resp.status_code, 401);
    assert!(resp.headers.get("www-authenticate").is_some());
    assert!(metrics.unwrap().contains(r#""Reason":"invalid_client""#));

    // A registry that cannot be read is the server's fault: 500 server_error, nothing leaks.
    let app = App::from_vars(vars("missing"), cfg).await.unwrap();
    let (resp, _) = app.handle(event.clone(), SystemTime::now()).await;
    assert_eq!(resp.status_code, 500);
    // Discovery does not depend on it: the metadata answers, without the scopes it cannot know.
    for path in ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"] {
        let mut get = event.clone();
        (get.http_method, get.path, get.resource, get.body) =
            (aws_lambda_events::http::Method::GET, Some(path.into()), Some(path.into()), None);
        let (resp, _) = app.handle(get, SystemTime::now()).await;
        let body = match &resp.body {
            Some(aws_lambda_events::encodings::Body::Text(t)) => t.clone(),
            other => panic!("{other:?}"),
        };
        let meta: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!((resp.status_code, meta["issuer"].as_str()), (200, Some("https://issuer.test")), "{path}");
        assert!(meta.get("scopes_supported").is_none(), "{meta}");
    }

    // Missing settings are named.
    let err = App::from_vars(|_| None, cfg).await.unwrap_err();
    assert!(matches!(err, ConfigError::Missing("TOKEN_TTL_SECONDS")), "{err}");
}

/// RS256: a KMS RSA_2048 key signs (RSASSA_PKCS1_V1_5_SHA_256), the JWK is read from
/// `GetPublicKey`'s SubjectPublicKeyInfo, and the token verifies against it.
#[tokio::test(flavor = "current_thread")]
async fn kms_rsa_keys_sign_rs256() {
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
    let emu = emulator();
    let kms = aws_sdk_kms::Client::new(&config(&emu.1).await);
    let key = kms.create_key().key_spec(KeySpec::Rsa2048).key_usage(KeyUsageType::SignVerify).send().await.unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_owned();
    // A published key that cannot be read yet (its alias is being created) is left out, not fatal.
    let published = [key_id.clone(), "alias/not-created-yet".to_owned()];
    let signer = KmsSigner::new(kms, &key_id, &published).await.unwrap();
    assert_eq!(signer.published().len(), 1);
    let jwk = signer.jwk().clone();
    assert_eq!((jwk.kty, jwk.alg), ("RSA", "RS256"));
    let token = token_function::jwt::encode(&signer, &serde_json::json!({"sub": "orders"})).await.unwrap();
    let (signed, sig) = token.rsplit_once('.').unwrap();
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(signed.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    let n = URL_SAFE_NO_PAD.decode(jwk.n.as_ref().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(jwk.e.as_ref().unwrap()).unwrap();
    RsaPublicKeyComponents { n: &n, e: &e }
        .verify(&RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &URL_SAFE_NO_PAD.decode(sig).unwrap())
        .unwrap();
}
