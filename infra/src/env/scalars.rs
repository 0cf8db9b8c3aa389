//! Checked scalar types of the environment file. Each refuses bad values while deserializing,
//! so serde reports the key and line of the offending value.

use serde::Deserialize;
use std::fmt;

/// An integer in `MIN..=MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bounded<const MIN: u32, const MAX: u32>(pub(super) u32);

impl<const MIN: u32, const MAX: u32> Bounded<MIN, MAX> {
    /// The value, in `MIN..=MAX`.
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
pub struct RetentionDays(pub(super) u32);

impl RetentionDays {
    /// The retention period in days, one of [`RETENTION_DAYS`].
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
pub struct WafWindow(pub(super) u32);

impl WafWindow {
    /// The window in seconds: 60, 120, 300 or 600.
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
pub struct AlarmPeriod(pub(super) u32);

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
            /// The checked text.
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

/// The pattern of the resource schemas' tags (stack tags reach every resource of the stack):
/// Unicode letters, separators and numbers by general category, and `_ . : / = + - @`.
pub const TAG_PATTERN: &str = r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$";

/// `true` for the characters AWS tags allow ([`TAG_PATTERN`]). ASCII text is read directly
/// (its letters, digits and the space); other text by the pattern, compiled on first use. Letters
/// are the general category L, not the Alphabetic property: a combining vowel sign such as
/// U+0940 is Alphabetic but not a letter, and IAM and KMS refuse it in a tag.
fn is_tag_text(s: &str) -> bool {
    if s.is_ascii() {
        return s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ' || b"_.:/=+-@".contains(&b));
    }
    static TAG: std::sync::LazyLock<Option<fancy_regex::Regex>> =
        std::sync::LazyLock::new(|| fancy_regex::Regex::new(TAG_PATTERN).ok());
    TAG.as_ref().is_some_and(|re| re.is_match(s).unwrap_or(false))
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
pub(super) fn aws_host(host: &str) -> bool {
    host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn")
}

/// A custom domain is a name the public resolves, and not AWS's own: its URL is the issuer,
/// which verifiers fetch metadata from (RFC 8414 section 3), and API Gateway serves a custom
/// domain with a public certificate ("Set up custom domain names for REST APIs").
pub(super) fn public_domain(name: &str) -> Result<(), String> {
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
pub(super) fn utf8(bytes: Vec<u8>) -> Result<String, String> {
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
