//! Supervisors' interventions (电子招标投标办法 第52条): suspend (暂停), resume and terminate
//! (终止) a trade, each with a reason, on the feed and in the log. A suspended trade
//! refuses bids, withdrawals, questions and opening contributions; its clock stops, and
//! on resume its deadline, or its opening window if that was running, moves by the
//! suspended time as the rulebook's `resume_shift_percent` says.

use chrono::Duration;

use super::{event, Caller, EngineError, Platform, Result};
use crate::domain::clock::rfc3339;
use crate::domain::identity::Role;
use crate::domain::trade::{Trade, TradeStatus};
use crate::store::sale::LiveResume;
use crate::store::StoreError;

/// Longest reason for an intervention.
pub const MAX_REASON_CHARS: usize = 500;

/// Why a trade in `status` takes nothing: suspended or terminated, each with its code.
fn inactive(status: TradeStatus) -> Option<EngineError> {
    match status {
        TradeStatus::Suspended => Some(EngineError::conflict(
            "trade_suspended",
            "a supervisor has suspended this trade (电子招标投标办法 第52条); it takes nothing until resumed",
        )),
        TradeStatus::Terminated => Some(EngineError::conflict(
            "trade_terminated",
            "a supervisor has terminated this trade",
        )),
        _ => None,
    }
}

/// Refuses anything but reading on a suspended or terminated trade.
pub(crate) fn require_active(trade: &Trade) -> Result<()> {
    inactive(trade.status).map_or(Ok(()), Err)
}

/// The engine error for a refusal code of the store's intake (`refuses_bids`).
pub(crate) fn intake_refusal(code: &str) -> EngineError {
    let status = match code {
        "trade_suspended" => TradeStatus::Suspended,
        "trade_terminated" => TradeStatus::Terminated,
        _ => TradeStatus::Published,
    };
    inactive(status).unwrap_or_else(|| {
        EngineError::conflict(
            "bid_after_deadline",
            "the bid deadline has passed (server time)",
        )
    })
}

impl Platform {
    /// The trade, if the caller supervises its region.
    pub(crate) async fn supervised_trade(&self, caller: &Caller, trade_id: &str) -> Result<Trade> {
        let supervisor = caller.require(Role::Supervisor)?;
        let trade = self.announced_trade(trade_id).await?;
        if !supervisor
            .region
            .as_ref()
            .is_some_and(|r| r.contains(&trade.terms.region_code))
        {
            return Err(EngineError::Forbidden {
                needed: Role::Supervisor,
            });
        }
        Ok(trade)
    }

    /// Suspends a published trade.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn suspend_trade(
        &self,
        caller: &Caller,
        trade_id: &str,
        reason: &str,
    ) -> Result<Trade> {
        let trade = self.supervised_trade(caller, trade_id).await?;
        let reason = check_reason(reason)?;
        require_active(&trade)?;
        let now = self.clock.now();
        let ev = event(
            caller,
            "trade.suspended",
            Some(trade_id),
            serde_json::json!({ "reason": reason, "suspended_at": rfc3339(now) }),
            vec![],
        );
        match self.store.suspend_trade(trade_id, now, ev).await {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(EngineError::conflict(
                    "trade_not_active",
                    "only a published trade that is not yet opened can be suspended",
                ))
            }
            Err(e) => return Err(e.into()),
        }
        self.reload(trade_id).await
    }

    /// Resumes a suspended trade, moving its deadline or its running opening window.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn resume_trade(
        &self,
        caller: &Caller,
        trade_id: &str,
        reason: &str,
    ) -> Result<Trade> {
        let trade = self.supervised_trade(caller, trade_id).await?;
        let reason = check_reason(reason)?;
        let (TradeStatus::Suspended, Some(since)) = (trade.status, trade.suspended_at) else {
            return Err(EngineError::conflict(
                "trade_not_suspended",
                "this trade is not suspended",
            ));
        };
        let now = self.clock.now();
        let percent = self
            .rulebook
            .procedure(&trade.terms.kind, &trade.terms.procedure)
            .and_then(|p| p.rules.resume_shift_percent.as_ref())
            .map_or(100, |r| r.value);
        let suspended = (now - since).max(Duration::zero());
        let shift =
            Duration::milliseconds(suspended.num_milliseconds().saturating_mul(percent) / 100);
        // A live sale gets back the time of each period the suspension cut into: its
        // application cut-off, its start if it had not started, its end if it had not
        // ended. It has no opening window.
        let later = |t| crate::domain::auction::shift_after(t, since, shift);
        let live = trade.terms.live.clone().map(|mut live| {
            live.starts_at = later(live.starts_at);
            live.ends_at = live.ends_at.map(later);
            live
        });
        // Suspended before the deadline: bidding time is given back. After it: the
        // opening window is, and the deadline stays where bids were cut off.
        let (deadline, window) = if since < trade.terms.bid_deadline {
            (trade.terms.bid_deadline + shift, None)
        } else if live.is_some() {
            (trade.terms.bid_deadline, None)
        } else {
            let mut running = trade.clone();
            running.status = TradeStatus::Published;
            (
                trade.terms.bid_deadline,
                Some(self.opening_window_end(&running).await? + shift),
            )
        };
        let mut data = serde_json::json!({
            "reason": reason,
            "suspended_ms": suspended.num_milliseconds(),
            "bid_deadline": rfc3339(deadline),
            "window_ends_at": window.map(rfc3339),
        });
        if let (Some(live), Some(data)) = (&live, data.as_object_mut()) {
            data.insert("starts_at".into(), rfc3339(live.starts_at).into());
            data.insert("ends_at".into(), live.ends_at.map(rfc3339).into());
        }
        if let Some(data) = data.as_object_mut() {
            data.insert("shift_ms".into(), shift.num_milliseconds().into());
        }
        let ev = event(caller, "trade.resumed", Some(trade_id), data, vec![]);
        let rules = match &live {
            Some(terms) => {
                let mut resumed = trade.clone();
                resumed.terms.live = Some(terms.clone());
                Some(self.sale_rules(&resumed)?)
            }
            None => None,
        };
        let resume = live
            .as_ref()
            .zip(rules.as_ref())
            .map(|(terms, rules)| LiveResume {
                terms,
                rules,
                since,
                by: shift,
            });
        match self
            .store
            .resume_trade(trade_id, deadline, window, resume, ev)
            .await
        {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(EngineError::conflict(
                    "trade_not_suspended",
                    "this trade is not suspended",
                ))
            }
            Err(e) => return Err(e.into()),
        }
        self.reload(trade_id).await
    }

    /// Terminates a published or suspended trade for good.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn terminate_trade(
        &self,
        caller: &Caller,
        trade_id: &str,
        reason: &str,
    ) -> Result<Trade> {
        let trade = self.supervised_trade(caller, trade_id).await?;
        let reason = check_reason(reason)?;
        if trade.status == TradeStatus::Terminated {
            return require_active(&trade).map(|()| trade);
        }
        let ev = event(
            caller,
            "trade.terminated",
            Some(trade_id),
            serde_json::json!({ "reason": reason }),
            vec![],
        );
        match self.store.terminate_trade(trade_id, ev).await {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(EngineError::conflict(
                    "trade_not_active",
                    "only a published or suspended trade can be terminated",
                ))
            }
            Err(e) => return Err(e.into()),
        }
        self.reload(trade_id).await
    }

    async fn reload(&self, trade_id: &str) -> Result<Trade> {
        self.store
            .trade(trade_id)
            .await?
            .ok_or(EngineError::NotFound {
                code: "trade_not_found",
                what: "trade",
            })
    }
}

pub(crate) fn check_reason(reason: &str) -> Result<&str> {
    let reason = reason.trim();
    if !crate::domain::text::is_written(reason, MAX_REASON_CHARS) {
        return Err(EngineError::invalid(
            "invalid_reason",
            format!("a reason of 1 to {MAX_REASON_CHARS} characters is required, without control characters other than line breaks"),
        ));
    }
    Ok(reason)
}
