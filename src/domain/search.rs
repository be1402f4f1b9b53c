//! Search terms (docs/api.md "Search", ADR 0015). Chinese text has no spaces, so it is
//! indexed as overlapping pairs of characters (bigrams) plus single characters, the
//! usual CJK analysis of full-text engines; runs of Latin letters and digits are indexed
//! as lowercase words. A query matches a trade that has every term of the query.

use std::collections::BTreeSet;

/// Version of the term rules; a change rebuilds the index at start.
pub const TERMS_VERSION: i64 = 1;

/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 100;

/// Most terms a query may have.
pub const MAX_QUERY_TERMS: usize = 16;

fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2EBEF}')
}

/// Splits text into runs of CJK characters and of lowercase Latin letters and digits.
fn runs(text: &str) -> Vec<(bool, String)> {
    let mut runs: Vec<(bool, String)> = Vec::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        let kind = if is_cjk(c) {
            Some(true)
        } else if c.is_alphanumeric() {
            Some(false)
        } else {
            None
        };
        match (kind, runs.last_mut()) {
            (None, _) => runs.push((false, String::new())),
            (Some(cjk), Some((last, run))) if *last == cjk => run.push(c),
            (Some(cjk), _) => runs.push((cjk, c.to_string())),
        }
    }
    runs.retain(|(_, r)| !r.is_empty());
    runs
}

fn bigrams(run: &str) -> impl Iterator<Item = String> + '_ {
    let chars: Vec<char> = run.chars().collect();
    (0..chars.len().saturating_sub(1))
        .map(move |i| chars[i..i + 2].iter().collect())
        .collect::<Vec<String>>()
        .into_iter()
}

/// The terms a document is indexed under.
pub fn index_terms(text: &str) -> BTreeSet<String> {
    let mut terms = BTreeSet::new();
    for (cjk, run) in runs(text) {
        if cjk {
            terms.extend(run.chars().map(String::from));
            terms.extend(bigrams(&run));
        } else {
            terms.insert(run);
        }
    }
    terms
}

/// The terms a query needs, most specific first: a CJK run of two or more characters
/// needs its bigrams, a single character itself, a Latin or digit run the word.
pub fn query_terms(query: &str) -> BTreeSet<String> {
    let mut terms = BTreeSet::new();
    for (cjk, run) in runs(query) {
        if cjk && run.chars().count() > 1 {
            terms.extend(bigrams(&run));
        } else {
            terms.insert(run);
        }
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_is_indexed_by_characters_and_pairs_and_latin_by_words() {
        let terms = index_terms("河滩路改造 EPC-2026 工程");
        for t in ["河", "河滩", "滩路", "改造", "epc", "2026", "工程", "程"] {
            assert!(terms.contains(t), "{t}: {terms:?}");
        }
        assert!(!terms.contains("造e"), "runs do not join across kinds");
        assert!(!terms.contains("改造 "));
    }

    #[test]
    fn a_query_matches_what_its_text_was_indexed_under() {
        let text = "乌鲁木齐市城市建设投资（集团）有限公司 河滩路改造工程施工招标";
        let indexed = index_terms(text);
        for q in ["河滩路", "改造工程", "乌鲁木齐", "集团", "路", "招标 施工"] {
            let needed = query_terms(q);
            assert!(!needed.is_empty());
            assert!(needed.is_subset(&indexed), "{q}: {needed:?}");
        }
        assert!(
            !query_terms("河路").is_subset(&indexed),
            "pairs must be adjacent"
        );
        assert_eq!(
            query_terms("EPC 2026"),
            ["2026", "epc"].into_iter().map(String::from).collect()
        );
        assert!(query_terms(" ，。 ").is_empty());
    }
}
