//! Tests of `crypto::cert`.

#![allow(clippy::unwrap_used)]
use chrono::Duration;
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P256_SHA256_FIXED_SIGNING,
};

use std::slice::from_ref;

use super::*;
use crate::crypto::pki::{DevCa, IdentitySpec, IssuedIdentity, KeyUsageProfile};
use crate::domain::usci::Usci;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_748_736_000, 0).unwrap()
}

fn ca(name: &str) -> DevCa {
    DevCa::new(
        name,
        now() - Duration::days(1),
        now() + Duration::days(3650),
    )
    .unwrap()
}

fn spec(profile: KeyUsageProfile) -> IdentitySpec {
    IdentitySpec {
        common_name: "投标人甲".into(),
        organization: "新疆天山建设工程有限公司".into(),
        usci: Some(Usci::complete("91650100MA77TH0Y1").unwrap()),
        not_before: now() - Duration::days(1),
        not_after: now() + Duration::days(730),
        key_usage: profile,
    }
}

fn crl(ca: &DevCa, revoked: &[Vec<u8>]) -> Vec<u8> {
    ca.crl(
        revoked,
        now() - Duration::hours(1),
        now() + Duration::days(30),
    )
    .unwrap()
}

fn store(with_crl: &[&DevCa], without_crl: &[&DevCa]) -> TrustStore {
    let roots = with_crl
        .iter()
        .chain(without_crl)
        .map(|ca| ca.cert_der())
        .collect();
    let crls = with_crl.iter().map(|ca| crl(ca, &[])).collect();
    TrustStore::new(roots, crls).unwrap()
}

fn code(store: &TrustStore, issued: &IssuedIdentity) -> &'static str {
    store
        .verify_identity(from_ref(&issued.cert_der), now())
        .unwrap_err()
        .code()
}

#[test]
fn a_certificate_from_either_recognised_ca_is_accepted() {
    let (a, b) = (ca("ca-a"), ca("ca-b"));
    let store = store(&[&a, &b], &[]);
    for issuer in [&a, &b] {
        let issued = issuer.issue(&spec(KeyUsageProfile::Signing)).unwrap();
        let cert = store
            .verify_identity(from_ref(&issued.cert_der), now())
            .unwrap();
        assert_eq!(
            cert.fingerprint,
            crate::crypto::digest::sha256_hex(&issued.cert_der)
        );
        assert_eq!(cert.common_name.as_deref(), Some("投标人甲"));
        assert_eq!(
            cert.organization.as_deref(),
            Some("新疆天山建设工程有限公司")
        );
        let usci = Usci::complete("91650100MA77TH0Y1").unwrap().to_string();
        assert!(
            cert.subject_values.contains(&usci),
            "{:?}",
            cert.subject_values
        );
        assert_eq!(cert.serial_hex, hex::encode(&issued.serial));
        assert!(
            cert.subject.starts_with("CN=投标人甲,serialNumber="),
            "{}",
            cert.subject
        );
        assert!(cert.issuer.contains("DEV ONLY Root CA"));
        assert_eq!(cert.not_after, now() + Duration::days(730));
    }
}

#[test]
fn a_revoked_certificate_is_refused() {
    let a = ca("ca-a");
    let issued = a.issue(&spec(KeyUsageProfile::Signing)).unwrap();
    let store =
        TrustStore::new(vec![a.cert_der()], vec![crl(&a, from_ref(&issued.serial))]).unwrap();
    assert_eq!(code(&store, &issued), "certificate_revoked");
}

#[test]
fn the_newest_crl_of_a_ca_wins_whatever_the_configured_order() {
    let a = ca("ca-a");
    let issued = a.issue(&spec(KeyUsageProfile::Signing)).unwrap();
    let old = a
        .crl(&[], now() - Duration::days(2), now() + Duration::days(30))
        .unwrap();
    let new = crl(&a, from_ref(&issued.serial));
    let store = TrustStore::new(vec![a.cert_der()], vec![old.clone(), new.clone()]).unwrap();
    assert_eq!(code(&store, &issued), "certificate_revoked");
    let store = TrustStore::new(vec![a.cert_der()], vec![new, old.clone()]).unwrap();
    assert_eq!(code(&store, &issued), "certificate_revoked");
    // And the other way about: a newer CRL that no longer lists the serial (the
    // revocation was a hold, lifted) wins over an older one that does.
    let held = a
        .crl(
            from_ref(&issued.serial),
            now() - Duration::days(3),
            now() + Duration::days(30),
        )
        .unwrap();
    let lifted = a
        .crl(&[], now() - Duration::days(1), now() + Duration::days(30))
        .unwrap();
    for order in [vec![held.clone(), lifted.clone()], vec![lifted, held]] {
        let store = TrustStore::new(vec![a.cert_der()], order).unwrap();
        assert!(store
            .verify_identity(from_ref(&issued.cert_der), now())
            .is_ok());
    }
}

#[test]
fn expired_and_not_yet_valid_certificates_are_refused() {
    let a = ca("ca-a");
    let store = store(&[&a], &[]);
    let mut past = spec(KeyUsageProfile::Signing);
    past.not_before = now() - Duration::days(30);
    past.not_after = now() - Duration::days(1);
    assert_eq!(
        code(&store, &a.issue(&past).unwrap()),
        "certificate_expired"
    );
    let mut future = spec(KeyUsageProfile::Signing);
    future.not_before = now() + Duration::days(1);
    assert_eq!(
        code(&store, &a.issue(&future).unwrap()),
        "certificate_not_yet_valid"
    );
}

#[test]
fn a_certificate_from_an_unrecognised_ca_is_refused() {
    let (a, c) = (ca("ca-a"), ca("ca-c"));
    let store = store(&[&a], &[]);
    let issued = c.issue(&spec(KeyUsageProfile::Signing)).unwrap();
    assert_eq!(code(&store, &issued), "certificate_unknown_ca");
}

#[test]
fn a_certificate_from_an_impostor_ca_with_the_same_name_is_refused() {
    let (a, impostor) = (ca("ca-a"), ca("ca-a"));
    let store = store(&[&a], &[]);
    let issued = impostor.issue(&spec(KeyUsageProfile::Signing)).unwrap();
    assert_eq!(code(&store, &issued), "certificate_unknown_ca");
}

#[test]
fn without_a_current_crl_of_the_issuer_revocation_is_unknown() {
    let (a, b) = (ca("ca-a"), ca("ca-b"));
    let issued = b.issue(&spec(KeyUsageProfile::Signing)).unwrap();
    assert_eq!(
        code(&store(&[&a], &[&b]), &issued),
        "certificate_revocation_unknown"
    );
    assert_eq!(
        code(&store(&[], &[&b]), &issued),
        "certificate_revocation_unknown"
    );
    let stale = b
        .crl(&[], now() - Duration::days(60), now() - Duration::days(30))
        .unwrap();
    let store = TrustStore::new(vec![b.cert_der()], vec![stale]).unwrap();
    assert_eq!(code(&store, &issued), "certificate_revocation_unknown");
}

#[test]
fn certificates_not_meant_for_signing_are_refused() {
    let a = ca("ca-a");
    let store = store(&[&a], &[]);
    for profile in [KeyUsageProfile::EncipherOnly, KeyUsageProfile::ServerOnly] {
        let issued = a.issue(&spec(profile)).unwrap();
        assert_eq!(
            code(&store, &issued),
            "certificate_wrong_key_usage",
            "{profile:?}"
        );
    }
}

#[test]
fn garbage_and_empty_chains_are_malformed() {
    let store = store(&[&ca("ca-a")], &[]);
    let err = store
        .verify_identity(&[b"not a certificate".to_vec()], now())
        .unwrap_err();
    assert_eq!(err.code(), "certificate_malformed");
    assert_eq!(
        store.verify_identity(&[], now()).unwrap_err().code(),
        "certificate_malformed"
    );
}

#[test]
fn ecdsa_signatures_verify_in_der_and_fixed_form_and_only_with_the_right_key() {
    let a = ca("ca-a");
    let store = store(&[&a], &[]);
    let issued = a.issue(&spec(KeyUsageProfile::Signing)).unwrap();
    let other = a.issue(&spec(KeyUsageProfile::Signing)).unwrap();
    let cert = store
        .verify_identity(from_ref(&issued.cert_der), now())
        .unwrap();
    let rng = SystemRandom::new();
    let message = b"nonce 5f0c";
    for alg in [
        &ECDSA_P256_SHA256_ASN1_SIGNING,
        &ECDSA_P256_SHA256_FIXED_SIGNING,
    ] {
        let key = EcdsaKeyPair::from_pkcs8(alg, &issued.key_pkcs8_der, &rng).unwrap();
        let sig = key.sign(&rng, message).unwrap();
        cert.verify_signature(message, sig.as_ref()).unwrap();
        let err = cert
            .verify_signature(b"nonce 5f0d", sig.as_ref())
            .unwrap_err();
        assert_eq!(err.code(), "signature_invalid");
        let key = EcdsaKeyPair::from_pkcs8(alg, &other.key_pkcs8_der, &rng).unwrap();
        let sig = key.sign(&rng, message).unwrap();
        let err = cert.verify_signature(message, sig.as_ref()).unwrap_err();
        assert_eq!(err.code(), "signature_invalid");
    }
}

#[test]
fn p384_and_ed25519_signatures_verify() {
    let rng = SystemRandom::new();
    let message = b"nonce 7a1b";
    for alg in [&rcgen::PKCS_ECDSA_P384_SHA384, &rcgen::PKCS_ED25519] {
        let key = rcgen::KeyPair::generate_for(alg).unwrap();
        let der = rcgen::CertificateParams::new(vec![])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let cert = VerifiedCertificate {
            der: der.der().to_vec(),
            fingerprint: String::new(),
            subject: String::new(),
            common_name: None,
            organization: None,
            subject_values: vec![],
            issuer: String::new(),
            serial_hex: String::new(),
            not_after: now(),
        };
        let pkcs8 = key.serialize_der();
        let signatures: Vec<Vec<u8>> = if alg == &rcgen::PKCS_ED25519 {
            let pair = signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8).unwrap();
            vec![pair.sign(message).as_ref().to_vec()]
        } else {
            [
                &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            ]
            .into_iter()
            .map(|a| {
                let pair = EcdsaKeyPair::from_pkcs8(a, &pkcs8, &rng).unwrap();
                pair.sign(&rng, message).unwrap().as_ref().to_vec()
            })
            .collect()
        };
        for sig in signatures {
            cert.verify_signature(message, &sig).unwrap();
            assert!(cert.verify_signature(b"other", &sig).is_err());
        }
    }
}

#[test]
fn pem_chains_parse_and_the_store_debug_output_holds_no_bytes() {
    let a = ca("ca-a");
    let issued = a.issue(&spec(KeyUsageProfile::Signing)).unwrap();
    let chain = parse_pem_certificates(&format!("{}{}", issued.cert_pem, a.cert_pem())).unwrap();
    assert_eq!(chain, vec![issued.cert_der, a.cert_der()]);
    assert_eq!(
        parse_pem_certificates("").unwrap_err().code(),
        "certificate_malformed"
    );
    let debug = format!("{:?}", store(&[&a], &[]));
    assert!(
        debug.contains("ca-a DEV ONLY Root CA") && debug.len() < 200,
        "{debug}"
    );
}

#[test]
fn an_end_entity_certificate_cannot_be_configured_as_a_root() {
    let issued = ca("ca-a").issue(&spec(KeyUsageProfile::Signing)).unwrap();
    let err = TrustStore::new(vec![issued.cert_der], vec![]).unwrap_err();
    assert_eq!(err.code(), "trust_store_invalid");
    let err = TrustStore::new(vec![], vec![b"junk".to_vec()]).unwrap_err();
    assert_eq!(err.code(), "trust_store_invalid");
}
