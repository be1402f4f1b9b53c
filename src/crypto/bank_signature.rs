//! Bank notifications are authenticated with HMAC-SHA256 under a secret each bank shares
//! with the platform (docs/api.md, "Bank notifications"). The signed input is the
//! timestamp header, a line feed, and the exact body bytes: the timestamp cannot be
//! changed without the body's signature failing, so an old notification cannot be replayed
//! under a fresh time.

use ring::hmac;

/// The bytes a bank signs.
fn signed_input(timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut input = Vec::with_capacity(timestamp.len() + 1 + body.len());
    input.extend_from_slice(timestamp.as_bytes());
    input.push(b'\n');
    input.extend_from_slice(body);
    input
}

/// The signature a bank with `secret` sends for `timestamp` and `body`, as lowercase hex.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    hex::encode(hmac::sign(&key, &signed_input(timestamp, body)))
}

/// Whether `signature` (hex, as sent) is `secret`'s signature of `timestamp` and `body`.
/// The comparison takes the same time however many bytes match.
pub fn verify(secret: &[u8], timestamp: &str, body: &[u8], signature: &str) -> bool {
    let Ok(tag) = hex::decode(signature.trim()) else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    hmac::verify(&key, &signed_input(timestamp, body), &tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"bank_txn_id":"ICBC-20261129-0001","kind":"deposit","trade":"t","payer_account":"6222020200001234567","payer_name":"x","amount":5000000,"currency":"CNY"}"#;

    #[test]
    fn matches_an_independent_hmac_and_refuses_any_change() {
        // Computed with Python's hmac module: hmac.new(secret, ts + b"\n" + body, sha256).
        let expected = "c25ff3dae0b56aa5066b4d771f7c8d25e657990b4b9bf2e88977c99ef6f2d929";
        assert_eq!(sign(b"dev-bank-secret", "1795914000", BODY), expected);
        assert!(verify(b"dev-bank-secret", "1795914000", BODY, expected));
        assert!(verify(
            b"dev-bank-secret",
            "1795914000",
            BODY,
            &expected.to_uppercase()
        ));
        assert!(!verify(b"other-secret", "1795914000", BODY, expected));
        assert!(!verify(b"dev-bank-secret", "1795914001", BODY, expected));
        let mut body = BODY.to_vec();
        let at = body.len() - 3;
        body[at] = b'X';
        assert!(!verify(b"dev-bank-secret", "1795914000", &body, expected));
        assert!(!verify(b"dev-bank-secret", "1795914000", BODY, "not hex"));
        assert!(!verify(b"dev-bank-secret", "1795914000", BODY, ""));
    }
}
