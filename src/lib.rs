//! tcpsim: a deterministic TCP network simulator with fault injection.

pub mod scenario;
pub mod tcp;
