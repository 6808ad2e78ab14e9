//! Our transports (futures-lite I/O: TLS over `EtTcp`, or plain `EtTcp`) seen through tokio's
//! I/O traits, the only part of tokio the h2 crate needs. No tokio runtime is involved: the
//! socket still wakes our reactor, and the h2 connection is a future on our executor.

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::native::net::stream::Transport;

/// Bytes read from the transport per call at most.
const SCRATCH_LEN: usize = 16 * 1024;

thread_local! {
    /// h2 hands uninitialised buffers: reading into this initialised one and copying what
    /// arrived avoids zero-filling h2's buffer on every read.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; SCRATCH_LEN]);
}

pub struct H2Io {
    io: Box<dyn Transport>,
    /// What the previous owner of the transport had read and not consumed (the preface).
    early: Vec<u8>,
    early_pos: usize,
}

impl H2Io {
    pub fn new(io: Box<dyn Transport>, early: Vec<u8>) -> H2Io {
        H2Io {
            io,
            early,
            early_pos: 0,
        }
    }
}

impl AsyncRead for H2Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.early_pos < this.early.len() {
            let n = buf.remaining().min(this.early.len() - this.early_pos);
            buf.put_slice(&this.early[this.early_pos..this.early_pos + n]);
            this.early_pos += n;
            if this.early_pos == this.early.len() {
                this.early = Vec::new();
                this.early_pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        let want = buf.remaining().min(SCRATCH_LEN);
        if want == 0 {
            return Poll::Ready(Ok(()));
        }
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            match Pin::new(&mut *this.io).poll_read(cx, &mut scratch[..want]) {
                Poll::Ready(Ok(n)) => {
                    buf.put_slice(&scratch[..n]);
                    Poll::Ready(Ok(()))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            }
        })
    }
}

impl AsyncWrite for H2Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.get_mut().io).poll_write(cx, data)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().io).poll_close(cx)
    }
}
