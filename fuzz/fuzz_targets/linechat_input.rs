//! What a line chat client types, as host/linechat reads it: the line
//! framing (`line.rs`, the reader with its `max_line_bytes`), text
//! sanitising (`text.rs`, `sanitize`) and the room command parser
//! (`command.rs`, `Command::parse`), through `wasmqq_linechat::fuzzing`.
//!
//! Invariants:
//! - framing: the frames are exactly those of a one-line model of the
//!   documented rules (split on `\n`, drop one `\r` before it, a last
//!   unterminated line still a line; a line over `max` bytes, line ending
//!   not counted, is `TooLong`, anything else its lossy UTF-8 decoding,
//!   sanitised), whatever the chunks the bytes arrive in (all at once,
//!   one byte per read, or cut where the input says): chunking-invariant,
//!   no line over `max` received bytes, every over-long line reported,
//!   once; between frames the reader holds at most `max + 1` bytes of an
//!   unfinished line plus one read chunk;
//! - `sanitize` is idempotent, leaves no control character but tab and no
//!   bidirectional control, and removes nothing else;
//! - `Command::parse` (of a sanitised line, as the room calls it) is total;
//!   a blank line is `Nothing`; a line not starting with `/` is said as it
//!   is; `/msg`'s nick is non-empty without whitespace and its text is not
//!   blank and has no leading whitespace; `/nick`, `/me`, `/auth`
//!   arguments are non-empty and trimmed; all of them are parts of the
//!   line; command words are case-insensitive.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use wasmqq_linechat::fuzzing::{Command, Frame, READ_CHUNK, frames, sanitize};

/// Pieces of the byte stream: bytes as they are, or a run of one byte
/// (so that lines far longer than the fuzzer's input are cheap).
#[derive(Arbitrary, Debug)]
enum Piece {
    Bytes(Vec<u8>),
    Run(u8, u16),
    Crlf,
    Lf,
    Esc,
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// The limit: small (1..=64) mostly, so long lines are common.
    max: u8,
    big_max: bool,
    pieces: Vec<Piece>,
    /// Where to cut the stream into reads.
    cuts: Vec<u16>,
    line: String,
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The framing rules of line.rs's docs, over the whole stream at once.
fn model(stream: &[u8], max: usize) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut lines: Vec<&[u8]> = stream.split(|&b| b == b'\n').collect();
    // After the last `\n` (or in an empty stream) comes an unfinished line,
    // which is a line only if it is not empty.
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    for raw in lines {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        out.push(if raw.len() > max {
            Frame::TooLong
        } else {
            Frame::Line(sanitize(&String::from_utf8_lossy(raw)))
        });
    }
    out
}

fn check_frames(chunks: &[&[u8]], max: usize, expected: &[Frame]) {
    let got = frames(chunks, max);
    assert_eq!(got.frames, expected, "max {max}, {} chunks", chunks.len());
    assert!(
        got.peak_buffered <= max + 1 + READ_CHUNK,
        "held {} bytes (max {max})",
        got.peak_buffered
    );
}

fn check_sanitize(s: &str) {
    let clean = sanitize(s);
    assert_eq!(sanitize(&clean), clean, "not idempotent on {s:?}");
    assert!(
        clean
            .chars()
            .all(|c| c == '\t' || !(c.is_control() || is_bidi_control(c))),
        "{s:?} sanitised to {clean:?}"
    );
    // Nothing but controls is removed: `clean` is `s` without them.
    let kept: String = s
        .chars()
        .filter(|&c| c == '\t' || !(c.is_control() || is_bidi_control(c)))
        .collect();
    assert_eq!(clean, kept);
}

/// `inner` lies within `outer` (a sub-slice, not a copy).
fn within(outer: &str, inner: &str) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    i >= o && i + inner.len() <= o + outer.len()
}

fn check_command(line: &str) {
    let cmd = Command::parse(line);
    if line.trim().is_empty() {
        assert_eq!(cmd, Command::Nothing);
        return;
    }
    if !line.starts_with('/') {
        assert_eq!(cmd, Command::Say(line));
        return;
    }
    let trimmed_part = |a: &str| {
        assert!(
            !a.is_empty() && a.trim() == a && within(line, a),
            "{line:?}: {cmd:?}"
        );
    };
    match cmd {
        Command::Nothing => panic!("{line:?} is not blank"),
        Command::Say(s) => assert_eq!(s, line),
        Command::Msg { to, text } => {
            assert!(
                !to.is_empty() && !to.contains(char::is_whitespace),
                "{line:?}: {cmd:?}"
            );
            assert!(
                !text.trim().is_empty() && text.trim_start() == text,
                "{line:?}: {cmd:?}"
            );
            assert!(within(line, to) && within(line, text), "{line:?}: {cmd:?}");
            assert!((to.as_ptr() as usize) < text.as_ptr() as usize);
        }
        Command::Nick(a) | Command::Me(a) | Command::Auth(a) => trimmed_part(a),
        Command::Usage(c) => assert!(["msg", "nick", "me", "auth"].contains(&c), "{c}"),
        Command::Who | Command::Quit => {}
    }
    // The command word in upper case means the same.
    let word_end = line.find([' ', '\t']).unwrap_or(line.len());
    let upper = format!(
        "{}{}",
        line[..word_end].to_ascii_uppercase(),
        &line[word_end..]
    );
    match (Command::parse(line), Command::parse(&upper)) {
        (Command::Say(_), Command::Say(_)) => {}
        (a, b) => assert_eq!(a, b, "{line:?} vs {upper:?}"),
    }
}

/// Frames `stream` every way (all at once, one byte per read, cut at
/// `cuts`) against the model.
fn check_stream(stream: &[u8], max: usize, cuts: &[u16]) {
    let expected = model(stream, max);
    for f in &expected {
        if let Frame::Line(l) = f {
            // At most `max` bytes came in; a replacement character for an
            // invalid byte is 3 bytes of UTF-8.
            assert!(l.len() <= 3 * max);
            check_command(l);
        }
    }
    check_frames(&[stream], max, &expected);
    if stream.len() <= 4096 {
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        check_frames(&bytes, max, &expected);
    }
    let mut cuts: Vec<usize> = cuts
        .iter()
        .map(|&c| usize::from(c) % (stream.len() + 1))
        .collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut at = 0;
    for c in cuts {
        chunks.push(&stream[at..c]);
        at = c;
    }
    chunks.push(&stream[at..]);
    check_frames(&chunks, max, &expected);
}

// The input is what a telnet user sends (the seeds are typed sessions),
// framed with a few limits, and, read by `arbitrary`, an `Input`.
fuzz_target!(|data: &[u8]| {
    let cuts: Vec<u16> = data.iter().map(|&b| u16::from(b) * 7).collect();
    for max in [4, 16, 512] {
        check_stream(data, max, &cuts);
    }
    check_sanitize(&String::from_utf8_lossy(data));

    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let max = if input.big_max {
        usize::from(input.max) * 64 + 1
    } else {
        usize::from(input.max % 64) + 1
    };
    let mut stream = Vec::new();
    for piece in &input.pieces {
        match piece {
            Piece::Bytes(b) => stream.extend_from_slice(b),
            Piece::Run(b, n) => stream.extend(std::iter::repeat_n(*b, usize::from(*n))),
            Piece::Crlf => stream.extend_from_slice(b"\r\n"),
            Piece::Lf => stream.push(b'\n'),
            Piece::Esc => stream.extend_from_slice(b"\x1b[2J\x1b[31m"),
        }
    }
    check_stream(&stream, max, &input.cuts);
    check_sanitize(&input.line);
    check_sanitize(&String::from_utf8_lossy(&stream));
    check_command(&input.line);
    check_command(&sanitize(&input.line));
});
