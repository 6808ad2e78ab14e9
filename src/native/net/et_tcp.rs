//! A connected TCP socket on the edge-triggered reactor (`runtime/reactor.rs`): the transport
//! under every TCP stream and every TLS session.
//!
//! Writes are vectored (`writev`, one syscall for all the buffers given): rustls hands its
//! output over as several records at once (a ServerHello then an alert, say), and a fatal
//! alert queued behind other records must not be lost when the session fails.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsFd;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use futures_lite::io::{AsyncRead, AsyncWrite};

use crate::runtime::reactor::Source;

pub struct EtTcp {
    stream: TcpStream,
    /// Registered once, for the life of the socket.
    source: Source,
}

impl EtTcp {
    /// Registers a connected socket (it is made non-blocking here).
    pub fn new(stream: TcpStream) -> io::Result<EtTcp> {
        stream.set_nonblocking(true)?;
        let source = Source::register(stream.as_fd())?;
        Ok(EtTcp { stream, source })
    }

    /// Registers a socket whose non-blocking connect is in progress; `writable` says when it
    /// is over.
    pub fn connecting(stream: TcpStream) -> io::Result<EtTcp> {
        let source = Source::register_connecting(stream.as_fd())?;
        Ok(EtTcp { stream, source })
    }

    /// Completes at the first write edge (a connect in progress has finished, or failed).
    pub async fn writable(&self) {
        std::future::poll_fn(|cx| self.source.poll_writable(cx)).await
    }

    pub fn get_ref(&self) -> &TcpStream {
        &self.stream
    }

    /// See `Source::reader_handoff`.
    pub fn reader_handoff(&self) -> Box<dyn Fn(&Waker)> {
        self.source.reader_handoff()
    }

    /// Runs a write syscall until it is done, fails, or the socket is full (Pending).
    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        wanted: usize,
        mut send: impl FnMut(&TcpStream) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            if self.source.poll_writable(cx).is_pending() {
                return Poll::Pending;
            }
            match send(&self.stream) {
                Ok(n) => {
                    if n < wanted {
                        self.source.write_would_block();
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.source.write_would_block(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncRead for EtTcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            if this.source.poll_readable(cx).is_pending() {
                return Poll::Pending;
            }
            match (&this.stream).read(buf) {
                Ok(n) => {
                    if n < buf.len() && n > 0 {
                        this.source.short_read();
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => this.source.read_would_block(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for EtTcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_send(cx, buf.len(), |mut s| s.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let wanted = bufs.iter().map(|b| b.len()).sum();
        self.get_mut()
            .poll_send(cx, wanted, |mut s| s.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Sends FIN after the queued data; the socket is closed when dropped.
        Poll::Ready(match self.stream.shutdown(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            r => r,
        })
    }
}

/// What every connection gets, accepted or made: TCP_NODELAY (replies leave at once; writes
/// are already batched per task run) and SO_KEEPALIVE (dead peers are found eventually).
pub fn tune(stream: &TcpStream) {
    let s = socket2::SockRef::from(stream);
    // Best effort: a socket that refuses an option still works.
    let _ = s.set_tcp_nodelay(true);
    let _ = s.set_keepalive(true);
}
