//! The unified rulebook (统一交易规则): statutory numbers as versioned data, and the pure
//! checks that hold a trade to them.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::trade::TradeTerms;

/// The rulebook shipped with tradehall; `--rulebook FILE` replaces it.
pub const BUILTIN: &str = include_str!("../../rulebook/rulebook.toml");

/// One statutory (or platform) number and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub value: i64,
    pub article: String,
}

/// The numbers one procedure is held to. A missing rule does not apply to that procedure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Days from publication to the bid deadline.
    pub min_days_to_deadline: Option<Rule>,
    /// A clarification or amendment later than this many days before the deadline moves
    /// the deadline out to this many days after it.
    pub clarification_cutoff_days: Option<Rule>,
    /// Bid bond cap, basis points of the estimated value.
    pub bond_cap_basis_points: Option<Rule>,
    /// Bid bond cap as an absolute amount in minor units.
    pub bond_cap_amount: Option<Rule>,
    /// Fewer valid bids than this at the opening fails the trade (流标).
    pub min_bidders: Option<Rule>,
    /// How long the opening committee has to open after the deadline.
    pub opening_window_minutes: Option<Rule>,
    /// Fewest custodians (n) on the opening committee.
    pub min_custodians: Option<Rule>,
    /// Fewest custodians (k) needed together to open.
    pub min_threshold: Option<Rule>,
    /// On resuming a suspended trade, the deadline (or a running opening window) moves by
    /// this percentage of the time it was suspended. Absent: 100.
    pub resume_shift_percent: Option<Rule>,
}

/// A procedure for one trade kind, e.g. the open tender of a construction project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Procedure {
    pub kind: String,
    pub kind_name: String,
    pub procedure: String,
    pub procedure_name: String,
    /// Which engine runs it: `sealed_bid` today; `listing`, `auction` later.
    pub engine: String,
    pub rules: Rules,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulebookFile {
    version: String,
    title: String,
    procedures: Vec<Procedure>,
    /// Thresholds of the risk rules; without them the rules that need them do not run.
    #[serde(default)]
    risk: Option<super::risk::RiskThresholds>,
}

/// A loaded rulebook: its version, the digest of the exact text it came from, its entries.
#[derive(Debug, Clone, Serialize)]
pub struct Rulebook {
    pub version: String,
    pub title: String,
    pub sha256: String,
    pub procedures: Vec<Procedure>,
    pub risk: Option<super::risk::RiskThresholds>,
}

/// Why a rulebook file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RulebookError {
    #[error("rulebook is not valid: {0}")]
    Syntax(#[from] toml::de::Error),
    #[error("rulebook lists {kind}/{procedure} twice")]
    Duplicate { kind: String, procedure: String },
    #[error(
        "rulebook risk threshold {rule} is out of range (percentages 1 to 99, others positive)"
    )]
    Risk { rule: &'static str },
    #[error("rulebook rule {rule} of {kind}/{procedure} must be positive")]
    NotPositive {
        kind: String,
        procedure: String,
        rule: &'static str,
    },
}

/// A trade that breaks its rulebook: the rule's key, the article it comes from, and what
/// was wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message} ({article})")]
pub struct RuleViolation {
    pub rule: &'static str,
    pub article: String,
    pub message: String,
}

impl Rulebook {
    /// Parses rulebook text; `sha256` is the hex digest of `text` as given.
    pub fn parse(text: &str, sha256: String) -> Result<Self, RulebookError> {
        let file: RulebookFile = toml::from_str(text)?;
        let mut seen = BTreeMap::new();
        for p in &file.procedures {
            if seen
                .insert((p.kind.clone(), p.procedure.clone()), ())
                .is_some()
            {
                return Err(RulebookError::Duplicate {
                    kind: p.kind.clone(),
                    procedure: p.procedure.clone(),
                });
            }
            for (name, rule) in p.rules.named() {
                if rule.value <= 0 {
                    return Err(RulebookError::NotPositive {
                        kind: p.kind.clone(),
                        procedure: p.procedure.clone(),
                        rule: name,
                    });
                }
            }
        }
        if let Some(risk) = &file.risk {
            for (rule, r) in [
                (
                    "low_price_below_mean_percent",
                    &risk.low_price_below_mean_percent,
                ),
                (
                    "low_price_below_next_percent",
                    &risk.low_price_below_next_percent,
                ),
            ] {
                if !(1..100).contains(&r.value) {
                    return Err(RulebookError::Risk { rule });
                }
            }
            for (rule, r) in [
                (
                    "close_prices_spread_per_mille",
                    &risk.close_prices_spread_per_mille,
                ),
                (
                    "progression_tolerance_per_mille",
                    &risk.progression_tolerance_per_mille,
                ),
                ("last_minutes", &risk.last_minutes),
                ("rotation_min_trades", &risk.rotation_min_trades),
            ] {
                if r.value <= 0 {
                    return Err(RulebookError::Risk { rule });
                }
            }
        }
        Ok(Self {
            version: file.version,
            title: file.title,
            sha256,
            procedures: file.procedures,
            risk: file.risk,
        })
    }

    pub fn procedure(&self, kind: &str, procedure: &str) -> Option<&Procedure> {
        self.procedures
            .iter()
            .find(|p| p.kind == kind && p.procedure == procedure)
    }

    pub fn has_kind(&self, kind: &str) -> bool {
        self.procedures.iter().any(|p| p.kind == kind)
    }
}

impl Rules {
    fn named(&self) -> Vec<(&'static str, &Rule)> {
        let all = [
            ("min_days_to_deadline", &self.min_days_to_deadline),
            ("clarification_cutoff_days", &self.clarification_cutoff_days),
            ("bond_cap_basis_points", &self.bond_cap_basis_points),
            ("bond_cap_amount", &self.bond_cap_amount),
            ("min_bidders", &self.min_bidders),
            ("opening_window_minutes", &self.opening_window_minutes),
            ("min_custodians", &self.min_custodians),
            ("min_threshold", &self.min_threshold),
            ("resume_shift_percent", &self.resume_shift_percent),
        ];
        all.into_iter()
            .filter_map(|(n, r)| r.as_ref().map(|r| (n, r)))
            .collect()
    }
}

/// `days` calendar days, shortened by a demo `time_scale` (1 for real trades).
pub fn scaled_days(days: i64, time_scale: u32) -> Duration {
    Duration::milliseconds(days.saturating_mul(86_400_000) / i64::from(time_scale.max(1)))
}

fn violation(rule: &'static str, r: &Rule, message: String) -> RuleViolation {
    RuleViolation {
        rule,
        article: r.article.clone(),
        message,
    }
}

impl Procedure {
    /// Checks the terms of a trade that is created or published at `now`.
    pub fn check_terms(
        &self,
        terms: &TradeTerms,
        now: DateTime<Utc>,
        time_scale: u32,
    ) -> Result<(), RuleViolation> {
        self.check_deadline(terms.bid_deadline, now, time_scale)?;
        let rules = &self.rules;
        if let Some(r) = &rules.bond_cap_basis_points {
            let share = terms
                .bond_amount
                .basis_points_of(terms.estimated_value)
                .unwrap_or(i64::MAX);
            if share > r.value {
                return Err(violation(
                    "bond_cap_basis_points",
                    r,
                    format!(
                        "bid bond {} is {}.{:02}% of the estimate {}; the cap is {}.{:02}%",
                        terms.bond_amount,
                        share / 100,
                        share % 100,
                        terms.estimated_value,
                        r.value / 100,
                        r.value % 100
                    ),
                ));
            }
        }
        if let Some(r) = &rules.bond_cap_amount {
            if terms.bond_amount.minor_units() > r.value {
                return Err(violation(
                    "bond_cap_amount",
                    r,
                    format!(
                        "bid bond {} is above the cap of {} 分",
                        terms.bond_amount, r.value
                    ),
                ));
            }
        }
        let n = i64::try_from(terms.committee.custodians.len()).unwrap_or(i64::MAX);
        if let Some(r) = &rules.min_custodians {
            if n < r.value {
                return Err(violation(
                    "min_custodians",
                    r,
                    format!(
                        "the opening committee has {n} custodians; at least {} are required",
                        r.value
                    ),
                ));
            }
        }
        if let Some(r) = &rules.min_threshold {
            if i64::from(terms.committee.threshold) < r.value {
                return Err(violation(
                    "min_threshold",
                    r,
                    format!(
                        "an opening threshold of {} is below the minimum of {}",
                        terms.committee.threshold, r.value
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The deadline must leave at least the statutory period after `now` (the publication).
    pub fn check_deadline(
        &self,
        deadline: DateTime<Utc>,
        now: DateTime<Utc>,
        time_scale: u32,
    ) -> Result<(), RuleViolation> {
        if let Some(r) = &self.rules.min_days_to_deadline {
            let earliest = now + scaled_days(r.value, time_scale);
            if deadline < earliest {
                return Err(violation(
                    "min_days_to_deadline",
                    r,
                    format!(
                        "the bid deadline must be at least {} days after publication: not before {}",
                        r.value,
                        super::clock::rfc3339(earliest)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The deadline after a clarification or amendment issued at `at`: moved out to the
    /// cut-off if the answer came later than it (实施条例 第21条), otherwise unchanged.
    pub fn deadline_after_clarification(
        &self,
        deadline: DateTime<Utc>,
        at: DateTime<Utc>,
        time_scale: u32,
    ) -> DateTime<Utc> {
        match &self.rules.clarification_cutoff_days {
            Some(r) => deadline.max(at + scaled_days(r.value, time_scale)),
            None => deadline,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin() -> Rulebook {
        Rulebook::parse(BUILTIN, "test".into()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_builtin_rulebook_has_the_statutory_numbers() {
        let book = builtin();
        for kind in ["construction_tender", "government_procurement"] {
            let p = book
                .procedure(kind, "open_tender")
                .unwrap_or_else(|| panic!("{kind}"));
            let r = &p.rules;
            assert_eq!(r.min_days_to_deadline.as_ref().map(|r| r.value), Some(20));
            assert_eq!(
                r.clarification_cutoff_days.as_ref().map(|r| r.value),
                Some(15)
            );
            assert_eq!(r.bond_cap_basis_points.as_ref().map(|r| r.value), Some(200));
            assert_eq!(r.min_bidders.as_ref().map(|r| r.value), Some(3));
        }
    }

    #[test]
    fn an_unknown_rule_key_is_refused() {
        let text = BUILTIN.replace("min_bidders =", "min_biders =");
        assert!(Rulebook::parse(&text, String::new()).is_err());
    }

    #[test]
    fn a_late_clarification_moves_the_deadline_to_the_cutoff() {
        let book = builtin();
        let p = book
            .procedure("construction_tender", "open_tender")
            .unwrap_or_else(|| panic!());
        let deadline = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let early = deadline - Duration::days(16);
        assert_eq!(p.deadline_after_clarification(deadline, early, 1), deadline);
        let late = deadline - Duration::days(10);
        assert_eq!(
            p.deadline_after_clarification(deadline, late, 1),
            late + Duration::days(15)
        );
        // In a demo trade at 1440× a day lasts a minute.
        assert_eq!(
            p.deadline_after_clarification(deadline, deadline, 1440),
            deadline + Duration::minutes(15)
        );
    }
}
