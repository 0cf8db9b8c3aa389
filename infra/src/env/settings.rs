//! The environment file's sections as typed settings: one struct per section, each key
//! range-checked while it is read (see `super::scalars`).

use super::*;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::fmt;

/// Why an environment could not be loaded. Each message names the place to fix.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    /// There is no environment file of that name in the environments folder.
    #[error("unknown environment `{name}`: no file {path}; known environments: {known}")]
    Unknown {
        /// The environment name asked for.
        name: String,
        /// The file looked for, `<name>.yaml` in the environments folder.
        path: String,
        /// The environments there are, comma-separated, or why there are none.
        known: String,
    },
    /// The file or the environments folder could not be read.
    #[error("{path}: cannot read: {cause}")]
    Read {
        /// The file or folder.
        path: String,
        /// The I/O error (in the message, so not repeated as a source).
        cause: std::io::Error,
    },
    /// The file's content is refused: not UTF-8, a YAML form environment files refuse, or a key
    /// or value that is unknown, missing or out of range.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong, with the key and line where there is one.
        message: String,
    },
    /// The file's name is not one an environment may have (what [`NamePart`] accepts).
    #[error(
        "{path}: `{name}` cannot be an environment name: it names stacks and resources, so use 1 to 24 lowercase letters, digits or hyphens, starting with a letter (CloudFormation stack names match [a-zA-Z][-a-zA-Z0-9]*); rename the file"
    )]
    BadName {
        /// The name: the file's stem.
        name: String,
        /// The file.
        path: String,
    },
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
    pub(super) keys: crate::yaml_keys::KeyLines,
    /// The AWS account the stacks belong to; deploy refuses any other.
    pub account_id: AccountId,
    /// The AWS Region of the stacks (`region`), e.g. `eu-west-1`.
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
    /// The token function's Lambda settings (the `function` section).
    pub function: FunctionSettings,
    /// What tokens carry and which clients get them (the `token` section).
    pub token: TokenSettings,
    /// The REST API in front of the function (the `api` section).
    pub api: ApiSettings,
    /// The KMS signing keys and how tokens are signed (the `signing_key` section).
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

/// The token function (the `function` section).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionSettings {
    /// The instruction set the function runs on (`function.architecture`): `arm64` or `x86_64`.
    pub architecture: Architecture,
    /// Memory in MB (`function.memory_mb`), which also sets the CPU share: 128 to 10,240 (Lambda
    /// developer guide, "Lambda quotas").
    pub memory_mb: Bounded<128, 10240>,
    /// Longest an invocation may run, in seconds (`function.timeout_seconds`): 1 to 900 (Lambda
    /// developer guide, "Lambda quotas"); above 29 warns, as API Gateway stops waiting at 29 s.
    pub timeout_seconds: Bounded<1, 900>,
    /// Reserved concurrency; omit for the account's unreserved pool.
    #[serde(default)]
    pub reserved_concurrency: Option<Bounded<1, 100_000>>,
    /// X-Ray tracing (`function.tracing`): `Active` or `PassThrough`.
    pub tracing: TracingMode,
    /// The function's `ApplicationLogLevel` (`function.log_level`): `trace`, `debug` or `info`.
    pub log_level: LogLevel,
    /// Days CloudWatch Logs keeps the function's logs (`function.log_retention_days`): one of
    /// [`RETENTION_DAYS`] (CloudWatch Logs API reference, `PutRetentionPolicy`).
    pub log_retention_days: RetentionDays,
    /// Shift traffic to new code gradually through a `live` alias with CodeDeploy, rolling
    /// back on the critical alarms; omit to update the function in place.
    #[serde(default)]
    pub canary: Option<CanarySettings>,
}

/// Gradual traffic shifting to new function code (`function.canary`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanarySettings {
    /// A CodeDeploy predefined Lambda configuration.
    pub deployment: CanaryDeployment,
    /// Minutes CloudFormation watches the critical alarms after an update (rollback triggers).
    pub rollback_monitoring_minutes: Bounded<0, 180>,
}

/// How CodeDeploy shifts traffic to a new function version (`function.canary.deployment`),
/// written as the predefined configuration's name without `CodeDeployDefault.Lambda` (CodeDeploy
/// user guide, "Deployment configurations on an AWS Lambda compute platform").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum CanaryDeployment {
    /// 10 % of traffic first, the rest 5 minutes later.
    Canary10Percent5Minutes,
    /// 10 % of traffic first, the rest 10 minutes later.
    Canary10Percent10Minutes,
    /// 10 % of traffic first, the rest 15 minutes later.
    Canary10Percent15Minutes,
    /// 10 % of traffic first, the rest 30 minutes later.
    Canary10Percent30Minutes,
    /// 10 % more of the traffic every minute.
    Linear10PercentEvery1Minute,
    /// 10 % more of the traffic every 2 minutes.
    Linear10PercentEvery2Minutes,
    /// 10 % more of the traffic every 3 minutes.
    Linear10PercentEvery3Minutes,
    /// 10 % more of the traffic every 10 minutes.
    Linear10PercentEvery10Minutes,
    /// All traffic at once.
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

/// The function's log level (`function.log_level`), written in lowercase. Lambda drops lines
/// below it (Lambda developer guide, "Log-level filtering").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// `trace`: every line, the function's own trace and debug lines included.
    Trace,
    /// `debug`: the function's own debug lines and above.
    Debug,
    /// `info`: INFO lines and above, the metric lines among them.
    Info,
    /// `warn`: refused when the file is loaded, as Lambda would drop the INFO metric lines.
    Warn,
    /// `error`: refused when the file is loaded, as for `warn`.
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

/// What tokens carry and which clients get them (the `token` section).
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
    /// The client's `client_id` (`token.clients[].id`): 1 to 128 letters, digits, `.`, `_` or
    /// `-`, unique in the file.
    pub id: ClientId,
    /// Scopes it may ask for (`allowed_scopes`): at least one RFC 6749 §3.3 scope token.
    pub allowed_scopes: BTreeSet<Scope>,
    /// Scopes it gets when it asks for none (`default_scopes`; optional): a subset of
    /// `allowed_scopes`.
    #[serde(default)]
    pub default_scopes: BTreeSet<Scope>,
    /// Its own token lifetime in seconds (`ttl_seconds`; optional): 60 to 86,400; omit for
    /// `token.ttl_seconds`.
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
    pub(super) fn check(&self) -> Result<(), (String, String)> {
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

/// The REST API in front of the function (the `api` section).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    /// The API Gateway stage, also the first path segment of the default URL.
    pub stage_name: StageName,
    /// The stage's throttling (`api.throttling`).
    pub throttling: Throttling,
    /// Days CloudWatch Logs keeps the API's access logs (`api.access_log_retention_days`): one
    /// of [`RETENTION_DAYS`] (CloudWatch Logs API reference, `PutRetentionPolicy`).
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

/// API Gateway throttling of the stage (`api.throttling`); the account's own throttle bounds
/// the sum over environments (`account_quotas`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Throttling {
    /// Steady-state requests per second, for the whole stage.
    pub rate_limit: Bounded<1, 10_000>,
    /// Burst bucket size.
    pub burst_limit: Bounded<1, 5_000>,
}

/// An AWS WAF web ACL in front of the API, with a rate-based rule per client IP (`api.waf`).
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

/// A custom domain name for the API (`api.custom_domain`); the API then answers at it alone,
/// and it is the issuer.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomDomain {
    /// The public DNS name, in lowercase (`api.custom_domain.domain_name`), e.g.
    /// `auth.example.com`.
    pub domain_name: DomainName,
    /// A regional ACM certificate in the environment's region covering `domain_name`.
    pub certificate_arn: CertificateArn,
}

/// The KMS signing keys and how tokens are signed (the `signing_key` section).
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

/// How deploys happen (the `deploy` section).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploySettings {
    /// Days S3 keeps an artifact version after it was overwritten or deleted (noncurrent-version
    /// expiration). Current artifacts never expire: a rollback may need any of them.
    pub artifact_retention_days: Bounded<1, 3650>,
    /// When deploys may run; omit for any time.
    #[serde(default)]
    pub change_window: Option<ChangeWindow>,
    /// Hours a saved plan (`diff --out`) stays deployable with `deploy --from-plan`; an older
    /// one is refused and must be made again. 24 when omitted.
    #[serde(default = "default_plan_max_age_hours")]
    pub plan_max_age_hours: Bounded<1, 720>,
    /// Whether `deploy --hotswap` and `watch` may update the function's code directly, outside
    /// CloudFormation (the stack drifts until the next full deploy), and the deploy role may
    /// call what that takes. False when omitted: a shared or production environment never
    /// changes but through its change sets.
    #[serde(default)]
    pub allow_hotswap: bool,
}

fn default_plan_max_age_hours() -> Bounded<1, 720> {
    Bounded(24)
}

/// Deploys from GitHub Actions through OIDC (the `ci` section).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CiSettings {
    /// `owner/name` of the GitHub repository whose workflows may deploy this environment,
    /// from a job running in the GitHub environment of the same name.
    pub github_repository: GithubRepository,
    /// Create the account's GitHub OIDC provider (once per account); otherwise it must exist.
    pub create_oidc_provider: bool,
    /// Pull requests plan this environment (`.github/workflows/plan.yml`, and the merge deploys
    /// that plan): the bootstrap stack creates the plan role their jobs assume. Off by default.
    #[serde(default)]
    pub plan_pull_requests: bool,
}

/// Days and hours (UTC) a deploy may start in.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeWindow {
    /// Days a deploy may start on (`deploy.change_window.days`): at least one, each once.
    pub days: BTreeSet<Weekday>,
    /// First hour (UTC) a deploy may start.
    pub start_hour_utc: Bounded<0, 23>,
    /// Deploys must start before this hour (UTC).
    pub end_hour_utc: Bounded<1, 24>,
}

/// A day of the week, written `mon` to `sun`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    /// Monday, `mon`.
    Mon,
    /// Tuesday, `tue`.
    Tue,
    /// Wednesday, `wed`.
    Wed,
    /// Thursday, `thu`.
    Thu,
    /// Friday, `fri`.
    Fri,
    /// Saturday, `sat`.
    Sat,
    /// Sunday, `sun`.
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

/// Rules `validate` enforces on this environment's templates (the `policy` section).
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

/// Alert topics, alarm thresholds, dashboard and budget (the `monitoring` section).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitoringSettings {
    /// Where this environment's runbook is published; each alarm links to its section.
    pub runbook_url: RunbookUrl,
    /// Who hears about alarms (`monitoring.notifications`).
    pub notifications: Notifications,
    /// Every alarm's threshold and evaluation (`monitoring.alarms`), one key per alarm.
    pub alarms: Alarms,
    /// The account's monthly cost budget (`monitoring.budget`).
    pub budget: BudgetSettings,
}

/// Who hears about alarms: `critical` pages, `warning` informs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    /// Subscribers of the `critical` topic (`monitoring.notifications.critical`).
    pub critical: Targets,
    /// Subscribers of the `warning` topic (`monitoring.notifications.warning`).
    pub warning: Targets,
}

/// The subscribers of one SNS alert topic.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// Email addresses subscribed to the topic (`emails`; optional).
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
    /// The threshold in the alarm's unit (`monitoring.alarms.<alarm>.threshold`): finite, at
    /// least 0.
    pub threshold: f64,
    /// The period in seconds (`period_seconds`): 10, 20, 30 or a multiple of 60 up to 86,400
    /// (CloudWatch API reference, `PutMetricAlarm`, `Period`).
    pub period_seconds: u32,
    /// Periods evaluated (`evaluation_periods`): 1 to 60,480, and times the period at most one
    /// day, or seven days for periods of an hour or more.
    pub evaluation_periods: u32,
    /// Breaching periods that fire the alarm (`datapoints_to_alarm`): 1 to `evaluation_periods`.
    pub datapoints_to_alarm: u32,
    /// Which topic it notifies (`severity`): `critical` or `warning`.
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
    pub(super) fn check(&self) -> Result<(), (&'static str, String)> {
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
    /// `critical`: notifies the `critical` topic (pages); with a canary, deploys roll back on it.
    Critical,
    /// `warning`: notifies the `warning` topic (informs).
    Warning,
}

/// The account's monthly AWS Budgets cost budget (`monitoring.budget`).
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

/// Settings of `infra serve`, the token endpoint on localhost (the `local` section; optional).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalSettings {
    /// Print the test clients' credentials when `serve` starts.
    #[serde(default)]
    pub print_credentials: bool,
}
