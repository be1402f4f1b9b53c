//! k-of-n opening keys: a bid's 256-bit content key is split with Shamir's scheme over
//! GF(256) (the `blahaj` crate) and each share is sealed with HPKE (RFC 9180) to one
//! custodian's per-trade key, so no single party — not the operator, not one official —
//! can open a bid. Byte formats: docs/protocol.md ("Key shares").
//!
//! Suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, base mode. X25519 because a
//! custodian opens one share per bid at the opening, and X25519 opens about five times
//! faster than P-256 here (docs/adr/0004).

use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use zeroize::Zeroizing;

use super::digest::sha256_hex;
use super::gm;
use crate::domain::suite::Suite;

type Kem = X25519HkdfSha256;

/// Domain separation of the HPKE `info` of a key share.
pub const SHARE_INFO_LABEL: &[u8] = b"tradehall-bid-share-v1";
/// Length of a content key.
pub const KEY_LEN: usize = 32;
/// Length of a share: the x coordinate, then one y byte per key byte.
pub const SHARE_LEN: usize = 1 + KEY_LEN;
/// Length of an X25519 public key and of an HPKE encapsulated key.
pub const PUBLIC_KEY_LEN: usize = 32;

/// Why a share could not be made, opened or combined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThresholdError {
    #[error("a {threshold}-of-{n} committee is not possible (need 1 ≤ k ≤ n ≤ 255)")]
    Committee { threshold: u8, n: u8 },
    #[error("a custodian public key is a 32-byte X25519 key or a 65-byte SM2 point of the trade's suite")]
    PublicKey,
    #[error("the share does not open with this key for this trade, custodian and bidder")]
    Open,
    #[error("malformed share")]
    Share,
    #[error("not enough distinct shares to rebuild the key")]
    NotEnoughShares,
}

/// A custodian's per-trade public key: X25519 (suite 1) or SM2 (suite 2, uncompressed
/// SEC1). The server's one-time opening key is always X25519.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustodianPublicKey {
    X25519([u8; PUBLIC_KEY_LEN]),
    Sm2([u8; gm::PUBLIC_KEY_LEN]),
}

impl CustodianPublicKey {
    /// A key by its length: 32 bytes are X25519, 65 bytes an SM2 point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ThresholdError> {
        if let Ok(raw) = <[u8; PUBLIC_KEY_LEN]>::try_from(bytes) {
            <Kem as hpke::Kem>::PublicKey::from_bytes(&raw)
                .map_err(|_| ThresholdError::PublicKey)?;
            return Ok(Self::X25519(raw));
        }
        let raw: [u8; gm::PUBLIC_KEY_LEN] =
            bytes.try_into().map_err(|_| ThresholdError::PublicKey)?;
        gm::check_public_key(&raw).map_err(|_| ThresholdError::PublicKey)?;
        Ok(Self::Sm2(raw))
    }

    /// A key of `suite`, refusing one of the other suite.
    pub fn from_bytes_for(suite: Suite, bytes: &[u8]) -> Result<Self, ThresholdError> {
        Self::from_bytes(bytes)?
            .of_suite(suite)
            .ok_or(ThresholdError::PublicKey)
    }

    fn of_suite(self, suite: Suite) -> Option<Self> {
        (self.suite() == suite).then_some(self)
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::X25519(raw) => raw,
            Self::Sm2(raw) => raw,
        }
    }

    /// The suite whose shares are sealed to this kind of key.
    pub fn suite(&self) -> Suite {
        match self {
            Self::X25519(_) => Suite::Hpke,
            Self::Sm2(_) => Suite::Gm,
        }
    }

    /// The key's id: lower-case hex SHA-256 of its bytes (32 or 65).
    pub fn key_id(&self) -> String {
        sha256_hex(self.as_bytes())
    }

    fn hpke(&self) -> Result<<Kem as hpke::Kem>::PublicKey, ThresholdError> {
        match self {
            Self::X25519(raw) => <Kem as hpke::Kem>::PublicKey::from_bytes(raw)
                .map_err(|_| ThresholdError::PublicKey),
            Self::Sm2(_) => Err(ThresholdError::PublicKey),
        }
    }
}

/// A custodian's per-trade private key. Never leaves the custodian's machine; wiped on drop.
pub enum CustodianSecretKey {
    X25519(<Kem as hpke::Kem>::PrivateKey),
    Sm2(gm::DecryptionKey),
}

impl std::fmt::Debug for CustodianSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CustodianSecretKey(redacted)")
    }
}

impl CustodianSecretKey {
    /// A fresh X25519 key pair from the operating system's random source.
    pub fn generate() -> (Self, CustodianPublicKey) {
        Self::generate_for(Suite::Hpke)
    }

    /// A fresh key pair of `suite`.
    pub fn generate_for(suite: Suite) -> (Self, CustodianPublicKey) {
        match suite {
            Suite::Hpke => {
                let (sk, pk) = Kem::gen_keypair();
                (
                    Self::X25519(sk),
                    CustodianPublicKey::X25519(pk.to_bytes().into()),
                )
            }
            Suite::Gm => {
                let key = gm::DecryptionKey::generate();
                let public = CustodianPublicKey::Sm2(key.public_key());
                (Self::Sm2(key), public)
            }
        }
    }

    /// RFC 9180 DeriveKeyPair(ikm) for X25519: deterministic, for test vectors.
    pub fn derive(ikm: &[u8]) -> (Self, CustodianPublicKey) {
        let (sk, pk) = Kem::derive_keypair(ikm);
        (
            Self::X25519(sk),
            CustodianPublicKey::X25519(pk.to_bytes().into()),
        )
    }

    /// The key's public half.
    pub fn public_key(&self) -> CustodianPublicKey {
        match self {
            Self::X25519(sk) => CustodianPublicKey::X25519(Kem::sk_to_pk(sk).to_bytes().into()),
            Self::Sm2(key) => CustodianPublicKey::Sm2(key.public_key()),
        }
    }

    /// The private key as an unencrypted PKCS#8 (RFC 8410) PEM, the form a browser's
    /// WebCrypto imports: for a custodian who opens its shares in the web page. Only an
    /// X25519 key has one; WebCrypto knows no SM2.
    pub fn to_pkcs8_pem(&self) -> Option<Zeroizing<String>> {
        use base64::Engine as _;
        const X25519_PKCS8_PREFIX: [u8; 16] = [
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22,
            0x04, 0x20,
        ];
        let Self::X25519(_) = self else {
            return None;
        };
        let mut der = Zeroizing::new(X25519_PKCS8_PREFIX.to_vec());
        der.extend_from_slice(&self.to_bytes());
        let b64 = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(&*der));
        Some(Zeroizing::new(format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            b64.as_bytes()
                .chunks(64)
                .map(|c| std::str::from_utf8(c).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("\n")
        )))
    }

    /// The raw 32-byte private key (an X25519 key or an SM2 scalar), for the
    /// passphrase-protected key store only.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        match self {
            Self::X25519(sk) => Zeroizing::new(sk.to_bytes().to_vec()),
            Self::Sm2(key) => key.to_bytes(),
        }
    }

    /// A private key of `suite` from its 32 bytes.
    pub fn from_bytes_for(suite: Suite, bytes: &[u8]) -> Result<Self, ThresholdError> {
        match suite {
            Suite::Hpke => <Kem as hpke::Kem>::PrivateKey::from_bytes(bytes)
                .map(Self::X25519)
                .map_err(|_| ThresholdError::PublicKey),
            Suite::Gm => gm::DecryptionKey::from_bytes(bytes)
                .map(Self::Sm2)
                .map_err(|_| ThresholdError::PublicKey),
        }
    }

    fn hpke(&self) -> Result<&<Kem as hpke::Kem>::PrivateKey, ThresholdError> {
        match self {
            Self::X25519(sk) => Ok(sk),
            Self::Sm2(_) => Err(ThresholdError::Open),
        }
    }
}

/// Domain separation of a custodian's signature over its per-trade public key.
pub const CUSTODIAN_KEY_LABEL: &[u8] = b"tradehall-custodian-key-v1";

/// What a custodian signs with its certificate to register its key for a trade:
/// label ‖ 0x00 ‖ trade id ‖ 0x00 ‖ the public key (32 or 65 bytes).
pub fn custodian_key_message(trade_id: &str, key: &CustodianPublicKey) -> Vec<u8> {
    let mut m = CUSTODIAN_KEY_LABEL.to_vec();
    m.push(0);
    m.extend_from_slice(trade_id.as_bytes());
    m.push(0);
    m.extend_from_slice(key.as_bytes());
    m
}

/// What a sealed share is bound to: a share sealed for one trade, custodian or bidder does
/// not open as another's.
#[derive(Debug, Clone, Copy)]
pub struct ShareBinding<'a> {
    pub trade_id: &'a str,
    pub custodian_key_id: &'a str,
    /// Hex SHA-256 of the bidder's certificate (DER).
    pub bidder_cert_fingerprint: &'a str,
}

impl ShareBinding<'_> {
    /// HPKE `info`: label ‖ 0x00 ‖ trade id ‖ 0x00 ‖ custodian key id ‖ 0x00 ‖ fingerprint.
    pub fn info(&self) -> Vec<u8> {
        let mut info = SHARE_INFO_LABEL.to_vec();
        for part in [
            self.trade_id,
            self.custodian_key_id,
            self.bidder_cert_fingerprint,
        ] {
            info.push(0);
            info.extend_from_slice(part.as_bytes());
        }
        info
    }
}

/// One share sealed to one custodian. Suite 1: the 32-byte HPKE encapsulated key and the
/// AEAD ciphertext of the 33-byte share (49 bytes with its tag). Suite 2: no `enc`, and
/// the SM2 ciphertext `C1 ‖ C3 ‖ C2` of SM3(info) ‖ share (162 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedShare {
    pub enc: Option<[u8; PUBLIC_KEY_LEN]>,
    pub ciphertext: Vec<u8>,
}

/// Splits `key` into `n` shares, any `threshold` of which rebuild it. Share `i` (from 1)
/// is `x = i` followed by the 32 polynomial values at `i`.
pub fn split_key(
    key: &[u8; KEY_LEN],
    threshold: u8,
    n: u8,
    rng: &mut impl hpke::rand_core::CryptoRng,
) -> Result<Vec<Zeroizing<Vec<u8>>>, ThresholdError> {
    if threshold == 0 || threshold > n {
        return Err(ThresholdError::Committee { threshold, n });
    }
    let dealer = blahaj::Sharks(threshold).dealer_rng(key, rng);
    Ok(dealer
        .take(usize::from(n))
        .map(|s| Zeroizing::new(Vec::from(&s)))
        .collect())
}

/// Rebuilds the key from at least `threshold` distinct shares.
pub fn recover_key(
    shares: &[Zeroizing<Vec<u8>>],
    threshold: u8,
) -> Result<Zeroizing<[u8; KEY_LEN]>, ThresholdError> {
    let mut parsed = Vec::with_capacity(shares.len());
    for s in shares {
        if s.len() != SHARE_LEN || s[0] == 0 {
            return Err(ThresholdError::Share);
        }
        parsed.push(blahaj::Share::try_from(s.as_slice()).map_err(|_| ThresholdError::Share)?);
    }
    let mut xs: Vec<u8> = shares.iter().map(|s| s[0]).collect();
    xs.sort_unstable();
    xs.dedup();
    if threshold == 0 || xs.len() < usize::from(threshold) {
        return Err(ThresholdError::NotEnoughShares);
    }
    let secret = Zeroizing::new(
        blahaj::Sharks(threshold)
            .recover(&parsed)
            .map_err(|_| ThresholdError::NotEnoughShares)?,
    );
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    if secret.len() != KEY_LEN {
        return Err(ThresholdError::Share);
    }
    key.copy_from_slice(&secret);
    Ok(key)
}

/// HPKE base-mode single-shot seal of `plaintext` to `recipient` under `info` (empty `aad`).
pub fn hpke_seal(
    recipient: &CustodianPublicKey,
    info: &[u8],
    plaintext: &[u8],
    rng: &mut impl hpke::rand_core::CryptoRng,
) -> Result<SealedShare, ThresholdError> {
    let (enc, ciphertext) = hpke::single_shot_seal_with_rng::<AesGcm256, HkdfSha256, Kem>(
        &OpModeS::Base,
        &recipient.hpke()?,
        info,
        plaintext,
        &[],
        rng,
    )
    .map_err(|_| ThresholdError::PublicKey)?;
    Ok(SealedShare {
        enc: Some(enc.to_bytes().into()),
        ciphertext,
    })
}

/// Opens what [`hpke_seal`] sealed to `key` under the same `info`.
pub fn hpke_open(
    key: &CustodianSecretKey,
    info: &[u8],
    sealed: &SealedShare,
) -> Result<Zeroizing<Vec<u8>>, ThresholdError> {
    let enc = sealed.enc.as_ref().ok_or(ThresholdError::Open)?;
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(enc).map_err(|_| ThresholdError::Open)?;
    hpke::single_shot_open::<AesGcm256, HkdfSha256, Kem>(
        &OpModeR::Base,
        key.hpke()?,
        &enc,
        info,
        &sealed.ciphertext,
        &[],
    )
    .map(Zeroizing::new)
    .map_err(|_| ThresholdError::Open)
}

/// Seals one share to a custodian's key: HPKE base mode with the binding as `info` and an
/// empty `aad` (suite 1), or SM2 encryption of SM3(info) ‖ share (suite 2).
pub fn seal_share(
    recipient: &CustodianPublicKey,
    binding: &ShareBinding<'_>,
    share: &[u8],
    rng: &mut impl hpke::rand_core::CryptoRng,
) -> Result<SealedShare, ThresholdError> {
    match recipient {
        CustodianPublicKey::X25519(_) => hpke_seal(recipient, &binding.info(), share, rng),
        CustodianPublicKey::Sm2(key) => {
            let plaintext = Zeroizing::new([&gm::sm3(&binding.info())[..], share].concat());
            let ciphertext =
                gm::encrypt(key, &plaintext, rng).map_err(|_| ThresholdError::PublicKey)?;
            Ok(SealedShare {
                enc: None,
                ciphertext,
            })
        }
    }
}

/// Opens a share sealed to `key` under the same binding.
pub fn open_share(
    key: &CustodianSecretKey,
    binding: &ShareBinding<'_>,
    sealed: &SealedShare,
) -> Result<Zeroizing<Vec<u8>>, ThresholdError> {
    let share = match key {
        CustodianSecretKey::X25519(_) => hpke_open(key, &binding.info(), sealed)?,
        CustodianSecretKey::Sm2(key) => {
            if sealed.enc.is_some() {
                return Err(ThresholdError::Open);
            }
            let plain = key
                .decrypt(&sealed.ciphertext)
                .map_err(|_| ThresholdError::Open)?;
            let (bound, share) = plain
                .split_at_checked(gm::SM3_LEN)
                .ok_or(ThresholdError::Open)?;
            if bound != gm::sm3(&binding.info()) {
                return Err(ThresholdError::Open);
            }
            Zeroizing::new(share.to_vec())
        }
    };
    if share.len() != SHARE_LEN {
        return Err(ThresholdError::Share);
    }
    Ok(share)
}

#[cfg(test)]
mod tests;
