//! Staged rotation of the signing key (`infra keys`). The service stack has two key slots, A and
//! B; its `SigningKeyStage` parameter says which exist, which one signs and which ones the JWKS
//! publishes. In `kms` mode a slot is a KMS key (`TokenSigningKey`, `TokenSigningKeyB`), created
//! and deleted with its stage; in envelope mode a key pair in the key pair secret, which `deploy`
//! generates and retires with the stage (`crate::deploy::key_pairs`). Each step of a rotation is a
//! normal CloudFormation update of that parameter:
//!
//! ```text
//! a ──▶ a-publish-b ──▶ b-signs-a-published ──▶ b ──▶ b-publish-a ──▶ a-signs-b-published ──▶ a
//!        (B created,      (B signs; A still       (A deleted: KMS schedules its deletion;
//!         published)       published)              A's key pair leaves the secret)
//! ```
//!
//! A step may run only when the previous one has been complete long enough: signing moves to
//! the new key only after verifiers' cached JWKS hold it (the function's `Cache-Control:
//! max-age`, or longer where verifiers keep keys longer: `signing_key.verifier_cache_seconds`,
//! by default API Gateway JWT authorizers' two hours), and the old key leaves the JWKS only after every token it signed has expired (the longest
//! token lifetime of the environment file or the deployed registry); each hold has a minute of
//! clock skew added.

use std::fmt;

use crate::env::Environment;

/// How long verifiers may cache the JWKS: the function's `Cache-Control: max-age` on it.
pub const JWKS_CACHE_SECONDS: u64 = token_function::http::JWKS_MAX_AGE_SECONDS;
/// How long a new key is published before it signs, seconds: the longest a verifier of `env`
/// keeps a JWKS, at least the JWKS's own `Cache-Control: max-age`.
pub fn published_before_signing(env: &Environment) -> u64 {
    u64::from(env.signing_key.verifier_cache_seconds.get()).max(JWKS_CACHE_SECONDS)
}

/// Clock skew allowed between this machine, the function and verifiers.
pub const CLOCK_SKEW_SECONDS: u64 = 60;

/// How long a new KMS key's alias and tags may take to authorize the function's `GetPublicKey`,
/// seconds: "up to five minutes" (AWS KMS developer guide, "ABAC for AWS KMS"). Until then the
/// function leaves the key out of the JWKS, and verifiers may cache that JWKS, so in kms mode
/// the key is published this much longer before it signs. Envelope mode's public keys are in
/// the key pair secret and need no KMS authorization.
pub const KMS_PROPAGATION_SECONDS: u64 = 300;

/// How long after a publishing step completes the new key may sign, seconds: the verifiers'
/// JWKS cache ([`published_before_signing`]), KMS's propagation in kms mode, and clock skew.
pub fn signing_hold(env: &Environment) -> u64 {
    let kms = match env.signing_key.mode {
        token_function::key_pairs::SigningMode::Kms => KMS_PROPAGATION_SECONDS,
        token_function::key_pairs::SigningMode::Envelope => 0,
    };
    published_before_signing(env) + kms + CLOCK_SKEW_SECONDS
}

/// A stage of the signing keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stage {
    /// Slot `a` signs and is the only one published: a new stack, and a stack from before
    /// rotation.
    #[default]
    A,
    /// `a-publish-b`: slot `b`'s key is created and published; `a` still signs.
    APublishB,
    /// `b-signs-a-published`: `b` signs; `a` stays published until its tokens have expired.
    BSignsAPublished,
    /// `b`: slot `b` alone holds a key, signs and is published; `a`'s key is retired.
    B,
    /// `b-publish-a`: slot `a`'s key is created and published; `b` still signs.
    BPublishA,
    /// `a-signs-b-published`: `a` signs; `b` stays published until its tokens have expired.
    ASignsBPublished,
}

/// A key slot.
pub use token_function::key_pairs::Slot;

impl Stage {
    /// Every stage, in rotation order; the first is a new stack's.
    pub const ALL: [Stage; 6] =
        [Stage::A, Stage::APublishB, Stage::BSignsAPublished, Stage::B, Stage::BPublishA, Stage::ASignsBPublished];

    /// The parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::A => "a",
            Stage::APublishB => "a-publish-b",
            Stage::BSignsAPublished => "b-signs-a-published",
            Stage::B => "b",
            Stage::BPublishA => "b-publish-a",
            Stage::ASignsBPublished => "a-signs-b-published",
        }
    }

    /// The stage whose parameter value is `text`, if any.
    pub fn parse(text: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The stage a `keys rotate` moves to.
    pub fn next(self) -> Stage {
        let at = Stage::ALL.iter().position(|s| *s == self).unwrap_or(0);
        Stage::ALL[(at + 1) % Stage::ALL.len()]
    }

    /// The slot whose key signs.
    pub fn signing(self) -> Slot {
        match self {
            Stage::A | Stage::APublishB | Stage::ASignsBPublished => Slot::A,
            Stage::BSignsAPublished | Stage::B | Stage::BPublishA => Slot::B,
        }
    }

    /// Whether the slot's key exists (and is published in the JWKS).
    pub fn has(self, slot: Slot) -> bool {
        match slot {
            Slot::A => self != Stage::B,
            Slot::B => self != Stage::A,
        }
    }

    /// Stages in which `slot` holds a key: for the template's conditions.
    pub fn with(slot: Slot) -> impl Iterator<Item = Stage> {
        Stage::ALL.into_iter().filter(move |s| s.has(slot))
    }

    /// Stages in which `slot` signs.
    pub fn signed_by(slot: Slot) -> impl Iterator<Item = Stage> {
        Stage::ALL.into_iter().filter(move |s| s.signing() == slot)
    }

    /// How long this stage must have been complete before the next step, and why.
    /// `registry_ttl` is the longest `ttl_seconds` of the deployed registry's clients (which
    /// may differ from the file's until `clients sync`).
    pub fn hold(self, env: &Environment, registry_ttl: u64) -> (u64, &'static str) {
        match self {
            Stage::APublishB | Stage::BPublishA => (
                signing_hold(env),
                "verifiers' cached JWKS (signing_key.verifier_cache_seconds) must hold the new key (and, in kms mode, KMS honour its new alias) before it signs",
            ),
            Stage::BSignsAPublished | Stage::ASignsBPublished => (
                longest_token_seconds(env).max(registry_ttl) + CLOCK_SKEW_SECONDS,
                "every token the old key signed must have expired before it leaves the JWKS",
            ),
            Stage::A | Stage::B => (0, "a rotation may start at any time"),
        }
    }

    /// What this stage means, for `keys status`.
    pub fn describe(self) -> &'static str {
        match self {
            Stage::A | Stage::B => "one key, signing and published",
            Stage::APublishB | Stage::BPublishA => "new key published; the old one still signs",
            Stage::BSignsAPublished | Stage::ASignsBPublished => "new key signs; the old one is still published",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest lifetime of a token the environment issues: `token.ttl_seconds` or a client's
/// own `ttl_seconds`, whichever is longer.
pub fn longest_token_seconds(env: &Environment) -> u64 {
    let clients = env.token.clients.0.iter().filter_map(|c| c.ttl_seconds.map(|t| u64::from(t.get())));
    clients.chain([u64::from(env.token.ttl_seconds.get())]).max().unwrap_or(0)
}

/// Whether the next step may run at `now`, given when the current stage was complete.
///
/// # Errors
/// The Unix second from which it may, with the reason.
pub fn may_advance(
    stage: Stage,
    env: &Environment,
    registry_ttl: u64,
    complete_at: u64,
    now: u64,
) -> Result<(), (u64, &'static str)> {
    let (hold, why) = stage.hold(env, registry_ttl);
    let from = complete_at.saturating_add(hold);
    if now >= from { Ok(()) } else { Err((from, why)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev() -> Environment {
        Environment::load_named(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments"), "dev")
            .unwrap()
    }

    /// Each stage: its value, the next stage, which slots hold keys and which signs.
    #[test]
    fn stages_rotate_through_both_slots() {
        let cases = [
            ("a", "a-publish-b", [true, false], Slot::A),
            ("a-publish-b", "b-signs-a-published", [true, true], Slot::A),
            ("b-signs-a-published", "b", [true, true], Slot::B),
            ("b", "b-publish-a", [false, true], Slot::B),
            ("b-publish-a", "a-signs-b-published", [true, true], Slot::B),
            ("a-signs-b-published", "a", [true, true], Slot::A),
        ];
        for (text, next, has, signs) in cases {
            let s = Stage::parse(text).unwrap();
            assert_eq!((s.as_str(), s.next().as_str()), (text, next));
            assert_eq!([s.has(Slot::A), s.has(Slot::B)], has, "{text}");
            assert_eq!(s.signing(), signs, "{text}");
            assert!(s.has(s.signing()), "{text}: the signing key exists");
            assert!(s.has(s.next().signing()), "{text}: the next signing key is already published");
        }
        assert_eq!(Stage::parse("A"), None);
        assert_eq!(Stage::parse(""), None);
    }

    /// The holds: the JWKS cache before signing moves, the longest token lifetime plus skew
    /// before the old key goes; nothing before a rotation starts.
    #[test]
    fn steps_wait_for_caches_and_tokens() {
        let env = dev();
        let longest = longest_token_seconds(&env);
        assert_eq!(longest, 3600, "dev: token.ttl_seconds 3600, inventory-service 900");
        let t = 1_800_000_000;
        let jwks = 7_200 + KMS_PROPAGATION_SECONDS + CLOCK_SKEW_SECONDS;
        assert_eq!(env.signing_key.mode, token_function::key_pairs::SigningMode::Kms, "dev signs in kms mode");
        assert_eq!(published_before_signing(&env), 7_200, "dev: API Gateway JWT authorizers' two hours by default");
        let tokens = longest + CLOCK_SKEW_SECONDS;
        let cases = [
            (Stage::A, 0, t, Ok(())),
            (Stage::APublishB, 0, t + jwks - 1, Err(t + jwks)),
            (Stage::APublishB, 0, t + jwks, Ok(())),
            (Stage::BSignsAPublished, 0, t + longest, Err(t + tokens)),
            (Stage::BSignsAPublished, 0, t + tokens, Ok(())),
            (Stage::BSignsAPublished, 7200, t + tokens, Err(t + 7200 + CLOCK_SKEW_SECONDS)),
            (Stage::BSignsAPublished, 60, t + tokens, Ok(())),
            (Stage::B, 0, t, Ok(())),
            (Stage::BPublishA, 0, t + 1, Err(t + jwks)),
            (Stage::ASignsBPublished, 0, t + 3000, Err(t + tokens)),
        ];
        for (stage, registry_ttl, now, want) in cases {
            let got = may_advance(stage, &env, registry_ttl, t, now).map_err(|(from, _)| from);
            assert_eq!(got, want, "{stage} (registry ttl {registry_ttl}) at {now}");
        }
        // Verifiers that keep the JWKS no longer than its max-age: 300 s plus skew, and in kms
        // mode KMS's five minutes before the new key is in the JWKS at all.
        let text = std::fs::read_to_string(&env.source).unwrap();
        let short = text.replacen("signing_key:\n", "signing_key:\n  verifier_cache_seconds: 300\n", 1);
        let envelope = short.replacen("signing_key:\n", "signing_key:\n  mode: envelope\n", 1);
        for (text, hold) in [(short, 660), (envelope, 360)] {
            let e = Environment::parse(&text, "dev", &env.source).unwrap();
            let at = |now| may_advance(Stage::APublishB, &e, 0, t, now).map_err(|(from, _)| from);
            assert_eq!(at(t + hold - 1), Err(t + hold), "{:?}", e.signing_key.mode);
            assert_eq!(at(t + hold), Ok(()), "{:?}", e.signing_key.mode);
        }
    }
}
