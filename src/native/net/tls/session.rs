//! A TLS session (`TlsConn`, driver.rs) as the transport of a `Stream`. It maps what the
//! session reports to what the stream expects: a peer's FIN without close_notify is a plain end of stream, and a TLS
//! failure becomes `errno.TLS` with its reason kept for the script (docs/tls.md, "Errors").

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures_lite::io::{AsyncRead, AsyncWrite};

use crate::native::net::error::NetError;

/// The last TLS failure of one connection, as its Lua object holds it: `reason(state)` is
/// the third value of a failed read or write (docs/tls.md, "Errors").
pub struct TlsState(pub Rc<RefCell<Option<String>>>);
impl mlua::UserData for TlsState {}

pub struct TlsIo<T> {
    inner: T,
    /// The reason of the session's TLS failure, once there is one; shared with the
    /// connection's Lua object, which returns it third (`TlsState`).
    reason: Rc<RefCell<Option<String>>>,
}

impl<T> TlsIo<T> {
    pub fn new(inner: T, reason: Rc<RefCell<Option<String>>>) -> TlsIo<T> {
        TlsIo { inner, reason }
    }

    fn map(&self, e: io::Error) -> io::Error {
        match NetError::from_io(&e) {
            NetError::Tls(r) => {
                *self.reason.borrow_mut() = Some(r.clone());
                NetError::Tls(r).into_io()
            }
            _ => e,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TlsIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            // A FIN without close_notify ends the stream like any other end (docs/tls.md).
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => Poll::Ready(Ok(0)),
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.map(e))),
            other => other,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TlsIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.map(e))),
            other => other,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.map(e))),
            other => other,
        }
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Queues close_notify and sends it with the rest of the output.
        match Pin::new(&mut self.inner).poll_close(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.map(e))),
            other => other,
        }
    }
}
