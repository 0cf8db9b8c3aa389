//! What several rules allow for one number of the environment file, together. Each rule alone
//! names the bound it sets and how to meet it; where the bounds leave no value at all, following
//! one message would only trip the other. [`Admissible`] gathers every rule's bound on a key and,
//! when no value lies between them, gives one message naming the rules and what to change
//! instead (another key, a policy, a quota).

use std::fmt::Write as _;

/// One rule's bound on a value.
#[derive(Clone, Debug, PartialEq)]
pub struct Bound {
    /// The bound, in the key's unit.
    pub value: f64,
    /// The value must differ from the bound (`<` or `>`), not merely reach it.
    pub strict: bool,
    /// The rule's id (`ALARM008`).
    pub rule: &'static str,
    /// Why the rule sets it, in a few words.
    pub why: String,
}

/// Every rule's bound on one key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Admissible {
    lower: Vec<Bound>,
    upper: Vec<Bound>,
}

impl Admissible {
    /// No bounds yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value must be `>= value` (`> value` when `strict`).
    #[must_use]
    pub fn lower(mut self, value: f64, strict: bool, rule: &'static str, why: impl Into<String>) -> Self {
        self.lower.push(Bound { value, strict, rule, why: why.into() });
        self
    }

    /// The value must be `<= value` (`< value` when `strict`).
    #[must_use]
    pub fn upper(mut self, value: f64, strict: bool, rule: &'static str, why: impl Into<String>) -> Self {
        self.upper.push(Bound { value, strict, rule, why: why.into() });
        self
    }

    /// The tightest lower and upper bound, when no value satisfies both.
    pub fn conflict(&self) -> Option<(&Bound, &Bound)> {
        let lo = tightest(&self.lower, true)?;
        let hi = tightest(&self.upper, false)?;
        (lo.value > hi.value || (lo.value == hi.value && (lo.strict || hi.strict))).then_some((lo, hi))
    }

    /// One line for a conflict over `key`: the two bounds with their rules, then `instead`.
    pub fn message(&self, key: &str, instead: &str) -> Option<String> {
        let (lo, hi) = self.conflict()?;
        let mut m = format!(
            "no value of {key} satisfies both {} ({} {}: {}) and {} ({} {}: {})",
            lo.rule,
            if lo.strict { "above" } else { "at least" },
            number(lo.value),
            lo.why,
            hi.rule,
            if hi.strict { "below" } else { "at most" },
            number(hi.value),
            hi.why
        );
        let _ = write!(m, "; {instead}");
        Some(m)
    }
}

/// The bound that leaves the fewest values: the highest lower bound (`higher`) or the lowest
/// upper bound, a strict one before an inclusive one at the same value.
fn tightest(bounds: &[Bound], higher: bool) -> Option<&Bound> {
    bounds.iter().reduce(|a, b| {
        let b_tighter = if higher { b.value > a.value } else { b.value < a.value };
        if b_tighter || (b.value == a.value && b.strict && !a.strict) { b } else { a }
    })
}

/// A bound as written: whole numbers without a fraction, others to two places.
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{v:.0}") } else { format!("{v:.2}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (lower, upper) as (value, strict) pairs, and whether no value satisfies both.
    #[test]
    fn conflicts_are_empty_intersections() {
        let rows = [
            ((100.0, false), (100.0, true), true), // >= 100 and < 100: reserved concurrency 1
            ((50.0, false), (100.0, true), false), // reserved concurrency 2
            ((1.0, false), (0.0, false), true),    // a reservation required where none fits
            ((1.0, false), (1.0, false), false),   // exactly one value
            ((1.0, true), (1.0, false), true),
            ((2.0, false), (1.0, false), true),
        ];
        for ((lo, lo_strict), (hi, hi_strict), empty) in rows {
            let a = Admissible::new().lower(lo, lo_strict, "A", "a").upper(hi, hi_strict, "B", "b");
            assert_eq!(a.conflict().is_some(), empty, "{lo} {lo_strict} {hi} {hi_strict}");
        }
        // The tightest bound on each side is the one named.
        let a = Admissible::new()
            .lower(1.0, false, "POL004", "required")
            .lower(2.0, false, "ALARM008", "alarm")
            .upper(1.0, false, "ACCT001", "account")
            .upper(5.0, false, "X", "x");
        let (lo, hi) = a.conflict().unwrap();
        assert_eq!((lo.rule, hi.rule), ("ALARM008", "ACCT001"));
        assert_eq!(
            a.message("k", "do this").unwrap(),
            "no value of k satisfies both ALARM008 (at least 2: alarm) and ACCT001 (at most 1: account); do this"
        );
        assert_eq!(Admissible::new().lower(1.0, false, "A", "a").conflict(), None);
    }
}
