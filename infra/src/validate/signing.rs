//! The signing mode's capacity (SIGN): what the function asks of KMS at the most the API lets
//! through fits the account's KMS request quotas the environment file declares
//! (`signing_key.kms_quotas`, AWS's defaults unless raised).

use super::{Ctx, Rule, Severity};
use crate::env::Environment;
use token_function::jwt::Algorithm;
use token_function::key_pairs::SigningMode;

/// SIGN001.
pub const SIGN001: Rule = Rule {
    id: "SIGN001",
    severity: Severity::Error,
    summary: "the signing mode's KMS calls fit the account's KMS request quota: in kms mode the API's rate and burst limits (one Sign per token), in envelope mode the function's concurrency (one Decrypt per cold start)",
};

/// The rules of this family.
pub const RULES: &[&Rule] = &[&SIGN001];

/// Lambda's default concurrency per account and region: what an environment without reserved
/// concurrency may scale to (Lambda developer guide, "Lambda quotas").
pub const ACCOUNT_CONCURRENCY: u32 = 1_000;

pub(super) fn capacity(cx: &mut Ctx<'_>, env: &Environment) {
    let quotas = &env.signing_key.kms_quotas;
    match env.signing_key.mode {
        SigningMode::Kms => {
            let (quota, key, kind) = match env.signing_key.algorithm {
                Algorithm::ES256 => (quotas.ecc.get(), "signing_key.kms_quotas.ecc", "ECC"),
                Algorithm::RS256 => (quotas.rsa.get(), "signing_key.kms_quotas.rsa", "RSA"),
            };
            let throttling = &env.api.throttling;
            for (limit, name) in
                [(throttling.rate_limit.get(), "rate_limit"), (throttling.burst_limit.get(), "burst_limit")]
            {
                if limit > quota {
                    cx.push(
                        &SIGN001,
                        env.locate(&format!("api.throttling.{name}")),
                        format!(
                            "signing_key.mode kms makes one KMS Sign call per token: api.throttling.{name} {limit}/s exceeds the account's KMS {kind} quota of {quota}/s ({key}), so tokens would fail with KMS throttling; use signing_key.mode: envelope, lower the limit, or declare a raised quota"
                        ),
                    );
                }
            }
        }
        SigningMode::Envelope => {
            let quota = quotas.symmetric.get();
            let (concurrency, from) = match env.function.reserved_concurrency {
                Some(c) => (c.get(), "function.reserved_concurrency"),
                None => (ACCOUNT_CONCURRENCY, "function.reserved_concurrency (unset: the account's 1,000)"),
            };
            if concurrency > quota {
                cx.push(
                    &SIGN001,
                    env.locate("function.reserved_concurrency"),
                    format!(
                        "signing_key.mode envelope makes one KMS Decrypt call per cold start: {from} {concurrency} new environments at once exceed the account's KMS symmetric quota of {quota}/s (signing_key.kms_quotas.symmetric); reserve less concurrency or declare a raised quota"
                    ),
                );
            }
        }
    }
}
