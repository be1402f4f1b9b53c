//! Related bidders (sharing an address or a machine) all submitted in the last minutes
//! before the deadline.

use chrono::Duration;

use super::{shared, BidFacts, Finding, RiskRule, RiskThresholds, RuleInfo, Severity, TradeFacts};

pub struct LastMinute;

impl RiskRule for LastMinute {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            id: "last_minute_cluster",
            name: "关联投标人在截止前集中投标",
            severity: Severity::Orange,
            basis: "中华人民共和国招标投标法实施条例 第三十九条、第四十条",
        }
    }

    fn check(&self, trade: &TradeFacts, _: &[TradeFacts], t: &RiskThresholds) -> Vec<Finding> {
        let window = Duration::minutes(t.last_minutes.value);
        let late: Vec<BidFacts> = trade
            .bids
            .iter()
            .filter(|b| b.received_at >= trade.deadline - window && b.received_at < trade.deadline)
            .cloned()
            .collect();
        let mut groups: std::collections::BTreeSet<Vec<String>> = std::collections::BTreeSet::new();
        for (_, who) in shared(&late, |b: &BidFacts| {
            b.addresses
                .iter()
                .map(String::as_str)
                .chain(b.machine.as_deref())
                .collect()
        }) {
            groups.insert(who);
        }
        groups
            .into_iter()
            .map(|subjects| {
                let times: Vec<String> = late
                    .iter()
                    .filter(|b| subjects.contains(&b.usci))
                    .map(|b| crate::domain::clock::rfc3339(b.received_at))
                    .collect();
                Finding {
                    rule: self.info(),
                    summary: format!("{} 家关联投标人在截止前 {} 分钟内集中投标", subjects.len(), t.last_minutes.value),
                    evidence: serde_json::json!({ "bidders": subjects, "received_at": times, "deadline": crate::domain::clock::rfc3339(trade.deadline), "window_minutes": t.last_minutes.value }),
                    subjects,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{at, clean, thresholds};
    use super::*;

    #[test]
    fn fires_on_related_bids_at_the_last_minute_and_not_on_early_ones() {
        let mut t = clean();
        t.bids[1].machine = t.bids[0].machine.clone();
        assert!(
            LastMinute.check(&t, &[], &thresholds()).is_empty(),
            "related but early"
        );
        t.bids[0].received_at = at(24 * 60 - 3);
        t.bids[1].received_at = at(24 * 60 - 1);
        let found = LastMinute.check(&t, &[], &thresholds());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].subjects, vec!["A", "BB"]);
        // Unrelated bids at the last minute are ordinary.
        let mut u = clean();
        for b in &mut u.bids {
            b.received_at = at(24 * 60 - 2);
        }
        assert!(LastMinute.check(&u, &[], &thresholds()).is_empty());
        // The window ends before the deadline: a bid stamped at the deadline itself is not in
        // it (the intake refuses it), so two related bids there are no cluster.
        t.bids[0].received_at = at(24 * 60);
        assert!(LastMinute.check(&t, &[], &thresholds()).is_empty());
    }
}
