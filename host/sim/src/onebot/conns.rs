//! The OneBot consumers the simulator knows of (forward and reverse
//! WebSocket connections, the HTTP POST poster) and what each is asked to
//! write: the data the state holds. The pump that feeds them is
//! [`super::hub`].

use std::collections::{HashMap, VecDeque};

use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

use super::events::MalformedEvent;
use crate::conn::ConnCtl;
use crate::event::Event;

/// What a consumer's task is asked to write.
#[derive(Debug)]
pub(crate) enum Out {
    /// A message event's JSON, with the queued event (handed back if it
    /// cannot be written).
    Event(String, Option<Event>),
    /// Any other frame: a meta event, an API answer.
    Frame(String),
    /// Drop the connection now (the `onebot_drop` fault).
    Drop,
}

/// One registered consumer.
#[derive(Debug)]
pub(crate) struct Conn {
    /// For logs: `forward /event`, `reverse Universal`, `http_post`.
    pub label: String,
    /// Receives events.
    pub events: bool,
    /// A connection the drop fault ends (not the HTTP POST poster).
    pub droppable: bool,
    pub tx: UnboundedSender<Out>,
    /// The TCP connection's kill switch (forward connections).
    pub ctl: Option<ConnCtl>,
}

/// The OneBot part of the simulator's state.
#[derive(Debug, Default)]
pub(crate) struct Hub {
    pub(super) conns: HashMap<u64, Conn>,
    pub(super) next_id: u64,
    /// Malformed events armed by the fault, delivered before queued messages.
    pub malformed: VecDeque<MalformedEvent>,
    /// When the next `*_rate_limited` call may run.
    pub next_rate_slot: Option<Instant>,
}

impl Hub {
    /// Live WebSocket connections (forward and reverse).
    pub(crate) fn connections(&self) -> usize {
        self.conns.values().filter(|c| c.droppable).count()
    }

    pub(super) fn event_sinks(&self) -> usize {
        self.conns.values().filter(|c| c.events).count()
    }
}
