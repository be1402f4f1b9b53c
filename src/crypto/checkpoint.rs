//! Signed checkpoints of the transparency log, in the C2SP formats: a `tlog-checkpoint`
//! body in a `signed-note`, signed with the platform's Ed25519 key
//! (docs/transparency-log.md, "Checkpoints").
//!
//! ```text
//! <origin>
//! <tree size, decimal>
//! <root hash, standard base64>
//! time <RFC 3339 UTC, milliseconds>
//!
//! — <origin> <base64(key hash[0..4] ‖ Ed25519 signature)>
//! ```
//! The signature covers the body: every line up to and including the newline before the
//! blank line. The key hash is SHA-256(name ‖ "\n" ‖ 0x01 ‖ 32-byte public key).

use base64::Engine as _;

use super::digest::sha256;
use super::platform_key::{self, PlatformKey, PublicKeyInfo};

/// Signature type byte of Ed25519 in C2SP signed notes.
const ED25519_TYPE: u8 = 0x01;

/// Signature type byte of a C2SP `tlog-cosignature/v1` witness cosignature.
const COSIGNATURE_TYPE: u8 = 0x04;

/// A checkpoint's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: [u8; 32],
    /// RFC 3339 UTC with milliseconds.
    pub time: String,
}

/// Why a signed checkpoint is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("malformed checkpoint: {0}")]
    Format(&'static str),
    #[error("the checkpoint is not signed by a known platform key for origin {0}")]
    Signature(String),
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// The 4-byte key hash of a signed-note Ed25519 key named `name`.
pub fn key_hash(name: &str, public_key: &[u8]) -> [u8; 4] {
    typed_key_hash(name, ED25519_TYPE, public_key)
}

fn typed_key_hash(name: &str, kind: u8, public_key: &[u8]) -> [u8; 4] {
    let mut input = name.as_bytes().to_vec();
    input.push(b'\n');
    input.push(kind);
    input.extend_from_slice(public_key);
    let digest = sha256(&input);
    [digest[0], digest[1], digest[2], digest[3]]
}

/// The name and the base64 signature of a signature line `— <name> <base64>`.
fn split_signature_line(line: &str) -> Option<(&str, &str)> {
    line.trim().strip_prefix("\u{2014} ")?.rsplit_once(' ')
}

/// The witness a cosignature line names, if it is one.
pub fn cosigner(line: &str) -> Option<&str> {
    split_signature_line(line).map(|(name, _)| name)
}

/// What a witness signs to cosign a checkpoint body at `time` (Unix seconds), as C2SP
/// `tlog-cosignature` v1 specifies.
fn cosigned_message(body: &str, time: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {time}\n{body}").into_bytes()
}

impl Checkpoint {
    /// The note body: four lines, each ending in a newline.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\ntime {}\n",
            self.origin,
            self.size,
            b64().encode(self.root),
            self.time
        )
    }

    /// The signed note, signed by the platform key under the origin's name.
    pub fn sign(&self, key: &PlatformKey) -> String {
        let body = self.body();
        let public = hex::decode(&key.info().public_key).unwrap_or_default();
        let mut blob = key_hash(&self.origin, &public).to_vec();
        blob.extend_from_slice(&key.sign(body.as_bytes()));
        format!("{body}\n\u{2014} {} {}\n", self.origin, b64().encode(blob))
    }

    /// A witness's cosignature line over this checkpoint (C2SP `tlog-cosignature` v1):
    /// `— <witness> base64(key hash ‖ time as 8 bytes big-endian ‖ Ed25519 signature)`,
    /// signed with `key` at `time` (Unix seconds).
    pub fn cosign(&self, witness: &str, key: &PlatformKey, time: u64) -> String {
        let public = hex::decode(&key.info().public_key).unwrap_or_default();
        let mut blob = typed_key_hash(witness, COSIGNATURE_TYPE, &public).to_vec();
        blob.extend_from_slice(&time.to_be_bytes());
        blob.extend_from_slice(&key.sign(&cosigned_message(&self.body(), time)));
        format!("\u{2014} {witness} {}", b64().encode(blob))
    }

    /// Checks a cosignature line of this checkpoint by `witness` with one of its `keys`;
    /// returns the witness's name and the time it cosigned at.
    pub fn verify_cosignature(
        &self,
        line: &str,
        witness: &str,
        keys: &[PublicKeyInfo],
    ) -> Result<u64, CheckpointError> {
        let bad = || CheckpointError::Signature(witness.to_owned());
        let (name, blob) = split_signature_line(line).ok_or(CheckpointError::Format(
            "a cosignature line is an em dash, the witness's name and the signature",
        ))?;
        let blob = b64().decode(blob).map_err(|_| bad())?;
        if name != witness || blob.len() != 4 + 8 + 64 {
            return Err(bad());
        }
        let time = u64::from_be_bytes(blob[4..12].try_into().map_err(|_| bad())?);
        let message = cosigned_message(&self.body(), time);
        let verified = keys.iter().any(|k| {
            let public = hex::decode(&k.public_key).unwrap_or_default();
            typed_key_hash(name, COSIGNATURE_TYPE, &public) == blob[..4]
                && platform_key::verify(k, &message, &blob[12..])
        });
        if verified {
            Ok(time)
        } else {
            Err(bad())
        }
    }

    /// Parses a signed note and checks that one of its signatures is by one of `keys`
    /// under the note's origin. A signature line of a known key that does not verify
    /// rejects the note, as C2SP signed-note verifiers do: a known key never signs wrongly.
    pub fn verify(note: &str, keys: &[PublicKeyInfo]) -> Result<Self, CheckpointError> {
        let (body, signatures) = note.split_once("\n\n").ok_or(CheckpointError::Format(
            "no blank line before the signatures",
        ))?;
        let body = format!("{body}\n");
        let mut lines = body.lines();
        let origin = lines
            .next()
            .filter(|l| !l.is_empty())
            .ok_or(CheckpointError::Format("no origin"))?
            .to_owned();
        let size = lines
            .next()
            .and_then(|l| l.parse::<u64>().ok())
            .ok_or(CheckpointError::Format("tree size is not a decimal number"))?;
        let root: [u8; 32] = lines
            .next()
            .and_then(|l| b64().decode(l).ok())
            .and_then(|r| r.try_into().ok())
            .ok_or(CheckpointError::Format(
                "root hash is not 32 bytes of base64",
            ))?;
        let time = lines
            .next()
            .and_then(|l| l.strip_prefix("time "))
            .ok_or(CheckpointError::Format("no time line"))?
            .to_owned();
        let checkpoint = Self {
            origin,
            size,
            root,
            time,
        };
        if checkpoint.body() != body {
            return Err(CheckpointError::Format("unexpected lines in the body"));
        }
        let mut verified = false;
        for line in signatures.lines() {
            let Some(rest) = line.strip_prefix("\u{2014} ") else {
                continue;
            };
            let Some((name, blob)) = rest.rsplit_once(' ') else {
                continue;
            };
            let Ok(blob) = b64().decode(blob) else {
                continue;
            };
            if name != checkpoint.origin || blob.len() != 4 + 64 {
                continue;
            }
            let known: Vec<&PublicKeyInfo> = keys
                .iter()
                .filter(|k| {
                    let public = hex::decode(&k.public_key).unwrap_or_default();
                    key_hash(name, &public) == blob[..4]
                })
                .collect();
            if known.is_empty() {
                continue;
            }
            if !known
                .iter()
                .any(|k| platform_key::verify(k, body.as_bytes(), &blob[4..]))
            {
                return Err(CheckpointError::Signature(checkpoint.origin));
            }
            verified = true;
        }
        if verified {
            Ok(checkpoint)
        } else {
            Err(CheckpointError::Signature(checkpoint.origin))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_checkpoint_verifies_and_any_change_breaks_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = PlatformKey::load_or_generate(dir.path()).expect("key");
        let checkpoint = Checkpoint {
            origin: "ggzy.example.cn/tradehall".into(),
            size: 12,
            root: [7; 32],
            time: "2026-11-28T01:00:00.000Z".into(),
        };
        let note = checkpoint.sign(&key);
        assert!(note.starts_with("ggzy.example.cn/tradehall\n12\n"));
        assert_eq!(
            Checkpoint::verify(&note, &key.published()),
            Ok(checkpoint.clone())
        );
        let tampered = note.replace("\n12\n", "\n13\n");
        assert!(matches!(
            Checkpoint::verify(&tampered, &key.published()),
            Err(CheckpointError::Signature(_))
        ));
        let other = tempfile::tempdir().expect("tempdir");
        let stranger = PlatformKey::load_or_generate(other.path()).expect("key");
        assert!(Checkpoint::verify(&note, &stranger.published()).is_err());

        // A second line by the same, known key that does not verify rejects the note,
        // even beside a good one; an unknown key's line is passed over.
        let good = note.lines().last().unwrap_or_default().to_owned();
        let (prefix, blob) = good.rsplit_once(' ').unwrap_or_default();
        let mut bytes = b64().decode(blob).unwrap_or_default();
        bytes[10] ^= 1;
        let bad = format!("{prefix} {}", b64().encode(bytes));
        assert!(matches!(
            Checkpoint::verify(&format!("{note}{bad}\n"), &key.published()),
            Err(CheckpointError::Signature(_))
        ));
        let foreign = checkpoint.sign(&stranger);
        let foreign_line = foreign.lines().last().unwrap_or_default();
        assert!(Checkpoint::verify(&format!("{note}{foreign_line}\n"), &key.published()).is_ok());
    }

    #[test]
    fn a_witness_cosignature_verifies_for_its_checkpoint_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let witness = PlatformKey::load_or_generate(dir.path()).expect("key");
        let checkpoint = Checkpoint {
            origin: "ggzy.prefecture.example.cn/tradehall".into(),
            size: 12,
            root: [7; 32],
            time: "2026-11-28T01:00:00.000Z".into(),
        };
        let line = checkpoint.cosign("region.example.cn/tradehall", &witness, 1_795_000_000);
        assert!(line.starts_with("\u{2014} region.example.cn/tradehall "));
        // The line names its witness; a line of another shape names none.
        assert_eq!(cosigner(&line), Some("region.example.cn/tradehall"));
        assert_eq!(cosigner("region.example.cn/tradehall AAAA"), None);
        assert_eq!(cosigner("\u{2014} AAAA"), None);
        assert_eq!(
            checkpoint.verify_cosignature(
                &line,
                "region.example.cn/tradehall",
                &witness.published()
            ),
            Ok(1_795_000_000)
        );
        // Another checkpoint, another witness name or another key: refused.
        let later = Checkpoint {
            size: 13,
            ..checkpoint.clone()
        };
        assert!(later
            .verify_cosignature(&line, "region.example.cn/tradehall", &witness.published())
            .is_err());
        assert!(checkpoint
            .verify_cosignature(&line, "other.example.cn", &witness.published())
            .is_err());
        let other = tempfile::tempdir().expect("tempdir");
        let stranger = PlatformKey::load_or_generate(other.path()).expect("key");
        assert!(checkpoint
            .verify_cosignature(&line, "region.example.cn/tradehall", &stranger.published())
            .is_err());
    }
}
