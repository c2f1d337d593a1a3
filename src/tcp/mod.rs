//! Sans-IO TCP per RFC 9293: a connection takes (now, input) and reports what to send,
//! when to wake it and what happened. It owns no clock, RNG, queue or I/O.

mod arrival;
mod buffers;
pub mod closed;
mod config;
mod congestion;
mod conn;
mod cubic;
mod flags;
mod linux_ack;
mod linux_recovery;
mod linux_window;
mod loss_probe;
mod options;
mod rack;
mod receive;
mod rto;
mod rules;
mod sack;
mod segment;
mod send;
mod seq;
mod state;
mod time_wait;
mod timers;
mod wheel;
mod why;

pub use buffers::SendBuffer;
pub use config::{
    AckPolicy, Config, CongestionAlgorithm, IsnMode, Profile, ReopenOldDuplicate, RttEstimator,
    SECOND, SynData, TimeWaitInWindow,
};
pub use congestion::Phase;
pub use conn::{ConnEvent, ConnStats, Connection, Reopen};
pub use flags::{Flags, LongNames};
pub use rto::RtoEstimator;
pub use segment::{Endpoint, SackBlocks, Segment, Tag};
pub use seq::Seq;
pub use state::State;
pub use time_wait::TimeWait;
pub use why::Why;

#[cfg(test)]
mod tests;
