//! Which HPKE KEM for custodian key shares? A custodian opens one sealed share per bid at the
//! opening, so opens per second decide. Run: `cargo bench --bench kem`.
//! Ceilings measured on our machine (docs/benchmarks.md): X25519 open 5,670/s, P-256 open
//! 1,120/s.

use std::time::Instant;

use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::kem::{DhP256HkdfSha256, X25519HkdfSha256};
use hpke::{Kem, OpModeR, OpModeS};

const SHARE: [u8; 33] = [7; 33];
const ROUNDS: u32 = 3_000;

fn measure<K: Kem>(name: &str, ceiling_open: f64) -> f64 {
    let (sk, pk) = K::gen_keypair();
    let info = b"tradehall-bid-share-v1\0bench";
    let start = Instant::now();
    let mut sealed = Vec::with_capacity(ROUNDS as usize);
    for _ in 0..ROUNDS {
        sealed.push(
            hpke::single_shot_seal::<AesGcm256, HkdfSha256, K>(
                &OpModeS::Base,
                &pk,
                info,
                &SHARE,
                &[],
            )
            .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    let seal_rate = f64::from(ROUNDS) / start.elapsed().as_secs_f64();
    let start = Instant::now();
    for (enc, ct) in &sealed {
        hpke::single_shot_open::<AesGcm256, HkdfSha256, K>(&OpModeR::Base, &sk, enc, info, ct, &[])
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let open_rate = f64::from(ROUNDS) / start.elapsed().as_secs_f64();
    println!(
        "{name:<28} seal {seal_rate:>8.0}/s   open {open_rate:>8.0}/s   open/ceiling {:.2}",
        open_rate / ceiling_open
    );
    open_rate
}

fn main() {
    println!("HPKE base mode, HKDF-SHA256, AES-256-GCM, 33-byte share, {ROUNDS} each, one core");
    let x25519 = measure::<X25519HkdfSha256>("DHKEM(X25519, HKDF-SHA256)", 5_670.0);
    let p256 = measure::<DhP256HkdfSha256>("DHKEM(P-256, HKDF-SHA256)", 1_120.0);
    println!(
        "X25519 opens {:.1}x as many shares per second as P-256",
        x25519 / p256
    );
    println!(
        "10,000 bids at the opening: one custodian's opens take {:.1} s with X25519, {:.1} s with P-256",
        10_000.0 / x25519,
        10_000.0 / p256
    );
}
