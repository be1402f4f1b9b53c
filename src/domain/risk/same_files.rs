//! Bids from different bidders carry an identical attached file (异常一致).

use super::{shared, BidFacts, Finding, RiskRule, RiskThresholds, RuleInfo, Severity, TradeFacts};

pub struct SameFiles;

impl RiskRule for SameFiles {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            id: "identical_files",
            name: "不同投标人的投标文件异常一致",
            severity: Severity::Red,
            basis: "中华人民共和国招标投标法实施条例 第四十条第(四)项",
        }
    }

    fn check(&self, trade: &TradeFacts, _: &[TradeFacts], _: &RiskThresholds) -> Vec<Finding> {
        shared(&trade.bids, |b: &BidFacts| {
            b.files.iter().map(String::as_str).collect()
        })
        .into_iter()
        .map(|(sha256, subjects)| Finding {
            rule: self.info(),
            summary: format!("{} 家投标人提交了相同的文件", subjects.len()),
            evidence: serde_json::json!({ "file_sha256": sha256, "bidders": subjects }),
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
    fn fires_on_an_identical_file_and_not_otherwise() {
        let mut t = clean();
        assert!(SameFiles.check(&t, &[], &thresholds()).is_empty());
        t.bids[2].files.push("file-BB".into());
        let found = SameFiles.check(&t, &[], &thresholds());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].subjects, vec!["BB", "CCC"]);
    }
}
