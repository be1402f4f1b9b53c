//! The arrows between modules point one way (src/lib.rs, "Layout"): `domain`
//! imports nothing of ours, `crypto` at most `domain`, `store` only `domain`, and
//! `client` — which runs on a bidder's or custodian's machine — never `store`, `engine`
//! or `http`.
//!
//! Each source file is parsed (syn), and every path in it is resolved to the top-level
//! module it names: `use crate::engine::X`, grouped imports (`use crate::{domain, engine::X}`),
//! paths in code (`crate::store::open(…)`) and `super::` climbing out of the module.

use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Our top-level modules.
const OURS: &[&str] = &[
    "domain", "crypto", "store", "engine", "http", "client", "config", "server", "demo", "bench",
    "fuzz",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a source file under `src/`: `src/engine/opening.rs` is
/// `["engine", "opening"]`, `src/engine/mod.rs` is `["engine"]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).unwrap_or(file);
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// Every top-level module of ours a file names, with where.
struct Named {
    /// The module the file's code is in (inline `mod` blocks included).
    at: Vec<String>,
    found: Vec<(String, String)>,
}

impl Named {
    /// The top-level module `segments` (the leading segments of a path) names, if ours.
    fn resolve(&mut self, segments: &[String], shown: &str) {
        let Some(first) = segments.first() else {
            return;
        };
        let top = match first.as_str() {
            "crate" => segments.get(1).cloned(),
            "super" => {
                let ups = segments.iter().take_while(|s| *s == "super").count();
                if ups < self.at.len() {
                    self.at.first().cloned()
                } else {
                    segments.get(ups).cloned()
                }
            }
            "self" => self.at.first().cloned(),
            _ => None,
        };
        if let Some(top) = top.filter(|t| OURS.contains(&t.as_str())) {
            self.found.push((top, shown.to_owned()));
        }
    }

    /// A `use` tree, flattened into the leading segments of each path it imports.
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                prefix.push(n.ident.to_string());
                let shown = prefix.join("::");
                self.resolve(&prefix.clone(), &format!("use {shown}"));
                prefix.pop();
            }
            syn::UseTree::Rename(r) => {
                prefix.push(r.ident.to_string());
                let shown = prefix.join("::");
                self.resolve(&prefix.clone(), &format!("use {shown}"));
                prefix.pop();
            }
            syn::UseTree::Glob(_) => {
                let shown = format!("{}::*", prefix.join("::"));
                self.resolve(&prefix.clone(), &format!("use {shown}"));
            }
            syn::UseTree::Group(g) => {
                for item in &g.items {
                    self.use_tree(prefix, item);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Named {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.resolve(&segments, &segments.join("::"));
        syn::visit::visit_path(self, path);
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        self.at.push(item.ident.to_string());
        syn::visit::visit_item_mod(self, item);
        self.at.pop();
    }
}

/// The top-level modules of ours each file under `src/<module>` names: (file, module, path).
fn dependencies(module: &str) -> Vec<(String, String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src.join(module), &mut files);
    assert!(!files.is_empty(), "no sources under src/{module}");
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
        let parsed = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut named = Named {
            at: module_path(&src, &file),
            found: Vec::new(),
        };
        named.visit_file(&parsed);
        for (top, shown) in named.found {
            out.push((file.display().to_string(), top, shown));
        }
    }
    out
}

fn assert_imports_only(module: &str, allowed: &[&str]) {
    let wrong: Vec<String> = dependencies(module)
        .into_iter()
        .filter(|(_, top, _)| top != module && !allowed.contains(&top.as_str()))
        .map(|(file, top, shown)| format!("{file}: `{module}` must not depend on `{top}`: {shown}"))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
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

/// The reading itself: each form of naming another module is found.
#[test]
fn grouped_nested_and_relative_paths_are_all_resolved() {
    let text = r"
        use crate::{domain::money::Money, engine::Platform};
        use crate::{
            store::{self, Store},
        };
        use super::super::http::Router;
        fn f() { crate::config::load(); }
        mod inner { use super::super::server::Thing; }
    ";
    let parsed = syn::parse_file(text).unwrap_or_else(|e| panic!("{e}"));
    let mut named = Named {
        at: vec!["client".into(), "bid".into()],
        found: Vec::new(),
    };
    named.visit_file(&parsed);
    let mut tops: Vec<String> = named.found.into_iter().map(|(t, _)| t).collect();
    tops.sort();
    tops.dedup();
    assert_eq!(
        tops,
        ["client", "config", "domain", "engine", "http", "store"],
        "`super::super::server` inside `mod inner` of client::bid is client itself"
    );
}
