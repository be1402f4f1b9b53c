//! `tradehall receipt verify`: checks a bid receipt offline against the platform's
//! published keys (saved from `GET /api/v1/platform/keys`, or fetched once).

use anyhow::{bail, Context as _};
use std::path::Path;

use crate::crypto::platform_key::PublicKeyInfo;
use crate::crypto::receipt::Receipt;

/// Where the platform's public keys come from.
pub enum KeySource<'a> {
    /// A saved copy of `GET /api/v1/platform/keys`.
    File(&'a Path),
    /// Fetch them from the server.
    Server(&'a str),
}

#[derive(serde::Deserialize)]
struct Keys {
    keys: Vec<KeyJson>,
}

#[derive(serde::Deserialize)]
struct KeyJson {
    key_id: String,
    public_key: String,
}

/// The platform's keys from the JSON of `GET /api/v1/platform/keys`.
pub(crate) fn parse_keys(json: serde_json::Value) -> anyhow::Result<Vec<PublicKeyInfo>> {
    let keys: Keys = serde_json::from_value(json)
        .context("platform keys are not the JSON of /api/v1/platform/keys")?;
    Ok(keys
        .keys
        .into_iter()
        .map(|k| PublicKeyInfo {
            key_id: k.key_id,
            algorithm: "Ed25519",
            public_key: k.public_key,
        })
        .collect())
}

/// The platform's public keys from a saved file or from the server.
pub(crate) async fn load_keys(source: KeySource<'_>) -> anyhow::Result<Vec<PublicKeyInfo>> {
    match source {
        KeySource::File(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            parse_keys(serde_json::from_str(&text).context("platform keys are not JSON")?)
        }
        KeySource::Server(url) => {
            let url = format!("{}/api/v1/platform/keys", url.trim_end_matches('/'));
            parse_keys(reqwest::get(&url).await?.error_for_status()?.json().await?)
        }
    }
}

/// Verifies the receipt at `receipt_path`; with `envelope`, also that it is that envelope's.
pub async fn verify(
    receipt_path: &Path,
    keys: KeySource<'_>,
    envelope: Option<&Path>,
) -> anyhow::Result<Receipt> {
    let receipt: Receipt = serde_json::from_slice(
        &std::fs::read(receipt_path)
            .with_context(|| format!("reading {}", receipt_path.display()))?,
    )
    .context("the receipt is not receipt JSON")?;
    let keys = load_keys(keys).await?;
    receipt.verify(&keys)?;
    if let Some(path) = envelope {
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let (sha256, _) = crate::crypto::envelope::hash_reader(std::io::BufReader::new(file))?;
        receipt.matches_envelope(&sha256)?;
    }
    if receipt.trade.is_empty() {
        bail!("the receipt names no trade");
    }
    Ok(receipt)
}
