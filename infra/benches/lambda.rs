//! The real `bootstrap` (built with the `lambda` profile for this machine, as `infra package`
//! builds it) behind the local Lambda harness and REST API translation (`infra::local`), with KMS
//! and Secrets Manager served by LocalStack on 127.0.0.1 (`kms` signing mode: one `Sign` call per
//! token, the network hop made visible). Prints:
//! - the zip and binary size;
//! - cold start: process start to the first answered request (`GET /health`: `GetPublicKey` at
//!   init, `GetSecretValue` on the first request), over 10 starts, next to the time of those two
//!   calls made from here, so the function's own init work is the difference;
//! - a load test of `POST /oauth/token` at concurrency 1, 8 and 64 for 5 s each: requests per
//!   second, p50/p99 latency, errors.
//!
//! `cargo bench -p infra --bench lambda` (starts LocalStack with scripts/localstack).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use infra::deploy::package::{Artifact, build};
use infra::env::{Architecture, Environment};

type Error = Box<dyn std::error::Error + Send + Sync>;
type Http = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

const CLIENT: &str = "bench";
const SECRET: &str = "bench-secret-0123456789";

fn localstack(root: &Path) -> Result<String, Error> {
    let script = root.join("scripts/localstack");
    if !Command::new(&script).arg("install").status()?.success() {
        return Err("installing LocalStack failed".into());
    }
    let start = Command::new(&script).arg("start").output()?;
    if !start.status.success() {
        return Err(String::from_utf8_lossy(&start.stderr).into_owned().into());
    }
    Ok(String::from_utf8(start.stdout)?.trim().to_owned())
}

fn environment(root: &Path, dir: &Path) -> Result<Environment, Error> {
    let arch = if cfg!(target_arch = "aarch64") { "arm64" } else { "x86_64" };
    let dev = std::fs::read_to_string(root.join("environments/dev.yaml"))?
        .replace("architecture: arm64", &format!("architecture: {arch}"))
        .replace("rate_limit: 20", "rate_limit: 10000")
        .replace("burst_limit: 40", "burst_limit: 5000");
    std::fs::write(dir.join("dev.yaml"), dev)?;
    Ok(Environment::load_named(dir, "dev")?)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn call(http: &Http, req: hyper::Request<Full<Bytes>>) -> Result<u16, Error> {
    let resp = tokio::time::timeout(Duration::from_secs(30), http.request(req)).await??;
    let status = resp.status().as_u16();
    resp.into_body().collect().await?;
    Ok(status)
}

fn token_request(url: &str) -> Result<hyper::Request<Full<Bytes>>, Error> {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT}:{SECRET}"));
    Ok(hyper::Request::post(format!("{url}/oauth/token"))
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from_static(b"grant_type=client_credentials")))?)
}

/// The AWS side: a P-256 signing key and a registry with one client, in LocalStack.
async fn resources(config: &aws_config::SdkConfig) -> Result<BTreeMap<String, String>, Error> {
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    let kms = aws_sdk_kms::Client::new(config);
    let key = kms.create_key().key_spec(KeySpec::EccNistP256).key_usage(KeyUsageType::SignVerify).send().await?;
    let arn = key.key_metadata().and_then(|m| m.arn()).ok_or("no key ARN")?.to_owned();
    let stored = token_function::registry::StoredSecret::new(SECRET, 0).map_err(|_| "no random source")?;
    let doc = serde_json::json!({"clients": [{"client_id": CLIENT, "secrets": [stored], "allowed_scopes": ["a"], "default_scopes": ["a"]}]});
    let name = format!("bench-registry-{}", std::process::id());
    let secret = aws_sdk_secretsmanager::Client::new(config)
        .create_secret()
        .name(name)
        .secret_string(doc.to_string())
        .send()
        .await?;
    let secret = secret.arn().ok_or("no secret ARN")?.to_owned();
    Ok(BTreeMap::from([
        ("SigningKeyArn".to_owned(), arn.clone()),
        ("PublishedKeyArns".to_owned(), format!("{arn},{arn}")),
        ("ClientRegistrySecretArn".to_owned(), secret),
    ]))
}

fn main() -> Result<(), Error> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let url = localstack(&root)?;
    let dir = tempfile::tempdir()?;
    let env = environment(&root, dir.path())?;
    let arch = env.function.architecture;
    let binary = build(&root, arch)?;
    let artifact = Artifact::from_binary(&std::fs::read(&binary)?, arch, &binary.display().to_string())?;
    println!(
        "artifact: zip {:.2} MB, bootstrap {:.2} MB ({} build, lambda profile)",
        artifact.zip.len() as f64 / 1e6,
        artifact.binary_bytes as f64 / 1e6,
        if arch == Architecture::X86_64 { "x86_64" } else { "arm64" }
    );
    let template = infra::stacks::service::build(&env)?.to_json();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(env.region.as_str().to_owned()))
            .endpoint_url(&url)
            .credentials_provider(aws_credential_types::Credentials::new("test", "test", None, None, "bench"))
            .load()
            .await;
        let outputs = resources(&config).await?;
        let aws = BTreeMap::from([
            ("AWS_ACCESS_KEY_ID".to_owned(), "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), "test".to_owned()),
            ("AWS_ENDPOINT_URL".to_owned(), url.clone()),
            ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
        ]);
        let (env, template, outputs, artifact) = (&env, &template, &outputs, &artifact);
        let start = |max_environments: usize| {
            let aws = aws.clone();
            async move {
                infra::local::start(infra::local::Options {
                    env,
                    template,
                    outputs,
                    artifact,
                    aws,
                    listener: infra::local::bind(0).await?,
                    max_environments,
                    quiet: true,
                })
                .await
            }
        };
        let http: Http = Client::builder(TokioExecutor::new()).build_http();
        cold_starts(&http, &start, &config, outputs).await?;
        let running = start(64).await?;
        for concurrency in [1, 8, 64] {
            load(&http, &running.url, concurrency, Duration::from_secs(5)).await?;
        }
        println!("execution environments started for the load: {}", running.api.function().cold_starts());
        Ok::<_, Error>(())
    })
}

async fn cold_starts<F, Fut>(
    http: &Http,
    start: &F,
    config: &aws_config::SdkConfig,
    outputs: &BTreeMap<String, String>,
) -> Result<(), Error>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<infra::local::Running>>,
{
    let mut cold = Vec::new();
    for _ in 0..10 {
        let running = start(1).await?;
        let t = Instant::now();
        let status =
            call(http, hyper::Request::get(format!("{}/health", running.url)).body(Full::new(Bytes::new()))?).await?;
        cold.push(t.elapsed());
        if status != 200 {
            return Err(format!("GET /health answered {status}").into());
        }
    }
    let kms = aws_sdk_kms::Client::new(config);
    let sm = aws_sdk_secretsmanager::Client::new(config);
    let (mut gpk, mut gsv) = (Vec::new(), Vec::new());
    for _ in 0..10 {
        let t = Instant::now();
        kms.get_public_key().key_id(&outputs["SigningKeyArn"]).send().await?;
        gpk.push(t.elapsed());
        let t = Instant::now();
        sm.get_secret_value().secret_id(&outputs["ClientRegistrySecretArn"]).send().await?;
        gsv.push(t.elapsed());
    }
    let (cold, gpk, gsv) = (median(cold), median(gpk), median(gsv));
    println!(
        "cold start (process start to first answer, median of 10): {}; of it KMS GetPublicKey {} and Secrets Manager GetSecretValue {} (LocalStack, measured from here); own work ~{}",
        ms(cold),
        ms(gpk),
        ms(gsv),
        ms(cold.saturating_sub(gpk + gsv))
    );
    Ok(())
}

async fn load(http: &Http, url: &str, concurrency: usize, duration: Duration) -> Result<(), Error> {
    let until = Instant::now() + duration;
    let url: Arc<str> = url.into();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, url) = (http.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0usize);
            while Instant::now() < until {
                let t = Instant::now();
                let ok = match token_request(&url) {
                    Ok(req) => matches!(call(&http, req).await, Ok(200)),
                    Err(_) => false,
                };
                lat.push(t.elapsed());
                errors += usize::from(!ok);
            }
            (lat, errors)
        }));
    }
    let (mut lat, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await?;
        lat.extend(l);
        errors += e;
    }
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!(
        "load c={concurrency:<3} {:>7.0} requests/s  p50 {}  p99 {}  errors {errors} of {}",
        lat.len() as f64 / duration.as_secs_f64(),
        ms(pct(0.5)),
        ms(pct(0.99)),
        lat.len()
    );
    Ok(())
}
