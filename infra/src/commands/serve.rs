//! `infra serve <env>`: the token endpoint on 127.0.0.1 with the environment's audience, TTLs
//! and clients, an in-process key of its algorithm, and local client secrets. The issuer is the
//! local URL (`http://127.0.0.1:<port>`): the metadata and tokens name where this server answers.
//! (`--lambda` runs the deployed environment's artifact instead: see `crate::local`.)
//!
//! Client secrets come from `TOKEN_SERVICE_LOCAL_SECRETS` (`id=secret,id=secret`). A client
//! without one gets a random secret, printed on start when the environment sets
//! `local.print_credentials`; otherwise it is left out.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use token_function::http::{Endpoint, Service};
use token_function::jwt::{LocalSigner, Signer};
use token_function::oauth::Settings;
use token_function::registry::{Client, Registry, RegistryDocument, StoredSecret, random_secret};

use crate::cli::ServeArgs;
use crate::env::Environment;

/// The variable holding local client secrets.
pub const SECRETS_VAR: &str = "TOKEN_SERVICE_LOCAL_SECRETS";

pub fn run(dir: &Path, args: ServeArgs) -> anyhow::Result<ExitCode> {
    if args.lambda {
        return super::deploy::serve_lambda(dir, args);
    }
    let env = Environment::load_named(dir, &args.env)?;
    let given = parse_secrets(&std::env::var(SECRETS_VAR).unwrap_or_default())?;
    let known: Vec<&str> = env.token.clients.0.iter().map(|c| c.id.as_str()).collect();
    for (i, (id, _)) in given.iter().enumerate() {
        anyhow::ensure!(
            known.contains(&id.as_str()),
            "{SECRETS_VAR}: `{id}` is not a client of `{}`; its clients: {}",
            env.name,
            known.join(", ")
        );
        anyhow::ensure!(!given[..i].iter().any(|(other, _)| other == id), "{SECRETS_VAR}: `{id}` is given twice");
    }
    let mut doc = RegistryDocument::default();
    let mut printed = Vec::new();
    for c in &env.token.clients.0 {
        let secret = match given.iter().find(|(id, _)| id == c.id.as_str()) {
            Some((_, s)) => s.clone(),
            None if env.local.print_credentials => {
                let s = random_secret().context("no secure random source")?;
                printed.push((c.id.as_str().to_owned(), s.clone()));
                s
            }
            None => {
                eprintln!("client `{}` has no local secret; set {SECRETS_VAR}={}=<secret> to use it", c.id, c.id);
                continue;
            }
        };
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        doc.clients.push(Client {
            client_id: c.id.0.clone(),
            secrets: vec![StoredSecret::new(&secret, now).context("no secure random source")?],
            allowed_scopes: c.allowed_scopes.iter().map(|s| s.0.clone()).collect(),
            default_scopes: c.default_scopes.iter().map(|s| s.0.clone()).collect(),
            ttl_seconds: c.ttl_seconds.map(|t| u64::from(t.get())),
        });
    }
    let registry = Registry::from_document(doc).context("building the local client registry")?;
    let signer = LocalSigner::generate_for(env.signing_key.algorithm)?;

    use tracing_subscriber::filter::LevelFilter;
    let level = match env.function.log_level.filter() {
        "trace" => LevelFilter::TRACE,
        "debug" => LevelFilter::DEBUG,
        "warn" => LevelFilter::WARN,
        "error" => LevelFilter::ERROR,
        _ => LevelFilter::INFO,
    };
    let _ = tracing_subscriber::fmt().json().with_max_level(level).with_writer(std::io::stderr).try_init();

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        // The issuer is where this server answers, so a verifier that discovers the JWKS from the
        // issuer's metadata (RFC 8414 section 3.3) finds this server's key.
        let issuer = format!("http://{}", listener.local_addr()?);
        let settings = Settings {
            issuer: issuer.clone(),
            audience: env.token.audience.0.clone(),
            ttl_seconds: u64::from(env.token.ttl_seconds.get()),
        };
        let service = Service::new(settings, signer);
        eprintln!("serving `{}` on {issuer} (the issuer of its tokens; kid {})", env.name, service.signer.jwk().kid);
        eprintln!("  POST {issuer}{}   GET {issuer}{}", Endpoint::Token.path(), Endpoint::OpenIdConfiguration.path());
        for (id, secret) in &printed {
            eprintln!("  local credentials: client_id={id} client_secret={secret}");
        }
        token_function::local::serve(listener, Arc::new(service), Arc::new(registry), env.qualified().into()).await?;
        eprintln!("stopped");
        anyhow::Ok(ExitCode::SUCCESS)
    })
}

/// `id=secret,id=secret`.
fn parse_secrets(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .enumerate()
        .map(|(n, p)| {
            // The text may hold a secret: the message names the pair by position only.
            p.split_once('=')
                .filter(|(id, s)| !id.is_empty() && !s.is_empty())
                .map(|(id, s)| (id.to_owned(), s.to_owned()))
                .with_context(|| {
                    format!("{SECRETS_VAR}: pair {} is not id=secret with both parts non-empty; expected id=secret pairs separated by commas", n + 1)
                })
        })
        .collect()
}
