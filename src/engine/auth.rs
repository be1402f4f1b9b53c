//! Registration and challenge–response login with X.509 certificates.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{event, seal, Caller, EngineError, Platform, Result};
use crate::crypto::cert::{parse_pem_certificates, VerifiedCertificate};
use crate::crypto::digest::{random_bytes, sha256_hex};
use crate::domain::identity::{Identity, IdentityStatus, Role};
use crate::domain::region::RegionCode;
use crate::domain::usci::Usci;
use crate::store::{ChallengeState, NewIdentity, StoreError};

pub use crate::crypto::signer::{auth_message, AUTH_MESSAGE_PREFIX};

/// Proof of holding a certificate's key: the chain, a nonce from `/auth/challenge`, and the
/// signature over the auth message.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthProof {
    /// PEM, end-entity certificate first, then any intermediates.
    pub certificate_chain: String,
    pub nonce: String,
    /// Standard base64 of the signature (DER or raw r‖s for ECDSA).
    pub signature: String,
}

/// The organisation a registering certificate speaks for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationClaim {
    pub name: String,
    /// Kept a string here so a bad check digit gets its own error code.
    pub usci: String,
}

/// A registration request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    pub proof: AuthProof,
    pub organization: OrganizationClaim,
    pub role: Role,
}

/// A bearer token and the identity it stands for.
#[derive(Debug, Clone, Serialize)]
pub struct LoginOutcome {
    pub token: String,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::serialize")]
    pub expires_at: DateTime<Utc>,
    pub identity: Identity,
}

fn token_digest(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

impl Platform {
    /// Issues a single-use nonce with a short expiry.
    pub async fn challenge(&self) -> Result<(String, DateTime<Utc>)> {
        let nonce = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>());
        let expires_at = self.clock.now() + self.settings.challenge_ttl;
        self.store.insert_challenge(&nonce, expires_at).await?;
        Ok((nonce, expires_at))
    }

    /// Checks the certificate (at the current server time), the signature, then spends
    /// the nonce.
    async fn prove(&self, proof: &AuthProof, purpose: &str) -> Result<VerifiedCertificate> {
        let chain = parse_pem_certificates(&proof.certificate_chain)?;
        let now = self.clock.now();
        let cert = self.trust.current().verify_identity(&chain, now)?;
        let signature = base64::engine::general_purpose::STANDARD
            .decode(proof.signature.trim())
            .map_err(|_| {
                EngineError::invalid(
                    "invalid_signature_encoding",
                    "signature must be standard base64",
                )
            })?;
        cert.verify_signature(auth_message(purpose, &proof.nonce).as_bytes(), &signature)?;
        match self.store.consume_challenge(&proof.nonce, now).await? {
            ChallengeState::Consumed => Ok(cert),
            ChallengeState::Expired => Err(EngineError::NonceExpired),
            ChallengeState::Replayed => Err(EngineError::NonceReplayed),
            ChallengeState::Unknown => Err(EngineError::NonceUnknown),
        }
    }

    /// Registers an organisation's certificate. Bidders are active at once; officer roles
    /// wait for an administrator; the admin role needs a certificate named in config.
    #[tracing::instrument(skip_all, fields(role = reg.role.as_str()), err)]
    pub async fn register(&self, caller: &Caller, reg: Registration) -> Result<Identity> {
        let usci = Usci::parse(&reg.organization.usci)
            .map_err(|e| EngineError::invalid("invalid_usci", e.to_string()))?;
        let name = reg.organization.name.trim().to_owned();
        if !crate::domain::text::is_line(&name, 200) {
            return Err(EngineError::invalid(
                "invalid_organization_name",
                "organisation name must be 1 to 200 characters",
            ));
        }
        let cert = self.prove(&reg.proof, "register").await?;
        if !cert
            .subject_values
            .iter()
            .any(|v| v.trim().eq_ignore_ascii_case(usci.as_str()))
        {
            return Err(EngineError::UsciNotInCertificate(usci.to_string()));
        }
        let status = match reg.role {
            Role::Admin if self.settings.admin_fingerprints.contains(&cert.fingerprint) => {
                IdentityStatus::Active
            }
            Role::Admin => return Err(EngineError::AdminNotConfigured),
            role if role.needs_grant() => IdentityStatus::Pending,
            _ => IdentityStatus::Active,
        };
        let identity = Identity {
            id: uuid::Uuid::now_v7().to_string(),
            organization: name,
            usci,
            role: reg.role,
            status,
            cert_fingerprint: cert.fingerprint.clone(),
            subject: cert.subject.clone(),
            region: None,
        };
        // Who registered is not public at once: a bidder's name could hint at who will bid.
        let disclosed = serde_json::json!({
            "organization": identity.organization, "usci": identity.usci, "certificate": identity.cert_fingerprint,
        });
        let (commitment, sealed) = seal(
            "organization",
            serde_json::to_vec(&disclosed).unwrap_or_default(),
        );
        let mut caller = caller.clone();
        caller.identity = Some(identity.clone());
        let ev = event(
            &caller,
            "identity.registered",
            None,
            serde_json::json!({
                "identity": identity.id, "role": identity.role, "status": identity.status, "organization": commitment,
            }),
            vec![sealed],
        );
        let new = NewIdentity {
            identity: identity.clone(),
            cert_der: cert.der,
        };
        match self.store.register_identity(&new, ev).await {
            Ok(_) => Ok(identity),
            Err(StoreError::Conflict(c)) if c.contains("organization_name_mismatch") => {
                Err(EngineError::OrganizationNameMismatch)
            }
            Err(StoreError::Conflict(_)) => Err(EngineError::AlreadyRegistered),
            Err(e) => Err(e.into()),
        }
    }

    /// Logs in: returns a bearer token bound to the certificate's identity.
    #[tracing::instrument(skip_all, err)]
    pub async fn login(&self, caller: &Caller, proof: AuthProof) -> Result<LoginOutcome> {
        let cert = self.prove(&proof, "login").await?;
        let identity = self
            .store
            .identity_by_fingerprint(&cert.fingerprint)
            .await?
            .ok_or(EngineError::NotRegistered)?;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>());
        let expires_at = (self.clock.now() + self.settings.session_ttl).min(cert.not_after);
        // Who logged in, from where, is audit data (电子招标投标办法 第49条); the public entry
        // shows only that a login happened, so activity near a deadline names nobody.
        let mut caller = caller.clone();
        caller.identity = Some(identity.clone());
        let ev = event(
            &caller,
            "identity.logged_in",
            None,
            serde_json::json!({}),
            vec![],
        );
        self.store
            .insert_session(&token_digest(&token), &identity.id, expires_at, ev)
            .await?;
        Ok(LoginOutcome {
            token,
            expires_at,
            identity,
        })
    }

    /// Signs out: the token no longer authenticates.
    pub async fn end_session(&self, token: &str) -> Result<()> {
        let digest = token_digest(token);
        self.sessions.forget(&digest);
        Ok(self.store.end_session(&digest).await?)
    }

    /// The identity behind a bearer token: from the sessions found valid in the last
    /// second ([`super::SessionCache`]), else read; refused once its certificate is no
    /// longer in good standing ([`super::StandingCache`]).
    pub async fn authenticate(&self, token: &str) -> Result<Identity> {
        let digest = token_digest(token);
        let now = self.clock.now();
        if let Some(identity) = self.sessions.get(&digest, now) {
            self.check_standing(&identity).await?;
            return Ok(identity);
        }
        let (identity, expires_at) = self
            .store
            .session_identity(&digest, now)
            .await?
            .ok_or(EngineError::Unauthenticated)?;
        // A session lasts no longer than its certificate's good standing: revoked, or its
        // CA's CRL run out, and every action of the session is refused.
        self.check_standing(&identity).await?;
        self.sessions
            .keep(&digest, identity.clone(), now, expires_at);
        Ok(identity)
    }

    /// Lists identities. Administrators see everyone (e.g. those waiting for a grant);
    /// trading-centre officers see the active custodians they can put on a committee.
    pub async fn identities(
        &self,
        caller: &Caller,
        status: IdentityStatus,
        role: Option<Role>,
    ) -> Result<Vec<Identity>> {
        let officer_view = status == IdentityStatus::Active && role == Some(Role::Custodian);
        if caller.identity.is_none() {
            return Err(EngineError::Unauthenticated);
        }
        if caller.require(Role::Admin).is_err() {
            let needed = caller.require(Role::TradingCentre);
            if !officer_view || needed.is_err() {
                return Err(EngineError::Forbidden {
                    needed: Role::Admin,
                });
            }
        }
        Ok(self.store.identities(status, role).await?)
    }

    /// An administrator grants a pending identity its officer role.
    #[tracing::instrument(skip_all, fields(identity.id = %identity_id), err)]
    pub async fn grant_role(
        &self,
        caller: &Caller,
        identity_id: &str,
        role: Role,
        region: Option<RegionCode>,
    ) -> Result<Identity> {
        caller.require(Role::Admin)?;
        if role == Role::Admin {
            return Err(EngineError::AdminNotConfigured);
        }
        match (role, &region) {
            (Role::Supervisor, None) => {
                return Err(EngineError::invalid(
                    "region_required",
                    "a supervisor is granted with the region it supervises",
                ))
            }
            (Role::Supervisor, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                return Err(EngineError::invalid(
                    "region_not_applicable",
                    "only a supervisor is granted a region",
                ))
            }
        }
        let ev = event(
            caller,
            "identity.role_granted",
            None,
            serde_json::json!({ "identity": identity_id, "role": role, "region": region }),
            vec![],
        );
        match self
            .store
            .grant_role(identity_id, role, region.as_ref(), ev)
            .await
        {
            Ok(_) => self.sessions.clear(),
            Err(StoreError::Conflict(_)) => {
                return match self.store.identity(identity_id).await? {
                    None => Err(EngineError::NotFound {
                        code: "identity_not_found",
                        what: "identity",
                    }),
                    Some(_) => Err(EngineError::conflict(
                        "identity_not_pending",
                        "this identity is not waiting for a grant",
                    )),
                }
            }
            Err(e) => return Err(e.into()),
        }
        self.store
            .identity(identity_id)
            .await?
            .ok_or(EngineError::NotFound {
                code: "identity_not_found",
                what: "identity",
            })
    }
}
