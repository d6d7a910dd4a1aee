//! The WebQQ server simulator (work in progress).
