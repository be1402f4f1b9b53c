//! What experts sign during the evaluation (ADR 0014, docs/protocol.md "Evaluation"):
//! their score sheet, and the evaluation report with any dissent. Both are signed with
//! the expert's certificate key like every other certificate signature of the platform.

use super::opening::labelled;

/// Domain separation of an expert's signature over its score sheet.
pub const SHEET_LABEL: &[u8] = b"tradehall-evaluation-sheet-v1";
/// Domain separation of an expert's signature over the evaluation report.
pub const REPORT_LABEL: &[u8] = b"tradehall-evaluation-report-v1";

/// label ‖ 0x00 ‖ the sheet's RFC 8785 canonical JSON bytes.
pub fn sheet_message(sheet: &[u8]) -> Vec<u8> {
    labelled(SHEET_LABEL, &[sheet])
}

/// label ‖ 0x00 ‖ trade id ‖ 0x00 ‖ hex SHA-256 of the report's canonical JSON ‖ 0x00 ‖
/// the dissent (UTF-8, empty when the expert agrees).
pub fn report_message(trade_id: &str, report_sha256: &str, dissent: &str) -> Vec<u8> {
    labelled(
        REPORT_LABEL,
        &[
            trade_id.as_bytes(),
            report_sha256.as_bytes(),
            dissent.as_bytes(),
        ],
    )
}
