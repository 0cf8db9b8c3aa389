//! The deployed function and API, run on this machine without Docker: the packaged `bootstrap`
//! (the zip deploy uploads) behind a local Lambda Runtime API (`runtime`), started per execution
//! environment (`function`), behind a local translation of the template's REST API
//! (`gateway`). The function reaches KMS and Secrets Manager through the standard AWS
//! configuration, so it runs against a deployed environment in an emulator or in an account.

pub mod function;
pub mod gateway;
pub mod runtime;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use serde_json::Value as Json;

use crate::deploy::package::Artifact;
use crate::env::Environment;
use function::{FunctionSpec, LocalFunction};
use gateway::{ApiSpec, LocalApi};

/// The local API while it runs. Dropping it stops the API, its environments and removes the
/// unpacked binary.
#[derive(Debug)]
pub struct Running {
    /// `http://127.0.0.1:<port>/<stage>`: the local `ApiUrl`.
    pub url: String,
    /// The API being served, with its function (which counts cold starts).
    pub api: Arc<LocalApi>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Running {
    /// The stack's outputs with the deployed API's URL replaced by the local one, so
    /// `TokenUrl`, `JwksUrl` and the rest point here.
    pub fn outputs(&self, deployed: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let deployed_api = deployed.get(crate::stacks::outputs::service::API_URL).cloned().unwrap_or_default();
        deployed
            .iter()
            .map(|(k, v)| match v.strip_prefix(deployed_api.as_str()) {
                Some(rest) if !deployed_api.is_empty() => (k.clone(), format!("{}{rest}", self.url)),
                _ => (k.clone(), v.clone()),
            })
            .collect()
    }
}

/// What to run: the service template, the configuration the deployed API invokes, the artifact
/// and the AWS settings the function reaches KMS and Secrets Manager with.
#[derive(Debug)]
pub struct Options<'a> {
    /// The environment: its region, account and function architecture.
    pub env: &'a Environment,
    /// The synthesized service template: the function and its REST API.
    pub template: &'a Json,
    /// The function's environment variables and version as Lambda serves them to the API
    /// ([`crate::deploy::served`]): a stale version runs here as it would on AWS.
    pub served: crate::deploy::served::Served,
    /// The artifact whose `bootstrap` runs.
    pub artifact: &'a Artifact,
    /// `AWS_ACCESS_KEY_ID`, `AWS_ENDPOINT_URL` and the like, passed to the function.
    pub aws: BTreeMap<String, String>,
    /// Where the API listens (`bind` makes one on 127.0.0.1).
    pub listener: tokio::net::TcpListener,
    /// Most execution environments at once.
    pub max_environments: usize,
    /// Discard the function's log lines (the smoke check); else they pass through, and each
    /// request gets an access line on standard error (`serve --lambda`).
    pub quiet: bool,
}

/// Unpacks the artifact and starts the local API on 127.0.0.1.
///
/// # Errors
/// The template has no single function or stage, or the zip holds no `bootstrap`.
pub async fn start(o: Options<'_>) -> anyhow::Result<Running> {
    let dir =
        tempfile::Builder::new().prefix("infra-lambda-").tempdir().context("cannot make a folder for bootstrap")?;
    let binary = unpack(o.artifact, dir.path().to_path_buf())?;
    let (name, timeout, memory) = function::settings(o.template)?;
    // What Lambda serves wins over the template's (a frozen version keeps its own).
    let timeout = o.served.timeout_seconds.map_or(timeout, std::time::Duration::from_secs);
    let memory = o.served.memory_mb.unwrap_or(memory);
    let mut variables = function::lambda_variables(&name, o.env.region.as_str(), memory, &dir.path().to_string_lossy());
    variables.extend(o.aws);
    variables.extend(function::logging_variables(o.template)?);
    variables.extend(o.served.logging.clone());
    variables.insert("AWS_LAMBDA_FUNCTION_VERSION".to_owned(), o.served.version.clone());
    variables.extend(o.served.variables.clone());
    let api = ApiSpec::from_template(o.template).map_err(|e| anyhow::anyhow!("the service template's API: {e}"))?;
    let listener = o.listener;
    let url = format!("http://{}/{}", listener.local_addr()?, api.stage);
    // The issuer is where this API answers, as the deployed one's is its own URL: metadata
    // fetched here names this server's token endpoint and JWKS (RFC 8414 section 3.3).
    variables.insert(crate::stacks::service::ISSUER_VARIABLE.to_owned(), url.clone());
    let arn = format!("arn:aws:lambda:{}:{}:function:{name}", o.env.region, o.env.account_id);
    let spec = FunctionSpec {
        name,
        arn,
        binary,
        architecture: o.env.function.architecture,
        timeout,
        variables,
        max_environments: o.max_environments,
        quiet: o.quiet,
    };
    let api = Arc::new(LocalApi::new(api, Arc::new(LocalFunction::new(spec)), !o.quiet));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(api.clone().serve(listener, async move {
        let _ = stopped.await;
    }));
    Ok(Running { url, api, stop: Some(stop), _dir: dir })
}

/// A listener on 127.0.0.1:`port` (0: a free port).
///
/// # Errors
/// The port cannot be had, named in the message; when it is taken, the message says how to
/// choose another (`--port`, 0 for any free one).
pub async fn bind(port: u16) -> anyhow::Result<tokio::net::TcpListener> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    tokio::net::TcpListener::bind(addr).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => anyhow::anyhow!(
            "cannot listen on {addr}: something else listens there (another `serve`?); stop it, or pass --port with another port (--port 0 takes any free one)"
        ),
        _ => anyhow::Error::new(e).context(format!("cannot listen on {addr}")),
    })
}

/// Writes the zip's `bootstrap` into `dir` as an executable.
fn unpack(artifact: &Artifact, dir: PathBuf) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&artifact.zip)).context("the artifact is not a zip")?;
    let mut entry = archive.by_name("bootstrap").context("the artifact has no `bootstrap`")?;
    let path = dir.join("bootstrap");
    let mut file = std::fs::File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
    std::io::copy(&mut entry, &mut file).with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(path)
}

/// The AWS settings the function needs, from the same configuration `infra` uses: the resolved
/// credentials (so profiles and SSO work), `AWS_ENDPOINT_URL` when one is set, and the
/// service-specific `AWS_ENDPOINT_URL_<SERVICE>` variables of this process.
/// On Lambda the function would use its role instead; locally it acts as the caller.
pub async fn aws_variables(config: &aws_config::SdkConfig) -> anyhow::Result<BTreeMap<String, String>> {
    use aws_credential_types::provider::ProvideCredentials;
    let provider = config.credentials_provider().context("no AWS credentials configured")?;
    let creds = provider.provide_credentials().await.map_err(|e| anyhow::anyhow!("AWS credentials: {e}"))?;
    let mut vars = BTreeMap::from([
        ("AWS_ACCESS_KEY_ID".to_owned(), creds.access_key_id().to_owned()),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), creds.secret_access_key().to_owned()),
        ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
    ]);
    if let Some(token) = creds.session_token() {
        vars.insert("AWS_SESSION_TOKEN".into(), token.to_owned());
    }
    if let Some(url) = config.endpoint_url() {
        vars.insert("AWS_ENDPOINT_URL".into(), url.to_owned());
    }
    vars.extend(std::env::vars().filter(|(k, _)| k.starts_with("AWS_ENDPOINT_URL_")));
    Ok(vars)
}
