//! Every path flag works as given, relative to where the command runs or absolute: the
//! demo on a relative and on an absolute data directory, and `serve` with every path flag
//! relative. (The CLI verbs the API tests drive run with relative paths:
//! `tests/api/helpers.rs`, `run_cli`.)

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn tradehall() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tradehall"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// GET `path` on `port`, the body as JSON, or None when it does not answer 200.
fn get(port: u16, path: &str) -> Option<serde_json::Value> {
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
    let (head, body) = out.split_once("\r\n\r\n")?;
    if !head.starts_with("HTTP/1.1 200") {
        return None;
    }
    serde_json::from_str(body)
        .ok()
        .or(Some(serde_json::Value::String(body.to_owned())))
}

/// Kills the child when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `probe` gives something, or fails after `limit`.
fn wait_for<T>(
    what: &str,
    limit: Duration,
    child: &mut Running,
    probe: impl Fn() -> Option<T>,
) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = probe() {
            return found;
        }
        if let Ok(Some(status)) = child.0.try_wait() {
            panic!("the process exited ({status}) before {what}");
        }
        assert!(started.elapsed() < limit, "no {what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Starts `tradehall demo` in `cwd` on `data_dir` (as given), waits until its automatic
/// custodians have registered the tender's committee keys, and returns the tender.
fn demo_comes_up(cwd: &Path, data_dir: &Path, extra: &[&str]) -> serde_json::Value {
    let port = free_port();
    let mut demo = Running(
        tradehall()
            .current_dir(cwd)
            .args(["demo", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let limit = Duration::from_secs(60);
    let tender = wait_for("a published demo tender", limit, &mut demo, || {
        let trades = get(port, "/api/v1/trades")?;
        trades["trades"]
            .as_array()?
            .iter()
            .find(|t| t["kind"] == "construction_tender")
            .cloned()
    });
    let id = tender["id"].as_str().unwrap_or_default().to_owned();
    wait_for("the tender's committee keys", limit, &mut demo, || {
        get(port, &format!("/api/v1/trades/{id}")).filter(|t| t["committee_ready"] == true)
    })
}

#[test]
fn the_demo_runs_on_a_relative_data_directory_and_on_an_absolute_one() {
    // Relative: from the repository root, as the README's command runs it (the default
    // --web-dir is relative too).
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = root.join("target");
    std::fs::create_dir_all(&target).unwrap_or_else(|e| panic!("{e}"));
    let scratch = tempfile::tempdir_in(&target).unwrap_or_else(|e| panic!("{e}"));
    let relative: PathBuf = scratch
        .path()
        .strip_prefix(root)
        .unwrap_or_else(|e| panic!("{e}"))
        .join("demo-data");
    assert!(relative.is_relative());
    let tender = demo_comes_up(root, &relative, &[]);
    assert_eq!(tender["demo"], true, "{tender}");
    let pki = scratch.path().join("demo-data").join("pki");
    assert!(pki.join("identities.json").exists());
    assert!(
        pki.join("ca-a").join("ca.key").exists(),
        "the demo keeps its CA keys"
    );

    // Absolute, from somewhere else.
    let elsewhere = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let absolute = elsewhere.path().join("data");
    let web = root.join("web");
    let web = web.to_string_lossy();
    demo_comes_up(Path::new("/"), &absolute, &["--web-dir", &web]);
    assert!(absolute.join("pki").join("identities.json").exists());
}

#[test]
fn serve_takes_every_path_flag_relative_to_where_it_runs() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cwd = dir.path();
    let write = |name: &str, contents: &[u8]| {
        let path = cwd.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(path, contents).unwrap_or_else(|e| panic!("{e}"));
    };
    let made = tradehall()
        .current_dir(cwd)
        .args(["pki", "init", "pki"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    write(
        "rules/rulebook.toml",
        tradehall::domain::rulebook::BUILTIN
            .replacen("version = \"", "version = \"relative-", 1)
            .as_bytes(),
    );
    write(
        "rules/calendar.toml",
        &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("calendar/calendar.toml"))
            .unwrap_or_else(|e| panic!("{e}")),
    );
    write(
        "site/index.html",
        b"<!doctype html><title>relative web dir</title>",
    );
    write(
        "banks.toml",
        format!("[banks]\nTESTBANK = \"{}\"\n", "ab".repeat(32)).as_bytes(),
    );
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(
            cwd.join("banks.toml"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let port = free_port();
    let mut server = Running(
        tradehall()
            .current_dir(cwd)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--data-dir", "data", "--key-dir", "platform-keys"])
            .args(["--trust-ca", "pki/ca-a/ca.pem", "--crl", "pki/ca-a/crl.pem"])
            .args(["--trust-ca", "pki/ca-b/ca.pem", "--crl", "pki/ca-b/crl.pem"])
            .args(["--admin-cert", "pki/admin/cert.pem"])
            .args([
                "--rulebook",
                "rules/rulebook.toml",
                "--calendar",
                "rules/calendar.toml",
            ])
            .args([
                "--bank-secrets",
                "banks.toml",
                "--web-dir",
                "site",
                "--mode",
                "demo",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let limit = Duration::from_secs(30);
    let rulebook = wait_for("the rulebook", limit, &mut server, || {
        get(port, "/api/v1/rulebook")
    });
    assert!(
        rulebook.to_string().contains("relative-2026"),
        "the --rulebook file was read: {rulebook}"
    );
    let page = get(port, "/").unwrap_or_default();
    assert!(page.to_string().contains("relative web dir"), "{page}");
    assert!(cwd.join("data").join("tradehall.db").exists());
    assert!(cwd.join("platform-keys").join("platform-key.pk8").exists());

    // A new identity from the PKI's kept root key registers over the trust store read
    // from relative --trust-ca and --crl, and the admin named by a relative --admin-cert
    // grants its role.
    let registered = tradehall()
        .current_dir(cwd)
        .args([
            "pki",
            "issue",
            "pki",
            "--name",
            "supervisor-hotan",
            "--role",
            "supervisor",
        ])
        .args([
            "--organization",
            "和田地区发展和改革委员会",
            "--region",
            "653200",
        ])
        .args(["--server", &format!("http://127.0.0.1:{port}")])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        registered.status.success(),
        "{}",
        String::from_utf8_lossy(&registered.stderr)
    );
    let said = String::from_utf8_lossy(&registered.stdout);
    assert!(
        said.contains("granted supervisor") && said.contains("region 653200"),
        "{said}"
    );
    let manifest =
        std::fs::read_to_string(cwd.join("pki/identities.json")).unwrap_or_else(|e| panic!("{e}"));
    assert!(manifest.contains("supervisor-hotan"), "{manifest}");
}
