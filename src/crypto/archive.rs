//! The signature over a trade archive's manifest (docs/archive.md).

use super::opening::labelled;

/// Domain separation of the platform's signature over an archive manifest.
pub const MANIFEST_LABEL: &[u8] = b"tradehall-archive-v1";

/// label ‖ 0x00 ‖ the manifest's bytes (`archive.json`, RFC 8785).
pub fn manifest_message(manifest: &[u8]) -> Vec<u8> {
    labelled(MANIFEST_LABEL, &[manifest])
}
