//! A bidder that quotes in sale after sale and never wins (抬价、陪拍): a live-sale rule
//! across trades, checked when a sale closes for each bidder that quoted in it.

use super::{Finding, RuleInfo, Severity};

pub const INFO: RuleInfo = RuleInfo {
    id: "price_pushing",
    name: "竞买人多次参与竞价抬高价格但从未成交",
    severity: Severity::Orange,
    basis: "中华人民共和国拍卖法 第三十七条 (竞买人之间、竞买人与拍卖人之间不得恶意串通); 第二十二条 (不得以竞买人身份参与自己组织的拍卖)",
};

/// One bidder's quoting across the closed live sales it quoted in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotingRecord {
    /// 统一社会信用代码.
    pub usci: String,
    pub organization: String,
    /// The closed sales it quoted in, with its number of accepted quotes in each, oldest
    /// first.
    pub sales: Vec<(String, u64)>,
    /// How many sales it won.
    pub wins: u64,
}

/// A finding for a bidder that quoted in at least `min_sales` closed sales and won none.
pub fn check(record: &QuotingRecord, min_sales: i64) -> Option<Finding> {
    let quoted = i64::try_from(record.sales.len()).unwrap_or(i64::MAX);
    if record.wins > 0 || quoted < min_sales.max(1) {
        return None;
    }
    let quotes: u64 = record.sales.iter().map(|(_, n)| n).sum();
    Some(Finding {
        rule: INFO,
        subjects: vec![record.usci.clone()],
        summary: format!(
            "{} 在 {} 场竞价中报价 {} 次, 从未成交",
            record.organization, quoted, quotes
        ),
        evidence: serde_json::json!({
            "organization": record.organization,
            "sales": record.sales.iter().map(|(t, n)| serde_json::json!({ "trade": t, "quotes": n })).collect::<Vec<_>>(),
            "quotes": quotes,
            "wins": record.wins,
            "min_sales": min_sales,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(sales: usize, wins: u64) -> QuotingRecord {
        QuotingRecord {
            usci: "91650100TEQT00000H".into(),
            organization: "某某公司".into(),
            sales: (0..sales).map(|i| (format!("t{i}"), 3)).collect(),
            wins,
        }
    }

    #[test]
    fn fires_for_a_bidder_that_keeps_quoting_and_never_wins() {
        assert_eq!(check(&record(2, 0), 3), None, "two sales are not a pattern");
        assert_eq!(check(&record(3, 1), 3), None, "it won one");
        let found = check(&record(3, 0), 3).unwrap_or_else(|| panic!("a finding"));
        assert_eq!(found.subjects, vec!["91650100TEQT00000H"]);
        assert_eq!(found.evidence["quotes"], 9);
        assert_eq!(found.rule.id, "price_pushing");
    }
}
