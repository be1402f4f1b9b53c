//! The expert pool (评标专家库, ADR 0013). An expert states its specialties and the
//! organisations it is in conflict with; committees are drawn from the pool
//! (`domain::expert_draw`). Who the experts are is confidential: the profile is sealed in
//! the log, and the trading centre's and supervisors' reads of the pool are logged.

use super::{event, seal, Caller, EngineError, Platform, Result};
use crate::domain::expert_draw::ExpertProfile;
use crate::domain::identity::Role;
use crate::store::experts::PoolEntry;

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
}
