//! Tests of `crypto::threshold`.

use super::*;

fn rng() -> impl hpke::rand_core::CryptoRng {
    hpke::rand_core::UnwrapErr(getrandom::SysRng)
}

fn binding<'a>(key_id: &'a str) -> ShareBinding<'a> {
    ShareBinding {
        trade_id: "trade-1",
        custodian_key_id: key_id,
        bidder_cert_fingerprint: "ab",
    }
}

#[test]
fn any_two_of_three_shares_rebuild_the_key_and_one_does_not() {
    let key = [7u8; KEY_LEN];
    let shares = split_key(&key, 2, 3, &mut rng()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(shares.len(), 3);
    assert!(shares.iter().all(|s| s.len() == SHARE_LEN));
    for (a, b) in [(0, 1), (0, 2), (1, 2)] {
        let pair = [shares[a].clone(), shares[b].clone()];
        assert_eq!(
            *recover_key(&pair, 2).unwrap_or_else(|e| panic!("{e}")),
            key
        );
    }
    assert_eq!(
        recover_key(&shares[..1], 2).err(),
        Some(ThresholdError::NotEnoughShares)
    );
    let twice = [shares[0].clone(), shares[0].clone()];
    assert_eq!(
        recover_key(&twice, 2).err(),
        Some(ThresholdError::NotEnoughShares)
    );
}

#[test]
fn impossible_committees_are_refused() {
    assert!(split_key(&[0; KEY_LEN], 0, 3, &mut rng()).is_err());
    assert!(split_key(&[0; KEY_LEN], 4, 3, &mut rng()).is_err());
}

#[test]
fn a_sealed_share_opens_only_for_its_custodian_trade_and_bidder() {
    for suite in Suite::ALL {
        opens_only_under_its_binding(suite);
    }
}

fn opens_only_under_its_binding(suite: Suite) {
    let (sk, pk) = CustodianSecretKey::generate_for(suite);
    let (other_sk, _) = CustodianSecretKey::generate_for(suite);
    let id = pk.key_id();
    let share = [1u8; SHARE_LEN];
    let sealed =
        seal_share(&pk, &binding(&id), &share, &mut rng()).unwrap_or_else(|e| panic!("{e}"));
    match suite {
        Suite::Hpke => assert_eq!(sealed.ciphertext.len(), SHARE_LEN + 16),
        // C1 ‖ C3 ‖ C2, C2 = SM3(info) ‖ share.
        Suite::Gm => {
            assert_eq!(sealed.enc, None);
            assert_eq!(sealed.ciphertext.len(), 65 + 32 + 32 + SHARE_LEN);
        }
    }
    // A key of the other suite never opens it.
    let other_suite = Suite::ALL
        .into_iter()
        .find(|s| *s != suite)
        .unwrap_or_default();
    let (wrong_kind, _) = CustodianSecretKey::generate_for(other_suite);
    assert_eq!(
        open_share(&wrong_kind, &binding(&id), &sealed).err(),
        Some(ThresholdError::Open)
    );
    let opened = open_share(&sk, &binding(&id), &sealed).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(opened.as_slice(), &share);

    assert_eq!(
        open_share(&other_sk, &binding(&id), &sealed).err(),
        Some(ThresholdError::Open)
    );
    let other_trade = ShareBinding {
        trade_id: "trade-2",
        ..binding(&id)
    };
    assert_eq!(
        open_share(&sk, &other_trade, &sealed).err(),
        Some(ThresholdError::Open)
    );
    let other_bidder = ShareBinding {
        bidder_cert_fingerprint: "cd",
        ..binding(&id)
    };
    assert_eq!(
        open_share(&sk, &other_bidder, &sealed).err(),
        Some(ThresholdError::Open)
    );
    let mut flipped = sealed.clone();
    flipped.ciphertext[0] ^= 1;
    assert_eq!(
        open_share(&sk, &binding(&id), &flipped).err(),
        Some(ThresholdError::Open)
    );
}

#[test]
fn derived_keys_are_deterministic_and_round_trip() {
    let (sk, pk) = CustodianSecretKey::derive(b"custodian test vector ikm 000001");
    let (_, again) = CustodianSecretKey::derive(b"custodian test vector ikm 000001");
    assert_eq!(pk, again);
    let restored = CustodianSecretKey::from_bytes_for(Suite::Hpke, &sk.to_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let id = pk.key_id();
    let sealed = seal_share(&pk, &binding(&id), &[2; SHARE_LEN], &mut rng())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(open_share(&restored, &binding(&id), &sealed).is_ok());
    assert!(CustodianPublicKey::from_bytes(&[0; 31]).is_err());
    assert!(
        CustodianPublicKey::from_bytes(&[4; 65]).is_err(),
        "not on the SM2 curve"
    );
    let (sm2, sm2_public) = CustodianSecretKey::generate_for(Suite::Gm);
    assert_eq!(
        CustodianPublicKey::from_bytes(sm2_public.as_bytes()).ok(),
        Some(sm2_public.clone())
    );
    assert!(CustodianPublicKey::from_bytes_for(Suite::Hpke, sm2_public.as_bytes()).is_err());
    let restored = CustodianSecretKey::from_bytes_for(Suite::Gm, &sm2.to_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(restored.public_key(), sm2_public);
}

#[test]
fn a_secret_key_is_never_printed_and_exports_as_rfc_8410_pkcs8() {
    use base64::Engine as _;
    let (sk, pk) = CustodianSecretKey::derive(b"custodian-ikm-for-the-pkcs8-test");
    let raw = hex::encode(sk.to_bytes().as_slice());
    let shown = format!("{sk:?}");
    assert_eq!(shown, "CustodianSecretKey(redacted)");
    assert!(!shown.contains(&raw));

    // The PEM a browser's WebCrypto imports: the X25519 PKCS#8 prefix, then the key.
    let pem = sk
        .to_pkcs8_pem()
        .unwrap_or_else(|| panic!("an X25519 key exports"));
    assert!(CustodianSecretKey::generate_for(Suite::Gm)
        .0
        .to_pkcs8_pem()
        .is_none());
    let body: String = pem
        .strip_prefix("-----BEGIN PRIVATE KEY-----\n")
        .and_then(|p| p.strip_suffix("-----END PRIVATE KEY-----\n"))
        .unwrap_or_else(|| panic!("not a PKCS#8 PEM: {}", pem.as_str()))
        .lines()
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(der.len(), 48);
    assert_eq!(hex::encode(&der[..16]), "302e020100300506032b656e04220420");
    let again = CustodianSecretKey::from_bytes_for(Suite::Hpke, &der[16..])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(hex::encode(again.to_bytes().as_slice()), raw);
    let (_, same) = CustodianSecretKey::derive(b"custodian-ikm-for-the-pkcs8-test");
    assert_eq!(same.key_id(), pk.key_id());
}

#[test]
fn a_custodian_signs_its_key_bound_to_the_trade_byte_for_byte() {
    let (_, pk) = CustodianSecretKey::derive(b"custodian-ikm-for-the-message-test");
    let message = custodian_key_message("trade-1", &pk);
    let expected = [
        b"tradehall-custodian-key-v1".as_slice(),
        &[0],
        b"trade-1",
        &[0],
        pk.as_bytes(),
    ]
    .concat();
    assert_eq!(message, expected);
    assert_ne!(custodian_key_message("trade-2", &pk), message);
}

#[test]
fn a_share_at_zero_a_short_share_and_a_threshold_of_zero_are_refused() {
    let key = [9u8; KEY_LEN];
    let shares = split_key(&key, 2, 3, &mut rng()).unwrap_or_else(|e| panic!("{e}"));
    // A share at x = 0 would be the secret itself: whoever forged it would choose the key.
    let mut at_zero = shares[0].clone();
    at_zero[0] = 0;
    assert_eq!(
        recover_key(&[at_zero, shares[1].clone()], 2).err(),
        Some(ThresholdError::Share)
    );
    let mut short = shares[0].clone();
    short.pop();
    assert_eq!(
        recover_key(&[short, shares[1].clone()], 2).err(),
        Some(ThresholdError::Share)
    );
    assert_eq!(
        recover_key(&shares, 0).err(),
        Some(ThresholdError::NotEnoughShares)
    );
}

#[test]
fn more_shares_than_the_threshold_rebuild_the_key_and_n_of_n_is_a_committee() {
    let key = [5u8; KEY_LEN];
    let shares = split_key(&key, 2, 3, &mut rng()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        *recover_key(&shares, 2).unwrap_or_else(|e| panic!("{e}")),
        key
    );
    let all = split_key(&key, 3, 3, &mut rng()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(*recover_key(&all, 3).unwrap_or_else(|e| panic!("{e}")), key);
    assert_eq!(
        recover_key(&all[..2], 3).err(),
        Some(ThresholdError::NotEnoughShares)
    );
}
