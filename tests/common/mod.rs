//! Helpers of the tests that drive real `tradehall` server processes (`faults.rs`,
//! `cluster.rs`, `demo.rs`, `revocation.rs`); each uses a part of them.
#![allow(dead_code)]

pub mod private_pg;

use std::time::{Duration, Instant};

/// A loopback port free at the moment.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Waits (up to a minute) until the server at `server` answers `/healthz`.
pub async fn wait_up(server: &str) {
    let started = Instant::now();
    while !reqwest::get(format!("{server}/healthz"))
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server did not come up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `GET url` as JSON.
pub async fn get(url: String) -> serde_json::Value {
    reqwest::get(&url)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// Adds `faults` survived of `what` to `target/fault-injection.txt` (printed by `.ci/run`)
/// and to the test's output.
pub fn report_faults(what: &str, faults: usize) {
    use std::io::Write as _;
    let line = format!("{faults:>4} faults survived: {what}\n");
    eprint!("{line}");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fault-injection.txt");
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = file.write_all(line.as_bytes());
    }
}
