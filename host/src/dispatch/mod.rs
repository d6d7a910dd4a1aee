//! Routing of messages to plugins: command parsing (more to come).

pub mod parse;
