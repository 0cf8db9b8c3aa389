//! Where no value can satisfy two rules together, one finding says so and what to change
//! instead, and no other finding gives advice that the first would then refuse. One row per
//! case of the kind, with its neighbours that leave a value.

use std::path::Path;

use infra::env::Environment;
use infra::stacks;
use infra::validate::{self, Finding, Sibling};

fn text(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../environments/{name}.yaml"))).unwrap()
}

/// Every finding of `name`'s file with the edits applied, the account rules included, against
/// `sibling` (a copy of prod named `qa`, same account) when given its own edits.
fn findings(name: &str, edits: &[(&str, &str)], sibling: Option<&[(&str, &str)]>) -> Vec<Finding> {
    let edit = |mut t: String, edits: &[(&str, &str)]| {
        for (from, to) in edits {
            assert!(t.contains(from) || from.is_empty(), "{name}.yaml no longer contains {from:?}");
            t = if from.is_empty() { format!("{t}{to}") } else { t.replacen(from, to, 1) };
        }
        t
    };
    let file = format!("environments/{name}.yaml");
    let env = Environment::parse(&edit(text(name), edits), name, Path::new(&file)).unwrap();
    let stacks = stacks::all(&env).unwrap();
    let qa =
        sibling.map(|e| Environment::parse(&edit(text("prod"), e), "qa", Path::new("environments/qa.yaml")).unwrap());
    let qa_stacks = qa.as_ref().map(|q| stacks::all(q).unwrap());
    let siblings: Vec<Sibling<'_>> = match (&qa, &qa_stacks) {
        (Some(env), Some(stacks)) => vec![Sibling { env, stacks }],
        _ => vec![],
    };
    let mut all = validate::all(&stacks, &env);
    all.extend(validate::account(&env, &stacks, &siblings, &[]));
    // The copy shares prod's names and singletons (ACCT003, ACCT004): not this kind.
    all.retain(|f| f.severity == validate::Severity::Error && !["ACCT003", "ACCT004"].contains(&f.rule));
    all
}

const RESERVED: &str = "  reserved_concurrency: 200";
const QUOTA_10: &str = "\naccount_quotas:\n  lambda_concurrent_executions: 10\n";
const QUOTA_101: &str = "\naccount_quotas:\n  lambda_concurrent_executions: 101\n";
const ENVELOPE: &str = "  mode: envelope";
const SYMMETRIC_5: &str = "  mode: envelope\n  kms_quotas: {symmetric: 5}";
const QUOTA_102: &str = "\naccount_quotas:\n  lambda_concurrent_executions: 102\n";

/// (what, the environment, its edits, the sibling's edits, the one finding expected: rule, path
/// part, message parts; `None` for none).
type Row = (
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
    Option<Vec<(&'static str, &'static str)>>,
    Option<(&'static str, &'static str, Vec<&'static str>)>,
);

/// Rows of the concurrency alarm's threshold against the reservation.
fn concurrency_alarm_rows() -> Vec<Row> {
    let dev_reserved = ("  timeout_seconds: 10", "  timeout_seconds: 10\n  reserved_concurrency: 1");
    vec![
        // The concurrency alarm's threshold: at least one of r executions, below r.
        (
            "reservation 1",
            "prod",
            vec![(RESERVED, "  reserved_concurrency: 1")],
            None,
            Some((
                "ALARM008",
                "monitoring.alarms.lambda_concurrency.threshold (line",
                vec![
                    "no value of monitoring.alarms.lambda_concurrency.threshold with function.reserved_concurrency 1",
                    "raise function.reserved_concurrency to at least 2 instead",
                ],
            )),
        ),
        (
            "reservation 1, none required",
            "dev",
            vec![dev_reserved],
            None,
            Some(("ALARM008", "lambda_concurrency.threshold", vec!["or remove it (the alarm goes with it)"])),
        ),
        ("reservation 2", "prod", vec![(RESERVED, "  reserved_concurrency: 2")], None, None),
    ]
}

/// Rows of the reservation against the account's concurrency quota.
fn reservation_rows() -> Vec<Row> {
    vec![
        // The reservation: required (POL004) or alarmed (ALARM008), within the account (ACCT001).
        (
            "reservation 1 where the account has none",
            "prod",
            vec![(RESERVED, "  reserved_concurrency: 1"), ("", QUOTA_10)],
            None,
            Some((
                "ACCT001",
                "function.reserved_concurrency (line",
                vec![
                    "no value of function.reserved_concurrency satisfies both ALARM008 (at least 2",
                    "ACCT001 (at most 0",
                    "set policy.require_reserved_concurrency: false",
                ],
            )),
        ),
        (
            "required, none set, the account has none",
            "prod",
            vec![("  reserved_concurrency: 200\n", ""), ("", QUOTA_10)],
            None,
            Some((
                "ACCT001",
                "policy.require_reserved_concurrency (line",
                vec!["no value of function.reserved_concurrency"],
            )),
        ),
        (
            "the account has one",
            "prod",
            vec![("", QUOTA_101)],
            None,
            Some(("ACCT001", "function.reserved_concurrency", vec!["at most 1", "raise the quota"])),
        ),
        ("the account has two", "prod", vec![(RESERVED, "  reserved_concurrency: 2"), ("", QUOTA_102)], None, None),
        (
            "another environment took the rest",
            "prod",
            vec![(RESERVED, "  reserved_concurrency: 2"), ("", QUOTA_102)],
            Some(vec![(RESERVED, "  reserved_concurrency: 1"), ("", QUOTA_102)]),
            Some((
                "ACCT001",
                "function.reserved_concurrency",
                vec!["less 1 reserved by qa 1", "lower the other reservations (qa 1)"],
            )),
        ),
    ]
}

/// Rows of envelope mode's KMS symmetric quota against the reservation.
fn envelope_rows() -> Vec<Row> {
    vec![
        // Envelope mode: three KMS symmetric requests per cold start within the account's quota
        // (SIGN001), against the alarm's two executions; without a reservation the account's
        // 1,000 would start at once, so one is needed.
        (
            "envelope: a quota of 5/s fits no reservation",
            "prod",
            vec![(RESERVED, "  reserved_concurrency: 2"), (ENVELOPE, SYMMETRIC_5)],
            None,
            Some((
                "SIGN001",
                "function.reserved_concurrency (line",
                vec![
                    "no value of function.reserved_concurrency satisfies both ALARM008 (at least 2",
                    "SIGN001 (at most 1",
                    "declare a raised quota in signing_key.kms_quotas.symmetric, or use signing_key.mode: kms",
                ],
            )),
        ),
        (
            "envelope: the same with a reservation of 1",
            "prod",
            vec![(RESERVED, "  reserved_concurrency: 1"), (ENVELOPE, SYMMETRIC_5)],
            None,
            Some(("SIGN001", "function.reserved_concurrency (line", vec!["SIGN001 (at most 1"])),
        ),
        (
            "envelope: the same with none",
            "prod",
            vec![("  reserved_concurrency: 200\n", ""), (ENVELOPE, SYMMETRIC_5)],
            None,
            Some(("SIGN001", "policy.require_reserved_concurrency (line", vec!["SIGN001 (at most 1"])),
        ),
        (
            "envelope: 6/s fits two",
            "prod",
            vec![(RESERVED, "  reserved_concurrency: 2"), (ENVELOPE, "  mode: envelope\n  kms_quotas: {symmetric: 6}")],
            None,
            None,
        ),
    ]
}

/// Rows of kms mode's signing rate against the account's KMS quota.
fn kms_rows() -> Vec<Row> {
    vec![
        // kms mode: one Sign per token within the account's KMS quota, which the other stages took.
        (
            "kms: no rate left",
            "prod",
            vec![
                (ENVELOPE, "  mode: kms"),
                ("    rate_limit: 500", "    rate_limit: 1"),
                ("    burst_limit: 1000", "    burst_limit: 1"),
            ],
            Some(vec![
                (ENVELOPE, "  mode: kms"),
                ("    rate_limit: 500", "    rate_limit: 300"),
                ("    burst_limit: 1000", "    burst_limit: 300"),
            ]),
            Some((
                "ACCT007",
                "api.throttling.rate_limit (line",
                vec![
                    "ACCT007 (at most 0: the account's KMS ES256 quota of 300/s less 300 signed for by qa 300",
                    "use signing_key.mode: envelope here",
                ],
            )),
        ),
        (
            "kms: one left",
            "prod",
            vec![
                (ENVELOPE, "  mode: kms"),
                ("    rate_limit: 500", "    rate_limit: 1"),
                ("    burst_limit: 1000", "    burst_limit: 1"),
            ],
            Some(vec![
                (ENVELOPE, "  mode: kms"),
                ("    rate_limit: 500", "    rate_limit: 299"),
                ("    burst_limit: 1000", "    burst_limit: 299"),
            ]),
            None,
        ),
    ]
}

/// Rows of a stage's rate against the account's throttle.
fn throttle_rows() -> Vec<Row> {
    vec![
        // A stage's rate within the account's throttle, which the other stages took.
        (
            "no rate left",
            "prod",
            vec![],
            Some(vec![("    rate_limit: 500", "    rate_limit: 10000")]),
            Some((
                "ACCT002",
                "api.throttling.rate_limit (line",
                vec![
                    "no value of api.throttling.rate_limit satisfies both",
                    "less 10000 taken by qa 10000",
                    "lower the other stages' rate limits",
                ],
            )),
        ),
        (
            "one left",
            "prod",
            vec![("    rate_limit: 500", "    rate_limit: 1")],
            Some(vec![("    rate_limit: 500", "    rate_limit: 9999")]),
            None,
        ),
    ]
}

#[test]
fn one_finding_where_no_value_satisfies_two_rules() {
    let rows = [concurrency_alarm_rows(), reservation_rows(), envelope_rows(), kms_rows(), throttle_rows()];
    for (what, name, edits, sibling, want) in rows.into_iter().flatten() {
        let got = findings(name, &edits, sibling.as_deref());
        match want {
            None => assert!(got.is_empty(), "{what}: {got:#?}"),
            Some((rule, path, parts)) => {
                assert_eq!(got.len(), 1, "{what}: one finding, not {got:#?}");
                let f = &got[0];
                assert!(f.rule == rule && f.path.contains(path), "{what}: {f:?}");
                for p in parts {
                    assert!(f.message.contains(p), "{what}:\n  got:  {}\n  want: {p}", f.message);
                }
            }
        }
    }
}
