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
            let block = pem_block(bytes, "PRIVATE KEY")?;
            Self::from_pkcs8_der(&block)
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

/// Decodes the first PEM block labelled `label`.
pub fn pem_block(pem: &[u8], label: &str) -> Result<Vec<u8>, SignerError> {
    use base64::Engine as _;
    let text = std::str::from_utf8(pem).map_err(|e| SignerError::Encoding(e.to_string()))?;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text
        .find(&begin)
        .ok_or_else(|| SignerError::Encoding(format!("no {label} block")))?;
    let body = &text[start + begin.len()..];
    let stop = body
        .find(&end)
        .ok_or_else(|| SignerError::Encoding(format!("unterminated {label} block")))?;
    let b64: String = body[..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| SignerError::Encoding(e.to_string()))
}
