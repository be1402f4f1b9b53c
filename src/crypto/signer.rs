//! A certificate holder's signing key (ECDSA P-256, PKCS#8), as used by clients and the
//! demo to answer login challenges.

use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

/// Why a key cannot be used to sign.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("key file is not PEM or DER PKCS#8: {0}")]
    Encoding(String),
    #[error("only ECDSA P-256 PKCS#8 keys are supported here")]
    Unsupported,
    #[error("signing failed")]
    Sign,
}

/// An ECDSA P-256 key that signs with SHA-256 and DER-encoded signatures.
pub struct Signer {
    key: EcdsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(ECDSA P-256, key redacted)")
    }
}

impl Signer {
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, SignerError> {
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der, &rng)
            .map_err(|_| SignerError::Unsupported)?;
        Ok(Self { key, rng })
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

    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        Ok(self
            .key
            .sign(&self.rng, message)
            .map_err(|_| SignerError::Sign)?
            .as_ref()
            .to_vec())
    }
}
