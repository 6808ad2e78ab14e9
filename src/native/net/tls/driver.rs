//! The one TLS driver, for accepted and outgoing connections alike: a rustls session over the
//! socket (`EtTcp`) as an `AsyncRead + AsyncWrite` transport for `Stream`. The socket I/O stays
//! on the event loop, while the handshake's cryptography (the certificate signature, its
//! verification and the key exchange, 0.6–0.8 ms of CPU for RSA-2048) runs on the worker
//! threads of `runtime/workers.rs`. So handshakes per second grow with the cores, and the loop
//! keeps serving established connections while handshakes compute.
//!
//! Its contract is the one `TlsIo` (session.rs) expects: a clean close_notify reads as
//! `Ok(0)`, a TCP EOF without it as `UnexpectedEof`, a TLS failure as an `io::Error` wrapping
//! the `rustls::Error` (after the alert went out), and `poll_close` sends close_notify.

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::io::{AsyncRead, AsyncWrite};
use rustls::Connection;

use crate::native::net::et_tcp::EtTcp;
use crate::runtime::workers;

/// The socket seen through `std::io` for rustls's `read_tls`/`write_tls`: `Pending` becomes
/// `WouldBlock`, with the polling task's waker registered.
struct SyncIo<'a, 'b> {
    io: &'a mut EtTcp,
    cx: &'a mut Context<'b>,
}

fn would_block<T>(p: Poll<io::Result<T>>) -> io::Result<T> {
    match p {
        Poll::Ready(r) => r,
        Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
    }
}

impl Read for SyncIo<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        would_block(Pin::new(&mut *self.io).poll_read(self.cx, buf))
    }
}

impl Write for SyncIo<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        would_block(Pin::new(&mut *self.io).poll_write(self.cx, buf))
    }

    /// Every record rustls hands over at once, in one `writev` (an alert queued behind a
    /// ServerHello is not lost).
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        would_block(Pin::new(&mut *self.io).poll_write_vectored(self.cx, bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Sends what rustls has queued, until the socket would block (Pending) or all is out.
fn send_tls(io: &mut EtTcp, conn: &mut Connection, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    while conn.wants_write() {
        match conn.write_tls(&mut SyncIo { io, cx }) {
            Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
    Poll::Ready(Ok(()))
}

/// A TLS failure as the `io::Error` the stream layer maps to `errno.TLS` with its reason.
pub fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// Runs the handshake of `conn` (a new server or client session) over `io`. Received records
/// are processed on a worker thread; everything else happens here, on the loop.
pub async fn handshake(mut io: EtTcp, mut conn: Connection) -> io::Result<TlsConn> {
    loop {
        // Our flight first (also the alert of a failed handshake).
        std::future::poll_fn(|cx| send_tls(&mut io, &mut conn, cx)).await?;
        if !conn.is_handshaking() {
            return Ok(TlsConn {
                io,
                conn,
                close_sent: false,
            });
        }
        let got = std::future::poll_fn(|cx| match conn.read_tls(&mut SyncIo { io: &mut io, cx }) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Poll::Pending,
            r => Poll::Ready(r),
        })
        .await?;
        if got == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "peer closed the connection during the handshake",
            ));
        }
        let (back, processed) = workers::run(move || {
            let r = conn.process_new_packets().map(|_| ());
            (conn, r)
        })
        .await
        .ok_or_else(|| io::Error::other("TLS handshake step failed on its worker thread"))?;
        conn = back;
        if let Err(e) = processed {
            // rustls queued the alert that tells the peer why; it goes out before the close.
            let _ = std::future::poll_fn(|cx| match send_tls(&mut io, &mut conn, cx) {
                Poll::Pending => Poll::Ready(Ok(())),
                r => r,
            })
            .await;
            return Err(tls_error(e));
        }
    }
}

/// An established session over its socket: the transport of a TLS `Stream`.
pub struct TlsConn {
    io: EtTcp,
    conn: Connection,
    close_sent: bool,
}

impl TlsConn {
    pub fn get_ref(&self) -> (&EtTcp, &Connection) {
        (&self.io, &self.conn)
    }

    /// The name the client asked for (SNI), on a server session.
    pub fn server_name(&self) -> Option<&str> {
        match &self.conn {
            Connection::Server(s) => s.server_name(),
            Connection::Client(_) => None,
        }
    }
}

impl AsyncRead for TlsConn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let mut eof = false;
        loop {
            match this.conn.reader().read(buf) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if eof {
                        // rustls saw the socket end: the stream ends too.
                        return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
                    }
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
            match this.conn.read_tls(&mut SyncIo {
                io: &mut this.io,
                cx,
            }) {
                Ok(0) => eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                Err(e) => return Poll::Ready(Err(e)),
            }
            if let Err(e) = this.conn.process_new_packets() {
                let _ = send_tls(&mut this.io, &mut this.conn, cx);
                return Poll::Ready(Err(tls_error(e)));
            }
            // Post-handshake messages can ask for an answer (a key update).
            if let Poll::Ready(Err(e)) = send_tls(&mut this.io, &mut this.conn, cx) {
                return Poll::Ready(Err(e));
            }
        }
    }
}

impl AsyncWrite for TlsConn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        // Twice at most: a full buffer is drained to the socket once, then tried again.
        for _ in 0..2 {
            // rustls takes plaintext up to its buffer limit and encrypts it into records.
            let n = this.conn.writer().write(buf)?;
            let sent = send_tls(&mut this.io, &mut this.conn, cx);
            if let Poll::Ready(Err(e)) = sent {
                return Poll::Ready(Err(e));
            }
            if n > 0 || buf.is_empty() {
                return Poll::Ready(Ok(n));
            }
            if sent.is_pending() {
                // Full, and the socket will wake us when it drains.
                return Poll::Pending;
            }
        }
        // Drained and still refused: the session takes no more data (close_notify was sent).
        Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        send_tls(&mut this.io, &mut this.conn, cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if !this.close_sent {
            this.conn.send_close_notify();
            this.close_sent = true;
        }
        match send_tls(&mut this.io, &mut this.conn, cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.io).poll_close(cx),
            other => other,
        }
    }
}
