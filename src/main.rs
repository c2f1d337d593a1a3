//! The `tcpsim` command line: parse, run, render, exit code.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tcpsim::kernel;
use tcpsim::scenario::limits::{self, Estimate};
use tcpsim::scenario::{Scenario, parse_duration};
use tcpsim::set::{self, Set};
use tcpsim::sweep::{self, SeedRange, Shard, Sweep, Timing};
use tcpsim::tcp::Profile;
use tcpsim::trace::background::{Background, Offload};
use tcpsim::trace::ladder::{self, ConnSel};
use tcpsim::trace::pcap::PcapWriter;
use tcpsim::trace::{Event, EventKind, Names, TextRenderer, json, svg};

/// `eprintln!` that ignores a closed stderr (`tcpsim x 2>&1 | head -1`): a diagnostic
/// nobody reads is no reason to panic, and the exit code still tells what happened.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// `eprint!` likewise.
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}

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
#[command(
    name = "tcpsim",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    disable_help_subcommand = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Scenario file (TOML), e.g. sims/lossy_fin.toml.
    #[arg(required = true)]
    file: Option<PathBuf>,
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
    /// End each segment and state-change line with the rule behind it and its RFC section.
    #[arg(long)]
    explain: bool,
    /// Also write every segment as it crossed each link to this pcapng file (for
    /// Wireshark or tshark); what happened to it is in the packet comment.
    #[arg(long, value_name = "FILE")]
    pcap: Option<PathBuf>,
    /// Print a text ladder (sequence diagram) of one connection instead of the transcript.
    #[arg(long)]
    ladder: bool,
    /// The connection for --ladder and --svg: "host:port" (a local endpoint) or "host"
    /// (its first connection); default: the first connection of the run.
    #[arg(long, value_name = "CONN", default_value = "")]
    conn: String,
    /// Draw the ladder of that connection as an SVG picture into FILE.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// Write a self-contained HTML report to FILE: ladders and transcripts of the first
    /// connections (click for the rule behind each), and the metrics plots.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    #[command(flatten)]
    metrics: MetricsArgs,
    /// Edit the scenario before loading it: `tcp.tw_reuse=true`, `load.proxy.rate=800/s`,
    /// `server.0.backlog=64` (arrays of tables by index or `name`); repeatable. A value
    /// that is not TOML is a string.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = Set::parse)]
    sets: Vec<Set>,
}

/// `--metrics` and its plots: a time series sampled from the run's events.
#[derive(Args)]
struct MetricsArgs {
    /// Write a time series per host and per group (connections per state, ports free,
    /// opened/established/failed/reset, segments, retransmits, goodput) to FILE: CSV, or
    /// JSON lines when FILE ends in .jsonl or .json. Adds latency lines to the summary.
    #[arg(long, value_name = "FILE")]
    metrics: Option<PathBuf>,
    /// Sample interval of --metrics and the plots (e.g. "100ms").
    #[arg(long, value_name = "DUR", value_parser = parse_duration_nonzero, default_value = "1s")]
    metrics_interval: u64,
    /// Draw connections per state over time (stacked) into FILE (.svg, or .png).
    #[arg(long, value_name = "FILE")]
    plot_states: Option<PathBuf>,
    /// Draw ephemeral ports free over time into FILE (.svg, or .png).
    #[arg(long, value_name = "FILE")]
    plot_ports: Option<PathBuf>,
}

impl MetricsArgs {
    /// Whether any output needs the sampler (otherwise it is not even built).
    fn wanted(&self) -> bool {
        self.metrics.is_some() || self.plot_states.is_some() || self.plot_ports.is_some()
    }
}

/// A sample interval: a duration greater than zero.
fn parse_duration_nonzero(text: &str) -> Result<u64, String> {
    match parse_duration(text)? {
        0 => Err("the interval must be greater than 0".to_string()),
        ns => Ok(ns),
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario over many seeds in parallel and report which fail and how (or merge
    /// the JSON reports of shards).
    ///
    /// Each seed runs without a transcript; the report lists failures by kind with
    /// commands that replay them, and per-seed distributions of completion time,
    /// retransmissions and time in TIME_WAIT. It does not depend on --jobs.
    ///
    /// Exit codes: 0 every seed passed; 1 some seed failed; 2 bad input or usage.
    Sweep(SweepArgs),
    /// Run the scenario's hosts on the real Linux TCP: each host a network namespace with
    /// a TUN device, its applications on real sockets, the packets between them crossing
    /// tcpsim's own links and faults on the wall clock. Needs root (and /dev/net/tun).
    ///
    /// The transcript and every output format are those of a simulated run. Linux's
    /// TIME_WAIT lasts 60 s, so a run ends once its traffic is over (unless --until) and
    /// lists the sockets left in each namespace. Every namespace is removed at the end,
    /// also on error and on Ctrl-C.
    ///
    /// Exit codes: 0 ran and every expectation held; 1 an expectation failed; 2 bad
    /// input, kernel mode unavailable, or the run failed.
    Kernel(KernelArgs),
    /// Run the scenario simulated and on the real kernel (as `tcpsim kernel`) and align
    /// the two segment by segment: direction, flags, relative seq and ack, length, in
    /// order, and times within a tolerance. Prints `agree`, or the first divergence with
    /// both sides' segments around it; the last line is a one-line summary.
    ///
    /// Exit codes: 0 agree; 1 differ; 2 bad input, kernel mode unavailable (its own
    /// message: not root, no TUN), or a run failed.
    Diff(DiffArgs),
}

#[derive(Args)]
struct DiffArgs {
    /// Scenario file (TOML), e.g. sims/kernel/plain_close.toml.
    file: PathBuf,
    /// TCP defaults of the simulated side (the kernel is the kernel); default: the
    /// scenario's `profile`.
    #[arg(long, value_enum)]
    profile: Option<ProfileArg>,
    /// Seed for both runs' network models (default: the scenario's `seed`, else 0).
    #[arg(long)]
    seed: Option<u64>,
    /// Run the kernel side until this time instead of until its traffic is over.
    #[arg(long, value_parser = parse_duration)]
    until: Option<u64>,
}

#[derive(Args)]
struct KernelArgs {
    /// Scenario file (TOML), e.g. sims/lost_last_ack.toml.
    #[arg(required_unless_present = "check")]
    file: Option<PathBuf>,
    /// Seed for the network model's random streams (loss, jitter, …); the kernel's own
    /// ISNs and port choices are its own.
    #[arg(long)]
    seed: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Run until this time (e.g. "65s", to see TIME_WAIT end) instead of stopping when
    /// the traffic is over.
    #[arg(long, value_parser = parse_duration)]
    until: Option<u64>,
    /// Print only the summary, not the event transcript.
    #[arg(long)]
    quiet: bool,
    /// Also write every packet, with its real bytes, to this pcapng file.
    #[arg(long, value_name = "FILE")]
    pcap: Option<PathBuf>,
    /// Print a text ladder of one connection instead of the transcript.
    #[arg(long)]
    ladder: bool,
    /// The connection for --ladder and --svg (as for a simulated run).
    #[arg(long, value_name = "CONN", default_value = "")]
    conn: String,
    /// Draw the ladder of that connection as an SVG picture into FILE.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// Only check whether kernel mode can run here (root, TUN, namespaces).
    #[arg(long)]
    check: bool,
}

#[derive(Args)]
struct SweepArgs {
    /// Scenario file (TOML), e.g. sims/lossy_fin.toml.
    #[arg(required_unless_present = "merge")]
    file: Option<PathBuf>,
    /// Seeds to run: A..B (B excluded), A..=B, or a single seed N.
    #[arg(long, value_parser = SeedRange::parse, required_unless_present = "merge", conflicts_with = "merge")]
    seeds: Option<SeedRange>,
    /// Worker threads, 1 to 256 (default: the machine's available parallelism; never more
    /// than the seeds). The report does not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(limits::MAX_JOBS)), conflicts_with = "merge")]
    jobs: Option<u32>,
    /// Run only shard K of N (0-based: K = 0..N-1): the seeds whose index in the range is
    /// K modulo N. Merge the shards' `--format json` outputs with --merge.
    #[arg(long, value_name = "K/N", value_parser = Shard::parse, conflicts_with = "merge")]
    shard: Option<Shard>,
    /// Report format; json carries the per-seed results that --merge needs.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// TCP defaults every host starts from, as for a single run (replay commands repeat it).
    #[arg(long, value_enum, conflicts_with = "merge")]
    profile: Option<ProfileArg>,
    /// No progress bar and no wall-time figures: only the deterministic report.
    #[arg(long)]
    quiet: bool,
    /// Edit the scenario before loading it, as for a single run; repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = Set::parse, conflicts_with = "merge")]
    sets: Vec<Set>,
    /// Combine the `--format json` outputs of shards of one sweep into its report.
    #[arg(long, value_name = "JSON", num_args = 1.., conflicts_with = "file")]
    merge: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cli.command {
        Some(Command::Sweep(ref args)) => run_sweep(args),
        Some(Command::Kernel(ref args)) => run_kernel(args),
        Some(Command::Diff(ref args)) => run_diff(args),
        None => run_one(&cli),
    }
}

/// `tcpsim FILE`: one run, its transcript and summary.
fn run_one(cli: &Cli) -> ExitCode {
    let file = cli
        .file
        .as_deref()
        .expect("clap requires FILE without a subcommand");
    let loaded = set::load(file, cli.profile.map(Profile::from), &cli.sets);
    let checked = |sc: Scenario| {
        limits::check_runnable(&sc)
            .map(|()| sc)
            .map_err(|e| e.to_string())
    };
    let sc = match loaded.and_then(checked) {
        Ok(sc) => sc,
        Err(e) => {
            say!("{e}");
            return ExitCode::from(2);
        }
    };
    let seed = cli.seed.or(sc.seed).unwrap_or(0);
    let names = Names::new(&sc);
    let stdout = std::io::stdout();
    // A transcript is millions of short lines: few, large writes to stdout.
    let mut out = BufWriter::with_capacity(1 << 18, stdout.lock());
    let mut renderer = TextRenderer::new(&names).explained(cli.explain);
    let mut pcap = match cli
        .pcap
        .as_deref()
        .map(|path| open_pcap(path, &sc).map(|w| Offload::new((w, None), pcap_event)))
        .transpose()
    {
        Ok(p) => p,
        Err(e) => {
            say!("{e}");
            return ExitCode::from(2);
        }
    };
    let conn = match cli.conn.as_str() {
        "" => ConnSel::First,
        text => match ConnSel::parse(text) {
            Ok(c) => c,
            Err(e) => {
                say!("error: --conn: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let keep_events = cli.ladder || cli.svg.is_some() || cli.html.is_some();
    let mut events = Vec::new();
    // The report page shows the metrics plots, so it needs the sampler too.
    let mut sampler = (cli.metrics.wanted() || cli.html.is_some())
        .then(|| tcpsim::metrics::Sampler::new(&sc, cli.metrics.metrics_interval));
    // One line at a time, in a buffer every line reuses.
    let mut line = String::new();
    let started = Instant::now();
    let report = {
        let mut sink = |e: &tcpsim::trace::Event| {
            if let Some(w) = pcap.as_mut()
                && matches!(e.kind, EventKind::Segment { .. } | EventKind::Inject { .. })
            {
                w.push(*e);
            }
            if keep_events {
                events.push(*e);
            }
            if let Some(m) = sampler.as_mut() {
                m.observe(e);
            }
            if cli.quiet || cli.ladder {
                return;
            }
            line.clear();
            match cli.format {
                Format::Text => renderer.write_line(&mut line, e, None),
                Format::Json => json::write_event(&mut line, &names, e),
            }
            line.push('\n');
            let _ = out.write_all(line.as_bytes());
        };
        tcpsim::run(&sc, seed, cli.until, &mut sink)
    };
    let end_time = report.outcome.end_time;
    let wall = started.elapsed();
    if let Err(e) = draw_ladders(cli, &sc, &names, &events, conn, &mut out) {
        say!("error: {e}");
        return ExitCode::from(2);
    }
    if let Some(err) = pcap.and_then(|p| match p.finish() {
        Some((w, None)) => close_pcap(w).err(),
        Some((_, Some(err))) => Some(err),
        None => Some(std::io::Error::other("the pcap thread panicked")),
    }) {
        say!("tcpsim: writing the pcap file failed: {err}");
        return ExitCode::from(2);
    }
    let _ = match cli.format {
        Format::Text => write!(out, "{}", report.summary_text(&names)),
        Format::Json => report
            .summary_json(&names)
            .iter()
            .try_for_each(|v| writeln!(out, "{v}")),
    };
    if let Some(m) = sampler {
        let series = m.finish(end_time);
        if let Err(e) = write_html(cli, &sc, &names, &events, &series) {
            say!("error: {e}");
            return ExitCode::from(2);
        }
        if cli.metrics.wanted()
            && let Err(e) = write_metrics(&cli.metrics, cli.format, series, &mut out)
        {
            say!("error: {e}");
            return ExitCode::from(2);
        }
    }
    let _ = out.flush();
    if cli.stats {
        say!("stats: estimated before the run: {}", Estimate::of(&sc));
        let st = report.outcome.stats;
        let secs = wall.as_secs_f64().max(1e-9);
        say!(
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
            say!(
                "stats: {} {}: cwnd {} ssthresh {} retransmits {} timeouts {}",
                names.endpoint(r.local),
                r.final_state(),
                c.cwnd,
                c.ssthresh,
                c.retransmits,
                c.timeouts
            );
        }
    }
    let code = if report.passed() {
        ExitCode::SUCCESS
    } else {
        for f in report.failures() {
            say!("tcpsim: {f}");
        }
        ExitCode::from(1)
    };
    // The process ends next: freeing a million hosts' names and two million connection
    // records one by one would only hand the memory back to an allocator about to vanish
    // (a tenth of a second at a million hosts). The OS takes it all at once.
    std::mem::forget(report);
    std::mem::forget(names);
    std::mem::forget(sc);
    code
}

/// Writes `--metrics` and the plots, and the latency lines after the summary.
fn write_metrics(
    args: &MetricsArgs,
    format: Format,
    (rows, samples, lat): (
        tcpsim::metrics::Rows,
        Vec<tcpsim::metrics::Sample>,
        tcpsim::metrics::Latencies,
    ),
    out: &mut impl Write,
) -> Result<(), String> {
    use tcpsim::metrics::{plot, write};
    let interval = args.metrics_interval;
    let save = |path: &Path, text: &str| {
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    if let Some(path) = &args.metrics {
        let text = match write::is_json(path) {
            true => write::json_lines(&rows, &samples, interval),
            false => write::csv(&rows, &samples, interval),
        };
        save(path, &text)?;
    }
    let plots = plot::plots(&rows, &samples);
    for (path, (_, svg)) in [&args.plot_states, &args.plot_ports]
        .into_iter()
        .zip(&plots)
    {
        if let Some(path) = path {
            plot::save(path, svg)?;
        }
    }
    if args.metrics.is_some() {
        let _ = match format {
            Format::Text => write!(out, "{}", lat.text()),
            Format::Json => writeln!(out, "{}", lat.json()),
        };
    }
    Ok(())
}

/// `tcpsim kernel FILE`: the scenario on the real kernel, rendered like a simulated run.
fn run_kernel(args: &KernelArgs) -> ExitCode {
    if args.check {
        return match kernel::available() {
            Ok(()) => {
                println!("kernel mode available");
                ExitCode::SUCCESS
            }
            Err(e) => unavailable(&e),
        };
    }
    let file = args
        .file
        .as_deref()
        .expect("clap requires FILE without --check");
    let (sc, src) = match load_with_source(file, None) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let conn = match parse_conn(&args.conn) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let seed = args.seed.or(sc.seed).unwrap_or(0);
    let run = match kernel::run(&sc, &src, seed, args.until) {
        Ok(run) => run,
        Err(e) => return kernel_error(e),
    };
    let names = Names::new(&sc);
    for note in &run.notes {
        eprintln!("tcpsim: {note}");
    }
    eprintln!("tcpsim: {}", kernel::output::wire_text(&run));
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if let Err(e) = render_kernel(args, &sc, &names, &run, conn, &mut out) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let _ = out.flush();
    verdict(&run.report)
}

/// The transcript (or ladder, SVG, pcap), the summary and the table of sockets left.
fn render_kernel(
    args: &KernelArgs,
    sc: &Scenario,
    names: &Names,
    run: &kernel::KernelRun,
    conn: ConnSel,
    out: &mut impl Write,
) -> Result<(), String> {
    let io = |e: std::io::Error| e.to_string();
    if !args.quiet && !args.ladder {
        match args.format {
            Format::Text => (kernel::output::transcript_lines(run, names, false).iter())
                .try_for_each(|l| writeln!(out, "{l}"))
                .map_err(io)?,
            Format::Json => (kernel::output::json_lines(run, names).iter())
                .try_for_each(|v| writeln!(out, "{v}"))
                .map_err(io)?,
        }
    }
    let events = &run.trace.events;
    draw(
        args.ladder,
        args.svg.as_deref(),
        sc,
        names,
        events,
        conn,
        out,
    )?;
    if let Some(path) = &args.pcap {
        let mut w = open_pcap(path, sc)?;
        for (e, p) in events.iter().zip(&run.trace.packets) {
            w.observe_packet(e, p.as_deref()).map_err(io)?;
        }
        close_pcap(w).map_err(io)?;
    }
    match args.format {
        Format::Text => {
            write!(out, "{}", run.report.summary_text(names)).map_err(io)?;
            write!(out, "{}", kernel::output::sockets_text(run, names)).map_err(io)
        }
        Format::Json => {
            for v in run.report.summary_json(names) {
                writeln!(out, "{v}").map_err(io)?;
            }
            writeln!(out, "{}", kernel::output::sockets_json(run, names)).map_err(io)
        }
    }
}

/// `tcpsim diff FILE`: simulated against kernel, segment by segment.
fn run_diff(args: &DiffArgs) -> ExitCode {
    let profile = args.profile.map(Profile::from);
    let (sc, src) = match load_with_source(&args.file, profile) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let seed = args.seed.or(sc.seed).unwrap_or(0);
    let mut sim_events = Vec::new();
    tcpsim::run(&sc, seed, None, &mut |e| sim_events.push(*e));
    let run = match kernel::run(&sc, &src, seed, args.until) {
        Ok(run) => run,
        Err(e) => return kernel_error(e),
    };
    let names = Names::new(&sc);
    let sim = tcpsim::diff::segments(&sim_events, &sc, &names);
    let ker = tcpsim::diff::segments(&run.trace.events, &sc, &names);
    let tol = tcpsim::diff::Tolerance::default();
    let verdict = tcpsim::diff::compare(&sim, &ker, tol);
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!(
        "diff {}: simulated (profile {}, seed {seed}) against the kernel (Linux {})",
        args.file.display(),
        profile_name(sc.profile),
        release.trim()
    );
    print!("{}", tcpsim::diff::report(&sim, &ker, &verdict, tol));
    match verdict {
        tcpsim::diff::Verdict::Agree { .. } => ExitCode::SUCCESS,
        tcpsim::diff::Verdict::Differ { .. } => ExitCode::from(1),
    }
}

fn profile_name(p: Profile) -> &'static str {
    match p {
        Profile::Rfc9293 => "rfc9293",
        Profile::Linux => "linux",
    }
}

fn unavailable(why: &str) -> ExitCode {
    eprintln!("tcpsim: kernel mode unavailable: {why}");
    ExitCode::from(2)
}

fn kernel_error(e: kernel::KernelError) -> ExitCode {
    match e {
        kernel::KernelError::BadInput(e) => eprintln!("{e}"),
        kernel::KernelError::Unavailable(why) => return unavailable(&why),
        kernel::KernelError::Failed(why) => eprintln!("tcpsim: the kernel run failed: {why}"),
    }
    ExitCode::from(2)
}

/// Exit 0 when every expectation held, else 1 with the failures on stderr.
fn verdict(report: &tcpsim::report::Report) -> ExitCode {
    if report.passed() {
        return ExitCode::SUCCESS;
    }
    for f in report.failures() {
        eprintln!("tcpsim: {f}");
    }
    ExitCode::from(1)
}

/// `--conn`: empty means the first connection.
fn parse_conn(text: &str) -> Result<ConnSel, ExitCode> {
    match text {
        "" => Ok(ConnSel::First),
        text => ConnSel::parse(text).map_err(|e| {
            eprintln!("error: --conn: {e}");
            ExitCode::from(2)
        }),
    }
}

/// Reads a scenario and keeps its text (kernel mode points its errors into it).
fn load_with_source(
    path: &Path,
    profile: Option<Profile>,
) -> Result<(Scenario, String), tcpsim::scenario::ScenarioError> {
    let origin = path.display().to_string();
    let src = std::fs::read_to_string(path).map_err(|e| {
        tcpsim::scenario::ScenarioError::whole_file(
            &origin,
            format!("cannot read the scenario file: {e}"),
        )
    })?;
    let sc = tcpsim::scenario::load_str_with(&src, &origin, profile)?;
    Ok((sc, src))
}

/// `--ladder` (to stdout) and `--svg FILE` for any run's events.
fn draw(
    ladder: bool,
    svg_path: Option<&Path>,
    sc: &Scenario,
    names: &Names,
    events: &[Event],
    conn: ConnSel,
    out: &mut impl Write,
) -> Result<(), String> {
    if ladder {
        let text = ladder::text(events, names, conn.clone())?;
        write!(out, "{text}").map_err(|e| e.to_string())?;
    }
    if let Some(path) = svg_path {
        let picture = svg::ladder(events, names, conn, sc)?;
        std::fs::write(path, picture)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// `--ladder` (to stdout) and `--svg FILE`: one connection's sequence diagram.
fn draw_ladders(
    cli: &Cli,
    sc: &Scenario,
    names: &Names,
    events: &[Event],
    conn: ConnSel,
    out: &mut impl Write,
) -> Result<(), String> {
    if cli.ladder {
        let text = ladder::text(events, names, conn.clone())?;
        write!(out, "{text}").map_err(|e| e.to_string())?;
    }
    if let Some(path) = &cli.svg {
        let picture = svg::ladder(events, names, conn, sc)?;
        std::fs::write(path, picture)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// `--html FILE`: the report page, with the metrics plots as its figures.
fn write_html(
    cli: &Cli,
    sc: &Scenario,
    names: &Names,
    events: &[Event],
    (rows, samples, _): &(
        tcpsim::metrics::Rows,
        Vec<tcpsim::metrics::Sample>,
        tcpsim::metrics::Latencies,
    ),
) -> Result<(), String> {
    let Some(path) = &cli.html else {
        return Ok(());
    };
    let figures = tcpsim::metrics::plot::plots(rows, samples);
    let page = tcpsim::trace::html::page(events, names, sc, &figures);
    std::fs::write(path, page).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Creates the `--pcap` file and writes its section and interface headers. The file is
/// written on a thread of its own (it can be larger than the run's work is long).
fn open_pcap(path: &Path, sc: &Scenario) -> Result<PcapWriter<Background<File>>, String> {
    let file =
        File::create(path).map_err(|e| format!("error: cannot create {}: {e}", path.display()))?;
    PcapWriter::new(Background::new(file), sc)
        .map_err(|e| format!("error: cannot write {}: {e}", path.display()))
}

/// A `--pcap` writer on its own thread, with the first error it met.
type PcapState = (PcapWriter<Background<File>>, Option<std::io::Error>);

/// Writes one event into the capture (on the pcap thread); after an error, nothing more.
fn pcap_event((w, error): &mut PcapState, e: &Event) {
    if error.is_none() {
        *error = w.observe(e).err();
    }
}

/// Writes out the rest of a `--pcap` file and waits until every byte is in it.
fn close_pcap(w: PcapWriter<Background<File>>) -> std::io::Result<()> {
    w.finish()?.finish()?.flush()
}

/// `tcpsim sweep`: run (or merge) a seed sweep, print its report, exit 1 if a seed failed.
fn run_sweep(args: &SweepArgs) -> ExitCode {
    // Messages come complete ("error: ..."), as clap's and the scenario loader's do.
    let usage_error = |msg: String| {
        say_raw!("{msg}");
        ExitCode::from(2)
    };
    let (sweep, results, timing) = if args.merge.is_empty() {
        match sweep_run(args) {
            Ok(r) => r,
            Err(msg) => return usage_error(msg),
        }
    } else {
        match sweep_merge(&args.merge) {
            Ok((s, r)) => (s, r, None),
            Err(msg) => return usage_error(msg),
        }
    };
    let out = match args.format {
        Format::Text => sweep::text(&sweep, &results),
        Format::Json => sweep::json(&sweep, &results),
    };
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    // Wall time is a diagnostic: stdout stays the same bytes whatever --jobs and the machine.
    if let Some(tm) = timing.filter(|_| !args.quiet) {
        say_raw!("{}", tm.text(results.len()));
    }
    if results.iter().all(|r| r.passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Loads the scenario once and runs every selected seed; errors are bad input (exit 2).
fn sweep_run(args: &SweepArgs) -> Result<(Sweep, Vec<sweep::SeedResult>, Option<Timing>), String> {
    let (Some(file), Some(seeds)) = (&args.file, args.seeds) else {
        unreachable!("clap requires FILE and --seeds without --merge");
    };
    let sc = set::load(file, args.profile.map(Profile::from), &args.sets)
        .and_then(|sc| {
            limits::check_runnable(&sc)
                .map(|()| sc)
                .map_err(|e| e.to_string())
        })
        .map_err(|e| format!("{e}\n"))?;
    let profile = args
        .profile
        .and_then(|p| p.to_possible_value())
        .map(|v| v.get_name().to_string());
    let sw = Sweep::new(file.display().to_string(), profile, seeds, args.shard);
    let list = sw.seed_list().map_err(|e| format!("error: {e}\n"))?;
    let jobs = match args.jobs {
        Some(j) => j as usize,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
    .min(list.len());
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(list.len() as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{wide_bar} {pos}/{len} seeds, {eta} left")
        {
            bar.set_style(style);
        }
        bar
    });
    let started = Instant::now();
    let results = sweep::run(&sc, &list, jobs, &|| {
        if let Some(b) = &bar {
            b.inc(1);
        }
    })
    .map_err(|e| format!("error: {e}\n"))?;
    let wall_s = started.elapsed().as_secs_f64();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let timing = Timing {
        wall_s,
        seeds_per_s: results.len() as f64 / wall_s.max(1e-9),
        jobs,
    };
    Ok((sw, results, Some(timing)))
}

/// Reads shard documents and merges them; unreadable or mismatched ones are bad input.
fn sweep_merge(paths: &[PathBuf]) -> Result<(Sweep, Vec<sweep::SeedResult>), String> {
    let read = |p: &Path| -> Result<(String, sweep::Document), String> {
        let name = p.display().to_string();
        let text = std::fs::read_to_string(p).map_err(|e| format!("cannot read {name}: {e}"))?;
        let doc = serde_json::from_str(&text)
            .map_err(|e| format!("{name} is not the JSON of `tcpsim sweep --format json`: {e}"))?;
        Ok((name, doc))
    };
    let docs = paths.iter().map(|p| read(p)).collect::<Result<Vec<_>, _>>();
    docs.and_then(sweep::merge)
        .map_err(|e| format!("error: {e}\n"))
}
