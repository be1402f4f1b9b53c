//! The quoting engine of live sales (ADR 0010): one state machine for listing (挂牌),
//! auction (拍卖) and state-asset dynamic bidding (网络竞价). It is pure: the store runs
//! it inside the write transaction that records each step, and replay runs it again over
//! the logged steps and must reach the logged result.
//!
//! Time moves it only through [`Sale::advance`], which fires every period end due by
//! the given instant, in order; a quote is then judged against the state at its instant.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

use super::money::Money;

/// Which kind of sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// 挂牌: free quotes during the listing; with enough bidders still in at its end, a
    /// freeze, then timed bidding.
    Listing,
    /// 拍卖: timed bidding from the start.
    Auction,
    /// 信息披露: no quotes during disclosure; at its end one buyer takes it by agreement
    /// at the start price, several go to dynamic bidding (a free-quote period, then timed
    /// bidding).
    Disclosure,
}

impl Format {
    /// The format of a rulebook procedure of the live engine.
    pub fn of_procedure(procedure: &str) -> Option<Self> {
        match procedure {
            "listing" => Some(Self::Listing),
            "auction" => Some(Self::Auction),
            "disclosure" => Some(Self::Disclosure),
            _ => None,
        }
    }
}

/// The numbers a sale runs on, from its terms and the rulebook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    pub format: Format,
    pub start_price: Money,
    pub increment: Money,
    #[serde(serialize_with = "super::clock::serde_rfc3339::serialize")]
    pub starts_at: DateTime<Utc>,
    /// End of the listing or disclosure (none for an auction).
    #[serde(serialize_with = "super::clock::serde_rfc3339::option")]
    pub ends_at: Option<DateTime<Utc>>,
    /// Each valid quote in timed bidding restarts a countdown of this many seconds.
    pub countdown_seconds: i64,
    /// Listing: seconds between its end and timed bidding, when no quote is taken.
    pub freeze_seconds: i64,
    /// Disclosure: seconds of free quoting before timed bidding.
    pub free_quote_seconds: i64,
    /// Bidders still in at the end of a listing for timed bidding to follow.
    pub min_bidders_for_timed: usize,
    /// The procedure seals a reserve price (底价) to the opening committee: a sale that
    /// ends on a quote waits in [`Phase::Reserve`] until it is opened.
    #[serde(default)]
    pub reserve_sealed: bool,
}

impl Rules {
    fn countdown(&self) -> Duration {
        Duration::seconds(self.countdown_seconds)
    }

    /// Moves the start and end by `by` where they are after `since`: resuming a sale
    /// gives back the suspended time of each period it cut into.
    pub fn shift(&mut self, since: DateTime<Utc>, by: Duration) {
        self.starts_at = shift_after(self.starts_at, since, by);
        self.ends_at = self.ends_at.map(|t| shift_after(t, since, by));
    }
}

/// `t` moved by `by` if it is after `since` (a suspension's start), else `t`.
pub fn shift_after(t: DateTime<Utc>, since: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    if since < t {
        t + by
    } else {
        t
    }
}

/// Where a sale is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// Before the start.
    Announced,
    /// A listing: quotes are free until the listing ends.
    Listing,
    /// A disclosure: no quotes; applications and deposits.
    Disclosure,
    /// After a listing, before timed bidding: no quotes.
    Frozen {
        #[serde(serialize_with = "super::clock::serde_rfc3339::serialize")]
        until: DateTime<Utc>,
    },
    /// Dynamic bidding's free-quote period.
    FreeQuote {
        #[serde(serialize_with = "super::clock::serde_rfc3339::serialize")]
        until: DateTime<Utc>,
    },
    /// Timed bidding: the sale ends at `deadline` unless a valid quote restarts it.
    Timed {
        #[serde(serialize_with = "super::clock::serde_rfc3339::serialize")]
        deadline: DateTime<Utc>,
    },
    /// Quoting is over and the best quote stands; the sealed reserve price is being
    /// opened by the committee, which decides the result ([`Sale::reveal_reserve`]).
    Reserve {
        #[serde(serialize_with = "super::clock::serde_rfc3339::serialize")]
        since: DateTime<Utc>,
    },
    /// Over; the result is in [`Sale::result`].
    Closed,
}

/// What the opening of a sale's sealed reserve price found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Reserve {
    /// The seller sealed none before the sale started: the start price is the floor.
    NotSealed,
    /// The reserve, as opened and checked.
    Opened { amount: Money },
    /// The sealed reserve does not open or is not valid: the sale cannot be confirmed.
    Invalid { reason: String },
}

/// One accepted quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub bidder_number: String,
    pub amount: Money,
    #[serde(serialize_with = "super::clock::serde_rfc3339::serialize")]
    pub at: DateTime<Utc>,
}

/// How a sale ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SaleResult {
    /// Sold (成交) to the holder of `bidder_number` at `amount`.
    Sold {
        bidder_number: String,
        amount: Money,
        /// `quote` (the best quote) or `agreement` (one buyer at the start price).
        by: String,
    },
    /// Not sold (流拍), with the public reason.
    Failed { reason: String },
}

/// What a bidder is told when its quote is taken (and again on a retry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    pub quote_id: String,
    pub client_quote_id: String,
    pub bidder_number: String,
    pub amount: Money,
    /// Always true for an accepted quote: it must beat the best.
    pub became_best: bool,
    /// The lowest next quote.
    pub next_minimum: Money,
    /// The countdown's end, in timed bidding.
    #[serde(serialize_with = "super::clock::serde_rfc3339::option")]
    pub deadline: Option<DateTime<Utc>>,
    #[serde(serialize_with = "super::clock::serde_rfc3339::serialize")]
    pub at: DateTime<Utc>,
    /// The log entry that recorded it.
    pub seq: i64,
}

/// What a closed sale does with the deposits that count (paid and not rejected): the
/// winner's becomes payment, every other one goes back.
pub fn settlement<'a>(
    applications: &'a [super::application::Application],
    result: &SaleResult,
) -> (
    Option<&'a super::application::Application>,
    Vec<&'a super::application::Application>,
) {
    use super::application::ApplicationStatus;
    let winner = match result {
        SaleResult::Sold { bidder_number, .. } => Some(bidder_number.as_str()),
        SaleResult::Failed { .. } => None,
    };
    let (won, released): (Vec<_>, Vec<_>) = applications
        .iter()
        .filter(|a| a.deposit_at.is_some() && a.status != ApplicationStatus::Rejected)
        .partition(|a| winner.is_some() && a.bidder_number.as_deref() == winner);
    (won.into_iter().next(), released)
}

/// A period end that moved the sale, for the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// The instant it was due (not when it was noticed).
    #[serde(serialize_with = "super::clock::serde_rfc3339::serialize")]
    pub due: DateTime<Utc>,
    pub to: Phase,
}

/// Why a quote is refused. Each has a stable code (docs/api.md).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    #[error("quoting has not started (server time)")]
    NotOpen,
    #[error("no quotes are taken now: the listing has ended and timed bidding starts at {0}")]
    Frozen(String),
    #[error("quoting has closed (server time)")]
    Closed,
    #[error("a quote must be a whole multiple of the increment {0}")]
    NotMultiple(Money),
    #[error("the first quote must be at least the start price {0}")]
    BelowStart(Money),
    #[error("{0} is already the best quote: the first to quote it holds it")]
    PriceTaken(Money),
    #[error("a quote must be at least the best quote plus the increment: {0}")]
    BelowIncrement(Money),
    #[error("you hold the best quote already")]
    AlreadyBest,
}

impl QuoteError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotOpen => "quoting_not_open",
            Self::Frozen(_) => "quoting_frozen",
            Self::Closed => "quoting_closed",
            Self::NotMultiple(_) => "quote_not_multiple",
            Self::BelowStart(_) => "quote_below_start",
            Self::PriceTaken(_) => "quote_price_taken",
            Self::BelowIncrement(_) => "quote_below_increment",
            Self::AlreadyBest => "quote_already_best",
        }
    }
}

/// A sale's state: its phase, the best quote, who has quoted, and the result once closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sale {
    pub phase: Phase,
    pub best: Option<Quote>,
    /// The first bidder numbers to quote, as many as the timed phase needs
    /// (`min_bidders_for_timed`): whether enough bidders are in is all the listing's end
    /// asks. Kept short because the sale's state is read and written with every quote.
    pub quoted: BTreeSet<String>,
    pub quotes: u64,
    pub result: Option<SaleResult>,
    /// The reserve price as the close found it, once revealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserve: Option<Reserve>,
}

impl Default for Sale {
    fn default() -> Self {
        Self {
            phase: Phase::Announced,
            best: None,
            quoted: BTreeSet::new(),
            quotes: 0,
            result: None,
            reserve: None,
        }
    }
}

impl Sale {
    /// When the next period end is due, if any: the timer the store keeps for this sale.
    pub fn next_due(&self, rules: &Rules) -> Option<DateTime<Utc>> {
        match &self.phase {
            Phase::Announced => Some(rules.starts_at),
            Phase::Listing | Phase::Disclosure => rules.ends_at,
            Phase::Frozen { until } | Phase::FreeQuote { until } => Some(*until),
            Phase::Timed { deadline } => Some(*deadline),
            Phase::Reserve { .. } | Phase::Closed => None,
        }
    }

    /// Fires every period end due by `now`, in order, and returns them. `numbered` is the
    /// bidder numbers of the sale (qualified, deposit confirmed): a disclosure's end
    /// needs them.
    pub fn advance(
        &mut self,
        rules: &Rules,
        now: DateTime<Utc>,
        numbered: &[String],
    ) -> Vec<Transition> {
        std::iter::from_fn(|| self.fire_next(rules, now, numbered)).collect()
    }

    /// Fires the next period end if it is due by `now`.
    pub fn fire_next(
        &mut self,
        rules: &Rules,
        now: DateTime<Utc>,
        numbered: &[String],
    ) -> Option<Transition> {
        let due = self.next_due(rules).filter(|due| *due <= now)?;
        self.fire(rules, due, numbered);
        Some(Transition {
            due,
            to: self.phase.clone(),
        })
    }

    fn fire(&mut self, rules: &Rules, due: DateTime<Utc>, numbered: &[String]) {
        self.phase = match (&self.phase, rules.format) {
            (Phase::Announced, Format::Listing) => Phase::Listing,
            (Phase::Announced, Format::Disclosure) => Phase::Disclosure,
            (Phase::Announced, Format::Auction) => Phase::Timed {
                deadline: due + rules.countdown(),
            },
            (Phase::Listing, _) => {
                if self.quoted.len() >= rules.min_bidders_for_timed.max(1) {
                    let until = due + Duration::seconds(rules.freeze_seconds);
                    if until > due {
                        Phase::Frozen { until }
                    } else {
                        Phase::Timed {
                            deadline: due + rules.countdown(),
                        }
                    }
                } else {
                    return self.close(rules, due);
                }
            }
            (Phase::Disclosure, _) => match numbered {
                [] => return self.fail("no_bidder"),
                [only] => {
                    self.result = Some(SaleResult::Sold {
                        bidder_number: only.clone(),
                        amount: rules.start_price,
                        by: "agreement".into(),
                    });
                    Phase::Closed
                }
                _ => Phase::FreeQuote {
                    until: due + Duration::seconds(rules.free_quote_seconds),
                },
            },
            (Phase::Frozen { .. } | Phase::FreeQuote { .. }, _) => Phase::Timed {
                deadline: due + rules.countdown(),
            },
            (Phase::Timed { .. }, _) => return self.close(rules, due),
            (phase @ (Phase::Reserve { .. } | Phase::Closed), _) => phase.clone(),
        };
    }

    /// Ends quoting: on its best quote, after the reserve's opening if one is sealed, or
    /// as failed without a quote.
    fn close(&mut self, rules: &Rules, due: DateTime<Utc>) {
        match &self.best {
            Some(_) if rules.reserve_sealed => self.phase = Phase::Reserve { since: due },
            Some(best) => {
                self.result = Some(SaleResult::Sold {
                    bidder_number: best.bidder_number.clone(),
                    amount: best.amount,
                    by: "quote".into(),
                });
                self.phase = Phase::Closed;
            }
            None => self.fail("no_quote"),
        }
    }

    fn fail(&mut self, reason: &str) {
        self.result = Some(SaleResult::Failed {
            reason: reason.into(),
        });
        self.phase = Phase::Closed;
    }

    /// Decides a sale waiting in [`Phase::Reserve`] on what the reserve's opening
    /// found: sold at the best quote if it reaches the reserve, else failed (流拍) with
    /// the public reason `below_reserve` (or `reserve_invalid`). Returns false, and does
    /// nothing, in any other phase.
    pub fn reveal_reserve(&mut self, reserve: &Reserve) -> bool {
        let (Phase::Reserve { .. }, Some(best)) = (&self.phase, &self.best) else {
            return false;
        };
        let result = match reserve {
            Reserve::Opened { amount } if best.amount < *amount => SaleResult::Failed {
                reason: "below_reserve".into(),
            },
            Reserve::Invalid { .. } => SaleResult::Failed {
                reason: "reserve_invalid".into(),
            },
            Reserve::NotSealed | Reserve::Opened { .. } => SaleResult::Sold {
                bidder_number: best.bidder_number.clone(),
                amount: best.amount,
                by: "quote".into(),
            },
        };
        self.result = Some(result);
        self.reserve = Some(reserve.clone());
        self.phase = Phase::Closed;
        true
    }

    /// The lowest quote acceptable now.
    pub fn minimum(&self, rules: &Rules) -> Money {
        match &self.best {
            Some(best) => Money::new(best.amount.minor_units() + rules.increment.minor_units())
                .unwrap_or(best.amount),
            None => rules.start_price,
        }
    }

    /// Judges a quote at `at` (after [`Sale::advance`] to `at`) and takes it if valid:
    /// it becomes the best, and in timed bidding restarts the countdown.
    pub fn quote(
        &mut self,
        rules: &Rules,
        bidder_number: &str,
        amount: Money,
        at: DateTime<Utc>,
    ) -> Result<(), QuoteError> {
        match &self.phase {
            Phase::Announced | Phase::Disclosure => return Err(QuoteError::NotOpen),
            Phase::Frozen { until } => {
                return Err(QuoteError::Frozen(super::clock::rfc3339(*until)))
            }
            Phase::Reserve { .. } | Phase::Closed => return Err(QuoteError::Closed),
            Phase::Listing | Phase::FreeQuote { .. } | Phase::Timed { .. } => {}
        }
        let step = rules.increment.minor_units();
        if step <= 0 || amount.minor_units() % step != 0 {
            return Err(QuoteError::NotMultiple(rules.increment));
        }
        match &self.best {
            None if amount < rules.start_price => {
                return Err(QuoteError::BelowStart(rules.start_price))
            }
            Some(best) if best.bidder_number == bidder_number => {
                return Err(QuoteError::AlreadyBest)
            }
            Some(best) if amount == best.amount => return Err(QuoteError::PriceTaken(amount)),
            Some(_) if amount < self.minimum(rules) => {
                return Err(QuoteError::BelowIncrement(self.minimum(rules)))
            }
            _ => {}
        }
        self.best = Some(Quote {
            bidder_number: bidder_number.to_owned(),
            amount,
            at,
        });
        if self.quoted.len() < rules.min_bidders_for_timed.max(1) {
            self.quoted.insert(bidder_number.to_owned());
        }
        self.quotes += 1;
        if let Phase::Timed { deadline } = &mut self.phase {
            *deadline = at + rules.countdown();
        }
        Ok(())
    }

    /// Moves the pending instant by `by` if it is after `since`: a suspension's length,
    /// given back on resume (the listing's own start and end move with the trade's terms).
    pub fn shift(&mut self, since: DateTime<Utc>, by: Duration) {
        match &mut self.phase {
            Phase::Frozen { until: at }
            | Phase::FreeQuote { until: at }
            | Phase::Timed { deadline: at }
                if *at > since =>
            {
                *at += by;
            }
            _ => {}
        }
    }

    /// The countdown's deadline, in timed bidding.
    pub fn deadline(&self) -> Option<DateTime<Utc>> {
        match self.phase {
            Phase::Timed { deadline } => Some(deadline),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 18, 1, 0, 0)
            .single()
            .unwrap_or_default()
            + Duration::minutes(minutes)
    }

    fn yuan(n: i64) -> Money {
        Money::new(n * 100).unwrap_or(Money::ZERO)
    }

    fn rules(format: Format) -> Rules {
        Rules {
            format,
            start_price: yuan(1_000),
            increment: yuan(100),
            starts_at: t(0),
            ends_at: (format != Format::Auction).then(|| t(60)),
            countdown_seconds: 240,
            freeze_seconds: 600,
            free_quote_seconds: 1_800,
            min_bidders_for_timed: 2,
            reserve_sealed: false,
        }
    }

    #[test]
    fn the_winners_deposit_becomes_payment_and_every_other_paid_one_goes_back() {
        use crate::domain::application::{Application, ApplicationStatus};
        let application = |id: &str, status, paid: bool, number: Option<&str>| Application {
            id: id.into(),
            trade_id: "t".into(),
            identity_id: id.into(),
            usci: id.into(),
            organization: id.into(),
            payer_account: "6222020300001".into(),
            payer_name: id.into(),
            status,
            reason: None,
            applied_at: t(0),
            decided_at: None,
            decided_by: None,
            deposit_at: paid.then(|| t(1)),
            bidder_number: number.map(str::to_owned),
        };
        let applications = [
            application("won", ApplicationStatus::Qualified, true, Some("101")),
            application("lost", ApplicationStatus::Qualified, true, Some("102")),
            application("unpaid", ApplicationStatus::Qualified, false, None),
            application("rejected", ApplicationStatus::Rejected, true, None),
            application("pending", ApplicationStatus::Pending, true, None),
        ];
        let ids = |list: Vec<&Application>| list.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
        let sold = SaleResult::Sold {
            bidder_number: "101".into(),
            amount: yuan(1_500),
            by: "quote".into(),
        };
        let (winner, released) = settlement(&applications, &sold);
        assert_eq!(winner.map(|a| a.id.as_str()), Some("won"));
        assert_eq!(ids(released), ["lost", "pending"]);
        let failed = SaleResult::Failed {
            reason: "below the reserve".into(),
        };
        let (winner, released) = settlement(&applications, &failed);
        assert!(winner.is_none());
        assert_eq!(ids(released), ["won", "lost", "pending"]);
    }

    #[test]
    fn each_live_procedure_has_its_format_and_no_other_does() {
        for (procedure, format) in [
            ("listing", Some(Format::Listing)),
            ("auction", Some(Format::Auction)),
            ("disclosure", Some(Format::Disclosure)),
            ("open_tender", None),
            ("", None),
        ] {
            assert_eq!(Format::of_procedure(procedure), format, "{procedure}");
        }
    }

    #[test]
    fn a_resumed_sale_moves_only_what_lay_after_its_suspension() {
        // Suspended at minute 30 for 20 minutes: the listing began before, so only its
        // end moves.
        let mut r = rules(Format::Listing);
        r.shift(t(30), Duration::minutes(20));
        assert_eq!((r.starts_at, r.ends_at), (t(0), Some(t(80))));
        // Suspended before it began: both move.
        let mut r = rules(Format::Listing);
        r.shift(t(-10), Duration::minutes(20));
        assert_eq!((r.starts_at, r.ends_at), (t(20), Some(t(80))));
        // After it ended: nothing moves.
        let mut r = rules(Format::Listing);
        r.shift(t(60), Duration::minutes(20));
        assert_eq!((r.starts_at, r.ends_at), (t(0), Some(t(60))));
        // A time at the suspension's very instant stays; one after it moves later.
        assert_eq!(shift_after(t(0), t(0), Duration::minutes(5)), t(0));
        assert_eq!(shift_after(t(1), t(0), Duration::minutes(5)), t(6));
    }

    fn codes(sale: &mut Sale, r: &Rules, quotes: &[(&str, i64, i64)]) -> Vec<&'static str> {
        quotes
            .iter()
            .map(|(who, amount, at)| {
                sale.advance(r, t(*at), &[]);
                sale.quote(r, who, yuan(*amount), t(*at))
                    .map_or_else(|e| e.code(), |()| "ok")
            })
            .collect()
    }

    #[test]
    fn a_listing_with_two_bidders_goes_to_timed_bidding_and_the_last_best_wins() {
        let r = rules(Format::Listing);
        let mut sale = Sale::default();
        let got = codes(
            &mut sale,
            &r,
            &[
                ("A", 1_000, -1),
                ("A", 900, 1),
                ("A", 1_050, 1),
                ("A", 1_000, 2),
                ("B", 1_000, 3),
                ("B", 1_050, 3),
                ("A", 1_000, 4),
                ("B", 1_100, 4),
                ("A", 1_300, 5),
                ("B", 1_300, 6),
            ],
        );
        assert_eq!(
            got,
            [
                "quoting_not_open",
                "quote_below_start",
                "quote_not_multiple",
                "ok",
                "quote_price_taken",
                "quote_not_multiple",
                "quote_already_best",
                "ok",
                "ok",
                "quote_price_taken"
            ]
        );
        // The listing ends at 60 with A and B in: ten minutes' freeze, then 4 minutes.
        let fired = sale.advance(&r, t(60), &[]);
        assert_eq!(fired.len(), 1);
        assert_eq!(sale.phase, Phase::Frozen { until: t(70) });
        assert_eq!(
            codes(&mut sale, &r, &[("B", 1_400, 65)]),
            ["quoting_frozen"]
        );
        sale.advance(&r, t(70), &[]);
        assert_eq!(
            sale.deadline(),
            Some(t(74)),
            "the countdown starts when the freeze ends"
        );
        // Each valid quote restarts it; a refused one does not.
        assert_eq!(codes(&mut sale, &r, &[("B", 1_400, 73)]), ["ok"]);
        assert_eq!(sale.deadline(), Some(t(77)));
        assert_eq!(
            codes(&mut sale, &r, &[("A", 1_450, 76)]),
            ["quote_not_multiple"]
        );
        assert_eq!(sale.deadline(), Some(t(77)));
        // A minute before the end nothing fires; at the end the sale closes, once.
        assert!(sale.advance(&r, t(76), &[]).is_empty());
        assert_eq!(sale.advance(&r, t(77), &[]).len(), 1);
        assert!(sale.advance(&r, t(90), &[]).is_empty());
        assert_eq!(
            codes(&mut sale, &r, &[("A", 1_500, 77)]),
            ["quoting_closed"]
        );
        assert_eq!(
            sale.result,
            Some(SaleResult::Sold {
                bidder_number: "B".into(),
                amount: yuan(1_400),
                by: "quote".into()
            })
        );
    }

    #[test]
    fn a_listing_without_a_freeze_goes_straight_to_timed_bidding() {
        let mut r = rules(Format::Listing);
        r.freeze_seconds = 0;
        let mut sale = Sale::default();
        // The lowest acceptable quote: the start price, then the best plus the increment.
        assert_eq!(sale.minimum(&r), yuan(1_000));
        assert_eq!(codes(&mut sale, &r, &[("A", 1_000, 1)]), ["ok"]);
        assert_eq!(sale.minimum(&r), yuan(1_100));
        assert_eq!(codes(&mut sale, &r, &[("B", 1_100, 2)]), ["ok"]);
        // Below the best, by a whole increment or more: refused, and the best stands.
        assert_eq!(
            codes(&mut sale, &r, &[("A", 1_000, 3)]),
            ["quote_below_increment"]
        );
        assert_eq!(sale.minimum(&r), yuan(1_200));
        // One step, logged as one period end: no frozen period of no length first.
        let step = sale.fire_next(&r, t(60), &[]);
        assert_eq!(
            step.map(|s| s.to),
            Some(Phase::Timed {
                deadline: t(60) + Duration::seconds(240)
            })
        );
    }

    #[test]
    fn a_listing_with_one_bidder_sells_to_it_and_one_without_quotes_fails() {
        let r = rules(Format::Listing);
        let mut one = Sale::default();
        assert_eq!(codes(&mut one, &r, &[("A", 1_000, 1)]), ["ok"]);
        one.advance(&r, t(61), &[]);
        assert!(
            matches!(one.result, Some(SaleResult::Sold { ref bidder_number, .. }) if bidder_number == "A")
        );

        let mut none = Sale::default();
        none.advance(&r, t(61), &[]);
        assert_eq!(
            none.result,
            Some(SaleResult::Failed {
                reason: "no_quote".into()
            })
        );
    }

    #[test]
    fn the_sale_keeps_only_the_bidders_the_timed_phase_needs() {
        let r = Rules {
            min_bidders_for_timed: 3,
            ..rules(Format::Listing)
        };
        // A bidder that quotes again is still one bidder: two are not enough for three.
        let mut two = Sale::default();
        let got = codes(
            &mut two,
            &r,
            &[("A", 1_000, 1), ("B", 1_100, 2), ("A", 1_200, 3)],
        );
        assert_eq!(got, ["ok", "ok", "ok"]);
        assert_eq!(two.quoted.len(), 2);
        two.advance(&r, t(60), &[]);
        assert!(
            matches!(two.result, Some(SaleResult::Sold { ref bidder_number, .. }) if bidder_number == "A"),
            "without timed bidding the best quote of the listing wins"
        );
        // Fifty bidders: the state holds three numbers, whatever the crowd.
        let mut crowd = Sale::default();
        for i in 0..50_i64 {
            crowd.advance(&r, t(1), &[]);
            let quoted = crowd.quote(&r, &format!("N{i:03}"), yuan(1_000 + 100 * i), t(1));
            assert_eq!(quoted, Ok(()));
        }
        assert_eq!((crowd.quotes, crowd.quoted.len()), (50, 3));
        crowd.advance(&r, t(60), &[]);
        assert_eq!(crowd.phase, Phase::Frozen { until: t(70) });
    }

    #[test]
    fn an_auction_counts_down_from_its_start() {
        let r = rules(Format::Auction);
        let mut sale = Sale::default();
        sale.advance(&r, t(0), &[]);
        assert_eq!(sale.deadline(), Some(t(4)));
        let mut silent = sale.clone();
        silent.advance(&r, t(4), &[]);
        assert!(matches!(silent.result, Some(SaleResult::Failed { .. })));
        assert_eq!(codes(&mut sale, &r, &[("A", 1_000, 3)]), ["ok"]);
        assert_eq!(sale.deadline(), Some(t(7)));
    }

    #[test]
    fn a_disclosure_ends_by_agreement_with_one_buyer_and_in_bidding_with_two() {
        let r = rules(Format::Disclosure);
        let mut sale = Sale::default();
        assert_eq!(
            codes(&mut sale, &r, &[("A", 1_000, 5)]),
            ["quoting_not_open"]
        );
        let mut one = sale.clone();
        one.advance(&r, t(60), &["A".into()]);
        assert_eq!(
            one.result,
            Some(SaleResult::Sold {
                bidder_number: "A".into(),
                amount: yuan(1_000),
                by: "agreement".into()
            })
        );
        let mut none = sale.clone();
        none.advance(&r, t(60), &[]);
        assert!(
            matches!(none.result, Some(SaleResult::Failed { ref reason }) if reason == "no_bidder")
        );

        sale.advance(&r, t(60), &["A".into(), "B".into()]);
        assert_eq!(sale.phase, Phase::FreeQuote { until: t(90) });
        assert_eq!(codes(&mut sale, &r, &[("A", 1_000, 70)]), ["ok"]);
        assert_eq!(
            sale.phase,
            Phase::FreeQuote { until: t(90) },
            "no countdown yet"
        );
        sale.advance(&r, t(90), &[]);
        assert_eq!(sale.deadline(), Some(t(94)));
    }

    #[test]
    fn a_suspension_gives_back_its_time() {
        let r = rules(Format::Auction);
        let mut sale = Sale::default();
        sale.advance(&r, t(0), &[]);
        sale.shift(t(1), Duration::minutes(30));
        assert_eq!(sale.deadline(), Some(t(34)));
        sale.shift(t(40), Duration::minutes(30));
        assert_eq!(
            sale.deadline(),
            Some(t(34)),
            "a deadline passed before the suspension stays"
        );
        sale.shift(t(34), Duration::minutes(30));
        assert_eq!(
            sale.deadline(),
            Some(t(34)),
            "a deadline due at the suspension's instant has passed"
        );
    }

    #[test]
    fn a_sealed_reserve_decides_the_close() {
        let r = Rules {
            reserve_sealed: true,
            ..rules(Format::Auction)
        };
        let mut sale = Sale::default();
        assert_eq!(
            codes(&mut sale, &r, &[("A", 1_000, 0), ("B", 1_500, 1)]),
            ["ok", "ok"]
        );
        sale.advance(&r, t(10), &[]);
        assert_eq!(sale.phase, Phase::Reserve { since: t(5) });
        assert_eq!(sale.result, None, "the best quote waits for the reserve");
        assert_eq!(
            codes(&mut sale, &r, &[("A", 1_600, 11)]),
            ["quoting_closed"]
        );
        assert_eq!(sale.next_due(&r), None, "no timer: the committee opens it");

        let mut below = sale.clone();
        assert!(below.reveal_reserve(&Reserve::Opened {
            amount: yuan(1_600)
        }));
        assert!(
            matches!(below.result, Some(SaleResult::Failed { ref reason }) if reason == "below_reserve")
        );
        assert!(!below.reveal_reserve(&Reserve::NotSealed), "decided once");

        let mut at = sale.clone();
        at.reveal_reserve(&Reserve::Opened {
            amount: yuan(1_500),
        });
        assert_eq!(
            at.result,
            Some(SaleResult::Sold {
                bidder_number: "B".into(),
                amount: yuan(1_500),
                by: "quote".into()
            }),
            "a best quote equal to the reserve sells"
        );
        let mut invalid = sale.clone();
        invalid.reveal_reserve(&Reserve::Invalid {
            reason: "does not decrypt".into(),
        });
        assert!(
            matches!(invalid.result, Some(SaleResult::Failed { ref reason }) if reason == "reserve_invalid")
        );

        let mut unsold = Sale::default();
        unsold.advance(&r, t(10), &[]);
        assert!(
            matches!(unsold.result, Some(SaleResult::Failed { ref reason }) if reason == "no_quote"),
            "without a quote there is nothing to open"
        );
    }
}
