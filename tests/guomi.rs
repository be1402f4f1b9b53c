//! Suite 2 (国密) checked by an independent implementation: the `openssl` command line
//! (OpenSSL 3) verifies the SM2 signatures and decrypts an SM2-sealed share that the
//! platform's own sealer made, from keys OpenSSL generated.

use std::path::Path;
use std::process::Command;

use tradehall::crypto::envelope::{
    self, envelope_signature_message, manifest_signature_message, Manifest, Organization,
    SealRequest,
};
use tradehall::crypto::signer::Signer;
use tradehall::crypto::threshold::{open_share, recover_key, CustodianSecretKey, ShareBinding};
use tradehall::domain::suite::Suite;

fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl (./test.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "openssl {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
}

const ID: &str = "distid:1234567812345678";

/// An SM2 key and a self-signed SM2 certificate for it, made by OpenSSL.
fn sm2_identity(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:SM2",
            "-out",
            &format!("{name}.key"),
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-x509",
            "-key",
            &format!("{name}.key"),
            "-sm3",
            "-sigopt",
            ID,
            "-days",
            "30",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "keyUsage=critical,digitalSignature",
            "-out",
            &format!("{name}.pem"),
        ],
    );
    openssl(
        dir,
        &[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            &format!("{name}.key"),
            "-outform",
            "DER",
            "-out",
            &format!("{name}.pk8"),
        ],
    );
}

/// DER of a length.
fn der_len(n: usize) -> Vec<u8> {
    match n {
        0..=127 => vec![n as u8],
        128..=255 => vec![0x81, n as u8],
        _ => vec![0x82, (n >> 8) as u8, n as u8],
    }
}

fn der(tag: u8, body: &[u8]) -> Vec<u8> {
    [&[tag][..], &der_len(body.len()), body].concat()
}

/// A positive DER INTEGER of big-endian `bytes`.
fn der_integer(bytes: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let body = if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
        [&[0u8][..], &trimmed].concat()
    } else {
        trimmed
    };
    der(0x02, &body)
}

/// GM/T 0009's `SM2Cipher ::= SEQUENCE { x INTEGER, y INTEGER, hash OCTET STRING,
/// ciphertext OCTET STRING }` from the raw C1 ‖ C3 ‖ C2 our envelope carries.
fn sm2_cipher_der(raw: &[u8]) -> Vec<u8> {
    assert_eq!(raw[0], 0x04, "C1 is an uncompressed point");
    let (x, y, c3, c2) = (&raw[1..33], &raw[33..65], &raw[65..97], &raw[97..]);
    der(
        0x30,
        &[der_integer(x), der_integer(y), der(0x04, c3), der(0x04, c2)].concat(),
    )
}

#[test]
fn openssl_verifies_the_signatures_and_decrypts_a_share_of_a_suite_2_envelope() {
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = scratch.path();
    sm2_identity(dir, "bidder");
    let custodian_names = ["custodian-1", "custodian-2", "custodian-3"];
    for name in custodian_names {
        sm2_identity(dir, name);
    }
    // The custodians' SM2 keys are OpenSSL's; the platform reads their private scalars.
    let custodians: Vec<CustodianSecretKey> = custodian_names
        .iter()
        .map(|name| {
            use sm2::pkcs8::DecodePrivateKey as _;
            let secret = sm2::SecretKey::from_pkcs8_der(&read(dir, &format!("{name}.pk8")))
                .unwrap_or_else(|e| panic!("{e}"));
            CustodianSecretKey::from_bytes_for(Suite::Gm, &secret.to_bytes())
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();

    let bidder_cert = {
        let pem = String::from_utf8(read(dir, "bidder.pem")).unwrap_or_default();
        tradehall::crypto::cert::parse_pem_certificates(&pem).unwrap_or_else(|e| panic!("{e}"))
    };
    let signer = Signer::from_pkcs8_der(&read(dir, "bidder.pk8")).unwrap_or_else(|e| panic!("{e}"));
    let trade = "01a2205e-3040-76cf-abb9-cd45eedc8466";
    let organization = Organization {
        name: "新疆国密测试有限公司".into(),
        usci: "91650100MA7GMCS01X".into(),
    };
    let request = SealRequest {
        manifest: Manifest {
            v: 1,
            trade: trade.into(),
            lots: vec!["1".into()],
            price: 123_456_700,
            currency: "CNY".into(),
            organization,
            machine: "sha256:0d1e".into(),
            files: vec![],
        },
        attachments: vec![],
        certificate_chain: bidder_cert.clone(),
        committee: custodians
            .iter()
            .map(CustodianSecretKey::public_key)
            .collect(),
        threshold: 2,
    };
    let content_key = tradehall::crypto::digest::random_bytes::<32>();
    let mut rng = hpke::rand_core::UnwrapErr(getrandom::SysRng);
    let mut bytes = Vec::new();
    envelope::seal(request, &signer, &content_key, &mut rng, &mut bytes)
        .unwrap_or_else(|e| panic!("{e}"));
    let inspected = envelope::inspect(bytes.as_slice()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(inspected.header.suite(), Suite::Gm);

    // OpenSSL decrypts custodian 2's share with custodian 2's key: SM3(info) ‖ share.
    let fingerprint = tradehall::crypto::digest::sha256_hex(&bidder_cert[0]);
    let key_id = custodians[1].public_key().key_id();
    let binding = ShareBinding {
        trade_id: trade,
        custodian_key_id: &key_id,
        bidder_cert_fingerprint: &fingerprint,
    };
    let sealed = inspected
        .share_for(&key_id)
        .unwrap_or_else(|e| panic!("{e}"));
    write(dir, "share.der", &sm2_cipher_der(&sealed.ciphertext));
    let by_openssl = openssl(
        dir,
        &[
            "pkeyutl",
            "-decrypt",
            "-inkey",
            "custodian-2.key",
            "-in",
            "share.der",
        ],
    );
    let ours = open_share(&custodians[1], &binding, &sealed).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(by_openssl.len(), 32 + 33);
    assert_eq!(&by_openssl[32..], ours.as_slice(), "the same share");
    assert_eq!(
        hex::encode(&by_openssl[..32]),
        hex::encode(tradehall::crypto::gm::sm3(&binding.info())),
        "bound to this trade, custodian key and bidder"
    );

    // OpenSSL verifies the outer signature over the SM3 body digest…
    write(
        dir,
        "outer.msg",
        &envelope_signature_message(&inspected.body_digest.unwrap_or_default()),
    );
    write(dir, "outer.sig", &inspected.signature);
    // `openssl pkeyutl -verify` with SM3 and the default distinguishing ID: whether it
    // said the signature verifies.
    let verifies = |msg: &str, sig: &str| {
        let out = Command::new("openssl")
            .args([
                "pkeyutl",
                "-verify",
                "-certin",
                "-inkey",
                "bidder.pem",
                "-rawin",
                "-digest",
                "sm3",
                "-pkeyopt",
                ID,
                "-in",
                msg,
                "-sigfile",
                sig,
            ])
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run openssl: {e}"));
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Success")
    };
    assert!(verifies("outer.msg", "outer.sig"));
    // …and, once two custodians' shares rebuild the key, the manifest signature inside.
    let first = open_share(
        &custodians[0],
        &ShareBinding {
            custodian_key_id: &custodians[0].public_key().key_id(),
            ..binding
        },
        &inspected
            .share_for(&custodians[0].public_key().key_id())
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let key = recover_key(&[first, ours], 2).unwrap_or_else(|e| panic!("{e}"));
    let opened =
        envelope::open(bytes.as_slice(), &inspected, &key).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(opened.manifest.price, 123_456_700);
    write(
        dir,
        "manifest.msg",
        &manifest_signature_message(&opened.manifest_bytes),
    );
    write(dir, "manifest.sig", &opened.manifest_signature);
    assert!(verifies("manifest.msg", "manifest.sig"));
    // A signature over other bytes does not verify.
    write(dir, "other.msg", b"tradehall-manifest-v1\0{}");
    assert!(!verifies("other.msg", "manifest.sig"));
}
