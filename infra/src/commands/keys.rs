//! `keys <env> status | rotate`: the staged signing-key rotation of `crate::keys`, each step an
//! update of the service stack (`deploy` with the `SigningKeyStage` parameter set).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};

use super::deploy::deploy_step;
use crate::cli::{DeployArgs, KeyAction, KeysArgs};
use crate::deploy::logs::iso_seconds;
use crate::deploy::status::Meaning;
use crate::deploy::{Aws, stack};
use crate::env::Environment;
use crate::keys::may_advance;
use crate::session::{block_on, connect, out, target, unix_now};
use crate::stacks::outputs::{ServiceOutputs, service as output};
use token_function::key_pairs::SigningMode;

/// A comma-separated output with each item once: a stack deployed by an earlier `infra` lists a
/// stage's one key twice (`a,a`), which the function reads as one.
fn distinct(list: &str) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for item in list.split(',') {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen.join(",")
}

/// Now, Unix seconds. Against a local emulator only, `INFRA_NOW` replaces the clock (tests that
/// walk a rotation through hours of token lifetime in seconds); against AWS it is refused, so a
/// stray variable cannot shorten a hold.
fn now(aws: &Aws) -> anyhow::Result<u64> {
    let clock = unix_now();
    match std::env::var("INFRA_NOW") {
        Err(_) => Ok(clock),
        Ok(_) if !aws.emulator => bail!("INFRA_NOW is set; it is honoured against a local emulator only: unset it"),
        Ok(v) => v.parse().with_context(|| format!("INFRA_NOW: `{v}` is not Unix seconds")),
    }
}

/// `1h 1m` for a number of seconds.
fn wait(seconds: u64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(seconds)).to_string()
}

/// The deployed stage and when it was complete (`None`: not found in the events read).
struct Deployed {
    complete_at: Option<u64>,
    /// The stage and when it began are `outputs.key_stage` and `outputs.key_stage_since`.
    outputs: ServiceOutputs,
}

/// At most this many pages of stack events (100 each) are read for a stage's completion.
const EVENT_PAGES: usize = 20;

async fn deployed(aws: &Aws, env: &Environment) -> anyhow::Result<Deployed> {
    let name = env.service_stack_name();
    let s = stack::describe(&aws.cfn, &name).await?.with_context(|| {
        format!("{name} is not deployed; deploy it first: `cargo run -- deploy {}`", target(&env.name))
    })?;
    let status = stack::status(&s);
    if !status.is_settled() {
        bail!("{name} is {}; wait for it: `cargo run -- status {} --watch`", status.as_str(), target(&env.name));
    }
    // A stack from before key rotation has neither output: stage `a` since its creation.
    let outputs = stack::service_outputs(&s)?;
    let since = outputs.key_stage_since;
    // When the update that set the stage was complete: the stack's first completion at or
    // after `since`; `since` itself where CloudFormation's events end before it (this machine's
    // clock runs ahead); where the pages ran out first, the caller counts from now. Never early.
    let asked = i64::try_from(since).unwrap_or(i64::MAX);
    let complete_at = match stack::first_success_since(&aws.cfn, &name, asked, EVENT_PAGES).await? {
        stack::Completion::At(t) => Some(u64::try_from(t).unwrap_or(since).max(since)),
        stack::Completion::Before => Some(since),
        stack::Completion::NotFound => None,
    };
    Ok(Deployed { complete_at, outputs })
}

pub fn run(dir: &Path, args: KeysArgs) -> anyhow::Result<ExitCode> {
    let env = Environment::load_named(dir, &args.env)?;
    let target = target(&env.name);
    let (d, registry_ttl, now) = block_on(async {
        let aws = connect(&env).await?;
        let d = deployed(&aws, &env).await?;
        // Tokens live as long as the deployed registry says, which may differ from the file.
        let registry = crate::deploy::registry::deployed(&aws, &env)
            .await?
            .read()
            .await
            .map_err(|e| anyhow::anyhow!("reading the client registry for the longest token lifetime: {e}"))?;
        let ttl = registry.doc.clients.iter().filter_map(|c| c.ttl_seconds).max().unwrap_or(0);
        Ok((d, ttl, now(&aws)?))
    })?;
    let next = d.outputs.key_stage.next();
    let complete_at = d.complete_at.unwrap_or(now);
    let allowed = may_advance(d.outputs.key_stage, &env, registry_ttl, complete_at, now);
    match args.action {
        KeyAction::Status => {
            let since = if d.outputs.key_stage_since == 0 {
                "since the stack was created".to_owned()
            } else {
                format!("since {}", iso_seconds(d.outputs.key_stage_since))
            };
            out!("stage: {} ({}), {since}", d.outputs.key_stage, d.outputs.key_stage.describe());
            let mode = d.outputs.signing_mode;
            out!("mode: {}", mode.as_str());
            let shown: &[&str] = match mode {
                SigningMode::Envelope => &[output::KEY_PAIRS_SECRET, output::SIGNING_SLOT, output::PUBLISHED_SLOTS],
                SigningMode::Kms => &[output::SIGNING_KEY, output::PUBLISHED_KEYS],
            };
            for k in shown {
                out!("{k}: {}", d.outputs.get(k).map_or_else(|| "(not deployed)".to_owned(), distinct));
            }
            match allowed {
                Ok(()) => out!("next: {next} ({}); may run now: `cargo run -- keys {target} rotate`", next.describe()),
                Err((from, why)) => {
                    out!(
                        "next: {next} ({}) from {} (in {}; Unix time {from}): {why}",
                        next.describe(),
                        iso_seconds(from),
                        wait(from - now)
                    )
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        KeyAction::Rotate { yes, ignore_change_window } => {
            if let Err((from, why)) = allowed {
                bail!(
                    "too early for {next}: {why}; it may run from {} (in {}); `cargo run -- keys {target} status` shows the stage",
                    iso_seconds(from),
                    wait(from - now)
                );
            }
            eprintln!("signing keys: {} -> {next} ({})", d.outputs.key_stage, next.describe());
            let deploy = DeployArgs {
                env: args.env,
                plan: false,
                yes,
                function_zip: None,
                replace_failed: false,
                ignore_change_window,
                no_smoke_check: false,
                replace_signing_keys: false,
                deployed_code: false,
                from_plan: None,
                hotswap: false,
            };
            deploy_step(dir, deploy, Some((next, now)))
        }
    }
}

#[cfg(test)]
mod tests {
    /// A one-key stage repeats the key in the template's list; status shows it once.
    #[test]
    fn lists_show_each_item_once() {
        assert_eq!(super::distinct("a,a"), "a");
        assert_eq!(super::distinct("a,b"), "a,b");
        assert_eq!(super::distinct("arn:x,arn:x"), "arn:x");
        assert_eq!(super::distinct(""), "");
    }
}
