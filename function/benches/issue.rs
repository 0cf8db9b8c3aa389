//! Token issuance in-process (parse, authenticate, sign with a local key, answer), for ES256 and
//! RS256: prints p50 / p99 latency and tokens per second on one core. This is envelope signing
//! mode's whole path per token (its key is decrypted once per cold start); `kms` mode adds one
//! KMS `Sign` call (see `cargo bench -p infra --bench lambda`). Targets: p99 under 1 ms; envelope
//! mode ES256 p99 under 100 us.
//!
//! `cargo bench -p token-function --bench issue`

use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use token_function::http::{Request, Service};
use token_function::jwt::{Algorithm, LocalSigner};
use token_function::oauth::Settings;
use token_function::registry::{Registry, StoredSecret};

fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            return v;
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for alg in [Algorithm::ES256, Algorithm::RS256] {
        measure(alg)?;
    }
    Ok(())
}

fn measure(alg: Algorithm) -> Result<(), Box<dyn std::error::Error>> {
    let registry = Registry::from_json(&format!(
        r#"{{"clients":[{{"client_id":"bench","secrets":[{}],"allowed_scopes":["a","b"],"default_scopes":["a"]}}]}}"#,
        serde_json::to_string(&StoredSecret::new("bench-secret", 0)?)?
    ))?;
    let service = Service::new(
        Settings { issuer: "https://issuer.bench".into(), audience: "https://aud.bench".into(), ttl_seconds: 3600 },
        LocalSigner::generate_for(alg)?,
    );
    let auth = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("bench:bench-secret"));
    let req = Request {
        method: "POST".into(),
        path: "/oauth/token".into(),
        headers: vec![
            ("content-type".into(), "application/x-www-form-urlencoded".into()),
            ("authorization".into(), auth),
        ],
        body: b"grant_type=client_credentials&scope=a+b".to_vec(),
    };
    for _ in 0..2_000 {
        let (r, _) = block_on(service.handle(&req, &registry, SystemTime::now()));
        if r.status != 200 {
            return Err(format!("warm-up answered {}: {}", r.status, r.body).into());
        }
    }
    let n = match alg {
        Algorithm::ES256 => 50_000,
        Algorithm::RS256 => 5_000,
    };
    let mut times = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        let (r, _) = block_on(service.handle(&req, &registry, SystemTime::now()));
        std::hint::black_box(r);
        times.push(t.elapsed());
    }
    let total = start.elapsed();
    times.sort();
    let us = |i: usize| times.get(i).map_or(f64::NAN, |d: &Duration| d.as_secs_f64() * 1e6);
    println!(
        "token issuance in process (envelope mode) {}, {n} requests: p50 {:.1} us, p99 {:.1} us, max {:.1} us, {:.0} tokens/s on one core (targets: p99 < 1000 us; ES256 p99 < 100 us)",
        alg.name(),
        us(n / 2),
        us(n * 99 / 100),
        us(n - 1),
        n as f64 / total.as_secs_f64()
    );
    Ok(())
}
