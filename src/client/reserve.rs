//! `tradehall reserve`: the trading centre seals a live sale's reserve price (底价) on
//! its own machine, exactly like a bid (docs/protocol.md), to the trade's opening
//! committee, and hands the envelope to the server. The price never leaves the machine
//! in the clear; the committee opens it when quoting ends.

use anyhow::Context as _;
use serde_json::Value;
use std::path::PathBuf;

use super::bid::{seal, SealOptions};
use super::session::{login, Credentials};
use crate::domain::money::Money;

/// Seals `price` for `trade` with the officer's certificate and key and submits it;
/// returns the server's answer (the envelope's SHA-256 and the log entry).
pub async fn seal_and_submit(
    credentials: &Credentials<'_>,
    trade: &str,
    price: Money,
) -> anyhow::Result<Value> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let out = dir.path().join("reserve.sealed");
    seal(&SealOptions {
        server: credentials.server.to_owned(),
        trade: trade.to_owned(),
        price,
        lots: Vec::new(),
        files: Vec::<PathBuf>::new(),
        cert: credentials.cert.to_path_buf(),
        key: credentials.key.to_path_buf(),
        out: out.clone(),
        // The centre checks the committee against the roots the platform publishes.
        trust_ca: Vec::new(),
    })
    .await
    .context("sealing the reserve price")?;
    login(credentials)
        .await?
        .put_file(&format!("/api/v1/trades/{trade}/reserve"), &out)
        .await
}
