//! `tradehall bid seal`: builds a sealed bid entirely on the bidder's machine. The price,
//! lots and files never leave it unencrypted; files of any size stream in constant memory.

use anyhow::{bail, Context as _};
use serde_json::Value;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};

pub use super::session::Credentials;
use super::session::{login, Session};
use crate::crypto::cert::parse_pem_certificates;
use crate::crypto::digest::random_bytes;
use crate::crypto::envelope::{
    self, Attachment, FileEntry, Manifest, Organization, SealRequest, SealedEnvelope,
};
use crate::crypto::signer::Signer;
use crate::domain::money::Money;

/// What the bidder asks to seal.
#[derive(Debug, Clone)]
pub struct SealOptions {
    pub server: String,
    pub trade: String,
    pub price: Money,
    /// Lot ids; empty means the trade's only lot.
    pub lots: Vec<String>,
    pub files: Vec<PathBuf>,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub out: PathBuf,
    /// The CAs the bidder recognises for the committee's certificates (PEM or DER
    /// files); empty: the roots the platform publishes (`client::committee`).
    pub trust_ca: Vec<PathBuf>,
}

/// A fingerprint of this machine (for collusion checks after the opening): SHA-256 of
/// /etc/machine-id, or of the host name where there is none.
pub fn machine_fingerprint() -> String {
    let source = std::fs::read("/etc/machine-id")
        .or_else(|_| std::fs::read("/etc/hostname"))
        .unwrap_or_default();
    format!("sha256:{}", crate::crypto::digest::sha256_hex(&source))
}

fn progress(total: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg:10} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Seals the bid to `options.out` (written to a temporary file, synced, then renamed).
pub async fn seal(options: &SealOptions) -> anyhow::Result<SealedEnvelope> {
    let (cert_pem, signer) = super::session::read_credentials(&options.cert, &options.key)?;
    let chain = parse_pem_certificates(&cert_pem)?;
    let session = Session::login(&options.server, &cert_pem, &signer).await?;
    let me = session.get("/api/v1/auth/me").await?;
    let trade = session
        .get(&format!("/api/v1/trades/{}", options.trade))
        .await
        .context("fetching the trade")?;
    // Every committee key checked here, not taken from the platform on trust.
    let (committee, threshold) =
        super::committee::checked_keys(&session, &options.server, &trade, &options.trust_ca)
            .await?;
    let trade_lots: Vec<String> = trade["lots"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["id"].as_str().map(str::to_owned))
        .collect();
    let lots = if options.lots.is_empty() {
        match trade_lots.as_slice() {
            // A live sale (or a reserve price) has no lots.
            [] => Vec::new(),
            [only] => vec![only.clone()],
            _ => bail!("the trade has lots {trade_lots:?}: say which with --lot"),
        }
    } else {
        if let Some(unknown) = options.lots.iter().find(|l| !trade_lots.contains(l)) {
            bail!("the trade has no lot {unknown:?} (lots: {trade_lots:?})");
        }
        options.lots.clone()
    };

    let total: u64 = options
        .files
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();
    let bar = progress(total * 2);
    bar.set_message("hashing");
    let mut entries = Vec::new();
    for path in &options.files {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let (sha256, size) = envelope::hash_reader(bar.wrap_read(BufReader::new(file)))?;
        let name = path
            .file_name()
            .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
        entries.push(FileEntry { name, sha256, size });
    }
    let mut attachments = Vec::new();
    for (entry, path) in entries.iter().zip(&options.files) {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        attachments.push(Attachment {
            entry: entry.clone(),
            content: Box::new(bar.wrap_read(BufReader::new(file))),
        });
    }
    bar.set_message("sealing");
    let manifest = Manifest {
        v: 1,
        trade: options.trade.clone(),
        lots,
        price: options.price.minor_units(),
        currency: "CNY".into(),
        organization: Organization {
            name: me["organization"].as_str().unwrap_or_default().to_owned(),
            usci: me["usci"].as_str().unwrap_or_default().to_owned(),
        },
        machine: machine_fingerprint(),
        files: entries,
    };
    let request = SealRequest {
        manifest,
        attachments,
        certificate_chain: chain,
        committee,
        threshold,
    };
    let tmp = temporary_path(&options.out);
    let result = write_envelope(&tmp, request, &signer);
    bar.finish_and_clear();
    let sealed = match result {
        Ok(sealed) => sealed,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    std::fs::rename(&tmp, &options.out)
        .with_context(|| format!("writing {}", options.out.display()))?;
    Ok(sealed)
}

fn temporary_path(out: &Path) -> PathBuf {
    let mut name = out
        .file_name()
        .map(std::ffi::OsStr::to_os_string)
        .unwrap_or_default();
    name.push(".partial");
    out.with_file_name(name)
}

fn write_envelope(
    path: &Path,
    request: SealRequest<'_>,
    signer: &Signer,
) -> anyhow::Result<SealedEnvelope> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::new(file);
    let content_key = zeroize::Zeroizing::new(random_bytes::<32>());
    let mut rng = hpke::rand_core::UnwrapErr(getrandom::SysRng);
    let sealed = envelope::seal(request, signer, &content_key, &mut rng, &mut out)?;
    out.flush()?;
    out.get_ref().sync_all()?;
    Ok(sealed)
}

/// Submits a sealed envelope (streamed) for the trade it names, checks the receipt
/// against the platform's published keys, and writes it to `receipt_path`.
pub async fn submit(
    credentials: &Credentials<'_>,
    envelope_path: &Path,
    receipt_path: &Path,
) -> anyhow::Result<crate::crypto::receipt::Receipt> {
    let file = File::open(envelope_path)
        .with_context(|| format!("opening {}", envelope_path.display()))?;
    let inspected =
        envelope::inspect(BufReader::new(file)).context("this is not a valid sealed envelope")?;
    let session = login(credentials).await?;
    let answer = session
        .put_file(
            &format!("/api/v1/trades/{}/bid", inspected.header.trade),
            envelope_path,
        )
        .await?;
    let receipt: crate::crypto::receipt::Receipt =
        serde_json::from_value(answer).context("the server's receipt is malformed")?;
    let keys = session.get("/api/v1/platform/keys").await?;
    let keys = super::receipt::parse_keys(keys)?;
    receipt
        .verify(&keys)
        .context("the server's receipt does not verify")?;
    receipt.matches_envelope(&hex::encode(inspected.commitment))?;
    std::fs::write(receipt_path, serde_json::to_vec_pretty(&receipt)?)
        .with_context(|| format!("writing {}", receipt_path.display()))?;
    Ok(receipt)
}

/// Withdraws the bidder's bid on `trade`.
pub async fn withdraw(credentials: &Credentials<'_>, trade: &str) -> anyhow::Result<()> {
    login(credentials)
        .await?
        .delete(&format!("/api/v1/trades/{trade}/bid"))
        .await
}

/// The receipt of the bidder's active bid on `trade`.
pub async fn status(credentials: &Credentials<'_>, trade: &str) -> anyhow::Result<Value> {
    login(credentials)
        .await?
        .get(&format!("/api/v1/trades/{trade}/bid"))
        .await
}
