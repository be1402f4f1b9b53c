//! Money in integer minor units (分 for CNY). Never floating point.

use serde::{de, Deserialize, Deserializer, Serialize};
use std::fmt;

/// A non-negative amount in minor units of [`Currency`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Money(i64);

/// Why a value is not an amount of money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amounts are integer minor units (分); got a negative amount")]
    Negative,
    #[error("amounts are at most 1000000000000000 分 (10 万亿元); got {0}")]
    TooLarge(i64),
    #[error("{0:?} is not an amount in yuan with at most two decimals")]
    Format(String),
}

impl Money {
    pub const ZERO: Money = Money(0);

    /// The largest amount: 10^15 分, 10 万亿元, more than any one public resource is worth
    /// and below 2^53, so a browser's numbers (doubles) hold every amount exactly.
    pub const MAX: Money = Money(1_000_000_000_000_000);

    pub fn new(minor_units: i64) -> Result<Self, MoneyError> {
        if minor_units < 0 {
            return Err(MoneyError::Negative);
        }
        if minor_units > Self::MAX.0 {
            return Err(MoneyError::TooLarge(minor_units));
        }
        Ok(Self(minor_units))
    }

    pub fn minor_units(self) -> i64 {
        self.0
    }

    /// `self` as a share of `whole` in basis points (1/100 of a percent), rounded up, so a
    /// cap check never passes because of truncation.
    pub fn basis_points_of(self, whole: Money) -> Option<i64> {
        if whole.0 == 0 {
            return None;
        }
        let scaled = i128::from(self.0) * 10_000;
        let whole = i128::from(whole.0);
        i64::try_from((scaled + whole - 1) / whole).ok()
    }
}

impl Money {
    /// Parses a decimal amount in yuan as people write it — `1234567.89`, `1,234,567.8`,
    /// `300` — into minor units, exactly (no floating point). At most two decimals.
    pub fn parse_yuan(text: &str) -> Result<Self, MoneyError> {
        let cleaned: String = text
            .trim()
            .chars()
            .filter(|c| *c != ',' && *c != '_')
            .collect();
        let (whole, fraction) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
        let valid = !whole.is_empty()
            && whole.bytes().all(|b| b.is_ascii_digit())
            && fraction.len() <= 2
            && fraction.bytes().all(|b| b.is_ascii_digit())
            && !(cleaned.contains('.') && fraction.is_empty());
        if !valid {
            return Err(MoneyError::Format(text.to_owned()));
        }
        let fen = format!("{fraction:0<2}");
        let units = whole
            .parse::<i64>()
            .ok()
            .and_then(|y| y.checked_mul(100))
            .and_then(|y| y.checked_add(fen.parse::<i64>().unwrap_or(0)))
            .ok_or(MoneyError::Format(text.to_owned()))?;
        Self::new(units)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MinorUnits;
        impl de::Visitor<'_> for MinorUnits {
            type Value = Money;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative integer amount in minor units (分)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Money, E> {
                Money::new(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Money, E> {
                i64::try_from(v)
                    .map_err(|_| E::custom("amount too large"))
                    .and_then(|v| Money::new(v).map_err(E::custom))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Money, E> {
                Err(E::custom(
                    "amounts are integer minor units (分), not fractions",
                ))
            }
        }
        d.deserialize_any(MinorUnits)
    }
}

/// The currency of an amount. Trades are in CNY; others are refused until a rulebook needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Currency {
    #[default]
    #[serde(rename = "CNY")]
    Cny,
}

impl Currency {
    pub fn code(self) -> &'static str {
        match self {
            Currency::Cny => "CNY",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractional_negative_and_unbounded_amounts_are_refused() {
        assert!(serde_json::from_str::<Money>("12.5").is_err());
        assert!(serde_json::from_str::<Money>("-1").is_err());
        assert!(serde_json::from_str::<Money>("9223372036854775807").is_err());
        assert!(serde_json::from_str::<Money>("1000000000000001").is_err());
        assert!(serde_json::from_str::<Money>("1000000000000000").is_ok());
        assert!(Money::parse_yuan("10000000000000.01").is_err());
        assert!(serde_json::from_str::<Money>("\"100\"").is_err());
        assert_eq!(
            serde_json::from_str::<Money>("100").ok(),
            Money::new(100).ok()
        );
    }

    #[test]
    fn yuan_amounts_parse_exactly() {
        let parse = |s: &str| Money::parse_yuan(s).map(Money::minor_units);
        assert_eq!(parse("1234567.89"), Ok(123_456_789));
        assert_eq!(parse("1,234,567.8"), Ok(123_456_780));
        assert_eq!(parse("300"), Ok(30_000));
        assert_eq!(parse("0.01"), Ok(1));
        for bad in [
            "",
            "1.",
            ".5",
            "1.234",
            "-3",
            "1e6",
            "12a",
            "99999999999999999999",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn basis_points_round_up() {
        let bond = Money(2_000_001);
        let estimate = Money(100_000_000);
        assert_eq!(bond.basis_points_of(estimate), Some(201));
        assert_eq!(Money(2_000_000).basis_points_of(estimate), Some(200));
    }
}
