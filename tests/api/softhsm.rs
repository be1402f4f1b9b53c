//! A SoftHSM2 token in a temporary directory, with keys imported into it: the PKCS#11
//! path of the CLI, as a UKey's driver would serve it. SoftHSM2 has no SM2, so its keys
//! are P-256.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;

/// Debian's SoftHSM2 module (package softhsm2, which ./test.sh installs).
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

pub struct SoftHsm {
    conf: PathBuf,
    label: String,
    pub pin: String,
}

fn run(conf: &Path, args: &[&str]) {
    let out = Command::new("softhsm2-util")
        .args(args)
        .env("SOFTHSM2_CONF", conf)
        .output()
        .unwrap_or_else(|e| panic!("cannot run softhsm2-util (./test.sh installs softhsm2): {e}"));
    assert!(
        out.status.success(),
        "softhsm2-util {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl SoftHsm {
    /// A fresh token labelled `label` with user PIN 246810, its store under `dir`.
    pub fn new(dir: &Path, label: &str) -> Self {
        let tokens = dir.join("softhsm-tokens");
        std::fs::create_dir_all(&tokens).unwrap_or_else(|e| panic!("{e}"));
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let pin = "246810".to_owned();
        run(
            &conf,
            &[
                "--init-token",
                "--free",
                "--label",
                label,
                "--pin",
                &pin,
                "--so-pin",
                "13579111",
            ],
        );
        Self {
            conf,
            label: label.to_owned(),
            pin,
        }
    }

    /// Puts a private key (PKCS#8 DER) on the token as `object`; the file is removed.
    pub fn import(&self, key_pkcs8_der: &[u8], object: &str, id: &str) {
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(key_pkcs8_der)
        );
        let file = self.conf.with_file_name(format!("{object}.pem"));
        std::fs::write(&file, pem).unwrap_or_else(|e| panic!("{e}"));
        let path = file.display().to_string();
        run(
            &self.conf,
            &[
                "--import",
                &path,
                "--token",
                &self.label,
                "--label",
                object,
                "--id",
                id,
                "--pin",
                &self.pin,
            ],
        );
        std::fs::remove_file(&file).unwrap_or_else(|e| panic!("{e}"));
    }

    /// The RFC 7512 URI of `object` on this token, without its PIN.
    pub fn uri(&self, object: &str) -> String {
        format!(
            "pkcs11:token={};object={object}?module-path={MODULE}",
            self.label
        )
    }

    /// What a process needs to use the token: SoftHSM2's configuration and `pin`.
    pub fn env(&self, pin: &str) -> Vec<(String, String)> {
        vec![
            ("SOFTHSM2_CONF".into(), self.conf.display().to_string()),
            ("TRADEHALL_PKCS11_PIN".into(), pin.to_owned()),
        ]
    }
}
