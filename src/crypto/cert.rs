//! Certificate identity validation: chain to a recognised CA, revocation, key usage, signatures.
//!
//! Identities on the platform are X.509 certificates issued by CAs the operator recognises
//! (several CAs may be recognised at once: 互认, mutual recognition between regions). A
//! certificate is accepted only if it chains to one of those roots, is valid at the given
//! time, is positively known not to be revoked, and is meant for signing.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use webpki::{
    CertRevocationList, EndEntityCert, ExpirationPolicy, KeyUsage, OwnedCertRevocationList,
    RevocationCheckDepth, RevocationOptionsBuilder, UnknownStatusPolicy,
};
use x509_parser::asn1_rs::Tag;
use x509_parser::certificate::X509Certificate;
use x509_parser::pem::Pem;
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

mod algorithms;

/// Why a certificate, a signature or the trust configuration was refused.
///
/// [`CertError::code`] is part of the API: clients branch on it, so codes never change.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("the certificate cannot be parsed: {0}")]
    Malformed(String),
    #[error("the certificate does not chain to a recognised certification authority: {0}")]
    UnknownCa(String),
    #[error("the certificate (or an issuing CA certificate) expired at {not_after}")]
    Expired { not_after: DateTime<Utc> },
    #[error("the certificate (or an issuing CA certificate) is not valid before {not_before}")]
    NotYetValid { not_before: DateTime<Utc> },
    #[error("the certificate (or an issuing CA certificate) has been revoked")]
    Revoked,
    #[error("the revocation status of the certificate cannot be established: {0}")]
    RevocationUnknown(String),
    #[error("the certificate is not meant for digital signatures: {0}")]
    WrongKeyUsage(String),
    #[error("the signature does not verify with the certificate's public key: {0}")]
    SignatureInvalid(String),
    #[error("the trust store configuration is invalid: {0}")]
    TrustStoreInvalid(String),
}

impl CertError {
    /// Stable machine-readable code sent to API users.
    pub fn code(&self) -> &'static str {
        match self {
            CertError::Malformed(_) => "certificate_malformed",
            CertError::UnknownCa(_) => "certificate_unknown_ca",
            CertError::Expired { .. } => "certificate_expired",
            CertError::NotYetValid { .. } => "certificate_not_yet_valid",
            CertError::Revoked => "certificate_revoked",
            CertError::RevocationUnknown(_) => "certificate_revocation_unknown",
            CertError::WrongKeyUsage(_) => "certificate_wrong_key_usage",
            CertError::SignatureInvalid(_) => "signature_invalid",
            CertError::TrustStoreInvalid(_) => "trust_store_invalid",
        }
    }
}

/// The recognised roots and their CRLs. Cheap to clone: the parsed data is shared.
#[derive(Clone)]
pub struct TrustStore {
    inner: Arc<TrustStoreInner>,
}

struct TrustStoreInner {
    anchors: Vec<TrustAnchor<'static>>,
    /// Newest first per issuer: webpki consults the first CRL whose issuer matches, so an
    /// outdated CRL left in the configuration must not shadow its successor.
    crls: Vec<CertRevocationList<'static>>,
    /// What the same CRLs say, in the same order (dates, serials).
    crl_info: Vec<super::revocation::CrlInfo>,
    /// Subjects of the roots, for diagnostics only.
    root_subjects: Vec<String>,
    /// The roots as configured (DER), published for clients that check certificates
    /// themselves (a bidder's client checking the opening committee).
    root_ders: Vec<Vec<u8>>,
}

impl fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustStore")
            .field("roots", &self.inner.root_subjects)
            .field("crls", &self.inner.crls.len())
            .finish()
    }
}

impl TrustStore {
    /// `roots`: DER certificates of the recognised CA roots (several CAs = mutual recognition);
    /// `crls`: DER CRLs, one or more per CA.
    pub fn new(roots: Vec<Vec<u8>>, crls: Vec<Vec<u8>>) -> Result<Self, CertError> {
        let invalid = CertError::TrustStoreInvalid;
        let mut anchors = Vec::with_capacity(roots.len());
        let mut root_subjects = Vec::with_capacity(roots.len());
        let root_ders = roots.clone();
        for (i, der) in roots.into_iter().enumerate() {
            let (_, cert) = x509_parser::parse_x509_certificate(&der)
                .map_err(|e| invalid(format!("root certificate #{}: {e}", i + 1)))?;
            // An end-entity certificate listed as a root would let its holder vouch for
            // anyone; refuse the configuration rather than trust it.
            let is_ca = matches!(cert.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
            if !is_ca {
                return Err(invalid(format!(
                    "root certificate #{} ({}) is not a CA certificate",
                    i + 1,
                    display_name(cert.subject())
                )));
            }
            let cert_der = CertificateDer::from(der.as_slice());
            let anchor = webpki::anchor_from_trusted_cert(&cert_der)
                .map_err(|e| invalid(format!("root certificate #{}: {e}", i + 1)))?;
            anchors.push(anchor.to_owned());
            root_subjects.push(display_name(cert.subject()));
        }

        let mut dated = Vec::with_capacity(crls.len());
        for (i, der) in crls.into_iter().enumerate() {
            let (_, parsed) = x509_parser::parse_x509_crl(&der)
                .map_err(|e| invalid(format!("CRL #{}: {e}", i + 1)))?;
            let this_update = parsed.last_update().timestamp();
            let crl = OwnedCertRevocationList::from_der(&der)
                .map_err(|e| invalid(format!("CRL #{}: {e}", i + 1)))?;
            let info = super::revocation::CrlInfo::parse(&der)
                .map_err(|e| invalid(format!("CRL #{}: {e}", i + 1)))?;
            dated.push((this_update, CertRevocationList::from(crl), info));
        }
        dated.sort_by_key(|(this_update, _, _)| std::cmp::Reverse(*this_update));
        let (crls, crl_info) = dated.into_iter().map(|(_, crl, info)| (crl, info)).unzip();

        Ok(Self {
            inner: Arc::new(TrustStoreInner {
                anchors,
                crls,
                crl_info,
                root_subjects,
                root_ders,
            }),
        })
    }

    /// Reads PEM (or DER) files; a file may hold several PEM blocks.
    pub fn from_files(ca_files: &[PathBuf], crl_files: &[PathBuf]) -> Result<Self, CertError> {
        let mut roots = Vec::new();
        for path in ca_files {
            roots.extend(read_pem_or_der(path, "CERTIFICATE")?);
        }
        let mut crls = Vec::new();
        for path in crl_files {
            crls.extend(read_pem_or_der(path, "X509 CRL")?);
        }
        Self::new(roots, crls)
    }

    /// The recognised roots (DER), as configured.
    pub fn roots(&self) -> &[Vec<u8>] {
        &self.inner.root_ders
    }

    /// Validates `chain` (end-entity first) to a recognised root at `at`, and its key
    /// usage, without revocation: for a client without the CAs' CRLs, checking a
    /// certificate the platform checked with them when it was used.
    pub fn verify_chain(
        &self,
        chain: &[Vec<u8>],
        at: DateTime<Utc>,
    ) -> Result<VerifiedCertificate, CertError> {
        self.verify_path(chain, at, false)
    }

    /// The configured CRLs, newest first per issuer.
    pub fn crls(&self) -> &[super::revocation::CrlInfo] {
        &self.inner.crl_info
    }

    /// The status at `at` of a certificate (DER) whose chain was verified before: in
    /// its validity, covered by a current CRL of its issuer and not listed there; until
    /// when that holds (`revocation::status`).
    pub fn status(&self, der: &[u8], at: DateTime<Utc>) -> Result<DateTime<Utc>, CertError> {
        super::revocation::status(&self.inner.crl_info, der, at)
    }

    /// True when no root is recognised: every certificate will be refused.
    pub fn is_empty(&self) -> bool {
        self.inner.anchors.is_empty()
    }

    /// Validates `chain` (DER, end-entity first, then optional intermediates) at time `at`.
    ///
    /// Checks, in order: the chain leads to a recognised root and every certificate in it is
    /// valid at `at`; every certificate in it is covered by a current CRL of its issuer and
    /// not listed there; an extended key usage, if present, includes clientAuth; the
    /// keyUsage extension is present and includes digitalSignature.
    pub fn verify_identity(
        &self,
        chain: &[Vec<u8>],
        at: DateTime<Utc>,
    ) -> Result<VerifiedCertificate, CertError> {
        self.verify_path(chain, at, true)
    }

    /// [`TrustStore::verify_identity`], with the CRLs' checks only when `with_crls`.
    fn verify_path(
        &self,
        chain: &[Vec<u8>],
        at: DateTime<Utc>,
        with_crls: bool,
    ) -> Result<VerifiedCertificate, CertError> {
        let (end_entity_der, intermediates) = chain
            .split_first()
            .ok_or_else(|| CertError::Malformed("no certificate was presented".into()))?;
        let (_, parsed) = x509_parser::parse_x509_certificate(end_entity_der)
            .map_err(|e| CertError::Malformed(e.to_string()))?;

        let ee_der = CertificateDer::from(end_entity_der.as_slice());
        let end_entity = EndEntityCert::try_from(&ee_der).map_err(map_webpki_error)?;
        let intermediates: Vec<CertificateDer<'_>> = intermediates
            .iter()
            .map(|c| CertificateDer::from(c.as_slice()))
            .collect();
        // Certificates before 1970 do not exist; clamping keeps the conversion total.
        let time = UnixTime::since_unix_epoch(Duration::from_secs(
            u64::try_from(at.timestamp()).unwrap_or(0),
        ));

        let crl_refs: Vec<&CertRevocationList<'_>> = self.inner.crls.iter().collect();
        // webpki refuses to build revocation options without CRLs; validate the path anyway
        // so that an unknown CA is reported as such, then refuse for lack of a CRL.
        let revocation = RevocationOptionsBuilder::new(&crl_refs)
            .ok()
            .filter(|_| with_crls)
            .map(|builder| {
                builder
                    .with_depth(RevocationCheckDepth::Chain)
                    .with_status_policy(UnknownStatusPolicy::Deny)
                    .with_expiration_policy(ExpirationPolicy::Enforce)
                    .build()
            });
        let no_crl = with_crls && revocation.is_none();
        end_entity
            .verify_for_usage(
                &algorithms::ALL,
                &self.inner.anchors,
                &intermediates,
                time,
                KeyUsage::client_auth(),
                revocation,
                None,
            )
            .map_err(map_webpki_error)?;
        if no_crl {
            return Err(CertError::RevocationUnknown("no CRL is configured".into()));
        }

        // webpki ignores keyUsage on end entities (browsers do); we require it: RFC 5280
        // §4.2.1.3 reserves signing to keys with digitalSignature, and a key certified only
        // for encipherment must not be able to sign bids.
        match parsed.key_usage() {
            Ok(Some(ku)) if ku.value.digital_signature() => {}
            Ok(Some(_)) => {
                return Err(CertError::WrongKeyUsage(
                    "keyUsage does not include digitalSignature".into(),
                ))
            }
            Ok(None) => return Err(CertError::WrongKeyUsage("no keyUsage extension".into())),
            Err(e) => return Err(CertError::Malformed(e.to_string())),
        }

        VerifiedCertificate::from_parsed(end_entity_der, &parsed)
    }
}

/// Reads `label` blocks from a PEM file, or the whole file as one DER object.
fn read_pem_or_der(path: &Path, label: &str) -> Result<Vec<Vec<u8>>, CertError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CertError::TrustStoreInvalid(format!("{}: {e}", path.display())))?;
    if !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        return Ok(vec![bytes]);
    }
    let blocks = pem_blocks(&bytes, label)
        .map_err(|e| CertError::TrustStoreInvalid(format!("{}: {e}", path.display())))?;
    if blocks.is_empty() {
        return Err(CertError::TrustStoreInvalid(format!(
            "{}: no {label} block",
            path.display()
        )));
    }
    Ok(blocks)
}

/// Every PEM block of `bytes`, all of which must carry `label`: anything else (a private key
/// pasted into a CA file, say) is a configuration mistake worth stopping for.
pub(crate) fn pem_blocks(bytes: &[u8], label: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    for pem in Pem::iter_from_buffer(bytes) {
        let pem = pem.map_err(|e| format!("invalid PEM: {e}"))?;
        if pem.label != label {
            return Err(format!(
                "unexpected PEM block {:?}, expected {label:?}",
                pem.label
            ));
        }
        out.push(pem.contents);
    }
    Ok(out)
}

/// Parses a PEM chain (one or more CERTIFICATE blocks) to DER certs.
pub fn parse_pem_certificates(pem: &str) -> Result<Vec<Vec<u8>>, CertError> {
    let certs = pem_blocks(pem.as_bytes(), "CERTIFICATE").map_err(CertError::Malformed)?;
    if certs.is_empty() {
        return Err(CertError::Malformed("no CERTIFICATE block".into()));
    }
    Ok(certs)
}

fn unix_to_chrono(t: UnixTime) -> DateTime<Utc> {
    i64::try_from(t.as_secs())
        .ok()
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Maps webpki's reasons onto our stable codes. webpki reports the most specific error found
/// over all candidate paths, so e.g. a revoked certificate is `CertRevoked`, not `UnknownIssuer`.
#[allow(deprecated)] // the deprecated variants are still produced by older code paths
fn map_webpki_error(err: webpki::Error) -> CertError {
    use webpki::Error as E;
    match err {
        E::CertExpired { not_after, .. } => CertError::Expired {
            not_after: unix_to_chrono(not_after),
        },
        E::CertNotValidYet { not_before, .. } => CertError::NotYetValid {
            not_before: unix_to_chrono(not_before),
        },
        E::CertRevoked => CertError::Revoked,
        E::UnknownRevocationStatus => {
            CertError::RevocationUnknown("no CRL of the issuing CA is configured".into())
        }
        E::CrlExpired { next_update, .. } => CertError::RevocationUnknown(format!(
            "the issuing CA's CRL expired at {}",
            unix_to_chrono(next_update)
        )),
        // A CRL we hold but cannot use tells us nothing about revocation.
        E::InvalidCrlSignatureForPublicKey
        | E::IssuerNotCrlSigner
        | E::InvalidCrlNumber
        | E::UnsupportedCrlSignatureAlgorithm
        | E::UnsupportedCrlSignatureAlgorithmContext(_)
        | E::UnsupportedCrlSignatureAlgorithmForPublicKey
        | E::UnsupportedCrlSignatureAlgorithmForPublicKeyContext(_)
        | E::UnsupportedCrlVersion
        | E::UnsupportedDeltaCrl
        | E::UnsupportedIndirectCrl
        | E::UnsupportedRevocationReason
        | E::UnsupportedRevocationReasonsPartitioning
        | E::UnsupportedCrlIssuingDistributionPoint => {
            CertError::RevocationUnknown(format!("the issuing CA's CRL is unusable ({err})"))
        }
        E::RequiredEkuNotFound | E::RequiredEkuNotFoundContext(_) | E::EmptyEkuExtension => {
            CertError::WrongKeyUsage("extendedKeyUsage does not include clientAuth".into())
        }
        E::CaUsedAsEndEntity => {
            CertError::WrongKeyUsage("a CA certificate cannot be used as an identity".into())
        }
        E::BadDer
        | E::BadDerTime
        | E::TrailingData(_)
        | E::UnsupportedCertVersion
        | E::UnsupportedCriticalExtension
        | E::MalformedExtensions
        | E::ExtensionValueInvalid
        | E::InvalidCertValidity
        | E::InvalidSerialNumber => CertError::Malformed(err.to_string()),
        E::UnknownIssuer => CertError::UnknownCa("no recognised issuer".into()),
        E::InvalidSignatureForPublicKey => {
            CertError::UnknownCa("the issuer's signature on the certificate is invalid".into())
        }
        // Everything else (distrusted keys, unsupported signature algorithms,
        // path and name constraints, budget exhaustion) means no acceptable path exists.
        other => CertError::UnknownCa(other.to_string()),
    }
}

/// A certificate that passed [`TrustStore::verify_identity`].
///
/// `Debug` shows the fingerprint instead of the DER, which would fill a log line with numbers.
#[derive(Clone)]
pub struct VerifiedCertificate {
    /// End-entity DER.
    pub der: Vec<u8>,
    /// Lower-case hex SHA-256 of the end-entity DER.
    pub fingerprint: String,
    /// RFC 4514-style display of the subject (last RDN first).
    pub subject: String,
    pub common_name: Option<String>,
    pub organization: Option<String>,
    /// Every string attribute value of the subject DN (used to find the 统一社会信用代码,
    /// which CAs put in serialNumber, organizationIdentifier, OU or even CN).
    pub subject_values: Vec<String>,
    pub issuer: String,
    pub serial_hex: String,
    pub not_after: DateTime<Utc>,
}

impl fmt::Debug for VerifiedCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedCertificate")
            .field("fingerprint", &self.fingerprint)
            .field("subject", &self.subject)
            .field("common_name", &self.common_name)
            .field("organization", &self.organization)
            .field("subject_values", &self.subject_values)
            .field("issuer", &self.issuer)
            .field("serial_hex", &self.serial_hex)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// SHA-256 (hex) of a certificate's SubjectPublicKeyInfo: the same for every certificate
/// issued over the same key pair. `None` if `der` is not a certificate.
pub fn public_key_sha256(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(crate::crypto::digest::sha256_hex(
        cert.tbs_certificate.subject_pki.raw,
    ))
}

impl VerifiedCertificate {
    fn from_parsed(der: &[u8], cert: &X509Certificate<'_>) -> Result<Self, CertError> {
        let subject = cert.subject();
        let not_after = DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0)
            .ok_or_else(|| CertError::Malformed("notAfter out of range".into()))?;
        Ok(Self {
            der: der.to_vec(),
            fingerprint: crate::crypto::digest::sha256_hex(der),
            subject: display_name(subject),
            common_name: subject.iter_common_name().find_map(attribute_string),
            organization: subject.iter_organization().find_map(attribute_string),
            subject_values: subject
                .iter_attributes()
                .filter_map(attribute_string)
                .collect(),
            issuer: display_name(cert.issuer()),
            serial_hex: hex::encode(cert.raw_serial()),
            not_after,
        })
    }

    /// Verifies `signature` over `message` with the certificate's public key.
    ///
    /// Accepts ECDSA P-256/SHA-256 and P-384/SHA-384 in ASN.1 DER form and in the fixed
    /// r‖s form WebCrypto produces, SM2/SM3 with the default distinguishing ID in either
    /// form, Ed25519, RSA PKCS#1 v1.5 SHA-256 and RSA-PSS SHA-256.
    pub fn verify_signature(&self, message: &[u8], signature: &[u8]) -> Result<(), CertError> {
        verify_with_certificate(&self.der, message, signature)
    }

    /// As [`VerifiedCertificate::verify_signature`], but an ECDSA signature only in the
    /// DER form (`Ecdsa-Sig-Value`): a bidder's signatures over its envelope and its
    /// manifest, which docs/protocol.md specifies so.
    pub fn verify_der_signature(&self, message: &[u8], signature: &[u8]) -> Result<(), CertError> {
        verify(&self.der, message, signature, false)
    }
}

/// Verifies `signature` over `message` with the public key of the certificate `der`,
/// without judging the certificate itself: for a certificate already validated at an
/// earlier instant (a sealed bid's signer, checked at submission, verified again at the
/// opening). Algorithms as [`VerifiedCertificate::verify_signature`].
pub fn verify_with_certificate(
    der: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), CertError> {
    verify(der, message, signature, true)
}

/// [`verify_with_certificate`] for a bidder's signatures: ECDSA and SM2 only in the DER
/// form.
pub fn verify_der_with_certificate(
    der: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), CertError> {
    verify(der, message, signature, false)
}

/// Verifies with the certificate's key; `fixed`: ECDSA and SM2 signatures may also come
/// in the fixed-width r‖s form.
fn verify(der: &[u8], message: &[u8], signature: &[u8], fixed: bool) -> Result<(), CertError> {
    {
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| CertError::Malformed(e.to_string()))?;
        let spki = cert.public_key();
        let key = spki.subject_public_key.data.as_ref();
        let key_alg = spki.algorithm.algorithm.to_id_string();
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .map(|o| o.to_id_string());

        if key_alg == "1.2.840.10045.2.1" && curve.as_deref() == Some(SM2_CURVE) {
            return verify_sm2(key, message, signature, fixed);
        }
        type Alg = &'static dyn VerificationAlgorithm;
        let candidates: Vec<Alg> = match (key_alg.as_str(), curve.as_deref()) {
            // The fixed form is tried first only when the length fits it; a DER signature of
            // exactly that length is astronomically unlikely, and the DER form is tried next.
            ("1.2.840.10045.2.1", Some("1.2.840.10045.3.1.7")) => {
                let mut algs: Vec<Alg> = Vec::new();
                if fixed && signature.len() == 64 {
                    algs.push(&signature::ECDSA_P256_SHA256_FIXED);
                }
                algs.push(&signature::ECDSA_P256_SHA256_ASN1);
                algs
            }
            ("1.2.840.10045.2.1", Some("1.3.132.0.34")) => {
                let mut algs: Vec<Alg> = Vec::new();
                if fixed && signature.len() == 96 {
                    algs.push(&signature::ECDSA_P384_SHA384_FIXED);
                }
                algs.push(&signature::ECDSA_P384_SHA384_ASN1);
                algs
            }
            ("1.3.101.112", _) => vec![&signature::ED25519],
            ("1.2.840.113549.1.1.1", _) => {
                vec![
                    &signature::RSA_PKCS1_2048_8192_SHA256,
                    &signature::RSA_PSS_2048_8192_SHA256,
                ]
            }
            ("1.2.840.113549.1.1.10", _) => vec![&signature::RSA_PSS_2048_8192_SHA256],
            _ => {
                return Err(CertError::SignatureInvalid(format!(
                    "unsupported public key algorithm {key_alg}"
                )))
            }
        };
        if candidates.into_iter().any(|alg| {
            UnparsedPublicKey::new(alg, key)
                .verify(message, signature)
                .is_ok()
        }) {
            Ok(())
        } else {
            Err(CertError::SignatureInvalid("verification failed".into()))
        }
    }
}

/// The named curve of SM2 keys (GB/T 32918.5).
const SM2_CURVE: &str = "1.2.156.10197.1.301";

/// An SM2 signature with the default distinguishing ID: DER, or r‖s when `fixed` (tried
/// first when the length fits, as for ECDSA).
fn verify_sm2(key: &[u8], message: &[u8], signature: &[u8], fixed: bool) -> Result<(), CertError> {
    use crate::crypto::gm::{verify, DEFAULT_DISTID};
    let as_fixed = || {
        sm2::dsa::Signature::from_slice(signature)
            .is_ok_and(|s| verify(key, DEFAULT_DISTID, message, &s.to_der().to_vec()))
    };
    if (fixed && signature.len() == 64 && as_fixed())
        || verify(key, DEFAULT_DISTID, message, signature)
    {
        Ok(())
    } else {
        Err(CertError::SignatureInvalid("verification failed".into()))
    }
}

/// The value of a string-typed attribute; `None` for binary values, which could otherwise
/// be mistaken for identifiers when rendered as hex.
fn attribute_string(attr: &AttributeTypeAndValue<'_>) -> Option<String> {
    if let Ok(s) = attr.as_str() {
        return Some(s.to_owned());
    }
    let value = attr.attr_value();
    let tag = value.header.tag();
    let data = value.data;
    if tag == Tag::BmpString {
        let units: Vec<u16> = data
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).ok()
    } else if tag == Tag::UniversalString {
        data.chunks_exact(4)
            .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect()
    } else if tag == Tag::T61String || tag == Tag::VisibleString {
        std::str::from_utf8(data).ok().map(str::to_owned)
    } else {
        None
    }
}

/// RFC 4514-style rendering: last RDN first, short names for common attributes, special
/// characters escaped, binary values as `#hex`.
fn display_name(name: &X509Name<'_>) -> String {
    let rdns: Vec<String> = name
        .iter_rdn()
        .map(|rdn| {
            rdn.iter()
                .map(|attr| {
                    let oid = attr.attr_type().to_id_string();
                    let key = match oid.as_str() {
                        "2.5.4.3" => "CN",
                        "2.5.4.6" => "C",
                        "2.5.4.7" => "L",
                        "2.5.4.8" => "ST",
                        "2.5.4.10" => "O",
                        "2.5.4.11" => "OU",
                        "2.5.4.5" => "serialNumber",
                        "2.5.4.97" => "organizationIdentifier",
                        "1.2.840.113549.1.9.1" => "emailAddress",
                        _ => oid.as_str(),
                    }
                    .to_owned();
                    let value = attribute_string(attr)
                        .map(|s| escape_rfc4514(&s))
                        .unwrap_or_else(|| format!("#{}", hex::encode(attr.as_slice())));
                    format!("{key}={value}")
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

fn escape_rfc4514(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, ch) in value.chars().enumerate() {
        let special = matches!(ch, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && matches!(ch, '#' | ' '))
            || (i == last && ch == ' ');
        if special {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests;
