//! Keeping the recognised CAs current while the server runs. The CA and CRL files are
//! read again on a schedule (`--trust-reload-seconds`), so a fresh CRL takes effect
//! without a restart; every authenticated action checks that the certificate of its
//! session is still in good standing by the CRLs in force, so a revocation ends the
//! sessions of that certificate at once; and the operators (in the server log) and the
//! supervisors (an alert) are warned before a CRL runs out, after which every
//! certificate of its CA is refused as of unknown status.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::{Platform, Result};
use crate::crypto::revocation::CrlInfo;
use crate::domain::identity::{Identity, IdentityStatus, Role};
use crate::domain::region::RegionCode;
use crate::domain::risk::{Finding, RuleInfo, Severity};

/// A CRL that runs out soon: a quarter of its period remains.
const CRL_EXPIRING: RuleInfo = RuleInfo {
    id: "crl_expiring",
    name: "证书吊销列表即将过期: 过期后该认证机构签发的证书均无法登录和办理业务",
    severity: Severity::Orange,
    basis: "RFC 5280 §5.1.2.5 (nextUpdate); tradehall 平台规则 1.3: 证书状态无法确认的, 一律拒绝",
};

/// A CRL that has run out: every certificate of its CA is refused.
const CRL_EXPIRED: RuleInfo = RuleInfo {
    id: "crl_expired",
    name: "证书吊销列表已过期: 该认证机构签发的证书均无法登录和办理业务",
    severity: Severity::Red,
    basis: "RFC 5280 §5.1.2.5 (nextUpdate); tradehall 平台规则 1.3: 证书状态无法确认的, 一律拒绝",
};

/// Certificates found in good standing, by identity: against which load of the trust
/// files, and until when that holds (the certificate's expiry or its CRL's next update).
/// Nothing else changes a certificate's standing, so it is checked again only then.
#[derive(Default)]
pub struct StandingCache {
    kept: Mutex<HashMap<String, (u64, DateTime<Utc>)>>,
}

impl StandingCache {
    fn holds(&self, identity: &str, generation: u64, now: DateTime<Utc>) -> bool {
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(identity)
            .is_some_and(|(g, until)| *g == generation && now < *until)
    }

    fn keep(&self, identity: &str, generation: u64, until: DateTime<Utc>) {
        let mut kept = self
            .kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.len() >= 100_000 {
            kept.clear();
        }
        kept.insert(identity.to_owned(), (generation, until));
    }
}

impl Platform {
    /// Refuses `identity` unless its certificate is in good standing now: not expired,
    /// covered by a current CRL of its CA, not revoked.
    pub(crate) async fn check_standing(&self, identity: &Identity) -> Result<()> {
        let now = self.clock.now();
        let generation = self.trust.generation();
        if self.standing.holds(&identity.id, generation, now) {
            return Ok(());
        }
        let Some(der) = self.store.identity_certificate(&identity.id).await? else {
            return Err(super::EngineError::Unauthenticated);
        };
        let until = self.trust.current().status(&der, now)?;
        self.standing.keep(&identity.id, generation, until);
        Ok(())
    }

    /// Re-reads the trust files every `every`, and warns of CRLs that run out, for as
    /// long as the platform lives.
    pub fn start_trust_reload(self: &Arc<Self>, every: std::time::Duration) {
        let platform = Arc::downgrade(self);
        tokio::spawn(async move {
            // The first tick is at once: a CRL near its end is told at start.
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(platform) = platform.upgrade() else {
                    break;
                };
                platform.reload_trust().await;
            }
        });
    }

    /// One reload: the files read again (a file that does not read leaves the trust in
    /// force, and says so), the sessions kept looked at again, the CRLs' dates checked.
    pub async fn reload_trust(&self) {
        match self.trust.reload() {
            Ok(()) => {
                // Every kept session is read again, with its certificate's standing.
                self.sessions.clear();
                tracing::debug!("trust files reloaded");
            }
            Err(e) => tracing::warn!(
                error = %e,
                "the trust files (--trust-ca, --crl) do not read; the trust store in force stays"
            ),
        }
        if let Err(e) = self.warn_of_crls().await {
            tracing::warn!(error = %e, "the CRLs' dates could not be looked at");
        }
    }

    /// Warns of every CRL in its last quarter or past its next update: in the server's log
    /// each time, and once as an alert to the supervisors.
    async fn warn_of_crls(&self) -> Result<()> {
        let now = self.clock.now();
        let trust = self.trust.current();
        let mut findings = Vec::new();
        for crl in newest_per_issuer(trust.crls()) {
            let (Some(next), Some(warn_from)) = (crl.next_update, crl.warn_from()) else {
                continue;
            };
            let when = crate::domain::clock::rfc3339(next);
            let rule = if crl.expired_at(now) {
                tracing::error!(issuer = %crl.issuer, next_update = %when,
                    "a CRL has run out: every certificate of its CA is refused until a fresh CRL is in place");
                CRL_EXPIRED
            } else if now >= warn_from {
                tracing::warn!(issuer = %crl.issuer, next_update = %when,
                    "a CRL runs out soon: put its CA's fresh CRL in place before then");
                CRL_EXPIRING
            } else {
                continue;
            };
            findings.push(Finding {
                rule,
                subjects: vec![when.clone()],
                summary: format!("{} 的证书吊销列表 (CRL) 于 {when} 到期", crl.issuer),
                evidence: serde_json::json!({
                    "issuer": crl.issuer,
                    "this_update": crate::domain::clock::rfc3339(crl.this_update),
                    "next_update": when,
                }),
            });
        }
        if findings.is_empty() {
            return Ok(());
        }
        let regions = self.supervised_regions().await?;
        let mut alerts = Vec::new();
        for finding in &findings {
            let about = format!(
                "trust/{}",
                finding.evidence["issuer"].as_str().unwrap_or("?")
            );
            for region in &regions {
                alerts.push(super::risk::alert_of(finding, &about, region, now));
            }
        }
        // Raised by the clock, not by an entry of the log (0); raised once each.
        self.store.raise_alerts(0, alerts, false).await?;
        Ok(())
    }

    /// The divisions the platform's supervisors supervise, none inside another.
    pub(super) async fn supervised_regions(&self) -> Result<Vec<RegionCode>> {
        let supervisors = self
            .store
            .identities(IdentityStatus::Active, Some(Role::Supervisor))
            .await?;
        let mut regions: Vec<RegionCode> =
            supervisors.into_iter().filter_map(|s| s.region).collect();
        regions.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        regions.dedup();
        let all = regions.clone();
        regions.retain(|r| !all.iter().any(|o| o != r && o.contains(r)));
        Ok(regions)
    }
}

/// The newest CRL of each issuer (`crls` is newest first per issuer).
fn newest_per_issuer(crls: &[CrlInfo]) -> Vec<&CrlInfo> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for crl in crls {
        if !seen.contains(&&crl.issuer) {
            seen.push(&crl.issuer);
            out.push(crl);
        }
    }
    out
}
