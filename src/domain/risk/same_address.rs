//! Different bidders on one trade used the same client address (submission or login).

use super::{shared, BidFacts, Finding, RiskRule, RiskThresholds, RuleInfo, Severity, TradeFacts};

pub struct SameAddress;

impl RiskRule for SameAddress {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            id: "same_client_address",
            name: "不同投标人使用同一IP地址",
            severity: Severity::Red,
            basis: "中华人民共和国招标投标法实施条例 第四十条第(二)项",
        }
    }

    fn check(&self, trade: &TradeFacts, _: &[TradeFacts], _: &RiskThresholds) -> Vec<Finding> {
        shared(&trade.bids, |b: &BidFacts| {
            b.addresses.iter().map(String::as_str).collect()
        })
        .into_iter()
        .map(|(address, subjects)| Finding {
            rule: self.info(),
            summary: format!("{} 家投标人使用同一地址 {address}", subjects.len()),
            evidence: serde_json::json!({ "address": address, "bidders": subjects }),
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
    fn fires_on_a_shared_address_and_not_otherwise() {
        let mut t = clean();
        assert!(SameAddress.check(&t, &[], &thresholds()).is_empty());
        t.bids[2].addresses.push("10.0.0.1".into());
        let found = SameAddress.check(&t, &[], &thresholds());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].subjects, vec!["A", "CCC"]);
    }
}
