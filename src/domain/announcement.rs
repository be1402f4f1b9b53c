//! What an announcement (招标公告, 采购公告, 出让公告, 转让公告) says in words beyond the
//! terms the platform acts on: the project's overview and scope (项目概况与招标范围), who
//! may take part (资格要求), whom to contact (联系方式), and for a land or mining right
//! the parcel itself (位置, 面积, 用途, 出让年限). The pages compose the notices' full text
//! from these and the trade's terms; the platform checks only that they are text.

use serde::{Deserialize, Serialize};

use super::text::{is_line, is_written};

/// The longest overview or qualification text, in characters.
pub const MAX_PARAGRAPHS: usize = 4000;
/// The longest name, address or use, in characters.
pub const MAX_LINE: usize = 200;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Announcement {
    /// 项目概况与招标范围 / 标的概况: what is bought or sold, where, how much of it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub overview: String,
    /// 资格要求 / 竞买人资格: who may bid or apply.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub qualifications: String,
    /// 联系方式: the principal's or its agent's contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    /// The land parcel or mining area of a right's sale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parcel: Option<Parcel>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// 联系人 (a person or an office).
    pub name: String,
    /// 联系电话: digits, spaces, `+`, `-` and `()` only.
    pub phone: String,
    /// 地址, if given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parcel {
    /// 宗地位置 / 矿区位置.
    pub location: String,
    /// 面积 in square metres, as a decimal with at most two places ("12345.67"): a
    /// string, so the announced figure is exactly what was typed.
    pub area_m2: String,
    /// 用途 (规划用途 or 开采矿种), e.g. "住宅用地".
    pub land_use: String,
    /// 出让年限, in whole years.
    pub term_years: u16,
}

impl Announcement {
    /// Trims every field in place and checks it is text of a sensible length; a parcel
    /// only for a live sale. The message names the field.
    pub fn check(&mut self, live: bool) -> Result<(), String> {
        fn paragraphs(field: &str, value: &mut String) -> Result<(), String> {
            *value = value.trim().to_owned();
            if value.is_empty() || is_written(value, MAX_PARAGRAPHS) {
                Ok(())
            } else {
                Err(format!(
                    "{field} is at most {MAX_PARAGRAPHS} characters of text"
                ))
            }
        }
        fn line(field: &str, value: &mut String, required: bool) -> Result<(), String> {
            *value = value.trim().to_owned();
            if (!required && value.is_empty()) || is_line(value, MAX_LINE) {
                Ok(())
            } else {
                Err(format!("{field} is one line of 1 to {MAX_LINE} characters"))
            }
        }
        paragraphs("overview", &mut self.overview)?;
        paragraphs("qualifications", &mut self.qualifications)?;
        if let Some(c) = &mut self.contact {
            line("contact.name", &mut c.name, true)?;
            line("contact.address", &mut c.address, false)?;
            c.phone = c.phone.trim().to_owned();
            let digits = c.phone.chars().filter(char::is_ascii_digit).count();
            if !(5..=20).contains(&digits)
                || !c
                    .phone
                    .chars()
                    .all(|ch| ch.is_ascii_digit() || " +-()".contains(ch))
            {
                return Err("contact.phone is 5 to 20 digits with spaces, +, - or ()".into());
            }
        }
        if let Some(p) = &mut self.parcel {
            if !live {
                return Err("parcel is for the sale of a land or mining right".into());
            }
            line("parcel.location", &mut p.location, true)?;
            line("parcel.land_use", &mut p.land_use, true)?;
            if !is_area(&p.area_m2) {
                return Err("parcel.area_m2 is a positive decimal with at most two places".into());
            }
            if !(1..=70).contains(&p.term_years) {
                return Err("parcel.term_years is 1 to 70 (the longest grant by law)".into());
            }
        }
        Ok(())
    }
}

/// "12345", "12345.6" or "12345.67": a positive decimal, at most two places, no sign,
/// no leading zero before other digits.
fn is_area(s: &str) -> bool {
    let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
    let digits = |p: &str| p.chars().all(|c| c.is_ascii_digit());
    !whole.is_empty()
        && whole.len() <= 12
        && digits(whole)
        && digits(fraction)
        && fraction.len() <= 2
        && !s.ends_with('.')
        && !(whole.len() > 1 && whole.starts_with('0'))
        && s.chars().any(|c| ('1'..='9').contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parcel() -> Parcel {
        Parcel {
            location: "乌鲁木齐市天山区延安路以南".into(),
            area_m2: "36050.25".into(),
            land_use: "住宅用地".into(),
            term_years: 70,
        }
    }

    #[test]
    fn an_announcement_is_trimmed_text_and_a_parcel_belongs_to_a_sale() {
        let mut a = Announcement {
            overview: "  本项目为河滩路改造工程施工。\n\n招标范围：道路、桥梁。 ".into(),
            qualifications: "具备市政公用工程施工总承包二级及以上资质。".into(),
            contact: Some(Contact {
                name: " 王工 ".into(),
                phone: "(0991) 123-4567".into(),
                address: String::new(),
            }),
            parcel: None,
        };
        assert_eq!(a.check(false), Ok(()));
        assert_eq!(
            a.overview,
            "本项目为河滩路改造工程施工。\n\n招标范围：道路、桥梁。"
        );
        assert_eq!(a.contact.as_ref().map(|c| c.name.as_str()), Some("王工"));

        a.parcel = Some(parcel());
        assert!(a
            .check(false)
            .expect_err("a parcel on a tender")
            .contains("parcel"));
        assert_eq!(a.check(true), Ok(()));
        assert_eq!(Announcement::default().check(false), Ok(()));
    }

    #[test]
    fn each_field_is_held_to_its_form() {
        let with = |f: &dyn Fn(&mut Announcement)| {
            let mut a = Announcement {
                contact: Some(Contact {
                    name: "王工".into(),
                    phone: "0991-1234567".into(),
                    address: "乌鲁木齐市".into(),
                }),
                parcel: Some(parcel()),
                ..Announcement::default()
            };
            f(&mut a);
            a.check(true)
        };
        assert_eq!(with(&|_| {}), Ok(()));
        let refused = |f: &dyn Fn(&mut Announcement), field: &str| {
            let e = with(f).expect_err(field);
            assert!(e.contains(field), "{field}: {e}");
        };
        refused(&|a| a.overview = "x".repeat(MAX_PARAGRAPHS + 1), "overview");
        refused(&|a| a.overview = "控制\u{1b}[31m".into(), "overview");
        refused(&|a| a.qualifications = "a\u{0}b".into(), "qualifications");
        let contact = |f: fn(&mut Contact)| {
            move |a: &mut Announcement| f(a.contact.as_mut().expect("contact"))
        };
        refused(&contact(|c| c.name = "  ".into()), "contact.name");
        refused(
            &contact(|c| c.address = "two\nlines".into()),
            "contact.address",
        );
        refused(&contact(|c| c.phone = "1234".into()), "contact.phone");
        refused(
            &contact(|c| c.phone = "0991 123 4567 ext".into()),
            "contact.phone",
        );
        refused(&contact(|c| c.phone = "1".repeat(21)), "contact.phone");
        let p =
            |f: fn(&mut Parcel)| move |a: &mut Announcement| f(a.parcel.as_mut().expect("parcel"));
        refused(&p(|p| p.location = String::new()), "parcel.location");
        refused(
            &p(|p| p.land_use = "x".repeat(MAX_LINE + 1)),
            "parcel.land_use",
        );
        refused(&p(|p| p.term_years = 0), "parcel.term_years");
        refused(&p(|p| p.term_years = 71), "parcel.term_years");
        for area in [
            "", "0", "0.00", "-5", "1.234", "1.", ".5", "01", "1e5", "1,000",
        ] {
            let area = area.to_owned();
            let e = with(&move |a| a.parcel.as_mut().expect("parcel").area_m2 = area.clone());
            assert!(e.is_err(), "{e:?}");
        }
        for area in ["1", "0.5", "12345.67", "100.1"] {
            assert!(is_area(area), "{area}");
        }
    }
}
