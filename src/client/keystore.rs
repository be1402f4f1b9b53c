//! The custodian's local key store: one file per trade holding the per-trade HPKE private
//! key, encrypted under a passphrase (Argon2id → AES-256-GCM), mode 0600. The private key
//! never leaves the custodian's machine; only the public key is registered.

use base64::Engine as _;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use serde::{Deserialize, Serialize};
use std::path::Path;
use zeroize::Zeroizing;

use crate::crypto::digest::random_bytes;
use crate::crypto::threshold::{CustodianPublicKey, CustodianSecretKey};
use crate::domain::suite::Suite;

/// Argon2id cost: 64 MiB, 3 passes, 1 lane (OWASP's recommendation for interactive use).
const M_COST_KIB: u32 = 64 * 1024;
const T_COST: u32 = 3;
const P_COST: u32 = 1;
const AAD_LABEL: &str = "tradehall-custodian-key-v1";

/// Why a key store cannot be written or opened.
#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    #[error("key store I/O on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("key store file is malformed: {0}")]
    Format(String),
    #[error("wrong passphrase, or the key store was altered")]
    Passphrase,
    #[error("{path} is readable by others (mode {mode:o}); it must be 0600")]
    Permissions { path: String, mode: u32 },
    #[error("{0} exists; refusing to overwrite a custodian key")]
    Exists(String),
    #[error("passphrase must be at least 12 characters")]
    WeakPassphrase,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    v: u8,
    trade: String,
    public_key: String,
    kdf: String,
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
    salt: String,
    nonce: String,
    ciphertext: String,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(s: &str) -> Result<Vec<u8>, KeyStoreError> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| KeyStoreError::Format(e.to_string()))
}

fn derive(
    passphrase: &str,
    salt: &[u8],
    m: u32,
    t: u32,
    p: u32,
) -> Result<Zeroizing<[u8; 32]>, KeyStoreError> {
    let params =
        argon2::Params::new(m, t, p, Some(32)).map_err(|e| KeyStoreError::Format(e.to_string()))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase.as_bytes(), salt, key.as_mut())
        .map_err(|e| KeyStoreError::Format(e.to_string()))?;
    Ok(key)
}

fn aead(key: &[u8; 32]) -> Result<LessSafeKey, KeyStoreError> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| KeyStoreError::Passphrase)
}

fn aad(trade: &str, public_key: &str) -> Vec<u8> {
    format!("{AAD_LABEL}\0{trade}\0{public_key}").into_bytes()
}

/// Generates a per-trade key pair of `suite` (X25519 or SM2) and writes it to `path`
/// (new file, mode 0600).
pub fn create(
    path: &Path,
    trade: &str,
    passphrase: &str,
    suite: Suite,
) -> Result<CustodianPublicKey, KeyStoreError> {
    if passphrase.chars().count() < 12 {
        return Err(KeyStoreError::WeakPassphrase);
    }
    let (secret, public) = CustodianSecretKey::generate_for(suite);
    let salt = random_bytes::<16>();
    let nonce = random_bytes::<12>();
    let key = derive(passphrase, &salt, M_COST_KIB, T_COST, P_COST)?;
    let public_b64 = b64(public.as_bytes());
    let mut sealed = secret.to_bytes();
    aead(&key)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(trade, &public_b64)),
            &mut *sealed,
        )
        .map_err(|_| KeyStoreError::Format("seal failed".into()))?;
    let file = KeyFile {
        v: 1,
        trade: trade.to_owned(),
        public_key: public_b64,
        kdf: "argon2id".into(),
        m_cost_kib: M_COST_KIB,
        t_cost: T_COST,
        p_cost: P_COST,
        salt: b64(&salt),
        nonce: b64(&nonce),
        ciphertext: b64(&sealed),
    };
    let text =
        serde_json::to_vec_pretty(&file).map_err(|e| KeyStoreError::Format(e.to_string()))?;
    write_private(path, &text)?;
    Ok(public)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyStoreError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let io = |source| KeyStoreError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => KeyStoreError::Exists(path.display().to_string()),
            _ => io(e),
        })?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Opens the key store at `path`: checks its permissions, then decrypts the private key.
pub fn open(
    path: &Path,
    passphrase: &str,
) -> Result<(String, CustodianSecretKey, CustodianPublicKey), KeyStoreError> {
    use std::os::unix::fs::PermissionsExt as _;
    let io = |source| KeyStoreError::Io {
        path: path.display().to_string(),
        source,
    };
    let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyStoreError::Permissions {
            path: path.display().to_string(),
            mode,
        });
    }
    let file: KeyFile = serde_json::from_slice(&std::fs::read(path).map_err(io)?)
        .map_err(|e| KeyStoreError::Format(e.to_string()))?;
    if file.v != 1 || file.kdf != "argon2id" {
        return Err(KeyStoreError::Format(
            "unsupported key store version".into(),
        ));
    }
    let key = derive(
        passphrase,
        &unb64(&file.salt)?,
        file.m_cost_kib,
        file.t_cost,
        file.p_cost,
    )?;
    let nonce: [u8; 12] = unb64(&file.nonce)?
        .try_into()
        .map_err(|_| KeyStoreError::Format("nonce".into()))?;
    let mut sealed = Zeroizing::new(unb64(&file.ciphertext)?);
    let plain = aead(&key)?
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(&file.trade, &file.public_key)),
            &mut sealed,
        )
        .map_err(|_| KeyStoreError::Passphrase)?;
    // The public key says the suite (32 bytes X25519, 65 bytes SM2); the private key
    // must be its other half.
    let public = CustodianPublicKey::from_bytes(&unb64(&file.public_key)?)
        .map_err(|_| KeyStoreError::Format("public key".into()))?;
    let secret = CustodianSecretKey::from_bytes_for(public.suite(), plain)
        .ok()
        .filter(|secret| secret.public_key() == public)
        .ok_or_else(|| KeyStoreError::Format("private key".into()))?;
    Ok((file.trade, secret, public))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_store_opens_with_its_passphrase_only_and_stays_private() {
        for suite in Suite::ALL {
            opens_with_its_passphrase_only(suite);
        }
    }

    fn opens_with_its_passphrase_only(suite: Suite) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("trade.key");
        assert!(matches!(
            create(&path, "t1", "short", suite),
            Err(KeyStoreError::WeakPassphrase)
        ));
        let public =
            create(&path, "t1", "correct horse battery", suite).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(public.suite(), suite);
        let (trade, secret, again) =
            open(&path, "correct horse battery").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(secret.public_key(), public);
        assert_eq!((trade.as_str(), again), ("t1", public));
        assert!(matches!(
            open(&path, "wrong horse battery"),
            Err(KeyStoreError::Passphrase)
        ));
        assert!(matches!(
            create(&path, "t1", "correct horse battery", suite),
            Err(KeyStoreError::Exists(_))
        ));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            !text.contains("correct horse"),
            "the passphrase is not stored"
        );

        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            open(&path, "correct horse battery"),
            Err(KeyStoreError::Permissions { .. })
        ));
    }
}
