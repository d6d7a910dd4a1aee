//! The WebQQ client (work in progress).
