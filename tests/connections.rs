//! The connections of a real `tradehall serve` process, over plain HTTP and over HTTPS:
//! one address holds at most its cap of connections, and a connection that makes no
//! request within the header timeout is closed, whatever it sent (nothing, or only the
//! HTTP/2 preface), so idle connections cannot lock an address (a whole NAT) out.

mod common;

use std::net::Ipv4Addr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::Utc;
use common::free_port;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tradehall::crypto::pki::{DevCa, IdentitySpec, KeyUsageProfile};

const CAP: usize = 4;

struct Server {
    child: Child,
    port: u16,
    https: bool,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server with a cap of [`CAP`] connections per address and a one-second header
/// timeout, over HTTPS with a DEV ONLY certificate when `https`.
async fn start(https: bool) -> Server {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_tradehall"));
    command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--connections-per-address", &CAP.to_string()])
        .args(["--header-seconds", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if https {
        let now = Utc::now();
        let ca = DevCa::new(
            "tls",
            now - chrono::Duration::days(1),
            now + chrono::Duration::days(30),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let issued = ca
            .issue(&IdentitySpec {
                common_name: "localhost".into(),
                organization: "tradehall DEV ONLY".into(),
                usci: None,
                not_before: now - chrono::Duration::days(1),
                not_after: now + chrono::Duration::days(30),
                key_usage: KeyUsageProfile::ServerOnly,
            })
            .unwrap_or_else(|e| panic!("{e}"));
        let (cert, key) = (dir.path().join("tls.pem"), dir.path().join("tls.key"));
        std::fs::write(&cert, &issued.cert_pem).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&key, &issued.key_pem).unwrap_or_else(|e| panic!("{e}"));
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
            .unwrap_or_else(|e| panic!("{e}"));
        command
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key);
    }
    let server = Server {
        child: command.spawn().unwrap_or_else(|e| panic!("{e}")),
        port,
        https,
        _dir: dir,
    };
    for _ in 0..300 {
        if healthy(&server, Ipv4Addr::LOCALHOST).await {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not come up");
}

/// Whether `/healthz` answers a client at `from`.
async fn healthy(server: &Server, from: Ipv4Addr) -> bool {
    let scheme = if server.https { "https" } else { "http" };
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::V4(from))
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
        .get(format!("{scheme}://127.0.0.1:{}/healthz", server.port))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// A TCP connection from `from` that sends nothing yet.
async fn connect(server: &Server, from: Ipv4Addr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap_or_else(|e| panic!("{e}"));
    socket
        .bind((from, 0).into())
        .unwrap_or_else(|e| panic!("{e}"));
    socket
        .connect((Ipv4Addr::LOCALHOST, server.port).into())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Whether the server closes `stream` within `within` (end of file or a reset, after
/// whatever it had to say).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

async fn idle_connections_are_capped_and_closed(https: bool) {
    let server = start(https).await;
    let from = Ipv4Addr::new(127, 0, 0, 7);
    let mut idle = Vec::new();
    for _ in 0..CAP {
        idle.push(connect(&server, from).await);
    }
    // The address holds its cap: one more is closed at once.
    let mut extra = connect(&server, from).await;
    assert!(
        closed_within(&mut extra, Duration::from_millis(500)).await,
        "a connection over the cap of its address stayed open"
    );
    assert!(
        healthy(&server, Ipv4Addr::new(127, 0, 0, 8)).await,
        "other addresses go on"
    );
    // None of them made a request: each is closed after the header timeout, and the
    // address is served again.
    for stream in &mut idle {
        assert!(
            closed_within(stream, Duration::from_secs(5)).await,
            "a connection that never made a request was kept open"
        );
    }
    assert!(healthy(&server, from).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_make_no_request_are_closed_and_capped_per_address_over_http() {
    idle_connections_are_capped_and_closed(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_make_no_request_are_closed_and_capped_per_address_over_https() {
    idle_connections_are_capped_and_closed(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_only_the_http2_preface_is_closed() {
    let server = start(false).await;
    let mut stream = connect(&server, Ipv4Addr::new(127, 0, 0, 9)).await;
    // The HTTP/2 client preface and an empty SETTINGS frame (RFC 9113 §3.4), then nothing.
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        closed_within(&mut stream, Duration::from_secs(5)).await,
        "an HTTP/2 connection with no request was kept open"
    );
}
