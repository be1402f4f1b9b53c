//! The streamed AEAD of a sealed bid's payload: AES-256-GCM (suite 1) or SM4-GCM (suite 2)
//! over fixed-size chunks, with the STREAM nonce construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015) so a multi-GB
//! file seals and opens in constant memory and chunks cannot be reordered, dropped or
//! truncated unnoticed. Byte format: docs/protocol.md ("Payload stream").
//!
//! Chunk `i` (from 0) holds `CHUNK_LEN` plaintext bytes, except the final chunk, which
//! holds 0 to `CHUNK_LEN` bytes (it is empty only when the whole plaintext is). Its nonce is
//! seven zero bytes, `i` as a big-endian u32, then `0x01` for the final chunk and `0x00`
//! otherwise. Every chunk is authenticated with the same associated data (the envelope's
//! header digest) and carries a 16-byte tag.

use aes_gcm::aead::{AeadInOut as _, KeyInit as _};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use std::io::{self, Read, Write};
use zeroize::Zeroizing;

use super::gm;
use crate::domain::suite::Suite;

/// Plaintext bytes per chunk (64 KiB).
pub const CHUNK_LEN: usize = 64 * 1024;
/// AES-GCM tag length.
pub const TAG_LEN: usize = 16;

/// Domain separation of suite 2's SM4 key: SM3(label ‖ 0x00 ‖ content key), first 16 bytes.
pub const SM4_KEY_LABEL: &[u8] = b"tradehall-sm4-key-v2";

fn nonce(index: u32, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[7..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    n
}

/// The SM4 key suite 2 derives from a content key.
pub fn sm4_key(content_key: &[u8; 32]) -> Zeroizing<[u8; 16]> {
    let digest = Zeroizing::new(gm::sm3(&[SM4_KEY_LABEL, &[0], content_key].concat()));
    let mut key = Zeroizing::new([0u8; 16]);
    key.copy_from_slice(&digest[..16]);
    key
}

/// The chunk cipher of a suite, keyed. One lives per stream, so the variants' sizes
/// (544 and 272 bytes) do not matter.
#[allow(clippy::large_enum_variant)]
enum ChunkCipher {
    Aes(LessSafeKey),
    Sm4(gm::Sm4Gcm),
}

impl ChunkCipher {
    fn new(suite: Suite, key: &[u8; 32]) -> Self {
        match suite {
            // A 32-byte key is always a valid AES-256 key, and 16 bytes an SM4 key.
            Suite::Hpke => ChunkCipher::Aes(LessSafeKey::new(
                UnboundKey::new(&AES_256_GCM, key)
                    .unwrap_or_else(|_| unreachable!("32-byte AES-256 key")),
            )),
            Suite::Gm => ChunkCipher::Sm4(
                gm::Sm4Gcm::new_from_slice(sm4_key(key).as_slice())
                    .unwrap_or_else(|_| unreachable!("16-byte SM4 key")),
            ),
        }
    }

    /// Encrypts `chunk` in place; returns its tag.
    fn seal(&self, nonce: [u8; 12], aad: &[u8; 32], chunk: &mut [u8]) -> io::Result<[u8; TAG_LEN]> {
        let failed = |_| io::Error::other("chunk seal failed");
        match self {
            ChunkCipher::Aes(key) => key
                .seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::from(aad),
                    chunk,
                )
                .map(|tag| {
                    let mut out = [0u8; TAG_LEN];
                    out.copy_from_slice(tag.as_ref());
                    out
                })
                .map_err(|_| io::Error::other("chunk seal failed")),
            ChunkCipher::Sm4(key) => key
                .encrypt_inout_detached(&nonce.into(), aad, chunk.into())
                .map(Into::into)
                .map_err(failed),
        }
    }

    /// Decrypts `chunk` (ciphertext ‖ tag) in place; returns the plaintext length.
    fn open(&self, nonce: [u8; 12], aad: &[u8; 32], chunk: &mut [u8]) -> io::Result<usize> {
        let unauthentic = || invalid("payload chunk does not authenticate");
        match self {
            ChunkCipher::Aes(key) => key
                .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), chunk)
                .map(|plain| plain.len())
                .map_err(|_| unauthentic()),
            ChunkCipher::Sm4(key) => {
                let at = chunk.len().checked_sub(TAG_LEN).ok_or_else(unauthentic)?;
                let (body, tag) = chunk.split_at_mut(at);
                let tag = aes_gcm::Tag::<aes_gcm::aead::consts::U16>::try_from(&*tag)
                    .map_err(|_| unauthentic())?;
                key.decrypt_inout_detached(&nonce.into(), aad, body.into(), &tag)
                    .map_err(|_| unauthentic())?;
                Ok(at)
            }
        }
    }
}

fn chunks_for(plaintext_len: u64) -> u64 {
    plaintext_len.div_ceil(CHUNK_LEN as u64).max(1)
}

/// Ciphertext length of a stream carrying `plaintext_len` bytes.
pub fn ciphertext_len(plaintext_len: u64) -> u64 {
    plaintext_len + chunks_for(plaintext_len) * TAG_LEN as u64
}

/// Plaintext length of a stream of `ciphertext_len` bytes, if that length is possible.
pub fn plaintext_len(sealed_len: u64) -> Option<u64> {
    let full = (CHUNK_LEN + TAG_LEN) as u64;
    let chunks = sealed_len.div_ceil(full).max(1);
    let plain = sealed_len.checked_sub(chunks * TAG_LEN as u64)?;
    (ciphertext_len(plain) == sealed_len).then_some(plain)
}

fn too_long() -> io::Error {
    io::Error::other("payload stream longer than 2^32 chunks")
}

/// Encrypts everything written to it into `out`; call [`StreamSealer::finish`] at the end.
pub struct StreamSealer<W: Write> {
    key: ChunkCipher,
    aad: [u8; 32],
    out: W,
    /// At most one chunk of plaintext not yet sealed (wiped when dropped).
    pending: Zeroizing<Vec<u8>>,
    index: u32,
}

impl<W: Write> StreamSealer<W> {
    pub fn new(suite: Suite, key: &[u8; 32], aad: [u8; 32], out: W) -> Self {
        Self {
            key: ChunkCipher::new(suite, key),
            aad,
            out,
            pending: Zeroizing::new(Vec::with_capacity(CHUNK_LEN)),
            index: 0,
        }
    }

    fn seal_pending(&mut self, last: bool) -> io::Result<()> {
        let tag = self
            .key
            .seal(nonce(self.index, last), &self.aad, &mut self.pending)?;
        self.out.write_all(&self.pending)?;
        self.out.write_all(&tag)?;
        self.pending.clear();
        self.index = self.index.checked_add(1).ok_or_else(too_long)?;
        Ok(())
    }

    /// Seals the final chunk and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.seal_pending(true)?;
        self.out.flush()?;
        let Self { out, .. } = self;
        Ok(out)
    }
}

impl<W: Write> Write for StreamSealer<W> {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let n = data.len();
        while !data.is_empty() {
            // A full chunk is sealed as non-final only once more data arrives, so the
            // final chunk is never an empty one after a full one.
            if self.pending.len() == CHUNK_LEN {
                self.seal_pending(false)?;
            }
            let take = (CHUNK_LEN - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Decrypts a stream of exactly `ciphertext_len` bytes read from `input`. Fails with
/// `InvalidData` on any tampering, including truncation and reordering; plaintext is only
/// ever released one authenticated chunk at a time.
pub struct StreamOpener<R: Read> {
    key: ChunkCipher,
    aad: [u8; 32],
    input: R,
    remaining_chunks: u64,
    last_chunk_len: usize,
    index: u32,
    chunk: Zeroizing<Vec<u8>>,
    offset: usize,
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

impl<R: Read> StreamOpener<R> {
    pub fn new(
        suite: Suite,
        key: &[u8; 32],
        aad: [u8; 32],
        input: R,
        ciphertext_len: u64,
    ) -> io::Result<Self> {
        let plain =
            plaintext_len(ciphertext_len).ok_or_else(|| invalid("impossible payload length"))?;
        let chunks = chunks_for(plain);
        let last_plain = plain - (chunks - 1) * CHUNK_LEN as u64;
        Ok(Self {
            key: ChunkCipher::new(suite, key),
            aad,
            input,
            remaining_chunks: chunks,
            last_chunk_len: usize::try_from(last_plain).map_err(|_| invalid("chunk too long"))?
                + TAG_LEN,
            index: 0,
            chunk: Zeroizing::new(Vec::with_capacity(CHUNK_LEN + TAG_LEN)),
            offset: 0,
        })
    }

    fn next_chunk(&mut self) -> io::Result<()> {
        let last = self.remaining_chunks == 1;
        let len = if last {
            self.last_chunk_len
        } else {
            CHUNK_LEN + TAG_LEN
        };
        self.chunk.resize(len, 0);
        self.input.read_exact(&mut self.chunk)?;
        let plain = self
            .key
            .open(nonce(self.index, last), &self.aad, &mut self.chunk)?;
        self.chunk.truncate(plain);
        self.offset = 0;
        self.remaining_chunks -= 1;
        self.index = self.index.checked_add(1).ok_or_else(too_long)?;
        Ok(())
    }
}

impl<R: Read> Read for StreamOpener<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.offset == self.chunk.len() {
            if self.remaining_chunks == 0 {
                return Ok(0);
            }
            self.next_chunk()?;
        }
        let n = buf.len().min(self.chunk.len() - self.offset);
        buf[..n].copy_from_slice(&self.chunk[self.offset..self.offset + n]);
        self.offset += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
