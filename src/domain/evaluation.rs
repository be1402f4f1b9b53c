//! Evaluation (评标): the method a tender states, the score sheet each expert signs, and
//! the ranking the sheets give (ADR 0014). Pure: the engine feeds it the opening
//! record's valid bids and the committee's sheets.
//!
//! - A bid is qualified when a strict majority of the experts pass it (符合性审查, 少数
//!   服从多数); the base price is the lowest qualified price.
//! - Lowest evaluated price (经评审的最低投标价法): qualified bids by price, lowest first.
//! - Comprehensive scoring (综合评分法): price score = base price / bid price × price
//!   weight (政府采购货物和服务招标投标管理办法 第55条), plus the mean over the experts
//!   of each expert's points on the other criteria; highest total first.
//! - Points are kept in hundredths; the price score and the mean are each rounded half
//!   up to a hundredth, as a scoring table shows them, and the total is their sum.
//! - Ties: equal totals go to the lower price (办法 第65条); equal prices to the bid
//!   received first (its log index), which no bidder can choose after the deadline.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::opening::RecordOrganization;

/// Version of the score sheet format.
pub const SHEET_VERSION: u8 = 1;

/// Points in hundredths of a point: `5250` is 52.50 points. JSON carries them as a
/// number with at most two decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Points(pub i64);

impl Serialize for Points {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Exact for every value a sheet can hold (at most 100 points).
        #[allow(clippy::cast_precision_loss)]
        s.serialize_f64(self.0 as f64 / 100.0)
    }
}

impl<'de> Deserialize<'de> for Points {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(d)?;
        let scaled = value * 100.0;
        let rounded = scaled.round();
        if !value.is_finite() || !(0.0..=1.0e6).contains(&value) || (scaled - rounded).abs() > 1e-6
        {
            return Err(serde::de::Error::custom(
                "points are a non-negative number with at most two decimals",
            ));
        }
        #[allow(clippy::cast_possible_truncation)]
        Ok(Points(rounded as i64))
    }
}

impl std::fmt::Display for Points {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// How a tender's bids are evaluated, as its documents state it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    LowestEvaluatedPrice,
    ComprehensiveScoring,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LowestEvaluatedPrice => "lowest_evaluated_price",
            Self::ComprehensiveScoring => "comprehensive_scoring",
        }
    }
}

/// A scoring criterion other than price, with its weight in points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    pub id: String,
    pub name: String,
    pub weight: u32,
}

/// The evaluation terms of a tender (`evaluation` in its terms). Absent terms mean the
/// lowest evaluated price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationTerms {
    pub method: Method,
    /// Points of the price score (comprehensive scoring only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_weight: Option<u32>,
    /// The other criteria (comprehensive scoring only); with the price weight they add
    /// up to 100 points.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub criteria: Vec<Criterion>,
}

impl Default for EvaluationTerms {
    fn default() -> Self {
        Self {
            method: Method::LowestEvaluatedPrice,
            price_weight: None,
            criteria: Vec::new(),
        }
    }
}

impl EvaluationTerms {
    /// Checks the terms' shape; the message says what is wrong.
    pub fn check(&self) -> Result<(), String> {
        match self.method {
            Method::LowestEvaluatedPrice => {
                if self.price_weight.is_some() || !self.criteria.is_empty() {
                    return Err(
                        "the lowest evaluated price method has no weights or criteria".into(),
                    );
                }
            }
            Method::ComprehensiveScoring => {
                let price = self.price_weight.unwrap_or(0);
                if price == 0 || self.criteria.is_empty() {
                    return Err(
                        "comprehensive scoring needs a price_weight and at least one other criterion"
                            .into(),
                    );
                }
                let mut ids = BTreeSet::new();
                for c in &self.criteria {
                    let id_ok = !c.id.is_empty()
                        && c.id.len() <= 32
                        && c.id
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                    if !id_ok || !ids.insert(c.id.as_str()) {
                        return Err(format!(
                            "criterion id {:?} must be unique, 1 to 32 of a-z, 0-9 and _",
                            c.id
                        ));
                    }
                    if c.weight == 0 || c.name.trim().is_empty() {
                        return Err(format!(
                            "criterion {} needs a name and a positive weight",
                            c.id
                        ));
                    }
                }
                let total: u32 = price + self.criteria.iter().map(|c| c.weight).sum::<u32>();
                if total != 100 {
                    return Err(format!(
                        "the price weight and the criteria's weights add up to {total} points, not 100"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// One expert's judgement of one bid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BidScore {
    /// The bid's log index in the opening record.
    pub log_index: i64,
    /// Whether the bid meets the tender's substantive requirements (符合性审查).
    pub pass: bool,
    /// Why not, when it does not pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Points per criterion id (comprehensive scoring, passing bids only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scores: BTreeMap<String, Points>,
}

/// What an expert signs: its judgement of every valid bid of the trade. The signature is
/// over `crypto::evaluation::sheet_message(JCS(sheet))` (docs/protocol.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreSheet {
    pub v: u8,
    pub trade: String,
    pub bids: Vec<BidScore>,
}

/// A valid bid of the opening record, as evaluation sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BidUnderEvaluation {
    pub log_index: i64,
    pub organization: RecordOrganization,
    /// Minor units.
    pub price: i64,
}

/// Why a sheet cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SheetError {
    #[error("the sheet is version {0}, this platform reads version 1")]
    Version(u8),
    #[error("the sheet is for trade {0}")]
    WrongTrade(String),
    #[error("the sheet must judge each valid bid once: {0}")]
    Bids(String),
    #[error("{0}")]
    Scores(String),
}

impl SheetError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Version(_) | Self::WrongTrade(_) => "invalid_sheet",
            Self::Bids(_) => "sheet_bids_mismatch",
            Self::Scores(_) => "invalid_scores",
        }
    }
}

/// Checks one expert's sheet against the trade's terms and valid bids.
pub fn check_sheet(
    terms: &EvaluationTerms,
    trade_id: &str,
    bids: &[BidUnderEvaluation],
    sheet: &ScoreSheet,
) -> Result<(), SheetError> {
    if sheet.v != SHEET_VERSION {
        return Err(SheetError::Version(sheet.v));
    }
    if sheet.trade != trade_id {
        return Err(SheetError::WrongTrade(sheet.trade.clone()));
    }
    let expected: BTreeSet<i64> = bids.iter().map(|b| b.log_index).collect();
    let mut seen = BTreeSet::new();
    for score in &sheet.bids {
        if !expected.contains(&score.log_index) {
            return Err(SheetError::Bids(format!(
                "{} is not a valid bid's log index",
                score.log_index
            )));
        }
        if !seen.insert(score.log_index) {
            return Err(SheetError::Bids(format!(
                "bid {} is judged twice",
                score.log_index
            )));
        }
        let reason = score.reason.as_deref().map(str::trim).unwrap_or_default();
        if !score.pass && reason.is_empty() {
            return Err(SheetError::Scores(format!(
                "bid {}: a bid that does not pass needs the reason (实施条例 第51条)",
                score.log_index
            )));
        }
        if !reason.is_empty() && !super::text::is_written(reason, 1000) {
            return Err(SheetError::Scores(format!(
                "bid {}: the reason is longer than 1000 characters or holds control characters",
                score.log_index
            )));
        }
        let scored = terms.method == Method::ComprehensiveScoring && score.pass;
        if !scored {
            if !score.scores.is_empty() {
                return Err(SheetError::Scores(format!(
                    "bid {}: points are given only to passing bids under comprehensive scoring",
                    score.log_index
                )));
            }
            continue;
        }
        let ids: BTreeSet<&str> = score.scores.keys().map(String::as_str).collect();
        let wanted: BTreeSet<&str> = terms.criteria.iter().map(|c| c.id.as_str()).collect();
        if ids != wanted {
            return Err(SheetError::Scores(format!(
                "bid {}: points are needed for exactly the criteria {}",
                score.log_index,
                wanted.into_iter().collect::<Vec<_>>().join(", ")
            )));
        }
        for c in &terms.criteria {
            let points = score.scores.get(&c.id).copied().unwrap_or_default();
            if points.0 > i64::from(c.weight) * 100 {
                return Err(SheetError::Scores(format!(
                    "bid {}: {} points for {} exceed its weight {}",
                    score.log_index, points, c.id, c.weight
                )));
            }
        }
    }
    if seen != expected {
        return Err(SheetError::Bids(format!(
            "{} of {} valid bids are judged",
            seen.len(),
            expected.len()
        )));
    }
    Ok(())
}

/// One bid after evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluatedBid {
    pub log_index: i64,
    pub organization: RecordOrganization,
    pub price: i64,
    /// How many experts passed and failed it.
    pub passed_by: usize,
    pub failed_by: usize,
    pub qualified: bool,
    /// The failing experts' reasons, in committee order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_score: Option<Points>,
    /// The mean of the experts' points on the other criteria.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_score: Option<Points>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<Points>,
    /// 1 for the best qualified bid; absent for a bid not qualified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
}

/// The committee's result: every valid bid, ranked where qualified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ranking {
    pub method: Method,
    /// The lowest qualified price, if any bid qualified.
    pub base_price: Option<i64>,
    /// In rank order, then the bids not qualified in log order.
    pub bids: Vec<EvaluatedBid>,
}

impl Ranking {
    /// The qualified bids, best first.
    pub fn qualified(&self) -> impl Iterator<Item = &EvaluatedBid> {
        self.bids.iter().filter(|b| b.rank.is_some())
    }
}

/// A ranked candidate (中标候选人) as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub rank: u32,
    pub log_index: i64,
    pub organization: RecordOrganization,
    pub price: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<Points>,
}

/// The first `max` qualified bids of a ranking.
pub fn candidates(ranking: &Ranking, max: usize) -> Vec<Candidate> {
    ranking
        .qualified()
        .take(max)
        .map(|b| Candidate {
            rank: b.rank.unwrap_or_default(),
            log_index: b.log_index,
            organization: b.organization.clone(),
            price: b.price,
            total: b.total,
        })
        .collect()
}

/// A sheet as the report cites it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportSheet {
    pub expert: String,
    /// Hex SHA-256 of the sheet's canonical JSON, as signed.
    pub sha256: String,
    /// Base64 of the expert's signature over it.
    pub signature: String,
}

/// The evaluation report (评标报告): the committee, the sheets it rests on, the ranking
/// and what follows from it. The experts sign its canonical JSON's SHA-256
/// (`crypto::evaluation::report_message`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluationReport {
    pub v: u8,
    pub trade: String,
    pub title: String,
    pub terms: EvaluationTerms,
    /// Expert identity ids, in draw order.
    pub committee: Vec<String>,
    pub sheets: Vec<ReportSheet>,
    pub ranking: Ranking,
    /// `candidates`, or `failed` with `reason`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub candidates: Vec<Candidate>,
}

/// `numerator / denominator`, rounded half up (both positive).
fn div_round(numerator: i128, denominator: i128) -> i64 {
    i64::try_from((2 * numerator + denominator) / (2 * denominator)).unwrap_or(i64::MAX)
}

/// Ranks the valid bids from the committee's sheets (each already passed
/// [`check_sheet`]), in committee order.
pub fn rank(
    terms: &EvaluationTerms,
    bids: &[BidUnderEvaluation],
    sheets: &[&ScoreSheet],
) -> Ranking {
    let judged = |b: &BidUnderEvaluation| -> Vec<&BidScore> {
        sheets
            .iter()
            .filter_map(|s| s.bids.iter().find(|x| x.log_index == b.log_index))
            .collect()
    };
    let mut evaluated: Vec<EvaluatedBid> = bids
        .iter()
        .map(|b| {
            let scores = judged(b);
            let passed_by = scores.iter().filter(|s| s.pass).count();
            let failed_by = scores.len() - passed_by;
            EvaluatedBid {
                log_index: b.log_index,
                organization: b.organization.clone(),
                price: b.price,
                passed_by,
                failed_by,
                qualified: passed_by > failed_by,
                reasons: scores
                    .iter()
                    .filter_map(|s| s.reason.as_deref())
                    .map(|r| r.trim().to_owned())
                    .filter(|r| !r.is_empty())
                    .collect(),
                price_score: None,
                other_score: None,
                total: None,
                rank: None,
            }
        })
        .collect();
    let base_price = evaluated
        .iter()
        .filter(|b| b.qualified)
        .map(|b| b.price)
        .min();
    if let (Method::ComprehensiveScoring, Some(base)) = (terms.method, base_price) {
        let weight = i128::from(terms.price_weight.unwrap_or(0));
        for (bid, source) in evaluated.iter_mut().zip(bids) {
            if !bid.qualified {
                continue;
            }
            let price_score = div_round(i128::from(base) * weight * 100, i128::from(bid.price));
            // The mean is over the experts who passed the bid and so scored it.
            let given: Vec<i64> = judged(source)
                .iter()
                .filter(|s| s.pass)
                .map(|s| s.scores.values().map(|p| p.0).sum())
                .collect();
            let count = i128::try_from(given.len()).unwrap_or(1).max(1);
            let other = div_round(i128::from(given.iter().sum::<i64>()), count);
            bid.price_score = Some(Points(price_score));
            bid.other_score = Some(Points(other));
            bid.total = Some(Points(price_score + other));
        }
    }
    evaluated.sort_by(|a, b| {
        b.qualified
            .cmp(&a.qualified)
            .then_with(|| b.total.cmp(&a.total))
            .then_with(|| {
                if a.qualified {
                    a.price.cmp(&b.price)
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .then_with(|| a.log_index.cmp(&b.log_index))
    });
    let mut next = 0u32;
    for bid in evaluated.iter_mut().filter(|b| b.qualified) {
        next += 1;
        bid.rank = Some(next);
    }
    Ranking {
        method: terms.method,
        base_price,
        bids: evaluated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bid(log_index: i64, name: &str, price: i64) -> BidUnderEvaluation {
        BidUnderEvaluation {
            log_index,
            organization: RecordOrganization {
                name: name.into(),
                usci: String::new(),
            },
            price,
        }
    }

    fn pass(log_index: i64, scores: &[(&str, i64)]) -> BidScore {
        BidScore {
            log_index,
            pass: true,
            reason: None,
            scores: scores
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Points(*v)))
                .collect(),
        }
    }

    fn fail(log_index: i64, reason: &str) -> BidScore {
        BidScore {
            log_index,
            pass: false,
            reason: Some(reason.into()),
            scores: BTreeMap::new(),
        }
    }

    fn sheet(bids: Vec<BidScore>) -> ScoreSheet {
        ScoreSheet {
            v: 1,
            trade: "T".into(),
            bids,
        }
    }

    fn scoring() -> EvaluationTerms {
        EvaluationTerms {
            method: Method::ComprehensiveScoring,
            price_weight: Some(30),
            criteria: vec![
                Criterion {
                    id: "technical".into(),
                    name: "技术".into(),
                    weight: 60,
                },
                Criterion {
                    id: "business".into(),
                    name: "商务".into(),
                    weight: 10,
                },
            ],
        }
    }

    #[test]
    fn comprehensive_scoring_ranks_a_worked_example() {
        // Prices 1,000,000.00 / 950,000.00 / 1,100,000.00 / 900,000.00 yuan. Bid 4 (the
        // cheapest) fails with two of three experts, so the base price is 950,000.00.
        let bids = [
            bid(10, "甲", 100_000_000),
            bid(11, "乙", 95_000_000),
            bid(12, "丙", 110_000_000),
            bid(13, "丁", 90_000_000),
        ];
        let terms = scoring();
        let sheets = [
            sheet(vec![
                pass(10, &[("technical", 5000), ("business", 800)]),
                pass(11, &[("technical", 4500), ("business", 900)]),
                pass(12, &[("technical", 5800), ("business", 1000)]),
                fail(13, "工期不满足"),
            ]),
            sheet(vec![
                pass(10, &[("technical", 5200), ("business", 800)]),
                pass(11, &[("technical", 4400), ("business", 850)]),
                pass(12, &[("technical", 5600), ("business", 900)]),
                fail(13, "工期不满足招标文件要求"),
            ]),
            sheet(vec![
                pass(10, &[("technical", 5100), ("business", 700)]),
                pass(11, &[("technical", 4600), ("business", 900)]),
                pass(12, &[("technical", 5700), ("business", 950)]),
                pass(13, &[("technical", 4000), ("business", 500)]),
            ]),
        ];
        for s in &sheets {
            check_sheet(&terms, "T", &bids, s).unwrap_or_else(|e| panic!("{e}"));
        }
        let ranking = rank(&terms, &bids, &sheets.iter().collect::<Vec<_>>());
        assert_eq!(ranking.base_price, Some(95_000_000));
        // By hand:
        // 甲: price 950,000/1,000,000 × 30 = 28.50; others (58 + 60 + 58) / 3 = 58.67;
        //     total 87.17.
        // 乙: price 30.00; others (54 + 52.5 + 55) / 3 = 53.83; total 83.83.
        // 丙: price 950,000/1,100,000 × 30 = 25.909… = 25.91; others (68 + 65 + 66.5) / 3
        //     = 66.50; total 92.41.
        // 丁: failed by two of three experts: not ranked.
        let got: Vec<(&str, Option<u32>, Option<i64>)> = ranking
            .bids
            .iter()
            .map(|b| (b.organization.name.as_str(), b.rank, b.total.map(|t| t.0)))
            .collect();
        assert_eq!(
            got,
            vec![
                ("丙", Some(1), Some(9241)),
                ("甲", Some(2), Some(8717)),
                ("乙", Some(3), Some(8383)),
                ("丁", None, None),
            ]
        );
        let ding = &ranking.bids[3];
        assert_eq!((ding.passed_by, ding.failed_by), (1, 2));
        assert_eq!(ding.reasons.len(), 2);
        assert_eq!(ranking.bids[0].price_score, Some(Points(2591)));
        assert_eq!(ranking.bids[1].other_score, Some(Points(5867)));
    }

    #[test]
    fn lowest_evaluated_price_ranks_qualified_bids_by_price_and_ties_by_arrival() {
        let bids = [
            bid(20, "甲", 100_000_000),
            bid(21, "乙", 90_000_000),
            bid(22, "丙", 80_000_000),
            bid(23, "丁", 90_000_000),
        ];
        let terms = EvaluationTerms::default();
        let one = sheet(vec![
            pass(20, &[]),
            pass(21, &[]),
            fail(22, "资质不符"),
            pass(23, &[]),
        ]);
        let sheets = [&one, &one, &one];
        let ranking = rank(&terms, &bids, &sheets);
        let got: Vec<(&str, Option<u32>)> = ranking
            .bids
            .iter()
            .map(|b| (b.organization.name.as_str(), b.rank))
            .collect();
        // 丙 is cheapest but not qualified; 乙 and 丁 tie on price and 乙 came first.
        assert_eq!(
            got,
            vec![
                ("乙", Some(1)),
                ("丁", Some(2)),
                ("甲", Some(3)),
                ("丙", None)
            ]
        );
        assert_eq!(ranking.base_price, Some(90_000_000));
    }

    #[test]
    fn equal_totals_go_to_the_lower_price() {
        // Price weight 50; 甲 at 100 gets 50 + 30 = 80; 乙 at 125 gets 40 + 40 = 80.
        let terms = EvaluationTerms {
            method: Method::ComprehensiveScoring,
            price_weight: Some(50),
            criteria: vec![Criterion {
                id: "technical".into(),
                name: "技术".into(),
                weight: 50,
            }],
        };
        let bids = [bid(1, "乙", 12_500), bid(2, "甲", 10_000)];
        let one = sheet(vec![
            pass(1, &[("technical", 4000)]),
            pass(2, &[("technical", 3000)]),
        ]);
        let ranking = rank(&terms, &bids, &[&one]);
        assert_eq!(ranking.bids[0].total, ranking.bids[1].total);
        assert_eq!(ranking.bids[0].organization.name, "甲");
    }

    #[test]
    fn sheets_that_do_not_fit_the_terms_are_refused() {
        let bids = [bid(10, "甲", 100), bid(11, "乙", 200)];
        let terms = scoring();
        let cases = [
            (
                sheet(vec![pass(10, &[("technical", 10), ("business", 1)])]),
                "sheet_bids_mismatch",
            ),
            (
                sheet(vec![
                    pass(10, &[("technical", 10), ("business", 1)]),
                    pass(10, &[("technical", 10), ("business", 1)]),
                ]),
                "sheet_bids_mismatch",
            ),
            (
                sheet(vec![
                    pass(10, &[("technical", 6001), ("business", 1)]),
                    pass(11, &[("technical", 10), ("business", 1)]),
                ]),
                "invalid_scores",
            ),
            (
                sheet(vec![
                    pass(10, &[("technical", 10)]),
                    pass(11, &[("technical", 10), ("business", 1)]),
                ]),
                "invalid_scores",
            ),
            (
                sheet(vec![
                    BidScore {
                        reason: None,
                        ..fail(10, "")
                    },
                    pass(11, &[("technical", 10), ("business", 1)]),
                ]),
                "invalid_scores",
            ),
        ];
        for (s, code) in cases {
            let got = check_sheet(&terms, "T", &bids, &s).map_err(|e| e.code());
            assert_eq!(got, Err(code), "{s:?}");
        }
        let wrong_trade = ScoreSheet {
            trade: "U".into(),
            ..sheet(vec![])
        };
        assert!(check_sheet(&terms, "T", &bids, &wrong_trade).is_err());
    }

    #[test]
    fn terms_must_add_up_to_a_hundred_points() {
        assert!(scoring().check().is_ok());
        assert!(EvaluationTerms::default().check().is_ok());
        let mut bad = scoring();
        bad.price_weight = Some(20);
        assert!(bad.check().is_err());
        let mut bad = scoring();
        bad.criteria[1].id = "technical".into();
        assert!(bad.check().is_err());
        let bad = EvaluationTerms {
            price_weight: Some(30),
            ..EvaluationTerms::default()
        };
        assert!(bad.check().is_err());
    }

    #[test]
    fn a_bid_qualifies_on_a_majority_and_only_qualified_bids_are_candidates() {
        let terms = EvaluationTerms::default();
        let bids = [bid(1, "甲", 300), bid(2, "乙", 100), bid(3, "丙", 200)];
        // 乙 (the lowest) is passed by one expert and failed by the other: a tie is no
        // majority, so it is not qualified and not a candidate.
        let first = sheet(vec![pass(1, &[]), pass(2, &[]), pass(3, &[])]);
        let second = sheet(vec![pass(1, &[]), fail(2, "资格不符"), pass(3, &[])]);
        let ranking = rank(&terms, &bids, &[&first, &second]);
        let tied = ranking.bids.iter().find(|b| b.log_index == 2);
        assert_eq!(tied.map(|b| b.qualified), Some(false));
        let qualified: Vec<i64> = ranking.qualified().map(|b| b.log_index).collect();
        assert_eq!(qualified, [3, 1]);
        let chosen = candidates(&ranking, 1);
        assert_eq!(chosen.len(), 1);
        assert_eq!(
            (chosen[0].rank, chosen[0].log_index, chosen[0].price),
            (1, 3, 200)
        );
        assert_eq!(candidates(&ranking, 5).len(), 2);
    }

    #[test]
    fn each_shape_rule_of_the_terms_refuses_on_its_own() {
        // The lowest evaluated price: criteria alone, or a weight alone, are refused.
        let only_criteria = EvaluationTerms {
            criteria: scoring().criteria,
            ..EvaluationTerms::default()
        };
        assert!(only_criteria.check().is_err());
        // Comprehensive scoring: no other criterion, or a zero price weight.
        let mut no_criteria = scoring();
        no_criteria.price_weight = Some(100);
        no_criteria.criteria.clear();
        assert!(no_criteria.check().is_err());
        let mut no_price = scoring();
        no_price.price_weight = Some(0);
        no_price.criteria[0].weight = 90;
        assert!(no_price.check().is_err());
        // Criterion ids: empty, too long, or outside a-z 0-9 _; each alone.
        for id in ["", &"a".repeat(33), "Technical", "tech-nical"] {
            let mut bad = scoring();
            bad.criteria[0].id = id.into();
            assert!(bad.check().is_err(), "{id:?}");
        }
        let mut longest = scoring();
        longest.criteria[0].id = "a".repeat(32);
        assert!(longest.check().is_ok());
        // Digits and underscores on their own terms, each beside letters.
        for id in ["tech2", "tech_", "2025", "_"] {
            let mut fine = scoring();
            fine.criteria[0].id = id.into();
            assert!(fine.check().is_ok(), "{id:?}");
        }
        // A criterion with no weight (the others still add up to 100), or with no name.
        let mut weightless = scoring();
        weightless.criteria[0].weight = 0;
        weightless.criteria[1].weight = 70;
        assert!(weightless.check().is_err());
        let mut nameless = scoring();
        nameless.criteria[1].name = "  ".into();
        assert!(nameless.check().is_err());
    }

    #[test]
    fn a_method_is_named_as_the_terms_spell_it() {
        for method in [Method::LowestEvaluatedPrice, Method::ComprehensiveScoring] {
            assert_eq!(
                serde_json::to_value(method).unwrap_or_default(),
                serde_json::json!(method.as_str())
            );
        }
    }

    #[test]
    fn points_read_two_decimals_at_most() {
        let ok: Points = serde_json::from_str("52.5").unwrap_or_default();
        assert_eq!(ok, Points(5250));
        assert!(serde_json::from_str::<Points>("52.555").is_err());
        assert!(serde_json::from_str::<Points>("-1").is_err());
        assert_eq!(
            serde_json::to_string(&Points(5867)).unwrap_or_default(),
            "58.67"
        );
        assert_eq!(Points(2591).to_string(), "25.91");
    }
}
