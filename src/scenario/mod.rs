//! Scenario files: TOML schema, units, validation and error reporting.

pub mod model;
pub mod schema;
pub mod units;
