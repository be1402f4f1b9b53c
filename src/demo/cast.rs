//! The demo's cast: the DEV ONLY identities as the demo's automatic participants use
//! them, with what every one of them needs: a session, the public API, the DEV ONLY
//! bank's signature, patience, and a line on the terminal for a person watching.
//!
//! Every step of every actor first looks at the server to see whether it was done
//! already, so a demo restarted on the same data directory goes on where it was and
//! logs nothing twice.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use serde_json::Value;

use crate::client::session::{body_of, login, refused_code, Credentials, Session};
use crate::crypto::bank_signature;
use crate::crypto::pki::{DevIdentity, DevPkiLayout};
use crate::domain::money::Money;
use crate::server::DEV_BANK;

/// The key store passphrase of the demo custodians (DEV ONLY).
pub const DEMO_PASSPHRASE: &str = "demo-only-passphrase";

/// Prints one line of the story, with the part of the demo it belongs to.
pub fn say(part: &str, line: impl AsRef<str>) {
    println!("[demo] [{part}] {}", line.as_ref());
}

/// An amount of 分 as people read it.
pub fn yuan(minor: i64) -> String {
    Money::new(minor).map_or_else(|_| minor.to_string(), |m| format!("{m} 元"))
}

/// An RFC 3339 time of the API.
pub fn parse_time(v: &Value) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(v.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// Whether `e` is the server's refusal with one of `codes`: for a step that turns out to
/// have been done already.
pub fn refused_with(e: &anyhow::Error, codes: &[&str]) -> bool {
    refused_code(e).is_some_and(|c| codes.contains(&c))
}

/// The demo's participants and where they keep their own files.
#[derive(Clone)]
pub struct Cast {
    pub server: String,
    pub layout: DevPkiLayout,
    /// The actors' own files: custodian key stores, sealed bids and receipts, the
    /// bank's books.
    pub work: PathBuf,
    /// The DEV ONLY bank's secret, shared with the server.
    pub bank_secret: Vec<u8>,
    /// The pause between two steps a person should be able to tell apart.
    pub beat: Duration,
    http: reqwest::Client,
    /// One session per identity, kept: a real user stays signed in, and signing in for
    /// every step would run into the logins-per-identity limit.
    sessions: Arc<tokio::sync::Mutex<HashMap<String, Arc<Session>>>>,
}

impl Cast {
    pub fn new(
        server: String,
        layout: DevPkiLayout,
        work: PathBuf,
        bank_secret: Vec<u8>,
        beat: Duration,
    ) -> Self {
        Self {
            server,
            layout,
            work,
            bank_secret,
            beat,
            http: reqwest::Client::new(),
            sessions: Arc::default(),
        }
    }

    /// The identities of `role`, in the PKI's order.
    pub fn of_role<'a>(&'a self, role: &'a str) -> impl Iterator<Item = &'a DevIdentity> {
        self.layout
            .identities
            .iter()
            .filter(move |i| i.role == role)
    }

    /// The identity called `name` (e.g. "bidder-2").
    pub fn named(&self, name: &str) -> anyhow::Result<&DevIdentity> {
        self.layout
            .identities
            .iter()
            .find(|i| i.name == name)
            .ok_or_else(|| anyhow!("the demo PKI has no {name}"))
    }

    pub fn credentials<'a>(&'a self, who: &'a DevIdentity) -> Credentials<'a> {
        Credentials {
            server: &self.server,
            cert: &who.cert_path,
            key: &who.key_path,
        }
    }

    /// `who`'s session, signed in the first time it is needed.
    pub async fn session(&self, who: &DevIdentity) -> anyhow::Result<Arc<Session>> {
        let mut sessions = self.sessions.lock().await;
        if let Some(session) = sessions.get(&who.name) {
            return Ok(Arc::clone(session));
        }
        let session = Arc::new(
            login(&self.credentials(who))
                .await
                .with_context(|| format!("{} signing in", who.name))?,
        );
        sessions.insert(who.name.clone(), Arc::clone(&session));
        Ok(session)
    }

    /// A public GET of the API, as anyone reads it.
    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        body_of(
            self.http
                .get(format!("{}{path}", self.server))
                .send()
                .await
                .with_context(|| format!("GET {path}"))?,
        )
        .await
    }

    /// A trade as the public sees it.
    pub async fn trade(&self, id: &str) -> anyhow::Result<Value> {
        self.get(&format!("/api/v1/trades/{id}")).await
    }

    /// Reads `path` until `done` holds for it, a quarter of a second apart.
    pub async fn wait_for(
        &self,
        path: &str,
        done: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        loop {
            match self.get(path).await {
                Ok(view) if done(&view) => return Ok(view),
                Ok(_) => {}
                // Not there yet (a result before the candidates, …): look again.
                Err(e) if refused_code(&e).is_some() => {}
                Err(e) => return Err(e),
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The server's clock, which rules every deadline.
    pub async fn server_time(&self) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
        let health = self.get("/healthz").await?;
        parse_time(&health["server_time"]).context("the server's time")
    }

    /// Waits until the server's clock has reached `instant` (RFC 3339).
    pub async fn wait_until(&self, instant: &Value) -> anyhow::Result<()> {
        let at = parse_time(instant).with_context(|| format!("not a time: {instant}"))?;
        while self.server_time().await? < at {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Ok(())
    }

    /// Waits one beat.
    pub async fn pause(&self) {
        tokio::time::sleep(self.beat).await;
    }

    /// Whether the log holds an entry of `kind` for `trade`.
    pub async fn logged(&self, trade: &str, kind: &str) -> anyhow::Result<bool> {
        Ok(!self.entries(trade, kind).await?.is_empty())
    }

    /// The log's entries of `kind` for `trade`, oldest first.
    pub async fn entries(&self, trade: &str, kind: &str) -> anyhow::Result<Vec<Value>> {
        let mut after = 0;
        let mut found = Vec::new();
        loop {
            let page = self
                .get(&format!("/api/v1/events?after={after}&limit=1000"))
                .await?;
            let events = page["events"].as_array().cloned().unwrap_or_default();
            found.extend(
                events
                    .iter()
                    .filter(|e| e["entry"]["trade"] == trade && e["entry"]["kind"] == kind)
                    .map(|e| e["entry"].clone()),
            );
            if events.len() < 1000 {
                return Ok(found);
            }
            after = page["next_after"].as_i64().unwrap_or(after + 1000);
        }
    }

    /// The DEV ONLY bank posts `body` to `path` with its signed headers.
    pub async fn bank(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let body = serde_json::to_vec(body)?;
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let signature = bank_signature::sign(&self.bank_secret, &timestamp, &body);
        body_of(
            self.http
                .post(format!("{}{path}", self.server))
                .header("X-Bank-Id", DEV_BANK)
                .header("X-Bank-Timestamp", timestamp)
                .header("X-Bank-Signature", signature)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await?,
        )
        .await
    }

    /// Where `who` keeps its per-trade opening key for `trade`.
    pub fn keystore(&self, who: &DevIdentity, trade: &str) -> PathBuf {
        self.work.join(trade).join(format!("{}.key", who.name))
    }

    /// `who`'s own directory for `trade` (sealed bids, receipts, sheets).
    pub fn desk(&self, who: &DevIdentity, trade: &str) -> anyhow::Result<PathBuf> {
        let dir = self.work.join(trade).join(&who.name);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(dir)
    }

    /// Waits until the server answers.
    pub async fn wait_until_up(&self) -> anyhow::Result<()> {
        for _ in 0..600 {
            if self.get("/healthz").await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("the demo server did not come up")
    }
}
