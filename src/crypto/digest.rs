//! SHA-256 digests, salted commitments and random tokens.

use ring::digest::{digest, Context, SHA256};
use ring::rand::{SecureRandom, SystemRandom};

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(digest(&SHA256, bytes))
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let d = digest(&SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// `n` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // SystemRandom only fails if the OS has no entropy source, which we cannot run without.
    SystemRandom::new()
        .fill(&mut out)
        .unwrap_or_else(|_| panic!("operating system random number generator unavailable"));
    out
}

/// A salted commitment: `SHA-256(salt ‖ data)`, hex. The salt is 32 random bytes that are
/// revealed together with `data` when the data becomes public (see docs/event-log.md).
pub fn commit(salt: &[u8; 32], data: &[u8]) -> String {
    let mut ctx = Context::new(&SHA256);
    ctx.update(salt);
    ctx.update(data);
    hex::encode(ctx.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc_matches_the_fips_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn commitments_differ_by_salt() {
        let a = commit(&[1; 32], b"x");
        let b = commit(&[2; 32], b"x");
        assert_ne!(a, b);
        assert_eq!(a, commit(&[1; 32], b"x"));
    }
}
