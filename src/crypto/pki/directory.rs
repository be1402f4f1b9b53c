//! A DEV ONLY PKI kept in a directory: two roots with their keys and CRLs, and one
//! directory per identity with its certificate and key, listed in `identities.json`.
//! `tradehall pki init` writes one, the demo keeps one in `demo-data/pki`, and
//! `tradehall pki issue` adds identities to it with the kept root keys.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{io_err, DevCa, IdentitySpec, KeyUsageProfile, PkiError, DEV_ONLY_WARNING};
use crate::domain::identity::Role;
use crate::domain::usci::Usci;

/// Put before PEM blocks. RFC 7468 §2 lets explanatory text precede the encapsulation
/// boundary and requires parsers to ignore it; kept ASCII for naive readers.
const PEM_PREAMBLE: &str = "# DEV ONLY - generated test PKI, never trust in production\n";

/// Where a dev PKI is. Every path is absolute: `dir` is made absolute against the working
/// directory when the layout is read, and the others are joined to it, so a layout read
/// from a relative directory can be used from anywhere.
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
    /// A role of `domain::identity::Role`: "admin", "trading_centre", "supervisor",
    /// "custodian", "expert" or "bidder".
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
    /// The root's private key, kept so more identities can be issued. Absent in a PKI
    /// written before roots kept their keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<PathBuf>,
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

pub(super) const MANIFEST: &str = "identities.json";
const CA_NAMES: [&str; 2] = ["ca-a", "ca-b"];

/// How long an identity certificate of the dev PKI is valid.
const IDENTITY_DAYS: i64 = 730;

/// (name, role, organisation, first 17 characters of the USCI, CA). Codes: 11 = 机关,
/// 12 = 事业单位, 91 = 企业; then the 行政区划代码 (650000 自治区, 650100 乌鲁木齐,
/// 654000 伊犁, 659001 石河子); then a made-up organisation code.
const DEV_IDENTITIES: [(&str, &str, &str, &str, &str); 18] = [
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
    (
        "expert-1",
        "expert",
        "新疆大学建筑工程学院",
        "12650000MB0E10012",
        "ca-a",
    ),
    (
        "expert-2",
        "expert",
        "新疆建筑设计研究院有限公司",
        "91650100MA7E20021",
        "ca-b",
    ),
    (
        "expert-3",
        "expert",
        "新疆交通规划勘察设计研究院",
        "12650000MB0E30034",
        "ca-a",
    ),
    (
        "expert-4",
        "expert",
        "新疆农业大学水利与土木工程学院",
        "12650000MB0E40045",
        "ca-b",
    ),
    (
        "expert-5",
        "expert",
        "伊犁哈萨克自治州建设工程造价管理站",
        "12654000MB0E50056",
        "ca-a",
    ),
    (
        "expert-6",
        "expert",
        "新疆工程学院土木工程学院",
        "12650000MB0E60067",
        "ca-b",
    ),
    (
        "expert-7",
        "expert",
        "石河子大学水利建筑工程学院",
        "12659001MB0E70078",
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
    file.write_all(contents).map_err(io_err(path))?;
    file.sync_all().map_err(io_err(path))
}

fn dev_pem(pem: &str) -> String {
    format!("{PEM_PREAMBLE}{pem}")
}

/// Writes the manifest whole or not at all: a new file renamed over the old one.
fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), PkiError> {
    let json =
        serde_json::to_vec_pretty(manifest).map_err(|e| PkiError::Manifest(e.to_string()))?;
    let fresh = dir.join(format!("{MANIFEST}.new"));
    write_file(&fresh, &json, false)?;
    let path = dir.join(MANIFEST);
    fs::rename(&fresh, &path).map_err(io_err(&path))
}

fn read_manifest(dir: &Path) -> Result<Manifest, PkiError> {
    let path = dir.join(MANIFEST);
    let bytes = fs::read(&path).map_err(io_err(&path))?;
    serde_json::from_slice(&bytes).map_err(|e| PkiError::Manifest(e.to_string()))
}

/// Issues `name`'s certificate and key under `dir` and returns its manifest line.
fn issue_into(
    dir: &Path,
    ca: &DevCa,
    name: &str,
    role: &str,
    organization: &str,
    usci: Usci,
    now: DateTime<Utc>,
) -> Result<ManifestIdentity, PkiError> {
    let issued = ca.issue(&IdentitySpec {
        common_name: format!("{name} DEV ONLY"),
        organization: organization.to_owned(),
        usci: Some(usci.clone()),
        not_before: now - Duration::days(1),
        not_after: now + Duration::days(IDENTITY_DAYS),
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
    Ok(ManifestIdentity {
        name: name.to_owned(),
        role: role.to_owned(),
        organization: organization.to_owned(),
        usci,
        ca: ca.name().to_owned(),
        cert,
        key,
    })
}

/// Writes a DEV ONLY PKI under `dir` (refusing to overwrite a non-empty directory unless
/// `force`): roots "ca-a" and "ca-b" with their keys (0600) and empty CRLs, and the
/// identities of [`DEV_IDENTITIES`] spread over both, each with cert.pem and a 0600
/// PKCS#8 key.pem.
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
        let key = PathBuf::from(name).join("ca.key");
        write_file(&dir.join(&cert), dev_pem(&ca.cert_pem()).as_bytes(), false)?;
        write_file(&dir.join(&key), dev_pem(ca.key_pem()).as_bytes(), true)?;
        let crl_pem = ca.crl_pem(&[], now, now + Duration::days(365))?;
        write_file(&dir.join(&crl), dev_pem(&crl_pem).as_bytes(), false)?;
        manifest_cas.push(ManifestCa {
            name: name.to_owned(),
            cert,
            crl,
            key: Some(key),
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
        manifest_identities.push(issue_into(dir, ca, name, role, organization, usci, now)?);
    }

    let manifest = Manifest {
        warning: DEV_ONLY_WARNING.to_owned(),
        cas: manifest_cas,
        identities: manifest_identities,
    };
    write_manifest(dir, &manifest)?;
    write_file(
        &dir.join("README.txt"),
        format!(
            "{DEV_ONLY_WARNING}.\n\nWritten by `tradehall pki init`. The keys in here are unencrypted, \
             the roots' keys (ca-*/ca.key) included, so that `tradehall pki issue` can add \
             identities; recognise these CAs only on development servers.\n\
             identities.json lists every identity with its role, organisation and 统一社会信用代码.\n"
        )
        .as_bytes(),
        false,
    )?;
    layout_from_manifest(dir, manifest)
}

/// Reads identities.json written by [`init_dev_pki`].
pub fn load_dev_pki(dir: &Path) -> Result<DevPkiLayout, PkiError> {
    layout_from_manifest(dir, read_manifest(dir)?)
}

/// An identity to add to a dev PKI with [`issue_dev_identity`].
#[derive(Debug, Clone)]
pub struct NewDevIdentity {
    /// Its directory name under the PKI: 1 to 40 of `a-z`, `0-9`, `-`, `_`.
    pub name: String,
    pub role: Role,
    pub organization: String,
    pub usci: Usci,
    /// The issuing root ("ca-a" or "ca-b").
    pub ca: String,
}

/// Issues a new identity with one of the PKI's kept root keys, writes its certificate and
/// key next to the others and lists it in identities.json. Refuses a name already in use,
/// and a PKI whose roots did not keep their keys.
pub fn issue_dev_identity(
    dir: &Path,
    new: &NewDevIdentity,
    now: DateTime<Utc>,
) -> Result<DevIdentity, PkiError> {
    let name = new.name.as_str();
    let name_ok = (1..=40).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !name_ok {
        return Err(PkiError::Identity(format!(
            "the name {name:?} must be 1 to 40 of a-z, 0-9, - and _"
        )));
    }
    let organization = new.organization.trim();
    if organization.is_empty() || organization.chars().count() > 100 {
        return Err(PkiError::Identity(
            "the organisation name must be 1 to 100 characters".into(),
        ));
    }
    let mut manifest = read_manifest(dir)?;
    if manifest.identities.iter().any(|i| i.name == name) || dir.join(name).exists() {
        return Err(PkiError::Identity(format!(
            "{} already holds an identity named {name}",
            dir.display()
        )));
    }
    let root = manifest
        .cas
        .iter()
        .find(|ca| ca.name == new.ca)
        .ok_or_else(|| PkiError::Identity(format!("this PKI has no CA {}", new.ca)))?;
    let key = root.key.as_ref().ok_or_else(|| {
        PkiError::Identity(format!(
            "{}: the root {} did not keep its key (a PKI written before roots kept them); write a new one with `tradehall pki init`",
            dir.display(),
            new.ca
        ))
    })?;
    let read = |p: &Path| {
        let path = dir.join(p);
        fs::read_to_string(&path).map_err(io_err(&path))
    };
    let ca = DevCa::from_pem(&root.name, &read(&root.cert)?, &read(key)?)?;
    let line = issue_into(
        dir,
        &ca,
        name,
        new.role.as_str(),
        organization,
        new.usci.clone(),
        now,
    )?;
    manifest.identities.push(line);
    write_manifest(dir, &manifest)?;
    let layout = layout_from_manifest(dir, manifest)?;
    layout
        .identities
        .into_iter()
        .find(|i| i.name == name)
        .ok_or_else(|| PkiError::Manifest(format!("{name} is not in the manifest")))
}

fn layout_from_manifest(dir: &Path, manifest: Manifest) -> Result<DevPkiLayout, PkiError> {
    let dir = std::path::absolute(dir).map_err(io_err(dir))?;
    Ok(DevPkiLayout {
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
        dir,
    })
}
