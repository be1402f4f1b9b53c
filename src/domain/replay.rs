//! Deterministic replay of a live sale (ADR 0010): the sale's public log entries, run
//! again through `domain::auction`, must reach the logged phases, countdowns and result.
//! Anyone holding the log can run it (`tradehall replay`); a difference names the entry.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::auction::{Phase, Reserve, Rules, Sale, SaleResult};
use super::money::Money;

/// One logged step of a sale, as replay reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `sale.period`: a period end, the rules it ran on, the numbered buyers (disclosure).
    Period {
        due: DateTime<Utc>,
        to: Phase,
        rules: Rules,
        numbered: Vec<String>,
    },
    /// `sale.quote`: an accepted quote.
    Quote {
        bidder_number: String,
        amount: Money,
        at: DateTime<Utc>,
        deadline: Option<DateTime<Utc>>,
    },
    /// `trade.suspended`.
    Suspended { at: DateTime<Utc> },
    /// `trade.resumed`: the time given back.
    Resumed { shift: Duration },
    /// `sale.closed`, with what the reserve's opening found when one was due.
    Closed {
        result: SaleResult,
        reserve: Option<Reserve>,
    },
}

/// A logged step with the log index it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub seq: i64,
    pub step: Step,
}

/// Where replay and the log part ways.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("log entry {seq}: {what}")]
pub struct Divergence {
    pub seq: i64,
    pub what: String,
}

/// What a replay that agrees with the log found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    pub periods: usize,
    pub quotes: usize,
    /// The result, if the sale has closed.
    pub result: Option<SaleResult>,
}

fn field<T: serde::de::DeserializeOwned>(data: &Value, name: &str) -> Result<T, String> {
    serde_json::from_value(data.get(name).cloned().unwrap_or(Value::Null))
        .map_err(|e| format!("`{name}` is not readable: {e}"))
}

/// Reads one public log entry (`{"seq", "kind", "data", …}`) as a step of a sale, or
/// `None` for an entry replay does not use.
pub fn read_entry(entry: &Value) -> Result<Option<Logged>, Divergence> {
    let seq = entry["seq"].as_i64().unwrap_or_default();
    read_step(entry["kind"].as_str().unwrap_or_default(), &entry["data"])
        .map(|step| step.map(|step| Logged { seq, step }))
        .map_err(|what| Divergence { seq, what })
}

fn read_step(kind: &str, data: &Value) -> Result<Option<Step>, String> {
    Ok(Some(match kind {
        "sale.period" => Step::Period {
            due: field(data, "due")?,
            to: field(data, "to")?,
            rules: field(data, "rules")?,
            numbered: match data.get("numbered") {
                Some(_) => field(data, "numbered")?,
                None => Vec::new(),
            },
        },
        "sale.quote" => Step::Quote {
            bidder_number: field(data, "bidder_number")?,
            amount: field(data, "amount")?,
            at: field(data, "at")?,
            deadline: field(data, "deadline")?,
        },
        "sale.closed" => Step::Closed {
            result: field(data, "result")?,
            reserve: field(data, "reserve")?,
        },
        "trade.suspended" => Step::Suspended {
            at: field(data, "suspended_at")?,
        },
        "trade.resumed" => Step::Resumed {
            shift: Duration::milliseconds(field(data, "shift_ms")?),
        },
        _ => return Ok(None),
    }))
}

/// Runs the steps of one sale, in log order, and checks each against the log.
pub fn replay(steps: &[Logged]) -> Result<Replayed, Divergence> {
    let mut rules: Option<Rules> = None;
    let mut sale = Sale::default();
    let mut since: Option<DateTime<Utc>> = None;
    let mut closed_logged = false;
    let (mut periods, mut quotes) = (0, 0);
    for Logged { seq, step } in steps {
        let diverged = |what: String| Divergence { seq: *seq, what };
        match step {
            Step::Period {
                due,
                to,
                rules: logged,
                numbered,
            } => {
                let rules = rules.get_or_insert_with(|| logged.clone());
                if rules != logged {
                    return Err(diverged(format!(
                        "the sale ran on rules {logged:?}; replay has {rules:?}"
                    )));
                }
                let fired = sale
                    .fire_next(rules, *due, numbered)
                    .ok_or_else(|| diverged(format!("nothing was due at {due}")))?;
                if fired.due != *due || fired.to != *to {
                    return Err(diverged(format!(
                        "the log moved to {to:?} at {due}; replay moves to {:?} at {}",
                        fired.to, fired.due
                    )));
                }
                periods += 1;
            }
            Step::Quote {
                bidder_number,
                amount,
                at,
                deadline,
            } => {
                let rules = rules
                    .as_ref()
                    .ok_or_else(|| diverged("a quote before the sale started".into()))?;
                if let Some(due) = sale.next_due(rules).filter(|due| due <= at) {
                    return Err(diverged(format!(
                        "a period end due at {due} is missing before this quote at {at}"
                    )));
                }
                sale.quote(rules, bidder_number, *amount, *at)
                    .map_err(|e| diverged(format!("replay refuses this quote: {e}")))?;
                if sale.deadline() != *deadline {
                    return Err(diverged(format!(
                        "the log's countdown ends at {deadline:?}; replay's at {:?}",
                        sale.deadline()
                    )));
                }
                quotes += 1;
            }
            Step::Suspended { at } => since = Some(*at),
            Step::Resumed { shift } => {
                if let (Some(since), Some(rules)) = (since, rules.as_mut()) {
                    rules.shift(since, *shift);
                    sale.shift(since, *shift);
                }
            }
            Step::Closed { result, reserve } => {
                // A sale waiting for its reserve is decided by what the opening found.
                if let Some(reserve) = reserve {
                    sale.reveal_reserve(reserve);
                }
                if sale.result.as_ref() != Some(result) {
                    return Err(diverged(format!(
                        "the log's result is {result:?}; replay's is {:?}",
                        sale.result
                    )));
                }
                closed_logged = true;
            }
        }
    }
    if sale.result.is_some() && !closed_logged {
        return Err(Divergence {
            seq: steps.last().map_or(0, |s| s.seq),
            what: "replay closed the sale but the log has no result".into(),
        });
    }
    Ok(Replayed {
        periods,
        quotes,
        result: sale.result,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::auction::Format;
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

    /// A real run of an auction, logged as the store logs it.
    fn logged_auction() -> Vec<Logged> {
        logged_auction_with(None)
    }

    /// The same auction with a sealed reserve, opened at the close.
    fn logged_auction_with(reserve: Option<Money>) -> Vec<Logged> {
        let rules = Rules {
            reserve_sealed: reserve.is_some(),
            format: Format::Auction,
            start_price: yuan(1_000),
            increment: yuan(100),
            starts_at: t(0),
            ends_at: None,
            countdown_seconds: 240,
            freeze_seconds: 0,
            free_quote_seconds: 0,
            min_bidders_for_timed: 2,
        };
        let mut sale = Sale::default();
        let mut log = Vec::new();
        let mut seq = 0;
        let mut push = |step| {
            seq += 1;
            log.push(Logged { seq, step });
        };
        let period = |sale: &mut Sale, at| {
            let fired = sale
                .fire_next(&rules, at, &[])
                .unwrap_or_else(|| panic!("due"));
            Step::Period {
                due: fired.due,
                to: fired.to,
                rules: rules.clone(),
                numbered: vec![],
            }
        };
        push(period(&mut sale, t(0)));
        for (who, amount, at) in [("A", 1_000, 1), ("B", 1_100, 3)] {
            sale.quote(&rules, who, yuan(amount), t(at))
                .unwrap_or_else(|e| panic!("{e}"));
            push(Step::Quote {
                bidder_number: who.into(),
                amount: yuan(amount),
                at: t(at),
                deadline: sale.deadline(),
            });
        }
        push(Step::Suspended { at: t(4) });
        push(Step::Resumed {
            shift: Duration::minutes(10),
        });
        sale.shift(t(4), Duration::minutes(10));
        push(period(&mut sale, t(17)));
        let reserve = reserve.map(|amount| Reserve::Opened { amount });
        if let Some(reserve) = &reserve {
            sale.reveal_reserve(reserve);
        }
        let result = sale.result.clone().unwrap_or_else(|| panic!("closed"));
        push(Step::Closed { result, reserve });
        log
    }

    #[test]
    fn an_honest_log_replays_to_its_result() {
        let replayed = replay(&logged_auction()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((replayed.periods, replayed.quotes), (2, 2));
        assert!(matches!(
            replayed.result,
            Some(SaleResult::Sold { ref bidder_number, amount, .. }) if bidder_number == "B" && amount == yuan(1_100)
        ));
    }

    #[test]
    fn a_tampered_log_diverges_at_the_entry() {
        // B's quote raised after the fact: the logged result no longer follows.
        let mut log = logged_auction();
        if let Step::Quote { amount, .. } = &mut log[2].step {
            *amount = yuan(1_200);
        }
        let e = replay(&log).err().unwrap_or_else(|| panic!("diverges"));
        assert_eq!(e.seq, 7, "{e}");

        // The winner changed in the result.
        let mut log = logged_auction();
        if let Step::Closed {
            result: SaleResult::Sold { bidder_number, .. },
            ..
        } = &mut log[6].step
        {
            *bidder_number = "A".into();
        }
        assert_eq!(replay(&log).map_err(|e| e.seq), Err(7));

        // B's quote removed: A would have won.
        let mut log = logged_auction();
        log.remove(2);
        assert!(replay(&log).is_err());

        // The suspension hidden: the close comes ten minutes after replay's deadline.
        let mut log = logged_auction();
        log.retain(|l| !matches!(l.step, Step::Resumed { .. }));
        assert_eq!(replay(&log).map_err(|e| e.seq), Err(6));
    }

    #[test]
    fn the_opened_reserve_decides_the_replayed_result() {
        let log = logged_auction_with(Some(yuan(1_200)));
        let replayed = replay(&log).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            matches!(replayed.result, Some(SaleResult::Failed { ref reason }) if reason == "below_reserve")
        );
        assert!(replay(&logged_auction_with(Some(yuan(1_100)))).is_ok());

        // A reserve lowered in the log after the fact no longer fits the logged 流拍.
        let mut lowered = log;
        if let Some(Logged {
            step: Step::Closed { reserve, .. },
            ..
        }) = lowered.last_mut()
        {
            *reserve = Some(Reserve::Opened {
                amount: yuan(1_000),
            });
        }
        assert_eq!(replay(&lowered).map_err(|e| e.seq), Err(7));
    }

    #[test]
    fn entries_are_read_from_their_public_json() {
        let entry = serde_json::json!({
            "seq": 9, "kind": "sale.quote",
            "data": { "bidder_number": "123456", "amount": 500, "at": "2026-12-18T01:01:00.000Z", "deadline": null },
        });
        let logged = read_entry(&entry).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            logged,
            Some(Logged {
                seq: 9,
                step: Step::Quote { .. }
            })
        ));
        let broken = serde_json::json!({ "seq": 10, "kind": "sale.quote", "data": {} });
        assert_eq!(read_entry(&broken).map_err(|e| e.seq), Err(10));
        let other = serde_json::json!({ "seq": 11, "kind": "bid.submitted", "data": {} });
        assert_eq!(read_entry(&other), Ok(None));
    }
}
