//! The `Environment`: everything that differs between dev, staging and prod, loaded from
//! `environments/<name>.yaml`. Unknown keys are rejected and every value is range-checked while
//! it is read, so an error names the file, the key and the line. Code reads settings from
//! here and never branches on the environment's name.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use crate::cfn::resources::lambda::{Architecture, TracingMode};

/// Why an environment could not be loaded. Each message names the place to fix.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("unknown environment `{name}`: no file {path}; known environments: {known}")]
    Unknown { name: String, path: String, known: String },
    #[error("{path}: cannot read: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error(
        "{path}: `{name}` cannot be an environment name: it names stacks and resources, so use 1 to 24 lowercase letters, digits or hyphens, starting with a letter (CloudFormation stack names match [a-zA-Z][-a-zA-Z0-9]*); rename the file"
    )]
    BadName { name: String, path: String },
}

/// `true` for a name an environment file may have: what [`NamePart`] accepts.
pub fn is_environment_name(name: &str) -> bool {
    NamePart::try_from(name.to_owned()).is_ok()
}

/// One deployment target, as written in its YAML file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// The file's stem (`prod` for `environments/prod.yaml`); not written in the file.
    #[serde(skip)]
    pub name: String,
    /// The file it was read from.
    #[serde(skip)]
    pub source: PathBuf,
    /// Where each key is written, to point findings at lines ([`Environment::line_of`]).
    #[serde(skip)]
    keys: crate::yaml_keys::KeyLines,
    /// The AWS account the stacks belong to; deploy refuses any other.
    pub account_id: AccountId,
    pub region: Region,
    /// Prefix of every stack and resource name: `<prefix>-<env>-…`.
    pub stack_prefix: NamePart,
    /// Stack termination protection.
    pub termination_protection: bool,
    /// Keep the signing key, client registry and log groups when the stack is deleted.
    pub retain_data_on_delete: bool,
    /// Tags applied to the stack and so to every resource in it.
    #[serde(default)]
    pub tags: BTreeMap<TagKey, TagValue>,
    pub function: FunctionSettings,
    pub token: TokenSettings,
    pub api: ApiSettings,
    pub signing_key: SigningKeySettings,
    /// Alert topics, alarm thresholds, dashboard and budget.
    pub monitoring: MonitoringSettings,
    /// How deploys happen.
    pub deploy: DeploySettings,
    /// Deploys from GitHub Actions through OIDC.
    pub ci: CiSettings,
    /// Rules `validate` enforces on this environment's templates.
    pub policy: PolicySettings,
    /// Settings of `infra serve` (the token endpoint on localhost).
    #[serde(default)]
    pub local: LocalSettings,
    /// The account's quotas in this region, which every environment deployed to the same
    /// account and region shares (the ACCT rules read them across the folder's files).
    #[serde(default)]
    pub account_quotas: AccountQuotas,
}

/// Account quotas shared by the environments of one account and region. The defaults are AWS's;
/// declare a raised (or, for a new account, lowered) quota here.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountQuotas {
    /// Lambda "Concurrent executions" (Lambda developer guide, "Lambda quotas": 1,000 by
    /// default; new accounts often have less). Lambda keeps 100 of it unreserved ("Configuring
    /// reserved concurrency"), so the functions of all environments may reserve at most the
    /// quota less 100 (none at all where the quota is 100 or less).
    #[serde(default = "default_lambda_concurrency")]
    pub lambda_concurrent_executions: Bounded<1, 10_000_000>,
    /// API Gateway's throttle per account and region, across all its APIs: steady-state
    /// requests per second (API Gateway developer guide, "Amazon API Gateway quotas": 10,000;
    /// 2,500 in some newer regions).
    #[serde(default = "default_api_rate")]
    pub api_requests_per_second: Bounded<1, 10_000_000>,
    /// The same throttle's burst (5,000 by default; 1,250 where the rate is 2,500).
    #[serde(default = "default_api_burst")]
    pub api_burst: Bounded<1, 10_000_000>,
}

impl Default for AccountQuotas {
    fn default() -> Self {
        AccountQuotas {
            lambda_concurrent_executions: default_lambda_concurrency(),
            api_requests_per_second: default_api_rate(),
            api_burst: default_api_burst(),
        }
    }
}

fn default_lambda_concurrency() -> Bounded<1, 10_000_000> {
    Bounded(1_000)
}

fn default_api_rate() -> Bounded<1, 10_000_000> {
    Bounded(10_000)
}

fn default_api_burst() -> Bounded<1, 10_000_000> {
    Bounded(5_000)
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionSettings {
    pub architecture: Architecture,
    pub memory_mb: Bounded<128, 10240>,
    pub timeout_seconds: Bounded<1, 900>,
    /// Reserved concurrency; omit for the account's unreserved pool.
    #[serde(default)]
    pub reserved_concurrency: Option<Bounded<1, 100_000>>,
    pub tracing: TracingMode,
    pub log_level: LogLevel,
    pub log_retention_days: RetentionDays,
    /// Shift traffic to new code gradually through a `live` alias with CodeDeploy, rolling
    /// back on the critical alarms; omit to update the function in place.
    #[serde(default)]
    pub canary: Option<CanarySettings>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanarySettings {
    /// A CodeDeploy predefined Lambda configuration.
    pub deployment: CanaryDeployment,
    /// Minutes CloudFormation watches the critical alarms after an update (rollback triggers).
    pub rollback_monitoring_minutes: Bounded<0, 180>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum CanaryDeployment {
    Canary10Percent5Minutes,
    Canary10Percent10Minutes,
    Canary10Percent15Minutes,
    Canary10Percent30Minutes,
    Linear10PercentEvery1Minute,
    Linear10PercentEvery2Minutes,
    Linear10PercentEvery3Minutes,
    Linear10PercentEvery10Minutes,
    AllAtOnce,
}

impl CanaryDeployment {
    /// How long CodeDeploy watches the alarms before all traffic has moved: the time at the
    /// 10 % step for canaries, nine steps for linear shifts, none for all at once (CodeDeploy
    /// user guide, "Deployment configurations on an AWS Lambda compute platform").
    pub fn window_seconds(self) -> u32 {
        use CanaryDeployment::*;
        match self {
            Canary10Percent5Minutes => 300,
            Canary10Percent10Minutes => 600,
            Canary10Percent15Minutes => 900,
            Canary10Percent30Minutes => 1800,
            Linear10PercentEvery1Minute => 9 * 60,
            Linear10PercentEvery2Minutes => 9 * 120,
            Linear10PercentEvery3Minutes => 9 * 180,
            Linear10PercentEvery10Minutes => 9 * 600,
            AllAtOnce => 0,
        }
    }

    /// The share of traffic, in percent, the new version gets while the alarms are watched at
    /// the first step (10 % for every canary and linear configuration, all of it at once).
    pub fn traffic_percent(self) -> f64 {
        if self == CanaryDeployment::AllAtOnce { 100.0 } else { 10.0 }
    }

    /// CodeDeploy's configuration name.
    pub fn config_name(self) -> String {
        format!("CodeDeployDefault.Lambda{self:?}")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    /// Lambda's `ApplicationLogLevel` spelling.
    pub fn lambda(self) -> &'static str {
        match self {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
        }
    }
    /// `tracing`'s filter spelling.
    pub fn filter(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    /// `iss` of every token and the base of the metadata documents, when written: it must be
    /// the URL this deployment answers at, `https://<api.custom_domain.domain_name>`, and is
    /// refused without a custom domain. See [`Environment::issuer`].
    #[serde(default)]
    pub issuer: Option<IssuerUrl>,
    /// `aud` of every token.
    pub audience: Audience,
    /// Lifetime of a token unless the client sets its own.
    pub ttl_seconds: Bounded<60, 86_400>,
    /// The registered clients (their secrets live in the client registry secret, not here).
    pub clients: Clients,
}

/// A registered client: what it may ask for. Its secret is never in this file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSettings {
    pub id: ClientId,
    pub allowed_scopes: BTreeSet<Scope>,
    #[serde(default)]
    pub default_scopes: BTreeSet<Scope>,
    #[serde(default)]
    pub ttl_seconds: Option<Bounded<60, 86_400>>,
}

/// The client list: ids unique, at least one client, default scopes within allowed ones.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "Vec<ClientSettings>")]
pub struct Clients(pub Vec<ClientSettings>);

impl TryFrom<Vec<ClientSettings>> for Clients {
    type Error = String;
    fn try_from(v: Vec<ClientSettings>) -> Result<Self, String> {
        if v.is_empty() {
            return Err("at least one client is required".into());
        }
        Ok(Clients(v))
    }
}

impl Clients {
    /// Ids unique, at least one allowed scope each, default scopes within the allowed ones, as
    /// (the dotted key of the value at fault, message): the caller adds the value's own line.
    fn check(&self) -> Result<(), (String, String)> {
        let mut seen = BTreeSet::new();
        for (i, c) in self.0.iter().enumerate() {
            let key = |field: &str| format!("token.clients[{i}].{field}");
            if !seen.insert(c.id.0.as_str()) {
                return Err((key("id"), format!("client `{}` is listed twice", c.id.0)));
            }
            if c.allowed_scopes.is_empty() {
                return Err((key("allowed_scopes"), format!("client `{}` needs at least one scope", c.id.0)));
            }
            if let Some(s) = c.default_scopes.iter().find(|s| !c.allowed_scopes.contains(*s)) {
                return Err((
                    key("default_scopes"),
                    format!("`{}` is not in allowed_scopes of client `{}`", s.0, c.id.0),
                ));
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    /// The API Gateway stage, also the first path segment of the default URL.
    pub stage_name: StageName,
    pub throttling: Throttling,
    pub access_log_retention_days: RetentionDays,
    /// Create the account-wide role API Gateway needs to write access logs. Set it in exactly
    /// one stack per account and region.
    pub manage_account_logging_role: bool,
    /// A WAF web ACL in front of the API; omit for none.
    #[serde(default)]
    pub waf: Option<WafSettings>,
    /// A custom domain for the API; omit to use the execute-api URL.
    #[serde(default)]
    pub custom_domain: Option<CustomDomain>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Throttling {
    /// Steady-state requests per second, for the whole stage.
    pub rate_limit: Bounded<1, 10_000>,
    /// Burst bucket size.
    pub burst_limit: Bounded<1, 5_000>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WafSettings {
    /// Requests one client IP may send per evaluation window before it is blocked.
    pub rate_limit: Bounded<10, 2_000_000_000>,
    /// The window the rate limit counts over: 60, 120, 300 or 600 seconds.
    pub evaluation_window_seconds: WafWindow,
    /// Add AWS's managed common rule set.
    pub managed_common_rules: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomDomain {
    pub domain_name: DomainName,
    /// A regional ACM certificate in the environment's region covering `domain_name`.
    pub certificate_arn: CertificateArn,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningKeySettings {
    /// Days KMS waits before deleting the key once its deletion is scheduled (7-30).
    pub pending_window_days: Bounded<7, 30>,
    /// The tokens' JWS algorithm: `ES256` (KMS ECC_NIST_P256, the default) or `RS256` (KMS
    /// RSA_2048, which RFC 9068 §2.1 requires every verifier to accept).
    #[serde(default = "default_algorithm")]
    pub algorithm: token_function::jwt::Algorithm,
    /// `kms` (each token one KMS `Sign`; the default) or `envelope` (a KMS-generated data key
    /// pair decrypted once per cold start signs in process).
    #[serde(default)]
    pub mode: token_function::key_pairs::SigningMode,
    /// The account's KMS request quotas in the environment's region, requests per second; the
    /// capacity check (rule SIGN001) holds the mode's KMS calls against them.
    #[serde(default)]
    pub kms_quotas: KmsQuotas,
    /// How long the environment's token verifiers may keep a JWKS they fetched, seconds: a new
    /// key signs only after it has been published this long. At least the JWKS's own
    /// `Cache-Control: max-age` (300 s); by default API Gateway's JWT authorizers' two hours
    /// ("API Gateway can cache public keys for two hours", API Gateway developer guide,
    /// "Control access to HTTP APIs with JWT authorizers").
    #[serde(default = "default_verifier_cache")]
    pub verifier_cache_seconds: Bounded<300, 86_400>,
}

/// API Gateway's JWT authorizers keep public keys up to two hours.
fn default_verifier_cache() -> Bounded<300, 86_400> {
    Bounded(7_200)
}

/// The account's shared KMS request quotas for cryptographic operations, requests per second
/// (AWS KMS developer guide, "Request quotas"; raised through Service Quotas). The defaults are
/// AWS's: ECC 300, RSA 500, symmetric 5,500 (the lowest regional default; larger regions have
/// 10,000 or 50,000).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KmsQuotas {
    /// "Cryptographic operations (ECC) request rate": `Sign` with an ECC_NIST_P256 key.
    #[serde(default = "default_ecc_quota")]
    pub ecc: Bounded<1, 1_000_000>,
    /// "Cryptographic operations (RSA) request rate": `Sign` with an RSA_2048 key.
    #[serde(default = "default_rsa_quota")]
    pub rsa: Bounded<1, 1_000_000>,
    /// "Cryptographic operations (symmetric) request rate": envelope mode's `Decrypt`.
    #[serde(default = "default_symmetric_quota")]
    pub symmetric: Bounded<1, 1_000_000>,
}

impl Default for KmsQuotas {
    fn default() -> Self {
        KmsQuotas { ecc: default_ecc_quota(), rsa: default_rsa_quota(), symmetric: default_symmetric_quota() }
    }
}

fn default_ecc_quota() -> Bounded<1, 1_000_000> {
    Bounded(300)
}

fn default_rsa_quota() -> Bounded<1, 1_000_000> {
    Bounded(500)
}

fn default_symmetric_quota() -> Bounded<1, 1_000_000> {
    Bounded(5_500)
}

fn default_algorithm() -> token_function::jwt::Algorithm {
    token_function::jwt::Algorithm::ES256
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploySettings {
    /// Days S3 keeps an artifact version after it was overwritten or deleted (noncurrent-version
    /// expiration). Current artifacts never expire: a rollback may need any of them.
    pub artifact_retention_days: Bounded<1, 3650>,
    /// When deploys may run; omit for any time.
    #[serde(default)]
    pub change_window: Option<ChangeWindow>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CiSettings {
    /// `owner/name` of the GitHub repository whose workflows may deploy this environment,
    /// from a job running in the GitHub environment of the same name.
    pub github_repository: GithubRepository,
    /// Create the account's GitHub OIDC provider (once per account); otherwise it must exist.
    pub create_oidc_provider: bool,
}

/// Days and hours (UTC) a deploy may start in.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeWindow {
    pub days: BTreeSet<Weekday>,
    /// First hour (UTC) a deploy may start.
    pub start_hour_utc: Bounded<0, 23>,
    /// Deploys must start before this hour (UTC).
    pub end_hour_utc: Bounded<1, 24>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl ChangeWindow {
    /// Whether `unix_seconds` (UTC) falls in the window.
    pub fn contains(&self, unix_seconds: u64) -> bool {
        let days = unix_seconds / 86_400;
        // 1970-01-01 was a Thursday.
        let weekday =
            [Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun, Weekday::Mon, Weekday::Tue, Weekday::Wed]
                [(days % 7) as usize];
        let hour = ((unix_seconds % 86_400) / 3_600) as u32;
        self.days.contains(&weekday) && hour >= self.start_hour_utc.get() && hour < self.end_hour_utc.get()
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySettings {
    /// The stack must have termination protection on.
    pub require_termination_protection: bool,
    /// Every log group must keep logs at least this many days.
    pub min_log_retention_days: RetentionDays,
    /// The API must sit behind a WAF web ACL.
    pub require_waf: bool,
    /// The function must have reserved concurrency.
    pub require_reserved_concurrency: bool,
    /// Data resources must be retained when the stack is deleted.
    pub require_retain_on_delete: bool,
    /// Every alarm must notify a topic when it fires and when it recovers.
    pub require_alarm_actions: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitoringSettings {
    /// Where this environment's runbook is published; each alarm links to its section.
    pub runbook_url: RunbookUrl,
    pub notifications: Notifications,
    pub alarms: Alarms,
    pub budget: BudgetSettings,
}

/// Who hears about alarms: `critical` pages, `warning` informs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    pub critical: Targets,
    pub warning: Targets,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    #[serde(default)]
    pub emails: Vec<Email>,
    /// HTTPS endpoints subscribed to the topic (a paging service's integration URL).
    #[serde(default)]
    pub webhooks: Vec<WebhookUrl>,
}

/// The settings of every alarm of the catalogue (`crate::alarms::ALARMS`), in its order, read
/// against it: a key that is not an alarm, and an alarm without settings, are refused naming
/// the keys there are.
#[derive(Clone, Debug)]
pub struct Alarms(Vec<(&'static str, AlarmSettings)>);

impl<'de> Deserialize<'de> for Alarms {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Alarms;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of alarm keys to their settings")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<Alarms, M::Error> {
                let mut read: Vec<(&'static str, AlarmSettings)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let def = crate::alarms::find(&key)
                        .ok_or_else(|| serde::de::Error::unknown_field(&key, &crate::alarms::KEYS))?;
                    read.push((def.key, map.next_value()?));
                }
                if let Some(missing) = crate::alarms::KEYS.iter().find(|k| !read.iter().any(|(r, _)| r == *k)) {
                    return Err(serde::de::Error::missing_field(missing));
                }
                read.sort_by_key(|(k, _)| crate::alarms::KEYS.iter().position(|c| c == k));
                Ok(Alarms(read))
            }
        }
        d.deserialize_map(Visit)
    }
}

impl Alarms {
    /// Every alarm's settings with its key, in catalogue order.
    pub fn all(&self) -> impl Iterator<Item = (&'static str, &AlarmSettings)> {
        self.0.iter().map(|(k, s)| (*k, s))
    }
}

/// One alarm's threshold and evaluation.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "RawAlarm")]
pub struct AlarmSettings {
    pub threshold: f64,
    pub period_seconds: u32,
    pub evaluation_periods: u32,
    pub datapoints_to_alarm: u32,
    pub severity: AlarmSeverity,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlarm {
    threshold: f64,
    period_seconds: AlarmPeriod,
    evaluation_periods: Bounded<1, 60_480>,
    datapoints_to_alarm: Bounded<1, 60_480>,
    severity: AlarmSeverity,
}

impl TryFrom<RawAlarm> for AlarmSettings {
    type Error = String;
    fn try_from(r: RawAlarm) -> Result<Self, String> {
        Ok(AlarmSettings {
            threshold: r.threshold,
            period_seconds: r.period_seconds.0,
            evaluation_periods: r.evaluation_periods.get(),
            datapoints_to_alarm: r.datapoints_to_alarm.get(),
            severity: r.severity,
        })
    }
}

impl AlarmSettings {
    /// CloudWatch's rules across the fields (`PutMetricAlarm`): a finite threshold of at least
    /// 0, `datapoints_to_alarm` within `evaluation_periods`, and the evaluation range within
    /// one day, or seven days for periods of an hour or more. Errors name the field.
    fn check(&self) -> Result<(), (&'static str, String)> {
        if !self.threshold.is_finite() || self.threshold < 0.0 {
            return Err(("threshold", format!("{} must be a number of at least 0", self.threshold)));
        }
        if self.datapoints_to_alarm > self.evaluation_periods {
            return Err((
                "datapoints_to_alarm",
                format!("{} cannot exceed evaluation_periods ({})", self.datapoints_to_alarm, self.evaluation_periods),
            ));
        }
        let window = u64::from(self.period_seconds) * u64::from(self.evaluation_periods);
        let max = max_evaluation_seconds(self.period_seconds);
        if window > max {
            return Err((
                "evaluation_periods",
                format!(
                    "period_seconds x evaluation_periods = {window} s; with a period of {} s CloudWatch evaluates at most {max} s ({})",
                    self.period_seconds,
                    if max == 86_400 { "one day below one-hour periods" } else { "seven days" }
                ),
            ));
        }
        Ok(())
    }
}

/// Which topic an alarm notifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlarmSeverity {
    Critical,
    Warning,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetSettings {
    /// Monthly cost limit of the account, in USD.
    pub monthly_limit_usd: Bounded<1, 1_000_000>,
    /// Percent of the limit (actual or forecast) that notifies.
    pub alert_at_percent: Bounded<1, 1000>,
    /// Who is told (1 to 10 addresses).
    pub emails: Vec<Email>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalSettings {
    /// Print the test clients' credentials when `serve` starts.
    #[serde(default)]
    pub print_credentials: bool,
}

// ---------------------------------------------------------------------------------------------
// Checked scalar types. Each refuses bad values while deserializing, so serde reports the key
// and line of the offending value.

/// An integer in `MIN..=MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bounded<const MIN: u32, const MAX: u32>(u32);

impl<const MIN: u32, const MAX: u32> Bounded<MIN, MAX> {
    pub fn get(self) -> u32 {
        self.0
    }
}

impl<const MIN: u32, const MAX: u32> TryFrom<i64> for Bounded<MIN, MAX> {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        if v < i64::from(MIN) || v > i64::from(MAX) {
            return Err(format!("{v} is out of range: expected {MIN} to {MAX}"));
        }
        // In range, so it fits.
        Ok(Bounded(u32::try_from(v).unwrap_or(MIN)))
    }
}

impl<const MIN: u32, const MAX: u32> fmt::Display for Bounded<MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The retention periods CloudWatch Logs accepts.
pub const RETENTION_DAYS: [u32; 22] =
    [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/// A log retention period CloudWatch Logs accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RetentionDays(u32);

impl RetentionDays {
    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<i64> for RetentionDays {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        RETENTION_DAYS
            .iter()
            .find(|d| i64::from(**d) == v)
            .map(|d| RetentionDays(*d))
            .ok_or_else(|| format!("{v} is not a retention CloudWatch Logs accepts: one of {RETENTION_DAYS:?}"))
    }
}

/// A WAF rate-based rule's evaluation window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WafWindow(u32);

impl WafWindow {
    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<i64> for WafWindow {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        match v {
            60 | 120 | 300 | 600 => Ok(WafWindow(v as u32)),
            _ => Err(format!("{v} is not a WAF evaluation window: one of 60, 120, 300, 600")),
        }
    }
}

/// The longest evaluation range (period x evaluation periods) CloudWatch accepts for an alarm
/// with this period: one day below one-hour periods, seven days otherwise (CloudWatch API
/// reference, `PutMetricAlarm`, `Period`).
pub fn max_evaluation_seconds(period_seconds: u32) -> u64 {
    if period_seconds < 3_600 { 86_400 } else { 604_800 }
}

/// `true` for a period `PutMetricAlarm` accepts: 10, 20, 30 or a multiple of 60 seconds, at
/// most one day. 10, 20 and 30 only work on high-resolution metrics.
pub fn is_alarm_period(p: u64) -> bool {
    matches!(p, 10 | 20 | 30) || (p >= 60 && p.is_multiple_of(60) && p <= 86_400)
}

/// A CloudWatch alarm period: 10, 20, 30 or a multiple of 60 seconds, at most one day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlarmPeriod(u32);

impl TryFrom<i64> for AlarmPeriod {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        match u32::try_from(v) {
            Ok(p) if is_alarm_period(u64::from(p)) => Ok(AlarmPeriod(p)),
            _ => Err(format!(
                "{v} is not an alarm period: 10, 20, 30 or a multiple of 60 up to 86400 (every metric these alarms watch is stored every 60 s: use a multiple of 60)"
            )),
        }
    }
}

/// Declares a string newtype checked by a predicate while deserializing.
macro_rules! checked_string {
    ($(#[$m:meta])* $name:ident, $what:literal, $check:expr) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub String);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str(checked::Str($what, |s: &str| $name::try_from(s.to_owned())))
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                let check: fn(&str) -> bool = $check;
                if check(&s) {
                    Ok($name(s))
                } else {
                    Err(format!("`{}` is not {}", shown(&s), $what))
                }
            }
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

checked_string!(
    /// A 12-digit AWS account id.
    AccountId,
    "an AWS account id (12 digits)",
    |s| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
);

checked_string!(
    /// An AWS region code such as `eu-west-1`.
    Region,
    "an AWS region code such as eu-west-1",
    |s| {
        let parts: Vec<&str> = s.split('-').collect();
        (3..=4).contains(&parts.len())
            && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
            && parts.last().is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
    }
);

checked_string!(
    /// A name segment: lowercase letters, digits and hyphens, 1 to 24 characters.
    NamePart,
    "a name: 1 to 24 lowercase letters, digits or hyphens, starting with a letter",
    |s| (1..=24).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
);

/// `true` for the characters AWS tags allow: letters, numbers, separators (spaces) and
/// `_ . : / = + - @`, the pattern `^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$` of the resource schemas'
/// tags (stack tags reach every resource of the stack).
fn is_tag_text(s: &str) -> bool {
    s.chars().all(|c| c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(c))
}

checked_string!(
    /// A tag key: 1 to 128 tag characters, not starting with `aws:` (CloudFormation API
    /// reference, `Tag`).
    TagKey,
    "a tag key (1 to 128 letters, digits, spaces or _.:/=+-@, not starting with aws:)",
    |s| (1..=128).contains(&s.chars().count()) && !s.to_ascii_lowercase().starts_with("aws:") && is_tag_text(s)
);

checked_string!(
    /// A tag value: 1 to 256 tag characters (CloudFormation API reference, `Tag`).
    TagValue,
    "a tag value (1 to 256 letters, digits, spaces or _.:/=+-@)",
    |s| (1..=256).contains(&s.chars().count()) && is_tag_text(s)
);

checked_string!(
    /// The `aud` of every token (RFC 9068 §3, RFC 7519 §4.1.3: a StringOrURI): 1 to 1024
    /// printable characters, no `${` (CloudFormation text) or `{{` (a dynamic reference CloudFormation would
    /// resolve).
    Audience,
    "an audience (1 to 1024 printable characters, no leading or trailing space, without `${` or `{{`)",
    |s| (1..=1024).contains(&s.chars().count())
        && s.trim() == s
        && !s.chars().any(char::is_control)
        && !s.contains("${")
        && !s.contains("{{")
);

checked_string!(
    /// A client id: 1 to 128 letters, digits, `.`, `_` or `-`.
    ClientId,
    "a client id (1 to 128 letters, digits, '.', '_' or '-')",
    |s| (1..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
);

checked_string!(
    /// A scope token as RFC 6749 §3.3 defines it.
    Scope,
    "a scope token (RFC 6749 section 3.3: printable ASCII without space, '\"' or '\\\\')",
    |s| !s.is_empty() && s.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
);

checked_string!(
    /// A GitHub repository, `owner/name`.
    GithubRepository,
    "a GitHub repository as owner/name",
    |s| s.split_once('/').is_some_and(|(o, n)| {
        let ok = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        ok(o) && ok(n)
    })
);

checked_string!(
    /// An email address.
    Email,
    "an email address",
    |s| {
        s.len() <= 254
            && !s.contains(char::is_whitespace)
            && s.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.'))
    }
);

checked_string!(
    /// An API Gateway stage name.
    StageName,
    "a stage name (1 to 128 letters, digits or '_')",
    |s| (1..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
);

checked_string!(
    /// A DNS name.
    DomainName,
    "a domain name such as auth.example.com",
    |s| s.len() <= 253
        && s.split('.').count() >= 2
        && s.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
);

checked_string!(
    /// An ACM certificate ARN.
    CertificateArn,
    "an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)",
    |s| {
        let p: Vec<&str> = s.splitn(6, ':').collect();
        p.len() == 6
            && p[0] == "arn"
            && p[1].starts_with("aws")
            && p[2] == "acm"
            && !p[3].is_empty()
            && p[4].len() == 12
            && p[5].strip_prefix("certificate/").is_some_and(|id| !id.is_empty())
    }
);

/// Declares a URL newtype: the text is parsed with the `url` crate (the WHATWG URL Standard),
/// must already be in its normalized form (so what is written is what tokens, alarms and
/// subscriptions carry), and is then checked by a rule saying what is wrong.
macro_rules! checked_url {
    ($(#[$m:meta])* $name:ident, $check:expr) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub String);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str(checked::Str("a URL", |s: &str| $name::try_from(s.to_owned())))
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                let check: fn(&str, &url::Url) -> Result<(), String> = $check;
                let shown = shown(&s);
                let parsed = url::Url::parse(&s).map_err(|e| format!("`{shown}` is not a URL: {e}"))?;
                if !parsed.username().is_empty() || parsed.password().is_some() {
                    return Err(format!("`{shown}`: credentials do not belong in an environment file (it is in git)"));
                }
                check(&s, &parsed).map_err(|why| format!("`{shown}`: {why}"))?;
                let normal = parsed.as_str();
                if s != normal && format!("{s}/") != normal {
                    return Err(format!("`{shown}` is not written in normal form; write `{}`", normal.trim_end_matches('/')));
                }
                Ok($name(s))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// A value as messages show it: control characters escaped, cut after 60 characters.
fn shown(s: &str) -> String {
    let escaped = s.escape_debug().to_string();
    match escaped.char_indices().nth(60) {
        Some((at, _)) => format!("{}... ({} characters)", &escaped[..at], s.chars().count()),
        None => escaped,
    }
}

/// Why a URL's host is not a public DNS name or address, if it is not: labels of 1 to 63
/// letters, digits and hyphens not at either end, no empty label or trailing dot (RFC 1123
/// §2.1); no `localhost` (RFC 6761 §6.3); no address outside the public unicast space
/// ([`crate::public_ip::not_public`]: the IANA special-purpose registries, multicast, and IPv6
/// forms carrying such an IPv4 address).
fn unreachable_host(u: &url::Url) -> Option<String> {
    let private = |ip: std::net::IpAddr| {
        crate::public_ip::not_public(ip).map(|why| format!("{ip} is not a public address: {why}"))
    };
    if u.port() == Some(0) {
        return Some("port 0 is no port a server listens on".into());
    }
    match u.host() {
        None => Some("it has no host".into()),
        Some(url::Host::Ipv4(ip)) => private(ip.into()),
        Some(url::Host::Ipv6(ip)) => private(ip.into()),
        Some(url::Host::Domain(d)) => {
            let labels_ok = d.split('.').all(|l| {
                (1..=63).contains(&l.len())
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
            if !labels_ok || d.len() > 253 {
                Some(format!(
                    "`{}` is not a DNS name (RFC 1123: labels of letters, digits and inner hyphens)",
                    shown(d)
                ))
            } else if d == "localhost" || d.ends_with(".localhost") {
                Some(format!("`{d}` is this machine, not a public host"))
            } else if !d.contains('.') {
                Some(format!("`{d}` is a single-label name, which public DNS does not resolve"))
            } else {
                SPECIAL_USE_DOMAINS
                    .iter()
                    .find(|t| d == &t[1..] || d.ends_with(*t))
                    .map(|tld| format!("`{d}` is under `{}`, a special-use name no public DNS answers for", &tld[1..]))
            }
        }
    }
}

/// Domains reserved for local or no use, which public DNS never resolves: `.test`, `.invalid`,
/// `.example` (RFC 2606, RFC 6761 §6), `.local` (RFC 6762), `.home.arpa` (RFC 8375), `.onion`
/// (RFC 7686), `.internal` (reserved by ICANN for private use, 2024), `.alt` (RFC 9476).
const SPECIAL_USE_DOMAINS: [&str; 8] =
    [".test", ".invalid", ".example", ".local", ".home.arpa", ".onion", ".internal", ".alt"];

checked_url!(
    /// A token issuer (RFC 8414 §2): `https`, a public DNS name or address, no query or fragment,
    /// no trailing `/` (paths are appended to it). Every environment file is deployable, so
    /// there is no `http` exception: `serve` answers on loopback under any issuer.
    IssuerUrl,
    |text, u| {
        if u.scheme() != "https" {
            return Err(format!("an issuer must use https (RFC 8414 section 2), not {}", u.scheme()));
        }
        if let Some(why) = unreachable_host(u) {
            return Err(format!("an issuer needs a public host: {why}"));
        }
        if u.query().is_some() || u.fragment().is_some() {
            return Err("an issuer has no query or fragment (RFC 8414 section 2)".into());
        }
        if text.ends_with('/') {
            return Err("an issuer has no trailing `/`: endpoint paths are appended to it".into());
        }
        Ok(())
    }
);

checked_url!(
    /// An HTTPS endpoint subscribed to an SNS topic (protocol `https`; SNS developer guide,
    /// "HTTP/S endpoints"): `https` only, a host SNS can reach (not loopback), no fragment.
    WebhookUrl,
    |_, u| {
        if u.scheme() != "https" {
            return Err("a webhook is subscribed with SNS protocol https, so it must be an https:// URL".into());
        }
        if let Some(why) = unreachable_host(u) {
            return Err(format!("SNS delivers only to public hosts: {why}"));
        }
        if u.fragment().is_some() {
            return Err("a webhook has no fragment".into());
        }
        Ok(())
    }
);

checked_url!(
    /// Where the runbook is published: `https`, no query or fragment (alarm descriptions append
    /// `#<section>`).
    RunbookUrl,
    |_, u| {
        if u.scheme() != "https" {
            return Err("the runbook must be an https:// URL".into());
        }
        if let Some(why) = unreachable_host(u) {
            return Err(format!("on-call must be able to open the runbook: {why}"));
        }
        if u.query().is_some() || u.fragment().is_some() {
            return Err("the runbook URL has no query or fragment: alarms append #<section>".into());
        }
        Ok(())
    }
);

macro_rules! checked_int {
    ($($name:ident $(<$(const $c:ident: u32),*>)?),*) => {$(
        impl<'de $(, $(const $c: u32),*)?> Deserialize<'de> for $name $(<$($c),*>)? {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                // Any scalar reaches the visitor, so each wrong form gets its own message
                // (`deserialize_i64` answers numbers past 64 bits with a Rust type name).
                d.deserialize_any(checked::Int("an integer", Self::try_from))
            }
        }
    )*};
}
checked_int!(Bounded<const MIN: u32, const MAX: u32>, RetentionDays, WafWindow, AlarmPeriod);

/// Visitors that check a scalar while it is read, so the error carries its key and line.
mod checked {
    use std::fmt;

    use serde::de::{Error, Unexpected, Visitor};

    pub struct Int<F>(pub &'static str, pub F);

    impl<T, F: FnOnce(i64) -> Result<T, String>> Visitor<'_> for Int<F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
        fn visit_i64<E: Error>(self, v: i64) -> Result<T, E> {
            (self.1)(v).map_err(E::custom)
        }
        fn visit_u64<E: Error>(self, v: u64) -> Result<T, E> {
            self.visit_i128(i128::from(v))
        }
        fn visit_u128<E: Error>(self, v: u128) -> Result<T, E> {
            self.visit_i128(i128::try_from(v).unwrap_or(i128::MAX))
        }
        /// A number past `i64`: the type's own message for the nearest `i64`, naming the number
        /// as written (every type's message starts with the number).
        fn visit_i128<E: Error>(self, v: i128) -> Result<T, E> {
            match i64::try_from(v) {
                Ok(v) => self.visit_i64(v),
                Err(_) => {
                    let near = if v < 0 { i64::MIN } else { i64::MAX };
                    let message = match (self.1)(near) {
                        Ok(_) => format!("{v} is out of range"),
                        Err(m) => m.strip_prefix(&near.to_string()).map_or(m.clone(), |rest| format!("{v}{rest}")),
                    };
                    Err(E::custom(message))
                }
            }
        }
        fn visit_f64<E: Error>(self, v: f64) -> Result<T, E> {
            Err(E::custom(if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
                format!("{v:?} is written as a decimal or with an exponent; write the whole number {v:.0}")
            } else {
                format!("{v} is not a whole number; write {}", self.0)
            }))
        }
        /// A plain scalar with a leading zero is text to the reader (`08`): YAML 1.1 readers take
        /// it as octal, so it is refused with what to write.
        fn visit_str<E: Error>(self, v: &str) -> Result<T, E> {
            let digits = v.strip_prefix('-').unwrap_or(v);
            if digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit()) {
                let plain = digits.trim_start_matches('0');
                let plain = if plain.is_empty() { "0" } else { plain };
                return Err(E::custom(format!(
                    "`{v}` has a leading zero, which YAML 1.1 readers take as octal; write {}{plain}",
                    if v.starts_with('-') { "-" } else { "" }
                )));
            }
            Err(E::invalid_type(Unexpected::Str(v), &self.0))
        }
    }

    pub struct Str<F>(pub &'static str, pub F);

    impl<T, F: FnOnce(&str) -> Result<T, String>> Visitor<'_> for Str<F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
        fn visit_str<E: Error>(self, v: &str) -> Result<T, E> {
            (self.1)(v).map_err(E::custom)
        }
    }
}

/// A host under AWS's own domains (`amazonaws.com`, `amazonaws.com.cn`): an execute-api URL.
fn aws_host(host: &str) -> bool {
    host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn")
}

/// A custom domain is a name the public resolves, and not AWS's own: its URL is the issuer,
/// which verifiers fetch metadata from (RFC 8414 section 3), and API Gateway serves a custom
/// domain with a public certificate ("Set up custom domain names for REST APIs").
fn public_domain(name: &str) -> Result<(), String> {
    if name.rsplit('.').next().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
        return Err(format!("`{name}` is an IP address, not a domain name; a custom domain is a DNS name"));
    }
    if aws_host(name) {
        return Err(format!(
            "`{name}` is AWS's own host, not a custom domain; leave api.custom_domain out to serve at the API's own URL"
        ));
    }
    let url = url::Url::parse(&format!("https://{name}")).map_err(|e| format!("`{name}`: {e}"))?;
    match unreachable_host(&url) {
        Some(why) => Err(format!("a custom domain is the issuer, so it needs a public name: {why}")),
        None => Ok(()),
    }
}

/// An environment file's bytes as text: UTF-8 (YAML 1.2 section 5.2 allows UTF-16 and UTF-32
/// too, which editors rarely mean and this reader does not take).
fn utf8(bytes: Vec<u8>) -> Result<String, String> {
    let wide = [
        (&[0x00, 0x00, 0xFE, 0xFF][..], "UTF-32"),
        (&[0xFF, 0xFE, 0x00, 0x00][..], "UTF-32"),
        (&[0xFE, 0xFF][..], "UTF-16"),
        (&[0xFF, 0xFE][..], "UTF-16"),
    ];
    if let Some((_, name)) = wide.iter().find(|(mark, _)| bytes.starts_with(mark)) {
        return Err(format!("the file is {name} (it starts with a {name} byte-order mark); save it as UTF-8"));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() + 1;
        format!("line {line}: the file is not UTF-8 text (byte {at} starts no UTF-8 character); save it as UTF-8")
    })
}

/// Where the deployment answers, and so the `iss` of its tokens: [`Environment::issuer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Issuer {
    /// `https://<api.custom_domain.domain_name>`.
    Domain(String),
    /// The stage's execute-api URL, known once the API exists.
    Api,
}

// ---------------------------------------------------------------------------------------------

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
        let bytes = std::fs::read(path).map_err(|source| EnvError::Read { path: shown.clone(), source })?;
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
            .map_err(|e| EnvError::Invalid { path: shown.clone(), message: e.to_string() })?;
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
        let err = |key: &str, message: String| Err((key.to_owned(), message));
        self.token.clients.check()?;
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
        if let Some(domain) = &self.api.custom_domain {
            public_domain(&domain.domain_name.0).or_else(|message| err("api.custom_domain.domain_name", message))?;
            certificate_fits(&domain.certificate_arn.0, self.region.as_str(), self.account_id.as_str())
                .or_else(|message| err("api.custom_domain.certificate_arn", message))?;
        }
        self.issuer_is_served().or_else(|message| err("token.issuer", message))
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
            Self::files(dir).map_err(|source| EnvError::Read { path: dir.display().to_string(), source })?;
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
