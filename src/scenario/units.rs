//! Durations ("200ms") and rates ("10Mbps") as users write them.
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Duration(pub u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Rate(pub u64);
