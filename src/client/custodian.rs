//! `tradehall custodian …`: what an opening custodian runs on their own machine.

use anyhow::{bail, Context as _};
use base64::Engine as _;
use serde_json::{json, Value};
use std::path::Path;

use super::keystore;
use super::receipt::{load_keys, KeySource};
use super::session::{read_credentials, Session};
use crate::crypto::digest::sha256_hex;
use crate::crypto::opening::{
    contribution_signature_message, opening_key_message, seal_contribution, ContributedShare,
    ContributionBinding,
};
use crate::crypto::platform_key::{self, PublicKeyInfo};
use crate::crypto::signer::Signer;
use crate::crypto::threshold::{
    custodian_key_message, open_share, CustodianPublicKey, CustodianSecretKey, SealedShare,
    ShareBinding,
};
use crate::domain::opening::{Contribution, ShareBundle};
use crate::domain::suite::Suite;

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
    let (cert_pem, signer) = read_credentials(cert_path, key_path)?;
    let session = Session::login(server, &cert_pem, &signer).await?;
    let view = session
        .get(&format!("/api/v1/trades/{trade}"))
        .await
        .context("fetching the trade")?;
    // The trade's committee says the suite, and so the kind of key to make.
    let suite: Suite =
        serde_json::from_value(view["committee"]["suite"].clone()).unwrap_or_default();
    let public = keystore::create(keystore_path, trade, passphrase, suite)?;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let body = json!({
        "public_key": b64(public.as_bytes()),
        "signature": b64(&signer.sign(&custodian_key_message(trade, &public))?),
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

fn unb64(what: &str, value: &str) -> anyhow::Result<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(value)
        .with_context(|| format!("{what} is not base64"))
}

/// The custodian's work at the opening, on its own machine: checks that the opening key
/// is signed by the platform, opens every share sealed to `secret`, and seals them all to
/// the opening key, signed with the custodian's certificate key. Shares that do not open
/// are reported as such (the bidder sealed something else to this custodian).
pub fn build_contribution(
    bundle: &ShareBundle,
    secret: &CustodianSecretKey,
    public: &CustodianPublicKey,
    signer: &Signer,
    platform_keys: &[PublicKeyInfo],
) -> anyhow::Result<(Contribution, usize)> {
    use rayon::prelude::*;
    if public.key_id() != bundle.custodian_key {
        bail!(
            "the server asks for key {} but this key store holds {}",
            bundle.custodian_key,
            public.key_id()
        );
    }
    let opening_key = CustodianPublicKey::from_bytes_for(
        Suite::Hpke,
        &unb64("opening key", &bundle.opening_key.public_key)?,
    )?;
    let platform = platform_keys
        .iter()
        .find(|k| k.key_id == bundle.opening_key.platform_key_id)
        .ok_or_else(|| anyhow::anyhow!("the opening key is signed by an unknown platform key"))?;
    if opening_key.key_id() != bundle.opening_key.key_id
        || !platform_key::verify(
            platform,
            &opening_key_message(&bundle.trade, &opening_key),
            &unb64("opening key signature", &bundle.opening_key.signature)?,
        )
    {
        bail!("the opening key is not signed by the platform: refusing to contribute");
    }
    let shares: Vec<ContributedShare> = bundle
        .shares
        .par_iter()
        .map(|s| {
            let sealed = (|| {
                let enc = match &s.enc {
                    Some(enc) => Some(unb64("enc", enc).ok()?.try_into().ok()?),
                    None => None,
                };
                Some(SealedShare {
                    enc,
                    ciphertext: unb64("ct", &s.ct).ok()?,
                })
            })();
            let binding = ShareBinding {
                trade_id: &bundle.trade,
                custodian_key_id: &bundle.custodian_key,
                bidder_cert_fingerprint: &s.bidder_certificate,
            };
            ContributedShare {
                bid: s.bid.clone(),
                share: sealed.and_then(|sealed| open_share(secret, &binding, &sealed).ok()),
            }
        })
        .collect();
    let opened = shares.iter().filter(|s| s.share.is_some()).count();
    let binding = ContributionBinding {
        trade_id: &bundle.trade,
        custodian_key_id: &bundle.custodian_key,
        opening_key_id: &bundle.opening_key.key_id,
    };
    let mut rng = hpke::rand_core::UnwrapErr(getrandom::SysRng);
    let sealed = seal_contribution(&opening_key, &binding, &shares, &mut rng)?;
    let signature = signer.sign(&contribution_signature_message(
        &bundle.trade,
        &bundle.opening_key.key_id,
        &sha256_hex(&sealed.ciphertext),
    ))?;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    Ok((
        Contribution {
            opening_key: bundle.opening_key.key_id.clone(),
            enc: b64(&sealed.enc.unwrap_or_default()),
            ct: b64(&sealed.ciphertext),
            signature: b64(&signature),
        },
        opened,
    ))
}

/// What `custodian open` did.
#[derive(Debug)]
pub struct OpenOutcome {
    pub shares: usize,
    pub opened: usize,
    /// The server's answer: contributions so far, and the record if this completed it.
    pub answer: Value,
}

/// `tradehall custodian open`: fetches this custodian's sealed shares once the opening
/// window is open, opens them with the key store and contributes them sealed to the
/// server's one-time opening key.
pub async fn open(
    server: &str,
    trade: &str,
    cert_path: &Path,
    key_path: &Path,
    keystore_path: &Path,
    passphrase: &str,
    platform_keys: Option<&Path>,
) -> anyhow::Result<OpenOutcome> {
    let (cert_pem, signer) = read_credentials(cert_path, key_path)?;
    let (store_trade, secret, public) = keystore::open(keystore_path, passphrase)?;
    if store_trade != trade {
        bail!(
            "{} holds the key of trade {store_trade}",
            keystore_path.display()
        );
    }
    let keys = load_keys(match platform_keys {
        Some(path) => KeySource::File(path),
        None => KeySource::Server(server),
    })
    .await?;
    let session = Session::login(server, &cert_pem, &signer).await?;
    contribute(&session, trade, secret, public, signer, keys).await
}

/// The custodian's whole turn at the opening, over a signed-in session: fetch the sealed
/// shares, open and re-seal them ([`build_contribution`], off the async threads), and
/// contribute them.
pub async fn contribute(
    session: &Session,
    trade: &str,
    secret: CustodianSecretKey,
    public: CustodianPublicKey,
    signer: Signer,
    platform_keys: Vec<PublicKeyInfo>,
) -> anyhow::Result<OpenOutcome> {
    let bundle: ShareBundle = serde_json::from_value(
        session
            .get(&format!("/api/v1/trades/{trade}/opening/shares"))
            .await
            .context("fetching the sealed shares")?,
    )
    .context("the server's share bundle is not valid")?;
    let shares = bundle.shares.len();
    let (contribution, opened) = tokio::task::spawn_blocking(move || {
        build_contribution(&bundle, &secret, &public, &signer, &platform_keys)
    })
    .await??;
    let answer = session
        .post(
            &format!("/api/v1/trades/{trade}/opening/contributions"),
            &serde_json::to_value(&contribution)?,
        )
        .await
        .context("contributing the shares")?;
    Ok(OpenOutcome {
        shares,
        opened,
        answer,
    })
}
