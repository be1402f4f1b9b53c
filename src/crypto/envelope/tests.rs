//! Tests of `crypto::envelope`.

use chrono::{Duration, Utc};

use super::*;
use crate::crypto::cert::TrustStore;
use crate::crypto::pki::{DevCa, IdentitySpec, IssuedIdentity, KeyUsageProfile};
use crate::crypto::threshold::{open_share, recover_key, CustodianSecretKey};
use crate::domain::usci::Usci;

fn rng() -> impl hpke::rand_core::CryptoRng {
    hpke::rand_core::UnwrapErr(getrandom::SysRng)
}

struct Fixture {
    trust: TrustStore,
    bidder: IssuedIdentity,
    custodians: Vec<(CustodianSecretKey, CustodianPublicKey)>,
}

fn fixture() -> Fixture {
    fixture_for(Suite::Hpke)
}

fn fixture_for(suite: Suite) -> Fixture {
    let now = Utc::now();
    let ca = DevCa::new(
        "Envelope Test",
        now - Duration::days(1),
        now + Duration::days(30),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let usci = Usci::complete("91650100ENQLP0001").unwrap_or_else(|e| panic!("{e}"));
    let bidder = ca
        .issue(&IdentitySpec {
            common_name: "bidder".into(),
            organization: "新疆测试建设有限公司".into(),
            usci: Some(usci),
            not_before: now - Duration::days(1),
            not_after: now + Duration::days(30),
            key_usage: KeyUsageProfile::Signing,
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let crl = ca
        .crl(&[], now - Duration::days(1), now + Duration::days(7))
        .unwrap_or_else(|e| panic!("{e}"));
    let trust = TrustStore::new(vec![ca.cert_der()], vec![crl]).unwrap_or_else(|e| panic!("{e}"));
    let custodians = (0..3)
        .map(|_| CustodianSecretKey::generate_for(suite))
        .collect();
    Fixture {
        trust,
        bidder,
        custodians,
    }
}

impl Fixture {
    /// The bidder's signature over `message` in the fixed-width r‖s form WebCrypto makes.
    fn signer_fixed_signature(&self, message: &[u8]) -> Vec<u8> {
        let rng = ring::rand::SystemRandom::new();
        let key = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &self.bidder.key_pkcs8_der,
            &rng,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        key.sign(&rng, message)
            .unwrap_or_else(|e| panic!("{e}"))
            .as_ref()
            .to_vec()
    }
}

const PRICE: i64 = 987_654_321;

fn manifest(files: Vec<FileEntry>) -> Manifest {
    Manifest {
        v: 1,
        trade: "01a2205e-3040-76cf-abb9-cd45eedc8466".into(),
        lots: vec!["1".into()],
        price: PRICE,
        currency: "CNY".into(),
        organization: Organization {
            name: "新疆测试建设有限公司".into(),
            usci: "91650100ENQLP0001".into(),
        },
        machine: "machine-fingerprint".into(),
        files,
    }
}

fn seal_with(f: &Fixture, files: &[(&str, Vec<u8>)]) -> (Vec<u8>, SealedEnvelope) {
    let mut attachments = Vec::new();
    let mut entries = Vec::new();
    for (name, content) in files {
        let (sha256, size) = hash_reader(content.as_slice()).unwrap_or_else(|e| panic!("{e}"));
        let entry = FileEntry {
            name: (*name).into(),
            sha256,
            size,
        };
        entries.push(entry.clone());
        attachments.push(Attachment {
            entry,
            content: Box::new(content.as_slice()),
        });
    }
    let request = SealRequest {
        manifest: manifest(entries),
        attachments,
        certificate_chain: vec![f.bidder.cert_der.clone()],
        committee: f.custodians.iter().map(|(_, pk)| pk.clone()).collect(),
        threshold: 2,
    };
    let signer = Signer::from_pkcs8_der(&f.bidder.key_pkcs8_der).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    let sealed =
        seal(request, &signer, &[0x42; 32], &mut rng(), &mut out).unwrap_or_else(|e| panic!("{e}"));
    (out, sealed)
}

/// What the server does on intake: structure, certificate, outer signature.
fn accept(f: &Fixture, bytes: &[u8]) -> Result<Inspected, String> {
    let inspected = inspect(bytes).map_err(|e| e.to_string())?;
    let chain = inspected.certificate_chain().map_err(|e| e.to_string())?;
    let cert = f
        .trust
        .verify_identity(&chain, Utc::now())
        .map_err(|e| e.to_string())?;
    cert.verify_signature(
        &envelope_signature_message(&inspected.body_digest.unwrap_or_default()),
        &inspected.signature,
    )
    .map_err(|e| e.to_string())?;
    Ok(inspected)
}

fn shares_from(f: &Fixture, inspected: &Inspected, which: &[usize]) -> Vec<Zeroizing<Vec<u8>>> {
    let fingerprint = crate::crypto::digest::sha256_hex(&f.bidder.cert_der);
    which
        .iter()
        .map(|&i| {
            let (sk, pk) = &f.custodians[i];
            let id = pk.key_id();
            let binding = ShareBinding {
                trade_id: &inspected.header.trade,
                custodian_key_id: &id,
                bidder_cert_fingerprint: &fingerprint,
            };
            let sealed = inspected.share_for(&id).unwrap_or_else(|e| panic!("{e}"));
            open_share(sk, &binding, &sealed).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

#[test]
fn a_sealed_bid_opens_with_two_of_three_custodians_and_not_with_one() {
    for suite in Suite::ALL {
        opens_with_two_of_three(suite);
    }
}

fn opens_with_two_of_three(suite: Suite) {
    let f = fixture_for(suite);
    let big = vec![0xAB; 3 * CHUNK_LEN + 17];
    let (bytes, sealed) = seal_with(
        &f,
        &[("技术标.pdf", big), ("商务标.pdf", b"commercial".to_vec())],
    );
    assert_eq!(sealed.len, bytes.len() as u64);
    let inspected = accept(&f, &bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(inspected.commitment, sealed.commitment);
    assert_eq!(
        hex::encode(inspected.commitment),
        crate::crypto::digest::sha256_hex(&bytes)
    );

    assert!(matches!(
        recover_key(&shares_from(&f, &inspected, &[1]), 2),
        Err(ThresholdError::NotEnoughShares)
    ));
    let key =
        recover_key(&shares_from(&f, &inspected, &[0, 2]), 2).unwrap_or_else(|e| panic!("{e}"));
    let opened = open(bytes.as_slice(), &inspected, &key).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(opened.manifest.price, PRICE);
    assert_eq!(opened.manifest.files.len(), 2);
    let cert = f
        .trust
        .verify_identity(
            &inspected.certificate_chain().unwrap_or_default(),
            Utc::now(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    cert.verify_signature(
        &manifest_signature_message(&opened.manifest_bytes),
        &opened.manifest_signature,
    )
    .unwrap_or_else(|e| panic!("the bidder signed the manifest: {e}"));
}

#[test]
fn suite_2_seals_shares_with_sm2_and_digests_with_sm3() {
    let f = fixture_for(Suite::Gm);
    let (bytes, sealed) = seal_with(&f, &[("a.txt", b"attachment".to_vec())]);
    let inspected = accept(&f, &bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(inspected.header.suite, "SM2-C1C3C2/SM3/SM4-GCM");
    for share in &inspected.header.shares {
        assert_eq!(share.enc, None);
        assert_eq!(
            unb64(&share.ct, "ct").map(|c| c.len()).ok(),
            Some(65 + 32 + 65)
        );
    }
    // Header and body digests are SM3; the commitment stays SHA-256.
    let header_end = usize::try_from(inspected.payload_offset).unwrap_or(0) - 8;
    assert_eq!(inspected.header_digest, gm::sm3(&bytes[..header_end]));
    let body_end = bytes.len() - 2 - inspected.signature.len();
    assert_eq!(inspected.body_digest, Some(gm::sm3(&bytes[..body_end])));
    // The opening's reading: the same header digest and commitment, no body digest.
    let stored = inspect_stored(bytes.as_slice()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (stored.header_digest, stored.commitment, stored.body_digest),
        (inspected.header_digest, inspected.commitment, None)
    );
    assert_eq!(
        hex::encode(sealed.commitment),
        crate::crypto::digest::sha256_hex(&bytes)
    );
    // A share cannot be opened as suite 1's, nor a suite-1 custodian key take a suite-2 share.
    let header = read_header(bytes.as_slice()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(header.suite(), Suite::Gm);
}

#[test]
fn a_committee_of_two_suites_is_refused_and_headers_must_match_their_suite() {
    let f = fixture();
    let (bytes, _) = seal_with(&f, &[]);
    let mut committee: Vec<CustodianPublicKey> =
        f.custodians.iter().map(|(_, pk)| pk.clone()).collect();
    committee[1] = CustodianSecretKey::generate_for(Suite::Gm).1;
    let request = SealRequest {
        manifest: manifest(vec![]),
        attachments: vec![],
        certificate_chain: vec![f.bidder.cert_der.clone()],
        committee,
        threshold: 2,
    };
    let signer = Signer::from_pkcs8_der(&f.bidder.key_pkcs8_der).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        seal(request, &signer, &[1; 32], &mut rng(), io::sink()),
        Err(EnvelopeError::Format(_))
    ));
    // A header whose shares are not sealed as its suite says is refused.
    let header = read_header(bytes.as_slice()).unwrap_or_else(|e| panic!("{e}"));
    let framed = |header: &Header| {
        let json = serde_json::to_vec(header).unwrap_or_default();
        let h = u32::try_from(json.len()).unwrap_or(0).to_be_bytes();
        [MAGIC.as_slice(), &VERSION.to_be_bytes(), &h, &json].concat()
    };
    assert!(read_header(framed(&header).as_slice()).is_ok());
    let renamed = Header {
        suite: Suite::Gm.name().into(),
        ..header.clone()
    };
    assert!(read_header(framed(&renamed).as_slice()).is_err());
    let mut stripped = header;
    for share in &mut stripped.shares {
        share.enc = None;
    }
    assert!(read_header(framed(&stripped).as_slice()).is_err());
}

#[test]
fn the_price_is_nowhere_in_the_envelope_bytes() {
    let f = fixture();
    let (bytes, _) = seal_with(&f, &[]);
    let price = PRICE.to_string();
    assert!(!bytes.windows(price.len()).any(|w| w == price.as_bytes()));
}

#[test]
fn a_single_flipped_byte_anywhere_is_refused() {
    for suite in Suite::ALL {
        flipped_bytes_are_refused(suite);
    }
}

fn flipped_bytes_are_refused(suite: Suite) {
    let f = fixture_for(suite);
    let (bytes, _) = seal_with(&f, &[("a.txt", b"attachment".to_vec())]);
    assert!(accept(&f, &bytes).is_ok());
    for i in 0..bytes.len() {
        let mut tampered = bytes.clone();
        tampered[i] ^= 0x01;
        assert!(
            accept(&f, &tampered).is_err(),
            "flipping byte {i} of {} went unnoticed",
            bytes.len()
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(accept(&f, &longer).is_err());
    assert!(accept(&f, &bytes[..bytes.len() - 1]).is_err());
}

#[test]
fn an_attachment_that_changed_after_hashing_is_refused() {
    let f = fixture();
    let entry = FileEntry {
        name: "a.txt".into(),
        sha256: crate::crypto::digest::sha256_hex(b"original"),
        size: 8,
    };
    let request = SealRequest {
        manifest: manifest(vec![entry.clone()]),
        attachments: vec![Attachment {
            entry,
            content: Box::new(&b"modified"[..]),
        }],
        certificate_chain: vec![f.bidder.cert_der.clone()],
        committee: f.custodians.iter().map(|(_, pk)| pk.clone()).collect(),
        threshold: 2,
    };
    let signer = Signer::from_pkcs8_der(&f.bidder.key_pkcs8_der).unwrap_or_else(|e| panic!("{e}"));
    let result = seal(request, &signer, &[1; 32], &mut rng(), io::sink());
    assert!(matches!(result, Err(EnvelopeError::Attachment { .. })));
}

#[test]
fn an_envelope_without_key_shares_is_not_encrypted_and_is_refused() {
    let f = fixture();
    let (bytes, _) = seal_with(&f, &[]);
    let inspected = inspect(bytes.as_slice()).unwrap_or_else(|e| panic!("{e}"));
    let mut header = inspected.header.clone();
    header.shares.clear();
    let header_bytes = serde_json::to_vec(&header).unwrap_or_default();
    let mut forged = MAGIC.to_vec();
    forged.extend_from_slice(&VERSION.to_be_bytes());
    forged.extend_from_slice(&(header_bytes.len() as u32).to_be_bytes());
    forged.extend_from_slice(&header_bytes);
    forged.extend_from_slice(&bytes[inspected.payload_offset as usize - 8..]);
    let err = inspect(forged.as_slice())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("not encrypted"), "{err}");
}

#[test]
fn a_wrong_key_is_told_apart_from_a_short_envelope() {
    let f = fixture();
    let (bytes, _) = seal_with(&f, &[("a.txt", b"attachment".to_vec())]);
    let inspected = accept(&f, &bytes).unwrap_or_else(|e| panic!("{e}"));
    // A custodian's wrong share rebuilds another key: the first chunk does not
    // authenticate, which is not an envelope that ends early.
    let wrong = Zeroizing::new([7u8; 32]);
    match open(bytes.as_slice(), &inspected, &wrong) {
        Err(EnvelopeError::Unauthentic(_)) => {}
        Err(other) => panic!("a wrong key read as {other}"),
        Ok(_) => panic!("opened with a wrong key"),
    }
    let key =
        recover_key(&shares_from(&f, &inspected, &[0, 1]), 2).unwrap_or_else(|e| panic!("{e}"));
    // The bidder's signature: DER, as the protocol says; its fixed-width r‖s form is not
    // taken for a bid.
    let opened = open(bytes.as_slice(), &inspected, &key).unwrap_or_else(|e| panic!("{e}"));
    let chain = inspected.certificate_chain().unwrap_or_default();
    let message = manifest_signature_message(&opened.manifest_bytes);
    crate::crypto::cert::verify_der_with_certificate(
        &chain[0],
        &message,
        &opened.manifest_signature,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let fixed = f.signer_fixed_signature(&message);
    assert!(crate::crypto::cert::verify_with_certificate(&chain[0], &message, &fixed).is_ok());
    assert!(crate::crypto::cert::verify_der_with_certificate(&chain[0], &message, &fixed).is_err());
}

/// A writer that keeps what it is given and whether it was flushed.
#[derive(Default)]
struct Recorder {
    bytes: Vec<u8>,
    flushed: bool,
}

impl std::io::Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.flushed = false;
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.flushed = true;
        Ok(())
    }
}

#[test]
fn sealing_flushes_the_writer_it_was_given() {
    let f = fixture();
    let request = SealRequest {
        manifest: manifest(vec![]),
        attachments: vec![],
        certificate_chain: vec![f.bidder.cert_der.clone()],
        committee: f.custodians.iter().map(|(_, pk)| pk.clone()).collect(),
        threshold: 2,
    };
    let signer = Signer::from_pkcs8_der(&f.bidder.key_pkcs8_der).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Recorder::default();
    let sealed =
        seal(request, &signer, &[0x42; 32], &mut rng(), &mut out).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.flushed,
        "the envelope's last bytes were left in a buffer"
    );
    assert_eq!(sealed.len, out.bytes.len() as u64);
}

#[test]
fn a_manifest_listing_a_file_that_is_not_attached_is_not_sealed() {
    let f = fixture();
    let (sha256, size) = hash_reader(b"plans".as_slice()).unwrap_or_else(|e| panic!("{e}"));
    let listed = FileEntry {
        name: "技术标.pdf".into(),
        sha256,
        size,
    };
    let request = SealRequest {
        manifest: manifest(vec![listed]),
        attachments: vec![],
        certificate_chain: vec![f.bidder.cert_der.clone()],
        committee: f.custodians.iter().map(|(_, pk)| pk.clone()).collect(),
        threshold: 2,
    };
    let signer = Signer::from_pkcs8_der(&f.bidder.key_pkcs8_der).unwrap_or_else(|e| panic!("{e}"));
    let refused = seal(request, &signer, &[0x42; 32], &mut rng(), &mut Vec::new());
    assert!(
        refused.is_err_and(|e| e.to_string().contains("files and the attachments differ")),
        "a manifest naming a file the envelope does not carry was sealed"
    );
}

#[test]
fn the_signed_messages_are_the_labels_of_the_protocol_then_the_bytes() {
    // docs/protocol.md: "tradehall-manifest-v1" and "tradehall-envelope-v1", each with a
    // NUL, before what is signed.
    assert_eq!(
        manifest_signature_message(b"{\"v\":1}"),
        b"tradehall-manifest-v1\0{\"v\":1}".to_vec()
    );
    assert_eq!(
        envelope_signature_message(&[7; 32]),
        [b"tradehall-envelope-v1\0".as_slice(), &[7; 32]].concat()
    );
}

#[test]
fn an_envelope_cut_short_is_a_format_error_that_says_so() {
    let f = fixture();
    let (bytes, _) = seal_with(&f, &[]);
    // Within the magic, the version and the header length.
    for cut in [5, 9, 12] {
        match read_header(&bytes[..cut]) {
            Err(EnvelopeError::Format(m)) => assert!(m.contains("ends early"), "{m}"),
            other => panic!("{cut} bytes read as {other:?}"),
        }
    }
}

/// A change to an envelope's header, as JSON.
type HeaderChange = Box<dyn FnOnce(&mut serde_json::Value)>;

/// `bytes` with its header changed by `change` (magic, version and length kept in form).
fn with_header(bytes: &[u8], change: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let h = u32::from_be_bytes(bytes[10..14].try_into().unwrap_or_default()) as usize;
    let mut header: serde_json::Value =
        serde_json::from_slice(&bytes[14..14 + h]).unwrap_or_else(|e| panic!("{e}"));
    change(&mut header);
    let header = serde_json::to_vec(&header).unwrap_or_default();
    let mut out = bytes[..10].to_vec();
    out.extend_from_slice(
        &u32::try_from(header.len())
            .unwrap_or_default()
            .to_be_bytes(),
    );
    out.extend_from_slice(&header);
    out.extend_from_slice(&bytes[14 + h..]);
    out
}

#[test]
fn a_header_off_the_suite_or_not_k_of_n_is_refused_each_alone() {
    let f = fixture();
    let (bytes, _) = seal_with(&f, &[]);
    assert!(read_header(with_header(&bytes, |_| {}).as_slice()).is_ok());
    assert_eq!(
        read_header(bytes.as_slice()).map(|h| h.shares.len()).ok(),
        Some(3)
    );
    // 3 of 3 is a committee.
    assert!(read_header(with_header(&bytes, |h| h["threshold"] = 3.into()).as_slice()).is_ok());
    let refused: [(&str, HeaderChange); 5] = [
        (
            "another suite",
            Box::new(|h| h["suite"] = "DHKEM(P-256)".into()),
        ),
        (
            "another chunk length",
            Box::new(|h| h["chunk_len"] = 4096.into()),
        ),
        (
            "no shares",
            Box::new(|h| h["shares"] = serde_json::json!([])),
        ),
        ("threshold 0", Box::new(|h| h["threshold"] = 0.into())),
        ("threshold above n", Box::new(|h| h["threshold"] = 4.into())),
    ];
    for (what, change) in refused {
        match read_header(with_header(&bytes, change).as_slice()) {
            Err(EnvelopeError::Format(_)) => {}
            other => panic!("{what}: {other:?}"),
        }
    }
}

#[test]
fn an_envelope_cut_in_its_payload_is_not_taken_for_a_wrong_key() {
    let f = fixture();
    let (bytes, _) = seal_with(&f, &[("a.txt", vec![0x61; 100_000])]);
    let inspected = accept(&f, &bytes).unwrap_or_else(|e| panic!("{e}"));
    let key =
        recover_key(&shares_from(&f, &inspected, &[0, 1]), 2).unwrap_or_else(|e| panic!("{e}"));
    let cut = &bytes[..bytes.len() / 2];
    match open(cut, &inspected, &key) {
        Err(EnvelopeError::Unauthentic(m)) => panic!("a cut envelope read as a wrong key: {m}"),
        Err(_) => {}
        Ok(_) => panic!("a cut envelope opened"),
    }
}

#[test]
fn a_header_longer_than_the_bound_is_refused_before_it_is_read() {
    let head = |h: u32| {
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&VERSION.to_be_bytes());
        b.extend_from_slice(&h.to_be_bytes());
        b
    };
    match read_header(head(MAX_HEADER_LEN + 1).as_slice()) {
        Err(EnvelopeError::Format(m)) => assert_eq!(m, "header too large"),
        other => panic!("{other:?}"),
    }
    // At the bound it is read (here: and found missing).
    match read_header(head(MAX_HEADER_LEN).as_slice()) {
        Err(EnvelopeError::Format(m)) => assert_eq!(m, "envelope ends in the header"),
        other => panic!("{other:?}"),
    }
}
