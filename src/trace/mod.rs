//! Observing a run: typed events and the renderers that turn them into text or JSON.

pub mod background;
mod digits;
mod event;
pub mod html;
pub mod json;
pub mod jsonw;
pub mod ladder;
mod names;
pub mod pcap;
pub mod svg;
pub mod text;

pub use event::{AppEvent, CallError, Cause, ConnRef, Event, EventKind, Fate, Invariant, TcpNote};
pub use names::Names;
pub use text::TextRenderer;
