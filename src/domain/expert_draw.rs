//! The random draw of an evaluation committee's experts (评标专家随机抽取, ADR 0013): who
//! may sit (avoidance rules), how many, and the draw itself. It is pure and
//! deterministic: the seed is a value nobody could know before the opening (the root of
//! the signed log checkpoint that includes it), and the pool and the result are logged,
//! so anyone can run it again (`tradehall verify draw`) and must reach the same experts.
//!
//! The draw ranks every eligible expert by SHA-256 over a label, the seed and the
//! expert's id, and takes the lowest. Each expert's place depends only on the seed and
//! its own id, so the order the pool is listed in cannot matter; a pool changed after
//! the fact shows as a different pool digest.

use ring::digest::{Context, SHA256};
use serde::{Deserialize, Serialize};

/// Domain separation for the ranking hash.
pub const DRAW_LABEL: &[u8] = b"tradehall-expert-draw-v1";

/// An expert of the pool, as the draw sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolExpert {
    /// The expert's identity id.
    pub id: String,
    /// 统一社会信用代码 of the organisation the expert works for.
    pub organization_usci: String,
    /// Specialty codes (评标专业), e.g. `construction.road`.
    pub specialties: Vec<String>,
    /// Organisations (统一社会信用代码) the expert declared a conflict of interest with.
    pub conflicts: Vec<String>,
}

/// Most specialties and declared conflicts one expert may state.
pub const MAX_PROFILE_ITEMS: usize = 50;

/// What an expert states about itself for the pool: its specialties and the
/// organisations it is in conflict with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpertProfile {
    /// Specialty codes: 1 to 64 lowercase letters, digits, `.`, `-`, `_`.
    pub specialties: Vec<String>,
    /// 统一社会信用代码 of organisations the expert may not judge.
    #[serde(default)]
    pub conflicts: Vec<String>,
}

impl ExpertProfile {
    /// Checks and normalises (sorted, without repeats) a profile; says what is wrong.
    pub fn checked(mut self) -> Result<Self, String> {
        if self.specialties.is_empty() {
            return Err("an expert states at least one specialty".into());
        }
        if self.specialties.len() > MAX_PROFILE_ITEMS || self.conflicts.len() > MAX_PROFILE_ITEMS {
            return Err(format!(
                "at most {MAX_PROFILE_ITEMS} specialties and {MAX_PROFILE_ITEMS} conflicts"
            ));
        }
        if let Some(bad) = self.specialties.iter().find(|s| {
            s.is_empty()
                || s.len() > 64
                || !s.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_')
                })
        }) {
            return Err(format!(
                "specialty {bad:?} is not 1 to 64 lowercase letters, digits, '.', '-' or '_'"
            ));
        }
        for c in &mut self.conflicts {
            *c = super::usci::Usci::parse(c)
                .map_err(|_| format!("conflict {c:?} is not a valid 统一社会信用代码"))?
                .as_str()
                .to_owned();
        }
        self.specialties.sort();
        self.specialties.dedup();
        self.conflicts.sort();
        self.conflicts.dedup();
        Ok(self)
    }
}

/// What a trade needs drawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawRequest {
    /// The specialty the experts must have.
    pub specialty: String,
    /// How many experts to draw.
    pub experts: usize,
    /// Organisations no expert may come from or be in conflict with: every bidder's and
    /// the buyer's (实施条例 第46条).
    pub avoid: Vec<String>,
}

/// Why an expert was left out, for the logged draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Excluded {
    /// Not of the requested specialty.
    Specialty,
    /// Works for a bidder or the buyer.
    Organization,
    /// Declared a conflict with a bidder or the buyer.
    DeclaredConflict,
}

/// The result of a draw: the experts drawn in rank order, and why every other member of
/// the pool could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drawn {
    pub experts: Vec<String>,
    /// The eligible experts, in rank order (the drawn ones first): a replacement for an
    /// expert who cannot come is the next one.
    pub ranked: Vec<String>,
    pub excluded: Vec<(String, Excluded)>,
}

/// Why a draw cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DrawError {
    #[error("only {eligible} experts of the pool may sit; {needed} are needed")]
    PoolTooSmall { eligible: usize, needed: usize },
    #[error("a committee of {total} with {experts} experts breaks the rule: {rule}")]
    Composition {
        total: usize,
        experts: usize,
        rule: String,
    },
}

/// Why an expert may not sit, if it may not.
pub fn exclusion(expert: &PoolExpert, request: &DrawRequest) -> Option<Excluded> {
    if !expert.specialties.contains(&request.specialty) {
        return Some(Excluded::Specialty);
    }
    if request.avoid.contains(&expert.organization_usci) {
        return Some(Excluded::Organization);
    }
    if expert.conflicts.iter().any(|c| request.avoid.contains(c)) {
        return Some(Excluded::DeclaredConflict);
    }
    None
}

/// An expert's place in the draw: SHA-256 of the label, a zero byte, the seed and the
/// expert's id. Lower is drawn first.
pub fn rank_key(seed: &[u8; 32], expert_id: &str) -> [u8; 32] {
    let mut context = Context::new(&SHA256);
    context.update(DRAW_LABEL);
    context.update(&[0]);
    context.update(seed);
    context.update(expert_id.as_bytes());
    let mut key = [0; 32];
    key.copy_from_slice(context.finish().as_ref());
    key
}

/// SHA-256 of the pool as the draw saw it: each expert's canonical JSON line, in id
/// order. A pool changed after the draw has another digest.
pub fn pool_digest(pool: &[PoolExpert]) -> [u8; 32] {
    let mut sorted: Vec<&PoolExpert> = pool.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    let mut context = Context::new(&SHA256);
    for expert in sorted {
        let mut specialties = expert.specialties.clone();
        specialties.sort();
        let mut conflicts = expert.conflicts.clone();
        conflicts.sort();
        let line = serde_json::json!({
            "id": expert.id,
            "organization_usci": expert.organization_usci,
            "specialties": specialties,
            "conflicts": conflicts,
        });
        context.update(line.to_string().as_bytes());
        context.update(b"\n");
    }
    let mut digest = [0; 32];
    digest.copy_from_slice(context.finish().as_ref());
    digest
}

/// Draws `request.experts` experts from `pool` with `seed`.
pub fn draw(
    seed: &[u8; 32],
    pool: &[PoolExpert],
    request: &DrawRequest,
) -> Result<Drawn, DrawError> {
    let mut excluded = Vec::new();
    let mut eligible = Vec::new();
    for expert in pool {
        match exclusion(expert, request) {
            Some(why) => excluded.push((expert.id.clone(), why)),
            None => eligible.push((rank_key(seed, &expert.id), expert.id.clone())),
        }
    }
    if eligible.len() < request.experts {
        return Err(DrawError::PoolTooSmall {
            eligible: eligible.len(),
            needed: request.experts,
        });
    }
    eligible.sort();
    excluded.sort();
    let ranked: Vec<String> = eligible.into_iter().map(|(_, id)| id).collect();
    Ok(Drawn {
        experts: ranked[..request.experts].to_vec(),
        ranked,
        excluded,
    })
}

/// Budget from which a procurement's committee needs at least seven members: 10,000,000
/// yuan, in 分.
pub const LARGE_PROCUREMENT: i64 = 1_000_000_000;

/// Checks a committee of `total` members of whom `experts` are drawn experts (the rest
/// represent the buyer): at least five, an odd number, experts at least two thirds
/// (招标投标法 第37条; 政府采购货物和服务招标投标管理办法 第47条), and at least seven for a
/// procurement with a budget of 10,000,000 yuan or more (同办法 第47条).
pub fn check_composition(
    total: usize,
    experts: usize,
    procurement_budget: Option<i64>,
) -> Result<(), DrawError> {
    let broken = |rule: &str| {
        Err(DrawError::Composition {
            total,
            experts,
            rule: rule.to_owned(),
        })
    };
    if experts > total {
        return broken("the experts are members of the committee");
    }
    if total < 5 || total % 2 == 0 {
        return broken("five or more members, an odd number (招标投标法 第37条)");
    }
    if experts * 3 < total * 2 {
        return broken("experts are at least two thirds of the members (招标投标法 第37条)");
    }
    if procurement_budget.is_some_and(|b| b >= LARGE_PROCUREMENT) && total < 7 {
        return broken(
            "seven or more members for a budget of 10,000,000 yuan or more (政府采购货物和服务招标投标管理办法 第47条)",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expert(id: &str, org: &str, specialties: &[&str], conflicts: &[&str]) -> PoolExpert {
        PoolExpert {
            id: id.into(),
            organization_usci: org.into(),
            specialties: specialties.iter().map(|s| (*s).to_owned()).collect(),
            conflicts: conflicts.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn pool() -> Vec<PoolExpert> {
        let mut pool: Vec<PoolExpert> = (0..12)
            .map(|i| expert(&format!("e{i:02}"), &format!("ORG{i}"), &["road"], &[]))
            .collect();
        pool.push(expert("bidder-staff", "BIDDER1", &["road"], &[]));
        pool.push(expert("buyer-staff", "BUYER", &["road"], &[]));
        pool.push(expert("conflicted", "ORG99", &["road"], &["BIDDER2"]));
        pool.push(expert("bridge-only", "ORG98", &["bridge"], &[]));
        pool
    }

    fn request(experts: usize) -> DrawRequest {
        DrawRequest {
            specialty: "road".into(),
            experts,
            avoid: vec!["BIDDER1".into(), "BIDDER2".into(), "BUYER".into()],
        }
    }

    #[test]
    fn every_avoidance_rule_holds() {
        let drawn = draw(&[7; 32], &pool(), &request(12)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(drawn.experts.len(), 12, "all twelve eligible experts");
        for id in ["bidder-staff", "buyer-staff", "conflicted", "bridge-only"] {
            assert!(!drawn.ranked.iter().any(|e| e == id), "{id} may not sit");
        }
        assert_eq!(
            drawn.excluded,
            vec![
                ("bidder-staff".to_owned(), Excluded::Organization),
                ("bridge-only".to_owned(), Excluded::Specialty),
                ("buyer-staff".to_owned(), Excluded::Organization),
                ("conflicted".to_owned(), Excluded::DeclaredConflict),
            ]
        );
        assert_eq!(
            draw(&[7; 32], &pool(), &request(13)),
            Err(DrawError::PoolTooSmall {
                eligible: 12,
                needed: 13
            })
        );
    }

    #[test]
    fn a_draw_is_reproducible_and_depends_on_the_seed_only() {
        let first = draw(&[1; 32], &pool(), &request(5)).unwrap_or_else(|e| panic!("{e}"));
        let mut reversed = pool();
        reversed.reverse();
        let again = draw(&[1; 32], &reversed, &request(5)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            first.experts, again.experts,
            "the pool's order does not matter"
        );
        assert_eq!(pool_digest(&pool()), pool_digest(&reversed));
        let other = draw(&[2; 32], &pool(), &request(5)).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(
            first.experts, other.experts,
            "another seed, another committee"
        );
        // The drawn are the five lowest rank keys among the eligible.
        let mut keys: Vec<([u8; 32], String)> = first
            .ranked
            .iter()
            .map(|id| (rank_key(&[1; 32], id), id.clone()))
            .collect();
        keys.sort();
        let lowest: Vec<String> = keys.into_iter().take(5).map(|(_, id)| id).collect();
        assert_eq!(first.experts, lowest);
    }

    #[test]
    fn a_changed_pool_is_detected() {
        let logged = pool_digest(&pool());
        let mut changed = pool();
        changed[0].conflicts.push("BIDDER1".into());
        assert_ne!(pool_digest(&changed), logged, "a new declared conflict");
        let mut added = pool();
        added.push(expert("late", "ORG50", &["road"], &[]));
        assert_ne!(
            pool_digest(&added),
            logged,
            "an expert added after the draw"
        );
    }

    #[test]
    fn a_profile_is_checked_and_normalised() {
        let profile = |specialties: &[&str], conflicts: &[&str]| ExpertProfile {
            specialties: specialties.iter().map(|s| (*s).to_owned()).collect(),
            conflicts: conflicts.iter().map(|s| (*s).to_owned()).collect(),
        };
        let ok = profile(&["road", "bridge", "road"], &[])
            .checked()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.specialties, vec!["bridge", "road"]);
        assert!(profile(&[], &[]).checked().is_err(), "no specialty");
        assert!(profile(&["Road"], &[]).checked().is_err(), "uppercase");
        assert!(profile(&["road"], &["not-a-usci"]).checked().is_err());
    }

    #[test]
    fn the_committee_composition_follows_the_law() {
        assert!(check_composition(5, 4, None).is_ok());
        assert!(check_composition(7, 5, Some(LARGE_PROCUREMENT)).is_ok());
        assert!(check_composition(4, 4, None).is_err(), "fewer than five");
        assert!(check_composition(6, 6, None).is_err(), "even");
        assert!(
            check_composition(5, 3, None).is_err(),
            "experts under two thirds"
        );
        assert!(check_composition(9, 6, None).is_ok(), "exactly two thirds");
        assert!(
            check_composition(5, 5, Some(LARGE_PROCUREMENT)).is_err(),
            "a large procurement needs seven"
        );
        assert!(check_composition(5, 5, Some(LARGE_PROCUREMENT - 1)).is_ok());
    }
}
