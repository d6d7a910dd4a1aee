//! A plugin's stdout/stderr, turned into `tracing` lines under its name,
//! within its log budget ([`PluginLog`]): lines over the budget are dropped
//! and counted, lines longer than the budget's line length are cut with a
//! marker and the rest of them skipped, so a plugin cannot grow host memory
//! by never writing a newline.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

use super::super::log_budget::{PluginLog, clip_line};

/// Bytes a plugin may write in one go (`check-write`).
const WRITE_CHUNK: usize = 4096;

/// One of a plugin's output streams.
#[derive(Clone)]
pub(crate) struct LogStream {
    log: Arc<PluginLog>,
    stream: &'static str,
}

impl LogStream {
    pub(crate) fn new(log: Arc<PluginLog>, stream: &'static str) -> Self {
        LogStream { log, stream }
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
            skipping: false,
        }
    }
}

impl LineWriter {
    fn push(&mut self, mut data: &[u8]) {
        // One byte more than a line may have, so the cut shows.
        let keep = self.target.log.limits().line_bytes + 1;
        while !data.is_empty() {
            let newline = data.iter().position(|&b| b == b'\n');
            if self.skipping {
                let Some(i) = newline else { return };
                self.skipping = false;
                data = &data[i + 1..];
                continue;
            }
            let (line, rest) = match newline {
                Some(i) => (&data[..i], &data[i + 1..]),
                None => (data, &data[data.len()..]),
            };
            let room = keep.saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&line[..line.len().min(room)]);
            if self.buf.len() >= keep {
                self.emit();
                // The rest of an over-long line is skipped up to its newline.
                self.skipping = newline.is_none();
            } else if newline.is_some() {
                self.emit();
            }
            data = rest;
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
        Ok(WRITE_CHUNK)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LineWriter {
    async fn ready(&mut self) {}
}

struct LineWriter {
    target: LogStream,
    /// The line so far, at most one byte over the line length.
    buf: Vec<u8>,
    /// Past the cut of an over-long line: drop bytes up to the next newline.
    skipping: bool,
}

impl LineWriter {
    fn emit(&mut self) {
        let text = String::from_utf8_lossy(&self.buf);
        let text = text.trim_end_matches('\r');
        let log = &self.target.log;
        if !text.is_empty() {
            let line = clip_line(text, log.limits().line_bytes);
            if log.output(line.len()) {
                tracing::info!(
                    target: "wasmqq::plugin_output",
                    plugin = %log.name(),
                    stream = self.target.stream,
                    "{line}"
                );
            }
        }
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
