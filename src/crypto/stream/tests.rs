//! Tests of `crypto::stream`.

use super::*;

const KEY: [u8; 32] = [9; 32];
const AAD: [u8; 32] = [3; 32];

fn seal(suite: Suite, plain: &[u8]) -> Vec<u8> {
    let mut sealer = StreamSealer::new(suite, &KEY, AAD, Vec::new());
    // Write in odd pieces to exercise buffering.
    for piece in plain.chunks(7_777) {
        sealer.write_all(piece).unwrap_or_else(|e| panic!("{e}"));
    }
    sealer.finish().unwrap_or_else(|e| panic!("{e}"))
}

fn open(suite: Suite, ct: &[u8], aad: [u8; 32]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    StreamOpener::new(suite, &KEY, aad, ct, ct.len() as u64)?.read_to_end(&mut out)?;
    Ok(out)
}

fn sample(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn every_length_round_trips_with_the_predicted_size() {
    for suite in Suite::ALL {
        round_trips(suite);
    }
}

fn round_trips(suite: Suite) {
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
        let ct = seal(suite, &plain);
        assert_eq!(ct.len() as u64, ciphertext_len(len as u64), "length {len}");
        assert_eq!(plaintext_len(ct.len() as u64), Some(len as u64));
        assert_eq!(
            open(suite, &ct, AAD).unwrap_or_else(|e| panic!("{len}: {e}")),
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
fn the_suites_differ_and_neither_opens_the_other() {
    let plain = sample(100);
    let (aes, sm4) = (seal(Suite::Hpke, &plain), seal(Suite::Gm, &plain));
    assert_eq!(aes.len(), sm4.len());
    assert_ne!(aes, sm4);
    assert!(open(Suite::Gm, &aes, AAD).is_err());
    assert!(open(Suite::Hpke, &sm4, AAD).is_err());
}

#[test]
fn suite_2_encrypts_with_sm4_gcm_under_the_derived_key() {
    // The final chunk 0 of a suite-2 stream is SM4-GCM under SM3(label ‖ 0 ‖ key)[..16]
    // with nonce 0…0 ‖ 0x01, whatever implementation computes it.
    use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
    let plain = sample(100);
    let key = gm::sm3(&[SM4_KEY_LABEL, &[0], &KEY[..]].concat());
    let cipher = gm::Sm4Gcm::new_from_slice(&key[..16]).unwrap_or_else(|e| panic!("{e}"));
    let mut n = [0u8; 12];
    n[11] = 1;
    let expected = cipher
        .encrypt(
            &n.into(),
            Payload {
                msg: &plain,
                aad: &AAD,
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(seal(Suite::Gm, &plain), expected);
}

#[test]
fn any_tampering_is_refused() {
    for suite in Suite::ALL {
        tampering_is_refused(suite);
    }
}

fn tampering_is_refused(suite: Suite) {
    let open = |ct: &[u8], aad| open(suite, ct, aad);
    let plain = sample(2 * CHUNK_LEN + 100);
    let ct = seal(suite, &plain);
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
