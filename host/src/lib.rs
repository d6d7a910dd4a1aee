//! wasmqq host library.
