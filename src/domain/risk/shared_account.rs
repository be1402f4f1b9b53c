//! Deposits of different bidders paid from one bank account (不同投标人/竞买人的保证金从
//! 同一单位或者个人的账户转出): for a live sale, checked when a deposit is confirmed; for a
//! tender's bonds reported by the bank, checked at the opening.

use super::{Finding, RuleInfo, Severity};
use crate::domain::application::{Application, ApplicationStatus};

pub const INFO: RuleInfo = RuleInfo {
    id: "shared_deposit_account",
    name: "不同竞买人的保证金从同一账户转出",
    severity: Severity::Red,
    basis: "中华人民共和国招标投标法实施条例 第四十条第(六)项 (竞买保证金参照)",
};

pub const BOND_INFO: RuleInfo = RuleInfo {
    id: "shared_bond_account",
    name: "不同投标人的投标保证金从同一账户转出",
    severity: Severity::Red,
    basis: "中华人民共和国招标投标法实施条例 第四十条第(六)项",
};

/// A finding for each account that paid the counted bonds of two or more bidders of one
/// tender. `bonds` holds (paying account, 统一社会信用代码 of the bidder it is for).
pub fn check_bonds(bonds: &[(String, String)]) -> Vec<Finding> {
    let mut by_account: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for (account, usci) in bonds {
        by_account.entry(account).or_default().push(usci.clone());
    }
    by_account
        .into_iter()
        .filter_map(|(account, mut subjects)| {
            subjects.sort();
            subjects.dedup();
            (subjects.len() >= 2).then(|| Finding {
                rule: BOND_INFO,
                summary: format!("{} 家投标人的投标保证金从同一账户转出", subjects.len()),
                evidence: serde_json::json!({ "payer_account": account, "bidders": subjects }),
                subjects,
            })
        })
        .collect()
}

/// A finding for each account that paid the confirmed deposits of two or more
/// organisations of one sale.
pub fn check(applications: &[Application]) -> Vec<Finding> {
    let mut by_account: std::collections::BTreeMap<&str, Vec<&Application>> = Default::default();
    for a in applications
        .iter()
        .filter(|a| a.deposit_at.is_some() && a.status != ApplicationStatus::Rejected)
    {
        by_account
            .entry(a.payer_account.as_str())
            .or_default()
            .push(a);
    }
    by_account
        .into_iter()
        .filter_map(|(account, paid)| {
            let mut subjects: Vec<String> = paid.iter().map(|a| a.usci.clone()).collect();
            subjects.sort();
            subjects.dedup();
            (subjects.len() >= 2).then(|| Finding {
                rule: INFO,
                summary: format!("{} 家竞买人的保证金从同一账户转出", subjects.len()),
                evidence: serde_json::json!({
                    "payer_account": account,
                    "bidders": paid.iter().map(|a| &a.organization).collect::<Vec<_>>(),
                }),
                subjects,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn paid(usci: &str, account: &str) -> Application {
        Application {
            id: usci.into(),
            trade_id: "t".into(),
            identity_id: usci.into(),
            usci: usci.into(),
            organization: format!("{usci} 公司"),
            payer_account: account.into(),
            payer_name: "p".into(),
            status: ApplicationStatus::Qualified,
            reason: None,
            applied_at: DateTime::<Utc>::default(),
            decided_at: None,
            decided_by: None,
            deposit_at: Some(DateTime::<Utc>::default()),
            bidder_number: None,
        }
    }

    #[test]
    fn bonds_of_two_bidders_from_one_account_are_found() {
        let bond = |account: &str, usci: &str| (account.to_owned(), usci.to_owned());
        assert!(check_bonds(&[bond("1", "A"), bond("2", "B")]).is_empty());
        let found = check_bonds(&[bond("1", "A"), bond("2", "B"), bond("1", "C")]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].subjects, vec!["A", "C"]);
        assert_eq!(found[0].rule.id, "shared_bond_account");
    }

    #[test]
    fn fires_when_one_account_pays_for_two_bidders() {
        let a = paid("A", "6222000011112222");
        let b = paid("B", "6222000033334444");
        assert!(check(&[a.clone(), b.clone()]).is_empty());
        let c = paid("C", "6222000011112222");
        let found = check(&[a.clone(), b, c]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].subjects, vec!["A", "C"]);
        assert_eq!(found[0].evidence["payer_account"], "6222000011112222");
        // An unpaid application on the account is no finding.
        let unpaid = Application {
            deposit_at: None,
            ..paid("D", "6222000011112222")
        };
        assert!(check(&[a, unpaid]).is_empty());
    }
}
