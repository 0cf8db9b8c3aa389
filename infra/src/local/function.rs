//! The function of a synthesized service template, run locally: the packaged `bootstrap` as a
//! process per execution environment, each behind its own Runtime API, with the environment
//! variables Lambda and the template give it. An arm64 binary runs under qemu-user on other
//! hosts.
//!
//! Lambda behaviour modelled (AWS Lambda developer guide, "Lambda execution environment",
//! "Defined runtime environment variables", "Configure Lambda function timeout"):
//! - an environment is started on demand (a cold start) when no idle one exists, up to the
//!   concurrency limit, and runs one invocation at a time;
//! - an invocation that runs past `Timeout` fails with `Sandbox.Timedout` and its environment
//!   is discarded, as is one whose runtime exits or reports an init error.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use hyper::body::Bytes;
use serde_json::Value as Json;
use tokio::process::{Child, Command};
use tokio::sync::{Semaphore, oneshot};

use super::runtime::{Invocation, Outcome, RuntimeApi, now_ms};
use crate::env::Architecture;

/// How to start one execution environment of the function.
#[derive(Clone, Debug)]
pub struct FunctionSpec {
    /// `FunctionName`.
    pub name: String,
    /// The function's ARN, as `Lambda-Runtime-Invoked-Function-Arn` gives it.
    pub arn: String,
    /// The `bootstrap` taken out of the artifact.
    pub binary: PathBuf,
    /// What the binary is built for: under qemu-user when not this machine's.
    pub architecture: Architecture,
    /// `Timeout`.
    pub timeout: Duration,
    /// Every variable of the process, Lambda's own and the template's; nothing else is passed.
    pub variables: BTreeMap<String, String>,
    /// Most environments at once (the function's concurrency).
    pub max_environments: usize,
    /// Discard the function's standard output and error (its log lines) instead of passing
    /// them through.
    pub quiet: bool,
}

/// Why a function's template cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The template has this many `AWS::Lambda::Function` resources, not one.
    #[error("the template has {0} AWS::Lambda::Function resources; expected one")]
    FunctionCount(usize),
    /// Function `resource` lacks `property`, or it is not what `expected` says (`a string`).
    #[error("{resource}.{property} is missing or not {expected}")]
    Property {
        /// The function's logical id.
        resource: String,
        /// The property.
        property: &'static str,
        /// What it should be (`a string`).
        expected: &'static str,
    },
    /// Environment variable `name` is the intrinsic `expression` (JSON), which no output holds.
    #[error(
        "environment variable {name} is {expression}, which no output of the deployed stack holds; add an output for it"
    )]
    Unresolved {
        /// The variable's name.
        name: String,
        /// Its value in the template, JSON.
        expression: String,
    },
}

/// The template's one function: its logical id and properties.
fn the_function(template: &Json) -> Result<(&str, &Json), SpecError> {
    let functions: Vec<(&str, &Json)> = template["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, r)| r["Type"] == "AWS::Lambda::Function")
        .map(|(id, r)| (id.as_str(), &r["Properties"]))
        .collect();
    match functions.as_slice() {
        [one] => Ok(*one),
        other => Err(SpecError::FunctionCount(other.len())),
    }
}

/// The function's `Environment.Variables`, each intrinsic (`Ref`, `Fn::GetAtt`, …) replaced by
/// the value of the output that holds the same expression. For setups with no deployed function
/// (the Lambda benchmark makes its keys and secrets directly); against a deployed stack, run what
/// Lambda serves instead ([`crate::deploy::served`]).
pub fn template_variables(
    template: &Json,
    outputs: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, SpecError> {
    let (_, props) = the_function(template)?;
    let mut out = BTreeMap::new();
    for (name, value) in props.pointer("/Environment/Variables").and_then(Json::as_object).into_iter().flatten() {
        let resolved = match value {
            Json::String(s) => Some(s.clone()),
            expression => template["Outputs"]
                .as_object()
                .into_iter()
                .flatten()
                .find(|(_, o)| &o["Value"] == expression)
                .and_then(|(output, _)| outputs.get(output).cloned()),
        };
        let value =
            resolved.ok_or_else(|| SpecError::Unresolved { name: name.clone(), expression: value.to_string() })?;
        out.insert(name.clone(), value);
    }
    Ok(out)
}

/// The variables Lambda sets from the function's `LoggingConfig` ("Defined runtime environment
/// variables": `AWS_LAMBDA_LOG_FORMAT`, and `AWS_LAMBDA_LOG_LEVEL` with the application log level
/// in JSON format), so the function runs at the level it runs at on Lambda.
pub fn logging_variables(template: &Json) -> Result<BTreeMap<String, String>, SpecError> {
    let (_, props) = the_function(template)?;
    let logging = &props["LoggingConfig"];
    let mut out = BTreeMap::new();
    if let Some(format) = logging["LogFormat"].as_str() {
        out.insert("AWS_LAMBDA_LOG_FORMAT".to_owned(), format.to_owned());
        if format == "JSON" {
            let level = logging["ApplicationLogLevel"].as_str().unwrap_or("INFO");
            out.insert("AWS_LAMBDA_LOG_LEVEL".to_owned(), level.to_owned());
        }
    }
    Ok(out)
}

/// `FunctionName`, `Timeout` (seconds, Lambda's default 3) and `MemorySize` (MB, default 128).
pub fn settings(template: &Json) -> Result<(String, Duration, u64), SpecError> {
    let (id, props) = the_function(template)?;
    let name = props["FunctionName"].as_str().ok_or_else(|| SpecError::Property {
        resource: id.to_owned(),
        property: "FunctionName",
        expected: "a string",
    })?;
    let timeout = props["Timeout"].as_u64().unwrap_or(3);
    let memory = props["MemorySize"].as_u64().unwrap_or(128);
    Ok((name.to_owned(), Duration::from_secs(timeout), memory))
}

/// The variables Lambda defines for a custom runtime ("Defined runtime environment variables").
pub fn lambda_variables(name: &str, region: &str, memory_mb: u64, task_root: &str) -> BTreeMap<String, String> {
    [
        ("AWS_LAMBDA_FUNCTION_NAME", name.to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "local/[$LATEST]local".to_owned()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ("AWS_REGION", region.to_owned()),
        ("AWS_DEFAULT_REGION", region.to_owned()),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".to_owned()),
        ("_HANDLER", "bootstrap".to_owned()),
        ("LAMBDA_TASK_ROOT", task_root.to_owned()),
        ("LAMBDA_RUNTIME_DIR", task_root.to_owned()),
        ("LANG", "en_US.UTF-8".to_owned()),
        ("TZ", ":UTC".to_owned()),
        ("PATH", "/usr/local/bin:/usr/bin:/bin".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// One running execution environment.
#[derive(Debug)]
struct Environment {
    api: RuntimeApi,
    process: Child,
}

/// The command that runs `spec.binary` on this host: directly, or under qemu-user for arm64 on
/// another architecture (`qemu-aarch64 -L /usr/aarch64-linux-gnu`, Debian's `qemu-user` and
/// `libc6-arm64-cross`).
fn command(spec: &FunctionSpec) -> Result<Command, String> {
    if spec.architecture.is_host() {
        return Ok(Command::new(&spec.binary));
    }
    let (emulator, sysroot) = match spec.architecture {
        Architecture::Arm64 => ("qemu-aarch64", "/usr/aarch64-linux-gnu"),
        Architecture::X86_64 => ("qemu-x86_64", "/usr/x86-64-linux-gnu"),
    };
    let found =
        std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(emulator).is_file()));
    if !found || !std::path::Path::new(sysroot).is_dir() {
        return Err(format!(
            "the artifact is built for {}, this machine is {}: install qemu-user and the target's C library (on Debian: apt-get install qemu-user libc6-arm64-cross), or set function.architecture to this machine's",
            spec.architecture.name(),
            std::env::consts::ARCH
        ));
    }
    let mut cmd = Command::new(emulator);
    cmd.arg("-L").arg(sysroot).arg(&spec.binary);
    Ok(cmd)
}

impl Environment {
    async fn start(spec: &FunctionSpec) -> Result<Self, String> {
        let api = RuntimeApi::start().await.map_err(|e| format!("cannot start a Runtime API: {e}"))?;
        let mut cmd = command(spec)?;
        cmd.env_clear()
            .envs(&spec.variables)
            .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
            .current_dir(spec.binary.parent().unwrap_or(std::path::Path::new(".")))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if spec.quiet {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
        let process = cmd.spawn().map_err(|e| format!("cannot start {}: {e}", spec.binary.display()))?;
        Ok(Environment { api, process })
    }
}

/// The function with its pool of execution environments.
#[derive(Debug)]
pub struct LocalFunction {
    spec: FunctionSpec,
    idle: Mutex<Vec<Environment>>,
    slots: Semaphore,
    cold_starts: AtomicUsize,
    next_id: AtomicU64,
}

/// An invocation that got no environment within the wait.
#[derive(Debug, thiserror::Error)]
#[error("all {0} execution environments stayed busy")]
pub struct Busy(pub usize);

impl LocalFunction {
    /// The function of `spec`, with no environment started yet.
    pub fn new(spec: FunctionSpec) -> Self {
        let slots = Semaphore::new(spec.max_environments.max(1));
        LocalFunction { spec, idle: Mutex::new(Vec::new()), slots, cold_starts: AtomicUsize::new(0), next_id: 0.into() }
    }

    /// How many environments were started (cold starts).
    pub fn cold_starts(&self) -> usize {
        self.cold_starts.load(Ordering::Relaxed)
    }

    /// Runs one event, waiting at most `wait` for a free environment.
    pub async fn invoke(&self, event: Bytes, wait: Duration) -> Result<(String, Outcome), Busy> {
        let permit = tokio::time::timeout(wait, self.slots.acquire())
            .await
            .map_err(|_| Busy(self.spec.max_environments))?
            .map_err(|_| Busy(self.spec.max_environments))?;
        let request_id = self.request_id();
        // An idle environment whose process has ended is dropped, not reused.
        let idle = self.idle.lock().ok().and_then(|mut i| {
            i.retain_mut(|env| matches!(env.process.try_wait(), Ok(None)));
            i.pop()
        });
        let mut env = match idle {
            Some(env) => env,
            None => match Environment::start(&self.spec).await {
                Ok(env) => {
                    self.cold_starts.fetch_add(1, Ordering::Relaxed);
                    env
                }
                Err(message) => return Ok((request_id, error("Runtime.StartError", message))),
            },
        };
        let (outcome, reusable) = self.run(&mut env, &request_id, event).await;
        if reusable && let Ok(mut idle) = self.idle.lock() {
            idle.push(env);
        }
        drop(permit);
        Ok((request_id, outcome))
    }

    /// One invocation in `env`; also whether `env` may take another.
    async fn run(&self, env: &mut Environment, request_id: &str, event: Bytes) -> (Outcome, bool) {
        let (tx, rx) = oneshot::channel();
        let invocation = Invocation {
            request_id: request_id.to_owned(),
            event,
            deadline_ms: now_ms() + self.spec.timeout.as_millis(),
            function_arn: self.spec.arn.clone(),
            answer: tx,
        };
        let sent = tokio::select! {
            sent = env.api.send(invocation) => sent,
            exit = env.process.wait() => return (exited(exit), false),
        };
        if let Err(init) = sent {
            return (init, false);
        }
        tokio::select! {
            answer = rx => match answer {
                Ok(outcome) => {
                    let reusable = env.api.init_error().is_none();
                    (outcome, reusable)
                }
                Err(_) => (error("Runtime.Unavailable", "the Runtime API dropped the invocation".into()), false),
            },
            exit = env.process.wait() => (exited(exit), false),
            () = tokio::time::sleep(self.spec.timeout) => {
                let _ = env.process.start_kill();
                let seconds = self.spec.timeout.as_secs_f64();
                (error("Sandbox.Timedout", format!("Task timed out after {seconds:.2} seconds")), false)
            }
        }
    }

    fn request_id(&self) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let t = now_ms();
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            (t >> 16) as u32,
            (t & 0xffff) as u16,
            n >> 12 & 0xfff,
            n & 0xfff,
            n
        )
    }
}

fn error(error_type: &str, message: String) -> Outcome {
    Outcome::Error { error_type: error_type.to_owned(), message }
}

fn exited(status: std::io::Result<std::process::ExitStatus>) -> Outcome {
    let how = match status {
        Ok(s) => s.to_string(),
        Err(e) => e.to_string(),
    };
    error("Runtime.ExitError", format!("Runtime exited with error: {how}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The local function runs at the environment's log level, as Lambda would run it.
    #[test]
    fn logging_variables_follow_the_template() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments");
        for name in crate::env::Environment::names(&dir).unwrap() {
            let env = crate::env::Environment::load_named(&dir, &name).unwrap();
            let t = crate::stacks::service::build(&env).unwrap().to_json();
            let vars = logging_variables(&t).unwrap();
            assert_eq!(vars["AWS_LAMBDA_LOG_FORMAT"], "JSON", "{name}");
            assert_eq!(vars["AWS_LAMBDA_LOG_LEVEL"], env.function.log_level.lambda(), "{name}");
        }
    }
}
