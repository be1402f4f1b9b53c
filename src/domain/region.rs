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

/// The administrative divisions the platform names (`regions/xinjiang.json`, GB/T 2260):
/// what pages show instead of a code. Served as it is by `GET /api/v1/regions`.
pub const DIVISIONS_JSON: &str = include_str!("../../regions/xinjiang.json");

/// One administrative division.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Division {
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub parent: Option<String>,
    /// `region`, `prefecture` or `county`.
    pub level: String,
}

/// The list and the date it is current to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Divisions {
    pub version: String,
    pub source: String,
    pub regions: Vec<Division>,
}

impl Divisions {
    /// The platform's list (empty if the embedded file were unreadable, which a unit
    /// test rules out).
    pub fn builtin() -> &'static Divisions {
        static LIST: std::sync::LazyLock<Divisions> = std::sync::LazyLock::new(|| {
            serde_json::from_str(DIVISIONS_JSON).unwrap_or_else(|_| Divisions {
                version: String::new(),
                source: String::new(),
                regions: Vec::new(),
            })
        });
        &LIST
    }

    /// The division with this code.
    pub fn get(&self, code: &str) -> Option<&Division> {
        self.regions.iter().find(|d| d.code == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_division_is_a_valid_code_under_a_listed_parent_and_named_in_both_languages() {
        let list: Divisions =
            serde_json::from_str(DIVISIONS_JSON).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(list, *Divisions::builtin());
        assert!(list.regions.len() > 100, "{}", list.regions.len());
        let mut seen = std::collections::HashSet::new();
        for d in &list.regions {
            let code = RegionCode::parse(&d.code).unwrap_or_else(|e| panic!("{e}"));
            assert!(seen.insert(d.code.clone()), "{} twice", d.code);
            assert!(!d.name.is_empty() && !d.name_en.is_empty(), "{d:?}");
            assert!(
                d.name_en.is_ascii() || d.name_en.contains('Ü'),
                "an English name has no Chinese: {d:?}"
            );
            match d.level.as_str() {
                "region" => assert_eq!(d.parent, None),
                "prefecture" | "county" => {
                    let parent = d.parent.as_deref().unwrap_or_default();
                    let parent = list.get(parent).unwrap_or_else(|| panic!("{d:?}"));
                    let within = RegionCode::parse(&parent.code)
                        .unwrap_or_else(|e| panic!("{e}"))
                        .contains(&code);
                    assert!(within, "{d:?} lies in its parent");
                }
                other => panic!("level {other}"),
            }
        }
        for (code, name) in [
            ("650000", "新疆维吾尔自治区"),
            ("650100", "乌鲁木齐市"),
            ("653229", "和安县"),
        ] {
            assert_eq!(list.get(code).map(|d| d.name.as_str()), Some(name));
        }
    }

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
