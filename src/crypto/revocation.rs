//! What the configured CRLs say, kept beside the trust store: each CRL's issuer, its
//! dates and the serials it lists. Two jobs need it besides the chain check at sign-in
//! (which webpki does): a signed-in session's certificate is checked again against the
//! CRLs in force on every authenticated action, so a revocation ends a session; and the
//! operators and supervisors are warned before a CRL runs out, after which every
//! certificate of its CA is refused (revocation status unknown).

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::cert::CertError;

/// One CRL as configured.
#[derive(Debug, Clone)]
pub struct CrlInfo {
    /// The issuer's name, DER, as it stands in the certificates it issued.
    issuer_der: Vec<u8>,
    /// The issuer's name for people.
    pub issuer: String,
    pub this_update: DateTime<Utc>,
    /// When the CA promised the next CRL; past it this one says nothing.
    pub next_update: Option<DateTime<Utc>>,
    /// The serials it lists, as their DER content bytes.
    revoked: HashSet<Vec<u8>>,
}

fn time(t: x509_parser::time::ASN1Time) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or_default()
}

impl CrlInfo {
    /// Reads the dates, issuer and serials of a CRL (DER). Its signature is checked by
    /// webpki whenever it decides a chain.
    pub fn parse(der: &[u8]) -> Result<Self, String> {
        let (_, crl) = x509_parser::parse_x509_crl(der).map_err(|e| e.to_string())?;
        Ok(Self {
            issuer_der: crl.issuer().as_raw().to_vec(),
            issuer: crl.issuer().to_string(),
            this_update: time(crl.last_update()),
            next_update: crl.next_update().map(time),
            revoked: crl
                .iter_revoked_certificates()
                .map(|r| r.raw_serial().to_vec())
                .collect(),
        })
    }

    /// Whether this CRL no longer covers `at`.
    pub fn expired_at(&self, at: DateTime<Utc>) -> bool {
        self.next_update.is_some_and(|next| next <= at)
    }

    /// When to warn that it runs out: a quarter of its period before its next update.
    pub fn warn_from(&self) -> Option<DateTime<Utc>> {
        self.next_update
            .map(|next| next - (next - self.this_update) / 4)
    }
}

/// The status of certificate `der` at `at` by `crls` (newest first per issuer): in its
/// validity, covered by a current CRL of its issuer, and not listed there. The chain
/// itself was verified when the session began. In good standing, the answer is until
/// when that holds by these CRLs: the certificate's expiry or the CRL's next update.
pub fn status(crls: &[CrlInfo], der: &[u8], at: DateTime<Utc>) -> Result<DateTime<Utc>, CertError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| CertError::Malformed(e.to_string()))?;
    let validity = cert.validity();
    if at < time(validity.not_before) {
        return Err(CertError::NotYetValid {
            not_before: time(validity.not_before),
        });
    }
    if at >= time(validity.not_after) {
        return Err(CertError::Expired {
            not_after: time(validity.not_after),
        });
    }
    let issuer = cert.issuer().as_raw();
    let crl = crls
        .iter()
        .find(|c| c.issuer_der == issuer)
        .ok_or_else(|| CertError::RevocationUnknown(format!("no CRL of {}", cert.issuer())))?;
    if crl.expired_at(at) {
        return Err(CertError::RevocationUnknown(format!(
            "the CRL of {} expired at {}",
            crl.issuer,
            crl.next_update
                .map(crate::domain::clock::rfc3339)
                .unwrap_or_default()
        )));
    }
    if crl.revoked.contains(cert.raw_serial()) {
        return Err(CertError::Revoked);
    }
    let not_after = time(validity.not_after);
    Ok(crl
        .next_update
        .map_or(not_after, |next| next.min(not_after)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::crypto::pki::{DevCa, IdentitySpec, KeyUsageProfile};
    use chrono::Duration;

    #[test]
    fn a_session_certificate_is_revoked_unknown_or_fine_by_the_crls_in_force() {
        let now = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        let ca = DevCa::new("ca-t", now - Duration::days(10), now + Duration::days(100)).unwrap();
        let other =
            DevCa::new("ca-u", now - Duration::days(10), now + Duration::days(100)).unwrap();
        let issued = ca
            .issue(&IdentitySpec {
                common_name: "t".into(),
                organization: "t".into(),
                usci: None,
                not_before: now - Duration::days(1),
                not_after: now + Duration::days(30),
                key_usage: KeyUsageProfile::Signing,
            })
            .unwrap();
        let crl = |ca: &DevCa, revoked: &[Vec<u8>], next: Duration| {
            CrlInfo::parse(
                &ca.crl(revoked, now - Duration::hours(1), now + next)
                    .unwrap(),
            )
            .unwrap()
        };
        let clean = crl(&ca, &[], Duration::days(2));
        assert!(status(std::slice::from_ref(&clean), &issued.cert_der, now).is_ok());
        let listed = crl(&ca, std::slice::from_ref(&issued.serial), Duration::days(2));
        assert!(matches!(
            status(&[listed], &issued.cert_der, now),
            Err(CertError::Revoked)
        ));
        // Another CA's CRL says nothing of it; an expired one says nothing either.
        let foreign = crl(&other, &[], Duration::days(2));
        assert!(matches!(
            status(&[foreign], &issued.cert_der, now),
            Err(CertError::RevocationUnknown(_))
        ));
        assert!(matches!(
            status(
                std::slice::from_ref(&clean),
                &issued.cert_der,
                now + Duration::days(3)
            ),
            Err(CertError::RevocationUnknown(_))
        ));
        assert!(matches!(
            status(
                std::slice::from_ref(&clean),
                &issued.cert_der,
                now + Duration::days(31)
            ),
            Err(CertError::Expired { .. })
        ));
        // Warned of a quarter of its period before it runs out.
        let warn = clean.warn_from().unwrap();
        assert!(warn > now && warn < now + Duration::days(2));
    }
}
