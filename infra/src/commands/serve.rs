//! `infra serve <env>`: the token endpoint on 127.0.0.1 with the environment's audience, TTLs
//! and clients, an in-process key of its algorithm, and local client secrets. The issuer is the
//! local URL (`http://127.0.0.1:<port>`): the metadata and tokens name where this server answers.
//! (`--lambda` runs the deployed environment's artifact instead: see `crate::local`.)
//!
//! Client secrets come from `TOKEN_SERVICE_LOCAL_SECRETS` (`id=secret,id=secret`). A client
//! without one gets a random secret, printed on start when the environment sets
//! `local.print_credentials`; otherwise it is left out.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use token_function::http::{Endpoint, Service};
use token_function::jwt::{LocalSigner, Signer};
use token_function::oauth::Settings;
use token_function::registry::{Client, Registry, RegistryDocument, StoredSecret, random_secret};

use crate::cli::ServeArgs;
use crate::deploy::{interrupt, pipeline, stack};
use crate::env::Environment;
use crate::session::{block_on, connect, target};
use crate::stacks::{StackId, service};

/// The variable holding local client secrets.
pub const SECRETS_VAR: &str = "TOKEN_SERVICE_LOCAL_SECRETS";

pub fn run(dir: &Path, args: ServeArgs) -> anyhow::Result<ExitCode> {
    if args.lambda {
        return serve_lambda(dir, args);
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
    let (doc, printed) = local_registry(&env, &given)?;
    let registry = Registry::from_document(doc).context("building the local client registry")?;
    let signer = LocalSigner::generate_for(env.signing_key.algorithm)?;

    install_logging(&env);

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = crate::local::bind(args.port).await?;
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
        for (id, _) in &given {
            eprintln!("  local credentials: client_id={id} (its secret from {SECRETS_VAR})");
        }
        token_function::local::serve(listener, Arc::new(service), Arc::new(registry), env.qualified().into()).await?;
        eprintln!("stopped");
        anyhow::Ok(ExitCode::SUCCESS)
    })
}

/// The local registry: each client of the file with its secret from `given`, or (with
/// `local.print_credentials`) a random one, returned to print; a client with neither is left
/// out, and said.
fn local_registry(
    env: &Environment,
    given: &[(String, String)],
) -> anyhow::Result<(RegistryDocument, Vec<(String, String)>)> {
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
                eprintln!(
                    "client `{}` has no local secret: it gets no token; add {}=<secret> to {SECRETS_VAR} (id=secret pairs, separated by commas)",
                    c.id, c.id
                );
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
    if doc.clients.is_empty() {
        eprintln!(
            "no client has a secret, so no token can be issued: set {SECRETS_VAR} (id=secret pairs), or local.print_credentials"
        );
    }
    Ok((doc, printed))
}

/// JSON log lines on standard error at the environment's `function.log_level`, as the
/// function writes them on Lambda.
fn install_logging(env: &Environment) {
    use tracing_subscriber::filter::LevelFilter;
    let level = match env.function.log_level.filter() {
        "trace" => LevelFilter::TRACE,
        "debug" => LevelFilter::DEBUG,
        "warn" => LevelFilter::WARN,
        "error" => LevelFilter::ERROR,
        _ => LevelFilter::INFO,
    };
    let _ = tracing_subscriber::fmt().json().with_max_level(level).with_writer(std::io::stderr).try_init();
}

/// `id=secret,id=secret`: pairs separated by commas, each split at its first `=` (a secret may
/// hold `=`, as base64 padding does), spaces around ids and secrets dropped. A pair that is
/// empty (two commas in a row, a comma at either end) or not `id=secret`, and a `;` anywhere
/// (pairs written as `a=x;b=y` would otherwise give `a` the secret `x;b=y`), are refused. The
/// text may hold secrets: messages name a pair by its position only.
fn parse_secrets(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    anyhow::ensure!(
        !text.contains(';'),
        "{SECRETS_VAR}: pairs are separated by commas, not semicolons (`id=secret,id=secret`); a secret holds no `;`"
    );
    text.split(',')
        .enumerate()
        .map(|(n, p)| {
            let n = n + 1;
            anyhow::ensure!(!p.trim().is_empty(), "{SECRETS_VAR}: pair {n} is empty (two commas in a row, or a comma at an end)");
            p.split_once('=')
                .map(|(id, s)| (id.trim(), s.trim()))
                .filter(|(id, s)| !id.is_empty() && !s.is_empty())
                .map(|(id, s)| (id.to_owned(), s.to_owned()))
                .with_context(|| {
                    format!("{SECRETS_VAR}: pair {n} is not id=secret with both parts non-empty; expected id=secret pairs separated by commas")
                })
        })
        .collect()
}

/// `serve <env> --lambda`: the artifact (built, or `--function-zip`) run locally against the
/// deployed stack's key and registry, until Ctrl-C.
pub fn serve_lambda(dir: &Path, args: crate::cli::ServeArgs) -> anyhow::Result<ExitCode> {
    let env = super::environment(dir, &args.env)?;
    let stacks = super::deploy::validated(&env)?;
    let service = stacks.iter().find(|s| s.id == StackId::Service).context("no service stack")?;
    let template = service.template.to_json();
    block_on(async {
        // What can fail fast is checked before the build: the port, the account, the stack.
        let listener = crate::local::bind(args.port).await?;
        let aws = connect(&env).await?;
        let name = env.service_stack_name();
        let deployed = stack::describe(&aws.cfn, &name).await?.with_context(|| {
            format!("{name} is not deployed; deploy it first: `cargo run -- deploy {}`", target(&env.name))
        })?;
        let outputs = stack::outputs(&deployed);
        let served = pipeline::served(&aws, &env, &template).await.map_err(|e| anyhow::anyhow!(e))?;
        let artifact = pipeline::artifact(&env, args.function_zip.as_deref()).await?;
        eprintln!(
            "running the configuration of {}:{} (version {}: its variables, timeout, memory and log level; TOKEN_ISSUER is this server's URL), read from the deployed stack at {}; it keeps serving what it read then: after a deploy or `keys rotate`, restart it",
            service::function_name(&env),
            served.qualifier,
            served.version,
            humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        );
        if served.runs_code(&artifact.sha256) == Some(false) {
            eprintln!(
                "note: the code here ({}) is not the deployed version's; pass --function-zip with the deployed zip to run exactly that",
                artifact.key()
            );
        }
        for (version, weight) in &served.routing {
            eprintln!(
                "note: the alias also sends {:.0} % of requests to version {version} (a canary in progress); only version {} runs here",
                weight * 100.0,
                served.version
            );
        }
        let running = crate::local::start(crate::local::Options {
            env: &env,
            template: &template,
            served,
            artifact: &artifact,
            aws: crate::local::aws_variables(&aws.config).await?,
            listener,
            max_environments: usize::from(args.max_environments),
            quiet: false,
        })
        .await?;
        eprintln!("serving `{}`'s function on {} (the issuer of its tokens; Ctrl-C stops)", env.name, running.url);
        for (k, v) in running.outputs(&outputs).iter().filter(|(k, _)| k.ends_with("Url")) {
            eprintln!("  {k} = {v}");
        }
        interrupt::wait().await;
        eprintln!("stopped after {} cold start(s)", running.api.function().cold_starts());
        Ok(ExitCode::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    use super::parse_secrets;

    type Pairs = Vec<(String, String)>;

    /// Each way of writing the pairs: read as meant, or refused naming the pair by position,
    /// never echoing a secret.
    #[test]
    fn local_secrets_read_as_written_or_refused() {
        let ok = |pairs: &[(&str, &str)]| Ok(pairs.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect());
        let err = |part: &str| Err(part.to_owned());
        let rows: [(&str, Result<Pairs, String>); 13] = [
            ("", ok(&[])),
            ("   ", ok(&[])),
            ("a=x", ok(&[("a", "x")])),
            ("a=x,b=y", ok(&[("a", "x"), ("b", "y")])),
            (" a=x , b=y ", ok(&[("a", "x"), ("b", "y")])),
            ("a = x", ok(&[("a", "x")])),
            ("a=eA==", ok(&[("a", "eA==")])),
            ("a=x;b=y", err("separated by commas, not semicolons")),
            ("a=x,,b=y", err("pair 2 is empty")),
            ("a=x,", err("pair 2 is empty")),
            (",a=x", err("pair 1 is empty")),
            ("a,b=y", err("pair 1 is not id=secret")),
            ("a=x,=s3cret", err("pair 2 is not id=secret")),
        ];
        for (text, want) in rows {
            let got = parse_secrets(text).map_err(|e| e.to_string());
            match (&got, &want) {
                (Err(g), Err(part)) => {
                    assert!(g.contains(part.as_str()), "{text:?}: {g}");
                    assert!(!g.contains("s3cret") && !g.contains("=x"), "{text:?} echoes a secret: {g}");
                }
                _ => assert_eq!(got, want, "{text:?}"),
            }
        }
    }
}
