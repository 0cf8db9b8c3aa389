//! The `Environment`: everything that differs between dev, staging and prod, loaded from
//! `environments/<name>.yaml`. Unknown keys are rejected and every value is range-checked while
//! it is read, so an error names the file, the key and the line. Code reads settings from
//! here and never branches on the environment's name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

mod scalars;
mod settings;

pub use scalars::*;
pub use settings::*;

pub use crate::cfn::resources::lambda::{Architecture, TracingMode};

impl Environment {
    /// Loads `<dir>/<name>.yaml`.
    pub fn load_named(dir: &Path, name: &str) -> Result<Self, EnvError> {
        let path = dir.join(format!("{name}.yaml"));
        let plain = !name.is_empty() && !name.contains(['/', '\\']) && name != "." && name != "..";
        if plain && path.is_file() && !is_environment_name(name) {
            return Err(EnvError::BadName { name: name.to_owned(), path: path.display().to_string() });
        }
        if !plain || !path.is_file() {
            return Err(EnvError::Unknown {
                name: name.to_owned(),
                path: path.display().to_string(),
                known: match Self::files(dir) {
                    Ok((n, _)) if !n.is_empty() => n.join(", "),
                    _ => format!("none (no *.yaml in {})", dir.display()),
                },
            });
        }
        Self::load(&path)
    }

    /// Loads one environment file; its name is the file's stem.
    pub fn load(path: &Path) -> Result<Self, EnvError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|cause| EnvError::Read { path: shown.clone(), cause })?;
        let text = utf8(bytes).map_err(|message| EnvError::Invalid { path: shown.clone(), message })?;
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        Self::parse(&text, &name, path)
    }

    /// Parses an environment from YAML text; `path` is used in messages.
    pub fn parse(text: &str, name: &str, path: &Path) -> Result<Self, EnvError> {
        let shown = path.display().to_string();
        if !is_environment_name(name) {
            return Err(EnvError::BadName { name: name.to_owned(), path: shown });
        }
        let keys = crate::yaml_keys::KeyLines::read(text)
            .map_err(|e| EnvError::Invalid { path: shown.clone(), message: e.to_string() })?;
        // YAML 1.2 section 5.2 allows a byte-order mark at the start; the typed reader does not.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut env: Environment = serde_norway::from_str(text)
            .map_err(|e| EnvError::Invalid { path: shown.clone(), message: located(e.to_string(), &keys) })?;
        env.name = name.to_owned();
        env.source = path.to_owned();
        env.keys = keys;
        env.check().map_err(|(key, message)| {
            let at = env.line_of(&key).map(|n| format!(" at line {n}")).unwrap_or_default();
            EnvError::Invalid { path: shown, message: format!("{key}: {message}{at}") }
        })?;
        Ok(env)
    }

    /// Rules that span sections or fields, as (dotted key, message); the caller adds the key's
    /// line.
    fn check(&self) -> Result<(), (String, String)> {
        self.token.clients.check()?;
        self.check_names_and_levels()?;
        self.check_tags()?;
        self.check_notifications()?;
        self.check_alarms()?;
        self.check_change_window()?;
        self.check_domain()?;
        self.issuer_is_served().map_err(|message| ("token.issuer".to_owned(), message))
    }

    /// The qualified name's length, a log level that keeps metric lines, the budget's addresses.
    fn check_names_and_levels(&self) -> Result<(), (String, String)> {
        let err = |key: &str, message: String| Err((key.to_owned(), message));
        let full = format!("{}-{}", self.stack_prefix, self.name);
        if full.len() > 40 {
            return err(
                "stack_prefix",
                format!(
                    "`{full}` (prefix plus environment name) is {} characters; keep it within 40 so every resource name fits AWS limits",
                    full.len()
                ),
            );
        }
        if matches!(self.function.log_level, LogLevel::Warn | LogLevel::Error) {
            return err(
                "function.log_level",
                format!(
                    "{} would make Lambda drop the function's metric lines, which are {} lines, so the success-rate alarm and the dashboard would read nothing (Lambda developer guide, \"Log-level filtering\"); use trace, debug or info",
                    self.function.log_level.filter(),
                    token_function::telemetry::METRIC_LEVEL
                ),
            );
        }
        let b = &self.monitoring.budget;
        if b.emails.is_empty() || b.emails.len() > 10 {
            return err("monitoring.budget.emails", format!("give 1 to 10 addresses, not {}", b.emails.len()));
        }
        Ok(())
    }

    /// Tag keys infra sets itself, and keys that differ only in case (IAM compares them without
    /// regard to case).
    fn check_tags(&self) -> Result<(), (String, String)> {
        let err = |key: &str, message: String| Err((key.to_owned(), message));
        // IAM compares a role's tag keys without regard to case ("Duplicate tag keys found"), and
        // stack tags reach every role (IAM User Guide, "Tagging IAM resources").
        if let Some(tag) = self.tags.keys().find(|k| RESERVED_TAGS.iter().any(|r| r.eq_ignore_ascii_case(&k.0))) {
            return err(
                &format!("tags.{tag}"),
                format!(
                    "`{tag}` is set by infra on every stack ({}); IAM compares tag keys without regard to case, so every role would fail with duplicate tag keys; use another key",
                    RESERVED_TAGS.join(", ")
                ),
            );
        }
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        for k in self.tags.keys() {
            if let Some(other) = seen.insert(k.0.to_lowercase(), &k.0) {
                return err(
                    &format!("tags.{k}"),
                    format!(
                        "`{k}` and `{other}` differ only in case; IAM compares tag keys without regard to case, so every role would fail with duplicate tag keys"
                    ),
                );
            }
        }
        Ok(())
    }

    /// Each alert address and webhook once per topic.
    fn check_notifications(&self) -> Result<(), (String, String)> {
        let err = |key: &str, message: String| Err((key.to_owned(), message));
        for (key, targets) in
            [("critical", &self.monitoring.notifications.critical), ("warning", &self.monitoring.notifications.warning)]
        {
            if let Some(dup) = first_duplicate(targets.emails.iter().map(|e| e.0.to_ascii_lowercase())) {
                return err(
                    &format!("monitoring.notifications.{key}.emails"),
                    format!("`{dup}` is listed twice; each address is one subscription"),
                );
            }
            if let Some(dup) = first_duplicate(targets.webhooks.iter().map(|w| w.0.clone())) {
                return err(
                    &format!("monitoring.notifications.{key}.webhooks"),
                    format!("`{dup}` is listed twice; each URL is one subscription"),
                );
            }
        }
        Ok(())
    }

    /// Each alarm's own fields; a share of requests is at most 100 %.
    fn check_alarms(&self) -> Result<(), (String, String)> {
        let err = |key: &str, message: String| Err((key.to_owned(), message));
        for (key, a) in self.monitoring.alarms.all() {
            a.check().map_err(|(field, message)| (format!("monitoring.alarms.{key}.{field}"), message))?;
            let share = crate::alarms::find(key).is_some_and(|d| d.metric.share_of_requests());
            if share && a.threshold > 100.0 {
                return err(
                    &format!("monitoring.alarms.{key}.threshold"),
                    format!("{} is a percentage, at most 100", a.threshold),
                );
            }
        }
        Ok(())
    }

    /// A change window with days, each once, that starts before it ends.
    fn check_change_window(&self) -> Result<(), (String, String)> {
        let err = |key: &str, message: String| Err((key.to_owned(), message));
        if let Some(w) = &self.deploy.change_window {
            if w.days.is_empty() {
                return err(
                    "deploy.change_window.days",
                    "no day, so no deploy could ever start; list at least one day, or remove deploy.change_window"
                        .into(),
                );
            }
            if let Some(day) =
                first_duplicate(self.keys.items("deploy.change_window.days").into_iter().map(str::to_owned))
            {
                return err("deploy.change_window.days", format!("`{day}` is listed twice"));
            }
            if w.start_hour_utc.get() >= w.end_hour_utc.get() {
                return err("deploy.change_window.end_hour_utc", "start_hour_utc must be before end_hour_utc".into());
            }
        }
        Ok(())
    }

    /// A public domain name, and a certificate in the environment's account and region.
    fn check_domain(&self) -> Result<(), (String, String)> {
        let err = |key: &str, message: String| Err((key.to_owned(), message));
        if let Some(domain) = &self.api.custom_domain {
            public_domain(&domain.domain_name.0).or_else(|message| err("api.custom_domain.domain_name", message))?;
            certificate_fits(&domain.certificate_arn.0, self.region.as_str(), self.account_id.as_str())
                .or_else(|message| err("api.custom_domain.certificate_arn", message))?;
        }
        Ok(())
    }

    /// The issuer: the one URL this deployment answers at (RFC 8414 §3.3: a client refuses
    /// metadata whose `issuer` is not the URL it fetched it under, and would send its secret to
    /// the `token_endpoint` that metadata names).
    ///
    /// With `api.custom_domain`, `https://<domain_name>`: the domain's root maps to the stage and
    /// the execute-api endpoint is disabled. Without one, the stage's execute-api URL
    /// (`https://{api-id}.execute-api.{region}.{url suffix}/{stage}`, API Gateway developer guide,
    /// "Invoke REST APIs"), which exists only once the API does: the template passes it to the
    /// function (see `stacks::service`).
    pub fn issuer(&self) -> Issuer {
        match &self.api.custom_domain {
            Some(domain) => Issuer::Domain(format!("https://{}", domain.domain_name)),
            None => Issuer::Api,
        }
    }

    /// `token.issuer`, when written, is [`Environment::issuer`]; the message says why not and
    /// what to write.
    fn issuer_is_served(&self) -> Result<(), String> {
        let Some(written) = &self.token.issuer else { return Ok(()) };
        let given = url::Url::parse(&written.0).map_err(|e| e.to_string())?;
        match (self.issuer(), &self.api.custom_domain) {
            (Issuer::Domain(served), Some(domain))
                if given.path() != "/" && given.host_str() == Some(&domain.domain_name.0) =>
            {
                Err(format!(
                    "{written} has a path, so RFC 8414 section 3.1 puts its metadata at https://{}/.well-known/oauth-authorization-server{}, outside the stage this domain's root maps to; use {served}",
                    domain.domain_name,
                    given.path()
                ))
            }
            (Issuer::Domain(served), _) if served != written.0 => Err(format!(
                "{written} is not where this deployment answers: api.custom_domain serves {served} alone, and the metadata would send clients' secrets to a token endpoint on a host this stack does not serve (RFC 8414 section 3.3); use {served}, or leave token.issuer out"
            )),
            (Issuer::Domain(_), _) => Ok(()),
            (Issuer::Api, _) if given.host_str().is_some_and(aws_host) => Err(format!(
                "{written} is the API's own URL, which this deployment issues under by itself (its id is known only once the API exists); leave token.issuer out"
            )),
            (Issuer::Api, _) => Err(format!(
                "without api.custom_domain this deployment answers only at its API's URL (https://{{api-id}}.execute-api.{}.amazonaws.com/{}, known once the API exists), not at {written}; leave token.issuer out to issue under that URL, or add api.custom_domain for {}",
                self.region,
                self.api.stage_name,
                given.host_str().unwrap_or_default()
            )),
        }
    }

    /// Names of the environments in `dir`, sorted.
    ///
    /// # Errors
    /// The folder cannot be read, or a `*.yaml` file's stem cannot be an environment name
    /// ([`EnvError::BadName`]): such a file is refused, never skipped.
    pub fn names(dir: &Path) -> Result<Vec<String>, EnvError> {
        let (names, misnamed) =
            Self::files(dir).map_err(|cause| EnvError::Read { path: dir.display().to_string(), cause })?;
        // A file meant as an environment under another extension is refused, not skipped.
        if let Some(p) = misnamed.first() {
            return Err(EnvError::Invalid {
                path: p.display().to_string(),
                message: "environment files end in .yaml (lowercase); rename it".into(),
            });
        }
        if let Some(bad) = names.iter().find(|n| !is_environment_name(n)) {
            return Err(EnvError::BadName {
                name: bad.clone(),
                path: dir.join(format!("{bad}.yaml")).display().to_string(),
            });
        }
        Ok(names)
    }

    /// Stems of the `*.yaml` files in `dir`, sorted, and the files that look like environment
    /// files under another extension (`.yml`, `.YAML`), from one read of the folder.
    fn files(dir: &Path) -> std::io::Result<(Vec<String>, Vec<PathBuf>)> {
        let (mut names, mut misnamed) = (Vec::new(), Vec::new());
        for p in std::fs::read_dir(dir)?.filter_map(Result::ok).map(|e| e.path()) {
            match p.extension().and_then(|x| x.to_str()).unwrap_or_default() {
                "yaml" => names.extend(p.file_stem().and_then(|s| s.to_str()).map(str::to_owned)),
                ext if ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml") => misnamed.push(p),
                _ => {}
            }
        }
        names.sort();
        misnamed.sort();
        Ok((names, misnamed))
    }

    /// The 1-based line where the dotted `key` (`monitoring.alarms.lambda_errors.threshold`,
    /// `token.clients[0].id`) is written; `None` when it is not (a default).
    pub fn line_of(&self, key: &str) -> Option<usize> {
        self.keys.line(key)
    }

    /// Where a generated string came from: `<file>:<key> (line N)` of the longest value of the
    /// file (8 characters or more) it contains, if any.
    pub fn origin(&self, text: &str) -> Option<String> {
        self.keys.origin(text, 8).map(|key| self.locate(key))
    }

    /// The log retentions the file sets, by key (days): the service stack's log groups take
    /// theirs from these, and POL002 holds them against `policy.min_log_retention_days`.
    pub fn log_retentions(&self) -> [(&'static str, u32); 2] {
        [
            ("function.log_retention_days", self.function.log_retention_days.get()),
            ("api.access_log_retention_days", self.api.access_log_retention_days.get()),
        ]
    }

    /// `<file>:<key>`, with the key's line where it is written: how findings about the
    /// environment file point at it.
    pub fn locate(&self, key: &str) -> String {
        match self.line_of(key) {
            Some(line) => format!("{}:{key} (line {line})", self.source.display()),
            None => format!("{}:{key}", self.source.display()),
        }
    }

    /// The tags infra puts on every stack, and so on every resource of it: [`RESERVED_TAGS`]
    /// with the stack prefix and the environment's name. Policies scope by them.
    pub fn own_tags(&self) -> [(&'static str, &str); 2] {
        [(RESERVED_TAGS[0], self.stack_prefix.as_str()), (RESERVED_TAGS[1], self.name.as_str())]
    }

    /// `<prefix>-<env>`: the base of every name in this environment.
    pub fn qualified(&self) -> String {
        format!("{}-{}", self.stack_prefix, self.name)
    }

    /// The name of the bootstrap stack (the assets bucket).
    pub fn bootstrap_stack_name(&self) -> String {
        format!("{}-bootstrap", self.qualified())
    }

    /// The name of the monitoring stack.
    pub fn monitoring_stack_name(&self) -> String {
        format!("{}-monitoring", self.qualified())
    }

    /// The name of the service stack.
    pub fn service_stack_name(&self) -> String {
        format!("{}-service", self.qualified())
    }
}

/// The partition of a region: `aws-cn` for China, `aws-us-gov` for GovCloud, `aws` otherwise
/// (AWS General Reference, "Amazon Resource Names").
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// A regional API's custom domain takes an ACM certificate of its own partition, region and
/// account (API Gateway developer guide, "Set up a Regional custom domain name": "the certificate
/// must be in the same Region as your API"; ACM certificates cannot be shared across accounts).
///
/// # Errors
/// The mismatch, in one line.
pub fn certificate_fits(arn: &str, region: &str, account: &str) -> Result<(), String> {
    let p: Vec<&str> = arn.splitn(6, ':').collect();
    let (partition, cert_region, cert_account) = (
        p.get(1).copied().unwrap_or_default(),
        p.get(3).copied().unwrap_or_default(),
        p.get(4).copied().unwrap_or_default(),
    );
    let expected = partition_of(region);
    if partition != expected {
        return Err(format!("the certificate is in partition {partition} but {region} is in {expected}"));
    }
    if cert_region != region {
        return Err(format!("the certificate is in {cert_region} but a regional API needs one in {region}"));
    }
    if cert_account != account {
        return Err(format!("the certificate belongs to account {cert_account}, not this environment's {account}"));
    }
    Ok(())
}

/// Tag keys infra sets on every stack itself ([`Environment::own_tags`]).
pub const RESERVED_TAGS: [&str; 2] = ["service", "environment"];

/// The first value that comes twice.
fn first_duplicate(values: impl Iterator<Item = String>) -> Option<String> {
    let mut seen = BTreeSet::new();
    values.into_iter().find(|v| !seen.insert(v.clone()))
}

/// A typed-reading error with its line: serde_norway gives none for an error at the very start
/// of the document (an unknown first key on line 1), so the key's line is added from `keys`.
fn located(message: String, keys: &crate::yaml_keys::KeyLines) -> String {
    if message.contains(" at line ") {
        return message;
    }
    let unknown = message.strip_prefix("unknown field `").and_then(|rest| rest.split_once('`')).map(|(key, _)| key);
    match unknown.and_then(|key| keys.line(key)) {
        Some(line) => format!("{message} at line {line}"),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_window_is_checked_in_utc() {
        let w: ChangeWindow = serde_norway::from_str("days: [mon, tue]\nstart_hour_utc: 8\nend_hour_utc: 16").unwrap();
        // 2026-11-23 is a Monday.
        let monday_0800 = 1_795_420_800;
        assert!(w.contains(monday_0800));
        assert!(w.contains(monday_0800 + 7 * 3600 + 3599));
        assert!(!w.contains(monday_0800 - 1));
        assert!(!w.contains(monday_0800 + 8 * 3600));
        assert!(w.contains(monday_0800 + 86_400));
        assert!(!w.contains(monday_0800 + 2 * 86_400));
    }
}
