//! A signing key that stays on a PKCS#11 token: the driver module of a UKey (CA锁), or
//! SoftHSM2. It is named by an RFC 7512 URI wherever a command takes `--key`:
//!
//! ```text
//! pkcs11:token=<token label>;object=<key label>?module-path=<module .so>[&pin-value=<PIN>]
//! ```
//!
//! The PIN comes from `pin-value` or else from `TRADEHALL_PKCS11_PIN`. The message is
//! hashed here and the token signs the digest (`CKM_ECDSA`), so the private key never
//! leaves it. Keys on a token are ECDSA P-256; an SM2 key on a token would need its
//! vendor's mechanism, which PKCS#11 does not standardise, and is refused with that
//! reason.

use std::path::PathBuf;
use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;

/// The environment variable a token's PIN is read from when the URI carries none.
pub const PIN_VARIABLE: &str = "TRADEHALL_PKCS11_PIN";

/// Why a token key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("not a PKCS#11 URI (pkcs11:token=…;object=…?module-path=…): {0}")]
    Uri(String),
    #[error("the PKCS#11 module {module} cannot be used: {reason}")]
    Module { module: String, reason: String },
    #[error("no token labelled {0:?} is present")]
    NoToken(String),
    #[error("the token refused the PIN, or signing in failed: {0}")]
    Login(String),
    #[error("no private key labelled {0:?} on the token (or more than one)")]
    NoKey(String),
    #[error("the key on the token is not an ECDSA P-256 key ({0}); SM2 keys on a token need the vendor's own mechanism and are not supported")]
    Unsupported(String),
    #[error("the token did not sign: {0}")]
    Sign(String),
}

/// Where the key is: the parts of the URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUri {
    pub module: PathBuf,
    pub token: String,
    pub object: String,
    pin: Option<String>,
}

impl TokenUri {
    /// Whether `text` is meant as a PKCS#11 URI rather than a file name.
    pub fn is_uri(text: &str) -> bool {
        text.starts_with("pkcs11:")
    }

    /// Parses `pkcs11:` path attributes (`;`-separated) and query attributes
    /// (`&`-separated), percent-decoded; unknown attributes are ignored (RFC 7512 §2.3).
    pub fn parse(text: &str) -> Result<Self, TokenError> {
        let rest = text
            .strip_prefix("pkcs11:")
            .ok_or_else(|| TokenError::Uri("it does not start with pkcs11:".into()))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let decode = |v: &str| -> Result<String, TokenError> {
            percent_encoding::percent_decode_str(v)
                .decode_utf8()
                .map(std::borrow::Cow::into_owned)
                .map_err(|_| TokenError::Uri(format!("{v:?} is not UTF-8 once decoded")))
        };
        let (mut module, mut token, mut object, mut pin) = (None, None, None, None);
        for (part, separator) in [(path, ';'), (query, '&')] {
            for attribute in part.split(separator).filter(|a| !a.is_empty()) {
                let (name, value) = attribute
                    .split_once('=')
                    .ok_or_else(|| TokenError::Uri(format!("{attribute:?} has no value")))?;
                let value = decode(value)?;
                match name {
                    "token" => token = Some(value),
                    "object" => object = Some(value),
                    "module-path" => module = Some(PathBuf::from(value)),
                    "pin-value" => pin = Some(value),
                    _ => {}
                }
            }
        }
        let missing = |what: &str| TokenError::Uri(format!("it names no {what}"));
        Ok(Self {
            module: module.ok_or_else(|| missing("module-path"))?,
            token: token.ok_or_else(|| missing("token"))?,
            object: object.ok_or_else(|| missing("object"))?,
            pin,
        })
    }
}

/// A signed-in session on the token and the key's handle in it.
pub struct TokenKey {
    session: Mutex<Session>,
    key: ObjectHandle,
    label: String,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenKey({:?}, on a PKCS#11 token)", self.label)
    }
}

impl TokenKey {
    /// Loads the module, finds the token by label, signs in with the PIN and finds the
    /// private key by label.
    pub fn open(uri: &TokenUri) -> Result<Self, TokenError> {
        let module_error = |reason: String| TokenError::Module {
            module: uri.module.display().to_string(),
            reason,
        };
        let pkcs11 = Pkcs11::new(&uri.module).map_err(|e| module_error(e.to_string()))?;
        match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(())
            | Err(cryptoki::error::Error::Pkcs11(
                cryptoki::error::RvError::CryptokiAlreadyInitialized,
                _,
            )) => {}
            Err(e) => return Err(module_error(e.to_string())),
        }
        let slot = pkcs11
            .get_slots_with_token()
            .map_err(|e| module_error(e.to_string()))?
            .into_iter()
            .find(|slot| {
                pkcs11
                    .get_token_info(*slot)
                    .is_ok_and(|info| info.label().trim_end() == uri.token)
            })
            .ok_or_else(|| TokenError::NoToken(uri.token.clone()))?;
        let session = pkcs11
            .open_ro_session(slot)
            .map_err(|e| TokenError::Login(e.to_string()))?;
        let pin = match &uri.pin {
            Some(pin) => pin.clone(),
            None => std::env::var(PIN_VARIABLE).map_err(|_| {
                TokenError::Login(format!(
                    "no PIN: put pin-value in the URI or set {PIN_VARIABLE}"
                ))
            })?,
        };
        session
            .login(UserType::User, Some(&AuthPin::new(pin.into())))
            .map_err(|e| TokenError::Login(e.to_string()))?;
        let found = session
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Label(uri.object.as_bytes().to_vec()),
            ])
            .map_err(|e| TokenError::NoKey(format!("{}: {e}", uri.object)))?;
        let [key] = found.as_slice() else {
            return Err(TokenError::NoKey(uri.object.clone()));
        };
        let key = *key;
        // An EC key on P-256: the curve, where the token tells it, must be P-256 (an SM2
        // key is also of type EC, and CKM_ECDSA would make a worthless signature with it).
        const P256: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
        let attributes = session
            .get_attributes(
                key,
                &[
                    cryptoki::object::AttributeType::KeyType,
                    cryptoki::object::AttributeType::EcParams,
                ],
            )
            .map_err(|e| TokenError::Unsupported(e.to_string()))?;
        for attribute in &attributes {
            match attribute {
                Attribute::KeyType(k) if *k == KeyType::EC => {}
                Attribute::EcParams(curve) if curve.as_slice() == P256 => {}
                other => return Err(TokenError::Unsupported(format!("{other:?}"))),
            }
        }
        if !attributes
            .iter()
            .any(|a| matches!(a, Attribute::KeyType(_)))
        {
            return Err(TokenError::Unsupported("no key type".into()));
        }
        Ok(Self {
            session: Mutex::new(session),
            key,
            label: uri.object.clone(),
        })
    }

    /// DER-encoded ECDSA P-256/SHA-256 signature over `message`, made by the token.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, TokenError> {
        let digest = super::digest::sha256(message);
        let session = self
            .session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let raw = session
            .sign(&Mechanism::Ecdsa, self.key, &digest)
            .map_err(|e| TokenError::Sign(e.to_string()))?;
        let signature = p256::ecdsa::Signature::from_slice(&raw)
            .map_err(|_| TokenError::Unsupported(format!("a {}-byte signature", raw.len())))?;
        Ok(signature.to_der().as_bytes().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_name_module_token_key_and_pin() {
        let uri = TokenUri::parse(
            "pkcs11:token=CA%E9%94%81;object=bidder%20key;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(uri.token, "CA锁");
        assert_eq!(uri.object, "bidder key");
        assert_eq!(uri.module, PathBuf::from("/usr/lib/softhsm/libsofthsm2.so"));
        assert_eq!(uri.pin.as_deref(), Some("1234"));
        assert!(TokenUri::is_uri("pkcs11:token=a"));
        assert!(!TokenUri::is_uri("certs/dev/bidder-1/key.pem"));
        for bad in [
            "pkcs11:object=k?module-path=/m.so",
            "pkcs11:token=t?module-path=/m.so",
            "pkcs11:token=t;object=k",
            "pkcs11:token",
            "file:key.pem",
        ] {
            assert!(TokenUri::parse(bad).is_err(), "{bad}");
        }
    }
}
