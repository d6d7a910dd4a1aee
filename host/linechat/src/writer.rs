//! One client's outgoing side: its bounded queue, drained to the socket.
//!
//! Each connection has a writer task that owns the socket's write half and
//! the receiving end of the client's queue (`client_queue` lines). Nobody
//! else ever writes to the socket or waits for it, so a client that does not
//! read only ever fills its own queue — and the room kicks it when it is
//! full (see `state.rs`).
//!
//! The writer ends when
//! - every sender of the queue is gone (the connection left the room and its
//!   task is done): what is queued is written, then the write side is shut
//!   down — the connection task bounds this with a linger timeout;
//! - the connection is kicked: queued lines are abandoned, a farewell is
//!   attempted *without waiting* (`try_write`), and the task ends even in
//!   the middle of a blocked write;
//! - writing fails.

use std::io;

use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, watch};
use tracing::debug;

use crate::state::{Kick, Line};
use crate::text;

/// At most this many bytes are gathered from the queue into one write.
const BATCH_BYTES: usize = 16 * 1024;

/// Resolves when the connection is kicked; never, if it cannot be anymore.
pub(crate) async fn kicked(kick: &mut watch::Receiver<Option<Kick>>) -> Kick {
    // The `Ref` (a lock guard) must be gone before the next await.
    let why = kick
        .wait_for(Option::is_some)
        .await
        .map(|k| k.unwrap_or(Kick::Gone));
    match why {
        Ok(why) => why,
        Err(_) => std::future::pending().await,
    }
}

/// Drains `queue` to `socket` until one of the ends above.
pub(crate) async fn run(
    conn: u64,
    mut socket: OwnedWriteHalf,
    mut queue: mpsc::Receiver<Line>,
    mut kick: watch::Receiver<Option<Kick>>,
    client_queue: usize,
) {
    let mut out: Vec<u8> = Vec::with_capacity(BATCH_BYTES);
    loop {
        let first = tokio::select! {
            biased;
            why = kicked(&mut kick) => return farewell(conn, &socket, why, client_queue),
            line = queue.recv() => line,
        };
        let Some(first) = first else {
            // Left the room; all that was queued is written.
            let _ = socket.shutdown().await;
            return;
        };
        out.clear();
        push(&mut out, &first);
        while out.len() < BATCH_BYTES {
            match queue.try_recv() {
                Ok(line) => push(&mut out, &line),
                Err(_) => break,
            }
        }
        let written: io::Result<()> = tokio::select! {
            biased;
            why = kicked(&mut kick) => return farewell(conn, &socket, why, client_queue),
            r = socket.write_all(&out) => r,
        };
        if let Err(e) = written {
            debug!(conn, error = %e, "write failed");
            // Let the connection task know, should it be waiting on input.
            return;
        }
    }
}

fn push(out: &mut Vec<u8>, line: &str) {
    out.extend_from_slice(line.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// A last word to a kicked client, only if the socket takes it at once.
fn farewell(conn: u64, socket: &OwnedWriteHalf, why: Kick, client_queue: usize) {
    if why == Kick::TooSlow {
        let _ = socket.try_write(text::bye_too_slow(client_queue).as_bytes());
    }
    debug!(conn, reason = ?why, "writer stopped by kick");
}
