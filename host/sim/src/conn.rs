//! Connections that a handler can drop on purpose (the `reset` fault).
//!
//! `axum::serve` owns the connections, so the simulator plugs in its own
//! [`Listener`] whose streams carry a shared kill switch ([`ConnCtl`]),
//! handed to handlers as connect info. A handler that wants to "drop the
//! connection" flips the switch and returns any response: hyper's attempt
//! to write it fails, hyper closes the socket, and the zero linger turns the
//! close into a TCP reset. The client sees a connection error with no
//! response bytes, like a crashed gateway.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The kill switch of one connection.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConnCtl(Arc<AtomicBool>);

impl ConnCtl {
    /// Marks the connection to be reset instead of answered.
    pub(crate) fn kill(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn killed(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A TCP stream that fails all I/O once its [`ConnCtl`] is killed.
pub(crate) struct ConnStream {
    inner: TcpStream,
    ctl: ConnCtl,
}

fn reset_error() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "simulated connection reset")
}

impl ConnStream {
    fn check(&self) -> io::Result<()> {
        if self.ctl.killed() {
            // Best effort: a zero linger makes the close a RST.
            let _ = self.inner.set_zero_linger();
            Err(reset_error())
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for ConnStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ConnStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.ctl.killed() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// A TCP listener producing [`ConnStream`]s.
pub(crate) struct SimListener(pub(crate) TcpListener);

impl Listener for SimListener {
    type Io = ConnStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((inner, addr)) => {
                    let _ = inner.set_nodelay(true);
                    let io = ConnStream {
                        inner,
                        ctl: ConnCtl::default(),
                    };
                    return (io, addr);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "sim: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

impl Connected<IncomingStream<'_, SimListener>> for ConnCtl {
    fn connect_info(stream: IncomingStream<'_, SimListener>) -> Self {
        stream.io().ctl.clone()
    }
}
