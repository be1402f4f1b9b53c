//! Different bidders signed with certificates over the same key pair: one holder acts for
//! several organisations.

use super::{shared, BidFacts, Finding, RiskRule, RiskThresholds, RuleInfo, Severity, TradeFacts};

pub struct SharedKey;

impl RiskRule for SharedKey {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            id: "shared_certificate_key",
            name: "不同投标人使用同一数字证书密钥",
            severity: Severity::Red,
            basis: "中华人民共和国招标投标法实施条例 第四十条第(二)项",
        }
    }

    fn check(&self, trade: &TradeFacts, _: &[TradeFacts], _: &RiskThresholds) -> Vec<Finding> {
        shared(&trade.bids, |b: &BidFacts| {
            b.keys.iter().map(String::as_str).collect()
        })
        .into_iter()
        .map(|(key, subjects)| Finding {
            rule: self.info(),
            summary: format!(
                "{} 家投标人的证书使用同一公钥（同一持有人）",
                subjects.len()
            ),
            evidence: serde_json::json!({ "public_key_sha256": key, "bidders": subjects }),
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
    fn fires_on_a_key_shared_by_two_bidders_and_not_otherwise() {
        let mut t = clean();
        assert!(SharedKey.check(&t, &[], &thresholds()).is_empty());
        // One organisation with two certificates over two keys is no finding.
        t.bids[0].keys.push("key-A-renewed".into());
        assert!(SharedKey.check(&t, &[], &thresholds()).is_empty());
        t.bids[2].keys = vec!["key-A-renewed".into()];
        let found = SharedKey.check(&t, &[], &thresholds());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].subjects, vec!["A", "CCC"]);
        assert_eq!(found[0].evidence["public_key_sha256"], "key-A-renewed");
    }
}
