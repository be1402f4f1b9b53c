//! 国密 (the Chinese commercial cryptography standards) as the platform uses them: SM2
//! signatures (GB/T 32918.2) and public-key encryption (GB/T 32918.4, C1C3C2), the SM3
//! digest (GB/T 32905) and the SM4 block cipher (GB/T 32907) in GCM mode (RFC 8998).
//! The algorithms are RustCrypto's `sm2`, `sm3`, `sm4` and `aes-gcm` crates; this module
//! only fixes the choices a standard leaves open (the distinguishing ID, the ciphertext
//! order, the point and signature encodings) so every caller makes the same ones.

use aes_gcm::aead::consts::U12;
use sm2::dsa::signature::{Signer as _, Verifier as _};
use sm2::elliptic_curve::sec1::ToSec1Point as _;
use sm2::pke::{DecryptingKey, EncryptingKey, Mode};
use sm3::Digest as _;
use zeroize::Zeroizing;

/// The distinguishing ID a signer's `Z` value is computed with when the certificate
/// profile names none: GM/T 0009 and the GM/T 0015 certificate profile fix it to this
/// 16-byte string, and every Chinese CA we know signs with it.
pub const DEFAULT_DISTID: &str = "1234567812345678";
/// Length of an uncompressed SEC1 SM2 public key: `0x04 ‖ x ‖ y`.
pub const PUBLIC_KEY_LEN: usize = 65;
/// Length of an SM3 digest.
pub const SM3_LEN: usize = 32;

/// SM4 in GCM mode with a 96-bit nonce and a 128-bit tag (RFC 8998 §3.1).
pub type Sm4Gcm = aes_gcm::AesGcm<sm4::Sm4, U12>;

/// Why an SM2 operation failed. Deliberately vague, like any decryption error should be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GmError {
    #[error("not an SM2 public key (uncompressed SEC1 point on the SM2 curve)")]
    PublicKey,
    #[error("not an SM2 private key")]
    SecretKey,
    #[error("the SM2 ciphertext does not decrypt with this key")]
    Decrypt,
    #[error("SM2 encryption failed")]
    Encrypt,
}

/// SM3 of `bytes`.
pub fn sm3(bytes: &[u8]) -> [u8; SM3_LEN] {
    sm3::Sm3::digest(bytes).into()
}

/// An incremental SM3.
#[derive(Clone, Default)]
pub struct Sm3(sm3::Sm3);

impl Sm3 {
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn finish(self) -> [u8; SM3_LEN] {
        self.0.finalize().into()
    }
}

/// Verifies an SM2 signature (DER `SM2Signature`, i.e. `SEQUENCE { r, s }`) over
/// `message` with the public key `public_key` (SEC1, as in a certificate's
/// subjectPublicKey) and the distinguishing ID `distid`.
pub fn verify(public_key: &[u8], distid: &str, message: &[u8], signature: &[u8]) -> bool {
    let Ok(key) = sm2::dsa::VerifyingKey::from_sec1_bytes(distid, public_key) else {
        return false;
    };
    let Ok(signature) = sm2::dsa::Signature::from_der(signature) else {
        return false;
    };
    key.verify(message, &signature).is_ok()
}

/// An SM2 private key for signing. Wiped from memory when dropped.
pub struct SigningKey {
    key: sm2::dsa::SigningKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(SM2, key redacted)")
    }
}

impl SigningKey {
    /// An SM2 key from its PKCS#8 DER (what `openssl genpkey -algorithm EC -pkeyopt
    /// ec_paramgen_curve:SM2` writes), signing with the default distinguishing ID.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, GmError> {
        use sm2::pkcs8::DecodePrivateKey as _;
        let secret = sm2::SecretKey::from_pkcs8_der(der).map_err(|_| GmError::SecretKey)?;
        let key =
            sm2::dsa::SigningKey::new(DEFAULT_DISTID, &secret).map_err(|_| GmError::SecretKey)?;
        Ok(Self { key })
    }

    /// A key from its 32-byte private scalar (tests, the demo's generated keys).
    pub fn from_bytes(scalar: &[u8]) -> Result<Self, GmError> {
        let key = sm2::dsa::SigningKey::from_slice(DEFAULT_DISTID, scalar)
            .map_err(|_| GmError::SecretKey)?;
        Ok(Self { key })
    }

    /// DER-encoded SM2 signature over `message`. The nonce is derived from the key and the
    /// message (RFC 6979 with SM3), so signing needs no random source; verifiers must not
    /// assume it.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: sm2::dsa::Signature = self.key.sign(message);
        signature.to_der().to_vec()
    }

    /// The public key, uncompressed SEC1.
    pub fn public_key(&self) -> [u8; PUBLIC_KEY_LEN] {
        sec1_bytes(self.key.verifying_key().as_affine())
    }
}

fn sec1_bytes(point: &sm2::AffinePoint) -> [u8; PUBLIC_KEY_LEN] {
    let encoded = point.to_sec1_point(false);
    let mut out = [0u8; PUBLIC_KEY_LEN];
    out.copy_from_slice(encoded.as_bytes());
    out
}

/// Encrypts `plaintext` to the SM2 public key `public_key` (uncompressed SEC1): the
/// result is `C1 ‖ C3 ‖ C2` with C1 an uncompressed point (65 bytes), C3 the 32-byte SM3
/// check value and C2 as long as the plaintext (GB/T 32918.4-2016 §6.1, in the order of
/// GM/T 0009).
pub fn encrypt(
    public_key: &[u8],
    plaintext: &[u8],
    rng: &mut impl hpke::rand_core::TryCryptoRng,
) -> Result<Vec<u8>, GmError> {
    EncryptingKey::new_with_mode(public_key_point(public_key)?, Mode::C1C3C2)
        .encrypt(rng, plaintext)
        .map_err(|_| GmError::Encrypt)
}

/// The key as a point on the curve, refusing anything but an uncompressed point.
fn public_key_point(public_key: &[u8]) -> Result<sm2::PublicKey, GmError> {
    if public_key.len() != PUBLIC_KEY_LEN || public_key[0] != 0x04 {
        return Err(GmError::PublicKey);
    }
    sm2::PublicKey::from_sec1_bytes(public_key).map_err(|_| GmError::PublicKey)
}

/// Checks that `public_key` is an uncompressed SEC1 point on the SM2 curve.
pub fn check_public_key(public_key: &[u8]) -> Result<(), GmError> {
    public_key_point(public_key).map(|_| ())
}

/// An SM2 private key for decryption. Wiped from memory when dropped.
pub struct DecryptionKey {
    key: DecryptingKey,
}

impl std::fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DecryptionKey(SM2, key redacted)")
    }
}

impl DecryptionKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Self {
        loop {
            let scalar = super::digest::random_bytes::<32>();
            if let Ok(key) = Self::from_bytes(&scalar) {
                return key;
            }
        }
    }

    /// A key from its 32-byte private scalar (1 ≤ d < n).
    pub fn from_bytes(scalar: &[u8]) -> Result<Self, GmError> {
        let key = DecryptingKey::from_slice(scalar).map_err(|_| GmError::SecretKey)?;
        let key = DecryptingKey::new_with_mode(*key.as_nonzero_scalar(), Mode::C1C3C2);
        Ok(Self { key })
    }

    /// The private scalar, for a passphrase-protected key store.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.key.to_bytes().to_vec())
    }

    /// The public key, uncompressed SEC1.
    pub fn public_key(&self) -> [u8; PUBLIC_KEY_LEN] {
        sec1_bytes(self.key.encrypting_key().as_affine())
    }

    /// Decrypts `C1 ‖ C3 ‖ C2` (as [`encrypt`] writes it).
    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, GmError> {
        if ciphertext.first() != Some(&0x04) {
            return Err(GmError::Decrypt);
        }
        self.key
            .decrypt(ciphertext)
            .map(Zeroizing::new)
            .map_err(|_| GmError::Decrypt)
    }
}

#[cfg(test)]
mod tests;
