//! The discrete-event simulation: virtual clock, event queue and the run loop.

mod app;
mod heap_scheduler;
mod prefetch;
mod scheduler;
mod tcb;
mod world;

pub use heap_scheduler::HeapScheduler;
pub use scheduler::Scheduler;
pub use world::{ConnRecord, History, Outcome, RunStats, run};
