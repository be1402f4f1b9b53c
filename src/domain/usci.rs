//! 统一社会信用代码 (Unified Social Credit Identifier, GB 32100-2015): parsing with the check digit.

use std::fmt;

/// The 31 characters a USCI may use (GB 32100-2015 表1: no I, O, S, V, Z).
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of positions 1..=17 (3^(i-1) mod 31).
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A valid 18-character USCI. Construct with [`Usci::parse`] or [`Usci::complete`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Usci(String);

/// Why a string is not a USCI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsciError {
    #[error("a 统一社会信用代码 has 18 characters, got {0}")]
    Length(usize),
    #[error("character {ch:?} at position {position} is not allowed in a 统一社会信用代码")]
    Character { position: usize, ch: char },
    #[error("positions 3 to 8 of a 统一社会信用代码 are the 行政区划代码 and must be digits")]
    Region,
    #[error("check digit is {found}, expected {expected}")]
    CheckDigit { found: char, expected: char },
}

fn value_of(ch: u8) -> Option<u32> {
    ALPHABET.iter().position(|&c| c == ch).map(|v| v as u32)
}

fn check_char(first17: &[u8]) -> Option<u8> {
    let mut sum = 0;
    for (c, w) in first17.iter().zip(WEIGHTS) {
        sum += value_of(*c)? * w;
    }
    let check = (31 - sum % 31) % 31;
    Some(ALPHABET[check as usize])
}

impl Usci {
    /// Parses an 18-character USCI (upper case; surrounding whitespace ignored).
    pub fn parse(input: &str) -> Result<Self, UsciError> {
        let s = input.trim().to_ascii_uppercase();
        let bytes = s.as_bytes();
        if bytes.len() != 18 || s.chars().count() != 18 {
            return Err(UsciError::Length(s.chars().count()));
        }
        for (i, &b) in bytes.iter().enumerate() {
            if value_of(b).is_none() {
                return Err(UsciError::Character {
                    position: i + 1,
                    ch: b as char,
                });
            }
        }
        if !bytes[2..8].iter().all(u8::is_ascii_digit) {
            return Err(UsciError::Region);
        }
        let expected = check_char(&bytes[..17]).ok_or(UsciError::Region)?;
        if bytes[17] != expected {
            return Err(UsciError::CheckDigit {
                found: bytes[17] as char,
                expected: expected as char,
            });
        }
        Ok(Self(s))
    }

    /// Appends the check digit to the first 17 characters (used to mint dev identities).
    pub fn complete(first17: &str) -> Result<Self, UsciError> {
        let bytes = first17.as_bytes();
        if bytes.len() != 17 {
            return Err(UsciError::Length(bytes.len() + 1));
        }
        if let Some((i, &b)) = bytes
            .iter()
            .enumerate()
            .find(|(_, &b)| value_of(b).is_none())
        {
            return Err(UsciError::Character {
                position: i + 1,
                ch: b as char,
            });
        }
        let check = check_char(bytes).ok_or(UsciError::Region)?;
        Self::parse(&format!("{first17}{}", check as char))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Usci {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Usci {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Usci::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_example_code_is_accepted() {
        // Example from GB 32100-2015 commentary.
        assert!(Usci::parse("91350100M000100Y43").is_ok());
        assert!(Usci::parse(" 91350100m000100y43 ").is_ok());
    }

    #[test]
    fn a_wrong_check_digit_is_refused() {
        assert_eq!(
            Usci::parse("91350100M000100Y44"),
            Err(UsciError::CheckDigit {
                found: '4',
                expected: '3'
            })
        );
    }

    #[test]
    fn forbidden_letters_and_lengths_are_refused() {
        assert!(matches!(
            Usci::parse("91350100M000100YI3"),
            Err(UsciError::Character { position: 17, .. })
        ));
        assert!(matches!(Usci::parse("9135"), Err(UsciError::Length(4))));
    }

    #[test]
    fn complete_adds_the_check_digit() {
        assert_eq!(
            Usci::complete("91350100M000100Y4").map(|u| u.0),
            Ok("91350100M000100Y43".into())
        );
    }
}
