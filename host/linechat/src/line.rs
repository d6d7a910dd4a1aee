//! Framing: a client's bytes → bounded, sanitised lines.
//!
//! [`LineReader`] is the only place a client's raw bytes are buffered, and it
//! never holds more than `max_line_bytes + 1` bytes of an unfinished line
//! plus one read chunk. When a line grows past the bound it yields
//! [`Frame::TooLong`] once and switches to *discarding*: every further byte up
//! to the next `\n` is read and dropped on the spot, so a client that sends
//! an endless line costs the room nothing but the reading.
//!
//! Lines end in `\n`; a `\r` before it is dropped. Bytes are decoded as UTF-8
//! with invalid sequences replaced by U+FFFD, never an error, and the result
//! is passed through [`text::sanitize`]. A last line without a `\n` before
//! end of stream is still a line.
//!
//! `next` is cancel safe: all state lives in the reader between calls, so it
//! can sit in a `select!` beside the shutdown signal.

use std::io;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::text;

/// How much is read from the socket at a time.
pub(crate) const READ_CHUNK: usize = 4096;

/// One unit read from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete line, decoded and sanitised, without its line ending.
    Line(String),
    /// A line longer than the limit; it has been (or is being) discarded.
    TooLong,
}

/// Reads [`Frame`]s from a byte stream with a bounded buffer.
#[derive(Debug)]
pub(crate) struct LineReader<R> {
    inner: R,
    buf: BytesMut,
    max: usize,
    /// How far `buf` has been searched for `\n` already.
    scanned: usize,
    /// Inside an over-long line: drop bytes until the next `\n`.
    discarding: bool,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// A reader that refuses lines longer than `max` bytes (line ending not
    /// counted).
    pub(crate) fn new(inner: R, max: usize) -> Self {
        LineReader {
            inner,
            buf: BytesMut::with_capacity(READ_CHUNK),
            max,
            scanned: 0,
            discarding: false,
        }
    }

    /// The next frame, or `None` at end of stream.
    ///
    /// Fails only when reading the socket fails.
    pub(crate) async fn next(&mut self) -> io::Result<Option<Frame>> {
        loop {
            if let Some(frame) = self.parse() {
                return Ok(Some(frame));
            }
            self.buf.reserve(READ_CHUNK);
            let n = (&mut self.inner)
                .take(READ_CHUNK as u64)
                .read_buf(&mut self.buf)
                .await?;
            if n == 0 {
                return Ok(self.finish());
            }
        }
    }

    /// How many bytes are buffered between calls (for the fuzz target's
    /// check of the bound).
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// A frame from what is buffered, if one is complete.
    fn parse(&mut self) -> Option<Frame> {
        loop {
            let found = self.buf[self.scanned..].iter().position(|&b| b == b'\n');
            match found {
                Some(at) => {
                    let end = self.scanned + at;
                    let raw = self.buf.split_to(end + 1);
                    self.scanned = 0;
                    if self.discarding {
                        // The tail of a line already refused.
                        self.discarding = false;
                        continue;
                    }
                    return Some(self.frame(&raw[..end]));
                }
                None if self.discarding => {
                    self.buf.clear();
                    self.scanned = 0;
                    return None;
                }
                // `max` bytes and a `\r` may still end well; one more cannot.
                None if self.buf.len() > self.max + 1 => {
                    self.buf.clear();
                    self.scanned = 0;
                    self.discarding = true;
                    return Some(Frame::TooLong);
                }
                None => {
                    self.scanned = self.buf.len();
                    return None;
                }
            }
        }
    }

    /// What is left at end of stream.
    fn finish(&mut self) -> Option<Frame> {
        if self.discarding || self.buf.is_empty() {
            self.buf.clear();
            return None;
        }
        let raw = self.buf.split();
        self.scanned = 0;
        Some(self.frame(&raw))
    }

    fn frame(&self, raw: &[u8]) -> Frame {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.len() > self.max {
            return Frame::TooLong;
        }
        Frame::Line(text::sanitize(&String::from_utf8_lossy(raw)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames(input: &[u8], max: usize) -> Vec<Frame> {
        let mut r = LineReader::new(input, max);
        let mut out = Vec::new();
        while let Some(f) = r.next().await.unwrap() {
            out.push(f);
        }
        out
    }

    fn line(s: &str) -> Frame {
        Frame::Line(s.to_owned())
    }

    #[tokio::test]
    async fn splits_lf_and_crlf_and_keeps_a_last_unterminated_line() {
        assert_eq!(
            frames(b"a\nb\r\n\nc", 10).await,
            vec![line("a"), line("b"), line(""), line("c")]
        );
    }

    #[tokio::test]
    async fn exactly_max_is_fine_one_more_is_refused_and_the_rest_discarded() {
        let mut input = Vec::new();
        input.extend_from_slice(b"12345\r\n");
        input.extend_from_slice(b"123456\n");
        input.extend_from_slice(&[b'x'; 100_000]);
        input.extend_from_slice(b"\nok\n");
        assert_eq!(
            frames(&input, 5).await,
            vec![line("12345"), Frame::TooLong, Frame::TooLong, line("ok")]
        );
    }

    #[tokio::test]
    async fn an_endless_line_is_refused_once_and_never_buffered() {
        let input = vec![b'y'; 1_000_000];
        let mut r = LineReader::new(&input[..], 512);
        assert_eq!(r.next().await.unwrap(), Some(Frame::TooLong));
        assert!(r.buf.capacity() <= 512 + 1 + 2 * READ_CHUNK);
        assert_eq!(r.next().await.unwrap(), None);
    }

    #[tokio::test]
    async fn invalid_utf8_is_replaced_and_controls_stripped() {
        assert_eq!(
            frames(b"a\xff\xfeb\n\x1b[2Jred\x07\ttab\n", 64).await,
            vec![line("a\u{fffd}\u{fffd}b"), line("[2Jred\ttab")]
        );
    }
}
