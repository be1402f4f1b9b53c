//! The sealed-bid envelope, version 1: what a bidder's machine produces and the server
//! stores, specified byte for byte in docs/protocol.md.
//!
//! ```text
//! "THSEALED" ‖ u16 version ‖ u32 H ‖ header (H bytes, JSON)
//!            ‖ u64 P ‖ payload (P bytes, crypto::stream under the content key)
//!            ‖ u16 S ‖ outer signature (S bytes)
//! ```
//! All integers are big-endian. The header names the trade, the bidder organisation and
//! its certificate chain, and carries the k-of-n key shares sealed to the custodians. The
//! payload's plaintext is `u32 M ‖ manifest ‖ u16 T ‖ manifest signature ‖ files…`. The
//! outer signature covers everything before it; the envelope's SHA-256 is its commitment.
//!
//! The header's `suite` says how shares, payload and digests are made (crypto::suite):
//! suite 1 with HPKE, AES-256-GCM and SHA-256, suite 2 (国密) with SM2, SM4-GCM and SM3.
//! The commitment is SHA-256 under both.

use base64::Engine as _;
use ring::digest::{Context, SHA256};
use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};
use zeroize::Zeroizing;

use super::gm;
use super::signer::Signer;
use super::stream::{self, StreamOpener, StreamSealer, CHUNK_LEN};
use super::threshold::{self, CustodianPublicKey, SealedShare, ShareBinding, ThresholdError};
use crate::domain::suite::Suite;

pub const MAGIC: &[u8; 8] = b"THSEALED";
pub const VERSION: u16 = 1;
/// Suite 1's name (docs/adr/0004).
pub const SUITE: &str = "DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM";
/// Prefix of the message the outer signature signs: label ‖ SHA-256(body).
pub const ENVELOPE_SIGNATURE_LABEL: &[u8] = b"tradehall-envelope-v1\0";
/// Prefix of the message the manifest signature signs: label ‖ manifest bytes.
pub const MANIFEST_SIGNATURE_LABEL: &[u8] = b"tradehall-manifest-v1\0";
/// Largest header accepted (a chain of a few certificates and up to 255 shares).
pub const MAX_HEADER_LEN: u32 = 1 << 20;
/// Largest manifest accepted.
pub const MAX_MANIFEST_LEN: u32 = 1 << 20;

/// Why an envelope cannot be built, read or opened.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("envelope I/O: {0}")]
    Io(#[from] io::Error),
    #[error("not a valid sealed-bid envelope: {0}")]
    Format(String),
    #[error("{0}")]
    Threshold(#[from] ThresholdError),
    #[error("attachment {name} does not match its SHA-256 or size in the manifest")]
    Attachment { name: String },
    /// A chunk of the payload does not authenticate with the key it was opened with: the
    /// key rebuilt from the shares is not the one it was sealed with.
    #[error("the payload does not authenticate with this key: {0}")]
    Unauthentic(String),
    #[error("manifest version {0} is not supported (this is version 1)")]
    ManifestVersion(u8),
    #[error("signing: {0}")]
    Sign(#[from] super::signer::SignerError),
}

fn format_error(what: impl Into<String>) -> EnvelopeError {
    EnvelopeError::Format(what.into())
}

/// The organisation a bid is from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    pub name: String,
    pub usci: String,
}

/// One key share in the header, sealed to the custodian key with this id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderShare {
    /// Hex SHA-256 of the custodian's public key (X25519 or SM2).
    pub custodian_key: String,
    /// Suite 1: base64 of the 32-byte HPKE encapsulated key. Absent in suite 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enc: Option<String>,
    /// Base64 of the sealed share: the 49-byte HPKE ciphertext (suite 1) or the 162-byte
    /// SM2 ciphertext C1 ‖ C3 ‖ C2 (suite 2).
    pub ct: String,
}

/// The envelope header: public to the server, secret-free.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub trade: String,
    pub organization: Organization,
    /// Base64 DER certificates, end-entity first.
    pub certificate_chain: Vec<String>,
    pub suite: String,
    pub threshold: u8,
    pub shares: Vec<HeaderShare>,
    pub chunk_len: u32,
}

/// An attached file as listed in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub name: String,
    pub sha256: String,
    pub size: u64,
}

/// What the bidder offers, signed by the bidder and visible only after the opening.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub v: u8,
    pub trade: String,
    pub lots: Vec<String>,
    /// Integer minor units (分).
    pub price: i64,
    pub currency: String,
    pub organization: Organization,
    /// A fingerprint of the bidder's machine (for collusion checks at the opening).
    pub machine: String,
    pub files: Vec<FileEntry>,
}

/// A file to attach: its manifest entry (hash and size computed beforehand, e.g. with
/// [`hash_reader`]) and a reader of the same bytes.
pub struct Attachment<'a> {
    pub entry: FileEntry,
    pub content: Box<dyn Read + 'a>,
}

/// Everything needed to seal a bid.
pub struct SealRequest<'a> {
    pub manifest: Manifest,
    pub attachments: Vec<Attachment<'a>>,
    /// DER certificates, end-entity first.
    pub certificate_chain: Vec<Vec<u8>>,
    /// The trade's custodian keys, in the trade's committee order.
    pub committee: Vec<CustodianPublicKey>,
    pub threshold: u8,
}

/// What sealing produced: the commitment (SHA-256 of the whole envelope) and its length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedEnvelope {
    pub commitment: [u8; 32],
    pub len: u64,
}

/// SHA-256 (hex) and length of everything `reader` yields, in constant memory.
pub fn hash_reader(mut reader: impl Read) -> io::Result<(String, u64)> {
    let mut ctx = Context::new(&SHA256);
    let mut buf = vec![0u8; CHUNK_LEN];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok((hex::encode(ctx.finish()), total));
        }
        ctx.update(&buf[..n]);
        total += n as u64;
    }
}

/// The digests of an envelope's bytes so far: SHA-256 (the commitment) and, in suite 2,
/// SM3 (the header and body digests).
struct Digests {
    sha256: Context,
    sm3: Option<gm::Sm3>,
}

impl Digests {
    fn new(suite: Suite) -> Self {
        Self {
            sha256: Context::new(&SHA256),
            sm3: (suite == Suite::Gm).then(gm::Sm3::default),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        self.sha256.update(bytes);
        if let Some(sm3) = &mut self.sm3 {
            sm3.update(bytes);
        }
    }

    /// SHA-256 so far.
    fn commitment(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.sha256.clone().finish().as_ref());
        out
    }

    /// The suite's digest so far: SHA-256 (suite 1) or SM3 (suite 2).
    fn suite_digest(&self) -> [u8; 32] {
        match &self.sm3 {
            Some(sm3) => sm3.clone().finish(),
            None => self.commitment(),
        }
    }
}

/// A writer that hashes what passes through it.
struct Hashing<W> {
    inner: W,
    digests: Digests,
    len: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.digests.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(s: &str, what: &str) -> Result<Vec<u8>, EnvelopeError> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|_| format_error(format!("{what} is not base64")))
}

/// The message an outer signature signs.
pub fn envelope_signature_message(body_digest: &[u8; 32]) -> Vec<u8> {
    [ENVELOPE_SIGNATURE_LABEL, body_digest.as_slice()].concat()
}

/// The message a manifest signature signs.
pub fn manifest_signature_message(manifest: &[u8]) -> Vec<u8> {
    [MANIFEST_SIGNATURE_LABEL, manifest].concat()
}

/// Seals a bid into `out`, entirely on the bidder's machine, with the suite of the
/// committee's keys (all of one suite). `content_key` must be fresh random for every
/// envelope; `rng` supplies the Shamir coefficients and the HPKE or SM2 ephemerals.
pub fn seal<W: Write>(
    request: SealRequest<'_>,
    signer: &Signer,
    content_key: &[u8; 32],
    rng: &mut impl hpke::rand_core::CryptoRng,
    out: W,
) -> Result<SealedEnvelope, EnvelopeError> {
    let SealRequest {
        manifest,
        attachments,
        certificate_chain,
        committee,
        threshold,
    } = request;
    let end_entity = certificate_chain
        .first()
        .ok_or_else(|| format_error("no certificate"))?;
    let fingerprint = super::digest::sha256_hex(end_entity);
    let n = u8::try_from(committee.len()).map_err(|_| format_error("more than 255 custodians"))?;
    let suite = committee
        .first()
        .map(CustodianPublicKey::suite)
        .ok_or_else(|| format_error("no custodian keys"))?;
    if committee.iter().any(|k| k.suite() != suite) {
        return Err(format_error("the custodian keys are of different suites"));
    }
    let shares = threshold::split_key(content_key, threshold, n, rng)?;
    let mut header_shares = Vec::with_capacity(committee.len());
    for (custodian, share) in committee.iter().zip(&shares) {
        let key_id = custodian.key_id();
        let binding = ShareBinding {
            trade_id: &manifest.trade,
            custodian_key_id: &key_id,
            bidder_cert_fingerprint: &fingerprint,
        };
        let sealed = threshold::seal_share(custodian, &binding, share, rng)?;
        header_shares.push(HeaderShare {
            custodian_key: key_id,
            enc: sealed.enc.map(|enc| b64(&enc)),
            ct: b64(&sealed.ciphertext),
        });
    }
    let header = Header {
        trade: manifest.trade.clone(),
        organization: manifest.organization.clone(),
        certificate_chain: certificate_chain.iter().map(|c| b64(c)).collect(),
        suite: suite.name().to_owned(),
        threshold,
        shares: header_shares,
        chunk_len: CHUNK_LEN as u32,
    };
    let header_bytes = serde_json::to_vec(&header).map_err(|e| format_error(e.to_string()))?;
    let manifest_bytes = serde_json::to_vec(&manifest).map_err(|e| format_error(e.to_string()))?;
    let manifest_signature = signer.sign(&manifest_signature_message(&manifest_bytes))?;
    if manifest.files.len() != attachments.len()
        || manifest
            .files
            .iter()
            .zip(&attachments)
            .any(|(f, a)| *f != a.entry)
    {
        return Err(format_error(
            "the manifest's files and the attachments differ",
        ));
    }
    let files_len: u64 = manifest.files.iter().map(|f| f.size).sum();
    let plaintext_len =
        4 + manifest_bytes.len() as u64 + 2 + manifest_signature.len() as u64 + files_len;

    let mut w = Hashing {
        inner: out,
        digests: Digests::new(suite),
        len: 0,
    };
    w.write_all(MAGIC)?;
    w.write_all(&VERSION.to_be_bytes())?;
    let h = u32::try_from(header_bytes.len())
        .ok()
        .filter(|h| *h <= MAX_HEADER_LEN);
    w.write_all(
        &h.ok_or_else(|| format_error("header too large"))?
            .to_be_bytes(),
    )?;
    w.write_all(&header_bytes)?;
    let header_digest = w.digests.suite_digest();
    w.write_all(&stream::ciphertext_len(plaintext_len).to_be_bytes())?;

    let mut sealer = StreamSealer::new(suite, content_key, header_digest, w);
    let m = u32::try_from(manifest_bytes.len())
        .ok()
        .filter(|m| *m <= MAX_MANIFEST_LEN);
    sealer.write_all(
        &m.ok_or_else(|| format_error("manifest too large"))?
            .to_be_bytes(),
    )?;
    sealer.write_all(&manifest_bytes)?;
    let t =
        u16::try_from(manifest_signature.len()).map_err(|_| format_error("signature too large"))?;
    sealer.write_all(&t.to_be_bytes())?;
    sealer.write_all(&manifest_signature)?;
    for attachment in attachments {
        // Re-hash while encrypting: a file that changed since it was listed is refused.
        let mut hashing = DigestingReader {
            inner: attachment.content,
            digests: Digests::new(Suite::Hpke),
            len: 0,
        };
        io::copy(&mut hashing, &mut sealer)?;
        if hex::encode(hashing.digests.commitment()) != attachment.entry.sha256
            || hashing.len != attachment.entry.size
        {
            return Err(EnvelopeError::Attachment {
                name: attachment.entry.name,
            });
        }
    }
    let mut w = sealer.finish()?;
    let body_digest = w.digests.suite_digest();
    let signature = signer.sign(&envelope_signature_message(&body_digest))?;
    let s = u16::try_from(signature.len()).map_err(|_| format_error("signature too large"))?;
    w.write_all(&s.to_be_bytes())?;
    w.write_all(&signature)?;
    w.flush()?;
    Ok(SealedEnvelope {
        commitment: w.digests.commitment(),
        len: w.len,
    })
}

/// A reader that hashes what passes through it: an envelope's digests, or (with suite
/// 1's) an attachment's SHA-256.
struct DigestingReader<R> {
    inner: R,
    digests: Digests,
    len: u64,
}

impl<R: Read> Read for DigestingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digests.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

/// An envelope read end to end without any key: its header, where its payload lies, the
/// digests and the outer signature. The server checks this before acknowledging a bid.
#[derive(Debug, Clone)]
pub struct Inspected {
    pub header: Header,
    /// The suite's digest (SHA-256 or SM3) of magic ‖ version ‖ H ‖ header: the payload's
    /// associated data.
    pub header_digest: [u8; 32],
    /// Offset of the payload's first byte.
    pub payload_offset: u64,
    pub payload_len: u64,
    /// The suite's digest of everything before the signature length; `None` when read by
    /// [`inspect_stored`].
    pub body_digest: Option<[u8; 32]>,
    pub signature: Vec<u8>,
    /// SHA-256 of the whole envelope.
    pub commitment: [u8; 32],
    pub len: u64,
}

impl Inspected {
    /// DER certificates of the chain in the header.
    pub fn certificate_chain(&self) -> Result<Vec<Vec<u8>>, EnvelopeError> {
        self.header.certificate_chain()
    }

    /// The sealed share for the custodian key with id `key_id`.
    pub fn share_for(&self, key_id: &str) -> Result<SealedShare, EnvelopeError> {
        self.header.share_for(key_id)
    }
}

impl Header {
    /// The suite the header names (checked when it was read).
    pub fn suite(&self) -> Suite {
        Suite::from_name(&self.suite).unwrap_or_default()
    }

    /// DER certificates of the chain, end-entity first.
    pub fn certificate_chain(&self) -> Result<Vec<Vec<u8>>, EnvelopeError> {
        self.certificate_chain
            .iter()
            .map(|c| unb64(c, "certificate"))
            .collect()
    }

    /// The sealed share for the custodian key with id `key_id`.
    pub fn share_for(&self, key_id: &str) -> Result<SealedShare, EnvelopeError> {
        let share = self
            .shares
            .iter()
            .find(|s| s.custodian_key == key_id)
            .ok_or_else(|| format_error("no share for this custodian key"))?;
        let enc = match &share.enc {
            Some(enc) => Some(
                unb64(enc, "enc")?
                    .try_into()
                    .map_err(|_| format_error("enc is 32 bytes"))?,
            ),
            None => None,
        };
        Ok(SealedShare {
            enc,
            ciphertext: unb64(&share.ct, "share")?,
        })
    }
}

fn read_array<const N: usize>(r: &mut impl Read) -> Result<[u8; N], EnvelopeError> {
    let mut b = [0u8; N];
    r.read_exact(&mut b).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => format_error("envelope ends early"),
        _ => EnvelopeError::Io(e),
    })?;
    Ok(b)
}

/// Reads only the header of an envelope (magic, version, header) and checks it, without
/// reading the payload: what the opening needs to hand custodians their sealed shares.
pub fn read_header(mut input: impl Read) -> Result<Header, EnvelopeError> {
    read_header_part(&mut input).map(|(header, _)| header)
}

/// The header, and the bytes it was read from (magic to the header's end).
fn read_header_part(r: &mut impl Read) -> Result<(Header, Vec<u8>), EnvelopeError> {
    if &read_array::<8>(r)? != MAGIC {
        return Err(format_error(
            "missing THSEALED magic: not a sealed envelope",
        ));
    }
    let version = u16::from_be_bytes(read_array(r)?);
    if version != VERSION {
        return Err(format_error(format!(
            "unsupported envelope version {version}"
        )));
    }
    let h = u32::from_be_bytes(read_array(r)?);
    if h > MAX_HEADER_LEN {
        return Err(format_error("header too large"));
    }
    let mut header_bytes = vec![0u8; h as usize];
    r.read_exact(&mut header_bytes)
        .map_err(|_| format_error("envelope ends in the header"))?;
    let header: Header =
        serde_json::from_slice(&header_bytes).map_err(|e| format_error(format!("header: {e}")))?;
    let Some(suite) =
        Suite::from_name(&header.suite).filter(|_| header.chunk_len == CHUNK_LEN as u32)
    else {
        return Err(format_error("unsupported suite or chunk length"));
    };
    // Suite 1 shares carry an HPKE `enc`; suite 2 shares carry none.
    if header
        .shares
        .iter()
        .any(|s| s.enc.is_some() != (suite == Suite::Hpke))
    {
        return Err(format_error("a share is not sealed as the suite says"));
    }
    if header.shares.is_empty()
        || header.threshold == 0
        || usize::from(header.threshold) > header.shares.len()
    {
        return Err(format_error(
            "an envelope carries k-of-n key shares: it is not encrypted to the committee",
        ));
    }
    let prefix = [
        MAGIC.as_slice(),
        &version.to_be_bytes(),
        &h.to_be_bytes(),
        &header_bytes,
    ]
    .concat();
    Ok((header, prefix))
}

/// Reads and hashes a whole envelope in constant memory, checking its structure: magic,
/// version, header, a payload length a stream can have, a signature, nothing after it.
/// It checks no signature or certificate; the caller does that with the chain in the header.
pub fn inspect(input: impl Read) -> Result<Inspected, EnvelopeError> {
    inspect_with(input, true)
}

/// [`inspect`] for the opening, of an envelope taken in at intake (where its outer
/// signature was verified): the commitment and the header digest, without the body
/// digest, which in suite 2 would cost an SM3 pass over the whole payload for nothing.
pub fn inspect_stored(input: impl Read) -> Result<Inspected, EnvelopeError> {
    inspect_with(input, false)
}

fn inspect_with(mut input: impl Read, body: bool) -> Result<Inspected, EnvelopeError> {
    let (header, prefix) = read_header_part(&mut input)?;
    let mut digests = Digests::new(header.suite());
    digests.update(&prefix);
    let header_digest = digests.suite_digest();
    if !body {
        digests.sm3 = None;
    }
    let mut r = DigestingReader {
        inner: input,
        digests,
        len: prefix.len() as u64,
    };
    let payload_len = u64::from_be_bytes(read_array(&mut r)?);
    if stream::plaintext_len(payload_len).is_none() {
        return Err(format_error(
            "payload length is not that of an encrypted stream",
        ));
    }
    let payload_offset = r.len;
    let copied = io::copy(&mut (&mut r).take(payload_len), &mut io::sink())?;
    if copied != payload_len {
        return Err(format_error("envelope ends in the payload"));
    }
    let body_digest = body.then(|| r.digests.suite_digest());
    let s = u16::from_be_bytes(read_array(&mut r)?);
    let mut signature = vec![0u8; usize::from(s)];
    r.read_exact(&mut signature)
        .map_err(|_| format_error("envelope ends in the signature"))?;
    if r.read(&mut [0u8; 1])? != 0 {
        return Err(format_error("bytes after the signature"));
    }
    Ok(Inspected {
        header,
        header_digest,
        payload_offset,
        payload_len,
        body_digest,
        signature,
        commitment: r.digests.commitment(),
        len: r.len,
    })
}

/// A bid decrypted at the opening.
#[derive(Debug, Clone)]
pub struct OpenedBid {
    pub manifest: Manifest,
    /// The exact signed manifest bytes and the bidder's signature over them.
    pub manifest_bytes: Vec<u8>,
    pub manifest_signature: Vec<u8>,
}

/// Decrypts an envelope with its rebuilt content key, reading it again from the start;
/// checks that every attached file matches the manifest. The caller verifies the manifest
/// signature against the certificate and compares the manifest with the header.
pub fn open(
    input: impl Read,
    inspected: &Inspected,
    content_key: &Zeroizing<[u8; 32]>,
) -> Result<OpenedBid, EnvelopeError> {
    // The decrypting stream reports a chunk that does not authenticate as invalid data:
    // that is a wrong key (a wrong share), not an envelope cut short.
    open_payload(input, inspected, content_key).map_err(|e| match e {
        EnvelopeError::Io(e) if e.kind() == io::ErrorKind::InvalidData => {
            EnvelopeError::Unauthentic(e.to_string())
        }
        other => other,
    })
}

fn open_payload(
    mut input: impl Read,
    inspected: &Inspected,
    content_key: &Zeroizing<[u8; 32]>,
) -> Result<OpenedBid, EnvelopeError> {
    io::copy(
        &mut (&mut input).take(inspected.payload_offset),
        &mut io::sink(),
    )?;
    let payload = (&mut input).take(inspected.payload_len);
    let mut plain = StreamOpener::new(
        inspected.header.suite(),
        content_key,
        inspected.header_digest,
        payload,
        inspected.payload_len,
    )?;
    let m = u32::from_be_bytes(read_array(&mut plain)?);
    if m > MAX_MANIFEST_LEN {
        return Err(format_error("manifest too large"));
    }
    let mut manifest_bytes = vec![0u8; m as usize];
    plain.read_exact(&mut manifest_bytes)?;
    let t = u16::from_be_bytes(read_array(&mut plain)?);
    let mut manifest_signature = vec![0u8; usize::from(t)];
    plain.read_exact(&mut manifest_signature)?;
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| format_error(format!("manifest: {e}")))?;
    if manifest.v != 1 {
        return Err(EnvelopeError::ManifestVersion(manifest.v));
    }
    for file in &manifest.files {
        let (sha256, size) = hash_reader((&mut plain).take(file.size))?;
        if sha256 != file.sha256 || size != file.size {
            return Err(EnvelopeError::Attachment {
                name: file.name.clone(),
            });
        }
    }
    if plain.read(&mut [0u8; 1])? != 0 {
        return Err(format_error("payload longer than its manifest"));
    }
    Ok(OpenedBid {
        manifest,
        manifest_bytes,
        manifest_signature,
    })
}

#[cfg(test)]
mod tests;
