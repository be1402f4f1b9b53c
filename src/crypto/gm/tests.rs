//! The worked examples of the standards, reproduced with the module's own functions.

use super::*;
use aes_gcm::aead::{AeadInOut as _, KeyInit as _};
use sm2::elliptic_curve::ops::Reduce as _;
use sm2::elliptic_curve::point::AffineCoordinates as _;
use sm2::elliptic_curve::PrimeField as _;

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    hex::decode(s).unwrap_or_else(|e| panic!("{e}"))
}

fn scalar(hex: &str) -> sm2::Scalar {
    let bytes: [u8; 32] = unhex(hex).try_into().unwrap_or_else(|_| panic!("32 bytes"));
    Option::from(sm2::Scalar::from_repr(bytes.into())).unwrap_or_else(|| panic!("a scalar"))
}

#[test]
fn sm3_reproduces_the_examples_of_gb_t_32905() {
    // GB/T 32905-2016 Appendix A.1 and A.2.
    assert_eq!(
        hex::encode(sm3(b"abc")),
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    );
    let long = b"abcd".repeat(16);
    assert_eq!(
        hex::encode(sm3(&long)),
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    );
    let mut incremental = Sm3::default();
    for chunk in long.chunks(7) {
        incremental.update(chunk);
    }
    assert_eq!(incremental.finish(), sm3(&long));
}

#[test]
fn sm4_reproduces_the_examples_of_gb_t_32907() {
    use sm4::cipher::{BlockCipherEncrypt as _, KeyInit as _};
    // GB/T 32907-2016 Appendix A: the key is also the plaintext; once, then 1,000,000 times.
    let key = unhex("0123456789abcdeffedcba9876543210");
    let cipher = sm4::Sm4::new_from_slice(&key).unwrap_or_else(|e| panic!("{e}"));
    let mut block =
        sm4::cipher::Block::<sm4::Sm4>::try_from(key.as_slice()).unwrap_or_else(|e| panic!("{e}"));
    cipher.encrypt_block(&mut block);
    assert_eq!(hex::encode(block), "681edf34d206965e86b3e94f536e4246");
    for _ in 1..1_000_000 {
        cipher.encrypt_block(&mut block);
    }
    assert_eq!(hex::encode(block), "595298c7c6fd271f0402f804c33d3f66");
}

#[test]
fn sm4_gcm_reproduces_the_example_of_rfc_8998() {
    // RFC 8998 Appendix A.1.
    let key = unhex("0123456789ABCDEFFEDCBA9876543210");
    let nonce = unhex("00001234567800000000ABCD");
    let aad = unhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2");
    let plaintext = unhex(
        "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB CCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD
         EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFF EEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA",
    );
    let cipher = Sm4Gcm::new_from_slice(&key).unwrap_or_else(|e| panic!("{e}"));
    let nonce = aes_gcm::Nonce::<U12>::try_from(nonce.as_slice()).unwrap_or_else(|e| panic!("{e}"));
    let mut buffer = plaintext.clone();
    let tag = cipher
        .encrypt_inout_detached(&nonce, &aad, buffer.as_mut_slice().into())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        hex::encode_upper(&buffer),
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735\
         D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
    );
    assert_eq!(hex::encode_upper(tag), "83DE3541E4C2B58177E065A9BF7B62EC");
    cipher
        .decrypt_inout_detached(&nonce, &aad, buffer.as_mut_slice().into(), &tag)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(buffer, plaintext);
    let mut tampered = buffer.clone();
    tampered[0] ^= 1;
    assert!(cipher
        .decrypt_inout_detached(&nonce, &aad, tampered.as_mut_slice().into(), &tag)
        .is_err());
}

/// The key of GB/T 32918.5-2017 Appendix A (GM/T 0003.5-2012), on the recommended curve.
const D: &str = "3945208F 7B2144B1 3F36E38A C6D39F95 88939369 2860B51A 42FB81EF 4DF7C5B8";
const PUBLIC: &str = "04
    09F9DF31 1E5421A1 50DD7D16 1E4BC5C6 72179FAD 1833FC07 6BB08FF3 56F35020
    CCEA490C E26775A5 2DC6EA71 8CC1AA60 0AED05FB F35E084A 6632F607 2DA9AD13";
/// The random k of both examples.
const K: &str = "59276E27 D506861A 16680F3A D9C02DCC EF3CC1FA 3CDBE4CE 6D54B80D EAC1BC21";

#[test]
fn sm2_signature_reproduces_the_example_of_gb_t_32918() {
    let public = unhex(PUBLIC);
    let key = SigningKey::from_bytes(&unhex(D)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(key.public_key().as_slice(), public.as_slice());

    // A1–A2: Z_A over the default ID and the curve, then e = SM3(Z_A ‖ M).
    let curve = unhex(
        "FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF 00000000 FFFFFFFF FFFFFFFC
         28E9FA9E 9D9F5E34 4D5A9E4B CF6509A7 F39789F5 15AB8F92 DDBCBD41 4D940E93
         32C4AE2C 1F198119 5F990446 6A39C994 8FE30BBF F2660BE1 715A4589 334C74C7
         BC3736A2 F4F6779C 59BDCEE3 6B692153 D0A9877C C62A4740 02DF32E5 2139F0A0",
    );
    let z = sm3(&[
        &[0x00, 0x80],
        DEFAULT_DISTID.as_bytes(),
        &curve,
        &public[1..],
    ]
    .concat());
    assert_eq!(
        hex::encode_upper(z),
        "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3"
    );
    let message = b"message digest";
    let e = sm3(&[z.as_slice(), message].concat());
    assert_eq!(
        hex::encode_upper(e),
        "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640"
    );
    // A3–A6 with the example's k: r = (e + x1) mod n, s = (1 + d)⁻¹ (k − r·d) mod n.
    let (d, k) = (scalar(D), scalar(K));
    let x1 = (sm2::ProjectivePoint::GENERATOR * k).to_affine().x();
    let r = sm2::Scalar::reduce(&sm2::FieldBytes::from(e)) + sm2::Scalar::reduce(&x1);
    let s = (sm2::Scalar::ONE + d).invert().unwrap_or(sm2::Scalar::ZERO) * (k - r * d);
    assert_eq!(
        hex::encode_upper(r.to_repr()),
        "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
    );
    assert_eq!(
        hex::encode_upper(s.to_repr()),
        "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
    );
    // B1–B7: the example's signature verifies with the platform's verifier; nothing else does.
    let signature = sm2::dsa::Signature::from_scalars(r.to_repr(), s.to_repr())
        .unwrap_or_else(|e| panic!("{e}"))
        .to_der()
        .to_vec();
    assert!(verify(&public, DEFAULT_DISTID, message, &signature));
    assert!(!verify(
        &public,
        DEFAULT_DISTID,
        b"message digesT",
        &signature
    ));
    assert!(!verify(&public, "ALICE123@YAHOO.COM", message, &signature));
    // Our own signatures verify too, and differ from the example's (another k).
    let ours = key.sign(message);
    assert!(verify(&public, DEFAULT_DISTID, message, &ours));
    assert_ne!(ours, signature);
}

#[test]
fn sm2_encryption_reproduces_the_example_of_gb_t_32918() {
    let key = DecryptionKey::from_bytes(&unhex(D)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(key.public_key().as_slice(), unhex(PUBLIC).as_slice());
    // C1 = [k]G, C3 = SM3(x2 ‖ M ‖ y2), C2 = M ⊕ KDF(x2 ‖ y2): the example's ciphertext,
    // in the C1C3C2 order.
    let c1 = unhex(
        "04 04EBFC71 8E8D1798 62043226 8E77FEB6 415E2EDE 0E073C0F 4F640ECD 2E149A73
            E858F9D8 1E5430A5 7B36DAAB 8F950A3C 64E6EE6A 63094D99 283AFF76 7E124DF0",
    );
    let c1_from_k = (sm2::ProjectivePoint::GENERATOR * scalar(K)).to_affine();
    assert_eq!(sec1_bytes(&c1_from_k).as_slice(), c1.as_slice());
    let c3 = unhex("59983C18 F809E262 923C53AE C295D303 83B54E39 D609D160 AFCB1908 D0BD8766");
    let c2 = unhex("21886CA9 89CA9C7D 58087307 CA93092D 651EFA");
    let ciphertext = [c1, c3, c2].concat();
    assert_eq!(
        key.decrypt(&ciphertext)
            .unwrap_or_else(|e| panic!("{e}"))
            .as_slice(),
        b"encryption standard"
    );
    let mut tampered = ciphertext.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert_eq!(key.decrypt(&tampered).map(|_| ()), Err(GmError::Decrypt));

    // A round trip through our encryption: fresh k, same plaintext back, 97 bytes longer.
    let mut rng = hpke::rand_core::UnwrapErr(getrandom::SysRng);
    let ours = encrypt(&key.public_key(), b"encryption standard", &mut rng)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ours.len(), 19 + 97);
    assert_eq!(
        key.decrypt(&ours)
            .unwrap_or_else(|e| panic!("{e}"))
            .as_slice(),
        b"encryption standard"
    );
    let other = DecryptionKey::generate();
    assert_eq!(other.decrypt(&ours).map(|_| ()), Err(GmError::Decrypt));
}

#[test]
fn public_keys_must_be_uncompressed_points_on_the_curve() {
    let public = unhex(PUBLIC);
    assert!(check_public_key(&public).is_ok());
    let mut off_curve = public.clone();
    off_curve[64] ^= 1;
    assert_eq!(check_public_key(&off_curve), Err(GmError::PublicKey));
    assert_eq!(check_public_key(&public[..33]), Err(GmError::PublicKey));
    assert_eq!(check_public_key(&[0u8; 65]), Err(GmError::PublicKey));
}
