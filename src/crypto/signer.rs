//! A certificate holder's signing key: ECDSA P-256 with SHA-256, or SM2 with SM3 and the
//! default distinguishing ID (GB/T 32918.2), from a PKCS#8 file, or a P-256 key that stays
//! on a PKCS#11 token (crypto::token), as used by the bidder client, custodians and the
//! demo. Signatures are deterministic (RFC 6979), so a sealed envelope
//! is reproducible from its inputs (tests/vectors) and signing never depends on a random
//! source; they are DER-encoded.

use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey as _;

/// Domain separation for what a certificate key signs to authenticate:
/// `tradehall-auth-v1:<purpose>:<nonce>` with purpose `login` or `register` (docs/api.md).
pub const AUTH_MESSAGE_PREFIX: &str = "tradehall-auth-v1";

/// The message signed to log in or register with a challenge nonce.
pub fn auth_message(purpose: &str, nonce: &str) -> String {
    format!("{AUTH_MESSAGE_PREFIX}:{purpose}:{nonce}")
}

/// Why a key cannot be used to sign.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("key file is not PEM or DER PKCS#8: {0}")]
    Encoding(String),
    #[error("only ECDSA P-256 and SM2 PKCS#8 keys are supported here")]
    Unsupported,
    #[error("{0}")]
    Token(#[from] super::token::TokenError),
}

/// A private key that signs. Wiped from memory when dropped (the p256 and sm2 crates
/// zeroize their keys).
pub enum Signer {
    P256(SigningKey),
    Sm2(super::gm::SigningKey),
    /// A key on a PKCS#11 token: the token signs.
    Token(super::token::TokenKey),
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Signer::P256(_) => "Signer(ECDSA P-256, key redacted)",
            Signer::Sm2(_) => "Signer(SM2, key redacted)",
            Signer::Token(_) => "Signer(ECDSA P-256 on a PKCS#11 token)",
        })
    }
}

impl Signer {
    /// A P-256 or an SM2 key (`id-ecPublicKey` with the `sm2` curve, as OpenSSL writes it).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, SignerError> {
        if let Ok(key) = SigningKey::from_pkcs8_der(der) {
            return Ok(Signer::P256(key));
        }
        super::gm::SigningKey::from_pkcs8_der(der)
            .map(Signer::Sm2)
            .map_err(|_| SignerError::Unsupported)
    }

    /// Accepts a `-----BEGIN PRIVATE KEY-----` PEM block (comment lines around it are
    /// ignored) or raw DER.
    pub fn from_pkcs8(bytes: &[u8]) -> Result<Self, SignerError> {
        if bytes.windows(10).any(|w| w == b"-----BEGIN") {
            let blocks =
                super::cert::pem_blocks(bytes, "PRIVATE KEY").map_err(SignerError::Encoding)?;
            let der = blocks
                .first()
                .ok_or_else(|| SignerError::Encoding("no PRIVATE KEY block".into()))?;
            Self::from_pkcs8_der(der)
        } else {
            Self::from_pkcs8_der(bytes)
        }
    }

    /// The key `--key` names: a PKCS#11 URI (`pkcs11:…`, crypto::token), or a PKCS#8 file.
    pub fn open(key: &std::path::Path) -> Result<Self, SignerError> {
        if let Some(uri) = key.to_str().filter(|k| super::token::TokenUri::is_uri(k)) {
            let uri = super::token::TokenUri::parse(uri)?;
            return Ok(Signer::Token(super::token::TokenKey::open(&uri)?));
        }
        let bytes = std::fs::read(key)
            .map_err(|e| SignerError::Encoding(format!("{}: {e}", key.display())))?;
        Self::from_pkcs8(&bytes)
    }

    /// DER-encoded signature over `message`: ECDSA P-256/SHA-256 or SM2/SM3. Only a token
    /// can fail (removed, locked).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        Ok(match self {
            Signer::P256(key) => {
                let signature: Signature = key.sign(message);
                signature.to_der().as_bytes().to_vec()
            }
            Signer::Sm2(key) => key.sign(message),
            Signer::Token(key) => key.sign(message)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_deterministic_and_verify_with_ring() {
        use ring::signature::{
            EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING,
        };
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .unwrap_or_else(|e| panic!("{e}"));
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap_or_else(|e| panic!("{e}"));
        let signer = Signer::from_pkcs8_der(pkcs8.as_ref()).unwrap_or_else(|e| panic!("{e}"));
        let sig = signer.sign(b"tradehall").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            sig,
            signer.sign(b"tradehall").unwrap_or_else(|e| panic!("{e}")),
            "RFC 6979: same key and message, same signature"
        );
        ring::signature::UnparsedPublicKey::new(
            &ECDSA_P256_SHA256_ASN1,
            pair.public_key().as_ref(),
        )
        .verify(b"tradehall", &sig)
        .unwrap_or_else(|e| panic!("{e}"));
    }
}
