//! The signing mode's capacity (SIGN): what the function asks of KMS at the most the API lets
//! through fits the account's KMS request quotas the environment file declares
//! (`signing_key.kms_quotas`, AWS's defaults unless raised).

use super::reservation::{ACCOUNT_CONCURRENCY, SYMMETRIC_REQUESTS_PER_COLD_START};
use super::{Ctx, Rule, Severity};
use crate::env::Environment;
use token_function::jwt::Algorithm;
use token_function::key_pairs::SigningMode;

/// SIGN001.
pub const SIGN001: Rule = Rule {
    id: "SIGN001",
    severity: Severity::Error,
    summary: "the signing mode's KMS calls fit the account's KMS request quota: in kms mode the API's rate and burst limits (one Sign per token), in envelope mode the function's concurrency (three symmetric requests per cold start)",
    source: "AWS KMS developer guide, \"Request quotas\"",
};

/// The rules of this family.
pub const RULES: &[&Rule] = &[&SIGN001];

pub(super) fn capacity(cx: &mut Ctx<'_>, env: &Environment) {
    let quotas = &env.signing_key.kms_quotas;
    match env.signing_key.mode {
        SigningMode::Kms => {
            let (quota, key, kind) = match env.signing_key.algorithm {
                Algorithm::ES256 => (quotas.ecc.get(), "signing_key.kms_quotas.ecc", "ECC"),
                Algorithm::RS256 => (quotas.rsa.get(), "signing_key.kms_quotas.rsa", "RSA"),
            };
            let throttling = &env.api.throttling;
            // The stage's rate, and its burst: a full bucket lets that many requests through at once.
            for (limit, name, what) in [
                (throttling.rate_limit.get(), "rate_limit", "requests per second"),
                (throttling.burst_limit.get(), "burst_limit", "requests at once"),
            ] {
                if limit > quota {
                    cx.push(
                        &SIGN001,
                        env.locate(&format!("api.throttling.{name}")),
                        format!(
                            "signing_key.mode kms makes one KMS Sign call per token: api.throttling.{name} lets {limit} {what} through, over the account's KMS {kind} quota of {quota}/s ({key}), so tokens would fail with KMS throttling; use signing_key.mode: envelope, lower the limit, or declare a raised quota"
                        ),
                    );
                }
            }
        }
        SigningMode::Envelope => {
            // Where no reservation fits, one finding: this rule's when its bound is the tightest.
            if let Some((_, hi)) = super::reservation::conflict(env) {
                if hi.rule == SIGN001.id {
                    let bounds = super::reservation::bounds(env);
                    let instead = super::reservation::instead(env, hi.rule, None);
                    let message = bounds.message("function.reserved_concurrency", &instead).unwrap_or_default();
                    cx.push(&SIGN001, env.locate(super::reservation::key(env)), message);
                }
                return;
            }
            let quota = quotas.symmetric.get();
            let (concurrency, unset) = match env.function.reserved_concurrency {
                Some(c) => (c.get(), ""),
                None => (ACCOUNT_CONCURRENCY, " (unset: the account's concurrency, 1,000 by default)"),
            };
            let requests = concurrency * SYMMETRIC_REQUESTS_PER_COLD_START;
            if requests > quota {
                cx.push(
                    &SIGN001,
                    env.locate("function.reserved_concurrency"),
                    format!(
                        "signing_key.mode envelope starts each execution environment with {SYMMETRIC_REQUESTS_PER_COLD_START} KMS symmetric requests (Decrypt of the key pair, and Secrets Manager's own Decrypt for each of the two secrets it reads): function.reserved_concurrency {concurrency}{unset} environments starting at once make {requests}, over the account's quota of {quota}/s (signing_key.kms_quotas.symmetric); reserve less concurrency or declare a raised quota"
                    ),
                );
            }
        }
    }
}
