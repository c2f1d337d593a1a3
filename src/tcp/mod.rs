//! Sans-IO TCP per RFC 9293: a connection takes (now, input) and reports what to send,
//! when to wake it and what happened. It owns no clock, RNG, queue or I/O.

mod config;
mod flags;
mod state;

pub use config::{Config, SECOND};
pub use flags::Flags;
pub use state::State;
