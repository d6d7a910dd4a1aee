//! A plugin's stdout/stderr, turned into `tracing` lines under its name.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Longest line kept; longer output is split so a plugin cannot grow host
/// memory by never writing a newline.
const MAX_LINE: usize = 4096;

/// One of a plugin's output streams.
#[derive(Clone)]
pub(crate) struct LogStream {
    plugin: Arc<str>,
    stream: &'static str,
}

impl LogStream {
    pub(crate) fn new(plugin: Arc<str>, stream: &'static str) -> Self {
        LogStream { plugin, stream }
    }
}

impl IsTerminal for LogStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogStream {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.writer())
    }

    // Lines are logged synchronously, inside the plugin's call and span,
    // rather than through wasmtime's default background writer task.
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.writer())
    }
}

impl LogStream {
    fn writer(&self) -> LineWriter {
        LineWriter {
            target: self.clone(),
            buf: Vec::new(),
        }
    }
}

impl LineWriter {
    fn push(&mut self, data: &[u8]) {
        for &b in data {
            self.buf.push(b);
            if b == b'\n' || self.buf.len() >= MAX_LINE {
                self.emit();
            }
        }
    }
}

impl OutputStream for LineWriter {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(MAX_LINE)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LineWriter {
    async fn ready(&mut self) {}
}

struct LineWriter {
    target: LogStream,
    buf: Vec<u8>,
}

impl LineWriter {
    fn emit(&mut self) {
        let line = String::from_utf8_lossy(&self.buf);
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            self.buf.clear();
            return;
        }
        tracing::info!(
            target: "wasmqq::plugin_output",
            plugin = %self.target.plugin,
            stream = self.target.stream,
            "{line}"
        );
        self.buf.clear();
    }
}

impl AsyncWrite for LineWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.push(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.buf.is_empty() {
            self.emit();
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            self.emit();
        }
    }
}
