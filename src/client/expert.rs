//! `tradehall expert`: an expert of a trade's committee signs its score sheet and the
//! evaluation report on its own machine (docs/protocol.md "Evaluation") and hands them to
//! the server. The key never leaves the machine.

use anyhow::Context as _;
use base64::Engine as _;
use serde_json::{json, Value};

use super::session::{read_credentials, Credentials, Session};
use crate::crypto::evaluation::{report_message, sheet_message};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Signs the sheet in `sheet_path` (JSON: `{"v": 1, "trade", "bids": […]}`) and submits
/// it; returns the server's acknowledgement.
pub async fn submit_sheet(
    credentials: &Credentials<'_>,
    trade: &str,
    sheet_path: &std::path::Path,
) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(sheet_path)
        .with_context(|| format!("reading {}", sheet_path.display()))?;
    let sheet: Value = serde_json::from_str(&text).context("the sheet is not JSON")?;
    if sheet["trade"] != trade {
        anyhow::bail!("the sheet names trade {}, not {trade}", sheet["trade"]);
    }
    let (cert_pem, signer) = read_credentials(credentials.cert, credentials.key)?;
    let bytes = serde_json_canonicalizer::to_vec(&sheet)?;
    let signature = signer.sign(&sheet_message(&bytes))?;
    let session = Session::login(credentials.server, &cert_pem, &signer).await?;
    session
        .post(
            &format!("/api/v1/trades/{trade}/evaluation/sheets"),
            &json!({ "sheet": sheet, "signature": b64(&signature) }),
        )
        .await
}

/// Fetches the report, prints nothing, signs its SHA-256 with `dissent` (empty when the
/// expert agrees) and submits the signature; returns the server's acknowledgement.
pub async fn sign_report(
    credentials: &Credentials<'_>,
    trade: &str,
    expected_sha256: &str,
    dissent: Option<&str>,
) -> anyhow::Result<Value> {
    let (cert_pem, signer) = read_credentials(credentials.cert, credentials.key)?;
    let session = Session::login(credentials.server, &cert_pem, &signer).await?;
    let view = session
        .get(&format!("/api/v1/trades/{trade}/evaluation/report"))
        .await?;
    let sha256 = view["sha256"].as_str().unwrap_or_default();
    if sha256 != expected_sha256 {
        anyhow::bail!(
            "the report on the server has SHA-256 {sha256}, not the {expected_sha256} you read"
        );
    }
    let dissent = dissent.map(str::trim).unwrap_or_default();
    let signature = signer.sign(&report_message(trade, sha256, dissent))?;
    session
        .post(
            &format!("/api/v1/trades/{trade}/evaluation/report/signatures"),
            &json!({ "report_sha256": sha256, "signature": b64(&signature), "dissent": dissent }),
        )
        .await
}

/// The report and its SHA-256, for the expert to read before signing.
pub async fn report(credentials: &Credentials<'_>, trade: &str) -> anyhow::Result<Value> {
    let (cert_pem, signer) = read_credentials(credentials.cert, credentials.key)?;
    let session = Session::login(credentials.server, &cert_pem, &signer).await?;
    session
        .get(&format!("/api/v1/trades/{trade}/evaluation/report"))
        .await
}
