//! Every test the docs cite exists: in README.md and docs/, a citation is a backticked
//! `path/to/file.rs` or `path/to/file.rs::test_name` (a trailing `*` stands for any
//! ending, for a family of tests; `path/to/*.rs` for the files of a folder). The file must exist and, where a name is given,
//! define a function by that name. A claim in docs/security.md or docs/benchmarks.md is
//! only as good as the test it names.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Markdown files that cite tests.
fn documents() -> Vec<PathBuf> {
    let mut out = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap_or_else(|e| panic!("docs/: {e}"))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    out.extend(docs);
    out
}

/// The citations in `text`: (file, optional test name), from every backticked span that
/// is a path under `src/`, `tests/` or `benches/` ending in `.rs`, optionally `::name`.
fn citations(text: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for (i, span) in text.split('`').enumerate() {
        if i % 2 == 0 {
            continue;
        }
        let (file, name) = match span.split_once("::") {
            Some((file, name)) => (file, Some(name.to_owned())),
            None => (span, None),
        };
        let is_path = ["src/", "tests/", "benches/"]
            .iter()
            .any(|p| file.starts_with(p))
            && file.ends_with(".rs")
            && !file.contains(char::is_whitespace);
        if is_path {
            out.push((file.to_owned(), name));
        }
    }
    out
}

/// Whether `source` defines a function `name` (a trailing `*`: any name starting so).
fn defines(source: &str, name: &str) -> bool {
    let (stem, any_ending) = match name.strip_suffix('*') {
        Some(stem) => (stem, true),
        None => (name, false),
    };
    source.match_indices("fn ").any(|(at, _)| {
        let rest = &source[at + 3..];
        let ident: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if any_ending {
            ident.starts_with(stem)
        } else {
            ident == stem
        }
    })
}

#[test]
fn every_test_the_docs_cite_exists() {
    let mut wrong = Vec::new();
    let mut cited = 0;
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap_or_else(|e| panic!("{e}"));
        let shown = doc
            .strip_prefix(root())
            .unwrap_or(&doc)
            .display()
            .to_string();
        for (file, name) in citations(&text) {
            cited += 1;
            let path = root().join(Path::new(&file));
            if let Some((dir, "*.rs")) = file.rsplit_once('/') {
                // A family of files: the folder must hold some.
                let any = std::fs::read_dir(root().join(dir)).is_ok_and(|entries| {
                    entries
                        .flatten()
                        .any(|e| e.path().extension().is_some_and(|x| x == "rs"))
                });
                if !any {
                    wrong.push(format!("{shown}: `{file}` matches no file"));
                }
                continue;
            }
            let Ok(source) = std::fs::read_to_string(&path) else {
                wrong.push(format!("{shown}: `{file}` does not exist"));
                continue;
            };
            if let Some(name) = name {
                if !defines(&source, &name) {
                    wrong.push(format!("{shown}: `{file}` has no test `{name}`"));
                }
            }
        }
    }
    assert!(
        cited > 50,
        "only {cited} citations found: is the reading broken?"
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_citation_of_a_missing_test_is_found() {
    let text = "guarded by `tests/cli.rs::no_such_test` and `tests/cli.rs::every_subcommand_explains_itself`, \
                `tests/nowhere.rs`, `kill_9_*` and `src/fuzz.rs`";
    let found = citations(text);
    assert_eq!(
        found,
        [
            ("tests/cli.rs".to_owned(), Some("no_such_test".to_owned())),
            (
                "tests/cli.rs".to_owned(),
                Some("every_subcommand_explains_itself".to_owned())
            ),
            ("tests/nowhere.rs".to_owned(), None),
            ("src/fuzz.rs".to_owned(), None),
        ]
    );
    let source = std::fs::read_to_string(root().join("tests/cli.rs")).unwrap_or_default();
    assert!(!defines(&source, "no_such_test"));
    assert!(defines(&source, "every_subcommand_explains_itself"));
    assert!(defines(&source, "every_subcommand_*"));
    assert!(!defines(&source, "every_subcommand"));
}
