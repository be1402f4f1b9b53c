//! A PostgreSQL server of a test's own (initdb in a temporary directory, pg_ctl on a
//! port of its own), which the test may stop, crash and restart without touching the
//! machine's PostgreSQL or the other tests on it. Used by `cluster.rs` and by the API
//! tests (`tests/api/events.rs`).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Whether this process runs as root (`/proc/self` belongs to the effective user).
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A free loopback port below the ephemeral range (32768 and up on Linux), so that no
/// outgoing connection of the tests can take it while a server restarts on it.
pub fn port_outside_ephemeral_range() -> u16 {
    let start = 20_000 + (std::process::id() % 10_000) as u16;
    (start..32_000)
        .chain(20_000..start)
        .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .unwrap_or_else(|| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .unwrap_or_else(|e| panic!("{e}"))
        })
}

/// A PostgreSQL server of this test's own, which it may restart.
pub struct PrivatePg {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PrivatePg {
    /// `command` as the `postgres` user when running as root (PostgreSQL refuses root);
    /// whether it succeeded.
    pub fn try_run(&self, program: &str, args: &[&str]) -> bool {
        let program = self.bin.join(program);
        let status = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&program)
                .args(args)
                .stdout(Stdio::null())
                .status()
        } else {
            Command::new(&program)
                .args(args)
                .stdout(Stdio::null())
                .status()
        }
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
        status.success()
    }

    pub fn run(&self, program: &str, args: &[&str]) {
        assert!(
            self.try_run(program, args),
            "{} {args:?} failed\n{}",
            program,
            self.log_tail()
        );
    }

    pub fn start() -> Self {
        let versions = std::fs::read_dir("/usr/lib/postgresql").unwrap_or_else(|e| {
            panic!("PostgreSQL's binaries are needed in /usr/lib/postgresql: {e}")
        });
        let bin = versions
            .filter_map(|v| v.ok().map(|v| v.path().join("bin")))
            .filter(|b| b.join("initdb").exists())
            .max()
            .unwrap_or_else(|| panic!("no initdb under /usr/lib/postgresql"));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let data = dir.path().join("pgdata");
        std::fs::create_dir(&data).unwrap_or_else(|e| panic!("{e}"));
        if is_root() {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
                .unwrap_or_else(|e| panic!("{e}"));
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&data)
                .status()
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(status.success());
        }
        let pg = Self {
            bin,
            data,
            port: port_outside_ephemeral_range(),
            _dir: dir,
        };
        let data = pg.data.display().to_string();
        pg.run(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        pg.ctl(&["start"]);
        pg
    }

    pub fn ctl(&self, action: &[&str]) {
        assert!(
            self.try_ctl(action),
            "pg_ctl {action:?} failed\n{}",
            self.log_tail()
        );
    }

    pub fn try_ctl(&self, action: &[&str]) -> bool {
        let data = self.data.display().to_string();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on",
            self.port, data
        );
        let log = format!("{data}/server.log");
        let mut args = vec!["-D", &data, "-w", "-t", "120", "-l", &log, "-o", &options];
        args.extend_from_slice(action);
        self.try_run("pg_ctl", &args)
    }

    /// A crash (no shutdown checkpoint) and a start with crash recovery. The start is
    /// tried again on a loaded machine, and it must end with the server accepting
    /// connections on its port.
    pub fn crash_and_restart(&self) {
        self.stop("immediate");
        self.start_again();
    }

    /// Stops the server: `mode` is pg_ctl's (`fast`, an administrator's restart, ends
    /// every session; `immediate`, a crash).
    pub fn stop(&self, mode: &str) {
        let data = self.data.display().to_string();
        self.run("pg_ctl", &["-D", &data, "-m", mode, "-w", "stop"]);
    }

    /// Starts the stopped server again, until it accepts connections on its port.
    pub fn start_again(&self) {
        let data = self.data.display().to_string();
        for attempt in 1..=3 {
            if self.try_ctl(&["start"]) && self.accepts_connections() {
                return;
            }
            eprintln!(
                "PostgreSQL start {attempt} of 3 failed; its log:\n{}",
                self.log_tail()
            );
            let _ = self.try_run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
            std::thread::sleep(Duration::from_secs(1));
        }
        panic!(
            "PostgreSQL did not come back after its stop\n{}",
            self.log_tail()
        );
    }

    /// Whether the server answers on its TCP port (within 30 seconds).
    pub fn accepts_connections(&self) -> bool {
        let port = self.port.to_string();
        self.try_run(
            "pg_isready",
            &["-h", "127.0.0.1", "-p", &port, "-t", "30", "-q"],
        )
    }

    /// The last lines of the server's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.data.join("server.log")).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        format!(
            "--- PostgreSQL server.log:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let data = self.data.display().to_string();
        let _ = std::panic::catch_unwind(|| {
            self.run("pg_ctl", &["-D", &data, "-m", "immediate", "stop"]);
        });
    }
}
