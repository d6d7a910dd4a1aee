//! The accept loop, and the `max_clients` gate.
//!
//! A connection is counted from the moment it is accepted (with or without a
//! nickname), so a crowd of silent connections cannot starve the room; each
//! of those is closed after `nick_timeout`. A connection over the limit is
//! told `room full` with a single non-blocking write and closed at once: no
//! task, no buffer and no timer is spent on it.
//!
//! Accept errors (e.g. out of file descriptors) do not end the server: they
//! are logged and the loop backs off briefly, as mini-redis does.
//!
//! On shutdown the listener is closed first, then every connection task is
//! awaited; only then is the room reported finished (which ends the bot's
//! inbox, whose senders the tasks hold).

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::{debug, error, info, warn};

use crate::client;
use crate::event::RoomEvent;
use crate::state::{Full, Shared};
use crate::text;
use wasmqq_shutdown::Shutdown;

/// Pause after a failed `accept`.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `listener` until shutdown, then waits for every connection.
pub(crate) async fn run(
    listener: TcpListener,
    shared: Arc<Shared>,
    bot: mpsc::Sender<RoomEvent>,
    mut shutdown: Shutdown,
) {
    info!(addr = %shared.local_addr, room = %shared.config.room_name, "chat room listening");
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            () = shutdown.recv() => break,
            Some(ended) = tasks.join_next(), if !tasks.is_empty() => {
                if let Err(e) = ended {
                    error!(error = %e, "connection task failed");
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match shared.register(peer) {
                    Ok(registered) => {
                        debug!(conn = registered.id, %peer, "accepted");
                        tasks.spawn(client::run(
                            Arc::clone(&shared),
                            stream,
                            registered,
                            bot.clone(),
                            shutdown.clone(),
                        ));
                    }
                    Err(Full::Full) => {
                        warn!(%peer, max = shared.config.max_clients, "room full; connection refused");
                        let _ = stream.try_write(text::room_full(shared.config.max_clients).as_bytes());
                    }
                    Err(Full::Closed) => {}
                },
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
        }
    }
    drop(listener);
    drop(bot);
    while let Some(ended) = tasks.join_next().await {
        if let Err(e) = ended {
            error!(error = %e, "connection task failed");
        }
    }
    info!(room = %shared.config.room_name, "chat room closed");
    // Dropping `shutdown`, the last listener, finishes the room's signal.
}
