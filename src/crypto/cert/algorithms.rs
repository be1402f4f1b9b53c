//! The signature algorithms a certificate chain or a CRL may be signed with: webpki's own
//! (ECDSA P-256/P-384, Ed25519, RSA) and SM2 with SM3 (OID 1.2.156.10197.1.501), which
//! Chinese CAs sign with and webpki lacks.

use std::sync::LazyLock;

use rustls_pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};

use crate::crypto::gm;

/// `id-ecPublicKey` with the named curve `sm2` (1.2.156.10197.1.301): the contents of an
/// SM2 key's SubjectPublicKeyInfo algorithm.
const SM2_PUBLIC_KEY: AlgorithmIdentifier = AlgorithmIdentifier::from_slice(&[
    0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, // 1.2.840.10045.2.1
    0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d, // 1.2.156.10197.1.301
]);
/// `SM2-with-SM3` without parameters, as GM/T 0015 and OpenSSL write it.
const SM3_WITH_SM2: AlgorithmIdentifier = AlgorithmIdentifier::from_slice(&[
    0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75, // 1.2.156.10197.1.501
]);
/// The same with an explicit NULL, which some CAs write.
const SM3_WITH_SM2_NULL: AlgorithmIdentifier = AlgorithmIdentifier::from_slice(&[
    0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75, 0x05, 0x00,
]);

/// SM2 signature verification with SM3 and the default distinguishing ID, for webpki.
#[derive(Debug)]
struct Sm2WithSm3 {
    signature_alg_id: AlgorithmIdentifier,
}

impl SignatureVerificationAlgorithm for Sm2WithSm3 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        if gm::verify(public_key, gm::DEFAULT_DISTID, message, signature) {
            Ok(())
        } else {
            Err(InvalidSignature)
        }
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        SM2_PUBLIC_KEY
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.signature_alg_id
    }
}

static SM2: Sm2WithSm3 = Sm2WithSm3 {
    signature_alg_id: SM3_WITH_SM2,
};
static SM2_NULL: Sm2WithSm3 = Sm2WithSm3 {
    signature_alg_id: SM3_WITH_SM2_NULL,
};

/// Every algorithm a chain or CRL may be signed with.
pub(super) static ALL: LazyLock<Vec<&'static dyn SignatureVerificationAlgorithm>> =
    LazyLock::new(|| {
        let mut algs = webpki::ALL_VERIFICATION_ALGS.to_vec();
        algs.push(&SM2);
        algs.push(&SM2_NULL);
        algs
    });
