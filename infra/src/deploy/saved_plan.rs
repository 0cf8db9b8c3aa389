//! A saved plan: the change sets `infra diff <env> --out PLAN` made and showed, kept instead of
//! deleted, so that `infra deploy <env> --from-plan PLAN` executes exactly those, in order, or
//! nothing. What was reviewed is what runs: a stack updated since, a change set no longer
//! executable, another environment file or template, or a plan older than the environment's
//! `deploy.plan_max_age_hours` refuses the whole plan before anything executes.
//!
//! The file is JSON (shape: [`SavedPlan`]). It holds no secret: change-set ARNs, hashes and
//! times. CloudFormation keeps a change set until it is executed or deleted (API reference,
//! "CreateChangeSet"); executing one deletes the stack's other change sets.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::deploy::package::sha256_hex;
use crate::env::Environment;
use crate::stacks::{Stack, StackId};

/// The plan file format this build writes and reads.
pub const FORMAT: u32 = 1;

/// What `diff --out` saw and made, per environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
    /// The file format ([`FORMAT`]); another is refused.
    pub format: u32,
    /// The environment's name (`dev`).
    pub environment: String,
    /// The AWS account the environment file names.
    pub account_id: String,
    /// The region the environment file names.
    pub region: String,
    /// When the plan was made, Unix seconds.
    pub made_at: u64,
    /// SHA-256 of the environment file's bytes, hex.
    pub environment_file_sha256: String,
    /// The function artifact's key in the assets bucket, uploaded when the plan was made;
    /// `None` when the plan keeps the deployed code.
    pub artifact_key: Option<String>,
    /// The stacks, in the order they deploy.
    pub stacks: Vec<PlannedStack>,
}

/// One stack of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedStack {
    /// Which stack.
    pub id: StackId,
    /// Its CloudFormation stack name.
    pub name: String,
    /// The change set to execute (its ARN); `None` when the stack had nothing to change.
    pub change_set: Option<String>,
    /// Whether the change set creates the stack.
    pub create: bool,
    /// SHA-256 of the template body the change set was made from, hex.
    pub template_sha256: String,
    /// SHA-256 of its parameters (`key=value` lines, `key=(previous)` for a kept value), hex.
    pub parameters_sha256: String,
    /// The stack's last update (its creation if never updated) when planned, RFC 3339; `None`
    /// when there was no stack.
    pub last_updated: Option<String>,
    /// The change set as `diff` showed it, for a reviewer reading the file.
    pub summary: String,
}

impl PlannedStack {
    /// Why the stack is not as it was planned against, given its last update now (`None`: no
    /// stack, or only the one a create change set made); `None` when it is.
    pub fn moved(&self, now: Option<&str>) -> Option<String> {
        (now != self.last_updated.as_deref()).then(|| {
            format!(
                "{}: the stack changed since the plan (last updated {}, planned against {})",
                self.name,
                now.unwrap_or("never: it is gone"),
                self.last_updated.as_deref().unwrap_or("no stack")
            )
        })
    }
}

/// SHA-256 of a template body, hex: what a plan and a deploy compare.
pub fn template_sha256(template: &str) -> String {
    sha256_hex(template.as_bytes())
}

/// SHA-256 of a change set's parameters, hex (see [`PlannedStack::parameters_sha256`]).
pub fn parameters_sha256(parameters: &[(String, Option<String>)]) -> String {
    let lines: String =
        parameters.iter().map(|(k, v)| format!("{k}={}\n", v.as_deref().unwrap_or("(previous)"))).collect();
    sha256_hex(lines.as_bytes())
}

/// SHA-256 of the environment file, hex.
pub fn environment_file_sha256(env: &Environment) -> anyhow::Result<String> {
    let bytes = std::fs::read(&env.source).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", env.source.display()))?;
    Ok(sha256_hex(&bytes))
}

impl SavedPlan {
    /// Reads a plan file. Errors name the file and, for a bad field, the field.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read the plan {}: {e}", path.display()))?;
        let not_a_plan =
            |e: serde_json::Error| anyhow::anyhow!("{}: not a plan `infra diff --out` wrote: {e}", path.display());
        /// The one field every format has.
        #[derive(Deserialize)]
        struct Format {
            format: u32,
        }
        let format = serde_json::from_str::<Format>(&text).map_err(not_a_plan)?.format;
        anyhow::ensure!(
            format == FORMAT,
            "{}: format: plan format {format} is not this infra's ({FORMAT}); make the plan again with `infra diff --out`",
            path.display()
        );
        serde_json::from_str(&text).map_err(not_a_plan)
    }

    /// Checks, before any plan is made, that `path` can take a plan file: not a folder, in a
    /// folder that exists.
    pub fn writable(path: &Path) -> anyhow::Result<()> {
        anyhow::ensure!(!path.is_dir(), "--out {}: is a folder; give a file name", path.display());
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        anyhow::ensure!(parent.is_dir(), "--out {}: the folder {} does not exist", path.display(), parent.display());
        Ok(())
    }

    /// Writes the plan as pretty JSON, to `<path>.partial` first so a reader never sees half.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        crate::synth::write_whole(path, text.as_bytes())
            .map_err(|e| anyhow::anyhow!("cannot write the plan {}: {e}", path.display()))
    }

    /// The change sets of the plan, in deploy order.
    pub fn change_sets(&self) -> impl Iterator<Item = (&PlannedStack, &str)> {
        self.stacks.iter().filter_map(|s| s.change_set.as_deref().map(|c| (s, c)))
    }

    /// What no longer holds between the plan and `env` as it is now (its file's hash
    /// `file_sha256`, its synthesized `stacks`, the time `now` in Unix seconds), each as one
    /// line naming the field; empty when the plan may run. AWS is not asked here: see
    /// `pipeline::apply_saved` for the stacks' and change sets' own state.
    pub fn mismatches(&self, env: &Environment, file_sha256: &str, stacks: &[Stack], now: u64) -> Vec<String> {
        let mut out = Vec::new();
        if self.environment != env.name {
            out.push(format!("environment: the plan is for `{}`, not `{}`", self.environment, env.name));
        }
        if (self.account_id.as_str(), self.region.as_str()) != (env.account_id.as_str(), env.region.as_str()) {
            out.push(format!(
                "account_id, region: the plan is for {} in {}; {} names {} in {}",
                self.account_id,
                self.region,
                env.source.display(),
                env.account_id,
                env.region
            ));
        }
        if self.environment_file_sha256 != file_sha256 {
            out.push(format!("environment_file_sha256: {} changed since the plan was made", env.source.display()));
        }
        let max = u64::from(env.deploy.plan_max_age_hours.get()) * 3600;
        match now.checked_sub(self.made_at) {
            Some(age) if age > max => out.push(format!(
                "made_at: the plan is {} hours old; {} allows {} (deploy.plan_max_age_hours)",
                age / 3600,
                env.name,
                env.deploy.plan_max_age_hours
            )),
            None if self.made_at > now + 300 => {
                out.push("made_at: the plan was made in the future; check this machine's clock".into());
            }
            _ => {}
        }
        for planned in &self.stacks {
            match stacks.iter().find(|s| s.id == planned.id && s.name == planned.name) {
                None => out.push(format!("stacks: {} is not a stack of {} now", planned.name, env.name)),
                Some(s) if template_sha256(&s.template.to_json_string()) != planned.template_sha256 => {
                    out.push(format!(
                        "template_sha256: {}'s template differs from the planned one (infra or the file changed)",
                        planned.name
                    ))
                }
                Some(_) => {}
            }
        }
        for s in stacks.iter().filter(|s| s.id != StackId::Bootstrap) {
            if !self.stacks.iter().any(|p| p.id == s.id) {
                out.push(format!("stacks: {} is not in the plan", s.name));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(last_updated: Option<&str>) -> PlannedStack {
        PlannedStack {
            id: StackId::Service,
            name: "t-dev-service".into(),
            change_set: Some("arn:aws:cloudformation:eu-west-1:1:changeSet/infra-1/a".into()),
            create: false,
            template_sha256: String::new(),
            parameters_sha256: String::new(),
            last_updated: last_updated.map(str::to_owned),
            summary: String::new(),
        }
    }

    /// (planned against, the stack now, moved)
    const MOVES: &[(Option<&str>, Option<&str>, bool)] = &[
        (Some("2026-12-07T10:00:00Z"), Some("2026-12-07T10:00:00Z"), false),
        (Some("2026-12-07T10:00:00Z"), Some("2026-12-07T10:05:00Z"), true),
        (Some("2026-12-07T10:00:00Z"), None, true),
        (None, None, false),
        (None, Some("2026-12-07T10:05:00Z"), true),
    ];

    #[test]
    fn a_stack_updated_since_the_plan_has_moved() {
        for &(then, now, want) in MOVES {
            let why = planned(then).moved(now);
            assert_eq!(why.is_some(), want, "{then:?} -> {now:?}: {why:?}");
            if let Some(why) = why {
                assert!(why.starts_with("t-dev-service: the stack changed since the plan"), "{why}");
            }
        }
    }

    #[test]
    fn parameters_hash_tells_a_kept_value_from_a_given_one() {
        let given = [("ArtifactKey".to_owned(), Some("a.zip".to_owned()))];
        let kept = [("ArtifactKey".to_owned(), None)];
        assert_ne!(parameters_sha256(&given), parameters_sha256(&kept));
        assert_eq!(parameters_sha256(&given), parameters_sha256(&given.clone()));
    }
}
