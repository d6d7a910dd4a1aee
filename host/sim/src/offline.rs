//! The simulator without a socket: requests are handed in as values and
//! answered by the same router [`start`](crate::start) serves.
//!
//! The fuzz target of the request parsing (`fuzz/fuzz_targets/sim_requests.rs`)
//! and tests that want no port use it; only the `reset` fault, which needs a
//! connection to drop, behaves differently (it answers 500 and resets
//! nothing).

use std::sync::Arc;

use axum::extract::Request;
use axum::response::Response;

use crate::SimConfig;
use crate::state::Sim;

/// A simulated WebQQ server answering requests in-process.
pub struct Offline {
    sim: Arc<Sim>,
}

impl Offline {
    /// A fresh simulated world (no QR code, no login yet).
    pub fn new(config: SimConfig) -> Offline {
        Offline {
            sim: Arc::new(Sim::new(config)),
        }
    }

    /// Answers `request` as the listening simulator would (the `Host`
    /// header or the URI's authority picks the WebQQ host). A held `poll2`
    /// waits for [`SimConfig::poll_hold`] as usual.
    pub async fn handle(&self, request: Request) -> Response {
        crate::routes::route(&self.sim, request, None).await
    }
}
