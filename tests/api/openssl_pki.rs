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
    /// The bidder's EC P-256 private key as unencrypted PKCS#8 DER.
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

/// Creates, in `dir`: an EC P-256 root CA, a bidder certificate with subject
/// `C=CN, O=<org>, serialNumber=<usci>, CN=<org> 投标专用` issued by it with `openssl ca`,
/// and the CA's CRL made with `openssl ca -gencrl`.
pub fn make_openssl_pki(dir: &Path, org: &str, usci: &str) -> OpensslPki {
    std::fs::create_dir_all(dir.join("newcerts")).unwrap_or_else(|e| panic!("newcerts: {e}"));
    write(dir, "openssl.cnf", OPENSSL_CNF);
    write(dir, "index.txt", "");
    // A crlnumber file makes `openssl ca -gencrl` emit a v2 CRL with a CRL number, which
    // webpki requires.
    write(dir, "crlnumber", "1000\n");

    // Valid from a day before the earlier of the wall clock and the tests' manual clock
    // (which starts at a fixed date), so neither sees a certificate from the future.
    let from = Utc::now().min(crate::helpers::start_time()) - Duration::days(1);
    let start = from.format("%Y%m%d%H%M%SZ").to_string();
    let ec_key = "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out";
    openssl(dir, ec_key, &["ca.key"]);
    openssl(
        dir,
        "req -new -config openssl.cnf -key ca.key -utf8 -out ca.csr -subj",
        &["/C=CN/O=OpenSSL Test CA (DEV ONLY)/CN=OpenSSL Test Root CA DEV ONLY"],
    );
    // `openssl req -x509` starts its certificate now; `openssl ca -selfsign` takes a start.
    let ca_end = (Utc::now() + Duration::days(3650))
        .format("%Y%m%d%H%M%SZ")
        .to_string();
    openssl(
        dir,
        "ca -batch -config openssl.cnf -selfsign -keyfile ca.key -preserveDN -rand_serial \
         -notext -md sha256 -extensions v3_ca -in ca.csr -out ca.pem -startdate",
        &[&start, "-enddate", &ca_end],
    );

    openssl(dir, ec_key, &["bidder.key"]);
    let subject = format!(
        "/C=CN/O={}/serialNumber={}/CN={}",
        subj_value(org),
        subj_value(usci),
        subj_value(&format!("{org} 投标专用"))
    );
    openssl(
        dir,
        "req -new -config openssl.cnf -key bidder.key -utf8 -out bidder.csr -subj",
        &[&subject],
    );
    let end = (Utc::now() + Duration::days(730))
        .format("%Y%m%d%H%M%SZ")
        .to_string();
    openssl(
        dir,
        "ca -batch -config openssl.cnf -preserveDN -rand_serial -notext -md sha256 \
         -extensions v3_bidder -in bidder.csr -out bidder.pem -startdate",
        &[&start, "-enddate", &end],
    );
    openssl(
        dir,
        "ca -gencrl -config openssl.cnf -md sha256 -crldays 365 -out crl.pem",
        &[],
    );
    openssl(
        dir,
        "pkcs8 -topk8 -nocrypt -in bidder.key -outform DER -out bidder.pk8",
        &[],
    );

    OpensslPki {
        ca_pem_path: dir.join("ca.pem"),
        crl_pem_path: dir.join("crl.pem"),
        bidder_cert_pem: String::from_utf8(read(dir, "bidder.pem"))
            .unwrap_or_else(|e| panic!("bidder.pem is not UTF-8: {e}")),
        bidder_key_pkcs8_der: read(dir, "bidder.pk8"),
    }
}
