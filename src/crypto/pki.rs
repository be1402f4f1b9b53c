//! The DEV ONLY PKI: throw-away root CAs, CRLs and identity certificates for tests and demos.
//!
//! Nothing here is fit for production: keys are written unencrypted, CRLs are never
//! refreshed, and every name says "DEV ONLY" so a generated certificate cannot be mistaken
//! for a real one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use rcgen::string::PrintableString;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SerialNumber,
};
use serde::{Deserialize, Serialize};
use x509_parser::time::ASN1Time;

use crate::crypto::digest::random_bytes;
use crate::domain::usci::{Usci, UsciError};

/// Said in every generated file that has room for text.
pub const DEV_ONLY_WARNING: &str = "DEV ONLY — generated test PKI, never trust in production";

/// Put before PEM blocks. RFC 7468 §2 lets explanatory text precede the encapsulation
/// boundary and requires parsers to ignore it; kept ASCII for naive readers.
const PEM_PREAMBLE: &str = "# DEV ONLY - generated test PKI, never trust in production\n";

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
}

impl std::fmt::Debug for DevCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevCa")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl DevCa {
    /// A root with CN "`name` DEV ONLY Root CA" and O "tradehall DEV ONLY".
    pub fn new(
        name: &str,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> Result<Self, PkiError> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::default();
        params.not_before = asn1_time(not_before)?.to_datetime();
        params.not_after = asn1_time(not_after)?.to_datetime();
        params.serial_number = Some(SerialNumber::from_slice(&random_serial()));
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, printable("CN")?);
        dn.push(DnType::OrganizationName, "tradehall DEV ONLY");
        dn.push(DnType::CommonName, format!("{name} DEV ONLY Root CA"));
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // cRLSign: webpki refuses CRLs from an issuer whose keyUsage lacks it.
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.key_identifier_method = KeyIdMethod::Sha256;
        let cert = params.self_signed(&key)?;
        Ok(Self {
            name: name.to_owned(),
            cert_der: cert.der().to_vec(),
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
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

/// Where `init_dev_pki` put things. Paths are absolute (joined to `dir`).
#[derive(Debug, Clone)]
pub struct DevPkiLayout {
    pub dir: PathBuf,
    /// (CA name, ca.pem, crl.pem).
    pub cas: Vec<(String, PathBuf, PathBuf)>,
    pub identities: Vec<DevIdentity>,
}

/// One generated identity.
#[derive(Debug, Clone)]
pub struct DevIdentity {
    /// e.g. "bidder-1"
    pub name: String,
    /// "admin" | "trading_centre" | "supervisor" | "custodian" | "bidder"
    pub role: String,
    pub organization: String,
    pub usci: Usci,
    /// Name of the issuing CA ("ca-a" or "ca-b").
    pub ca: String,
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
}

/// identities.json: paths relative to the PKI directory so the directory can be moved.
#[derive(Serialize, Deserialize)]
struct Manifest {
    warning: String,
    cas: Vec<ManifestCa>,
    identities: Vec<ManifestIdentity>,
}

#[derive(Serialize, Deserialize)]
struct ManifestCa {
    name: String,
    cert: PathBuf,
    crl: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct ManifestIdentity {
    name: String,
    role: String,
    organization: String,
    usci: Usci,
    ca: String,
    cert: PathBuf,
    key: PathBuf,
}

const MANIFEST: &str = "identities.json";
const CA_NAMES: [&str; 2] = ["ca-a", "ca-b"];

/// (name, role, organisation, first 17 characters of the USCI, CA). Codes: 11 = 机关,
/// 12 = 事业单位, 91 = 企业; then the 行政区划代码 (650000 自治区, 650100 乌鲁木齐,
/// 654000 伊犁); then a made-up organisation code.
const DEV_IDENTITIES: [(&str, &str, &str, &str, &str); 11] = [
    (
        "admin",
        "admin",
        "自治区公共资源交易平台运营服务中心",
        "12650000MB1957001",
        "ca-a",
    ),
    (
        "officer",
        "trading_centre",
        "自治区公共资源交易中心",
        "12650000MB1957028",
        "ca-a",
    ),
    (
        "supervisor",
        "supervisor",
        "自治区发展和改革委员会",
        "11650000010001234",
        "ca-a",
    ),
    (
        "custodian-1",
        "custodian",
        "自治区公共资源交易中心",
        "12650000MB1957044",
        "ca-a",
    ),
    (
        "custodian-2",
        "custodian",
        "乌鲁木齐市天山公证处",
        "12650100MB0A12345",
        "ca-a",
    ),
    (
        "custodian-3",
        "custodian",
        "自治区审计厅",
        "11650000010005678",
        "ca-b",
    ),
    (
        "bidder-1",
        "bidder",
        "新疆天山建设工程有限公司",
        "91650100MA77TH0Y1",
        "ca-a",
    ),
    (
        "bidder-2",
        "bidder",
        "新疆昆仑路桥工程有限责任公司",
        "91650100MA78KL2Q5",
        "ca-b",
    ),
    (
        "bidder-3",
        "bidder",
        "乌鲁木齐城建集团有限公司",
        "91650100228593016",
        "ca-a",
    ),
    (
        "bidder-4",
        "bidder",
        "新疆丝路环保科技有限公司",
        "91650100MA79RP3W7",
        "ca-b",
    ),
    (
        "bidder-5",
        "bidder",
        "伊犁河谷水利水电工程有限公司",
        "91654000MA7A4N6U2",
        "ca-a",
    ),
];

fn write_file(path: &Path, contents: &[u8], private: bool) -> Result<(), PkiError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        // Created 0600 rather than chmod-ed afterwards, so the key is never world-readable.
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io_err(path))?;
    #[cfg(unix)]
    if private {
        // `mode` only applies on creation; a key overwritten with --force keeps old bits.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(io_err(path))?;
    }
    file.write_all(contents).map_err(io_err(path))
}

fn dev_pem(pem: &str) -> String {
    format!("{PEM_PREAMBLE}{pem}")
}

/// Writes a DEV ONLY PKI under `dir` (refusing to overwrite a non-empty directory unless
/// `force`): roots "ca-a" and "ca-b" with empty CRLs, and the identities of
/// [`DEV_IDENTITIES`] spread over both, each with cert.pem and a 0600 PKCS#8 key.pem.
pub fn init_dev_pki(dir: &Path, now: DateTime<Utc>, force: bool) -> Result<DevPkiLayout, PkiError> {
    if !force && dir.exists() {
        let mut entries = fs::read_dir(dir).map_err(io_err(dir))?;
        if entries.next().is_some() {
            return Err(PkiError::AlreadyExists(dir.to_path_buf()));
        }
    }
    fs::create_dir_all(dir).map_err(io_err(dir))?;

    let ca_not_before = now - Duration::days(1);
    let ca_not_after = now + Duration::days(3652);
    let mut cas = Vec::new();
    let mut manifest_cas = Vec::new();
    for name in CA_NAMES {
        let ca = DevCa::new(name, ca_not_before, ca_not_after)?;
        let cert = PathBuf::from(name).join("ca.pem");
        let crl = PathBuf::from(name).join("crl.pem");
        write_file(&dir.join(&cert), dev_pem(&ca.cert_pem()).as_bytes(), false)?;
        let crl_pem = ca.crl_pem(&[], now, now + Duration::days(365))?;
        write_file(&dir.join(&crl), dev_pem(&crl_pem).as_bytes(), false)?;
        manifest_cas.push(ManifestCa {
            name: name.to_owned(),
            cert,
            crl,
        });
        cas.push(ca);
    }

    let mut manifest_identities = Vec::new();
    for (name, role, organization, first17, ca_name) in DEV_IDENTITIES {
        let ca = cas
            .iter()
            .find(|ca| ca.name() == ca_name)
            .ok_or_else(|| PkiError::Manifest(format!("unknown CA {ca_name}")))?;
        let usci = Usci::complete(first17)?;
        let issued = ca.issue(&IdentitySpec {
            common_name: format!("{name} DEV ONLY"),
            organization: organization.to_owned(),
            usci: Some(usci.clone()),
            not_before: now - Duration::days(1),
            not_after: now + Duration::days(730),
            key_usage: KeyUsageProfile::Signing,
        })?;
        let cert = PathBuf::from(name).join("cert.pem");
        let key = PathBuf::from(name).join("key.pem");
        write_file(
            &dir.join(&cert),
            dev_pem(&issued.cert_pem).as_bytes(),
            false,
        )?;
        write_file(&dir.join(&key), dev_pem(&issued.key_pem).as_bytes(), true)?;
        manifest_identities.push(ManifestIdentity {
            name: name.to_owned(),
            role: role.to_owned(),
            organization: organization.to_owned(),
            usci,
            ca: ca_name.to_owned(),
            cert,
            key,
        });
    }

    let manifest = Manifest {
        warning: DEV_ONLY_WARNING.to_owned(),
        cas: manifest_cas,
        identities: manifest_identities,
    };
    let json =
        serde_json::to_vec_pretty(&manifest).map_err(|e| PkiError::Manifest(e.to_string()))?;
    write_file(&dir.join(MANIFEST), &json, false)?;
    write_file(
        &dir.join("README.txt"),
        format!(
            "{DEV_ONLY_WARNING}.\n\nWritten by `tradehall pki init`. The keys in here are unencrypted \
             and the CA keys were thrown away; recognise these CAs only on development servers.\n\
             identities.json lists every identity with its role, organisation and 统一社会信用代码.\n"
        )
        .as_bytes(),
        false,
    )?;
    layout_from_manifest(dir, manifest)
}

/// Reads identities.json written by [`init_dev_pki`].
pub fn load_dev_pki(dir: &Path) -> Result<DevPkiLayout, PkiError> {
    let path = dir.join(MANIFEST);
    let bytes = fs::read(&path).map_err(io_err(&path))?;
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| PkiError::Manifest(e.to_string()))?;
    layout_from_manifest(dir, manifest)
}

fn layout_from_manifest(dir: &Path, manifest: Manifest) -> Result<DevPkiLayout, PkiError> {
    Ok(DevPkiLayout {
        dir: dir.to_path_buf(),
        cas: manifest
            .cas
            .into_iter()
            .map(|ca| (ca.name, dir.join(ca.cert), dir.join(ca.crl)))
            .collect(),
        identities: manifest
            .identities
            .into_iter()
            .map(|id| DevIdentity {
                name: id.name,
                role: id.role,
                organization: id.organization,
                usci: id.usci,
                ca: id.ca,
                cert_path: dir.join(id.cert),
                key_path: dir.join(id.key),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests;
