//! What the `tradehall` CLI runs on a user's own machine, never touching the server's
//! store or engine: the DEV ONLY PKI tooling, the custodian's key store and key
//! registration, and an HTTP session. Bidder sealing and submission join here.

pub mod archive;
pub mod bid;
pub mod custodian;
pub mod draw;
pub mod expert;
pub mod keystore;
pub mod quote;
pub mod receipt;
pub mod replay;
pub mod reserve;
pub mod session;
pub mod witness;

use std::fmt::Write as _;
use std::path::Path;

/// `tradehall pki init DIR`: writes the DEV ONLY PKI and describes what it wrote.
pub fn pki_init(dir: &Path, force: bool) -> anyhow::Result<String> {
    let layout = crate::crypto::pki::init_dev_pki(dir, chrono::Utc::now(), force)?;
    let mut out = format!(
        "DEV ONLY PKI written to {} — never trust it in production\n",
        dir.display()
    );
    for (name, ca, crl) in &layout.cas {
        let _ = writeln!(out, "  CA {name}: {} (CRL {})", ca.display(), crl.display());
    }
    for i in &layout.identities {
        let _ = writeln!(
            out,
            "  {:<12} {:<15} {} {}",
            i.name, i.role, i.usci, i.organization
        );
    }
    Ok(out)
}
