//! An abnormally low price: far below the mean of the others or below the next lowest (可能
//! 低于成本).

use super::{Finding, RiskRule, RiskThresholds, RuleInfo, Severity, TradeFacts};

pub struct LowPrice;

impl RiskRule for LowPrice {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            id: "abnormally_low_price",
            name: "投标报价异常偏低",
            severity: Severity::Yellow,
            basis: "中华人民共和国招标投标法 第三十三条; 中华人民共和国招标投标法实施条例 第五十一条第(五)项",
        }
    }

    fn check(&self, trade: &TradeFacts, _: &[TradeFacts], t: &RiskThresholds) -> Vec<Finding> {
        let mut prices = trade.valid_prices();
        if prices.len() < 2 {
            return Vec::new();
        }
        prices.sort_by_key(|(b, p)| (*p, b.usci.clone()));
        let (lowest, price) = prices[0];
        let next = prices[1].1;
        let others: Vec<i64> = prices[1..].iter().map(|(_, p)| *p).collect();
        let count = i128::try_from(others.len()).unwrap_or(1);
        let mean = i64::try_from(others.iter().map(|p| i128::from(*p)).sum::<i128>() / count)
            .unwrap_or(i64::MAX);
        // price < mean × (1 − x%)  ⇔  100·price < mean·(100 − x), in integers.
        let below = |reference: i64, percent: i64| {
            i128::from(price) * 100 < i128::from(reference) * i128::from(100 - percent)
        };
        let below_mean = below(mean, t.low_price_below_mean_percent.value);
        let below_next = below(next, t.low_price_below_next_percent.value);
        if !(below_mean || below_next) {
            return Vec::new();
        }
        vec![Finding {
            rule: self.info(),
            summary: format!("最低报价 {price} 明显低于其他报价 (均值 {mean}, 次低 {next})"),
            evidence: serde_json::json!({
                "price": price, "mean_of_others": mean, "next_lowest": next,
                "below_mean_percent": t.low_price_below_mean_percent.value, "below_mean": below_mean,
                "below_next_percent": t.low_price_below_next_percent.value, "below_next": below_next,
            }),
            subjects: vec![lowest.usci.clone()],
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{bid, clean, thresholds, trade};
    use super::*;

    #[test]
    fn fires_far_below_the_others_and_not_otherwise() {
        assert!(LowPrice.check(&clean(), &[], &thresholds()).is_empty());
        // 35% below the next lowest (threshold 30%), 38% below the mean (threshold 40%).
        let low = trade(
            "t",
            vec![
                bid("A", 6_500_000),
                bid("BB", 10_000_000),
                bid("CCC", 11_000_000),
            ],
        );
        let found = LowPrice.check(&low, &[], &thresholds());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].subjects, vec!["A"]);
        assert_eq!(found[0].evidence["below_next"], true);
        // 25% below the next: silent.
        let fine = trade(
            "t",
            vec![
                bid("A", 7_500_000),
                bid("BB", 10_000_000),
                bid("CCC", 10_500_000),
            ],
        );
        assert!(LowPrice.check(&fine, &[], &thresholds()).is_empty());
        // Two bids are enough to compare; one is not.
        let two = trade("t", vec![bid("A", 5_000_000), bid("BB", 10_000_000)]);
        assert_eq!(LowPrice.check(&two, &[], &thresholds()).len(), 1);
        let one = trade("t", vec![bid("A", 5_000_000)]);
        assert!(LowPrice.check(&one, &[], &thresholds()).is_empty());
        // Below the mean of the others alone: the others average ¥100,000.00 and A is 41%
        // under it (threshold 40%) but only 26% under the next (threshold 30%); exactly 40%
        // under is not below.
        let under_mean = trade(
            "t",
            vec![
                bid("A", 5_900_000),
                bid("BB", 8_000_000),
                bid("CCC", 12_000_000),
            ],
        );
        let found = LowPrice.check(&under_mean, &[], &thresholds());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].evidence["mean_of_others"], 10_000_000);
        assert_eq!(found[0].evidence["below_mean"], true);
        assert_eq!(found[0].evidence["below_next"], false);
        let at_mean_threshold = trade(
            "t",
            vec![
                bid("A", 6_000_000),
                bid("BB", 8_000_000),
                bid("CCC", 12_000_000),
            ],
        );
        assert!(LowPrice
            .check(&at_mean_threshold, &[], &thresholds())
            .is_empty());
    }
}
