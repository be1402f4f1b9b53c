//! The arrows between modules point one way (DESIGN.md, "Module layout"): `domain` imports
//! nothing of ours, `crypto` at most `domain`, `store` only `domain`, and `client` — which
//! runs on a bidder's or custodian's machine — never `store`, `engine` or `http`.

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            out.push((path.display().to_string(), text));
        }
    }
}

fn assert_imports_only(module: &str, allowed: &[&str]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(module);
    let mut files = Vec::new();
    sources(&root, &mut files);
    assert!(!files.is_empty(), "no sources under {}", root.display());
    let ours = [
        "domain", "crypto", "store", "engine", "http", "client", "config", "server", "demo",
    ];
    for (path, text) in files {
        for line in text.lines().map(str::trim) {
            for other in ours
                .iter()
                .filter(|m| **m != module && !allowed.contains(m))
            {
                for form in [
                    format!("crate::{other}::"),
                    format!("crate::{other};"),
                    format!("crate::{other}}}"),
                ] {
                    assert!(
                        !line.contains(&form),
                        "{path}: `{module}` must not depend on `{other}`: {line}"
                    );
                }
            }
        }
    }
}

#[test]
fn domain_depends_on_nothing_of_ours() {
    assert_imports_only("domain", &[]);
}

#[test]
fn crypto_depends_at_most_on_domain() {
    assert_imports_only("crypto", &["domain"]);
}

#[test]
fn store_depends_only_on_domain() {
    assert_imports_only("store", &["domain"]);
}

#[test]
fn the_client_never_reaches_into_the_server() {
    assert_imports_only("client", &["domain", "crypto"]);
}
