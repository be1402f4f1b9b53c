//! `tradehall bench large-file`: one bid with a large attachment (1 GiB by default) sealed
//! by `tradehall bid seal` and submitted by `tradehall bid submit`, each a separate
//! process whose peak memory is measured, to the server in this process.

use anyhow::{bail, Context as _};
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{peak_rss_mib, World};

#[derive(Debug, Clone, clap::Args)]
pub struct LargeOptions {
    /// Size of the attached file, MiB.
    #[arg(long, default_value_t = 1024)]
    pub mib: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct LargeReport {
    pub file_mib: u64,
    pub seal_seconds: f64,
    pub seal_mib_per_second: f64,
    pub seal_peak_rss_mib: f64,
    pub submit_seconds: f64,
    pub submit_mib_per_second: f64,
    pub submit_peak_rss_mib: f64,
    /// This process: the server and the bench's own setup.
    pub server_peak_rss_mib: f64,
}

/// Runs the `tradehall` binary with `args`, sampling its peak RSS until it exits.
fn measured(args: &[std::ffi::OsString]) -> anyhow::Result<(f64, f64)> {
    let started = Instant::now();
    let mut child = Command::new(std::env::current_exe()?)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut peak = 0.0f64;
    loop {
        if let Some(rss) = peak_rss_mib(child.id()) {
            peak = peak.max(rss);
        }
        if let Some(status) = child.try_wait()? {
            if !status.success() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    use std::io::Read as _;
                    let _ = e.read_to_string(&mut err);
                }
                bail!("tradehall {args:?} failed: {err}");
            }
            return Ok((started.elapsed().as_secs_f64(), peak));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub async fn run(options: &LargeOptions) -> anyhow::Result<LargeReport> {
    let bytes = options.mib * 1024 * 1024;
    let world = World::new(bytes + 64 * 1024 * 1024).await?;
    let bidder = world.bidders(1).await?.remove(0);
    let cert = world.path("bidder.pem");
    let key = world.path("bidder.key");
    super::write(&cert, bidder.issued.cert_pem.as_bytes())?;
    super::write(&key, &bidder.issued.key_pkcs8_der)?;
    let file = world.path("large.bin");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file)?);
        let block: Vec<u8> = (0..1024 * 1024).map(|i| (i * 131 % 255) as u8).collect();
        for _ in 0..options.mib {
            out.write_all(&block)?;
        }
        out.flush()?;
    }
    let sealed = world.path("large.sealed");
    let (server, trade) = (world.base.clone(), world.trade.clone());
    let os = |s: &str| std::ffi::OsString::from(s);
    let seal_args = [
        os("bid"),
        os("seal"),
        os("--trade"),
        os(&trade),
        os("--price"),
        os("98765432.10"),
        os("--lot"),
        os("1"),
        os("--file"),
        file.clone().into_os_string(),
        os("--cert"),
        cert.clone().into_os_string(),
        os("--key"),
        key.clone().into_os_string(),
        os("--server"),
        os(&server),
        os("--out"),
        sealed.clone().into_os_string(),
    ];
    let submit_args = [
        os("bid"),
        os("submit"),
        sealed.clone().into_os_string(),
        os("--cert"),
        cert.into_os_string(),
        os("--key"),
        key.into_os_string(),
        os("--server"),
        os(&server),
    ];
    let (seal_seconds, seal_peak) = tokio::task::spawn_blocking(move || measured(&seal_args))
        .await?
        .context("sealing the large bid")?;
    std::fs::remove_file(&file)?;
    let (submit_seconds, submit_peak) = tokio::task::spawn_blocking(move || measured(&submit_args))
        .await?
        .context("submitting the large bid")?;
    let mib = options.mib as f64;
    Ok(LargeReport {
        file_mib: options.mib,
        seal_seconds,
        seal_mib_per_second: mib / seal_seconds,
        seal_peak_rss_mib: seal_peak,
        submit_seconds,
        submit_mib_per_second: mib / submit_seconds,
        submit_peak_rss_mib: submit_peak,
        server_peak_rss_mib: peak_rss_mib(std::process::id()).unwrap_or(0.0),
    })
}
