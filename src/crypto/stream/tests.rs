//! Tests of `crypto::stream`.

use super::*;

const KEY: [u8; 32] = [9; 32];
const AAD: [u8; 32] = [3; 32];

fn seal(plain: &[u8]) -> Vec<u8> {
    let mut sealer = StreamSealer::new(&KEY, AAD, Vec::new());
    // Write in odd pieces to exercise buffering.
    for piece in plain.chunks(7_777) {
        sealer.write_all(piece).unwrap_or_else(|e| panic!("{e}"));
    }
    sealer.finish().unwrap_or_else(|e| panic!("{e}"))
}

fn open(ct: &[u8], aad: [u8; 32]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    StreamOpener::new(&KEY, aad, ct, ct.len() as u64)?.read_to_end(&mut out)?;
    Ok(out)
}

fn sample(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn every_length_round_trips_with_the_predicted_size() {
    for len in [
        0,
        1,
        CHUNK_LEN - 1,
        CHUNK_LEN,
        CHUNK_LEN + 1,
        3 * CHUNK_LEN,
        3 * CHUNK_LEN + 5,
    ] {
        let plain = sample(len);
        let ct = seal(&plain);
        assert_eq!(ct.len() as u64, ciphertext_len(len as u64), "length {len}");
        assert_eq!(plaintext_len(ct.len() as u64), Some(len as u64));
        assert_eq!(
            open(&ct, AAD).unwrap_or_else(|e| panic!("{len}: {e}")),
            plain
        );
    }
}

#[test]
fn impossible_lengths_are_recognised() {
    assert_eq!(plaintext_len(15), None);
    assert_eq!(plaintext_len((CHUNK_LEN + TAG_LEN + 5) as u64), None);
    assert_eq!(plaintext_len(16), Some(0));
}

#[test]
fn any_tampering_is_refused() {
    let plain = sample(2 * CHUNK_LEN + 100);
    let ct = seal(&plain);
    let full = CHUNK_LEN + TAG_LEN;

    let mut flipped = ct.clone();
    flipped[CHUNK_LEN + 3] ^= 0x01;
    assert!(open(&flipped, AAD).is_err(), "a flipped byte");

    assert!(open(&ct, [4; 32]).is_err(), "another envelope's header");

    let mut swapped = ct[full..2 * full].to_vec();
    swapped.extend_from_slice(&ct[..full]);
    swapped.extend_from_slice(&ct[2 * full..]);
    assert!(open(&swapped, AAD).is_err(), "reordered chunks");

    // Dropping the short final chunk leaves a stream whose "final" chunk was sealed as
    // non-final: the flag in the nonce catches the truncation.
    assert!(
        open(&ct[..2 * full], AAD).is_err(),
        "truncated at a chunk boundary"
    );
    assert!(open(&ct[..ct.len() - 1], AAD).is_err(), "one byte short");
}
