//! The same group of bidders appears together across several trades and takes turns at
//! the lowest price (陪标, 轮流中标).

use std::collections::BTreeSet;

use super::{Finding, RiskRule, RiskThresholds, RuleInfo, Severity, TradeFacts};

pub struct RotatingWinner;

fn bidders(t: &TradeFacts) -> BTreeSet<String> {
    t.bids.iter().map(|b| b.usci.clone()).collect()
}

impl RiskRule for RotatingWinner {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            id: "rotating_winner",
            name: "同一批投标人多次共同投标且轮流中标 (陪标)",
            severity: Severity::Red,
            basis: "中华人民共和国招标投标法实施条例 第三十九条第(一)、(三)项",
        }
    }

    fn check(
        &self,
        trade: &TradeFacts,
        history: &[TradeFacts],
        t: &RiskThresholds,
    ) -> Vec<Finding> {
        let group = bidders(trade);
        if group.len() < 2 {
            return Vec::new();
        }
        // Trades in which the whole group bid, this one included.
        let together: Vec<&TradeFacts> = std::iter::once(trade)
            .chain(
                history
                    .iter()
                    .filter(|h| h.trade != trade.trade && group.is_subset(&bidders(h))),
            )
            .collect();
        let min = usize::try_from(t.rotation_min_trades.value).unwrap_or(usize::MAX);
        if together.len() < min {
            return Vec::new();
        }
        let winners: BTreeSet<String> = together
            .iter()
            .filter_map(|t| t.lowest().map(|b| b.usci.clone()))
            .filter(|w| group.contains(w))
            .collect();
        if winners.len() < 2 {
            return Vec::new();
        }
        let subjects: Vec<String> = group.into_iter().collect();
        vec![Finding {
            rule: self.info(),
            summary: format!(
                "{} 家投标人共同出现在 {} 个项目中, 由 {} 家轮流报最低价",
                subjects.len(),
                together.len(),
                winners.len()
            ),
            evidence: serde_json::json!({
                "bidders": subjects,
                "trades": together.iter().map(|t| serde_json::json!({ "trade": t.trade, "lowest": t.lowest().map(|b| b.usci.clone()) })).collect::<Vec<_>>(),
                "min_trades": t.rotation_min_trades.value,
            }),
            subjects,
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{bid, thresholds, trade};
    use super::*;

    #[test]
    fn fires_when_a_group_takes_turns_and_not_when_one_always_wins() {
        let round = |id: &str, prices: [i64; 3]| {
            trade(
                id,
                vec![
                    bid("A", prices[0]),
                    bid("BB", prices[1]),
                    bid("CCC", prices[2]),
                ],
            )
        };
        let history = vec![round("t1", [1, 2, 3]), round("t2", [2, 1, 3])];
        let now = round("t3", [3, 2, 1]);
        let found = RotatingWinner.check(&now, &history, &thresholds());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].subjects, vec!["A", "BB", "CCC"]);
        // Two trades together are not enough.
        assert!(RotatingWinner
            .check(&now, &history[..1], &thresholds())
            .is_empty());
        // The same bidder always lowest: no rotation.
        let steady = vec![round("t1", [1, 2, 3]), round("t2", [1, 3, 2])];
        assert!(RotatingWinner
            .check(&round("t3", [1, 2, 3]), &steady, &thresholds())
            .is_empty());
        // Only trades in which the whole group bid count, and this trade only once: a
        // trade without CCC, and this trade again in the history, make no third.
        let pair = trade("t0", vec![bid("A", 2), bid("BB", 1)]);
        let history = vec![round("t1", [1, 2, 3]), pair, round("t3", [3, 2, 1])];
        assert!(RotatingWinner
            .check(&now, &history, &thresholds())
            .is_empty());
    }

    #[test]
    fn two_bidders_taking_turns_are_a_group() {
        let pair = |id: &str, a: i64, b: i64| trade(id, vec![bid("A", a), bid("BB", b)]);
        let history = vec![pair("t1", 1, 2), pair("t2", 2, 1)];
        let found = RotatingWinner.check(&pair("t3", 1, 2), &history, &thresholds());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].subjects, vec!["A", "BB"]);
        let alone = trade("t4", vec![bid("A", 1)]);
        assert!(RotatingWinner
            .check(&alone, &[alone.clone(), alone.clone()], &thresholds())
            .is_empty());
    }
}
