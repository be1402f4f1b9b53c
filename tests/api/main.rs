//! Integration tests: a real server per test, over SQLite and over PostgreSQL.
//!
//! Each scenario is an `async fn(Backend)` listed in `on_both_backends!`, so the same
//! behaviour is checked against both stores. The PostgreSQL suite needs a server at
//! `TRADEHALL_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/postgres`); each
//! test creates and drops its own database.

mod browser;
mod helpers;
mod openssl_pki;
#[path = "../common/private_pg.rs"]
mod private_pg;
mod softhsm;

mod alerts;
mod archive;
mod auth;
mod authz;
mod bids;
mod calendar;
mod committee;
mod deposits;
mod edges;
mod evaluation;
mod events;
mod experts;
mod feed;
mod fuzz_seeds;
mod interventions;
mod limits;
mod live;
mod log_tree;
mod ocds;
mod opening;
mod portal;
mod procurement;
mod quotes;
mod region;
mod reserve;
mod sealing;
mod search;
mod trades;
mod web;
