//! Applications to live sales (竞买申请, ADR 0010): a bidder applies naming the account its
//! deposit will come from; the trading centre qualifies or rejects it with a reason. Who
//! applied is confidential until the result: the log's public entries name neither the
//! applicant nor the trade.

use serde::Deserialize;

use super::interventions::check_reason;
use super::{event_hiding_trade, seal, Caller, EngineError, Platform, Result};
use crate::domain::application::{is_account_number, Application, ApplicationStatus};
use crate::domain::identity::Role;
use crate::domain::trade::{Trade, TradeStatus};
use crate::store::live::ApplicationDecision;
use crate::store::StoreError;

/// What a bidder sends to apply.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApplication {
    pub payer_account: String,
    pub payer_name: String,
}

fn application_not_found() -> EngineError {
    EngineError::NotFound {
        code: "application_not_found",
        what: "application",
    }
}

impl Platform {
    /// A live trade, in any state but draft (`wrong_engine` for a tender).
    pub(crate) async fn live_trade(&self, trade_id: &str) -> Result<Trade> {
        let trade = self.announced_trade(trade_id).await?;
        require_live(&trade)?;
        Ok(trade)
    }

    /// Lets the trading centre and the supervisors of the trade's region through.
    pub(crate) fn require_centre_or_supervisor(
        &self,
        caller: &Caller,
        trade: &Trade,
    ) -> Result<()> {
        let identity = caller
            .identity
            .as_ref()
            .ok_or(EngineError::Unauthenticated)?;
        let allowed = identity.acts_as(Role::TradingCentre)
            || (identity.acts_as(Role::Supervisor)
                && identity
                    .region
                    .as_ref()
                    .is_some_and(|r| r.contains(&trade.terms.region_code)));
        if allowed {
            Ok(())
        } else {
            Err(EngineError::Forbidden {
                needed: Role::TradingCentre,
            })
        }
    }

    /// A bidder applies to a live sale before its application cut-off.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn apply(
        &self,
        caller: &Caller,
        trade_id: &str,
        new: NewApplication,
    ) -> Result<Application> {
        let bidder = caller.require(Role::Bidder)?;
        let trade = self.live_trade(trade_id).await?;
        super::interventions::require_active(&trade)?;
        let now = self.clock.now();
        if trade.status != TradeStatus::Published || now >= trade.terms.bid_deadline {
            return Err(EngineError::conflict(
                "applications_closed",
                "applications for this trade have closed (server time)",
            ));
        }
        let payer_account = new.payer_account.trim().to_owned();
        if !is_account_number(&payer_account) {
            return Err(EngineError::invalid(
                "invalid_payer_account",
                "payer_account must be 8 to 34 letters and digits",
            ));
        }
        let payer_name = new.payer_name.trim().to_owned();
        if !crate::domain::text::is_line(&payer_name, 200) {
            return Err(EngineError::invalid(
                "invalid_field",
                "payer_name must be 1 to 200 characters",
            ));
        }
        let application = Application {
            id: uuid::Uuid::now_v7().to_string(),
            trade_id: trade.id.clone(),
            identity_id: bidder.id.clone(),
            usci: bidder.usci.to_string(),
            organization: bidder.organization.clone(),
            payer_account,
            payer_name,
            status: ApplicationStatus::Pending,
            reason: None,
            applied_at: now,
            decided_at: None,
            decided_by: None,
            deposit_at: None,
            bidder_number: None,
        };
        let (commitment, sealed) = seal(
            "application",
            serde_json::to_vec(&application).unwrap_or_default(),
        );
        let ev = event_hiding_trade(
            caller,
            "application.submitted",
            &trade.id,
            serde_json::json!({ "application": commitment }),
            vec![sealed],
        );
        match self.store.insert_application(&application, ev).await {
            Ok(_) => Ok(application),
            Err(StoreError::Conflict(_)) => Err(EngineError::conflict(
                "already_applied",
                "this organisation has already applied to this trade",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// The caller's own application to a trade.
    pub async fn my_application(&self, caller: &Caller, trade_id: &str) -> Result<Application> {
        let bidder = caller.require(Role::Bidder)?;
        self.store
            .application_of(trade_id, bidder.usci.as_str())
            .await?
            .ok_or_else(application_not_found)
    }

    /// The caller's organisation's applications to every trade (at most 200, newest
    /// first), with their status, deposit and bidder number: the bidder workspace.
    pub async fn my_applications(&self, caller: &Caller) -> Result<Vec<Application>> {
        let bidder = caller.require(Role::Bidder)?;
        Ok(self
            .store
            .applications_by(bidder.usci.as_str(), 200)
            .await?)
    }

    /// A trade's applications, for the trading centre and the trade's supervisors. The
    /// read is logged: it names who wants to buy.
    pub async fn applications(&self, caller: &Caller, trade_id: &str) -> Result<Vec<Application>> {
        // Who may look first: a supervisor of another region learns nothing, not even
        // what kind of trade it is.
        let trade = self.announced_trade(trade_id).await?;
        self.require_centre_or_supervisor(caller, &trade)?;
        require_live(&trade)?;
        let applications = self.store.applications(trade_id).await?;
        let ev = event_hiding_trade(
            caller,
            "confidential.read",
            &trade.id,
            serde_json::json!({ "what": "applications" }),
            vec![],
        );
        self.store.append(ev).await?;
        Ok(applications)
    }

    /// The trading centre qualifies (`reason` an optional note) or rejects (`reason`
    /// required) a pending application.
    #[tracing::instrument(skip_all, fields(application.id = %id), err)]
    pub async fn decide_application(
        &self,
        caller: &Caller,
        id: &str,
        qualify: bool,
        reason: Option<&str>,
    ) -> Result<Application> {
        let officer = caller.require(Role::TradingCentre)?;
        let application = self
            .store
            .application(id)
            .await?
            .ok_or_else(application_not_found)?;
        let trade = self.live_trade(&application.trade_id).await?;
        super::interventions::require_active(&trade)?;
        let reason = match (qualify, reason.map(str::trim).filter(|r| !r.is_empty())) {
            (false, None) => {
                return Err(EngineError::invalid(
                    "invalid_reason",
                    "a rejection needs its reason",
                ))
            }
            (_, Some(r)) => Some(check_reason(r)?.to_owned()),
            (true, None) => None,
        };
        let status = if qualify {
            ApplicationStatus::Qualified
        } else {
            ApplicationStatus::Rejected
        };
        let now = self.clock.now();
        let decided = Application {
            status,
            reason: reason.clone(),
            decided_at: Some(now),
            decided_by: Some(officer.id.clone()),
            ..application
        };
        let (commitment, sealed) = seal(
            "application",
            serde_json::to_vec(&decided).unwrap_or_default(),
        );
        let ev = event_hiding_trade(
            caller,
            "application.decided",
            &trade.id,
            serde_json::json!({ "application": commitment, "status": status }),
            vec![sealed],
        );
        let decision = ApplicationDecision {
            id,
            status,
            reason: reason.as_deref(),
            by: &officer.id,
            at: now,
            numbers: &super::bank::bidder_numbers(16),
            deposit: trade.terms.bond_amount,
            refund_id: &uuid::Uuid::now_v7().to_string(),
        };
        let numbered = |a: &Application| Self::numbered_event(caller, a);
        match self
            .store
            .decide_application(&decision, ev, &numbered)
            .await
        {
            Ok(decided) => Ok(decided),
            Err(StoreError::Conflict(_)) => Err(EngineError::conflict(
                "application_not_pending",
                "this application has already been decided",
            )),
            Err(e) => Err(e.into()),
        }
    }
}

/// Refuses a tender where a live sale is meant.
fn require_live(trade: &Trade) -> Result<()> {
    if trade.terms.live.is_none() {
        return Err(EngineError::conflict(
            "wrong_engine",
            "this trade is a tender: it takes sealed bids, not applications, deposits or quotes",
        ));
    }
    Ok(())
}
