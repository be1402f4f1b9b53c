//! A minimal HTTP/1.1 client for load generation: one keep-alive connection, `GET` and JSON
//! `POST`, answers with a `Content-Length`. The load generator shares the two cores with
//! the server it measures, so the lighter it is, the more of the machine the server gets;
//! `reqwest` parses a URL, consults its pool and builds a header map for every request.

use anyhow::Context as _;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

pub struct RawHttp {
    stream: BufReader<TcpStream>,
    host: String,
    line: Vec<u8>,
    body: Vec<u8>,
}

impl RawHttp {
    /// Connects to `base` (`http://host:port`).
    pub async fn connect(base: &str) -> anyhow::Result<Self> {
        let host = base
            .strip_prefix("http://")
            .context("the raw client speaks plain http:// only")?
            .trim_end_matches('/')
            .to_owned();
        let stream = TcpStream::connect(&host).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream: BufReader::new(stream),
            host,
            line: Vec::with_capacity(256),
            body: Vec::with_capacity(4096),
        })
    }

    /// `GET path` on the connection; the status and the body.
    pub async fn get(&mut self, path: &str) -> anyhow::Result<(u16, &[u8])> {
        let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.host);
        self.stream.get_mut().write_all(request.as_bytes()).await?;
        self.answer().await
    }

    /// `POST path` with a JSON `body` and a bearer `token`; the status and the body.
    pub async fn post_json(
        &mut self,
        path: &str,
        token: &str,
        body: &[u8],
    ) -> anyhow::Result<(u16, &[u8])> {
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.host,
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        self.stream.get_mut().write_all(&request).await?;
        self.answer().await
    }

    /// Reads one answer: the status and the body.
    async fn answer(&mut self) -> anyhow::Result<(u16, &[u8])> {
        let mut status = None;
        let mut length = None;
        loop {
            self.line.clear();
            if self.stream.read_until(b'\n', &mut self.line).await? == 0 {
                anyhow::bail!("the server closed the connection");
            }
            let line = std::str::from_utf8(&self.line)?.trim_end();
            if line.is_empty() {
                break;
            }
            if status.is_none() {
                status = line.split(' ').nth(1).and_then(|s| s.parse::<u16>().ok());
                anyhow::ensure!(status.is_some(), "not an HTTP status line: {line}");
            } else if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = Some(value.trim().parse::<usize>()?);
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    anyhow::bail!("the raw client reads no chunked answers");
                }
            }
        }
        let length = length.context("an answer without Content-Length")?;
        self.body.resize(length, 0);
        self.stream.read_exact(&mut self.body).await?;
        Ok((status.unwrap_or_default(), &self.body))
    }
}
