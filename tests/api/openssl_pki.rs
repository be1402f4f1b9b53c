//! A PKI made by the `openssl` command-line tool: proof that certificates we did not mint are
//! accepted, as they will be when a real CA (CFCA, a provincial CA) issues them.
//!
//! Everything is created in a caller-supplied (temporary) directory; failures panic with
//! openssl's stderr, since this is test code.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{Duration, Utc};

/// Paths and material of an OpenSSL-made root CA, its CRL and one bidder certificate.
// Each integration test reads a different subset of the fields.
#[allow(dead_code)]
pub struct OpensslPki {
    /// Root CA certificate (PEM), for the server's `--ca` list.
    pub ca_pem_path: PathBuf,
    /// The CA's (empty) v2 CRL from `openssl ca -gencrl` (PEM), for the server's `--crl` list.
    pub crl_pem_path: PathBuf,
    /// The bidder certificate (PEM).
    pub bidder_cert_pem: String,
    /// The bidder's private key (EC P-256 or SM2) as unencrypted PKCS#8 DER.
    pub bidder_key_pkcs8_der: Vec<u8>,
}

/// A minimal `openssl ca` setup. `-preserveDN` keeps the subject order and the
/// serialNumber attribute of the request; the policy only insists on a CN.
const OPENSSL_CNF: &str = r#"
[ ca ]
default_ca = test_ca

[ test_ca ]
database = index.txt
new_certs_dir = newcerts
certificate = ca.pem
private_key = ca.key
serial = serial
crlnumber = crlnumber
default_md = sha256
default_days = 730
default_crl_days = 365
policy = policy_any
unique_subject = no
copy_extensions = none
crl_extensions = crl_ext

[ policy_any ]
countryName = optional
organizationName = optional
serialNumber = optional
commonName = supplied

[ req ]
distinguished_name = req_dn
string_mask = utf8only
prompt = no

[ req_dn ]
CN = unused

[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ v3_bidder ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ v3_encryption ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyEncipherment, dataEncipherment, keyAgreement
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ crl_ext ]
authorityKeyIdentifier = keyid:always
"#;

/// Runs `openssl <args> <values...>`: `args` is split on whitespace, `values` (subjects,
/// dates) are passed as they are.
fn openssl(dir: &Path, args: &str, values: &[&str]) {
    let output = Command::new("openssl")
        .args(args.split_whitespace())
        .args(values)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl: {e}"));
    assert!(
        output.status.success(),
        "openssl {args} {values:?} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Escapes a value for `openssl req -subj`, where `/`, `+` and `=` are syntax.
fn subj_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for ch in value.chars() {
        if matches!(ch, '\\' | '/' | '+' | '=') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn write(dir: &Path, name: &str, contents: &str) {
    std::fs::write(dir.join(name), contents).unwrap_or_else(|e| panic!("{name}: {e}"));
}

/// The key type of an OpenSSL-made PKI: the CA and its bidders use the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlg {
    /// ECDSA P-256 with SHA-256.
    P256,
    /// SM2 with SM3 and the distinguishing ID `1234567812345678` (GM/T 0015), as a Chinese
    /// CA issues them.
    Sm2,
}

impl KeyAlg {
    /// Distinct names: a CA's CRL is found by its issuer's name.
    fn ca_subject(self) -> &'static str {
        match self {
            KeyAlg::P256 => "/C=CN/O=OpenSSL Test CA (DEV ONLY)/CN=OpenSSL Test Root CA DEV ONLY",
            KeyAlg::Sm2 => {
                "/C=CN/O=OpenSSL Test SM2 CA (DEV ONLY)/CN=OpenSSL Test SM2 Root CA DEV ONLY"
            }
        }
    }

    fn genpkey(self) -> &'static str {
        match self {
            KeyAlg::P256 => "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out",
            KeyAlg::Sm2 => "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out",
        }
    }

    /// Options for `openssl req` (it signs) and `openssl ca` (it verifies the request and
    /// signs): the digest, and for SM2 the distinguishing ID both ways.
    fn req_opts(self) -> &'static str {
        match self {
            KeyAlg::P256 => "-sha256",
            KeyAlg::Sm2 => "-sm3 -sigopt distid:1234567812345678",
        }
    }

    fn ca_opts(self) -> &'static str {
        match self {
            KeyAlg::P256 => "-md sha256",
            KeyAlg::Sm2 => {
                "-md sm3 -sigopt distid:1234567812345678 -vfyopt distid:1234567812345678"
            }
        }
    }
}

/// A second certificate of an SM2 PKI: the holder's PEM and its key (PKCS#8 DER).
#[allow(dead_code)]
pub struct Issued {
    pub cert_pem: String,
    pub key_pkcs8_der: Vec<u8>,
}

/// An SM2 PKI as a Chinese CA runs it: the bidder's signing certificate (in `base`), its
/// encryption certificate over another key (GM/T 0015 dual certificates), and a second
/// bidder whose certificate the CA revoked before it made the CRL.
#[allow(dead_code)]
pub struct Sm2Pki {
    pub base: OpensslPki,
    pub encryption: Issued,
    pub revoked: Issued,
}

/// Creates, in `dir`: an EC P-256 root CA, a bidder certificate with subject
/// `C=CN, O=<org>, serialNumber=<usci>, CN=<org> 投标专用` issued by it with `openssl ca`,
/// and the CA's CRL made with `openssl ca -gencrl`.
pub fn make_openssl_pki(dir: &Path, org: &str, usci: &str) -> OpensslPki {
    let ca = Ca::new(dir, KeyAlg::P256);
    let bidder = ca.issue("bidder", org, usci, "v3_bidder");
    ca.crl();
    ca.pki(bidder)
}

/// As [`make_openssl_pki`] with SM2 keys and SM3 signatures throughout; adds the bidder's
/// encryption certificate and a revoked bidder (`revoked_org`, `revoked_usci`).
pub fn make_openssl_sm2_pki(
    dir: &Path,
    org: &str,
    usci: &str,
    revoked_org: &str,
    revoked_usci: &str,
) -> Sm2Pki {
    let ca = Ca::new(dir, KeyAlg::Sm2);
    let bidder = ca.issue("bidder", org, usci, "v3_bidder");
    let encryption = ca.issue("bidder-enc", org, usci, "v3_encryption");
    let revoked = ca.issue("revoked", revoked_org, revoked_usci, "v3_bidder");
    openssl(
        dir,
        &format!(
            "ca -config openssl.cnf {} -revoke revoked.pem -crl_reason keyCompromise",
            ca.alg.ca_opts()
        ),
        &[],
    );
    ca.crl();
    Sm2Pki {
        base: ca.pki(bidder),
        encryption,
        revoked,
    }
}

/// A root CA made with `openssl ca -selfsign` in `dir`.
struct Ca<'a> {
    dir: &'a Path,
    alg: KeyAlg,
    /// Validity start of everything it issues.
    start: String,
}

impl<'a> Ca<'a> {
    fn new(dir: &'a Path, alg: KeyAlg) -> Self {
        std::fs::create_dir_all(dir.join("newcerts")).unwrap_or_else(|e| panic!("newcerts: {e}"));
        write(dir, "openssl.cnf", OPENSSL_CNF);
        write(dir, "index.txt", "");
        // A crlnumber file makes `openssl ca -gencrl` emit a v2 CRL with a CRL number,
        // which webpki requires.
        write(dir, "crlnumber", "1000\n");

        // Valid from a day before the earlier of the wall clock and the tests' manual
        // clock (which starts at a fixed date), so neither sees a certificate from the
        // future.
        let from = Utc::now().min(crate::helpers::start_time()) - Duration::days(1);
        let start = from.format("%Y%m%d%H%M%SZ").to_string();
        openssl(dir, alg.genpkey(), &["ca.key"]);
        openssl(
            dir,
            &format!(
                "req -new -config openssl.cnf -key ca.key -utf8 {} -out ca.csr -subj",
                alg.req_opts()
            ),
            &[alg.ca_subject()],
        );
        // `openssl req -x509` starts its certificate now; `openssl ca -selfsign` takes a
        // start.
        let ca_end = (Utc::now() + Duration::days(3650))
            .format("%Y%m%d%H%M%SZ")
            .to_string();
        openssl(
            dir,
            &format!(
                "ca -batch -config openssl.cnf -selfsign -keyfile ca.key -preserveDN \
                 -rand_serial -notext {} -extensions v3_ca -in ca.csr -out ca.pem -startdate",
                alg.ca_opts()
            ),
            &[&start, "-enddate", &ca_end],
        );
        Self { dir, alg, start }
    }

    /// Issues `<name>.pem` over a fresh `<name>.key` with subject
    /// `C=CN, O=<org>, serialNumber=<usci>, CN=<org> 投标专用` and the extensions of
    /// section `extensions`.
    fn issue(&self, name: &str, org: &str, usci: &str, extensions: &str) -> Issued {
        let dir = self.dir;
        openssl(dir, self.alg.genpkey(), &[&format!("{name}.key")]);
        let subject = format!(
            "/C=CN/O={}/serialNumber={}/CN={}",
            subj_value(org),
            subj_value(usci),
            subj_value(&format!("{org} 投标专用"))
        );
        openssl(
            dir,
            &format!(
                "req -new -config openssl.cnf -key {name}.key -utf8 {} -out {name}.csr -subj",
                self.alg.req_opts()
            ),
            &[&subject],
        );
        let end = (Utc::now() + Duration::days(730))
            .format("%Y%m%d%H%M%SZ")
            .to_string();
        openssl(
            dir,
            &format!(
                "ca -batch -config openssl.cnf -preserveDN -rand_serial -notext {} \
                 -extensions {extensions} -in {name}.csr -out {name}.pem -startdate",
                self.alg.ca_opts()
            ),
            &[&self.start, "-enddate", &end],
        );
        openssl(
            dir,
            &format!("pkcs8 -topk8 -nocrypt -in {name}.key -outform DER -out {name}.pk8"),
            &[],
        );
        Issued {
            cert_pem: String::from_utf8(read(dir, &format!("{name}.pem")))
                .unwrap_or_else(|e| panic!("{name}.pem is not UTF-8: {e}")),
            key_pkcs8_der: read(dir, &format!("{name}.pk8")),
        }
    }

    /// The CA's CRL, `crl.pem`, listing what it revoked so far.
    fn crl(&self) {
        openssl(
            self.dir,
            &format!(
                "ca -gencrl -config openssl.cnf {} -crldays 365 -out crl.pem",
                self.alg.ca_opts()
            ),
            &[],
        );
    }

    fn pki(&self, bidder: Issued) -> OpensslPki {
        OpensslPki {
            ca_pem_path: self.dir.join("ca.pem"),
            crl_pem_path: self.dir.join("crl.pem"),
            bidder_cert_pem: bidder.cert_pem,
            bidder_key_pkcs8_der: bidder.key_pkcs8_der,
        }
    }
}
