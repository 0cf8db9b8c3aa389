//! The command line: `infra <command> …`. Parsing only; each command lives in `commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::synth::Format;

/// The `infra` command line: global options and the command to run.
#[derive(Debug, Parser)]
#[command(name = "infra", version, about = "Synthesize, validate and deploy the token service")]
pub struct Cli {
    /// Folder holding the environment files (<name>.yaml).
    #[arg(long, global = true, value_name = "DIR")]
    pub environments: Option<PathBuf>,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands of `infra`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write validated templates and a manifest to out/<env>/.
    Synth(SynthArgs),
    /// Check templates against every rule; exit 1 on errors.
    Validate(ValidateArgs),
    /// Create or update the bootstrap stack (the assets bucket), like `cdk bootstrap`.
    Bootstrap(BootstrapArgs),
    /// Build and check the function artifact for an environment, and print its figures.
    Package(PackageArgs),
    /// Show what a deploy would change (exit 0: nothing, 2: changes, 1: error).
    Diff(DiffArgs),
    /// Package the function, then plan and execute each stack's change set.
    Deploy(DeployArgs),
    /// Rebuild the function on every save and hotswap it (`deploy --hotswap`), until Ctrl-C.
    Watch(WatchArgs),
    /// Recover a stack: cancel a running update, continue a failed rollback, or roll back.
    Rollback(StackArgs),
    /// Delete the environment's stacks (not the bootstrap stack).
    Destroy(DestroyArgs),
    /// State, recent events and outputs of each stack.
    Status(StatusArgs),
    /// Detect drift between the stacks and their templates (exit 0: in sync, 2: drifted, 1: error).
    Drift(StackArgs),
    /// Serve the token endpoint on 127.0.0.1 with an environment's settings.
    Serve(ServeArgs),
    /// Onboard, rotate and remove the clients in a deployed environment's registry.
    Clients(ClientsArgs),
    /// Show or advance the staged rotation of a deployed environment's signing key.
    Keys(KeysArgs),
    /// Print the function's and the API's logs readably; `--follow` keeps printing.
    Logs(LogsArgs),
    /// List a deployed environment's alarms, or drill them: prove each one's notification
    /// reaches its topic.
    Alarms(AlarmsArgs),
    /// Write each environment's runbook to docs/runbooks/<env>.md, and the rule table of
    /// docs/validation.md.
    Docs(DocsArgs),
    /// List the environments; with `--json`, also the catalogues scripts read (alarms,
    /// CloudWatch Logs retentions).
    List(ListArgs),
}

/// Which environments a command acts on.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Target {
    /// The environment (a file name in environments/ without .yaml).
    pub env: Option<String>,
    /// Every environment.
    #[arg(long)]
    pub all: bool,
}

/// Arguments of `infra synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// The environment, or every environment.
    #[command(flatten)]
    pub target: Target,
    /// Output folder; each environment gets a subfolder [default: out, beside the environments
    /// folder when that is the checkout's].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print the template to standard output instead of writing files.
    #[arg(long)]
    pub stdout: bool,
    /// With `--stdout`: print only this stack's template (files are written for every stack, so
    /// the manifest lists what the folder holds).
    #[arg(long, value_name = "ID", value_enum, requires = "stdout")]
    pub stack: Option<crate::stacks::StackId>,
    /// Format of the templates.
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
}

/// Arguments of `infra validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The environment, or every environment.
    #[command(flatten)]
    pub target: Target,
    /// Print findings as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `infra serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The environment whose audience, clients and TTLs to use (the issuer is the local URL).
    pub env: String,
    /// The port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Run the packaged `bootstrap` (the zip deploy uploads) behind a local Lambda Runtime API
    /// and a local translation of the environment's REST API, against its deployed key and
    /// client registry (from the standard AWS configuration).
    #[arg(long)]
    pub lambda: bool,
    /// With --lambda: run this prebuilt zip instead of building the function.
    #[arg(long, value_name = "PATH", requires = "lambda")]
    pub function_zip: Option<PathBuf>,
    /// With --lambda: most execution environments at once (each a `bootstrap` process).
    #[arg(long, value_name = "N", default_value_t = 4, requires = "lambda", value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub max_environments: u16,
}

/// Arguments of `infra list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// One JSON object: `environments` (names), `alarms` (each alarm's `key`, `unit`, `below`,
    /// `share_of_requests`, in catalogue order) and `log_retention_days` (the values CloudWatch
    /// Logs accepts).
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `infra docs`.
#[derive(Debug, Args)]
pub struct DocsArgs {
    /// Folder the runbooks go to [default: docs/runbooks, in the checkout when the environments
    /// folder is the checkout's].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The validation rules page, whose rule table is generated from the rules [default:
    /// docs/validation.md here, else the checkout's]
    #[arg(long, value_name = "FILE")]
    pub rules_page: Option<PathBuf>,
    /// Write nothing; exit 1 if a runbook or the rule table is missing or out of date.
    #[arg(long)]
    pub check: bool,
}

/// Arguments of `infra bootstrap`.
#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// The environment (a file name in environments/ without .yaml).
    pub env: String,
    /// Execute without asking.
    #[arg(long)]
    pub yes: bool,
}

/// Arguments of `infra diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The environment (a file name in environments/ without .yaml).
    pub env: String,
    /// Plan with this function zip instead of building the function.
    #[arg(long, value_name = "PATH")]
    pub function_zip: Option<PathBuf>,
    /// Plan with the deployed function code: no build, and a code change does not show.
    #[arg(long, conflicts_with = "function_zip")]
    pub deployed_code: bool,
    /// Keep the change sets and write the plan here (JSON), for `deploy --from-plan`. The
    /// function is uploaded, as the deploy would. Nothing is written for a plan `deploy`
    /// would refuse.
    #[arg(long, value_name = "PLAN")]
    pub out: Option<PathBuf>,
    /// With --out: also write the plan for a reviewer here, as Markdown (IAM and security
    /// changes first, then replacements, then every change), e.g. for a pull request comment.
    #[arg(long, value_name = "MARKDOWN", requires = "out")]
    pub summary: Option<PathBuf>,
}

/// Arguments of `infra deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The environment (a file name in environments/ without .yaml).
    pub env: String,
    /// Only show the plan (exit 0: nothing to change, 2: changes, 1: error).
    #[arg(long)]
    pub plan: bool,
    /// Execute without asking (for CI). Without it a terminal is needed to confirm.
    #[arg(long)]
    pub yes: bool,
    /// Deploy this prebuilt zip (holding `bootstrap`) instead of building the function.
    #[arg(long, value_name = "PATH")]
    pub function_zip: Option<PathBuf>,
    /// A stack whose first create failed is deleted and created again.
    #[arg(long)]
    pub replace_failed: bool,
    /// Deploy outside the environment's change window.
    #[arg(long)]
    pub ignore_change_window: bool,
    /// Skip the smoke check after the service stack is deployed.
    #[arg(long)]
    pub no_smoke_check: bool,
    /// Allow a change that signs with other keys at once (a replaced signing key, a new
    /// `signing_key.mode`): tokens signed before stop verifying.
    #[arg(long)]
    pub replace_signing_keys: bool,
    /// With --plan: plan with the deployed function code (no build).
    #[arg(long, requires = "plan", conflicts_with = "function_zip")]
    pub deployed_code: bool,
    /// Execute exactly the change sets of this plan (`diff --out`), after checking that
    /// nothing moved since and that they carry what this checkout would deploy (its templates,
    /// parameters and function, built here or given with --function-zip); any mismatch
    /// executes nothing.
    #[arg(long, value_name = "PLAN", conflicts_with_all = ["plan", "replace_failed", "deployed_code"])]
    pub from_plan: Option<PathBuf>,
    /// Where the change is code-only, update the function's code directly in Lambda, outside
    /// CloudFormation; otherwise say why and deploy in full. Only where the
    /// environment file sets `deploy.allow_hotswap: true`.
    #[arg(long, conflicts_with_all = ["plan", "from_plan", "replace_failed", "deployed_code"])]
    pub hotswap: bool,
}

/// Arguments of `infra watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The environment; its file must set `deploy.allow_hotswap: true`.
    pub env: String,
    /// Watch this prebuilt zip (holding `bootstrap`, e.g. from `cargo lambda build`) instead of
    /// the function's sources, and hotswap it whenever it is written.
    #[arg(long, value_name = "PATH")]
    pub function_zip: Option<PathBuf>,
    /// Hotswap outside the environment's change window.
    #[arg(long)]
    pub ignore_change_window: bool,
}

/// Arguments of `infra rollback` and `infra drift`.
#[derive(Debug, Args)]
pub struct StackArgs {
    /// The deployed environment.
    pub env: String,
    /// Only this stack (`service` or `monitoring`).
    #[arg(long, value_name = "ID", value_enum)]
    pub stack: Option<crate::stacks::StackId>,
}

/// Arguments of `infra destroy`.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// The deployed environment.
    pub env: String,
    /// With --force: delete without typing the stack names.
    #[arg(long)]
    pub yes: bool,
    /// With --yes: really delete, without a terminal (both are needed, so neither alone deletes).
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `infra status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The deployed environment.
    pub env: String,
    /// Follow a running operation until it settles.
    #[arg(long)]
    pub watch: bool,
}

/// Arguments of `infra package`.
#[derive(Debug, Args)]
pub struct PackageArgs {
    /// The environment (a file name in environments/ without .yaml).
    pub env: String,
    /// Also write the zip here.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

/// Arguments of `infra clients`.
#[derive(Debug, Args)]
pub struct ClientsArgs {
    /// The deployed environment.
    pub env: String,
    /// What to do with the client registry.
    #[command(subcommand)]
    pub action: ClientAction,
}

/// The commands of `infra clients`.
#[derive(Debug, Subcommand)]
pub enum ClientAction {
    /// Every client of the environment file and of the registry, with how it stands.
    List {
        /// Print the clients as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Register a client of the environment file with a new secret, printed once.
    Add {
        /// The client id (an `id` under `token.clients` in the environment file).
        id: String,
        /// Print the credentials as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Give a client a second secret, printed once; both work until `finish-rotation`.
    Rotate {
        /// The registered client whose secret to rotate.
        id: String,
        /// The old secret also stops working this long from now (`90m`, `24h`, `7d`; 1 minute to
        /// 90 days).
        #[arg(long, value_name = "DURATION", value_parser = parse_overlap)]
        overlap: Option<u64>,
        /// Print the credentials as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove the old secret of a rotation.
    FinishRotation {
        /// The client whose rotation to finish.
        id: String,
    },
    /// Remove a client from the registry: it gets no more tokens.
    Remove {
        /// The client to remove.
        id: String,
        /// Without asking (else type the client id at the terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Apply the environment file's scopes and token lifetimes to the registered clients.
    Sync,
}

/// `--since`: a duration (`humantime` syntax: `30s`, `10m`, `2h`, `1d`) of 1 second to 90 days.
fn parse_since(text: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(text).map_err(|e| format!("{e} (examples: 30s, 10m, 2h, 1d)"))?;
    if !(1..=90 * 86_400).contains(&d.as_secs()) {
        return Err(format!("`{text}` is outside 1 second to 90 days"));
    }
    Ok(d)
}

/// `--overlap`: a duration (`humantime` syntax) of 60 s to 90 days, in seconds. Below 60 s the
/// old secret could stop working before warm functions see the new one (they cache the registry
/// for 60 s).
fn parse_overlap(text: &str) -> Result<u64, String> {
    let d = humantime::parse_duration(text).map_err(|e| format!("{e} (examples: 90m, 24h, 7d)"))?;
    let secs = d.as_secs();
    if !(60..=90 * 86_400).contains(&secs) {
        return Err(format!("`{text}` is outside 1 minute to 90 days"));
    }
    Ok(secs)
}

/// Arguments of `infra keys`.
#[derive(Debug, Args)]
pub struct KeysArgs {
    /// The deployed environment.
    pub env: String,
    /// What to do with the signing keys.
    #[command(subcommand)]
    pub action: KeyAction,
}

/// The commands of `infra keys`.
#[derive(Debug, Subcommand)]
pub enum KeyAction {
    /// The signing keys' stage, and when the next step may run.
    Status,
    /// Run the next step of the rotation (an update of the service stack), when it may.
    Rotate {
        /// Execute without asking.
        #[arg(long)]
        yes: bool,
        /// Run outside the environment's change window.
        #[arg(long)]
        ignore_change_window: bool,
    },
}

/// Arguments of `infra alarms`.
#[derive(Debug, Args)]
pub struct AlarmsArgs {
    /// The deployed environment.
    pub env: String,
    /// What to do with its alarms.
    #[command(subcommand)]
    pub action: AlarmAction,
}

/// The commands of `infra alarms`.
#[derive(Debug, Subcommand)]
pub enum AlarmAction {
    /// Each alarm's state, threshold and topic as CloudWatch holds them.
    List,
    /// Force each alarm (or one) into ALARM, prove its notification reaches its topic through
    /// a temporary queue, and set it back. Pages the topics' subscribers.
    Test {
        /// Only this alarm: its key (`lambda_errors`) or its name.
        #[arg(long, value_name = "NAME")]
        alarm: Option<String>,
        /// Do not ask before paging the topics' subscribers.
        #[arg(long)]
        yes: bool,
        /// How long to wait for the notifications (`30s`, `2m`; 5 seconds to 15 minutes).
        #[arg(long, value_name = "DURATION", default_value = "90s", value_parser = parse_wait)]
        wait: std::time::Duration,
    },
}

/// `alarms test --wait`: a duration (`humantime` syntax) of 5 seconds to 15 minutes.
fn parse_wait(text: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(text).map_err(|e| format!("{e} (examples: 30s, 2m)"))?;
    if !(5..=900).contains(&d.as_secs()) {
        return Err(format!("`{text}` is outside 5 seconds to 15 minutes"));
    }
    Ok(d)
}

/// Arguments of `infra logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The deployed environment.
    pub env: String,
    /// How far back to start (`30s`, `10m`, `2h`, `1d`; at most 90 days).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_since)]
    pub since: std::time::Duration,
    /// Keep printing new events until Ctrl-C.
    #[arg(long)]
    pub follow: bool,
    /// Only events containing this text.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Only events of this request, by the function's request id (`request=` on the function's
    /// lines, `function_request=` on the API's access line); the API's own id finds its access
    /// line only.
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,
}

#[cfg(test)]
mod tests {
    /// Durations outside their range are refused with what was typed, not a re-rendering.
    #[test]
    fn durations_echo_what_was_typed() {
        assert_eq!(super::parse_overlap("91d"), Err("`91d` is outside 1 minute to 90 days".to_owned()));
        assert_eq!(super::parse_overlap("59s"), Err("`59s` is outside 1 minute to 90 days".to_owned()));
        assert_eq!(super::parse_overlap("90d"), Ok(90 * 86_400));
        assert_eq!(super::parse_overlap("1m"), Ok(60));
        assert_eq!(super::parse_since("91d").unwrap_err(), "`91d` is outside 1 second to 90 days");
        assert!(super::parse_since("2h").is_ok());
    }
}
