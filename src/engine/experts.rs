//! The expert pool (评标专家库) and each trade's committee draw (ADR 0013). An expert
//! states its specialties and the organisations it is in conflict with; after the opening
//! the trading centre draws the trade's experts from the pool (`domain::expert_draw`),
//! seeded by the root of the log tree that ends with the opening entry. Who the experts
//! are is confidential: profiles, the pool drawn from and the result are sealed in the
//! log, and the centre's and supervisors' reads of them are logged.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{event, seal, Caller, EngineError, Platform, Result};
use crate::domain::clock::rfc3339;
use crate::domain::expert_draw::{
    check_composition, draw, pool_digest, DrawError, DrawRequest, ExpertProfile,
};
use crate::domain::identity::Role;
use crate::domain::trade::TradeStatus;
use crate::store::experts::{PoolEntry, StoredDraw};
use crate::store::StoreError;

/// What the trading centre asks to draw.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrawOrder {
    /// The specialty the experts must have.
    pub specialty: String,
    /// How many experts to draw.
    pub experts: usize,
    /// How many members represent the buyer (招标人代表); 0 or more.
    #[serde(default)]
    pub representatives: usize,
}

/// A trade's draw. `disclosed` (the pool drawn from and the result) is shown only to the
/// trading centre and the trade's supervisors.
#[derive(Debug, Clone, Serialize)]
pub struct DrawView {
    pub trade_id: String,
    pub request: serde_json::Value,
    /// The size of the log tree whose root is the seed: it ends with the opening entry.
    pub seed_size: i64,
    pub seed: String,
    pub pool_sha256: String,
    /// The commitment to `disclosed` in the draw's log entry.
    pub commitment: String,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::serialize")]
    pub drawn_at: DateTime<Utc>,
    pub seq: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclosed: Option<serde_json::Value>,
    /// Hex of the commitment's salt, with `disclosed`: `commitment` is
    /// SHA-256(salt ‖ JSON(disclosed)), hex (`crypto::digest::commit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
}

impl DrawView {
    fn of(trade_id: &str, stored: &StoredDraw, disclose: bool) -> Result<Self> {
        let json = |s: &str| {
            serde_json::from_str::<serde_json::Value>(s)
                .map_err(|e| EngineError::Store(StoreError::Other(Box::new(e))))
        };
        let salt: [u8; 32] = stored.salt.as_slice().try_into().map_err(|_| {
            EngineError::Store(StoreError::Other("a draw's salt is not 32 bytes".into()))
        })?;
        Ok(Self {
            trade_id: trade_id.to_owned(),
            request: json(&stored.request)?,
            seed_size: stored.seed_size,
            seed: stored.seed.clone(),
            pool_sha256: stored.pool_sha256.clone(),
            commitment: crate::crypto::digest::commit(&salt, stored.disclosed.as_bytes()),
            drawn_at: stored.drawn_at,
            seq: stored.seq,
            disclosed: if disclose {
                Some(json(&stored.disclosed)?)
            } else {
                None
            },
            salt: disclose.then(|| hex::encode(salt)),
        })
    }
}

impl Platform {
    /// An expert states (or restates) its profile for the pool.
    #[tracing::instrument(skip_all, err)]
    pub async fn set_expert_profile(
        &self,
        caller: &Caller,
        profile: ExpertProfile,
    ) -> Result<PoolEntry> {
        let expert = caller.require(Role::Expert)?;
        let profile = profile
            .checked()
            .map_err(|message| EngineError::invalid("invalid_profile", message))?;
        let now = self.clock.now();
        let (commitment, sealed) =
            seal("profile", serde_json::to_vec(&profile).unwrap_or_default());
        let ev = event(
            caller,
            "expert.profile",
            None,
            serde_json::json!({ "profile": commitment }),
            vec![sealed],
        );
        self.store
            .set_expert_profile(&expert.id, &profile, now, ev)
            .await?;
        Ok(PoolEntry {
            identity_id: expert.id.clone(),
            organization: expert.organization.clone(),
            usci: expert.usci.as_str().to_owned(),
            profile,
            updated_at: now,
        })
    }

    /// The caller's own profile in the pool.
    pub async fn my_expert_profile(&self, caller: &Caller) -> Result<PoolEntry> {
        let expert = caller.require(Role::Expert)?;
        self.store
            .expert_pool()
            .await?
            .into_iter()
            .find(|e| e.identity_id == expert.id)
            .ok_or(EngineError::NotFound {
                code: "profile_not_found",
                what: "expert profile",
            })
    }

    /// The pool, for the trading centre, supervisors and administrators; each read is
    /// logged.
    pub async fn expert_pool(&self, caller: &Caller) -> Result<Vec<PoolEntry>> {
        let identity = caller
            .identity
            .as_ref()
            .ok_or(EngineError::Unauthenticated)?;
        if ![Role::TradingCentre, Role::Supervisor, Role::Admin]
            .into_iter()
            .any(|r| identity.acts_as(r))
        {
            return Err(EngineError::Forbidden {
                needed: Role::TradingCentre,
            });
        }
        let pool = self.store.expert_pool().await?;
        self.store
            .append(event(
                caller,
                "confidential.read",
                None,
                serde_json::json!({ "what": "expert_pool", "experts": pool.len() }),
                vec![],
            ))
            .await?;
        Ok(pool)
    }

    /// The trading centre draws an opened trade's experts from the pool, once. The seed
    /// is the root of the log tree that ends with the trade's opening entry; bidders'
    /// and the buyer's organisations, and experts in conflict with them, are avoided.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn draw_committee(
        &self,
        caller: &Caller,
        trade_id: &str,
        order: DrawOrder,
    ) -> Result<DrawView> {
        caller.require(Role::TradingCentre)?;
        let trade = self.announced_trade(trade_id).await?;
        if trade.status != TradeStatus::Opened {
            return Err(EngineError::conflict(
                "not_opened",
                "experts are drawn for a trade whose opening found enough valid bids",
            ));
        }
        if self.has_next_round(trade_id).await? {
            return Err(EngineError::conflict(
                "next_round_exists",
                "this round was followed by another: the last round is evaluated",
            ));
        }
        let procurement_budget = (trade.terms.kind == "government_procurement")
            .then(|| trade.terms.estimated_value.minor_units());
        let total = order.experts + order.representatives;
        check_composition(total, order.experts, procurement_budget)
            .map_err(|e| EngineError::invalid("invalid_committee", e.to_string()))?;
        let opening = self.opening_record(trade_id).await?.ok_or_else(|| {
            EngineError::conflict("not_opened", "the trade has no opening record")
        })?;
        let stored_opening = self.store.opening_record(trade_id).await?.ok_or_else(|| {
            EngineError::conflict("not_opened", "the trade has no opening record")
        })?;
        let mut avoid: Vec<String> = opening
            .record
            .bids
            .iter()
            .map(|b| b.organization.usci.clone())
            .filter(|u| !u.is_empty())
            .collect();
        avoid.push(trade.terms.principal.usci.as_str().to_owned());
        avoid.sort();
        avoid.dedup();
        let request = DrawRequest {
            specialty: order.specialty.trim().to_owned(),
            experts: order.experts,
            avoid,
        };
        let seed_size = u64::try_from(stored_opening.seq).unwrap_or_default();
        let seed = self.root_at(seed_size).await?;
        let pool: Vec<_> = self
            .store
            .expert_pool()
            .await?
            .iter()
            .map(PoolEntry::for_draw)
            .collect();
        let drawn = draw(&seed, &pool, &request).map_err(|e| match e {
            DrawError::PoolTooSmall { .. } => {
                EngineError::conflict("expert_pool_too_small", e.to_string())
            }
            DrawError::Composition { .. } => {
                EngineError::invalid("invalid_committee", e.to_string())
            }
        })?;
        let request_json = serde_json::json!({
            "specialty": request.specialty,
            "experts": request.experts,
            "representatives": order.representatives,
            "avoid": request.avoid,
        });
        let disclosed = serde_json::json!({ "pool": pool, "drawn": drawn }).to_string();
        let (commitment, sealed) = seal("draw", disclosed.clone().into_bytes());
        let now = self.clock.now();
        let stored = StoredDraw {
            request: request_json.to_string(),
            seed_size: stored_opening.seq,
            seed: hex::encode(seed),
            pool_sha256: hex::encode(pool_digest(&pool)),
            disclosed,
            salt: sealed.salt.to_vec(),
            drawn_at: now,
            seq: 0,
        };
        let ev = event(
            caller,
            "evaluation.drawn",
            Some(trade_id),
            serde_json::json!({
                "request": request_json,
                "seed_size": stored.seed_size,
                "seed": stored.seed,
                "pool_sha256": stored.pool_sha256,
                "draw": commitment,
                "drawn_at": rfc3339(now),
            }),
            vec![sealed],
        );
        let seq = match self.store.record_draw(trade_id, &stored, ev).await {
            Ok(seq) => seq,
            Err(StoreError::Conflict(_)) => {
                return Err(EngineError::conflict(
                    "already_drawn",
                    "this trade's experts have been drawn; a draw is never repeated",
                ))
            }
            Err(e) => return Err(e.into()),
        };
        DrawView::of(trade_id, &StoredDraw { seq, ..stored }, true)
    }

    /// A trade's draw: the seed, the pool digest and the commitment for anyone; the pool
    /// and the experts drawn for the trading centre and the trade's supervisors (a
    /// logged read), and for everyone after the award.
    pub async fn committee_draw(&self, caller: &Caller, trade_id: &str) -> Result<DrawView> {
        let trade = self.announced_trade(trade_id).await?;
        let stored = self
            .store
            .draw_of(trade_id)
            .await?
            .ok_or(EngineError::NotFound {
                code: "draw_not_found",
                what: "expert draw",
            })?;
        // After the award the draw is public (ADR 0014); before it, only the centre and
        // the trade's supervisors see it, and their reads are logged.
        let revealed = matches!(trade.status, TradeStatus::Awarded | TradeStatus::Contracted);
        let privileged =
            caller.identity.is_some() && self.require_centre_or_supervisor(caller, &trade).is_ok();
        let disclose = revealed || privileged;
        if privileged && !revealed {
            self.store
                .append(event(
                    caller,
                    "confidential.read",
                    None,
                    serde_json::json!({ "what": "expert_draw", "trade": trade_id }),
                    vec![],
                ))
                .await?;
        }
        DrawView::of(trade_id, &stored, disclose)
    }
}
