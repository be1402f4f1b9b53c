//! The platform's own signing key (Ed25519): it signs receipts, checkpoints and opening
//! records. It lives in a file with mode 0600, is generated on first start, and every
//! signed object names its key id, so after a rotation old signatures still verify
//! against the retired public keys the platform keeps publishing.

use ring::signature::{Ed25519KeyPair, KeyPair as _, UnparsedPublicKey, ED25519};
use serde::Serialize;
use std::path::{Path, PathBuf};

use super::digest::sha256_hex;

/// Why the platform key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PlatformKeyError {
    #[error("platform key {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("platform key {0} is not an Ed25519 PKCS#8 key")]
    Format(String),
    #[error("platform key {path} is readable by others (mode {mode:o}); it must be 0600")]
    Permissions { path: String, mode: u32 },
}

/// A public key the platform signs (or signed) with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicKeyInfo {
    /// Hex SHA-256 of the 32-byte public key.
    pub key_id: String,
    pub algorithm: &'static str,
    /// Hex of the 32-byte Ed25519 public key.
    pub public_key: String,
}

/// The key in force, and the public halves of retired keys.
pub struct PlatformKey {
    pair: Ed25519KeyPair,
    info: PublicKeyInfo,
    retired: Vec<PublicKeyInfo>,
}

impl std::fmt::Debug for PlatformKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformKey")
            .field("key_id", &self.info.key_id)
            .finish_non_exhaustive()
    }
}

fn info_of(public: &[u8]) -> PublicKeyInfo {
    PublicKeyInfo {
        key_id: sha256_hex(public),
        algorithm: "Ed25519",
        public_key: hex::encode(public),
    }
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> PlatformKeyError + '_ {
    move |source| PlatformKeyError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn check_private(path: &Path) -> Result<(), PlatformKeyError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path)
        .map_err(io_error(path))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(PlatformKeyError::Permissions {
            path: path.display().to_string(),
            mode,
        });
    }
    Ok(())
}

impl PlatformKey {
    /// Loads `dir/platform-key.pk8`, generating it (mode 0600) on first start. Retired
    /// keys' public halves are read from `dir/retired-keys/*.pub` (hex).
    pub fn load_or_generate(dir: &Path) -> Result<Self, PlatformKeyError> {
        let path = dir.join("platform-key.pk8");
        if !path.exists() {
            std::fs::create_dir_all(dir).map_err(io_error(dir))?;
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
                .map_err(|_| PlatformKeyError::Format(path.display().to_string()))?;
            write_private(&path, pkcs8.as_ref())?;
        }
        check_private(&path)?;
        let pkcs8 = std::fs::read(&path).map_err(io_error(&path))?;
        let pair = Ed25519KeyPair::from_pkcs8(&pkcs8)
            .map_err(|_| PlatformKeyError::Format(path.display().to_string()))?;
        let info = info_of(pair.public_key().as_ref());
        let retired = read_retired(&dir.join("retired-keys"))?;
        Ok(Self {
            pair,
            info,
            retired,
        })
    }

    /// Retires the key in force (its public half is kept for verification) and generates
    /// a new one. The caller restarts the server, or reloads, to use it.
    pub fn rotate(dir: &Path) -> Result<PublicKeyInfo, PlatformKeyError> {
        let current = Self::load_or_generate(dir)?;
        let retired_dir = dir.join("retired-keys");
        std::fs::create_dir_all(&retired_dir).map_err(io_error(&retired_dir))?;
        let public_path = retired_dir.join(format!("{}.pub", current.info.key_id));
        std::fs::write(&public_path, &current.info.public_key).map_err(io_error(&public_path))?;
        let path = dir.join("platform-key.pk8");
        std::fs::remove_file(&path).map_err(io_error(&path))?;
        Ok(Self::load_or_generate(dir)?.info)
    }

    pub fn info(&self) -> &PublicKeyInfo {
        &self.info
    }

    /// The key in force first, then retired keys.
    pub fn published(&self) -> Vec<PublicKeyInfo> {
        std::iter::once(self.info.clone())
            .chain(self.retired.iter().cloned())
            .collect()
    }

    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).as_ref().to_vec()
    }
}

/// Verifies an Ed25519 signature by a published platform key.
pub fn verify(key: &PublicKeyInfo, message: &[u8], signature: &[u8]) -> bool {
    hex::decode(&key.public_key)
        .map(|pk| {
            UnparsedPublicKey::new(&ED25519, pk)
                .verify(message, signature)
                .is_ok()
        })
        .unwrap_or(false)
}

fn write_private(path: &PathBuf, bytes: &[u8]) -> Result<(), PlatformKeyError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_error(path))?;
    file.write_all(bytes).map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))
}

fn read_retired(dir: &Path) -> Result<Vec<PublicKeyInfo>, PlatformKeyError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut keys = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "pub") {
            let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
            let public = hex::decode(text.trim())
                .map_err(|_| PlatformKeyError::Format(path.display().to_string()))?;
            keys.push(info_of(&public));
        }
    }
    keys.sort_by(|a, b| a.key_id.cmp(&b.key_id));
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_generated_once_kept_private_and_rotation_keeps_old_signatures_verifiable() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let first = PlatformKey::load_or_generate(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let again = PlatformKey::load_or_generate(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first.info(), again.info(), "generated on first start only");
        let signature = first.sign(b"receipt");
        assert!(verify(first.info(), b"receipt", &signature));
        assert!(!verify(first.info(), b"receipt!", &signature));

        let new = PlatformKey::rotate(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(&new, first.info());
        let after = PlatformKey::load_or_generate(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let published = after.published();
        assert_eq!(published[0], new);
        let old = published
            .iter()
            .find(|k| k.key_id == first.info().key_id)
            .unwrap_or_else(|| panic!("old key published"));
        assert!(
            verify(old, b"receipt", &signature),
            "old signatures still verify"
        );

        use std::os::unix::fs::PermissionsExt as _;
        let path = dir.path().join("platform-key.pk8");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            PlatformKey::load_or_generate(dir.path()),
            Err(PlatformKeyError::Permissions { .. })
        ));
    }
}
