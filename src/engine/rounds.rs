//! Further rounds of a competitive negotiation or consultation (竞争性谈判/磋商, issue 6):
//! after a round's opening the centre opens the next round, a new sealed-bid trade among
//! the previous round's valid bidders only, with the same terms and documents and a
//! deadline the negotiation sets. Each round is opened like a bid opening by the
//! committee; the last round is evaluated.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{event, Caller, EngineError, Platform, Result, TradeView};
use crate::domain::identity::Role;
use crate::domain::trade::TradeStatus;
use crate::domain::usci::Usci;

/// The centre's order for the next round.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextRound {
    pub bid_deadline: DateTime<Utc>,
}

impl Platform {
    /// Opens the next round of an opened trade whose procedure has rounds, once.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn next_round(
        &self,
        caller: &Caller,
        trade_id: &str,
        order: NextRound,
    ) -> Result<TradeView> {
        caller.require(Role::TradingCentre)?;
        let trade = self.announced_trade(trade_id).await?;
        let rounds = self
            .rulebook
            .procedure(&trade.terms.kind, &trade.terms.procedure)
            .is_some_and(|p| p.rounds);
        if !rounds {
            return Err(EngineError::conflict(
                "no_rounds",
                "only a competitive negotiation or consultation has further rounds",
            ));
        }
        if trade.status != TradeStatus::Opened {
            return Err(EngineError::conflict(
                "not_opened",
                "the next round follows the opening of this one",
            ));
        }
        if self.has_next_round(trade_id).await? {
            return Err(EngineError::conflict(
                "next_round_exists",
                "this round has its next round already",
            ));
        }
        if order.bid_deadline <= self.clock.now() {
            return Err(EngineError::invalid(
                "invalid_terms",
                "the next round's deadline is in the future",
            ));
        }
        let record = self.opening_record(trade_id).await?.ok_or_else(|| {
            EngineError::conflict("not_opened", "the trade has no opening record")
        })?;
        let mut invited: Vec<Usci> = record
            .record
            .bids
            .iter()
            .filter(|b| b.valid)
            .filter_map(|b| Usci::parse(&b.organization.usci).ok())
            .collect();
        invited.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        invited.dedup();
        let mut terms = trade.terms.clone();
        terms.bid_deadline = order.bid_deadline;
        terms.invited = invited;
        terms.previous_round = Some(trade.id.clone());
        let view = self.draft_following(caller, &trade, terms).await?;
        self.store
            .append(event(
                caller,
                "trade.next_round",
                Some(trade_id),
                serde_json::json!({ "next_round": view.trade.id }),
                vec![],
            ))
            .await?;
        self.trade(caller, &view.trade.id).await
    }

    /// Whether a round was followed by another (it is then not evaluated).
    pub(crate) async fn has_next_round(&self, trade_id: &str) -> Result<bool> {
        Ok(!self
            .store
            .trade_events_of_kinds(trade_id, &["trade.next_round"])
            .await?
            .is_empty())
    }
}
