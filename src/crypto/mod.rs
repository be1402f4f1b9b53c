//! Cryptography: certificate validation, the dev PKI, signing keys, digests and commitments.

pub mod archive;
pub mod bank_signature;
pub mod cert;
pub mod checkpoint;
pub mod digest;
pub mod envelope;
pub mod evaluation;
pub mod gm;
pub mod opening;
pub mod pki;
pub mod platform_key;
pub mod receipt;
pub mod revocation;
pub mod signer;
pub mod stream;
pub mod threshold;
pub mod token;
pub mod trust;
