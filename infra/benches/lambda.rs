//! The real `bootstrap` (built with the `lambda` profile for this machine, as `infra package`
//! builds it) behind the local Lambda harness and REST API translation (`infra::local`), with KMS
//! and Secrets Manager served by LocalStack on 127.0.0.1, in both signing modes: `kms` (one `Sign`
//! call per token, the network hop made visible) and `envelope` (a data key pair decrypted at
//! init, tokens signed in process). Prints, per mode:
//! - cold start: process start to the first answered request (`GET /health`), over 10 starts,
//!   next to the time of the mode's init calls made from here (`kms`: `GetPublicKey`; `envelope`:
//!   `GetSecretValue` of the key pairs and `Decrypt`), so the function's own init work is the
//!   difference;
//! - one warm instance (one execution environment) at concurrency 1 for 5 s, and a load test of
//!   `POST /oauth/token` with up to 64 environments at concurrency 1, 8 and 64 for 5 s each:
//!   requests per second, p50/p99 latency, errors;
//! - envelope mode's capacity with each environment file's reserved concurrency, against the
//!   KMS ECC quota that bounds `kms` mode.
//!
//! And once: the zip and binary size.
//!
//! `cargo bench -p infra --bench lambda` (starts LocalStack with scripts/localstack).

use std::collections::BTreeMap;
use std::path::Path;
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

#[path = "support/mod.rs"]
mod support;
use support::localstack;

const CLIENT: &str = "bench";
const SECRET: &str = "bench-secret-0123456789";

fn environment(root: &Path, dir: &Path, mode: &str) -> Result<Environment, Error> {
    let arch = if cfg!(target_arch = "aarch64") { "arm64" } else { "x86_64" };
    let dev = std::fs::read_to_string(root.join("environments/dev.yaml"))?
        .replace("architecture: arm64", &format!("architecture: {arch}"))
        .replace("rate_limit: 20", "rate_limit: 10000")
        .replace("burst_limit: 40", "burst_limit: 5000")
        .replace("signing_key:\n", &format!("signing_key:\n  mode: {mode}\n  kms_quotas: {{ecc: 10000}}\n"));
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

/// A registry with one client, in LocalStack.
async fn registry(config: &aws_config::SdkConfig) -> Result<String, Error> {
    let stored = token_function::registry::StoredSecret::new(SECRET, 0).map_err(|_| "no random source")?;
    let doc = serde_json::json!({"clients": [{"client_id": CLIENT, "secrets": [stored], "allowed_scopes": ["a"], "default_scopes": ["a"]}]});
    secret(config, "registry", doc.to_string()).await
}

async fn secret(config: &aws_config::SdkConfig, what: &str, text: String) -> Result<String, Error> {
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos();
    let name = format!("bench-{what}-{}-{nonce}", std::process::id());
    let out = aws_sdk_secretsmanager::Client::new(config).create_secret().name(name).secret_string(text).send().await?;
    Ok(out.arn().ok_or("no secret ARN")?.to_owned())
}

/// The AWS side of `kms` mode, as the stack's outputs: a P-256 signing key and the registry.
async fn kms_mode(config: &aws_config::SdkConfig) -> Result<BTreeMap<String, String>, Error> {
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    let kms = aws_sdk_kms::Client::new(config);
    let key = kms.create_key().key_spec(KeySpec::EccNistP256).key_usage(KeyUsageType::SignVerify).send().await?;
    let arn = key.key_metadata().and_then(|m| m.arn()).ok_or("no key ARN")?.to_owned();
    Ok(BTreeMap::from([
        ("SigningKeyArn".to_owned(), arn.clone()),
        ("PublishedKeyArns".to_owned(), format!("{arn},{arn}")),
        ("ClientRegistrySecretArn".to_owned(), registry(config).await?),
    ]))
}

/// The AWS side of `envelope` mode: a symmetric key, slot a's key pair generated under it (as
/// `infra deploy` does) in the key pair secret, and the registry.
async fn envelope_mode(config: &aws_config::SdkConfig, env: &Environment) -> Result<BTreeMap<String, String>, Error> {
    use token_function::key_pairs::{KeyPairsDocument, Slot, StoredKeyPair, encryption_context};
    let kms = aws_sdk_kms::Client::new(config);
    let key = kms.create_key().send().await?;
    let arn = key.key_metadata().and_then(|m| m.arn()).ok_or("no key ARN")?.to_owned();
    let mut call = kms
        .generate_data_key_pair_without_plaintext()
        .key_id(&arn)
        .key_pair_spec(aws_sdk_kms::types::DataKeyPairSpec::EccNistP256);
    for (k, v) in encryption_context(&env.qualified(), Slot::A) {
        call = call.encryption_context(k, v);
    }
    let pair = call.send().await?;
    let stored = StoredKeyPair::new(
        token_function::jwt::Algorithm::ES256,
        pair.public_key().ok_or("no public key")?.as_ref(),
        pair.private_key_ciphertext_blob().ok_or("no ciphertext")?.as_ref(),
        0,
    );
    let doc = KeyPairsDocument { key_pairs: BTreeMap::from([(Slot::A, stored)]) };
    Ok(BTreeMap::from([
        ("SigningKeyPairsSecretArn".to_owned(), secret(config, "key-pairs", serde_json::to_string(&doc)?).await?),
        ("SigningKeyEncryptionKeyArn".to_owned(), arn),
        ("SigningSlot".to_owned(), "a".to_owned()),
        ("PublishedSlots".to_owned(), "a,a".to_owned()),
        ("ClientRegistrySecretArn".to_owned(), registry(config).await?),
    ]))
}

fn main() -> Result<(), Error> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let url = localstack(&root)?;
    let dir = tempfile::tempdir()?;
    let arch = environment(&root, dir.path(), "kms")?.function.architecture;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let binary = rt.block_on(build(&root, arch))?;
    let artifact = Artifact::from_binary(&std::fs::read(&binary)?, arch, &binary.display().to_string())?;
    println!(
        "artifact: zip {:.2} MB, bootstrap {:.2} MB ({} build, lambda profile)",
        artifact.zip.len() as f64 / 1e6,
        artifact.binary_bytes as f64 / 1e6,
        if arch == Architecture::X86_64 { "x86_64" } else { "arm64" }
    );
    for mode in ["kms", "envelope"] {
        let env = environment(&root, dir.path(), mode)?;
        println!("--- signing mode {mode}");
        let one = rt.block_on(run(&env, &artifact, &url))?;
        if mode == "envelope" {
            capacity(&root, one)?;
        }
    }
    Ok(())
}

/// Envelope mode's capacity per environment file: the one-instance rate times its reserved
/// concurrency, against the KMS quota `kms` mode would sign within.
fn capacity(root: &Path, per_instance: f64) -> Result<(), Error> {
    for name in Environment::names(&root.join("environments"))? {
        let env = Environment::load_named(&root.join("environments"), &name)?;
        let Some(c) = env.function.reserved_concurrency else { continue };
        let total = per_instance * f64::from(c.get());
        let quota = f64::from(env.signing_key.kms_quotas.ecc.get());
        println!(
            "envelope capacity, {name}: {per_instance:.0} tokens/s per instance x reserved concurrency {} = {total:.0} tokens/s, {:.0}x the KMS ECC quota ({quota:.0}/s) that bounds kms mode",
            c.get(),
            total / quota
        );
    }
    Ok(())
}

/// One mode: its AWS side, cold starts, one warm instance, the load. Returns the one warm
/// instance's requests per second.
async fn run(env: &Environment, artifact: &Artifact, url: &str) -> Result<f64, Error> {
    let template = infra::stacks::service::build(env)?.to_json();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(env.region.as_str().to_owned()))
        .endpoint_url(url)
        .credentials_provider(aws_credential_types::Credentials::new("test", "test", None, None, "bench"))
        .load()
        .await;
    let mut outputs = match env.signing_key.mode {
        token_function::key_pairs::SigningMode::Kms => kms_mode(&config).await?,
        token_function::key_pairs::SigningMode::Envelope => envelope_mode(&config, env).await?,
    };
    // The issuer is the API's URL (the `ApiUrl` output's expression), which `infra::local::start`
    // sets to the local API's own URL whatever it was.
    outputs.insert("ApiUrl".to_owned(), "http://127.0.0.1".to_owned());
    let aws = BTreeMap::from([
        ("AWS_ACCESS_KEY_ID".to_owned(), "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), "test".to_owned()),
        ("AWS_ENDPOINT_URL".to_owned(), url.to_owned()),
        ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
    ]);
    // No function is deployed here (the keys and secrets are made directly): the variables
    // come from the template with those resources' values.
    let variables = infra::local::function::template_variables(&template, &outputs)?;
    let served = infra::deploy::served::Served::variables_only(variables);
    let (template, outputs) = (&template, &outputs);
    let start = |max_environments: usize| {
        let (aws, served) = (aws.clone(), served.clone());
        async move {
            infra::local::start(infra::local::Options {
                env,
                template,
                served,
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
    let one = start(1).await?;
    let per_instance = load(&http, &one.url, 1, Duration::from_secs(5), "one warm instance, c=1").await?;
    drop(one);
    let running = start(64).await?;
    for concurrency in [1, 8, 64] {
        load(&http, &running.url, concurrency, Duration::from_secs(5), &format!("load c={concurrency:<3}")).await?;
    }
    println!("execution environments started for the load: {}", running.api.function().cold_starts());
    Ok(per_instance)
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
    let (calls, init) = init_calls(config, outputs).await?;
    let cold = median(cold);
    println!(
        "cold start (process start to first answer, median of 10): {}; of it {calls} {} (LocalStack, measured from here); own work ~{}",
        ms(cold),
        ms(init),
        ms(cold.saturating_sub(init))
    );
    Ok(())
}

/// The AWS calls the mode makes at init, timed from here (median of 10 each): their names and
/// total time.
async fn init_calls(
    config: &aws_config::SdkConfig,
    outputs: &BTreeMap<String, String>,
) -> Result<(&'static str, Duration), Error> {
    use token_function::key_pairs::{KeyPairsDocument, Slot, encryption_context};
    let kms = aws_sdk_kms::Client::new(config);
    let sm = aws_sdk_secretsmanager::Client::new(config);
    if let Some(key) = outputs.get("SigningKeyArn") {
        let mut times = Vec::new();
        for _ in 0..10 {
            let t = Instant::now();
            kms.get_public_key().key_id(key).send().await?;
            times.push(t.elapsed());
        }
        return Ok(("KMS GetPublicKey", median(times)));
    }
    let (mut read, mut decrypt) = (Vec::new(), Vec::new());
    for _ in 0..10 {
        let t = Instant::now();
        let text = sm.get_secret_value().secret_id(&outputs["SigningKeyPairsSecretArn"]).send().await?;
        read.push(t.elapsed());
        let doc = KeyPairsDocument::from_json(text.secret_string().unwrap_or_default())?;
        let ciphertext = doc.key_pairs.get(&Slot::A).ok_or("no slot a")?.ciphertext(Slot::A)?;
        let t = Instant::now();
        let mut call = kms.decrypt().ciphertext_blob(aws_sdk_kms::primitives::Blob::new(ciphertext));
        for (k, v) in encryption_context("token-service-dev", Slot::A) {
            call = call.encryption_context(k, v);
        }
        call.send().await?;
        decrypt.push(t.elapsed());
    }
    Ok(("Secrets Manager GetSecretValue (key pairs) + KMS Decrypt", median(read) + median(decrypt)))
}

/// Requests `POST /oauth/token` from `concurrency` callers for `duration`; prints and returns the
/// requests per second.
async fn load(http: &Http, url: &str, concurrency: usize, duration: Duration, label: &str) -> Result<f64, Error> {
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
    let rate = lat.len() as f64 / duration.as_secs_f64();
    println!(
        "{label} {rate:>7.0} requests/s  p50 {}  p99 {}  errors {errors} of {}",
        ms(pct(0.5)),
        ms(pct(0.99)),
        lat.len()
    );
    Ok(rate)
}
