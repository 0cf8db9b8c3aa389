//! A saved plan: the change sets `infra diff <env> --out PLAN` made and showed, kept instead of
//! deleted, so that `infra deploy <env> --from-plan PLAN` executes exactly those, in order, or
//! nothing. What was reviewed is what runs: a stack updated since, a change set no longer
//! executable, another environment file or template, or a plan older than the environment's
//! `deploy.plan_max_age_hours` refuses the whole plan before anything executes.
//!
//! The file is JSON (shape: [`SavedPlan`]). It holds no secret: change-set ARNs, hashes and
//! times. CloudFormation keeps a change set until it is executed or deleted (API reference,
//! "CreateChangeSet"); executing one deletes the stack's other change sets.
//!
//! A plan may come from elsewhere (a pull request's job), so the file is not trusted for what
//! runs: `deploy --from-plan` compares each change set, as CloudFormation describes it, with
//! what the checkout applying it would send ([`change_set_mismatches`]), and CloudFormation's
//! copy of its template with the one synthesized there.

use std::path::Path;

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::deploy::package::sha256_hex;
use crate::deploy::stack::{Kept, StackSpec};
use crate::env::Environment;
use crate::stacks::{Stack, StackId};

/// The plan file format this build writes and reads.
pub const FORMAT: u32 = 2;

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
    /// The stack's last update (its creation if never updated) when planned, RFC 3339; `None`
    /// when there was no stack.
    pub last_updated: Option<String>,
    /// The change set's resource changes, as `diff` showed them ([`SavedPlan::markdown`]).
    pub changes: Vec<crate::deploy::change_set::Change>,
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

/// What change set `kept` carries that `spec` (the stack as the checkout applying the plan
/// would send it) does not, each as one line naming the stack and the field; empty when they
/// agree. `deployed` is the stack's parameter values now: a parameter `spec` keeps (`None`)
/// must be kept (`UsePreviousValue`) or equal to it. Compared: the parameters, stack tags,
/// capabilities, notification topics (none are sent) and rollback triggers (API reference,
/// "DescribeChangeSet").
pub fn change_set_mismatches(spec: &StackSpec, deployed: &BTreeMap<String, String>, kept: &Kept) -> Vec<String> {
    let stack = &spec.name;
    let mut out = Vec::new();
    let shown = |v: Option<&str>| v.map_or_else(|| "(none)".to_owned(), |v| format!("`{v}`"));
    for (key, want) in &spec.parameters {
        let Some((_, value, previous)) = kept.parameters.iter().find(|(k, ..)| k == key) else {
            out.push(format!("{stack}: parameters: {key} is not in its change set"));
            continue;
        };
        let agrees = match want {
            Some(want) => !previous && value.as_deref() == Some(want.as_str()),
            None => *previous || value.as_ref() == deployed.get(key),
        };
        if !agrees {
            let here = want.as_deref().or(deployed.get(key).map(String::as_str));
            let there = if *previous { Some("(the stack's value)") } else { value.as_deref() };
            out.push(format!(
                "{stack}: parameters: {key} is {} in its change set; this checkout passes {}",
                shown(there),
                shown(here)
            ));
        }
    }
    for (key, ..) in kept.parameters.iter().filter(|(k, ..)| !spec.parameters.iter().any(|(w, _)| w == k)) {
        out.push(format!("{stack}: parameters: its change set passes {key}, which this checkout does not"));
    }
    let listed = |items: &[String]| if items.is_empty() { "none".to_owned() } else { items.join(", ") };
    let pairs =
        |tags: &BTreeMap<String, String>| listed(&tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>());
    if kept.tags != spec.tags {
        out.push(format!(
            "{stack}: tags: its change set's stack tags are {}; this checkout's are {}",
            pairs(&kept.tags),
            pairs(&spec.tags)
        ));
    }
    let mut want: Vec<String> = spec.capabilities.iter().map(|c| (*c).to_owned()).collect();
    let mut have = kept.capabilities.clone();
    want.sort();
    have.sort();
    if want != have {
        out.push(format!(
            "{stack}: capabilities: its change set acknowledges {}; this checkout {}",
            listed(&have),
            listed(&want)
        ));
    }
    if !kept.notification_arns.is_empty() {
        out.push(format!(
            "{stack}: notification_arns: its change set notifies {}; this checkout notifies no topic",
            kept.notification_arns.join(", ")
        ));
    }
    if !kept.extras.is_empty() {
        out.push(format!(
            "{stack}: its change set also asks for {}, which this checkout never does",
            kept.extras.join(", ")
        ));
    }
    let minutes = if spec.rollback_alarms.is_empty() { 0 } else { spec.rollback_monitoring_minutes };
    let (mut arns, mut wanted) = (kept.rollback.0.clone(), spec.rollback_alarms.clone());
    arns.sort();
    wanted.sort();
    if (arns.as_slice(), kept.rollback.1) != (wanted.as_slice(), minutes) {
        out.push(format!(
            "{stack}: rollback_configuration: its change set watches {} for {} minute(s); this checkout {} for {minutes}",
            listed(&arns),
            kept.rollback.1,
            listed(&wanted)
        ));
    }
    out
}

/// The changes of stack `stack`'s change set that are not an add, modify or remove (an import,
/// or a change CloudFormation settles only when it runs: "ResourceChange", API reference): no
/// plan of `infra` makes them, so a saved plan carrying one is refused, one line each.
pub fn unplanned_changes(stack: &str, changes: &[crate::deploy::change_set::Change]) -> Vec<String> {
    changes
        .iter()
        .filter(|c| c.action == crate::deploy::change_set::Action::Other)
        .map(|c| {
            format!("{stack}: {} is changed in a way deploy never plans (not an add, modify or remove)", c.logical_id)
        })
        .collect()
}

/// Why a change set made at `created` (Unix seconds) of a stack last updated (or created) at
/// `stack_changed` cannot be what was planned: the stack changed after it. CloudFormation
/// itself makes such a change set `OBSOLETE` ("DescribeChangeSet": ExecutionStatus); this says
/// so from both records, whatever a plan file says of them. `None` for a create change set (its
/// stack is the one it made) or when the stack did not change since.
pub fn stack_changed_since(
    stack: &str,
    stack_changed: Option<i64>,
    created: Option<i64>,
    create: bool,
) -> Option<String> {
    (!create && stack_changed > created).then(|| format!("{stack}: the stack changed after its change set was made"))
}

/// Why a change set made at `created` (Unix seconds, CloudFormation's `CreationTime`) is too
/// old to run at `now` for an environment allowing `max_hours`
/// (`deploy.plan_max_age_hours`); `None` when it is not. A change set whose time
/// CloudFormation does not give is too old.
pub fn change_set_too_old(stack: &str, created: Option<i64>, now: u64, max_hours: u32) -> Option<String> {
    let age = created.and_then(|c| u64::try_from(c).ok()).map(|c| now.saturating_sub(c));
    match age {
        Some(age) if age <= u64::from(max_hours) * 3600 => None,
        Some(age) => Some(format!(
            "{stack}: its change set was made {} hours ago; the environment allows {max_hours} (deploy.plan_max_age_hours)",
            age / 3600
        )),
        None => Some(format!("{stack}: CloudFormation gives no creation time for its change set")),
    }
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

    /// Checks, before any plan is made, that `path` (given as `flag`) can take a file: not a
    /// folder, in a folder that exists.
    pub fn writable(flag: &str, path: &Path) -> anyhow::Result<()> {
        anyhow::ensure!(!path.is_dir(), "{flag} {}: is a folder; give a file name", path.display());
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        anyhow::ensure!(parent.is_dir(), "{flag} {}: the folder {} does not exist", path.display(), parent.display());
        Ok(())
    }

    /// Writes the plan as pretty JSON, to `<path>.partial` first so a reader never sees half.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        crate::synth::write_whole(path, text.as_bytes())
            .map_err(|e| anyhow::anyhow!("cannot write the plan {}: {e}", path.display()))
    }

    /// The plan for a reviewer, Markdown: where and from what it was made, how it is applied,
    /// then its changes, IAM and security first, then replacements
    /// ([`crate::deploy::change_set::markdown`]).
    pub fn markdown(&self) -> String {
        let made = aws_smithy_types::DateTime::from_secs(i64::try_from(self.made_at).unwrap_or(0))
            .fmt(aws_smithy_types::date_time::Format::DateTime)
            .unwrap_or_default();
        let function =
            self.artifact_key.as_deref().map_or("the deployed function kept".to_owned(), |k| format!("function `{k}`"));
        let stacks: Vec<(&str, &[crate::deploy::change_set::Change])> =
            self.stacks.iter().map(|s| (s.name.as_str(), s.changes.as_slice())).collect();
        format!(
            "### Plan for `{}` (account {}, {})\n\nMade {made} with {function}: {} change set(s). \
             `deploy {} --from-plan` executes exactly these, and only if the checkout applying them \
             synthesizes the same templates and parameters and builds the same function.\n\n{}",
            self.environment,
            self.account_id,
            self.region,
            self.change_sets().count(),
            self.environment,
            crate::deploy::change_set::markdown(&stacks)
        )
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
        let order = |ids: Vec<StackId>| ids.into_iter().map(StackId::as_str).collect::<Vec<_>>().join(", ");
        let planned: Vec<StackId> = self.stacks.iter().map(|p| p.id).collect();
        let deployed: Vec<StackId> = stacks.iter().map(|s| s.id).filter(|id| *id != StackId::Bootstrap).collect();
        if planned != deployed && out.iter().all(|l| !l.starts_with("stacks:")) {
            out.push(format!("stacks: the plan runs {}; they deploy as {}", order(planned), order(deployed)));
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
            last_updated: last_updated.map(str::to_owned),
            changes: vec![],
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

    fn spec() -> StackSpec {
        StackSpec {
            name: "t-dev-service".into(),
            template: String::new(),
            parameters: vec![("ArtifactKey".into(), Some("token-function/a.zip".into())), ("KeyStage".into(), None)],
            capabilities: vec!["CAPABILITY_NAMED_IAM"],
            tags: BTreeMap::from([("service".to_owned(), "t".to_owned())]),
            termination_protection: false,
            role_arn: None,
            rollback_alarms: vec!["arn:aws:cloudwatch:eu-west-1:1:alarm:t-dev-errors".into()],
            rollback_monitoring_minutes: 10,
        }
    }

    /// The change set CloudFormation describes for [`spec`], as the checkout would send it.
    fn kept() -> Kept {
        let s = spec();
        Kept {
            plan: crate::deploy::stack::Plan {
                stack: s.name.clone(),
                change_set: "cs".into(),
                create: false,
                changes: vec![],
            },
            parameters: vec![
                ("ArtifactKey".into(), Some("token-function/a.zip".into()), false),
                ("KeyStage".into(), None, true),
            ],
            created: Some(0),
            tags: s.tags.clone(),
            capabilities: vec!["CAPABILITY_NAMED_IAM".into()],
            notification_arns: vec![],
            rollback: (s.rollback_alarms.clone(), 10),
            extras: vec![],
        }
    }

    /// (what the change set carries instead, the line expected; `None`: it agrees)
    #[allow(clippy::type_complexity)]
    const CHANGE_SETS: &[(&str, fn(&mut Kept), Option<&str>)] = &[
        ("as sent", |_| {}, None),
        (
            "another artifact",
            |k| k.parameters[0].1 = Some("token-function/b.zip".into()),
            Some(
                "parameters: ArtifactKey is `token-function/b.zip` in its change set; this checkout passes `token-function/a.zip`",
            ),
        ),
        (
            "the artifact kept where this checkout sends one",
            |k| k.parameters[0] = ("ArtifactKey".into(), Some("token-function/a.zip".into()), true),
            Some("parameters: ArtifactKey is `(the stack's value)` in its change set"),
        ),
        (
            "a kept value resolved to the stack's",
            |k| k.parameters[1] = ("KeyStage".into(), Some("A".into()), false),
            None,
        ),
        (
            "a kept value set to another",
            |k| k.parameters[1] = ("KeyStage".into(), Some("B".into()), false),
            Some("parameters: KeyStage is `B` in its change set; this checkout passes `A`"),
        ),
        (
            "a parameter left out",
            |k| {
                k.parameters.pop();
            },
            Some("parameters: KeyStage is not in its change set"),
        ),
        (
            "a parameter added",
            |k| k.parameters.push(("Extra".into(), Some("x".into()), false)),
            Some("parameters: its change set passes Extra, which this checkout does not"),
        ),
        (
            "a tag changed",
            |k| {
                k.tags.insert("service".into(), "u".into());
            },
            Some("tags: its change set's stack tags"),
        ),
        (
            "a tag added",
            |k| {
                k.tags.insert("cost".into(), "x".into());
            },
            Some("tags:"),
        ),
        ("a capability more", |k| k.capabilities.push("CAPABILITY_AUTO_EXPAND".into()), Some("capabilities:")),
        (
            "a topic notified",
            |k| k.notification_arns.push("arn:aws:sns:eu-west-1:2:x".into()),
            Some("notification_arns: its change set notifies arn:aws:sns:eu-west-1:2:x"),
        ),
        ("rollback triggers dropped", |k| k.rollback = (vec![], 0), Some("rollback_configuration:")),
        ("rollback watched for less", |k| k.rollback.1 = 1, Some("rollback_configuration:")),
        (
            "resources imported",
            |k| k.extras.push("ImportExistingResources".into()),
            Some("its change set also asks for ImportExistingResources, which this checkout never does"),
        ),
    ];

    #[test]
    fn a_change_set_runs_only_as_this_checkout_would_send_it() {
        let deployed = BTreeMap::from([("KeyStage".to_owned(), "A".to_owned())]);
        for (case, change, want) in CHANGE_SETS {
            let mut k = kept();
            change(&mut k);
            let got = change_set_mismatches(&spec(), &deployed, &k);
            match want {
                None => assert!(got.is_empty(), "{case}: {got:?}"),
                Some(want) => {
                    assert_eq!(got.len(), 1, "{case}: {got:?}");
                    assert!(got[0].starts_with("t-dev-service: ") && got[0].contains(want), "{case}: {got:?}");
                }
            }
        }
    }

    #[test]
    fn a_change_set_older_than_its_stack_s_last_update_is_refused() {
        // (the stack's last update, the change set's creation, a create change set, refused)
        for (changed, created, create, want) in [
            (Some(100), Some(200), false, false),
            (Some(200), Some(200), false, false),
            (Some(300), Some(200), false, true),
            (Some(300), Some(200), true, false),
            (Some(300), None, false, true),
            (None, Some(200), false, false),
        ] {
            let why = stack_changed_since("s", changed, created, create);
            assert_eq!(why.is_some(), want, "{changed:?} {created:?} {create}: {why:?}");
        }
    }

    #[test]
    fn a_change_set_too_old_is_refused_by_its_own_creation_time() {
        let hour = 3600;
        for (created, now, want) in [
            (Some(0), 24 * hour, false),
            (Some(0), 24 * hour + 1, true),
            (Some(10 * hour), 5 * hour, false),
            (None, 0, true),
            (Some(-1), 0, true),
        ] {
            let why = change_set_too_old("s", created, now as u64, 24);
            assert_eq!(why.is_some(), want, "{created:?} at {now}: {why:?}");
        }
    }
}
