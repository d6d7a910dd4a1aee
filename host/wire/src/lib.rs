//! The WebQQ (SmartQQ) wire contract shared by the wasmqq client
//! (`wasmqq-webqq`) and the simulator (`wasmqq-sim`).
//!
//! Only pure, protocol-level pieces live here: the hash functions of
//! `webqq-protocol.md` §3 (checked against the spec's vectors), the fixed
//! constants of §1, and codecs that both sides must agree on. Anything with
//! I/O belongs to the client or the simulator.

pub mod backoff;
pub mod consts;
pub mod content;
pub mod hash;
pub mod ptuicb;
