//! `tradehall bench crypto`: the primitives of the two envelope suites side by side, each
//! on one core in the same run: signatures (SM2 with SM3 against ECDSA P-256), the payload
//! cipher (SM4-GCM against AES-256-GCM, through the envelope's own stream), digests (SM3
//! against SHA-256) and a custodian's share opening (SM2 decryption against HPKE X25519).

use std::io::Write as _;
use std::time::{Duration, Instant};

use crate::crypto::gm;
use crate::crypto::signer::Signer;
use crate::crypto::stream::StreamSealer;
use crate::crypto::threshold::{open_share, seal_share, CustodianSecretKey, ShareBinding};
use crate::domain::suite::Suite;

#[derive(Debug, Clone, clap::Args)]
pub struct CryptoOptions {
    /// How long each measurement runs, in seconds.
    #[arg(long, default_value_t = 1.0)]
    pub seconds: f64,
}

/// Operations per second of one core, and the 国密 one's share of the other's.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Pair {
    pub sm: f64,
    pub other: f64,
    /// `sm / other`.
    pub ratio: f64,
}

impl Pair {
    fn new(sm: f64, other: f64) -> Self {
        Self {
            sm,
            other,
            ratio: if other > 0.0 { sm / other } else { 0.0 },
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CryptoReport {
    /// Signatures per second: SM2/SM3 against ECDSA P-256/SHA-256 (DER, deterministic).
    pub sign_per_second: Pair,
    /// Verifications per second, same keys.
    pub verify_per_second: Pair,
    /// MiB/s of payload sealed through the envelope's stream: SM4-GCM against AES-256-GCM.
    pub payload_seal_mib_per_second: Pair,
    /// MiB/s hashed: SM3 against SHA-256.
    pub digest_mib_per_second: Pair,
    /// Shares opened per second by a custodian: SM2 decryption against HPKE (X25519).
    pub share_open_per_second: Pair,
    pub seconds_each: f64,
}

/// Runs `op` repeatedly for `budget`; returns how many times per second it ran.
fn rate(budget: Duration, mut op: impl FnMut()) -> f64 {
    // A warm-up call, then whole batches until the budget is spent.
    op();
    let started = Instant::now();
    let mut count = 0u64;
    while started.elapsed() < budget {
        for _ in 0..16 {
            op();
        }
        count += 16;
    }
    count as f64 / started.elapsed().as_secs_f64()
}

fn p256_signer() -> anyhow::Result<(Signer, Vec<u8>)> {
    use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_ASN1_SIGNING};
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
        .map_err(|_| anyhow::anyhow!("P-256 key generation failed"))?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(|_| anyhow::anyhow!("P-256 key"))?;
    Ok((
        Signer::from_pkcs8_der(pkcs8.as_ref())?,
        pair.public_key().as_ref().to_vec(),
    ))
}

fn sealing_rate(budget: Duration, suite: Suite, data: &[u8]) -> f64 {
    let per_second = rate(budget, || {
        let mut sealer = StreamSealer::new(suite, &[7; 32], [3; 32], std::io::sink());
        // A sink never fails.
        let _ = sealer.write_all(data);
        let _ = sealer.finish();
    });
    per_second * data.len() as f64 / (1024.0 * 1024.0)
}

pub fn run(options: &CryptoOptions) -> anyhow::Result<CryptoReport> {
    let budget = Duration::from_secs_f64(options.seconds.max(0.05));
    let message = crate::crypto::envelope::envelope_signature_message(&[0x5a; 32]);

    let sm2_key = gm::SigningKey::from_bytes(&crate::crypto::digest::random_bytes::<32>())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let sm2_public = sm2_key.public_key();
    let sm2 = Signer::Sm2(sm2_key);
    let (p256, p256_public) = p256_signer()?;
    let sign = Pair::new(
        rate(budget, || drop(std::hint::black_box(sm2.sign(&message)))),
        rate(budget, || drop(std::hint::black_box(p256.sign(&message)))),
    );
    let (sm2_signature, p256_signature) = (sm2.sign(&message)?, p256.sign(&message)?);
    let p256_key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P256_SHA256_ASN1,
        p256_public,
    );
    let verify = Pair::new(
        rate(budget, || {
            assert!(gm::verify(
                &sm2_public,
                gm::DEFAULT_DISTID,
                &message,
                &sm2_signature
            ));
        }),
        rate(budget, || {
            assert!(p256_key.verify(&message, &p256_signature).is_ok());
        }),
    );

    let data = vec![0xA5u8; 1024 * 1024];
    let payload = Pair::new(
        sealing_rate(budget, Suite::Gm, &data),
        sealing_rate(budget, Suite::Hpke, &data),
    );
    let mib = |per_second: f64| per_second * data.len() as f64 / (1024.0 * 1024.0);
    let digest = Pair::new(
        mib(rate(budget, || {
            std::hint::black_box(gm::sm3(&data));
        })),
        mib(rate(budget, || {
            std::hint::black_box(crate::crypto::digest::sha256(&data));
        })),
    );

    let share_rate = |suite: Suite| -> anyhow::Result<f64> {
        let (secret, public) = CustodianSecretKey::generate_for(suite);
        let id = public.key_id();
        let binding = ShareBinding {
            trade_id: "bench-trade",
            custodian_key_id: &id,
            bidder_cert_fingerprint: "bench-bidder",
        };
        let mut rng = hpke::rand_core::UnwrapErr(getrandom::SysRng);
        let sealed = seal_share(&public, &binding, &[1; 33], &mut rng)?;
        Ok(rate(budget, || {
            assert!(open_share(&secret, &binding, &sealed).is_ok());
        }))
    };
    let share_open = Pair::new(share_rate(Suite::Gm)?, share_rate(Suite::Hpke)?);

    Ok(CryptoReport {
        sign_per_second: sign,
        verify_per_second: verify,
        payload_seal_mib_per_second: payload,
        digest_mib_per_second: digest,
        share_open_per_second: share_open,
        seconds_each: budget.as_secs_f64(),
    })
}
