//! tradehall — a public-resource e-trading platform (公共资源交易平台).
//!
//! One server hosts construction tenders, government procurement, land-use-right,
//! mining-right and state-asset trades under one versioned rulebook. Every state change is
//! appended, in the same transaction, to one ordered event log whose entries are the exact
//! bytes a Merkle transparency log hashes.
//!
//! # Layout
//!
//! - [`domain`]: pure rules and types — trade kinds, the rulebook, money, 统一社会信用代码,
//!   the clock, event entries. Imports nothing of ours.
//! - [`crypto`]: certificates (chain validation, key usage, signatures), the dev PKI,
//!   digests and commitments. Imports at most `domain`.
//! - [`store`]: the `Store` trait and its SQLite and PostgreSQL implementations.
//! - [`engine`]: use cases (register, log in, create and publish trades, clarify); owns
//!   transactions and the clock.
//! - [`http`]: a thin axum skin over `engine`: routing, extractors, error mapping.
//! - [`client`]: what the `tradehall` CLI runs on a user's machine, over HTTP only: bids,
//!   custodians, experts, quotes, verification, the dev PKI.
//! - [`config`]: command-line and environment configuration.
//! - [`server`]: the composition root shared by `serve`, `demo` and the tests.
//! - [`demo`]: the one-command demo: a dev PKI, demo organisations, one trade of each
//!   kind, and automatic participants that play them to the end through the public API.
#![forbid(unsafe_code)]

pub mod bench;
pub mod client;
pub mod config;
pub mod crypto;
pub mod demo;
pub mod domain;
pub mod engine;
pub mod fuzz;
pub mod http;
pub mod server;
pub mod store;
