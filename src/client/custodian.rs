//! `tradehall custodian …`: what an opening custodian runs on their own machine.

use anyhow::{bail, Context as _};
use base64::Engine as _;
use serde_json::json;
use std::path::Path;

use super::keystore;
use super::session::Session;
use crate::crypto::signer::Signer;
use crate::crypto::threshold::custodian_key_message;

/// Environment variable that may carry the key store passphrase (for scripted use).
pub const PASSPHRASE_ENV: &str = "TRADEHALL_KEYSTORE_PASSPHRASE";

/// The key store passphrase: from the environment, or asked twice on the terminal.
pub fn passphrase(confirm: bool) -> anyhow::Result<String> {
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        return Ok(p);
    }
    let first = rpassword::prompt_password("Key store passphrase: ")?;
    if confirm && rpassword::prompt_password("Repeat the passphrase: ")? != first {
        bail!("the passphrases differ");
    }
    Ok(first)
}

/// Generates this custodian's key for `trade`, keeps the private key in `keystore_path`
/// and registers the signed public key with the server. Returns the key id.
pub async fn keygen(
    server: &str,
    trade: &str,
    cert_path: &Path,
    key_path: &Path,
    keystore_path: &Path,
    passphrase: &str,
) -> anyhow::Result<String> {
    let cert_pem = std::fs::read_to_string(cert_path)
        .with_context(|| format!("reading {}", cert_path.display()))?;
    let signer = Signer::from_pkcs8(
        &std::fs::read(key_path).with_context(|| format!("reading {}", key_path.display()))?,
    )?;
    let session = Session::login(server, &cert_pem, &signer).await?;
    session
        .get(&format!("/api/v1/trades/{trade}"))
        .await
        .context("fetching the trade")?;
    let public = keystore::create(keystore_path, trade, passphrase)?;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let body = json!({
        "public_key": b64(public.as_bytes()),
        "signature": b64(&signer.sign(&custodian_key_message(trade, &public))),
    });
    if let Err(e) = session
        .put(&format!("/api/v1/trades/{trade}/custodian-key"), &body)
        .await
    {
        // An unregistered key is useless; remove it so the command can simply be re-run.
        let _ = std::fs::remove_file(keystore_path);
        return Err(e.context("registering the key"));
    }
    Ok(public.key_id())
}
