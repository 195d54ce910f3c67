//! The HTTP/1.1 server every host runs: hyper with Depot's limits. axum's own `serve` sets no
//! timeouts, so an idle or slow client could hold a connection (and its descriptor) for ever.
//!
//! - a request's head must arrive within `header_timeout`, and so must the next request on a
//!   kept-alive connection (hyper starts the same timer when a connection goes idle);
//! - a head is at most [`MAX_HEADER_BYTES`] (431; the URI's own limit is in `lib.rs`);
//! - a request body that stops arriving for `stall_timeout`, or a client that stops reading a
//!   response for as long, ends the connection;
//! - at most `max_connections` are open; when the limit is hit the idle ones are closed and
//!   new ones wait in the listen backlog, with one log line each time it happens.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::response::{IntoResponse, Response};
use depot_core::config::HttpLimits;
use futures_util::StreamExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use crate::shutdown_signal;

/// The longest request head (request line and headers) taken.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// A connection that was opened or sent a request this recently is not closed to make room:
/// its request may be on its way.
const SHED_GRACE: Duration = Duration::from_millis(250);

/// Binds `listen` and serves `app` until Ctrl-C or SIGTERM, then lets open requests finish.
pub async fn serve(listen: &str, limits: HttpLimits, app: axum::Router) -> Result<(), String> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on DEPOT_LISTEN={listen}: {e}"))?;
    tracing::info!(
        "listening on http://{listen} (at most {} connections)",
        limits.max_connections
    );
    serve_listener(listener, limits, app, shutdown_signal()).await;
    Ok(())
}

/// Serves `app` on `listener` until `stop` resolves; then waits for open connections to close
/// (idle ones are closed at once, busy ones after their response).
pub async fn serve_listener(
    listener: TcpListener,
    limits: HttpLimits,
    app: axum::Router,
    stop: impl Future<Output = ()>,
) {
    let max = limits.max_connections.clamp(1, 1_000_000);
    let slots = Arc::new(Semaphore::new(max));
    // Bumped to make idle connections close: on overload, and at shutdown (to u64::MAX).
    let (shed, _) = watch::channel(0u64);
    let mut warned_in_minute = 0;
    let started = Instant::now();
    tokio::pin!(stop);
    loop {
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                // Warn at most once a minute, however long the pressure lasts.
                let minute = started.elapsed().as_secs() / 60 + 1;
                if warned_in_minute != minute {
                    warned_in_minute = minute;
                    tracing::warn!(
                        "connection limit reached ({max} open, DEPOT_MAX_CONNECTIONS): \
                         closing idle connections, new ones wait"
                    );
                }
                // Ask again while starved: a connection busy or just opened at the first ask
                // may be idle at the next.
                let slot = loop {
                    shed.send_modify(|n| *n = n.wrapping_add(1));
                    tokio::select! {
                        slot = slots.clone().acquire_owned() => break slot.ok(),
                        _ = tokio::time::sleep(SHED_GRACE) => {}
                        _ = &mut stop => break None,
                    }
                };
                match slot {
                    Some(slot) => slot,
                    None => break,
                }
            }
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: not fatal.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let app = app.clone();
        let shed = shed.subscribe();
        tokio::spawn(async move {
            connection(tcp, peer, limits, app, shed, started).await;
            drop(slot);
        });
    }
    tracing::info!("shutting down");
    shed.send_replace(u64::MAX);
    // Every connection gives its slot back when it closes.
    let _ = slots.acquire_many(max as u32).await;
}

async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    limits: HttpLimits,
    app: axum::Router,
    mut shed: watch::Receiver<u64>,
    epoch: Instant,
) {
    let millis = move || epoch.elapsed().as_millis() as u64;
    // When this connection was opened or last began a request, in ms since `epoch`.
    let last_request = Arc::new(AtomicU64::new(millis()));
    let seen = last_request.clone();
    // Responses go out as headers, then body: without TCP_NODELAY, Nagle's algorithm and the
    // client's delayed ACK hold such a response back by about 40 ms.
    let _ = tcp.set_nodelay(true);
    let stall = limits.stall_timeout;
    let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
        seen.store(millis(), Ordering::Relaxed);
        // How the client spelled its header names (hyper keeps it, `preserve_header_case`):
        // the response spells the same names the same way, so that a `Correlation-ID` sent
        // comes back as `Correlation-ID`; other names go out title-cased.
        let mut spelling = req.extensions().clone();
        spelling.remove::<hyper::upgrade::OnUpgrade>();
        req.extensions_mut().insert(ConnectInfo(peer));
        let app = app.clone();
        async move {
            let req = req.map(|body| stall_guarded_body(body, stall));
            let mut resp = route(app, req).await;
            resp.extensions_mut().extend(spelling);
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Some(limits.header_timeout))
        .max_header_size(MAX_HEADER_BYTES)
        // Header names as Pulp (Django) writes them, `Set-Cookie`, `Content-Type`: some
        // clients look them up case-sensitively (Pulp's own test bindings do).
        .title_case_headers(true)
        .preserve_header_case(true)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(StallGuard::new(tcp, stall)), service);
    tokio::pin!(conn);
    let mut shedding = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!("connection from {peer} ended: {e}");
                }
                return;
            }
            changed = shed.changed(), if !shedding => {
                let at_shutdown = changed.is_err() || *shed.borrow_and_update() == u64::MAX;
                let quiet = millis().saturating_sub(last_request.load(Ordering::Relaxed));
                if at_shutdown || quiet >= SHED_GRACE.as_millis() as u64 {
                    // Idle: closed now; busy: closed after the response in flight.
                    shedding = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

async fn route(app: axum::Router, req: Request<axum::body::Body>) -> Response {
    use tower::ServiceExt;
    match app.oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
    .into_response()
}

/// A request body whose next piece must come within `stall`, else reading it fails.
fn stall_guarded_body(body: hyper::body::Incoming, stall: Duration) -> axum::body::Body {
    use hyper::body::Body as _;
    if body.is_end_stream() {
        return axum::body::Body::empty();
    }
    let frames = axum::body::Body::new(body).into_data_stream();
    let guarded = futures_util::stream::unfold(frames, move |mut frames| async move {
        match tokio::time::timeout(stall, frames.next()).await {
            Ok(Some(item)) => Some((item, frames)),
            Ok(None) => None,
            Err(_) => Some((
                Err(axum::Error::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no request data for {} s", stall.as_secs()),
                ))),
                frames,
            )),
        }
    });
    axum::body::Body::from_stream(guarded)
}

/// A socket whose writes fail once the peer has not read anything for `stall`: a client that
/// stops reading cannot hold a response (and its connection) open. Reads are left alone:
/// hyper reads while a handler runs, to notice a client that hangs up.
struct StallGuard {
    tcp: TcpStream,
    stall: Duration,
    blocked: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl StallGuard {
    fn new(tcp: TcpStream, stall: Duration) -> Self {
        Self {
            tcp,
            stall,
            blocked: None,
        }
    }

    fn check<T>(
        &mut self,
        cx: &mut Context<'_>,
        r: Poll<std::io::Result<T>>,
    ) -> Poll<std::io::Result<T>> {
        if r.is_ready() {
            self.blocked = None;
            return r;
        }
        let stall = self.stall;
        let timer = self
            .blocked
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
        if timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client stopped reading the response",
            )));
        }
        Poll::Pending
    }
}

impl AsyncRead for StallGuard {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for StallGuard {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.tcp).poll_write(cx, buf);
        self.check(cx, r)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs);
        self.check(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let r = Pin::new(&mut self.tcp).poll_flush(cx);
        self.check(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}
