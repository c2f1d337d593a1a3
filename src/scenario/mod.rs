//! Scenario files: TOML schema, units, validation and error reporting.

pub mod error;
pub mod limits;
mod load;
pub mod model;
mod plain;
pub mod schema;
pub mod units;

pub use error::ScenarioError;
pub use load::{load_file, load_file_with, load_str, load_str_with};
pub use model::Scenario;
pub use units::{format_duration, parse_duration, parse_rate};
