//! Tests of `crypto::pki`.

#![allow(clippy::unwrap_used)]
use std::collections::HashSet;
use std::fs;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

use super::directory::MANIFEST;
use super::*;
use crate::crypto::cert::{parse_pem_certificates, TrustStore};

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_748_736_000, 0).unwrap()
}

fn pkcs8_from_pem(pem: &str) -> Vec<u8> {
    let mut blocks = x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes());
    let block = blocks.next().unwrap().unwrap();
    assert_eq!(block.label, "PRIVATE KEY");
    block.contents
}

#[test]
fn init_writes_a_dev_only_pki_that_loads_back() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    let layout = init_dev_pki(&dir, now(), false).unwrap();

    assert_eq!(layout.cas.len(), 2);
    assert_eq!(layout.identities.len(), 18);
    let roles: HashSet<&str> = layout.identities.iter().map(|i| i.role.as_str()).collect();
    let expected = [
        "admin",
        "trading_centre",
        "supervisor",
        "custodian",
        "expert",
        "bidder",
    ];
    assert_eq!(roles, expected.into_iter().collect());
    for ca in ["ca-a", "ca-b"] {
        assert!(layout
            .identities
            .iter()
            .any(|i| i.ca == ca && i.role == "bidder"));
    }
    let readme = fs::read_to_string(dir.join("README.txt")).unwrap();
    assert!(readme.contains("DEV ONLY"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join(MANIFEST)).unwrap()).unwrap();
    assert!(manifest["warning"].as_str().unwrap().contains("DEV ONLY"));
    assert_eq!(manifest["identities"][0]["cert"], "admin/cert.pem");

    for identity in &layout.identities {
        let cert = fs::read_to_string(&identity.cert_path).unwrap();
        let key = fs::read_to_string(&identity.key_path).unwrap();
        assert!(cert.starts_with("# DEV ONLY") && key.starts_with("# DEV ONLY"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&identity.key_path)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{}", identity.name);
        }
    }

    let loaded = load_dev_pki(&dir).unwrap();
    assert_eq!(loaded.cas, layout.cas);
    let names = |l: &DevPkiLayout| -> Vec<(String, PathBuf, PathBuf, Usci)> {
        l.identities
            .iter()
            .map(|i| {
                (
                    i.name.clone(),
                    i.cert_path.clone(),
                    i.key_path.clone(),
                    i.usci.clone(),
                )
            })
            .collect()
    };
    assert_eq!(names(&loaded), names(&layout));
}

#[test]
fn every_dev_identity_verifies_and_signs_with_its_key() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = init_dev_pki(tmp.path(), now(), false).unwrap();
    let ca_files: Vec<PathBuf> = layout.cas.iter().map(|(_, ca, _)| ca.clone()).collect();
    let crl_files: Vec<PathBuf> = layout.cas.iter().map(|(_, _, crl)| crl.clone()).collect();
    let store = TrustStore::from_files(&ca_files, &crl_files).unwrap();

    let rng = SystemRandom::new();
    let mut uscis = HashSet::new();
    for identity in &layout.identities {
        let chain =
            parse_pem_certificates(&fs::read_to_string(&identity.cert_path).unwrap()).unwrap();
        let cert = store.verify_identity(&chain, now()).unwrap();
        assert!(cert
            .issuer
            .contains(&format!("{} DEV ONLY Root CA", identity.ca)));
        assert_eq!(
            cert.organization.as_deref(),
            Some(identity.organization.as_str())
        );
        assert!(cert.subject_values.contains(&identity.usci.to_string()));
        assert!(Usci::parse(identity.usci.as_str()).is_ok());
        assert!(
            uscis.insert(identity.usci.clone()),
            "duplicate USCI {}",
            identity.usci
        );

        let pkcs8 = pkcs8_from_pem(&fs::read_to_string(&identity.key_path).unwrap());
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8, &rng).unwrap();
        let nonce = crate::crypto::digest::random_bytes::<32>();
        let signature = key.sign(&rng, &nonce).unwrap();
        cert.verify_signature(&nonce, signature.as_ref()).unwrap();
    }
}

#[test]
fn init_refuses_to_overwrite_an_existing_pki_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let first = init_dev_pki(tmp.path(), now(), false).unwrap();
    let err = init_dev_pki(tmp.path(), now(), false).unwrap_err();
    assert!(matches!(err, PkiError::AlreadyExists(_)));
    let before = fs::read(&first.identities[0].cert_path).unwrap();
    init_dev_pki(tmp.path(), now(), true).unwrap();
    assert_ne!(fs::read(&first.identities[0].cert_path).unwrap(), before);
}

#[test]
fn a_kept_root_key_issues_more_identities_that_chain_to_the_same_root() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = init_dev_pki(tmp.path(), now(), false).unwrap();
    let new = NewDevIdentity {
        name: "supervisor-kashgar".into(),
        role: crate::domain::identity::Role::Supervisor,
        organization: "喀什地区发展和改革委员会".into(),
        usci: Usci::complete("11653100MB0K12345").unwrap(),
        ca: "ca-b".into(),
    };
    let issued = issue_dev_identity(tmp.path(), &new, now()).unwrap();
    assert_eq!(issued.role, "supervisor");
    let reloaded = load_dev_pki(tmp.path()).unwrap();
    assert_eq!(reloaded.identities.len(), layout.identities.len() + 1);
    assert!(reloaded
        .identities
        .iter()
        .any(|i| i.name == "supervisor-kashgar"));

    let ca_files: Vec<PathBuf> = layout.cas.iter().map(|(_, ca, _)| ca.clone()).collect();
    let crl_files: Vec<PathBuf> = layout.cas.iter().map(|(_, _, crl)| crl.clone()).collect();
    let store = TrustStore::from_files(&ca_files, &crl_files).unwrap();
    let chain = parse_pem_certificates(&fs::read_to_string(&issued.cert_path).unwrap()).unwrap();
    let cert = store.verify_identity(&chain, now()).unwrap();
    assert!(cert.issuer.contains("ca-b DEV ONLY Root CA"));
    assert!(cert.subject_values.contains(&new.usci.to_string()));

    // The same name again is refused, and so is a root key that is not the root's.
    assert!(matches!(
        issue_dev_identity(tmp.path(), &new, now()),
        Err(PkiError::Identity(_))
    ));
    let ca_a = fs::read_to_string(tmp.path().join("ca-a/ca.pem")).unwrap();
    let key_b = fs::read_to_string(tmp.path().join("ca-b/ca.key")).unwrap();
    assert!(DevCa::from_pem("ca-a", &ca_a, &key_b).is_err());
}
