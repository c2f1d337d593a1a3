//! The `tcpsim` command line: parse, run, render, exit code.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use tcpsim::scenario::{load_file_with, parse_duration};
use tcpsim::tcp::Profile;
use tcpsim::trace::{Names, TextRenderer, json};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// `--profile` values; mirrors [`Profile`], which does not depend on clap.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ProfileArg {
    /// RFC 9293 and the RFCs it points to (TIME_WAIT 2×MSL, RTO ≥ 1 s, no options).
    Rfc9293,
    /// A current Linux kernel's defaults (TIME_WAIT 60 s, RTO ≥ 200 ms, timestamps, window scaling, RFC 5961).
    Linux,
}

impl From<ProfileArg> for Profile {
    fn from(p: ProfileArg) -> Profile {
        match p {
            ProfileArg::Rfc9293 => Profile::Rfc9293,
            ProfileArg::Linux => Profile::Linux,
        }
    }
}

/// Deterministic TCP network simulator: runs a scenario and prints the transcript of
/// every segment, state change, timer and application event.
///
/// Exit codes: 0 ran and every expectation held; 1 an expectation (or the integrity
/// check) failed; 2 bad input or usage.
#[derive(Parser)]
#[command(name = "tcpsim", version)]
struct Cli {
    /// Scenario file (TOML), e.g. sims/lossy_fin.toml.
    file: PathBuf,
    /// Seed for every random stream (default: the scenario's `seed`, else 0).
    #[arg(long)]
    seed: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// TCP defaults every host starts from, overriding the scenario's `profile`
    /// ([tcp] and [host.tcp] keys still apply on top).
    #[arg(long, value_enum)]
    profile: Option<ProfileArg>,
    /// Stop at this virtual time (e.g. "2s"), overriding the scenario's `duration`.
    #[arg(long, value_parser = parse_duration)]
    until: Option<u64>,
    /// Print only the summary, not the event transcript.
    #[arg(long)]
    quiet: bool,
    /// Print run statistics (events, segments, wall time) to stderr.
    #[arg(long)]
    stats: bool,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let sc = match load_file_with(&cli.file, cli.profile.map(Profile::from)) {
        Ok(sc) => sc,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let seed = cli.seed.or(sc.seed).unwrap_or(0);
    let names = Names::new(&sc);
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut renderer = TextRenderer::new(&names);
    let started = Instant::now();
    let report = {
        let mut sink = |e: &tcpsim::trace::Event| {
            if cli.quiet {
                return;
            }
            let _ = match cli.format {
                Format::Text => writeln!(out, "{}", renderer.line(e)),
                Format::Json => writeln!(out, "{}", json::event(&names, e)),
            };
        };
        tcpsim::run(&sc, seed, cli.until, &mut sink)
    };
    let wall = started.elapsed();
    let _ = match cli.format {
        Format::Text => write!(out, "{}", report.summary_text(&names)),
        Format::Json => report
            .summary_json(&names)
            .iter()
            .try_for_each(|v| writeln!(out, "{v}")),
    };
    let _ = out.flush();
    if cli.stats {
        let st = report.outcome.stats;
        let secs = wall.as_secs_f64().max(1e-9);
        eprintln!(
            "stats: {} events, {} segments carried, {} connections, wall {:.3} s, {:.0} events/s, {:.0} segments/s",
            st.events,
            st.segments,
            st.connections,
            secs,
            st.events as f64 / secs,
            st.segments as f64 / secs
        );
        // Congestion state per connection (the first ten), as it was when the run ended.
        for r in report.outcome.conns.iter().take(10) {
            let c = &r.stats;
            eprintln!(
                "stats: {} {}: cwnd {} ssthresh {} retransmits {}",
                names.endpoint(r.local),
                r.final_state(),
                c.cwnd,
                c.ssthresh,
                c.retransmits
            );
        }
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        for f in report.failures() {
            eprintln!("tcpsim: {f}");
        }
        ExitCode::from(1)
    }
}
