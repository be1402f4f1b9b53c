//! The unified rulebook (统一交易规则): statutory numbers as versioned data, and the pure
//! checks that hold a trade to them.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::trade::TradeTerms;

/// The rulebook shipped with tradehall; `--rulebook FILE` replaces it.
pub const BUILTIN: &str = include_str!("../../rulebook/rulebook.toml");

/// One statutory (or platform) number and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub value: i64,
    pub article: String,
}

/// The numbers one procedure is held to. A missing rule does not apply to that procedure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Days from publication to the bid deadline.
    pub min_days_to_deadline: Option<Rule>,
    /// A clarification or amendment later than this many days before the deadline moves
    /// the deadline out to this many days after it.
    pub clarification_cutoff_days: Option<Rule>,
    /// Bid bond cap, basis points of the estimated value.
    pub bond_cap_basis_points: Option<Rule>,
    /// Bid bond cap as an absolute amount in minor units.
    pub bond_cap_amount: Option<Rule>,
    /// Fewer valid bids than this at the opening fails the trade (流标).
    pub min_bidders: Option<Rule>,
    /// How long the opening committee has to open after the deadline.
    pub opening_window_minutes: Option<Rule>,
    /// Fewest custodians (n) on the opening committee.
    pub min_custodians: Option<Rule>,
    /// Fewest custodians (k) needed together to open.
    pub min_threshold: Option<Rule>,
    /// On resuming a suspended trade, the deadline (or a running opening window) moves by
    /// this percentage of the time it was suspended. Absent: 100.
    pub resume_shift_percent: Option<Rule>,
    /// Live trades: calendar days from the announcement to the start of the listing,
    /// auction or bidding.
    pub min_days_announcement_to_start: Option<Rule>,
    /// Live trades: working days of the listing period (挂牌期).
    pub min_listing_working_days: Option<Rule>,
    /// State assets: working days of the formal disclosure (正式信息披露).
    pub min_disclosure_working_days: Option<Rule>,
    /// Live trades: the countdown of the timed phase, restarted by each valid quote.
    pub countdown_seconds: Option<Rule>,
    /// Live trades: the shortest countdown (timed cycle) a trade may set.
    pub min_countdown_seconds: Option<Rule>,
    /// Live trades: quotes are refused for this long between the end of the listing and
    /// the start of the timed phase, while the centre confirms who is still in.
    pub freeze_minutes: Option<Rule>,
    /// Live trades with dynamic bidding: minutes of free quoting before the countdown.
    pub free_quote_minutes: Option<Rule>,
    /// Live trades: at least this many bidders still in when the listing ends start a
    /// timed phase; with fewer, the listing decides.
    pub min_bidders_for_timed: Option<Rule>,
    /// Working days (on the calendar) from publication to the bid deadline.
    pub min_working_days_to_deadline: Option<Rule>,
    /// Invited procedures: fewest suppliers invited.
    pub min_invited: Option<Rule>,
    /// Tenders: fewer qualified bids than this after the evaluation fail the trade
    /// (缺乏竞争, 否决全部投标).
    pub min_qualified_bids: Option<Rule>,
    /// Tenders: most ranked candidates the evaluation names (中标候选人).
    pub max_candidates: Option<Rule>,
    /// Tenders: days the candidates are publicised before the award (公示期).
    pub candidate_publicity_days: Option<Rule>,
    /// Tenders: days the tenderer has to answer an objection (异议).
    pub objection_answer_days: Option<Rule>,
    /// Tenders: days after an objection's answer during which the objector may complain
    /// to the supervisor (投诉).
    pub complaint_days: Option<Rule>,
    /// Tenders: days from the award notice to the contract.
    pub contract_days: Option<Rule>,
    /// Tenders: days from the contract to the refund of every bond.
    pub bond_refund_days: Option<Rule>,
}

/// A procedure for one trade kind, e.g. the open tender of a construction project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Procedure {
    pub kind: String,
    pub kind_name: String,
    pub procedure: String,
    pub procedure_name: String,
    /// Which engine runs it: `sealed_bid` (tenders, procurement) or `live` (listing,
    /// auction, dynamic bidding).
    pub engine: String,
    /// How the reserve price (底价/保留价) is kept, for live trades.
    #[serde(default)]
    pub reserve_price: Option<ReservePrice>,
    /// Who may bid: anyone (`open`), only the suppliers the trade invites (`invited`),
    /// or the one it names (`single`).
    #[serde(default)]
    pub participation: Participation,
    /// Whether the trade may continue in further rounds of sealed quotes, each opened
    /// like a bid opening, among the previous round's valid bidders (竞争性谈判/磋商).
    #[serde(default)]
    pub rounds: bool,
    pub rules: Rules,
}

/// Who may bid in a procedure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Participation {
    #[default]
    Open,
    Invited,
    Single,
}

/// A procedure's reserve-price policy and its basis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReservePrice {
    pub policy: ReservePolicy,
    pub article: String,
}

/// How a reserve price is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReservePolicy {
    /// Sealed to the trade's opening committee like a bid, revealed at the close; below
    /// it the sale fails (流拍).
    Sealed,
    /// Published: the start (listing) price is the floor.
    Public,
}

/// The periods of a live trade's schedule, as the calendar reckons them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveSchedule {
    /// The earliest start the announcement period allows.
    pub earliest_start: DateTime<Utc>,
    /// The listing or disclosure period, if the procedure has one.
    pub period: Option<super::calendar::Period>,
}

/// Why a live trade's schedule cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(transparent)]
    Rule(#[from] RuleViolation),
    #[error(transparent)]
    Calendar(#[from] super::calendar::YearUnknown),
    /// Terms a live trade cannot have, whatever the rulebook.
    #[error("{0}")]
    Terms(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulebookFile {
    version: String,
    title: String,
    procedures: Vec<Procedure>,
    /// Thresholds of the risk rules; without them the rules that need them do not run.
    #[serde(default)]
    risk: Option<super::risk::RiskThresholds>,
}

/// A loaded rulebook: its version, the digest of the exact text it came from, its entries.
#[derive(Debug, Clone, Serialize)]
pub struct Rulebook {
    pub version: String,
    pub title: String,
    pub sha256: String,
    /// The exact text it was loaded from (what `sha256` is the digest of), which a
    /// platform publishes for the platforms that follow its rules.
    #[serde(skip)]
    pub source: String,
    pub procedures: Vec<Procedure>,
    pub risk: Option<super::risk::RiskThresholds>,
}

/// Which way a rule tightens, for a prefecture's rulebook under the region's (unified
/// rules, issue 8): a minimum may only rise, a cap only fall. Operating parameters (the
/// opening window, a sale's default countdown, freeze and free quoting) are the
/// prefecture's own.
fn tightening(rule: &str) -> Option<std::cmp::Ordering> {
    use std::cmp::Ordering::{Greater, Less};
    match rule {
        "opening_window_minutes"
        | "countdown_seconds"
        | "freeze_minutes"
        | "free_quote_minutes" => None,
        // Caps, and time limits on the trading centre or the tenderee.
        "bond_cap_basis_points"
        | "bond_cap_amount"
        | "max_candidates"
        | "objection_answer_days"
        | "contract_days"
        | "bond_refund_days" => Some(Less),
        // Minimums: days and working days owed to bidders, bidders, custodians, the
        // time a resume gives back.
        _ => Some(Greater),
    }
}

/// Why a rulebook file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RulebookError {
    #[error("rulebook is not valid: {0}")]
    Syntax(#[from] toml::de::Error),
    #[error("rulebook lists {kind}/{procedure} twice")]
    Duplicate { kind: String, procedure: String },
    #[error(
        "rulebook risk threshold {rule} is out of range (percentages 1 to 99, others positive)"
    )]
    Risk { rule: &'static str },
    #[error("rulebook engine {engine:?} of {kind}/{procedure} is not sealed_bid or live")]
    Engine {
        kind: String,
        procedure: String,
        engine: String,
    },
    #[error("rulebook rule {rule} of {kind}/{procedure} must be positive")]
    NotPositive {
        kind: String,
        procedure: String,
        rule: &'static str,
    },
}

/// A trade that breaks its rulebook: the rule's key, the article it comes from, and what
/// was wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message} ({article})")]
pub struct RuleViolation {
    pub rule: &'static str,
    pub article: String,
    pub message: String,
}

impl Rulebook {
    /// Parses rulebook text; `sha256` is the hex digest of `text` as given.
    pub fn parse(text: &str, sha256: String) -> Result<Self, RulebookError> {
        let file: RulebookFile = toml::from_str(text)?;
        let mut seen = BTreeMap::new();
        for p in &file.procedures {
            if seen
                .insert((p.kind.clone(), p.procedure.clone()), ())
                .is_some()
            {
                return Err(RulebookError::Duplicate {
                    kind: p.kind.clone(),
                    procedure: p.procedure.clone(),
                });
            }
            if !["sealed_bid", "live"].contains(&p.engine.as_str()) {
                return Err(RulebookError::Engine {
                    kind: p.kind.clone(),
                    procedure: p.procedure.clone(),
                    engine: p.engine.clone(),
                });
            }
            for (name, rule) in p.rules.named() {
                if rule.value <= 0 {
                    return Err(RulebookError::NotPositive {
                        kind: p.kind.clone(),
                        procedure: p.procedure.clone(),
                        rule: name,
                    });
                }
            }
        }
        if let Some(risk) = &file.risk {
            for (rule, r) in [
                (
                    "low_price_below_mean_percent",
                    &risk.low_price_below_mean_percent,
                ),
                (
                    "low_price_below_next_percent",
                    &risk.low_price_below_next_percent,
                ),
            ] {
                if !(1..100).contains(&r.value) {
                    return Err(RulebookError::Risk { rule });
                }
            }
            for (rule, r) in [
                (
                    "close_prices_spread_per_mille",
                    &risk.close_prices_spread_per_mille,
                ),
                (
                    "progression_tolerance_per_mille",
                    &risk.progression_tolerance_per_mille,
                ),
                ("last_minutes", &risk.last_minutes),
                ("rotation_min_trades", &risk.rotation_min_trades),
            ] {
                if r.value <= 0 {
                    return Err(RulebookError::Risk { rule });
                }
            }
        }
        Ok(Self {
            version: file.version,
            title: file.title,
            sha256,
            source: text.to_owned(),
            procedures: file.procedures,
            risk: file.risk,
        })
    }

    /// How this (a prefecture's) rulebook is looser than `region`'s, one line per rule:
    /// a procedure the region does not have, a rule the region sets and this one drops, a
    /// minimum set lower or a cap set higher, a different engine or participation. Empty
    /// if it only tightens the region's.
    pub fn looser_than(&self, region: &Rulebook) -> Vec<String> {
        let mut looser = Vec::new();
        for local in &self.procedures {
            let name = format!("{}/{}", local.kind, local.procedure);
            let Some(unified) = region.procedure(&local.kind, &local.procedure) else {
                looser.push(format!(
                    "{name} is not a procedure of the region's rulebook"
                ));
                continue;
            };
            if local.engine != unified.engine || local.participation != unified.participation {
                looser.push(format!(
                    "{name} runs on another engine or admits other bidders than the region's"
                ));
            }
            let mine = local.rules.named();
            for (rule, theirs) in unified.rules.named() {
                let Some(way) = tightening(rule) else {
                    continue;
                };
                match mine.iter().find(|(n, _)| *n == rule) {
                    None => looser.push(format!(
                        "{name}: {rule} is dropped; the region sets {} ({})",
                        theirs.value, theirs.article
                    )),
                    Some((_, ours))
                        if ours.value != theirs.value && ours.value.cmp(&theirs.value) != way =>
                    {
                        looser.push(format!(
                            "{name}: {rule} = {} is looser than the region's {} ({}): it may only {}",
                            ours.value,
                            theirs.value,
                            theirs.article,
                            if way == std::cmp::Ordering::Greater { "rise" } else { "fall" }
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
        looser
    }

    pub fn procedure(&self, kind: &str, procedure: &str) -> Option<&Procedure> {
        self.procedures
            .iter()
            .find(|p| p.kind == kind && p.procedure == procedure)
    }

    pub fn has_kind(&self, kind: &str) -> bool {
        self.procedures.iter().any(|p| p.kind == kind)
    }
}

impl Rules {
    /// Every rule set, by name (unset ones left out).
    fn named(&self) -> Vec<(&'static str, &Rule)> {
        let all = [
            ("min_days_to_deadline", &self.min_days_to_deadline),
            ("clarification_cutoff_days", &self.clarification_cutoff_days),
            ("bond_cap_basis_points", &self.bond_cap_basis_points),
            ("bond_cap_amount", &self.bond_cap_amount),
            ("min_bidders", &self.min_bidders),
            ("opening_window_minutes", &self.opening_window_minutes),
            ("min_custodians", &self.min_custodians),
            ("min_threshold", &self.min_threshold),
            ("resume_shift_percent", &self.resume_shift_percent),
            (
                "min_days_announcement_to_start",
                &self.min_days_announcement_to_start,
            ),
            ("min_listing_working_days", &self.min_listing_working_days),
            (
                "min_disclosure_working_days",
                &self.min_disclosure_working_days,
            ),
            ("countdown_seconds", &self.countdown_seconds),
            ("min_countdown_seconds", &self.min_countdown_seconds),
            ("freeze_minutes", &self.freeze_minutes),
            ("free_quote_minutes", &self.free_quote_minutes),
            ("min_bidders_for_timed", &self.min_bidders_for_timed),
            (
                "min_working_days_to_deadline",
                &self.min_working_days_to_deadline,
            ),
            ("min_invited", &self.min_invited),
            ("min_qualified_bids", &self.min_qualified_bids),
            ("max_candidates", &self.max_candidates),
            ("candidate_publicity_days", &self.candidate_publicity_days),
            ("objection_answer_days", &self.objection_answer_days),
            ("complaint_days", &self.complaint_days),
            ("contract_days", &self.contract_days),
            ("bond_refund_days", &self.bond_refund_days),
        ];
        all.into_iter()
            .filter_map(|(n, r)| r.as_ref().map(|r| (n, r)))
            .collect()
    }
}

impl Procedure {
    /// Checks a live trade's terms: present (and only) for a live procedure; a positive
    /// start price that is a whole multiple of a positive increment; the countdown within
    /// the rulebook's bounds (filled in from the rulebook when absent); the application
    /// cut-off (`bid_deadline`) before the listing ends, or before an auction starts; and
    /// the schedule on the calendar.
    pub fn check_live_terms(
        &self,
        terms: &mut TradeTerms,
        calendar: &super::calendar::Calendar,
        now: DateTime<Utc>,
        time_scale: u32,
    ) -> Result<Option<LiveSchedule>, ScheduleError> {
        let live = self.engine == "live";
        let shape = |message: &str| -> ScheduleError { ScheduleError::Terms(message.to_owned()) };
        let Some(sale) = terms.live.as_mut() else {
            return if live {
                Err(shape("a live procedure needs its sale terms (`live`)"))
            } else {
                Ok(None)
            };
        };
        if !live {
            return Err(shape(
                "`live` terms belong to listing, auction and bidding procedures",
            ));
        }
        let (start, step) = (sale.start_price.minor_units(), sale.increment.minor_units());
        if start <= 0 || step <= 0 || start % step != 0 {
            return Err(shape(
                "the start price and the increment must be positive, the start price a whole multiple of the increment",
            ));
        }
        let rules = &self.rules;
        let countdown = match (sale.countdown_seconds, &rules.countdown_seconds) {
            (Some(s), _) => i64::from(s),
            (None, Some(r)) => r.value,
            (None, None) => {
                return Err(shape("the countdown is not set and the rulebook has none"))
            }
        };
        if let Some(r) = &rules.min_countdown_seconds {
            // A demo trade may count down as much faster as its days are shorter.
            if countdown < r.value / i64::from(time_scale.max(1)) {
                return Err(violation(
                    "min_countdown_seconds",
                    r,
                    format!(
                        "a countdown of {countdown} s is below the minimum of {} s",
                        r.value
                    ),
                )
                .into());
            }
        }
        sale.countdown_seconds = Some(u32::try_from(countdown).unwrap_or(u32::MAX));
        let closes = sale.ends_at.unwrap_or(sale.starts_at);
        if sale.ends_at.is_some_and(|end| end <= sale.starts_at) {
            return Err(shape("the listing must end after it starts"));
        }
        if terms.bid_deadline > closes {
            return Err(shape(
                "applications and deposits (bid_deadline) must close by the end of the listing, or the start of an auction",
            ));
        }
        let (starts_at, ends_at) = (sale.starts_at, sale.ends_at);
        self.check_live_schedule(calendar, now, starts_at, ends_at, time_scale)
            .map(Some)
    }

    /// Checks a live trade's schedule, announced at `published_at`: the announcement
    /// period before `starts_at` (calendar days), and the listing or disclosure period
    /// from `starts_at` to `ends_at` (working days on `calendar`). In a demo trade
    /// (`time_scale` above 1) a working day is a scaled day and the calendar is not
    /// consulted.
    pub fn check_live_schedule(
        &self,
        calendar: &super::calendar::Calendar,
        published_at: DateTime<Utc>,
        starts_at: DateTime<Utc>,
        ends_at: Option<DateTime<Utc>>,
        time_scale: u32,
    ) -> Result<LiveSchedule, ScheduleError> {
        let rules = &self.rules;
        let earliest_start = match &rules.min_days_announcement_to_start {
            Some(r) => published_at + scaled_days(r.value, time_scale),
            None => published_at,
        };
        if let Some(r) = &rules.min_days_announcement_to_start {
            if starts_at < earliest_start {
                return Err(violation(
                    "min_days_announcement_to_start",
                    r,
                    format!(
                        "the announcement must come at least {} days before the start: not before {}",
                        r.value,
                        super::clock::rfc3339(earliest_start)
                    ),
                )
                .into());
            }
        }
        let minimum = [
            ("min_listing_working_days", &rules.min_listing_working_days),
            (
                "min_disclosure_working_days",
                &rules.min_disclosure_working_days,
            ),
        ]
        .into_iter()
        .find_map(|(name, r)| r.as_ref().map(|r| (name, r)));
        let Some((name, r)) = minimum else {
            return Ok(LiveSchedule {
                earliest_start,
                period: None,
            });
        };
        let days = u32::try_from(r.value).unwrap_or(u32::MAX);
        let period = if time_scale > 1 {
            let end = starts_at + scaled_days(r.value, time_scale);
            super::calendar::Period {
                start: starts_at,
                working_days: days,
                last_day: calendar.local_date(end),
                end,
                provisional: false,
            }
        } else {
            calendar.period(starts_at, days)?
        };
        let Some(ends_at) = ends_at else {
            return Err(violation(name, r, "the period needs an end".to_owned()).into());
        };
        if ends_at < period.end {
            return Err(violation(
                name,
                r,
                format!(
                    "the period must last at least {} working days: not before {}{}",
                    r.value,
                    super::clock::rfc3339(period.end),
                    if period.provisional {
                        " (on a provisional calendar year)"
                    } else {
                        ""
                    }
                ),
            )
            .into());
        }
        Ok(LiveSchedule {
            earliest_start,
            period: Some(period),
        })
    }
}

/// `days` calendar days, shortened by a demo `time_scale` (1 for real trades).
pub fn scaled_days(days: i64, time_scale: u32) -> Duration {
    Duration::milliseconds(days.saturating_mul(86_400_000) / i64::from(time_scale.max(1)))
}

fn violation(rule: &'static str, r: &Rule, message: String) -> RuleViolation {
    RuleViolation {
        rule,
        article: r.article.clone(),
        message,
    }
}

impl Procedure {
    /// Checks the terms of a trade that is created or published at `now`.
    pub fn check_terms(
        &self,
        terms: &TradeTerms,
        now: DateTime<Utc>,
        time_scale: u32,
    ) -> Result<(), RuleViolation> {
        // A later round of a negotiation or consultation is among suppliers already in
        // the process; its deadline is the negotiation's, not an announcement's.
        if terms.previous_round.is_none() {
            self.check_deadline(terms.bid_deadline, now, time_scale)?;
        }
        let rules = &self.rules;
        if let Some(r) = &rules.bond_cap_basis_points {
            let share = terms
                .bond_amount
                .basis_points_of(terms.estimated_value)
                .unwrap_or(i64::MAX);
            if share > r.value {
                return Err(violation(
                    "bond_cap_basis_points",
                    r,
                    format!(
                        "bid bond {} is {}.{:02}% of the estimate {}; the cap is {}.{:02}%",
                        terms.bond_amount,
                        share / 100,
                        share % 100,
                        terms.estimated_value,
                        r.value / 100,
                        r.value % 100
                    ),
                ));
            }
        }
        if let Some(r) = &rules.bond_cap_amount {
            if terms.bond_amount.minor_units() > r.value {
                return Err(violation(
                    "bond_cap_amount",
                    r,
                    format!(
                        "bid bond {} is above the cap of {} 分",
                        terms.bond_amount, r.value
                    ),
                ));
            }
        }
        let n = i64::try_from(terms.committee.custodians.len()).unwrap_or(i64::MAX);
        if let Some(r) = &rules.min_custodians {
            if n < r.value {
                return Err(violation(
                    "min_custodians",
                    r,
                    format!(
                        "the opening committee has {n} custodians; at least {} are required",
                        r.value
                    ),
                ));
            }
        }
        if let Some(r) = &rules.min_threshold {
            if i64::from(terms.committee.threshold) < r.value {
                return Err(violation(
                    "min_threshold",
                    r,
                    format!(
                        "an opening threshold of {} is below the minimum of {}",
                        terms.committee.threshold, r.value
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The deadline must leave at least the statutory period after `now` (the publication).
    /// Checks who the trade lets bid: no invitation list for an open procedure, at
    /// least `min_invited` distinct suppliers for an invited one, exactly one for a
    /// single source.
    pub fn check_participation(&self, terms: &TradeTerms) -> Result<(), ScheduleError> {
        let shape = |m: String| Err(ScheduleError::Terms(m));
        let mut invited: Vec<&str> = terms
            .invited
            .iter()
            .map(super::usci::Usci::as_str)
            .collect();
        invited.sort_unstable();
        invited.dedup();
        if invited.len() != terms.invited.len() {
            return shape("a supplier is invited twice".into());
        }
        match self.participation {
            Participation::Open if !invited.is_empty() => shape(format!(
                "{} is open to every supplier: it invites no one",
                self.procedure_name
            )),
            Participation::Single if invited.len() != 1 => {
                shape("a single-source procurement names exactly one supplier in `invited`".into())
            }
            Participation::Invited => match &self.rules.min_invited {
                Some(r) if i64::try_from(invited.len()).unwrap_or(i64::MAX) < r.value => {
                    Err(violation(
                        "min_invited",
                        r,
                        format!(
                            "at least {} suppliers are invited; the trade invites {}",
                            r.value,
                            invited.len()
                        ),
                    )
                    .into())
                }
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Checks the working days from publication (`now`) to the deadline on `calendar`;
    /// in a demo trade a working day is a scaled day.
    pub fn check_working_deadline(
        &self,
        calendar: &super::calendar::Calendar,
        deadline: DateTime<Utc>,
        now: DateTime<Utc>,
        time_scale: u32,
    ) -> Result<(), ScheduleError> {
        let Some(r) = &self.rules.min_working_days_to_deadline else {
            return Ok(());
        };
        let earliest = if time_scale > 1 {
            now + scaled_days(r.value, time_scale)
        } else {
            calendar
                .period(now, u32::try_from(r.value).unwrap_or(u32::MAX))?
                .end
        };
        if deadline < earliest {
            return Err(violation(
                "min_working_days_to_deadline",
                r,
                format!(
                    "the deadline must be at least {} working days after publication: not before {}",
                    r.value,
                    super::clock::rfc3339(earliest)
                ),
            )
            .into());
        }
        Ok(())
    }

    pub fn check_deadline(
        &self,
        deadline: DateTime<Utc>,
        now: DateTime<Utc>,
        time_scale: u32,
    ) -> Result<(), RuleViolation> {
        if let Some(r) = &self.rules.min_days_to_deadline {
            let earliest = now + scaled_days(r.value, time_scale);
            if deadline < earliest {
                return Err(violation(
                    "min_days_to_deadline",
                    r,
                    format!(
                        "the bid deadline must be at least {} days after publication: not before {}",
                        r.value,
                        super::clock::rfc3339(earliest)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The deadline after a clarification or amendment issued at `at`: moved out to the
    /// cut-off if the answer came later than it (实施条例 第21条), otherwise unchanged.
    pub fn deadline_after_clarification(
        &self,
        deadline: DateTime<Utc>,
        at: DateTime<Utc>,
        time_scale: u32,
    ) -> DateTime<Utc> {
        match &self.rules.clarification_cutoff_days {
            Some(r) => deadline.max(at + scaled_days(r.value, time_scale)),
            None => deadline,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin() -> Rulebook {
        Rulebook::parse(BUILTIN, "test".into()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn edited(from: &str, to: &str) -> Rulebook {
        assert!(BUILTIN.contains(from), "{from}");
        Rulebook::parse(&BUILTIN.replacen(from, to, 1), "local".into())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap_or_else(|e| panic!("{e}"))
            .with_timezone(&Utc)
    }

    /// A land listing as the centre states it; `patch` changes its JSON first.
    fn listing(patch: impl FnOnce(&mut serde_json::Value)) -> TradeTerms {
        let mut terms = serde_json::json!({
            "kind": "land_use_right", "procedure": "listing", "title": "地块",
            "principal": { "name": "出让人", "usci": "11650100MB0BEN001X" },
            "estimated_value": 36_000_000_000_i64,
            "lots": [{ "id": "1", "title": "地块", "estimated_value": 36_000_000_000_i64 }],
            "region_code": "650100", "bid_deadline": "2026-12-31T08:00:00Z",
            "bond_amount": 7_200_000_000_i64,
            "committee": { "custodians": ["a", "b", "c"], "threshold": 2 },
            "live": { "start_price": 36_000_000_000_i64, "increment": 50_000_000_i64,
                      "starts_at": "2026-12-18T01:00:00Z", "ends_at": "2027-01-04T09:00:00Z" }
        });
        patch(&mut terms);
        serde_json::from_value(terms).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `check_live_terms` of the listing procedure, published on 2026-11-27, unscaled.
    fn check_listing(
        patch: impl FnOnce(&mut serde_json::Value),
    ) -> Result<Option<LiveSchedule>, ScheduleError> {
        let book = builtin();
        let procedure = book
            .procedure("land_use_right", "listing")
            .unwrap_or_else(|| panic!("listing"));
        procedure.check_live_terms(
            &mut listing(patch),
            &calendar(),
            at("2026-11-27T01:00:00Z"),
            1,
        )
    }

    #[test]
    fn a_listing_that_keeps_the_rules_gets_its_schedule_and_the_rulebooks_countdown() {
        let book = builtin();
        let procedure = book
            .procedure("land_use_right", "listing")
            .unwrap_or_else(|| panic!("listing"));
        let mut terms = listing(|_| {});
        let schedule = procedure
            .check_live_terms(&mut terms, &calendar(), at("2026-11-27T01:00:00Z"), 1)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(schedule.is_some());
        assert_eq!(terms.live.and_then(|l| l.countdown_seconds), Some(240));
        assert!(book.has_kind("land_use_right") && book.has_kind("construction_tender"));
        assert!(!book.has_kind("emission_right_of_the_moon"));
    }

    #[test]
    fn live_terms_belong_to_live_procedures_only() {
        let book = builtin();
        let tender = book
            .procedure("construction_tender", "open_tender")
            .unwrap_or_else(|| panic!("tender"));
        let now = at("2026-11-27T01:00:00Z");
        let mut without = listing(|t| {
            t.as_object_mut().map(|o| o.remove("live"));
        });
        assert!(matches!(
            tender.check_live_terms(&mut without, &calendar(), now, 1),
            Ok(None)
        ));
        let mut with = listing(|_| {});
        assert!(tender
            .check_live_terms(&mut with, &calendar(), now, 1)
            .is_err());
        assert!(check_listing(|t| {
            t.as_object_mut().map(|o| o.remove("live"));
        })
        .is_err());
    }

    #[test]
    fn each_price_rule_of_a_sale_refuses_on_its_own() {
        // Start price, increment, and the start a whole multiple of the increment.
        for (start, step) in [(0, 50), (36_000, 0), (36_010, 50)] {
            let refused = check_listing(|t| {
                t["live"]["start_price"] = serde_json::json!(start);
                t["live"]["increment"] = serde_json::json!(step);
            });
            assert!(refused.is_err(), "{start} / {step}");
        }
        // The start price may be the increment itself.
        assert!(check_listing(|t| {
            t["live"]["start_price"] = serde_json::json!(50_000_000);
        })
        .is_ok());
    }

    #[test]
    fn the_countdown_and_the_dates_hold_at_their_bounds() {
        let countdown = |s: u32| {
            check_listing(|t| t["live"]["countdown_seconds"] = serde_json::json!(s)).is_ok()
        };
        assert!(!countdown(59) && countdown(60));
        // A demo trade at twice the speed may count down twice as fast, no faster.
        let book = builtin();
        let procedure = book
            .procedure("land_use_right", "listing")
            .unwrap_or_else(|| panic!("listing"));
        let scaled = |s: u32| {
            let mut terms = listing(|t| t["live"]["countdown_seconds"] = serde_json::json!(s));
            procedure.check_live_terms(&mut terms, &calendar(), at("2026-11-27T01:00:00Z"), 2)
        };
        assert!(scaled(29).is_err());
        let schedule = scaled(30)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("a schedule"));
        let period = schedule
            .period
            .unwrap_or_else(|| panic!("a listing period"));
        assert!(period.end > at("2026-12-18T01:00:00Z"), "{:?}", period.end);
        // The listing ends after it starts; applications close by its end, at the latest.
        let ends = |end: &str| {
            check_listing(|t| {
                t["live"]["ends_at"] = serde_json::json!(end);
                t["bid_deadline"] = serde_json::json!("2026-12-18T00:00:00Z");
            })
            .is_ok()
        };
        assert!(!ends("2026-12-18T01:00:00Z") && !ends("2026-12-17T01:00:00Z"));
        let cutoff = |deadline: &str| {
            check_listing(|t| t["bid_deadline"] = serde_json::json!(deadline)).is_ok()
        };
        assert!(cutoff("2027-01-04T09:00:00Z") && !cutoff("2027-01-04T09:00:00.001Z"));
    }

    #[test]
    fn a_tenders_terms_are_held_to_its_rules() {
        let book = builtin();
        let tender = book
            .procedure("construction_tender", "open_tender")
            .unwrap_or_else(|| panic!("tender"));
        let terms = listing(|t| {
            t["kind"] = serde_json::json!("construction_tender");
            t["procedure"] = serde_json::json!("open_tender");
            t.as_object_mut().map(|o| o.remove("live"));
            // A bond of 20% of the estimate, over the 2% cap.
        });
        let now = at("2026-11-27T01:00:00Z");
        let refused = tender.check_terms(&terms, now, 1);
        assert!(refused.is_err(), "{refused:?}");
        let tender_with = |patch: &dyn Fn(&mut serde_json::Value)| {
            listing(|t| {
                t["kind"] = serde_json::json!("construction_tender");
                t["procedure"] = serde_json::json!("open_tender");
                t.as_object_mut().map(|o| o.remove("live"));
                t["bond_amount"] = serde_json::json!(720_000_000_i64);
                patch(t);
            })
        };
        let holds = |terms: &TradeTerms| tender.check_terms(terms, now, 1).is_ok();
        // The bond at 2% of the estimate, one fen over; the committee at its minimums.
        assert!(holds(&tender_with(&|_| {})));
        assert!(!holds(&tender_with(
            &|t| t["bond_amount"] = serde_json::json!(720_000_001_i64)
        )));
        assert!(!holds(&tender_with(
            &|t| t["committee"]["custodians"] = serde_json::json!(["a", "b"])
        )));
        assert!(!holds(&tender_with(
            &|t| t["committee"]["threshold"] = serde_json::json!(1)
        )));
        // A cap in yuan, where a rulebook sets one: at it, and one fen over.
        let capped = edited(
            "bond_cap_basis_points = { value = 200, article = \"中华人民共和国招标投标法实施条例 第二十六条\" }",
            "bond_cap_basis_points = { value = 200, article = \"中华人民共和国招标投标法实施条例 第二十六条\" }\nbond_cap_amount = { value = 80000000, article = \"cap\" }",
        );
        let capped = capped
            .procedure("construction_tender", "open_tender")
            .unwrap_or_else(|| panic!("tender"));
        let bond = |fen: i64| tender_with(&|t| t["bond_amount"] = serde_json::json!(fen));
        assert!(capped.check_terms(&bond(80_000_000), now, 1).is_ok());
        assert!(capped.check_terms(&bond(80_000_001), now, 1).is_err());
        // An open procedure invites no one.
        assert!(tender.check_participation(&tender_with(&|_| {})).is_ok());
        let invited = tender_with(&|t| t["invited"] = serde_json::json!(["11650100MB0BEN001X"]));
        assert!(tender.check_participation(&invited).is_err());
    }

    /// 询价: three working days from publication to the deadline (财政部令第74号 第四十五条),
    /// counted on the calendar, or as scaled days in a demo.
    #[test]
    fn a_deadline_counted_in_working_days_is_held_to_the_calendar() {
        let book = builtin();
        let inquiry = book
            .procedure("government_procurement", "inquiry")
            .unwrap_or_else(|| panic!("inquiry"));
        let cal = calendar();
        // Friday 2026-12-04, 09:00 Beijing time: the weekend does not count.
        let now = at("2026-12-04T01:00:00Z");
        let earliest = cal.period(now, 3).unwrap_or_else(|e| panic!("{e}")).end;
        assert!(earliest >= now + chrono::Duration::days(5), "{earliest}");
        assert!(inquiry
            .check_working_deadline(&cal, earliest, now, 1)
            .is_ok());
        let early = inquiry.check_working_deadline(
            &cal,
            earliest - chrono::Duration::milliseconds(1),
            now,
            1,
        );
        assert!(
            matches!(&early, Err(ScheduleError::Rule(v)) if v.rule == "min_working_days_to_deadline"),
            "{early:?}"
        );
        // At demo speed (a day a minute) three working days are three scaled days.
        let demo = now + scaled_days(3, 1440);
        assert!(inquiry
            .check_working_deadline(&cal, demo, now, 1440)
            .is_ok());
        let short = demo - chrono::Duration::milliseconds(1);
        assert!(inquiry
            .check_working_deadline(&cal, short, now, 1440)
            .is_err());
    }

    /// 招标投标法 第二十四条: twenty days from publication to the deadline, or twenty
    /// scaled days in a demo.
    #[test]
    fn a_tender_deadline_is_at_least_the_statutory_days_after_publication() {
        let book = builtin();
        let tender = book
            .procedure("construction_tender", "open_tender")
            .unwrap_or_else(|| panic!("tender"));
        let now = at("2026-12-04T01:00:00Z");
        let ms = chrono::Duration::milliseconds(1);
        for scale in [1, 1440] {
            let earliest = now + scaled_days(20, scale);
            assert!(tender.check_deadline(earliest, now, scale).is_ok());
            let early = tender.check_deadline(earliest - ms, now, scale);
            assert!(
                matches!(&early, Err(v) if v.rule == "min_days_to_deadline"),
                "{early:?}"
            );
        }
    }

    #[test]
    fn an_invitation_invites_at_least_its_minimum_and_a_single_source_exactly_one() {
        let book = builtin();
        let suppliers = |n: usize| {
            let list: Vec<String> = (1..=n)
                .map(|i| {
                    crate::domain::usci::Usci::complete(&format!("11650100MB0BEN{i:03}"))
                        .unwrap_or_else(|e| panic!("{e}"))
                        .as_str()
                        .to_owned()
                })
                .collect();
            listing(|t| {
                t["kind"] = serde_json::json!("government_procurement");
                t["procedure"] = serde_json::json!("invitation");
                t.as_object_mut().map(|o| o.remove("live"));
                t["invited"] = serde_json::json!(list);
            })
        };
        let invitation = book
            .procedure("government_procurement", "invitation")
            .unwrap_or_else(|| panic!("invitation"));
        assert!(invitation.check_participation(&suppliers(3)).is_ok());
        let refused = invitation.check_participation(&suppliers(2));
        assert!(
            matches!(&refused, Err(ScheduleError::Rule(v)) if v.rule == "min_invited"),
            "{refused:?}"
        );
        let single = book
            .procedure("government_procurement", "single_source")
            .unwrap_or_else(|| panic!("single source"));
        assert!(single.check_participation(&suppliers(1)).is_ok());
        assert!(single.check_participation(&suppliers(2)).is_err());
        assert!(single.check_participation(&suppliers(0)).is_err());
    }

    #[test]
    fn a_prefecture_may_tighten_the_regions_rules_and_never_loosen_them() {
        let region = builtin();
        assert_eq!(builtin().looser_than(&region), Vec::<String>::new());
        // Tighter: more days to the deadline, a lower bond cap; an operating parameter
        // (the opening window) is the prefecture's own.
        for (from, to) in [
            (
                "min_days_to_deadline = { value = 20,",
                "min_days_to_deadline = { value = 25,",
            ),
            (
                "bond_cap_basis_points = { value = 200,",
                "bond_cap_basis_points = { value = 100,",
            ),
            (
                "opening_window_minutes = { value = 60,",
                "opening_window_minutes = { value = 30,",
            ),
        ] {
            assert_eq!(
                edited(from, to).looser_than(&region),
                Vec::<String>::new(),
                "{to}"
            );
        }
        // Looser: each is refused, naming the rule and the region's number.
        for (from, to, rule) in [
            (
                "min_days_to_deadline = { value = 20,",
                "min_days_to_deadline = { value = 15,",
                "min_days_to_deadline = 15",
            ),
            (
                "bond_cap_basis_points = { value = 200,",
                "bond_cap_basis_points = { value = 300,",
                "bond_cap_basis_points = 300",
            ),
            (
                "min_bidders = { value = 3,",
                "min_bidders = { value = 2,",
                "min_bidders = 2",
            ),
            (
                "min_threshold = { value = 2,",
                "min_threshold = { value = 1,",
                "min_threshold = 1",
            ),
            (
                "procedure = \"open_tender\"",
                "procedure = \"local_tender\"",
                "not a procedure of the region",
            ),
            (
                "engine = \"sealed_bid\"",
                "engine = \"live\"",
                "another engine",
            ),
        ] {
            let looser = edited(from, to).looser_than(&region);
            assert!(looser.iter().any(|l| l.contains(rule)), "{to}: {looser:?}");
        }
        let dropped = edited("min_bidders = { value = 3, article = \"中华人民共和国招标投标法实施条例 第四十四条\" }\n", "");
        let looser = dropped.looser_than(&region);
        assert!(
            looser.iter().any(|l| l.contains("min_bidders is dropped")),
            "{looser:?}"
        );
    }

    #[test]
    fn the_builtin_rulebook_has_the_statutory_numbers() {
        let book = builtin();
        for kind in ["construction_tender", "government_procurement"] {
            let p = book
                .procedure(kind, "open_tender")
                .unwrap_or_else(|| panic!("{kind}"));
            let r = &p.rules;
            assert_eq!(r.min_days_to_deadline.as_ref().map(|r| r.value), Some(20));
            assert_eq!(
                r.clarification_cutoff_days.as_ref().map(|r| r.value),
                Some(15)
            );
            assert_eq!(r.bond_cap_basis_points.as_ref().map(|r| r.value), Some(200));
            assert_eq!(r.min_bidders.as_ref().map(|r| r.value), Some(3));
        }
    }

    fn calendar() -> super::super::calendar::Calendar {
        super::super::calendar::Calendar::parse(super::super::calendar::BUILTIN, String::new())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn the_live_procedures_are_in_the_builtin_rulebook() {
        let book = builtin();
        for (kind, procedure) in [
            ("land_use_right", "listing"),
            ("land_use_right", "auction"),
            ("mining_right", "listing"),
            ("mining_right", "auction"),
            ("state_asset", "disclosure"),
        ] {
            let p = book
                .procedure(kind, procedure)
                .unwrap_or_else(|| panic!("{kind}/{procedure}"));
            assert_eq!(p.engine, "live");
            let r = &p.rules;
            let countdown = r.countdown_seconds.as_ref().map_or(0, |r| r.value);
            let shortest = r.min_countdown_seconds.as_ref().map_or(0, |r| r.value);
            assert!(
                countdown >= shortest && shortest >= 60,
                "{kind}/{procedure}"
            );
            assert!(p.reserve_price.is_some(), "{kind}/{procedure}");
        }
        let disclosure = book
            .procedure("state_asset", "disclosure")
            .unwrap_or_else(|| panic!());
        assert_eq!(
            disclosure
                .rules
                .min_disclosure_working_days
                .as_ref()
                .map(|r| r.value),
            Some(20)
        );
        let text = BUILTIN.replace("engine = \"live\"", "engine = \"bazaar\"");
        assert!(matches!(
            Rulebook::parse(&text, String::new()),
            Err(RulebookError::Engine { .. })
        ));
    }

    #[test]
    fn a_land_listing_needs_20_days_of_announcement_and_10_working_days_of_listing() {
        let book = builtin();
        let p = book
            .procedure("land_use_right", "listing")
            .unwrap_or_else(|| panic!());
        let c = calendar();
        let published = utc("2026-09-01T10:00:00+08:00");
        let start = utc("2026-09-21T10:00:00+08:00");
        // Ten working days from Monday 21 September: 22 23 24 | Mid-Autumn | 28 29 30 |
        // National Day | 8 9, 10 (Saturday, worked), 12 October.
        let end = utc("2026-10-12T17:00:00+08:00");
        let ok = p
            .check_live_schedule(&c, published, start, Some(end), 1)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.earliest_start, utc("2026-09-21T10:00:00+08:00"));
        assert_eq!(ok.period.map(|x| x.end), Some(end));

        let early =
            p.check_live_schedule(&c, published, start - Duration::minutes(1), Some(end), 1);
        assert!(
            matches!(&early, Err(ScheduleError::Rule(v)) if v.rule == "min_days_announcement_to_start"),
            "{early:?}"
        );
        let short =
            p.check_live_schedule(&c, published, start, Some(end - Duration::minutes(1)), 1);
        assert!(
            matches!(&short, Err(ScheduleError::Rule(v)) if v.rule == "min_listing_working_days" && v.article.contains("第十九条")),
            "{short:?}"
        );
        // A listing running into a year the calendar does not know is refused.
        let late = p.check_live_schedule(
            &c,
            utc("2027-12-01T10:00:00+08:00"),
            utc("2027-12-21T10:00:00+08:00"),
            Some(utc("2028-01-31T17:00:00+08:00")),
            1,
        );
        assert_eq!(
            late,
            Err(ScheduleError::Calendar(
                super::super::calendar::YearUnknown(2028)
            ))
        );
    }

    #[test]
    fn a_state_asset_disclosure_lasts_20_working_days() {
        let book = builtin();
        let p = book
            .procedure("state_asset", "disclosure")
            .unwrap_or_else(|| panic!());
        let c = calendar();
        // From Tuesday 1 December 2026: every weekday of December to the 28th is the 20th.
        let published = utc("2026-11-30T09:00:00+08:00");
        let end = utc("2026-12-28T17:00:00+08:00");
        assert!(p
            .check_live_schedule(&c, published, published, Some(end), 1)
            .is_ok());
        let short = p.check_live_schedule(
            &c,
            published,
            published,
            Some(end - Duration::seconds(1)),
            1,
        );
        assert!(
            matches!(&short, Err(ScheduleError::Rule(v)) if v.rule == "min_disclosure_working_days"),
            "{short:?}"
        );
        // In a demo trade at 1440× a working day lasts a minute.
        assert!(p
            .check_live_schedule(
                &c,
                published,
                published,
                Some(published + Duration::minutes(20)),
                1440
            )
            .is_ok());
    }

    #[test]
    fn an_unknown_rule_key_is_refused() {
        let text = BUILTIN.replace("min_bidders =", "min_biders =");
        assert!(Rulebook::parse(&text, String::new()).is_err());
    }

    #[test]
    fn a_late_clarification_moves_the_deadline_to_the_cutoff() {
        let book = builtin();
        let p = book
            .procedure("construction_tender", "open_tender")
            .unwrap_or_else(|| panic!());
        let deadline = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let early = deadline - Duration::days(16);
        assert_eq!(p.deadline_after_clarification(deadline, early, 1), deadline);
        let late = deadline - Duration::days(10);
        assert_eq!(
            p.deadline_after_clarification(deadline, late, 1),
            late + Duration::days(15)
        );
        // In a demo trade at 1440× a day lasts a minute.
        assert_eq!(
            p.deadline_after_clarification(deadline, deadline, 1440),
            deadline + Duration::minutes(15)
        );
    }
}
