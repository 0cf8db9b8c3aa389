//! The account's Lambda concurrency, read before a deploy: Lambda keeps at least 100 executions
//! (all of them where the account has 100 or fewer) unreserved, and refuses a function whose
//! reserved concurrency would take the account below that (Lambda developer guide, "Configuring
//! reserved concurrency"; "Lambda quotas"). New accounts often have a quota of 10 or 50, below
//! the 1,000 the ACCT001 rule assumes unless the file declares another.

use aws_smithy_types::error::display::DisplayErrorContext;

/// Whether reserving `wanted` executions for a function that now reserves `current` fits an
/// account with `limit` concurrent executions of which `unreserved` are unreserved now.
///
/// # Errors
/// One line saying how many the account can still reserve.
pub fn concurrency_fits(limit: i64, unreserved: i64, current: i64, wanted: i64) -> Result<(), String> {
    let minimum = limit.min(100);
    let after = unreserved + current - wanted;
    if wanted > current && after < minimum {
        let most = (unreserved + current - minimum).max(0);
        return Err(format!(
            "reserving {wanted} executions would leave {after} of the account's {limit} unreserved, below the {minimum} Lambda keeps; at most {most} can be reserved for this function now (raise the quota through Service Quotas, or lower function.reserved_concurrency)"
        ));
    }
    Ok(())
}

/// Reads the account's concurrency and the function's reservation from Lambda and holds the
/// environment's `reserved_concurrency` to [`concurrency_fits`]. No reservation: nothing to check.
///
/// # Errors
/// The reservation does not fit, or Lambda could not be read.
pub async fn check_concurrency(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    wanted: Option<u32>,
) -> Result<(), String> {
    let Some(wanted) = wanted else { return Ok(()) };
    let settings = lambda
        .get_account_settings()
        .send()
        .await
        .map_err(|e| format!("cannot read the account's Lambda settings: {}", DisplayErrorContext(e)))?;
    let limit = settings.account_limit().map_or(1000, |l| i64::from(l.concurrent_executions()));
    let unreserved =
        settings.account_limit().and_then(|l| l.unreserved_concurrent_executions()).map_or(limit, i64::from);
    let current = match lambda.get_function_concurrency().function_name(function).send().await {
        Ok(c) => c.reserved_concurrent_executions().map_or(0, i64::from),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => 0,
        Err(e) => return Err(format!("cannot read {function}'s concurrency: {}", DisplayErrorContext(e))),
    };
    concurrency_fits(limit, unreserved, current, i64::from(wanted))
}

#[cfg(test)]
mod tests {
    use super::concurrency_fits;

    #[test]
    fn a_reservation_leaves_the_minimum_unreserved() {
        // (limit, unreserved now, reserved by this function now, wanted, fits)
        let rows = [
            (1000, 1000, 0, 900, true),
            (1000, 1000, 0, 901, false),
            (1000, 1000, 0, 1000, false), // the example
            (1000, 800, 200, 200, true),  // unchanged
            (1000, 800, 200, 1000, false),
            (1000, 100, 200, 300, false), // another function took the rest
            (1000, 100, 200, 150, true),  // lowering is always allowed
            (10, 10, 0, 1, false),        // a new account's quota of 10
            (50, 50, 0, 1, false),
            (101, 101, 0, 1, true),
            (101, 101, 0, 2, false),
        ];
        for (limit, unreserved, current, wanted, fits) in rows {
            let got = concurrency_fits(limit, unreserved, current, wanted);
            assert_eq!(got.is_ok(), fits, "{limit} {unreserved} {current} {wanted}: {got:?}");
        }
        let e = concurrency_fits(10, 10, 0, 1).unwrap_err();
        assert!(e.contains("at most 0 can be reserved"), "{e}");
    }
}
