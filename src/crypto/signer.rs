//! A certificate holder's signing key (ECDSA P-256 with SHA-256, PKCS#8), as used by the
//! bidder client, custodians and the demo. Signatures are deterministic (RFC 6979), so a
//! sealed envelope is reproducible from its inputs (tests/vectors) and signing never
//! depends on a random source; they are DER-encoded.

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
    #[error("only ECDSA P-256 PKCS#8 keys are supported here")]
    Unsupported,
}

/// An ECDSA P-256 key. Wiped from memory when dropped (the p256 crate zeroizes it).
pub struct Signer {
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(ECDSA P-256, key redacted)")
    }
}

impl Signer {
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, SignerError> {
        let key = SigningKey::from_pkcs8_der(der).map_err(|_| SignerError::Unsupported)?;
        Ok(Self { key })
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

    /// DER-encoded ECDSA P-256/SHA-256 signature over `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: Signature = self.key.sign(message);
        signature.to_der().as_bytes().to_vec()
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
        let sig = signer.sign(b"tradehall");
        assert_eq!(
            sig,
            signer.sign(b"tradehall"),
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
