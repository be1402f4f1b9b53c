//! Risk rules (围标串标预警, 动态监测预警): each rule is its own small module with an id, a
//! name, a severity, the legal basis it implements, and a pure check over the facts of an
//! opened trade (and of earlier opened trades, for patterns across trades). Thresholds
//! come from the rulebook's `[risk]` table, never from code.

mod close_prices;
mod last_minute;
mod low_price;
pub mod price_pushing;
pub mod rotating_winner;
mod same_address;
mod same_files;
mod same_machine;
pub mod shared_account;
mod shared_key;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::rulebook::Rule;

/// How urgent an alert is (红 / 橙 / 黄).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Yellow,
    Orange,
    Red,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Red => "red",
            Severity::Orange => "orange",
            Severity::Yellow => "yellow",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Severity::Red, Severity::Orange, Severity::Yellow]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// What a rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleInfo {
    pub id: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    /// The law or regulation the rule implements.
    pub basis: &'static str,
}

/// One bid of an opened trade, as the risk rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BidFacts {
    /// 统一社会信用代码 of the bidder.
    pub usci: String,
    pub organization: String,
    /// Whether the opening found the bid valid.
    pub valid: bool,
    pub price: Option<i64>,
    /// The machine fingerprint the bidder's client recorded when sealing.
    pub machine: Option<String>,
    /// SHA-256 of each attached file.
    pub files: Vec<String>,
    pub received_at: DateTime<Utc>,
    /// Client addresses the bidder used: at submission, and at its logins.
    pub addresses: Vec<String>,
    /// SHA-256 of the public key of the certificate the bid was submitted with.
    pub keys: Vec<String>,
}

/// An opened trade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeFacts {
    pub trade: String,
    pub deadline: DateTime<Utc>,
    pub bids: Vec<BidFacts>,
}

impl TradeFacts {
    /// The valid bid with the lowest price (the provisional winner), if any.
    pub fn lowest(&self) -> Option<&BidFacts> {
        self.bids
            .iter()
            .filter(|b| b.valid && b.price.is_some())
            .min_by_key(|b| (b.price, b.usci.clone()))
    }

    fn valid_prices(&self) -> Vec<(&BidFacts, i64)> {
        self.bids
            .iter()
            .filter(|b| b.valid)
            .filter_map(|b| b.price.map(|p| (b, p)))
            .collect()
    }
}

/// Thresholds of the risk rules (rulebook `[risk]`), each with the article it rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskThresholds {
    /// A price this many percent below the mean of the other valid prices is abnormally low.
    pub low_price_below_mean_percent: Rule,
    /// A price this many percent below the next lowest valid price is abnormally low.
    pub low_price_below_next_percent: Rule,
    /// At least 3 valid prices within this spread (per mille of the lowest) are abnormally
    /// close.
    pub close_prices_spread_per_mille: Rule,
    /// At least 3 valid prices whose successive differences agree within this many per
    /// mille form a regular progression.
    pub progression_tolerance_per_mille: Rule,
    /// Bids from related parties (same address or machine) all received within this many
    /// minutes before the deadline are clustered.
    pub last_minutes: Rule,
    /// The same group of bidders together in at least this many opened trades, with the
    /// lowest price rotating among them, is 陪标.
    pub rotation_min_trades: Rule,
    /// A bidder that quoted in at least this many closed live sales and won none pushes
    /// prices (抬价); without it the rule does not run.
    #[serde(default)]
    pub price_pushing_min_sales: Option<Rule>,
}

/// What a rule found: the bidders it concerns and its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: RuleInfo,
    /// USCIs of the bidders concerned, sorted.
    pub subjects: Vec<String>,
    pub summary: String,
    pub evidence: serde_json::Value,
}

impl Finding {
    /// A stable key: the same rule finding the same bidders on the same trade is one alert.
    pub fn key(&self, trade: &str) -> String {
        format!("{}:{}:{}", self.rule.id, trade, self.subjects.join(","))
    }
}

/// A rule over an opened trade and the trades opened before it.
pub trait RiskRule: Sync {
    fn info(&self) -> RuleInfo;
    fn check(
        &self,
        trade: &TradeFacts,
        history: &[TradeFacts],
        thresholds: &RiskThresholds,
    ) -> Vec<Finding>;
}

/// Every shipped rule.
pub fn rules() -> [&'static dyn RiskRule; 8] {
    [
        &same_address::SameAddress,
        &same_machine::SameMachine,
        &shared_key::SharedKey,
        &same_files::SameFiles,
        &close_prices::ClosePrices,
        &low_price::LowPrice,
        &last_minute::LastMinute,
        &rotating_winner::RotatingWinner,
    ]
}

/// Runs every rule on `trade`.
pub fn evaluate(
    trade: &TradeFacts,
    history: &[TradeFacts],
    thresholds: &RiskThresholds,
) -> Vec<Finding> {
    rules()
        .iter()
        .flat_map(|r| r.check(trade, history, thresholds))
        .collect()
}

/// Groups bidders that share a value (an address, a machine, a file hash): every value
/// used by two or more different bidders, with those bidders' USCIs sorted.
fn shared<'a>(
    bids: &'a [BidFacts],
    values: impl Fn(&'a BidFacts) -> Vec<&'a str>,
) -> Vec<(&'a str, Vec<String>)> {
    let mut by_value: std::collections::BTreeMap<&str, std::collections::BTreeSet<&str>> =
        std::collections::BTreeMap::new();
    for bid in bids {
        for v in values(bid) {
            by_value.entry(v).or_default().insert(bid.usci.as_str());
        }
    }
    by_value
        .into_iter()
        .filter(|(_, who)| who.len() >= 2)
        .map(|(v, who)| (v, who.into_iter().map(str::to_owned).collect()))
        .collect()
}

/// Per mille of `part` over `whole`, rounded down; `None` if `whole` is not positive.
fn per_mille(part: i64, whole: i64) -> Option<i64> {
    (whole > 0)
        .then(|| i64::try_from(i128::from(part) * 1000 / i128::from(whole)).unwrap_or(i64::MAX))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn thresholds() -> RiskThresholds {
        let rule = |value| Rule {
            value,
            article: "test".into(),
        };
        RiskThresholds {
            low_price_below_mean_percent: rule(40),
            low_price_below_next_percent: rule(30),
            close_prices_spread_per_mille: rule(5),
            progression_tolerance_per_mille: rule(1),
            last_minutes: rule(10),
            rotation_min_trades: rule(3),
            price_pushing_min_sales: Some(rule(3)),
        }
    }

    pub fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minute * 60, 0).unwrap_or_default()
    }

    /// A valid bid by `usci` at `price`, from its own address and machine, early.
    pub fn bid(usci: &str, price: i64) -> BidFacts {
        BidFacts {
            usci: usci.into(),
            organization: format!("{usci} 公司"),
            valid: true,
            price: Some(price),
            machine: Some(format!("machine-{usci}")),
            files: vec![format!("file-{usci}")],
            received_at: at(0),
            addresses: vec![format!("10.0.0.{}", usci.len())],
            keys: vec![format!("key-{usci}")],
        }
    }

    pub fn trade(id: &str, bids: Vec<BidFacts>) -> TradeFacts {
        TradeFacts {
            trade: id.into(),
            deadline: at(24 * 60),
            bids,
        }
    }

    /// Three honest bids: distinct addresses, machines and files, ordinary prices.
    pub fn clean() -> TradeFacts {
        let mut a = bid("A", 9_870_000);
        let mut b = bid("BB", 9_410_000);
        let mut c = bid("CCC", 10_230_000);
        a.addresses = vec!["10.0.0.1".into()];
        b.addresses = vec!["10.0.0.2".into()];
        c.addresses = vec!["10.0.0.3".into()];
        trade("t-clean", vec![a, b, c])
    }

    #[test]
    fn every_rule_is_silent_on_a_clean_trade() {
        assert_eq!(evaluate(&clean(), &[], &thresholds()), vec![]);
    }

    #[test]
    fn per_mille_is_rounded_down_and_undefined_over_nothing() {
        assert_eq!(per_mille(5, 1000), Some(5));
        assert_eq!(per_mille(4_999, 1_000_000), Some(4));
        assert_eq!(per_mille(1, 0), None);
        assert_eq!(per_mille(1, -5), None);
    }

    #[test]
    fn severities_are_written_as_the_api_spells_them() {
        for (severity, name) in [
            (Severity::Red, "red"),
            (Severity::Orange, "orange"),
            (Severity::Yellow, "yellow"),
        ] {
            assert_eq!(severity.as_str(), name);
            assert_eq!(Severity::parse(name), Some(severity));
        }
        assert_eq!(Severity::parse("purple"), None);
        assert_eq!(Severity::parse(""), None);
    }

    #[test]
    fn the_provisional_winner_is_the_lowest_valid_priced_bid() {
        let mut t = clean();
        assert_eq!(t.lowest().map(|b| b.usci.as_str()), Some("BB"));
        // A lower price on an invalid bid, and a valid bid without a price, never win.
        t.bids[0].price = Some(1);
        t.bids[0].valid = false;
        t.bids[2].price = None;
        assert_eq!(t.lowest().map(|b| b.usci.as_str()), Some("BB"));
        t.bids[1].valid = false;
        assert_eq!(t.lowest(), None);
    }

    #[test]
    fn a_finding_is_keyed_by_rule_trade_and_bidders() {
        let mut t = clean();
        t.bids[1].machine = t.bids[0].machine.clone();
        let found = evaluate(&t, &[], &thresholds());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].key("t-1"), "same_machine:t-1:A,BB");
        assert_ne!(found[0].key("t-1"), found[0].key("t-2"));
    }

    #[test]
    fn rule_ids_are_unique_and_cite_a_basis() {
        let ids: std::collections::BTreeSet<&str> = rules().iter().map(|r| r.info().id).collect();
        assert_eq!(ids.len(), rules().len());
        assert!(rules().iter().all(|r| !r.info().basis.is_empty()));
    }
}
