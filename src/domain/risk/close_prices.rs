//! Valid prices abnormally close to each other, or in a regular progression (报价呈规律性
//!差异).

use super::{per_mille, Finding, RiskRule, RiskThresholds, RuleInfo, Severity, TradeFacts};

pub struct ClosePrices;

impl RiskRule for ClosePrices {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            id: "close_or_regular_prices",
            name: "投标报价异常接近或呈规律性差异",
            severity: Severity::Orange,
            basis: "中华人民共和国招标投标法实施条例 第四十条第(四)项",
        }
    }

    fn check(&self, trade: &TradeFacts, _: &[TradeFacts], t: &RiskThresholds) -> Vec<Finding> {
        let mut prices = trade.valid_prices();
        if prices.len() < 3 {
            return Vec::new();
        }
        prices.sort_by_key(|(b, p)| (*p, b.usci.clone()));
        let mut subjects: Vec<String> = prices.iter().map(|(b, _)| b.usci.clone()).collect();
        subjects.sort();
        let values: Vec<i64> = prices.iter().map(|(_, p)| *p).collect();
        let (lowest, highest) = (values[0], values[values.len() - 1]);
        let mut found = Vec::new();
        if per_mille(highest - lowest, lowest)
            .is_some_and(|m| m < t.close_prices_spread_per_mille.value)
        {
            found.push(Finding {
                rule: self.info(),
                summary: format!("{} 个有效报价相差不足千分之{}", values.len(), t.close_prices_spread_per_mille.value),
                evidence: serde_json::json!({ "pattern": "close", "prices": values, "threshold_per_mille": t.close_prices_spread_per_mille.value, "article": t.close_prices_spread_per_mille.article }),
                subjects: subjects.clone(),
            });
        }
        let steps: Vec<i64> = values.windows(2).map(|w| w[1] - w[0]).collect();
        let first = steps[0];
        let regular = first > 0
            && steps.iter().all(|s| {
                per_mille((s - first).abs(), lowest)
                    .is_some_and(|m| m < t.progression_tolerance_per_mille.value)
            });
        if regular {
            found.push(Finding {
                rule: self.info(),
                summary: format!("{} 个有效报价呈等差排列, 级差约 {first}", values.len()),
                evidence: serde_json::json!({ "pattern": "progression", "prices": values, "steps": steps, "tolerance_per_mille": t.progression_tolerance_per_mille.value, "article": t.progression_tolerance_per_mille.article }),
                subjects,
            });
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{bid, clean, thresholds, trade};
    use super::*;

    #[test]
    fn fires_on_close_prices_and_on_a_progression_and_not_otherwise() {
        assert!(ClosePrices.check(&clean(), &[], &thresholds()).is_empty());
        let close = trade(
            "t",
            vec![
                bid("A", 10_000_000),
                bid("BB", 10_010_000),
                bid("CCC", 10_030_000),
            ],
        );
        let found = ClosePrices.check(&close, &[], &thresholds());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].evidence["pattern"], "close");
        let progression = trade(
            "t",
            vec![
                bid("A", 9_000_000),
                bid("BB", 9_500_000),
                bid("CCC", 10_000_000),
                bid("DDDD", 10_500_000),
            ],
        );
        let found = ClosePrices.check(&progression, &[], &thresholds());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].evidence["pattern"], "progression");
        // Two bids are no pattern.
        let two = trade("t", vec![bid("A", 10_000_000), bid("BB", 10_000_001)]);
        assert!(ClosePrices.check(&two, &[], &thresholds()).is_empty());
        // A spread of exactly the threshold (5‰) is not close; just under it is.
        let at_threshold = trade(
            "t",
            vec![
                bid("A", 10_000_000),
                bid("BB", 10_010_000),
                bid("CCC", 10_050_000),
            ],
        );
        assert!(ClosePrices
            .check(&at_threshold, &[], &thresholds())
            .is_empty());
        let under = trade(
            "t",
            vec![
                bid("A", 10_000_000),
                bid("BB", 10_010_000),
                bid("CCC", 10_049_999),
            ],
        );
        assert_eq!(ClosePrices.check(&under, &[], &thresholds()).len(), 1);
        // Identical prices are close, but no progression (a step of zero is no step).
        let same = trade(
            "t",
            vec![
                bid("A", 10_000_000),
                bid("BB", 10_000_000),
                bid("CCC", 10_000_000),
            ],
        );
        let found = ClosePrices.check(&same, &[], &thresholds());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].evidence["pattern"], "close");
    }
}
