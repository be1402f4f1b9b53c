//! Where connections come in, over plain HTTP or HTTPS alike: our own accept loop rather
//! than `axum::serve`, for what a deadline-day flood needs. One address holds at most
//! `per_address` connections (more are closed at accept); a connection that has not
//! made its first request within the header timeout is closed, whatever it sent (nothing,
//! half a TLS handshake, only the HTTP/2 preface); an HTTP/1 request's headers must
//! arrive within the same time (a slowloris client is cut off); and shutdown finishes the
//! requests in flight.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tower::{Service as _, ServiceExt as _};

/// Longest a graceful shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// What one client may hold of the server's connections (`LimitArgs`).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections open at once from one address; 0: no cap.
    pub per_address: usize,
    /// Time to make the first request on a new connection (its TLS handshake included),
    /// and to send a request's headers; the connection is closed after it.
    pub header_timeout: Duration,
}

impl From<&crate::config::LimitArgs> for ConnectionLimits {
    fn from(args: &crate::config::LimitArgs) -> Self {
        Self {
            per_address: args.connections_per_address as usize,
            header_timeout: Duration::from_secs(args.header_seconds),
        }
    }
}

/// Serves `app` on `listener` over plain HTTP until `shutdown` resolves, then finishes
/// in-flight requests (for at most `SHUTDOWN_GRACE`).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    accept_loop(listener, app, limits, None, shutdown).await
}

/// Serves `app` over HTTPS (rustls, TLS 1.2 and 1.3, HTTP/2 and HTTP/1.1 by ALPN) on
/// `listener` with the PEM certificate chain and private key given, under the same limits
/// as plain HTTP, until `shutdown` resolves.
pub async fn serve_tls(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    cert_pem: &std::path::Path,
    key_pem: &std::path::Path,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert_pem, key_pem).await?;
    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(config)
        .handshake_timeout(limits.header_timeout);
    accept_loop(listener, app, limits, Some(acceptor), shutdown).await
}

type Acceptor = axum_server::tls_rustls::RustlsAcceptor;

async fn accept_loop(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    tls: Option<Acceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let open = per_address::PerAddress::new(limits.per_address);
    let mut make = app.into_make_service_with_connect_info::<SocketAddr>();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was taken:
                    // wait a moment rather than spin, and go on serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(place) = open.take(peer.ip()) else {
            tracing::debug!(%peer, "connection refused: too many open from this address");
            drop(stream);
            continue;
        };
        // Responses and feed messages go out when written: Nagle's algorithm would hold a
        // small write back until the previous one is acknowledged.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY could not be set");
        }
        let service = match make.call(peer).await {
            Ok(service) => service,
            Err(never) => match never {},
        };
        // Set by the connection's first request.
        let requested = Arc::new(AtomicBool::new(false));
        let seen = requested.clone();
        let service = Service::new(service.map_request(
            move |req: Request<hyper::body::Incoming>| {
                seen.store(true, Ordering::Relaxed);
                req.map(axum::body::Body::new)
            },
        ));
        let (builder, watcher, tls) = (builder.clone(), graceful.watcher(), tls.clone());
        let first_request = limits.header_timeout;
        tokio::spawn(async move {
            let connection = Connection {
                service,
                requested,
                first_request,
            };
            match tls {
                None => connection.serve(stream, &builder, watcher).await,
                Some(acceptor) => {
                    use axum_server::accept::Accept as _;
                    // The handshake is bounded by the acceptor's own timeout.
                    match acceptor.accept(stream, ()).await {
                        Ok((stream, _)) => connection.serve(stream, &builder, watcher).await,
                        Err(e) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    }
                }
            }
            drop(place);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("shutdown: connections still open after the grace period");
        }
    }
    Ok(())
}

/// What a connection serves its requests with.
type Service = tower::util::BoxCloneService<
    Request<hyper::body::Incoming>,
    axum::response::Response,
    std::convert::Infallible,
>;

/// One accepted connection, before its bytes are read.
struct Connection {
    service: Service,
    /// Set by the first request.
    requested: Arc<AtomicBool>,
    /// How long it may take to make that request.
    first_request: Duration,
}

impl Connection {
    /// Serves `io` until the connection ends, or until `first_request` has passed
    /// without a request on it.
    async fn serve<IO>(
        self,
        io: IO,
        builder: &hyper_util::server::conn::auto::Builder<TokioExecutor>,
        watcher: hyper_util::server::graceful::Watcher,
    ) where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let service = hyper_util::service::TowerToHyperService::new(self.service);
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(io), service)
            .into_owned();
        let conn = watcher.watch(conn);
        let requested = self.requested;
        let idle = async {
            tokio::time::sleep(self.first_request).await;
            if requested.load(Ordering::Relaxed) {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            ended = conn => if let Err(e) = ended {
                tracing::trace!(error = %e, "connection ended with an error");
            },
            // Dropping the connection closes it.
            () = idle => tracing::debug!("connection closed: no request within the header timeout"),
        }
    }
}

mod per_address {
    use std::collections::HashMap;
    use std::net::IpAddr;
    use std::sync::{Arc, Mutex};

    /// Open connections per client address.
    #[derive(Clone)]
    pub struct PerAddress {
        cap: usize,
        open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    }

    impl PerAddress {
        pub fn new(cap: usize) -> Self {
            Self {
                cap,
                open: Arc::default(),
            }
        }

        /// A place for one more connection from `addr`, or none if it holds its cap.
        pub fn take(&self, addr: IpAddr) -> Option<Place> {
            let mut open = self
                .open
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let count = open.entry(addr).or_default();
            if self.cap > 0 && *count >= self.cap {
                return None;
            }
            *count += 1;
            Some(Place {
                addr,
                open: self.clone(),
            })
        }
    }

    /// One open connection; dropping it frees the place.
    pub struct Place {
        addr: IpAddr,
        open: PerAddress,
    }

    impl Drop for Place {
        fn drop(&mut self) {
            let mut open = self
                .open
                .open
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(count) = open.get_mut(&self.addr) {
                *count -= 1;
                if *count == 0 {
                    open.remove(&self.addr);
                }
            }
        }
    }
}
