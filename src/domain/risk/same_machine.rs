//! Different bidders' envelopes were sealed on the same machine.

use super::{shared, BidFacts, Finding, RiskRule, RiskThresholds, RuleInfo, Severity, TradeFacts};

pub struct SameMachine;

impl RiskRule for SameMachine {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            id: "same_machine",
            name: "不同投标人的投标文件由同一台电脑制作",
            severity: Severity::Red,
            basis: "中华人民共和国招标投标法实施条例 第四十条第(一)项",
        }
    }

    fn check(&self, trade: &TradeFacts, _: &[TradeFacts], _: &RiskThresholds) -> Vec<Finding> {
        shared(&trade.bids, |b: &BidFacts| {
            b.machine.iter().map(String::as_str).collect()
        })
        .into_iter()
        .map(|(machine, subjects)| Finding {
            rule: self.info(),
            summary: format!("{} 家投标人的投标文件出自同一机器", subjects.len()),
            evidence: serde_json::json!({ "machine": machine, "bidders": subjects }),
            subjects,
        })
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{clean, thresholds};
    use super::*;

    #[test]
    fn fires_on_a_shared_machine_and_not_otherwise() {
        let mut t = clean();
        assert!(SameMachine.check(&t, &[], &thresholds()).is_empty());
        t.bids[1].machine = t.bids[0].machine.clone();
        let found = SameMachine.check(&t, &[], &thresholds());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].subjects, vec!["A", "BB"]);
    }
}
