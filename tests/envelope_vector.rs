//! The committed test vectors of the sealed-bid envelope, one per suite
//! (tests/vectors/envelope-v1.json, tests/vectors/envelope-v1-suite2.json): fixed keys and
//! randomness must give exactly the committed envelope bytes and commitment.
//! docs/protocol.md explains every field. Regenerate (only when the format version
//! changes) with `cargo test --test envelope_vector -- --ignored write_`: the writing is a
//! test of its own, so the check below never reads what it just wrote. The suite-2 writer
//! makes its SM2 bidder with the `openssl` command line.

use serde_json::{json, Value};
use std::convert::Infallible;

use tradehall::crypto::digest::sha256;
use tradehall::crypto::envelope::{
    self, Attachment, FileEntry, Manifest, Organization, SealRequest,
};
use tradehall::crypto::signer::Signer;
use tradehall::crypto::threshold::{recover_key, CustodianPublicKey, CustodianSecretKey};
use tradehall::domain::suite::Suite;

const VECTOR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/envelope-v1.json"
);
const VECTOR_SUITE_2: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/envelope-v1-suite2.json"
);

/// The vector's randomness: block `i` = SHA-256(seed ‖ u32be(i)), consumed in order, and
/// every request recorded so the vector can list what each step drew.
struct Drbg {
    seed: [u8; 32],
    counter: u32,
    buffer: Vec<u8>,
    draws: Vec<Vec<u8>>,
}

impl Drbg {
    fn new(seed: [u8; 32]) -> Self {
        Self {
            seed,
            counter: 0,
            buffer: Vec::new(),
            draws: Vec::new(),
        }
    }
    fn take(&mut self, n: usize) -> Vec<u8> {
        while self.buffer.len() < n {
            let mut block = self.seed.to_vec();
            block.extend_from_slice(&self.counter.to_be_bytes());
            self.buffer.extend_from_slice(&sha256(&block));
            self.counter += 1;
        }
        let out: Vec<u8> = self.buffer.drain(..n).collect();
        self.draws.push(out.clone());
        out
    }
}

impl hpke::rand_core::TryRng for Drbg {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let b = self.take(4);
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let b = self.take(8);
        let mut a = [0u8; 8];
        a.copy_from_slice(&b);
        Ok(u64::from_le_bytes(a))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        let b = self.take(dst.len());
        dst.copy_from_slice(&b);
        Ok(())
    }
}

impl hpke::rand_core::TryCryptoRng for Drbg {}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"))
}

fn generate_identity() -> (Vec<u8>, Vec<u8>) {
    use chrono::{Duration, TimeZone, Utc};
    use tradehall::crypto::pki::{DevCa, IdentitySpec, KeyUsageProfile};
    let start = Utc
        .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let ca = DevCa::new("Test Vector", start, start + Duration::days(3650))
        .unwrap_or_else(|e| panic!("{e}"));
    let usci = tradehall::domain::usci::Usci::complete("91650100QECT00001")
        .unwrap_or_else(|e| panic!("{e}"));
    let id = ca
        .issue(&IdentitySpec {
            common_name: "test vector bidder".into(),
            organization: "测试向量建设有限公司".into(),
            usci: Some(usci),
            not_before: start,
            not_after: start + Duration::days(3650),
            key_usage: KeyUsageProfile::Signing,
        })
        .unwrap_or_else(|e| panic!("{e}"));
    (id.cert_der, id.key_pkcs8_der)
}

/// Seals the vector's inputs; returns the envelope and what the DRBG gave each step.
fn seal(inputs: &Value) -> (Vec<u8>, [u8; 32], Vec<Vec<u8>>) {
    let signer = Signer::from_pkcs8_der(&unhex(&inputs["bidder_key_pkcs8"]))
        .unwrap_or_else(|e| panic!("{e}"));
    let committee = custodians(inputs).into_iter().map(|(_, pk)| pk).collect();
    let files: Vec<(String, Vec<u8>)> = inputs["files"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["name"].as_str().unwrap_or_default().to_owned(),
                f["content"]
                    .as_str()
                    .unwrap_or_default()
                    .as_bytes()
                    .to_vec(),
            )
        })
        .collect();
    let entries: Vec<FileEntry> = files
        .iter()
        .map(|(name, content)| FileEntry {
            name: name.clone(),
            sha256: hex::encode(sha256(content)),
            size: content.len() as u64,
        })
        .collect();
    let m = &inputs["manifest"];
    let manifest = Manifest {
        v: 1,
        trade: m["trade"].as_str().unwrap_or_default().into(),
        lots: serde_json::from_value(m["lots"].clone()).unwrap_or_default(),
        price: m["price"].as_i64().unwrap_or_default(),
        currency: m["currency"].as_str().unwrap_or_default().into(),
        organization: serde_json::from_value::<Organization>(m["organization"].clone())
            .unwrap_or_else(|e| panic!("{e}")),
        machine: m["machine"].as_str().unwrap_or_default().into(),
        files: entries.clone(),
    };
    let attachments = entries
        .into_iter()
        .zip(&files)
        .map(|(entry, (_, content))| Attachment {
            entry,
            content: Box::new(content.as_slice()),
        })
        .collect();
    let request = SealRequest {
        manifest,
        attachments,
        certificate_chain: vec![unhex(&inputs["bidder_cert_der"])],
        committee,
        threshold: u8::try_from(inputs["threshold"].as_u64().unwrap_or_default())
            .unwrap_or_default(),
    };
    let key: [u8; 32] = unhex(&inputs["content_key"])
        .try_into()
        .unwrap_or_else(|_| panic!("content key is 32 bytes"));
    let seed: [u8; 32] = unhex(&inputs["drbg_seed"])
        .try_into()
        .unwrap_or_else(|_| panic!("seed is 32 bytes"));
    let mut drbg = Drbg::new(seed);
    let mut out = Vec::new();
    let sealed = envelope::seal(request, &signer, &key, &mut drbg, &mut out)
        .unwrap_or_else(|e| panic!("{e}"));
    (out, sealed.commitment, drbg.draws)
}

/// The vector's suite: 1 unless it says 2.
fn suite(inputs: &Value) -> Suite {
    serde_json::from_value(inputs["suite"].clone()).unwrap_or_default()
}

/// The custodians' key pairs: X25519 keys derived from `custodian_ikm` (suite 1), or SM2
/// keys given as private scalars in `custodian_sm2_private` (suite 2).
fn custodians(inputs: &Value) -> Vec<(CustodianSecretKey, CustodianPublicKey)> {
    let list = |name: &str| inputs[name].as_array().cloned().unwrap_or_default();
    match suite(inputs) {
        Suite::Hpke => list("custodian_ikm")
            .iter()
            .map(|ikm| CustodianSecretKey::derive(&unhex(ikm)))
            .collect(),
        Suite::Gm => list("custodian_sm2_private")
            .iter()
            .map(|d| {
                let sk = CustodianSecretKey::from_bytes_for(Suite::Gm, &unhex(d))
                    .unwrap_or_else(|e| panic!("{e}"));
                let pk = sk.public_key();
                (sk, pk)
            })
            .collect(),
    }
}

/// An SM2 bidder certificate and key (PKCS#8 DER) from a throwaway SM2 CA made with the
/// `openssl` command line.
fn generate_sm2_identity() -> (Vec<u8>, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let run = |args: &str| {
        let out = std::process::Command::new("openssl")
            .args(args.split(' '))
            .current_dir(dir.path())
            .output()
            .unwrap_or_else(|e| panic!("openssl: {e}"));
        assert!(
            out.status.success(),
            "openssl {args}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let id = "-sigopt distid:1234567812345678";
    run("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out ca.key");
    run(&format!(
        "req -new -x509 -key ca.key -sm3 {id} -days 3650 -subj /CN=Test-Vector-SM2-CA \
         -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
         -out ca.pem"
    ));
    run("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out bidder.key");
    run(&format!(
        "req -new -key bidder.key -sm3 {id} -subj /CN=test-vector-sm2-bidder -out bidder.csr"
    ));
    std::fs::write(
        dir.path().join("ext.cnf"),
        "keyUsage=critical,digitalSignature,nonRepudiation\nbasicConstraints=critical,CA:FALSE\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    run(&format!(
        "x509 -req -in bidder.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -sm3 \
         {id} -vfyopt distid:1234567812345678 -extfile ext.cnf -outform DER -out bidder.der"
    ));
    run("pkcs8 -topk8 -nocrypt -in bidder.key -outform DER -out bidder.pk8");
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap_or_else(|e| panic!("{e}"));
    (read("bidder.der"), read("bidder.pk8"))
}

fn fresh_inputs_suite_2() -> Value {
    let (cert, key) = generate_sm2_identity();
    let mut inputs = fresh_inputs();
    inputs["suite"] = json!(2);
    inputs["bidder_key_pkcs8"] = json!(hex::encode(key));
    inputs["bidder_cert_der"] = json!(hex::encode(cert));
    inputs["drbg_seed"] = json!(hex::encode(sha256(
        b"tradehall envelope v1 suite 2 test vector"
    )));
    if let Some(o) = inputs.as_object_mut() {
        o.remove("custodian_ikm");
    }
    inputs["custodian_sm2_private"] = json!([
        hex::encode([0x11; 32]),
        hex::encode([0x22; 32]),
        hex::encode([0x33; 32])
    ]);
    inputs
}

fn fresh_inputs() -> Value {
    let (cert, key) = generate_identity();
    json!({
        "warning": "TEST VECTOR ONLY: these keys are public; never use them for anything else",
        "bidder_key_pkcs8": hex::encode(key),
        "bidder_cert_der": hex::encode(cert),
        "custodian_ikm": [hex::encode([0x11; 32]), hex::encode([0x22; 32]), hex::encode([0x33; 32])],
        "threshold": 2,
        "content_key": hex::encode([0x5a; 32]),
        "drbg_seed": hex::encode(sha256(b"tradehall envelope v1 test vector")),
        "manifest": {
            "trade": "01a2205e-3040-76cf-abb9-cd45eedc8466",
            "lots": ["1", "2"],
            "price": 12_345_678_900_i64,
            "currency": "CNY",
            "organization": { "name": "测试向量建设有限公司", "usci": "91650100QECT00001K" },
            "machine": "sha256:7d1a0c9f",
            "files": "computed from `files`"
        },
        "files": [
            { "name": "技术标.txt", "content": "技术方案：按图施工，工期 365 日历天。" },
            { "name": "commercial.txt", "content": "Commercial terms as per tender documents." }
        ]
    })
}

/// Opens the share of each listed custodian (by position) from the envelope.
fn open_shares(vector: &Value, bytes: &[u8], which: &[usize]) -> Vec<zeroize::Zeroizing<Vec<u8>>> {
    let inspected = envelope::inspect(bytes).unwrap_or_else(|e| panic!("{e}"));
    let fingerprint = tradehall::crypto::digest::sha256_hex(&unhex(&vector["bidder_cert_der"]));
    let keys = custodians(vector);
    which
        .iter()
        .map(|&i| {
            let (sk, pk) = &keys[i];
            let id = pk.key_id();
            let binding = tradehall::crypto::threshold::ShareBinding {
                trade_id: &inspected.header.trade,
                custodian_key_id: &id,
                bidder_cert_fingerprint: &fingerprint,
            };
            let sealed = inspected.share_for(&id).unwrap_or_else(|e| panic!("{e}"));
            tradehall::crypto::threshold::open_share(sk, &binding, &sealed)
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

/// Writes a fresh vector over the committed one (fresh keys and randomness): run only
/// when the envelope's format version changes, then commit the file.
#[test]
#[ignore = "writes tests/vectors/envelope-v1.json; run by hand when the format changes"]
fn write_the_envelope_test_vector() {
    write_vector(fresh_inputs(), VECTOR);
}

/// As [`write_the_envelope_test_vector`], for suite 2.
#[test]
#[ignore = "writes tests/vectors/envelope-v1-suite2.json; run by hand when the format changes"]
fn write_the_suite_2_envelope_test_vector() {
    write_vector(fresh_inputs_suite_2(), VECTOR_SUITE_2);
}

/// The name of the last n draws: each custodian's HPKE ephemeral or SM2 k.
fn ephemeral_name(vector: &Value) -> &'static str {
    match suite(vector) {
        Suite::Hpke => "hpke_ephemeral_ikm",
        Suite::Gm => "sm2_ephemeral_k",
    }
}

fn write_vector(mut vector: Value, path: &str) {
    let (bytes, commitment, draws) = seal(&vector);
    let n = custodians(&vector).len();
    let (shamir, ephemeral) = draws.split_at(draws.len() - n);
    let shares: Vec<String> = open_shares(&vector, &bytes, &(0..n).collect::<Vec<_>>())
        .iter()
        .map(|s| hex::encode(s.as_slice()))
        .collect();
    let mut expected = json!({
        "shamir_draws_hex": hex::encode(shamir.concat()),
        "shares": shares,
        "envelope_len": bytes.len(),
        "envelope_hex": hex::encode(&bytes),
        "commitment": hex::encode(commitment),
    });
    expected[ephemeral_name(&vector)] =
        json!(ephemeral.iter().map(hex::encode).collect::<Vec<_>>());
    vector["expected"] = expected;
    let text = serde_json::to_string_pretty(&vector).unwrap_or_default();
    std::fs::write(path, text + "\n").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn the_committed_envelope_test_vector_reproduces() {
    reproduces(VECTOR);
}

#[test]
fn the_committed_suite_2_envelope_test_vector_reproduces() {
    reproduces(VECTOR_SUITE_2);
}

fn reproduces(path: &str) {
    let vector: Value = serde_json::from_str(
        &std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (bytes, commitment, draws) = seal(&vector);
    let expected = &vector["expected"];
    assert_eq!(
        hex::encode(&bytes),
        expected["envelope_hex"].as_str().unwrap_or_default(),
        "envelope bytes"
    );
    assert_eq!(
        hex::encode(commitment),
        expected["commitment"].as_str().unwrap_or_default()
    );
    assert_eq!(
        hex::encode(sha256(&bytes)),
        expected["commitment"].as_str().unwrap_or_default(),
        "commitment = SHA-256(envelope)"
    );
    let n = custodians(&vector).len();
    let ephemeral: Vec<String> = draws[draws.len() - n..].iter().map(hex::encode).collect();
    assert_eq!(json!(ephemeral), expected[ephemeral_name(&vector)]);

    // Every custodian's share is the committed one, and any two rebuild the content key.
    let all: Vec<String> = open_shares(&vector, &bytes, &(0..n).collect::<Vec<_>>())
        .iter()
        .map(|s| hex::encode(s.as_slice()))
        .collect();
    assert_eq!(json!(all), expected["shares"]);
    let inspected = envelope::inspect(bytes.as_slice()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(inspected.header.suite(), suite(&vector));
    let shares = open_shares(&vector, &bytes, &(1..n).collect::<Vec<_>>());
    let key = recover_key(&shares, 2).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        hex::encode(*key),
        vector["content_key"].as_str().unwrap_or_default()
    );
    let opened =
        envelope::open(bytes.as_slice(), &inspected, &key).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        opened.manifest.price,
        vector["manifest"]["price"].as_i64().unwrap_or_default()
    );
}
