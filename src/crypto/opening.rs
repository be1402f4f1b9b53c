//! The opening, cryptographically: the server's one-time opening key, each custodian's
//! contribution of its opened key shares sealed to that key, and the signature inputs of
//! the opening record. Byte formats: docs/protocol.md ("Opening").
//!
//! A contribution travels and rests sealed: only the server process that made the opening
//! key (and keeps its private half in memory only) can read it, so a copy of the traffic,
//! the log or the database never holds k usable shares.

use zeroize::Zeroizing;

use super::threshold::{
    hpke_open, hpke_seal, CustodianPublicKey, CustodianSecretKey, SealedShare, ThresholdError,
    SHARE_LEN,
};

/// Domain separation of the platform's signature over a one-time opening key.
pub const OPENING_KEY_LABEL: &[u8] = b"tradehall-opening-key-v1";
/// Domain separation of the HPKE `info` of a contribution.
pub const CONTRIBUTION_INFO_LABEL: &[u8] = b"tradehall-opening-contribution-v1";
/// Domain separation of a custodian's certificate signature over its contribution.
pub const CONTRIBUTION_SIGNATURE_LABEL: &[u8] = b"tradehall-contribution-v1";
/// Domain separation of the platform's signature over an opening record.
pub const OPENING_RECORD_LABEL: &[u8] = b"tradehall-opening-record-v1";
/// Longest bid id in a contribution.
pub const MAX_BID_ID_LEN: usize = 64;

/// label ‖ (0x00 ‖ part)…
pub(crate) fn labelled(label: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut m = label.to_vec();
    for part in parts {
        m.push(0);
        m.extend_from_slice(part);
    }
    m
}

/// What the platform signs to vouch for a trade's one-time opening key:
/// label ‖ 0x00 ‖ trade id ‖ 0x00 ‖ the 32-byte X25519 public key.
pub fn opening_key_message(trade_id: &str, key: &CustodianPublicKey) -> Vec<u8> {
    labelled(OPENING_KEY_LABEL, &[trade_id.as_bytes(), key.as_bytes()])
}

/// What a custodian signs with its certificate when it contributes:
/// label ‖ 0x00 ‖ trade id ‖ 0x00 ‖ opening key id ‖ 0x00 ‖ hex SHA-256 of the ciphertext.
pub fn contribution_signature_message(
    trade_id: &str,
    opening_key_id: &str,
    ciphertext_sha256: &str,
) -> Vec<u8> {
    labelled(
        CONTRIBUTION_SIGNATURE_LABEL,
        &[
            trade_id.as_bytes(),
            opening_key_id.as_bytes(),
            ciphertext_sha256.as_bytes(),
        ],
    )
}

/// What the platform signs over an opening record: label ‖ 0x00 ‖ the record's RFC 8785
/// canonical JSON bytes.
pub fn opening_record_message(record: &[u8]) -> Vec<u8> {
    labelled(OPENING_RECORD_LABEL, &[record])
}

/// What a contribution is bound to: it opens only for this trade, from this custodian's
/// key, under this opening key.
#[derive(Debug, Clone, Copy)]
pub struct ContributionBinding<'a> {
    pub trade_id: &'a str,
    pub custodian_key_id: &'a str,
    pub opening_key_id: &'a str,
}

impl ContributionBinding<'_> {
    /// HPKE `info`: label ‖ 0x00 ‖ trade id ‖ 0x00 ‖ custodian key id ‖ 0x00 ‖ opening key id.
    pub fn info(&self) -> Vec<u8> {
        labelled(
            CONTRIBUTION_INFO_LABEL,
            &[
                self.trade_id.as_bytes(),
                self.custodian_key_id.as_bytes(),
                self.opening_key_id.as_bytes(),
            ],
        )
    }
}

/// One bid's share as a custodian opened it, or `None` if its sealed share did not open
/// with the custodian's key (the bidder sealed something else).
pub struct ContributedShare {
    pub bid: String,
    pub share: Option<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for ContributedShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContributedShare")
            .field("bid", &self.bid)
            .field("opened", &self.share.is_some())
            .finish()
    }
}

/// `u32 count ‖ (u8 id length ‖ id ‖ u8 opened ‖ 33-byte share, zero if not opened)…`
fn encode(shares: &[ContributedShare]) -> Result<Zeroizing<Vec<u8>>, ThresholdError> {
    let count = u32::try_from(shares.len()).map_err(|_| ThresholdError::Share)?;
    let mut out = Zeroizing::new(Vec::with_capacity(4 + shares.len() * (2 + 40 + SHARE_LEN)));
    out.extend_from_slice(&count.to_be_bytes());
    for s in shares {
        if s.bid.is_empty() || s.bid.len() > MAX_BID_ID_LEN {
            return Err(ThresholdError::Share);
        }
        out.push(s.bid.len() as u8);
        out.extend_from_slice(s.bid.as_bytes());
        match &s.share {
            Some(share) if share.len() == SHARE_LEN => {
                out.push(1);
                out.extend_from_slice(share);
            }
            Some(_) => return Err(ThresholdError::Share),
            None => {
                out.push(0);
                out.extend_from_slice(&[0u8; SHARE_LEN]);
            }
        }
    }
    Ok(out)
}

fn decode(bytes: &[u8]) -> Result<Vec<ContributedShare>, ThresholdError> {
    let take = |at: &mut usize, n: usize| -> Result<&[u8], ThresholdError> {
        let end = at.checked_add(n).ok_or(ThresholdError::Share)?;
        let slice = bytes.get(*at..end).ok_or(ThresholdError::Share)?;
        *at = end;
        Ok(slice)
    };
    let mut at = 0;
    let count = u32::from_be_bytes(
        take(&mut at, 4)?
            .try_into()
            .map_err(|_| ThresholdError::Share)?,
    );
    let mut shares = Vec::new();
    for _ in 0..count {
        let len = usize::from(take(&mut at, 1)?[0]);
        if len == 0 || len > MAX_BID_ID_LEN {
            return Err(ThresholdError::Share);
        }
        let bid = std::str::from_utf8(take(&mut at, len)?)
            .map_err(|_| ThresholdError::Share)?
            .to_owned();
        let opened = take(&mut at, 1)?[0];
        let share = take(&mut at, SHARE_LEN)?;
        let share = match opened {
            1 => Some(Zeroizing::new(share.to_vec())),
            0 => None,
            _ => return Err(ThresholdError::Share),
        };
        shares.push(ContributedShare { bid, share });
    }
    if at != bytes.len() {
        return Err(ThresholdError::Share);
    }
    Ok(shares)
}

/// Seals a custodian's opened shares to the server's one-time opening key.
pub fn seal_contribution(
    opening_key: &CustodianPublicKey,
    binding: &ContributionBinding<'_>,
    shares: &[ContributedShare],
    rng: &mut impl hpke::rand_core::CryptoRng,
) -> Result<SealedShare, ThresholdError> {
    hpke_seal(opening_key, &binding.info(), &encode(shares)?, rng)
}

/// Opens a contribution with the one-time opening key.
pub fn open_contribution(
    opening_key: &CustodianSecretKey,
    binding: &ContributionBinding<'_>,
    sealed: &SealedShare,
) -> Result<Vec<ContributedShare>, ThresholdError> {
    decode(&hpke_open(opening_key, &binding.info(), sealed)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng() -> impl hpke::rand_core::CryptoRng {
        hpke::rand_core::UnwrapErr(getrandom::SysRng)
    }

    #[test]
    fn a_contribution_opens_only_under_its_binding() {
        let (sk, pk) = CustodianSecretKey::generate();
        let binding = ContributionBinding {
            trade_id: "T1",
            custodian_key_id: "c1",
            opening_key_id: &pk.key_id(),
        };
        let shares = vec![
            ContributedShare {
                bid: "bid-1".into(),
                share: Some(Zeroizing::new(vec![7u8; SHARE_LEN])),
            },
            ContributedShare {
                bid: "bid-2".into(),
                share: None,
            },
        ];
        let sealed = seal_contribution(&pk, &binding, &shares, &mut rng()).expect("seal");
        let opened = open_contribution(&sk, &binding, &sealed).expect("open");
        assert_eq!(opened.len(), 2);
        assert_eq!(opened[0].bid, "bid-1");
        assert_eq!(
            opened[0].share.as_ref().map(|s| s.as_slice()),
            Some(&[7u8; SHARE_LEN][..])
        );
        assert!(opened[1].share.is_none());

        let other = ContributionBinding {
            custodian_key_id: "c2",
            ..binding
        };
        assert_eq!(
            open_contribution(&sk, &other, &sealed).expect_err("other binding"),
            ThresholdError::Open
        );
    }

    #[test]
    fn truncated_or_padded_plaintext_is_refused() {
        let shares = vec![ContributedShare {
            bid: "b".into(),
            share: None,
        }];
        let bytes = encode(&shares).expect("encode");
        assert!(decode(&bytes).is_ok());
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
        let mut padded = bytes.to_vec();
        padded.push(0);
        assert!(decode(&padded).is_err());
    }
}
