//! Every refusal code the server can answer is documented in docs/api.md, and every code
//! documented there has words in both of the pages' languages (web/js/errors.js), so a
//! new code cannot ship undocumented or untranslated, and the table keeps no code the
//! server no longer has.
//!
//! The server's codes are read from its source: the first string of every
//! `invalid(…)`, `conflict(…)` and `ApiError::request(…)`, every `code: "…"` and
//! `"code": "…"`, and every arm of a `fn code(…) -> &'static str`. The browser tests
//! render each code through a page (tests/api/web.rs).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn is_code(s: &str) -> bool {
    s.len() > 2
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The string literal starting at the first `"` at or after `from`, if only blanks, a
/// status expression and a comma stand before it (within `window` bytes).
fn first_literal(text: &str, from: usize, window: usize) -> Option<&str> {
    let rest = &text[from..];
    let open = rest.find('"')?;
    if open > window || rest[..open].contains([';', ')', '{']) {
        return None;
    }
    let body = &rest[open + 1..];
    let close = body.find('"')?;
    Some(&body[..close])
}

/// The codes written in one source file.
fn source_codes(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |s: Option<&str>| {
        if let Some(s) = s.filter(|s| is_code(s)) {
            out.insert(s.to_owned());
        }
    };
    for needle in ["invalid(", "conflict(", "code: ", "\"code\": "] {
        for (at, _) in text.match_indices(needle) {
            add(first_literal(text, at + needle.len(), 4));
        }
    }
    for (at, _) in text.match_indices("ApiError::request(") {
        // The status comes first: `StatusCode::X` or an expression like `r.status()`.
        let start = at + "ApiError::request(".len();
        let Some(comma) = text[start..].find(',') else {
            continue;
        };
        add(first_literal(text, start + comma + 1, 40));
    }
    for (at, _) in text.match_indices("fn code(") {
        let head = &text[at..];
        if !head[..head.find('{').unwrap_or(0)].contains("&'static str") {
            continue;
        }
        // The body, to its closing brace.
        let mut depth = 0;
        let mut end = 0;
        for (i, c) in head.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let body = &head[..end];
        for (arm, _) in body.match_indices("=> ") {
            add(first_literal(body, arm + 3, 0));
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            out.push(path);
        }
    }
}

/// Codes the source names that are not answers of the API: a trust store that does not
/// load stops the server at start (docs/operations.md).
const NOT_ANSWERS: &[&str] = &["trust_store_invalid"];

fn server_codes() -> BTreeSet<String> {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut codes = BTreeSet::new();
    for file in files {
        let text = read(&file);
        // Unit tests name codes too, but only to check them.
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        codes.extend(source_codes(text));
    }
    codes.retain(|c| !NOT_ANSWERS.contains(&c.as_str()));
    codes
}

/// docs/api.md's prose without its fenced blocks (they would pair backticks wrongly).
fn api_prose() -> String {
    read(&root().join("docs/api.md"))
        .split("```")
        .step_by(2)
        .collect::<Vec<_>>()
        .join("")
}

/// Every code-like word docs/api.md sets in backticks, alone or after a status: refusals,
/// and the outcomes some answers carry (a bank notification's `deposit_wrong_amount`).
fn mentioned_codes() -> BTreeSet<String> {
    api_prose()
        .split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|span| span.split_whitespace().last())
        .filter(|w| is_code(w))
        .map(str::to_owned)
        .collect()
}

/// The refusal codes docs/api.md documents: the code column of the table under "## Errors", and
/// every `STATUS code` span anywhere (`404 bid_not_found`), line breaks included.
fn documented_codes() -> BTreeSet<String> {
    let text = read(&root().join("docs/api.md"));
    let mut codes = BTreeSet::new();
    let errors = text
        .split("\n## Errors\n")
        .nth(1)
        .expect("docs/api.md has an Errors section");
    let errors = errors.split("\n## ").next().unwrap_or_default();
    for line in errors.lines().filter(|l| l.starts_with('|')) {
        let Some(cell) = line.split('|').nth(2) else {
            continue;
        };
        for span in cell.split('`').skip(1).step_by(2) {
            if is_code(span) {
                codes.insert(span.to_owned());
            }
        }
    }
    for span in api_prose().split('`').skip(1).step_by(2) {
        let mut words = span.split_whitespace();
        if let (Some(status), Some(code), None) = (words.next(), words.next(), words.next()) {
            if status.len() == 3 && status.chars().all(|c| c.is_ascii_digit()) && is_code(code) {
                codes.insert(code.to_owned());
            }
        }
    }
    codes
}

/// web/js/errors.js's table: code → (Chinese, English), from its `  code: ['…', '…'],` lines.
fn page_texts() -> Vec<(String, String, String)> {
    let text = read(&root().join("web/js/errors.js"));
    let table = text
        .split("const TEXT = {")
        .nth(1)
        .and_then(|t| t.split("\n};").next())
        .expect("web/js/errors.js has its TEXT table");
    let mut out = Vec::new();
    for line in table.lines().map(str::trim) {
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        let (code, rest) = line
            .split_once(": ['")
            .unwrap_or_else(|| panic!("web/js/errors.js: not `code: ['…', '…'],`: {line}"));
        let (zh, en) = rest
            .strip_suffix("'],")
            .and_then(|r| r.split_once("', '"))
            .unwrap_or_else(|| panic!("web/js/errors.js: not `code: ['…', '…'],`: {line}"));
        out.push((code.to_owned(), zh.to_owned(), en.to_owned()));
    }
    out
}

fn han(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

#[test]
fn every_code_the_server_answers_is_in_docs_api_md() {
    let documented = mentioned_codes();
    let undocumented: Vec<_> = server_codes()
        .into_iter()
        .filter(|c| !documented.contains(c))
        .collect();
    assert!(
        undocumented.is_empty(),
        "codes the server answers that docs/api.md does not document: {undocumented:?}"
    );
}

#[test]
fn every_documented_code_has_words_in_both_languages_and_no_other() {
    let documented = documented_codes();
    assert!(documented.len() > 150, "{}", documented.len());
    let texts = page_texts();
    let mut seen = BTreeSet::new();
    for (code, zh, en) in &texts {
        assert!(
            seen.insert(code.clone()),
            "{code} twice in web/js/errors.js"
        );
        assert!(
            documented.contains(code),
            "web/js/errors.js has `{code}`, which docs/api.md does not document"
        );
        assert!(han(zh), "{code}: the Chinese text has no Chinese: {zh}");
        assert!(!han(en), "{code}: the English text has Chinese: {en}");
        assert!(!en.trim().is_empty(), "{code}: no English");
    }
    let missing: Vec<_> = documented.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "documented codes without words in web/js/errors.js: {missing:?}"
    );
}

#[test]
fn the_source_scan_finds_codes_of_every_form() {
    let sample = r#"
        EngineError::invalid("invalid_title", "x");
        return Err(conflict("after_deadline", format!("y")));
        NotFound { code: "trade_not_found", what: "trade" }
        ApiError::request(r.status(), "invalid_body", r.body_text())
        json!({"error": {"code": "storage_full", "message": "…"}})
        pub fn code(&self) -> &'static str { match self { Self::A => "quote_price_taken", Self::B => "nonce_unknown" } }
        fn other(&self) -> &'static str { match self { Self::A => "not_a_code_here" } }
        let status = "published";
    "#;
    let found: Vec<String> = source_codes(sample).into_iter().collect();
    assert_eq!(
        found,
        [
            "after_deadline",
            "invalid_body",
            "invalid_title",
            "nonce_unknown",
            "quote_price_taken",
            "storage_full",
            "trade_not_found"
        ]
    );
}
