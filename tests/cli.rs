//! The `tradehall` binary as an operator runs it: help, the dev PKI, a server that starts
//! on SQLite, answers, and shuts down cleanly on SIGTERM.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn tradehall() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tradehall"))
}

#[test]
fn every_subcommand_explains_itself() {
    for (args, expected) in [
        (vec!["--help"], "serve"),
        (vec!["serve", "--help"], "--trust-ca"),
        (vec!["serve", "--help"], "TRADEHALL_DATABASE_URL"),
        (vec!["demo", "--help"], "--data-dir"),
        (vec!["pki", "--help"], "init"),
        (vec!["pki", "init", "--help"], "DEV ONLY"),
    ] {
        let out = tradehall()
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}");
        assert!(
            text.contains(expected),
            "{args:?} does not mention {expected}:\n{text}"
        );
    }
}

#[test]
fn pki_init_writes_a_dev_pki_and_will_not_overwrite_it_by_accident() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let pki = dir.path().join("pki");
    let out = tradehall()
        .args(["pki", "init"])
        .arg(&pki)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("DEV ONLY"));
    assert!(pki.join("identities.json").exists());
    let again = tradehall()
        .args(["pki", "init"])
        .arg(&pki)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !again.status.success(),
        "a second init must not silently replace keys"
    );
    let forced = tradehall()
        .args(["pki", "init", "--force"])
        .arg(&pki)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(forced.status.success());
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[test]
fn the_server_starts_on_sqlite_answers_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let port = free_port();
    let mut child = tradehall()
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let health = loop {
        if let Some(reply) = get(port, "/healthz") {
            break reply;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not come up"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"status\":\"ready\""));
    assert!(
        dir.path().join("tradehall.db").exists(),
        "the default database is SQLite in the data dir"
    );
    let trades = get(port, "/api/v1/trades").unwrap_or_default();
    assert!(trades.contains("\"trades\":[]"), "{trades}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(killed.is_ok_and(|s| s.success()));
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("server did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}
