//! The OneBot connections and the event pump.
//!
//! Every live OneBot consumer — forward and reverse WebSocket connections,
//! and the HTTP POST poster — is registered here with a channel the pump
//! writes to. Injected messages stay in the simulator's one event queue (in
//! public terms, like the WebQQ face) until at least one *event* consumer
//! is registered; then each queued event is rendered once and broadcast to
//! all of them, as the standard asks. A consumer that goes away with
//! events it could not write hands them back: when no other event
//! consumer remains they return to the front of the queue, so an event is
//! never lost between connections. Everything here runs under the state
//! lock; sending on an unbounded channel never blocks.

use tokio::sync::mpsc::UnboundedReceiver;

pub(crate) use super::conns::{Conn, Hub, Out};
use super::events;
use crate::event::Event;
use crate::state::{Sim, State};

/// Registers a consumer; returns its id.
pub(crate) fn register(st: &mut State, conn: Conn) -> u64 {
    let hub = &mut st.onebot;
    hub.next_id += 1;
    let id = hub.next_id;
    tracing::info!(conn = %conn.label, id, "onebot: consumer registered");
    hub.conns.insert(id, conn);
    id
}

/// Removes a consumer. `unsent` are the message events it could not write
/// (in order), and whatever is still in its channel `rx` follows them;
/// they go back to the front of the queue when no other event consumer
/// has them.
pub(crate) fn unregister(
    st: &mut State,
    id: u64,
    rx: &mut UnboundedReceiver<Out>,
    mut unsent: Vec<Event>,
) {
    let Some(conn) = st.onebot.conns.remove(&id) else {
        return;
    };
    // Removed under the lock: nothing more arrives, so this drains it all.
    while let Ok(out) = rx.try_recv() {
        if let Out::Event(_, Some(ev)) = out {
            unsent.push(ev);
        }
    }
    tracing::info!(conn = %conn.label, id, unsent = unsent.len(), "onebot: consumer gone");
    if conn.events && st.onebot.event_sinks() == 0 {
        for ev in unsent.into_iter().rev() {
            st.delivered = st.delivered.saturating_sub(1);
            st.events.push_front(ev);
        }
    }
}

/// Delivers everything queued to every event consumer (nothing happens
/// while there is none).
pub(crate) fn pump(sim: &Sim, st: &mut State) {
    let Some(face) = sim.config.onebot.as_ref() else {
        return;
    };
    if st.onebot.event_sinks() == 0 {
        return;
    }
    let pop = &sim.config.population;
    while let Some(kind) = st.onebot.malformed.pop_front() {
        let text = events::malformed(pop.bot.qq, kind);
        tracing::info!(?kind, "onebot: delivering a malformed event");
        broadcast(&st.onebot, |_| Out::Frame(text.clone()));
    }
    while let Some(ev) = st.events.pop_front() {
        if ev.chat == crate::ChatKind::Discussion {
            // Queued before the face existed; OneBot has no discussions.
            tracing::warn!(msg_id = ev.msg_id, "onebot: discussion message dropped");
            continue;
        }
        let text = events::message(pop, face.message_format, &ev).to_string();
        tracing::info!(msg_id = ev.msg_id, chat = ?ev.chat, "onebot: delivering event");
        st.delivered += 1;
        broadcast(&st.onebot, |_| Out::Event(text.clone(), Some(ev.clone())));
    }
}

fn broadcast(hub: &Hub, make: impl Fn(&Conn) -> Out) {
    for c in hub.conns.values().filter(|c| c.events) {
        // A closed channel means the task is ending; it unregisters itself.
        let _ = c.tx.send(make(c));
    }
}

/// Drops every WebSocket connection; returns how many there were.
pub(crate) fn drop_all(st: &mut State) -> usize {
    let mut n = 0;
    for c in st.onebot.conns.values().filter(|c| c.droppable) {
        if let Some(ctl) = &c.ctl {
            ctl.kill();
        }
        let _ = c.tx.send(Out::Drop);
        n += 1;
    }
    tracing::info!(connections = n, "onebot: dropping connections");
    n
}
