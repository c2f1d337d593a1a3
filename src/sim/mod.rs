//! The discrete-event simulation: virtual clock, event queue and the run loop.

mod app;
mod scheduler;
mod tcb;
mod world;

pub use scheduler::Scheduler;
pub use world::{ConnRecord, Outcome, RunStats, run};
