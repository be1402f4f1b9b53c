//! 行政区划代码: six-digit administrative division codes and their hierarchy.

use serde::{Deserialize, Deserializer, Serialize};

/// A six-digit administrative division code, e.g. `650000` (the region) or `650100` (a
/// prefecture-level city in it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct RegionCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a 行政区划代码 is six digits, got {0:?}")]
pub struct RegionCodeError(pub String);

impl RegionCode {
    pub fn parse(s: &str) -> Result<Self, RegionCodeError> {
        if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with("00") {
            Ok(Self(s.to_owned()))
        } else {
            Err(RegionCodeError(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The prefix shared by every code inside this division: `65` for a province-level
    /// code `650000`, `6501` for a prefecture `650100`, the whole code for a county.
    pub fn prefix(&self) -> &str {
        if self.0.ends_with("0000") {
            &self.0[..2]
        } else if self.0.ends_with("00") {
            &self.0[..4]
        } else {
            &self.0
        }
    }

    /// Whether `other` lies within this division (a division contains itself).
    pub fn contains(&self, other: &RegionCode) -> bool {
        other.0.starts_with(self.prefix())
    }

    /// The smallest division containing both: the same code, their prefecture, or their
    /// province; `None` across provinces.
    pub fn enclosing(&self, other: &RegionCode) -> Option<RegionCode> {
        [6, 4, 2].into_iter().find_map(|digits| {
            (self.0[..digits] == other.0[..digits])
                .then(|| Self(format!("{:0<6}", &self.0[..digits])))
        })
    }
}

impl<'de> Deserialize<'de> for RegionCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RegionCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_contains_its_prefectures_and_counties() {
        let region = RegionCode::parse("650000").unwrap_or_else(|e| panic!("{e}"));
        let city = RegionCode::parse("650100").unwrap_or_else(|e| panic!("{e}"));
        let county = RegionCode::parse("650102").unwrap_or_else(|e| panic!("{e}"));
        let other = RegionCode::parse("640100").unwrap_or_else(|e| panic!("{e}"));
        assert!(region.contains(&city) && region.contains(&county) && city.contains(&county));
        assert!(!city.contains(&region) && !region.contains(&other));
    }

    #[test]
    fn two_divisions_are_enclosed_by_the_smallest_containing_both() {
        let code = |s: &str| RegionCode::parse(s).unwrap_or_else(|e| panic!("{e}"));
        let enclosing = |a: &str, b: &str| code(a).enclosing(&code(b)).map(|c| c.0);
        assert_eq!(enclosing("650100", "650100").as_deref(), Some("650100"));
        assert_eq!(enclosing("650102", "650103").as_deref(), Some("650100"));
        assert_eq!(enclosing("650100", "653100").as_deref(), Some("650000"));
        assert_eq!(enclosing("650102", "650000").as_deref(), Some("650000"));
        assert_eq!(enclosing("650100", "640100"), None);
    }

    #[test]
    fn malformed_codes_are_refused() {
        for bad in ["65000", "6500000", "65a000", "000000"] {
            assert!(RegionCode::parse(bad).is_err(), "{bad}");
        }
    }
}
