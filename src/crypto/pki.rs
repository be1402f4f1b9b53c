//! The DEV ONLY PKI: throw-away root CAs, CRLs and identity certificates for tests and demos.
//!
//! Nothing here is fit for production: keys are written unencrypted, CRLs are never
//! refreshed, and every name says "DEV ONLY" so a generated certificate cannot be mistaken
//! for a real one. [`directory`] keeps such a PKI in a directory (`tradehall pki init`,
//! `tradehall pki issue`, the demo's `demo-data/pki`).

pub mod directory;

pub use directory::{
    init_dev_pki, issue_dev_identity, load_dev_pki, DevIdentity, DevPkiLayout, NewDevIdentity,
};

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rcgen::string::PrintableString;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SerialNumber,
};
use x509_parser::time::ASN1Time;

use crate::crypto::digest::random_bytes;
use crate::domain::usci::{Usci, UsciError};

/// Said in every generated file that has room for text.
pub const DEV_ONLY_WARNING: &str = "DEV ONLY — generated test PKI, never trust in production";

/// OID of the X.520 serialNumber attribute, where Chinese CAs put the 统一社会信用代码.
const OID_SERIAL_NUMBER: [u64; 4] = [2, 5, 4, 5];

/// Why the dev PKI could not be generated, written or read.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("certificate generation failed: {0}")]
    Generation(#[from] rcgen::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} already holds a PKI; use --force to overwrite it")]
    AlreadyExists(PathBuf),
    #[error("identities.json: {0}")]
    Manifest(String),
    #[error("time out of range for a certificate: {0}")]
    Time(DateTime<Utc>),
    #[error("{0}")]
    Usci(#[from] UsciError),
    #[error("{0}")]
    Identity(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// rcgen speaks `time`; the rest of the crate speaks chrono. x509-parser's ASN1Time bridges
/// the two (`.to_datetime()` yields the `time` value rcgen wants) without a direct
/// dependency on `time`.
fn asn1_time(t: DateTime<Utc>) -> Result<ASN1Time, PkiError> {
    ASN1Time::from_timestamp(t.timestamp()).map_err(|_| PkiError::Time(t))
}

/// A random positive 16-byte serial (RFC 5280 §4.1.2.2: positive, at most 20 octets). The
/// first byte is kept in 0x01..=0x7f so the DER INTEGER content is exactly these 16 bytes,
/// which is what CRL entries are matched on.
fn random_serial() -> Vec<u8> {
    let mut serial = random_bytes::<16>();
    serial[0] &= 0x7f;
    if serial[0] == 0 {
        serial[0] = 1;
    }
    serial.to_vec()
}

fn printable(s: &str) -> Result<DnValue, PkiError> {
    PrintableString::try_from(s)
        .map(DnValue::PrintableString)
        .map_err(PkiError::from)
}

/// A DEV ONLY root CA with an ECDSA P-256 key, held in memory.
pub struct DevCa {
    name: String,
    issuer: Issuer<'static, KeyPair>,
    cert_der: Vec<u8>,
    cert_pem: String,
    key_pem: String,
}

impl std::fmt::Debug for DevCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevCa")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The subject, key usages and key identifier method of the root named `name`: what an
/// issuer needs besides its key, so a root reloaded from its files issues exactly as the
/// one that was generated.
fn ca_params(name: &str) -> Result<CertificateParams, PkiError> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, printable("CN")?);
    dn.push(DnType::OrganizationName, "tradehall DEV ONLY");
    dn.push(DnType::CommonName, format!("{name} DEV ONLY Root CA"));
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    // cRLSign: webpki refuses CRLs from an issuer whose keyUsage lacks it.
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.key_identifier_method = KeyIdMethod::Sha256;
    Ok(params)
}

impl DevCa {
    /// A root with CN "`name` DEV ONLY Root CA" and O "tradehall DEV ONLY".
    pub fn new(
        name: &str,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> Result<Self, PkiError> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = ca_params(name)?;
        params.not_before = asn1_time(not_before)?.to_datetime();
        params.not_after = asn1_time(not_after)?.to_datetime();
        params.serial_number = Some(SerialNumber::from_slice(&random_serial()));
        let cert = params.self_signed(&key)?;
        Ok(Self {
            name: name.to_owned(),
            cert_der: cert.der().to_vec(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// The root `name` again, from its certificate and its PKCS#8 key (PEM) as
    /// [`DevCa::new`] made them; refuses a key that is not the certificate's.
    pub fn from_pem(name: &str, cert_pem: &str, key_pem: &str) -> Result<Self, PkiError> {
        let key = KeyPair::from_pem(key_pem)?;
        let cert_der = crate::crypto::cert::parse_pem_certificates(cert_pem)
            .ok()
            .and_then(|mut certs| (!certs.is_empty()).then(|| certs.remove(0)))
            .ok_or_else(|| PkiError::Identity(format!("{name}: the CA certificate is not PEM")))?;
        let (_, cert) = x509_parser::parse_x509_certificate(&cert_der)
            .map_err(|e| PkiError::Identity(format!("{name}: the CA certificate: {e}")))?;
        if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return Err(PkiError::Identity(format!(
                "{name}: the CA key is not the key of its certificate"
            )));
        }
        Ok(Self {
            name: name.to_owned(),
            cert_der,
            cert_pem: cert_pem.to_owned(),
            key_pem: key.serialize_pem(),
            issuer: Issuer::new(ca_params(name)?, key),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn cert_der(&self) -> Vec<u8> {
        self.cert_der.clone()
    }

    pub fn cert_pem(&self) -> String {
        self.cert_pem.clone()
    }

    /// The CA's private key, PKCS#8 PEM (a DEV ONLY CA keeps it to issue more identities).
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// Issues an identity certificate with a fresh ECDSA P-256 key.
    pub fn issue(&self, spec: &IdentitySpec) -> Result<IssuedIdentity, PkiError> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        self.issue_for(spec, &key)
    }

    /// Issues an identity certificate over an existing ECDSA P-256 key (PKCS#8 DER), as a
    /// renewal does, or as a holder of one key asking for certificates of two
    /// organisations would.
    pub fn issue_for_key(
        &self,
        spec: &IdentitySpec,
        key_pkcs8_der: &[u8],
    ) -> Result<IssuedIdentity, PkiError> {
        let key = KeyPair::from_pkcs8_der_and_sign_algo(
            &rustls_pki_types::PrivatePkcs8KeyDer::from(key_pkcs8_der),
            &rcgen::PKCS_ECDSA_P256_SHA256,
        )?;
        self.issue_for(spec, &key)
    }

    fn issue_for(&self, spec: &IdentitySpec, key: &KeyPair) -> Result<IssuedIdentity, PkiError> {
        let serial = random_serial();
        let mut params = CertificateParams::default();
        params.not_before = asn1_time(spec.not_before)?.to_datetime();
        params.not_after = asn1_time(spec.not_after)?.to_datetime();
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, printable("CN")?);
        dn.push(DnType::OrganizationName, spec.organization.as_str());
        if let Some(usci) = &spec.usci {
            dn.push(
                DnType::CustomDnType(OID_SERIAL_NUMBER.to_vec()),
                printable(usci.as_str())?,
            );
        }
        dn.push(DnType::CommonName, spec.common_name.as_str());
        params.distinguished_name = dn;
        params.is_ca = IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;
        params.key_identifier_method = KeyIdMethod::Sha256;
        let (key_usages, ekus) = match spec.key_usage {
            KeyUsageProfile::Signing => (
                vec![
                    KeyUsagePurpose::DigitalSignature,
                    KeyUsagePurpose::ContentCommitment,
                ],
                vec![ExtendedKeyUsagePurpose::ClientAuth],
            ),
            KeyUsageProfile::EncipherOnly => (
                vec![KeyUsagePurpose::KeyEncipherment],
                vec![ExtendedKeyUsagePurpose::ClientAuth],
            ),
            KeyUsageProfile::ServerOnly => (
                vec![KeyUsagePurpose::DigitalSignature],
                vec![ExtendedKeyUsagePurpose::ServerAuth],
            ),
        };
        params.key_usages = key_usages;
        params.extended_key_usages = ekus;
        let cert = params.signed_by(key, &self.issuer)?;
        Ok(IssuedIdentity {
            cert_der: cert.der().to_vec(),
            cert_pem: cert.pem(),
            key_pkcs8_der: key.serialize_der(),
            key_pem: key.serialize_pem(),
            serial,
        })
    }

    fn signed_crl(
        &self,
        revoked_serials: &[Vec<u8>],
        this_update: DateTime<Utc>,
        next_update: DateTime<Utc>,
    ) -> Result<rcgen::CertificateRevocationList, PkiError> {
        let this = asn1_time(this_update)?.to_datetime();
        let params = CertificateRevocationListParams {
            this_update: this,
            next_update: asn1_time(next_update)?.to_datetime(),
            // CRL numbers must increase (RFC 5280 §5.2.3); seconds since the epoch do, as
            // long as a dev CA issues at most one CRL a second.
            crl_number: SerialNumber::from(u64::try_from(this_update.timestamp()).unwrap_or(0)),
            issuing_distribution_point: None,
            revoked_certs: revoked_serials
                .iter()
                .map(|serial| RevokedCertParams {
                    serial_number: SerialNumber::from_slice(serial),
                    revocation_time: this,
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        Ok(params.signed_by(&self.issuer)?)
    }

    /// A v2 CRL with a CRL number, signed by this CA, listing `revoked_serials` (DER).
    pub fn crl(
        &self,
        revoked_serials: &[Vec<u8>],
        this_update: DateTime<Utc>,
        next_update: DateTime<Utc>,
    ) -> Result<Vec<u8>, PkiError> {
        Ok(self
            .signed_crl(revoked_serials, this_update, next_update)?
            .der()
            .to_vec())
    }

    /// [`DevCa::crl`] as PEM.
    pub fn crl_pem(
        &self,
        revoked_serials: &[Vec<u8>],
        this_update: DateTime<Utc>,
        next_update: DateTime<Utc>,
    ) -> Result<String, PkiError> {
        Ok(self
            .signed_crl(revoked_serials, this_update, next_update)?
            .pem()?)
    }
}

/// What to put in an identity certificate.
#[derive(Debug, Clone)]
pub struct IdentitySpec {
    pub common_name: String,
    pub organization: String,
    /// Goes into the subject's serialNumber attribute (2.5.4.5).
    pub usci: Option<Usci>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub key_usage: KeyUsageProfile,
}

/// Key usages of an identity certificate; the last two exist to test refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUsageProfile {
    /// keyUsage digitalSignature + nonRepudiation, extendedKeyUsage clientAuth.
    Signing,
    /// keyUsage keyEncipherment only: not a signing certificate.
    EncipherOnly,
    /// extendedKeyUsage serverAuth only: a TLS server certificate.
    ServerOnly,
}

/// An issued certificate and its private key.
pub struct IssuedIdentity {
    pub cert_der: Vec<u8>,
    pub cert_pem: String,
    /// PKCS#8 (RFC 5958) DER of the ECDSA P-256 key.
    pub key_pkcs8_der: Vec<u8>,
    pub key_pem: String,
    /// The certificate serial, as listed in CRLs.
    pub serial: Vec<u8>,
}

impl std::fmt::Debug for IssuedIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedIdentity")
            .field("serial", &hex::encode(&self.serial))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
