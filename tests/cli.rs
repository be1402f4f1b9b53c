//! The `tradehall` binary as an operator runs it: help, the dev PKI, a server that starts
//! on SQLite, answers, and shuts down cleanly on SIGTERM, finishing a request in flight.

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
        (vec!["pki", "issue", "--help"], "--organization"),
        (
            vec!["custodian", "keygen", "--help"],
            "TRADEHALL_KEYSTORE_PASSPHRASE",
        ),
        (vec!["custodian", "open", "--help"], "--platform-keys"),
        (vec!["custodian", "export-key", "--help"], "PKCS#8"),
        (vec!["log", "verify", "--help"], "--state"),
        (vec!["bench", "intake", "--help"], "--clients"),
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
    let (mut child, port) = start_server(dir.path(), &[], |p| get(p, "/healthz").is_some());
    let health = get(port, "/healthz").unwrap_or_default();
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"status\":\"ready\""));
    assert!(
        dir.path().join("tradehall.db").exists(),
        "the default database is SQLite in the data dir"
    );
    let trades = get(port, "/api/v1/trades").unwrap_or_default();
    assert!(trades.contains("\"trades\":[]"), "{trades}");
    let keys = get(port, "/api/v1/platform/keys").unwrap_or_default();
    assert!(keys.contains("\"algorithm\":\"Ed25519\""), "{keys}");
    use std::os::unix::fs::PermissionsExt as _;
    let key_file = dir.path().join("keys").join("platform-key.pk8");
    let mode = std::fs::metadata(&key_file)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0);
    assert_eq!(
        mode, 0o600,
        "the platform key is generated on first start, private"
    );

    // A request in flight when SIGTERM comes: its headers and half its body are sent,
    // the rest after the signal. The server finishes it, answers, and only then exits.
    use std::io::{Read as _, Write as _};
    let body = br#"{"certificate_pem":"not a certificate","nonce":"n","signature":"s"}"#;
    let mut in_flight =
        std::net::TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("{e}"));
    write!(
        in_flight,
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (first, rest) = body.split_at(body.len() / 2);
    in_flight.write_all(first).unwrap_or_else(|e| panic!("{e}"));
    std::thread::sleep(Duration::from_millis(300));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(killed.is_ok_and(|s| s.success()));
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        child.try_wait().ok().flatten().is_none(),
        "the server exited with a request in flight"
    );
    in_flight.write_all(rest).unwrap_or_else(|e| panic!("{e}"));
    in_flight
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = String::new();
    let _ = in_flight.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 4") && answer.contains("\"error\""),
        "the request in flight at SIGTERM was not answered: {answer:?}"
    );
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

    // Rotation keeps the old public key published.
    let rotated = tradehall()
        .args(["key", "rotate", "--key-dir"])
        .arg(dir.path().join("keys"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let (mut child, port) = start_server(dir.path(), &[], |p| get(p, "/healthz").is_some());
    let keys = get(port, "/api/v1/platform/keys").unwrap_or_default();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    assert_eq!(keys.matches("\"key_id\"").count(), 2, "{keys}");
}

/// Starts `tradehall serve` with `extra` arguments on a free port; waits until `probe`
/// answers.
fn start_server(
    dir: &std::path::Path,
    extra: &[&str],
    probe: impl Fn(u16) -> bool,
) -> (std::process::Child, u16) {
    let port = free_port();
    let mut child = tradehall()
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    while !probe(port) {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("server did not come up");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (child, port)
}

#[test]
fn the_server_speaks_https_when_given_a_certificate_and_key() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (cert, key) = (dir.path().join("tls.pem"), dir.path().join("tls.key"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap_or_else(|e| panic!("openssl: {e}"));
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let curl = |port: u16| {
        Command::new("curl")
            .args(["-sS", "--max-time", "5", "--cacert"])
            .arg(&cert)
            .arg(format!("https://127.0.0.1:{port}/healthz"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let (cert_arg, key_arg) = (cert.display().to_string(), key.display().to_string());
    let (mut child, port) = start_server(
        dir.path(),
        &["--tls-cert", &cert_arg, "--tls-key", &key_arg],
        |p| curl(p).is_some(),
    );
    let body = curl(port).unwrap_or_default();
    let plain = get(port, "/healthz");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(body.contains("\"status\":\"ready\""), "{body}");
    assert!(
        !plain.unwrap_or_default().starts_with("HTTP/1.1 200"),
        "plain HTTP must not be served on the TLS port"
    );
    assert!(status.success(), "{status}");

    // A TLS key the world can read stops the server at start, saying what to do.
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let mut child = tradehall()
        .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--tls-cert", &cert_arg, "--tls-key", &key_arg])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("a server with a world-readable TLS key started");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut said = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        use std::io::Read as _;
        let _ = stderr.read_to_string(&mut said);
    }
    assert!(!status.success());
    assert!(
        said.contains("TLS key") && said.contains("chmod 640"),
        "{said}"
    );
}

#[test]
fn a_receipt_verifies_offline_and_a_forged_one_does_not() {
    use tradehall::crypto::platform_key::PlatformKey;
    use tradehall::crypto::receipt::Receipt;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let key =
        PlatformKey::load_or_generate(&dir.path().join("keys")).unwrap_or_else(|e| panic!("{e}"));
    let envelope = dir.path().join("bid.sealed");
    std::fs::write(&envelope, b"THSEALED envelope bytes").unwrap_or_else(|e| panic!("{e}"));
    let hash = tradehall::crypto::digest::sha256_hex(b"THSEALED envelope bytes");
    let receipt = Receipt::issue(
        &key,
        "trade-1",
        &hash,
        "2026-11-28T01:00:00.000Z".into(),
        7,
        &[9; 32],
    );
    let keys = dir.path().join("keys.json");
    let published = serde_json::json!({ "keys": key.published() });
    std::fs::write(&keys, published.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let write_receipt = |r: &Receipt| {
        let path = dir.path().join("receipt.json");
        std::fs::write(&path, serde_json::to_vec(r).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
        path
    };
    let verify = |path: &std::path::Path| {
        tradehall()
            .args(["receipt", "verify"])
            .arg(path)
            .arg("--keys")
            .arg(&keys)
            .arg("--envelope")
            .arg(&envelope)
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let ok = verify(&write_receipt(&receipt));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("receipt OK"));

    let mut backdated = receipt.clone();
    backdated.received_at = "2026-11-27T01:00:00.000Z".into();
    let bad = verify(&write_receipt(&backdated));
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("signature"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );

    let mut other = receipt;
    other.envelope_sha256 = tradehall::crypto::digest::sha256_hex(b"another envelope");
    let bad = verify(&write_receipt(&other));
    assert!(
        !bad.status.success(),
        "a receipt for another envelope is refused"
    );
}

#[test]
fn a_prefecture_server_will_not_start_on_rules_looser_than_the_regions() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let region = dir.path().join("region.toml");
    std::fs::write(&region, tradehall::domain::rulebook::BUILTIN).unwrap_or_else(|e| panic!("{e}"));
    let local = dir.path().join("prefecture.toml");
    let looser = tradehall::domain::rulebook::BUILTIN.replacen(
        "min_days_to_deadline = { value = 20,",
        "min_days_to_deadline = { value = 10,",
        1,
    );
    std::fs::write(&local, looser).unwrap_or_else(|e| panic!("{e}"));
    let mut child = tradehall()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--rulebook")
        .arg(&local)
        .arg("--region-rulebook")
        .arg(&region)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            panic!("the server started on a looser rulebook");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read as _;
        let _ = e.read_to_string(&mut stderr);
    }
    assert!(!status.success());
    assert!(
        stderr.contains("looser than the region") && stderr.contains("min_days_to_deadline = 10"),
        "{stderr}"
    );
}
