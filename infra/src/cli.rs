//! The command line: `infra <command> …`. Parsing only; each command lives in `commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::synth::Format;

#[derive(Debug, Parser)]
#[command(name = "infra", version, about = "Synthesize, validate and deploy the token service")]
pub struct Cli {
    /// Folder holding the environment files (<name>.yaml).
    #[arg(long, global = true, value_name = "DIR")]
    pub environments: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write validated templates and a manifest to out/<env>/.
    Synth(SynthArgs),
    /// Check templates against every rule; exit 1 on errors.
    Validate(ValidateArgs),
    /// Serve the token endpoint on 127.0.0.1 with an environment's settings.
    Serve(ServeArgs),
    /// Write each environment's runbook to docs/runbooks/<env>.md.
    Docs(DocsArgs),
    /// List the environments.
    List,
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

#[derive(Debug, Args)]
pub struct SynthArgs {
    #[command(flatten)]
    pub target: Target,
    /// Output folder; each environment gets a subfolder.
    #[arg(long, default_value = "out", value_name = "DIR")]
    pub out: PathBuf,
    /// Print the template to standard output instead of writing files.
    #[arg(long)]
    pub stdout: bool,
    /// Only this stack (e.g. `service`).
    #[arg(long, value_name = "ID")]
    pub stack: Option<String>,
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub target: Target,
    /// Print findings as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The environment whose issuer, audience, clients and TTLs to use.
    pub env: String,
    /// The port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
}

#[derive(Debug, Args)]
pub struct DocsArgs {
    /// Folder the runbooks go to.
    #[arg(long, default_value = "docs/runbooks", value_name = "DIR")]
    pub out: PathBuf,
    /// Write nothing; exit 1 if a runbook is missing or out of date.
    #[arg(long)]
    pub check: bool,
}
