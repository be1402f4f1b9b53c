//! The opening committee: custodians register their per-trade keys; bids may be sealed
//! only once every custodian of the trade has one.

use base64::Engine as _;
use serde::Deserialize;

use super::{event, Caller, EngineError, Platform, Result};
use crate::crypto::threshold::{custodian_key_message, CustodianPublicKey};
use crate::domain::identity::Role;
use crate::domain::suite::Suite;
use crate::domain::trade::{CustodianKey, TradeStatus};
use crate::store::StoreError;

/// A custodian's key registration: the public key and its certificate signature over
/// `custodian_key_message` (both standard base64).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRegistration {
    pub public_key: String,
    pub signature: String,
}

fn decode(field: &'static str, value: &str) -> Result<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|_| {
            EngineError::invalid("invalid_field", format!("{field} must be standard base64"))
        })
}

impl Platform {
    /// A custodian on the trade's committee registers its per-trade public key, signed
    /// with the certificate it registered with. Once registered, a key is never replaced:
    /// bids are sealed to it.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn register_custodian_key(
        &self,
        caller: &Caller,
        trade_id: &str,
        registration: KeyRegistration,
    ) -> Result<CustodianKey> {
        let custodian = caller.require(Role::Custodian)?;
        let trade = self
            .store
            .trade(trade_id)
            .await?
            .ok_or(EngineError::NotFound {
                code: "trade_not_found",
                what: "trade",
            })?;
        if !trade.terms.committee.custodians.contains(&custodian.id) {
            return Err(EngineError::Forbidden {
                needed: Role::Custodian,
            });
        }
        let now = self.clock.now();
        if trade.status != TradeStatus::Draft && now >= trade.terms.bid_deadline {
            return Err(EngineError::conflict(
                "after_deadline",
                "the bid deadline has passed",
            ));
        }
        let suite = trade.terms.committee.suite;
        let public_key = CustodianPublicKey::from_bytes_for(
            suite,
            &decode("public_key", &registration.public_key)?,
        )
        .map_err(|_| {
            EngineError::invalid(
                "invalid_public_key",
                match suite {
                    Suite::Hpke => "this trade seals with suite 1: a custodian key is a 32-byte X25519 public key",
                    Suite::Gm => "this trade seals with suite 2 (国密): a custodian key is a 65-byte uncompressed SM2 public key",
                },
            )
        })?;
        let signature = decode("signature", &registration.signature)?;
        let der = self
            .store
            .identity_certificate(&custodian.id)
            .await?
            .ok_or(EngineError::NotRegistered)?;
        // The certificate must still be good now (validity, revocation), not only at login.
        let cert = self
            .trust
            .current()
            .verify_identity(std::slice::from_ref(&der), now)?;
        cert.verify_signature(&custodian_key_message(trade_id, &public_key), &signature)?;
        // Published and logged with its certificate, so a bidder's client checks the key
        // it seals to without trusting the platform (docs/protocol.md, "Custodian keys").
        let key = CustodianKey {
            custodian: custodian.id.clone(),
            key_id: public_key.key_id(),
            public_key: public_key.as_bytes().to_vec(),
            signature,
            registered_at: now,
            certificate: der,
            log_index: None,
        };
        let ev = event(
            caller,
            "trade.custodian_key_registered",
            Some(trade_id),
            serde_json::json!({ "custodian": key.custodian, "key": key }),
            vec![],
        );
        match self.store.register_custodian_key(trade_id, &key, ev).await {
            Ok(seq) => Ok(CustodianKey {
                log_index: Some(seq),
                ..key
            }),
            Err(StoreError::Conflict(_)) => Err(EngineError::conflict(
                "custodian_key_registered",
                "this custodian already registered its key for this trade; keys are never replaced",
            )),
            Err(e) => Err(e.into()),
        }
    }
}
