//! `tradehall replay --trade ID`: re-runs a live sale from the transparency log. It
//! verifies the whole log against the newest signed checkpoint (as `tradehall log verify`
//! does), collects the sale's entries on the way, replays them through the quoting
//! engine (`domain::replay`), and checks the result against the log and against what the
//! server shows. Any difference fails loudly, naming the entry.

use anyhow::{bail, Context as _};
use std::path::Path;

use super::witness::{verify_visiting, Verified};
use crate::domain::auction::SaleResult;
use crate::domain::replay::{read_entry, replay as run, Replayed};

/// Replays the sale `trade` from the log at `server`.
pub async fn replay(
    server: &str,
    trade: &str,
    keys: Option<&Path>,
) -> anyhow::Result<(Replayed, Verified)> {
    let server = server.trim_end_matches('/');
    let mut steps = Vec::new();
    let mut visit = |_: u64, bytes: &[u8]| -> anyhow::Result<()> {
        let entry: serde_json::Value =
            serde_json::from_slice(bytes).context("a log entry is not JSON")?;
        if entry["trade"].as_str() == Some(trade) {
            steps.extend(read_entry(&entry)?);
        }
        Ok(())
    };
    let verified = verify_visiting(server, None, keys, &[], &mut visit)
        .await
        .context("the log does not verify")?;
    if steps.is_empty() {
        bail!("the log has no quoting entries for trade {trade}");
    }
    let replayed = run(&steps).context("replay differs from the log")?;
    let sale: serde_json::Value = reqwest::get(format!("{server}/api/v1/trades/{trade}/sale"))
        .await?
        .error_for_status()?
        .json()
        .await?;
    let shown: Option<SaleResult> = serde_json::from_value(sale["result"].clone())
        .context("the server's result is not readable")?;
    if shown != replayed.result {
        bail!(
            "the server shows the result {shown:?}; the log replays to {:?}",
            replayed.result
        );
    }
    Ok((replayed, verified))
}
