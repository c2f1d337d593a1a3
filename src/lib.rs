//! tcpsim: a deterministic TCP network simulator with fault injection.
//!
//! Load a scenario, run it with a seed, and look at the events or the transcript:
//!
//! ```
//! let sc = tcpsim::scenario::load_str(r#"
//!     [[host]]
//!     name = "client"
//!     [[host]]
//!     name = "server"
//!     [[link]]
//!     a = "client"
//!     b = "server"
//!     delay = "10ms"
//!     [[server]]
//!     host = "server"
//!     port = 80
//!     [[client]]
//!     host = "client"
//!     connect = "server:80"
//!     actions = ["send 100", "close"]
//! "#, "example.toml").unwrap();
//! let run = tcpsim::transcript(&sc, 42);
//! assert!(run.report.passed());
//! assert!(run.text.contains("SYN_SENT -> ESTABLISHED"));
//! ```

pub mod diff;
pub mod expect;
pub mod fuzzing;
pub mod kernel;
pub mod metrics;
pub mod net;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod set;
pub mod sim;
pub mod sweep;
pub mod tcp;
pub mod trace;
pub mod wire;

use report::Report;
use scenario::model::Scenario;
use trace::{Event, Names, TextRenderer};

/// Runs `sc` with `seed` (until `until` ns, or the scenario's duration), giving every event
/// to `sink` as it happens, and returns the report with the expectations checked.
pub fn run(sc: &Scenario, seed: u64, until: Option<u64>, sink: &mut dyn FnMut(&Event)) -> Report {
    let names = Names::new(sc);
    let mut sends = expect::SendCounter::new(sc);
    let outcome = sim::run(sc, seed, until, &mut |e| {
        sends.observe(e, &names);
        sink(e);
    });
    let (expectations, unexpected_corruption) = expect::evaluate(sc, &outcome, &names, &sends);
    Report {
        seed,
        outcome,
        groups: sc.groups.clone(),
        expectations,
        unexpected_corruption,
    }
}

/// A finished run with its events kept.
pub struct Run {
    pub events: Vec<Event>,
    /// The text transcript followed by the summary, exactly as the CLI prints it.
    pub text: String,
    pub report: Report,
}

/// Runs `sc` with `seed` and keeps everything: the events, the transcript and the report.
pub fn transcript(sc: &Scenario, seed: u64) -> Run {
    let mut events = Vec::new();
    let report = run(sc, seed, None, &mut |e| events.push(*e));
    let names = Names::new(sc);
    let mut renderer = TextRenderer::new(&names);
    let mut text = String::new();
    for e in &events {
        text.push_str(&renderer.line(e));
        text.push('\n');
    }
    text.push_str(&report.summary_text(&names));
    Run {
        events,
        text,
        report,
    }
}
