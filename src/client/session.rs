//! An authenticated HTTP session with a tradehall server, as the CLI on a user's machine
//! opens it: challenge, sign with the certificate key, log in, then call the API.

use anyhow::{anyhow, Context as _};
use base64::Engine as _;
use serde_json::{json, Value};

use crate::crypto::signer::Signer;

/// A user's certificate chain (PEM) and signing key, read from their files.
pub fn read_credentials(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> anyhow::Result<(String, Signer)> {
    let cert_pem =
        std::fs::read_to_string(cert).with_context(|| format!("reading {}", cert.display()))?;
    let signer = Signer::open(key).with_context(|| format!("the key {}", key.display()))?;
    Ok((cert_pem, signer))
}

/// The certificate and key a user signs in with, and the server.
pub struct Credentials<'a> {
    pub server: &'a str,
    pub cert: &'a std::path::Path,
    pub key: &'a std::path::Path,
}

/// Reads the credentials' files and logs in.
pub async fn login(credentials: &Credentials<'_>) -> anyhow::Result<Session> {
    let (cert_pem, signer) = read_credentials(credentials.cert, credentials.key)?;
    Session::login(credentials.server, &cert_pem, &signer).await
}

/// A logged-in session.
pub struct Session {
    http: reqwest::Client,
    base: String,
    token: String,
    identity: Value,
}

/// The server refused a request: its HTTP status and the stable error code of its body
/// (docs/api.md, "Errors").
#[derive(Debug, thiserror::Error)]
#[error("server refused ({status}, {code}): {message}")]
pub struct Refused {
    pub status: reqwest::StatusCode,
    pub code: String,
    pub message: String,
}

/// The server's error code, when `e` is (or wraps) a [`Refused`].
pub fn refused_code(e: &anyhow::Error) -> Option<&str> {
    e.chain()
        .find_map(|c| c.downcast_ref::<Refused>())
        .map(|r| r.code.as_str())
}

/// Turns an API response into its JSON body, or a [`Refused`] naming the server's code.
pub(crate) async fn body_of(resp: reqwest::Response) -> anyhow::Result<Value> {
    let status = resp.status();
    let value: Value = resp.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(value);
    }
    Err(Refused {
        status,
        code: value["error"]["code"]
            .as_str()
            .unwrap_or("unknown")
            .to_owned(),
        message: value["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    }
    .into())
}

impl Session {
    /// Logs in to `server` (e.g. `https://ggzy.example.cn`) with a certificate and its key.
    pub async fn login(
        server: &str,
        certificate_chain_pem: &str,
        signer: &Signer,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().build()?;
        let base = server.trim_end_matches('/').to_owned();
        let challenge = body_of(
            http.post(format!("{base}/api/v1/auth/challenge"))
                .send()
                .await
                .context("cannot reach the server")?,
        )
        .await?;
        let nonce = challenge["nonce"]
            .as_str()
            .ok_or_else(|| anyhow!("no nonce in the challenge"))?;
        let message = crate::crypto::signer::auth_message("login", nonce);
        let proof = json!({
            "certificate_chain": certificate_chain_pem,
            "nonce": nonce,
            "signature": base64::engine::general_purpose::STANDARD.encode(signer.sign(message.as_bytes())?),
        });
        let login = body_of(
            http.post(format!("{base}/api/v1/auth/login"))
                .json(&proof)
                .send()
                .await?,
        )
        .await?;
        let token = login["token"]
            .as_str()
            .ok_or_else(|| anyhow!("no token in the login answer"))?
            .to_owned();
        Ok(Self {
            http,
            base,
            token,
            identity: login["identity"].clone(),
        })
    }

    /// The identity signed in, as the server gave it at login (`id`, `role`, …).
    pub fn identity(&self) -> &Value {
        &self.identity
    }

    /// The session's bearer token, for a request the methods here do not make (one whose
    /// answer's headers matter).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The signed-in identity's id.
    pub fn identity_id(&self) -> &str {
        self.identity["id"].as_str().unwrap_or_default()
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        body_of(
            self.http
                .get(format!("{}{path}", self.base))
                .bearer_auth(&self.token)
                .send()
                .await?,
        )
        .await
    }

    /// The text of a successful GET (a signed checkpoint).
    pub async fn get_text(&self, path: &str) -> anyhow::Result<String> {
        let bytes = self.get_bytes(path).await?;
        String::from_utf8(bytes).context("the answer is not UTF-8 text")
    }

    /// The raw bytes of a successful GET (a download).
    pub async fn get_bytes(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        if resp.status().is_success() {
            return Ok(resp.bytes().await?.to_vec());
        }
        body_of(resp).await.map(|_| Vec::new())
    }

    /// Streams a file as the request body (envelopes of any size).
    pub async fn put_file(&self, path: &str, file: &std::path::Path) -> anyhow::Result<Value> {
        let body = tokio::fs::File::open(file)
            .await
            .with_context(|| format!("opening {}", file.display()))?;
        body_of(
            self.http
                .put(format!("{}{path}", self.base))
                .bearer_auth(&self.token)
                .body(body)
                .send()
                .await?,
        )
        .await
    }

    /// PUTs `bytes` of `media_type` as the request body (a document).
    pub async fn put_bytes(
        &self,
        path: &str,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> anyhow::Result<Value> {
        body_of(
            self.http
                .put(format!("{}{path}", self.base))
                .bearer_auth(&self.token)
                .header(reqwest::header::CONTENT_TYPE, media_type)
                .body(bytes)
                .send()
                .await?,
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<()> {
        let resp = self
            .http
            .delete(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        if resp.status().is_success() {
            return Ok(());
        }
        body_of(resp).await.map(|_| ())
    }

    pub async fn put(&self, path: &str, json: &Value) -> anyhow::Result<Value> {
        body_of(
            self.http
                .put(format!("{}{path}", self.base))
                .bearer_auth(&self.token)
                .json(json)
                .send()
                .await?,
        )
        .await
    }

    pub async fn post(&self, path: &str, json: &Value) -> anyhow::Result<Value> {
        body_of(
            self.http
                .post(format!("{}{path}", self.base))
                .bearer_auth(&self.token)
                .json(json)
                .send()
                .await?,
        )
        .await
    }
}
