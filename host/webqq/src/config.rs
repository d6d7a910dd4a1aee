//! The client configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything the client can be told. `Default` gives production values
/// against the real WebQQ hosts; tests shorten the timings and set
/// [`server`](Self::server).
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Send every WebQQ host to this address over plain HTTP instead of the
    /// real hosts over HTTPS (the simulator). Host names, and so cookie
    /// domains, stay the real `*.qq.com` ones. Default: `None`.
    pub server: Option<SocketAddr>,
    /// Where the session (cookies, tokens) is persisted (mode 0600) and
    /// restored from on the next start. `None` disables persistence.
    /// Default: `None`.
    pub session_file: Option<PathBuf>,
    /// Where the login QR code is saved as PNG. Default:
    /// `<temp dir>/wasmqq-qr.png`.
    pub qr_png_path: PathBuf,
    /// How often `ptqrlogin` is asked about the QR code. Default: 2 s.
    pub qr_poll_interval: Duration,
    /// Give up the QR login after this many codes expired (`None`: never).
    /// Default: `None`.
    pub qr_max_codes: Option<u32>,
    /// Minimum time between two message parts sent to the same chat.
    /// Default: 1.5 s (§6.3: faster sending triggers 1202 and bans).
    pub send_interval: Duration,
    /// Retries of a part after a transient failure (connection error,
    /// timeout, HTTP 5xx). Default: 3.
    pub send_retries: u32,
    /// Maximum UTF-8 bytes of text per message part. Default: 720.
    pub max_message_bytes: usize,
    /// Read timeout of a poll2 long-poll (≥ 90 s advised, §6.2).
    /// Default: 120 s.
    pub poll_timeout: Duration,
    /// Timeout of every other request. Default: 30 s.
    pub request_timeout: Duration,
    /// First delay of the capped exponential backoff after a failed poll or
    /// send. Default: 1 s.
    pub backoff_base: Duration,
    /// Cap of that backoff. Default: 60 s.
    pub backoff_max: Duration,
    /// Minimum time between two refreshes of one contact list triggered by
    /// unknown senders. Default: 30 s.
    pub contacts_refresh_interval: Duration,
    /// Fetch every group's and discussion's members at login (else on
    /// demand, when a member speaks). Default: true.
    pub load_members: bool,
    /// Capacity of the event channel; the poll loop waits when it is full.
    /// Default: 1024.
    pub event_buffer: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            server: None,
            session_file: None,
            qr_png_path: std::env::temp_dir().join("wasmqq-qr.png"),
            qr_poll_interval: Duration::from_secs(2),
            qr_max_codes: None,
            send_interval: Duration::from_millis(1500),
            send_retries: 3,
            max_message_bytes: crate::content::MAX_MESSAGE_BYTES,
            poll_timeout: Duration::from_secs(120),
            request_timeout: Duration::from_secs(30),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            contacts_refresh_interval: Duration::from_secs(30),
            load_members: true,
            event_buffer: 1024,
        }
    }
}
