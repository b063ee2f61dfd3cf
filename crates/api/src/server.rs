//! Serving the router on a TCP listener, with the time and size limits of
//! [`crate::limits`] and a prompt graceful stop.
//!
//! `axum::serve` offers neither a header read timeout nor a way to bound
//! body reads, so connections are served here with hyper's HTTP/1 server
//! (HTTP/1 only, as `axum::serve` was without axum's `http2` feature; and
//! hyper_util's auto-detecting builder would first wait, with no time limit,
//! for enough bytes to tell HTTP/1 from HTTP/2):
//!
//! - **heads**: hyper's `header_read_timeout` closes a connection that does
//!   not send a complete request head in time (idle keep-alive connections
//!   included), and its buffer limit ([`MAX_HEAD_BYTES`]) stops reading
//!   huge heads;
//! - **bodies**: every request body is a [`TimedBody`] that fails with
//!   [`BodyTimeout`] when it stalls ([`EdgeLimits::body_idle_timeout`]) or
//!   takes too long in all ([`EdgeLimits::body_read_timeout`]); the body
//!   extractor answers that with a JSON 408 and closes the connection;
//! - **hyper's own refusals** (an unparsable head, a URL over hyper's fixed
//!   limit, a head over [`MAX_HEAD_BYTES`]) are written by hyper as bare
//!   status lines; [`JsonRefusals`] rewrites them into the JSON every other
//!   refusal has;
//! - **stopping**: once the stop future resolves no connection is accepted;
//!   idle connections and connections still sending a head are closed at
//!   once, request bodies that pause for a second fail (408), and requests
//!   being handled finish, their connections closing after the answer. [`serve`] returns
//!   when every connection is gone; the caller bounds that wait.
//!
//! HTTP upgrades work (`with_upgrades`): an upgraded connection leaves this
//! accounting, and whoever takes it over handles its own stop.
//!
//! Each request carries `ConnectInfo<SocketAddr>` of its peer, as
//! `into_make_service_with_connect_info::<SocketAddr>()` would give it.

use crate::error::refusal_bytes;
use crate::limits::{EdgeLimits, HYPER_MAX_URI_BYTES, MAX_HEAD_BYTES};
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::Router;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use threadsync_domain::error::Refusal;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// Serves `router` on `listener` until `stop` resolves, then stops as the
/// module documentation describes and returns once every connection is
/// closed. Accept errors (e.g. out of file descriptors) are logged and
/// retried after a pause; they never end the server.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    stop: impl Future<Output = ()>,
    limits: EdgeLimits,
) {
    let (stopping_tx, stopping_rx) = watch::channel(false);
    let mut stop = pin!(stop);
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                tokio::spawn(connection(stream, peer, router.clone(), limits, stopping_rx.clone()));
            }
            Err(e) if is_connection_error(&e) => {}
            Err(e) => {
                // Usually the file descriptor limit: wait for connections to
                // end rather than spin.
                tracing::error!("accepting a connection failed: {e}");
                tokio::select! {
                    () = &mut stop => break,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
    drop(listener);
    drop(stopping_rx);
    let _ = stopping_tx.send(true);
    // Every connection (and every body it reads) holds a receiver.
    stopping_tx.closed().await;
}

/// Errors about one failed connection, not about the listener.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// Serves one connection until the client closes it, a limit closes it, or
/// the server stops.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: EdgeLimits,
    mut stopping: watch::Receiver<bool>,
) {
    let bodies = stopping.clone();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&in_flight);
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let guard = InFlight::enter(&counter);
        // File uploads may take longer in all than other bodies.
        let multipart = request
            .headers()
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"));
        let limits = if multipart {
            EdgeLimits { body_read_timeout: limits.upload_read_timeout, ..limits }
        } else {
            limits
        };
        let mut request =
            request.map(|body| axum::body::Body::new(TimedBody::new(body, limits, bodies.clone())));
        request.extensions_mut().insert(ConnectInfo(peer));
        let response = router.clone().oneshot(request);
        async move {
            let response = response.await?;
            // The request counts as in flight until its answer is written.
            Ok::<_, Infallible>(response.map(|body| axum::body::Body::new(Answer { body, _guard: guard })))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    let io = TokioIo::new(JsonRefusals::new(stream, peer));
    let mut conn = pin!(builder.serve_connection(io, service).with_upgrades());
    let stopped = async move {
        // A dropped sender means the server is gone: stop too.
        let _ = stopping.wait_for(|stopping| *stopping).await;
    };
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = stopped => {
            if in_flight.load(Ordering::SeqCst) == 0 {
                // Idle, or still sending a first head: nothing to finish.
                // (hyper would wait for such a head until its timeout.)
                return;
            }
            // Ends the connection once the answer in progress is written.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        // Clients vanishing and slow heads are routine, not server errors.
        tracing::debug!(%peer, "connection ended: {e}");
    }
}

/// Counts a request of a connection as in flight while it lives.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(counter: &Arc<AtomicUsize>) -> InFlight {
        counter.fetch_add(1, Ordering::SeqCst);
        InFlight(Arc::clone(counter))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An answer's body, holding its request's [`InFlight`] until hyper has
/// written it (or given up) and drops it.
struct Answer {
    body: axum::body::Body,
    _guard: InFlight,
}

impl HttpBody for Answer {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

// ---------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------

/// A request body that did not arrive in time, or was still arriving when
/// the server began to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyTimeout;

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl std::error::Error for BodyTimeout {}

/// How long a body may pause once the server is stopping: a body still
/// flowing gets to finish, a stalled one is given up at once.
const STOPPING_IDLE: Duration = Duration::from_secs(1);

/// A request body with read deadlines (see the module documentation). The
/// clocks start when the body is first read, so handlers that never read
/// one (GET) pay nothing.
pub struct TimedBody {
    inner: Incoming,
    limits: EdgeLimits,
    stopping: watch::Receiver<bool>,
    clocks: Option<Clocks>,
}

struct Clocks {
    /// When the whole body must be in.
    ends: Instant,
    /// When the last bytes came, and how long a pause may last.
    last: Instant,
    idle: Duration,
    /// The next deadline: `last + idle`, or `ends` if sooner.
    next: Pin<Box<Sleep>>,
    /// Resolves when the server begins to stop; `None` once seen.
    stop: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl Clocks {
    fn rearm(&mut self) {
        let next = self.ends.min(self.last + self.idle);
        self.next.as_mut().reset(next);
    }
}

impl TimedBody {
    pub fn new(inner: Incoming, limits: EdgeLimits, stopping: watch::Receiver<bool>) -> TimedBody {
        TimedBody { inner, limits, stopping, clocks: None }
    }

    fn clocks(&mut self) -> &mut Clocks {
        let (limits, stopping) = (self.limits, &self.stopping);
        self.clocks.get_or_insert_with(|| {
            let now = Instant::now();
            let ends = now + limits.body_read_timeout;
            let mut stopping = stopping.clone();
            Clocks {
                ends,
                last: now,
                idle: limits.body_idle_timeout,
                next: Box::pin(tokio::time::sleep_until(ends.min(now + limits.body_idle_timeout))),
                stop: Some(Box::pin(async move {
                    // A dropped sender means the server is gone: stop too.
                    let _ = stopping.wait_for(|stopping| *stopping).await;
                })),
            }
        })
    }
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        if self.inner.is_end_stream() {
            return Poll::Ready(None);
        }
        let this = &mut *self;
        // The clocks start with the first read.
        this.clocks();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            if let (Some(Ok(_)), Some(clocks)) = (&frame, this.clocks.as_mut()) {
                // Progress: the pause clock starts again.
                clocks.last = Instant::now();
                clocks.rearm();
            }
            return Poll::Ready(frame.map(|r| r.map_err(Into::into)));
        }
        let clocks = this.clocks();
        if clocks.stop.as_mut().is_some_and(|stop| stop.as_mut().poll(cx).is_ready()) {
            clocks.stop = None;
            clocks.idle = clocks.idle.min(STOPPING_IDLE);
            clocks.rearm();
        }
        if clocks.next.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyTimeout))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

// ---------------------------------------------------------------------------
// hyper's own refusals, as JSON
// ---------------------------------------------------------------------------

/// A connection whose writes pass through unchanged, except hyper's own
/// answer to a request head it could not read: a bare `400`, `414` or `431`
/// status line with `content-length: 0` and nothing else, written as one
/// buffer before the connection closes. That answer is replaced by the same
/// status with a JSON body ([`refusal_bytes`]).
///
/// Nothing else can look like it: every answer of the router to those
/// statuses has a JSON body, so its length is never 0.
pub struct JsonRefusals<S> {
    inner: S,
    peer: SocketAddr,
    /// A replacement being written, and the length of hyper's buffer it
    /// stands for (reported as written once the replacement is).
    replacing: Option<(Vec<u8>, usize, usize)>,
}

impl<S> JsonRefusals<S> {
    pub fn new(inner: S, peer: SocketAddr) -> JsonRefusals<S> {
        JsonRefusals { inner, peer, replacing: None }
    }
}

/// The refusal a buffer of hyper's stands for, if it is one.
fn hyper_refusal(buf: &[u8]) -> Option<Refusal> {
    if buf.len() > 1024 || !buf.ends_with(b"\r\n\r\n") {
        return None;
    }
    let rest = buf.strip_prefix(b"HTTP/1.1 ").or_else(|| buf.strip_prefix(b"HTTP/1.0 "))?;
    let refusal = match rest.get(..4)? {
        b"400 " => Refusal::Malformed,
        b"414 " => Refusal::UriTooLong { limit: HYPER_MAX_URI_BYTES },
        b"431 " => Refusal::HeadersTooLarge { limit: MAX_HEAD_BYTES },
        _ => return None,
    };
    let head = String::from_utf8_lossy(buf).to_ascii_lowercase();
    let only_head = head.find("\r\n\r\n") == Some(head.len() - 4);
    (only_head && head.contains("\r\ncontent-length: 0\r\n")).then_some(refusal)
}

impl<S: AsyncWrite + Unpin> JsonRefusals<S> {
    /// Writes the pending replacement; `Ok(n)` with hyper's length once done.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some((bytes, written, claimed)) = self.replacing.as_mut() else {
            return Poll::Ready(Ok(0));
        };
        while *written < bytes.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        let claimed = *claimed;
        self.replacing = None;
        Poll::Ready(Ok(claimed))
    }

    fn start_replacement(&mut self, buf: &[u8]) -> bool {
        match hyper_refusal(buf) {
            Some(refusal) => {
                let bytes = refusal_bytes(refusal);
                // The router never saw this request: its access-log line is written here.
                tracing::info!(
                    target: crate::access::TARGET,
                    method = %"-",
                    route = %"-",
                    status = %String::from_utf8_lossy(&bytes[9..12]),
                    duration_ms = 0.0,
                    user = %"-",
                    ip = %self.peer.ip(),
                    "request"
                );
                self.replacing = Some((bytes, 0, buf.len()));
                true
            }
            None => false,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for JsonRefusals<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for JsonRefusals<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.replacing.is_some() || this.start_replacement(buf) {
            return this.poll_replacement(cx);
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.replacing.is_some() {
            return this.poll_replacement(cx);
        }
        let mut parts = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(only), None) = (parts.next(), parts.next()) {
            if this.start_replacement(only) {
                return this.poll_replacement(cx);
            }
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.replacing.is_some() {
            ready!(this.poll_replacement(cx))?;
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.replacing.is_some() {
            ready!(this.poll_replacement(cx))?;
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bare_refusals_are_recognised() {
        let bare = |status: &str| format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\ndate: x\r\n\r\n");
        assert_eq!(
            hyper_refusal(bare("414 URI Too Long").as_bytes()),
            Some(Refusal::UriTooLong { limit: 65_534 })
        );
        assert_eq!(
            hyper_refusal(bare("431 Request Header Fields Too Large").as_bytes()),
            Some(Refusal::HeadersTooLarge { limit: MAX_HEAD_BYTES })
        );
        assert_eq!(hyper_refusal(bare("400 Bad Request").as_bytes()), Some(Refusal::Malformed));
        // Other statuses, answers with a body, or a head and body in one buffer: untouched.
        assert_eq!(hyper_refusal(bare("404 Not Found").as_bytes()), None);
        assert_eq!(hyper_refusal(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n"), None);
        let whole = format!("{}{{\"a\":1}}", bare("400 Bad Request"));
        assert_eq!(hyper_refusal(whole.as_bytes()), None);
        assert_eq!(hyper_refusal(b"{\"success\":false}"), None);
    }
}
