//! The pcapng captures of `trace::pcap` read by an independent dissector, Wireshark's
//! `tshark`: every scenario under `sims/` at seed 42, plus one scenario with a corrupting,
//! duplicating, lossy link (no scenario in `sims/` corrupts segments).
//!
//! For every packet tshark must agree with the events it came from:
//! - nothing is malformed (`_ws.malformed`);
//! - the IPv4 checksum is good, and the TCP checksum (`tcp.checksum.status`, checked with
//!   `-o tcp.check_checksum:TRUE`) is bad exactly on the segments the transcript marks
//!   corrupted;
//! - the TCP flags (`tcp.flags.str`) are ours, packet by packet, in order;
//! - the packet comment is our fate text;
//! - retransmissions agree, packet by packet, as follows.
//!
//! Retransmissions. tshark flags a segment (`tcp.analysis.retransmission`) when it
//! occupies sequence space (data, SYN or FIN) and starts below the highest sequence number
//! already seen in its direction of the connection (packet-tcp.c, "RETRANSMISSION/FAST
//! RETRANSMISSION/OUT-OF-ORDER"). Ours, from the events alone: a segment a *host sent*
//! (the first event of a segment, not a later hop's) whose SEG.LEN > 0 and whose first
//! sequence number is below the highest SEG.SEQ + SEG.LEN its host already sent in that
//! direction of that 4-tuple. Only segments with SEG.LEN > 0 raise that highest number
//! (a RST's sequence number claims no sequence space and may lie anywhere), and a SYN
//! with a new ISN starts a new incarnation and a new count, as tshark starts a new
//! stream. Packet by packet the two must agree, except for these principled exceptions,
//! each confirmed by tshark's own analysis where it has one, counted and printed per
//! scenario:
//! - *Re-observed* (tshark's alone): a packet that is not a host's send — the same
//!   segment again at a later hop because something happened to it there, a segment
//!   reaching a crashed host, or an injected segment — is that sequence space once more
//!   to tshark; it is no retransmission by a TCP.
//! - *Below an injected segment* (tshark's alone): an injected segment claiming the
//!   direction's endpoints (a blind RST 1000 bytes into the window) raises tshark's idea
//!   of the highest sequence number, so the host's next real segments look resent.
//! - *Keep-alive* (ours alone): a host resending one octet just below the highest
//!   sequence number (a re-sent zero-window probe) is what tshark calls a keep-alive
//!   (`tcp.analysis.keep_alive`: SEG.LEN <= 1, seq = highest - 1), not a retransmission.
//! - *Zero-window probe* (ours alone): the octet at SND.UNA sent again and again into a
//!   closed window is what tshark calls a zero-window probe
//!   (`tcp.analysis.zero_window_probe`), and it does not count the probe as sent: so
//!   neither a re-sent probe nor the segment that resumes at the probe's octet once the
//!   window opens (why `ResumeAfterProbe`, after a packet tshark called a probe at that
//!   sequence number) is a retransmission to it.
//! - *Out of order* (ours alone): tshark calls a segment out of order
//!   (`tcp.analysis.out_of_order`) instead of a retransmission when it comes less than
//!   the connection's first round trip (3 ms before that is known) after the highest
//!   one: a guess made for captures taken mid-path. A NewReno retransmission on a
//!   partial ACK can come that soon; we check the same timing.
//!
//! The run's summary must then agree with tshark as a whole: the `retransmits` of every
//! connection, summed, equal the segments hosts sent that tshark calls retransmissions
//! (or out of order, its name for the same thing when it guesses a mid-path capture: a
//! capture taken at the sender sees no network reordering), leaving out the re-observed
//! packets and those below an injected segment. The summary counts neither a zero-window
//! probe nor its re-send, and neither does tshark.
//!
//! The tests need tshark, an outside tool, so they are `#[ignore]`d: a plain `cargo test`
//! lists them as ignored with the reason, never as passed. `.ci/run` installs tshark and
//! runs `cargo test -- --include-ignored`; so can anyone who has it. A test that runs and
//! finds no tshark fails (under `CI=true` or not): a broken install step cannot hide.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use tcpsim::scenario::Scenario;
use tcpsim::tcp::{Endpoint, Flags, Segment, Why};
use tcpsim::trace::pcap::{PcapWriter, fate_text};
use tcpsim::trace::{Cause, Event, EventKind, Fate, Names};

const SEED: u64 = 42;

/// Why the tests are ignored unless asked for.
const NEEDS_TSHARK: &str =
    "needs tshark (apt-get install tshark): cargo test -- --include-ignored, as .ci/run does";

/// How to run tshark here; a test that runs without it fails.
struct Tshark {
    /// `frame.comment`, or `pkt_comment` on versions that name it so.
    comment_field: &'static str,
}

fn tshark() -> Tshark {
    let installed = Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(installed, "tshark is not installed: {NEEDS_TSHARK}");
    let fields = Command::new("tshark")
        .args(["-G", "fields"])
        .output()
        .expect("tshark -G fields runs");
    let fields = String::from_utf8_lossy(&fields.stdout);
    let has = |name: &str| fields.lines().any(|l| l.split('\t').nth(2) == Some(name));
    let comment_field = if has("frame.comment") {
        "frame.comment"
    } else {
        "pkt_comment"
    };
    for f in [
        "tcp.flags.str",
        "tcp.analysis.retransmission",
        "tcp.checksum.status",
        "ip.checksum.status",
    ] {
        assert!(has(f), "this tshark has no field {f}");
    }
    Tshark { comment_field }
}

/// The fields asked of tshark, in order; the comment field is added last.
const FIELDS: [&str; 9] = [
    "frame.number",
    "tcp.flags.str",
    "tcp.analysis.retransmission",
    "_ws.malformed",
    "ip.checksum.status",
    "tcp.checksum.status",
    "tcp.analysis.out_of_order",
    "tcp.analysis.keep_alive",
    "tcp.analysis.zero_window_probe",
];

/// One line of tshark's output.
#[derive(Debug)]
struct Dissected {
    number: u64,
    flags: String,
    retransmission: bool,
    malformed: bool,
    ip_checksum: String,
    tcp_checksum: String,
    out_of_order: bool,
    keep_alive: bool,
    zero_window_probe: bool,
    comment: String,
}

impl Tshark {
    /// `tshark -r FILE -T fields ...` with the TCP and IPv4 checksums checked. Tabs
    /// separate the fields (our comments contain commas). Every TCP payload is decoded as
    /// plain data (`-d tcp.port==1-65535,data`): it is tcpsim's byte pattern, not what
    /// port 80 or 6000 suggests (HTTP, X11), and dissecting it as such calls it malformed.
    fn dissect(&self, file: &Path) -> Vec<Dissected> {
        let mut cmd = Command::new("tshark");
        cmd.arg("-r").arg(file);
        cmd.args([
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "ip.check_checksum:TRUE",
        ]);
        cmd.args(["-d", "tcp.port==1-65535,data"]);
        cmd.args(["-T", "fields", "-E", "separator=/t", "-E", "aggregator=|"]);
        for f in FIELDS.iter().chain([&self.comment_field]) {
            cmd.args(["-e", f]);
        }
        let out = cmd.output().expect("tshark runs");
        assert!(
            out.status.success(),
            "tshark failed on {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("tshark prints UTF-8")
            .lines()
            .map(|line| {
                let f: Vec<&str> = line.split('\t').collect();
                assert_eq!(f.len(), FIELDS.len() + 1, "unexpected tshark line {line:?}");
                Dissected {
                    number: f[0].parse().expect("frame number"),
                    flags: f[1].to_string(),
                    retransmission: !f[2].is_empty(),
                    malformed: !f[3].is_empty(),
                    ip_checksum: f[4].to_string(),
                    tcp_checksum: f[5].to_string(),
                    out_of_order: !f[6].is_empty(),
                    keep_alive: !f[7].is_empty(),
                    zero_window_probe: !f[8].is_empty(),
                    comment: f[9].to_string(),
                }
            })
            .collect()
    }
}

/// tcpsim's short flags from tshark's `tcp.flags.str` ("·······A··S·": one column per
/// bit, a dot where it is clear; the last six are U A P R S F).
fn flags_from_tshark(s: &str) -> Flags {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Flags::NONE;
    for (c, f) in [
        ('U', Flags::URG),
        ('A', Flags::ACK),
        ('P', Flags::PSH),
        ('R', Flags::RST),
        ('S', Flags::SYN),
        ('F', Flags::FIN),
    ] {
        if chars.iter().rev().take(6).any(|&x| x == c) {
            out = out | f;
        }
    }
    out
}

/// A packet as the events describe it.
struct Ours {
    seg: Segment,
    fate: Option<Fate>,
    /// The first event of a segment its host sent (not a later hop, not an injection).
    host_send: bool,
    comment: String,
    /// Our verdict: the TCP retransmitted (see the module documentation).
    retransmission: bool,
    /// One octet resent just below the highest sequence number sent.
    keep_alive_like: bool,
    /// Sent sooner after the direction's highest sequence number than the connection's
    /// first round trip (as seen in the capture; 3 ms before it is known).
    soon_after_highest: bool,
    /// Starts below the end of an injected segment claiming the same direction.
    below_injected: bool,
    t: u64,
}

/// `a` before `b` in sequence space (RFC 9293 §3.4).
fn lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// What we track per direction (src, dst) of a 4-tuple.
#[derive(Default)]
struct Direction {
    /// ISN of the current incarnation (from the host's SYN).
    isn: Option<u32>,
    /// The highest SEG.SEQ + SEG.LEN the host sent, and when.
    highest: Option<(u32, u64)>,
    /// The highest end of an injected segment with these endpoints.
    injected: Option<u32>,
    /// When the host sent its SYN, and the first round trip once its ACK of the
    /// SYN,ACK shows it.
    syn_at: Option<u64>,
    first_rtt: Option<u64>,
}

/// tshark's threshold for "out of order" when the first RTT is unknown.
const OOO_DEFAULT_NS: u64 = 3_000_000;

/// The packets the capture holds, in order, with our retransmission verdicts.
fn ours(sc: &Scenario, events: &[Event]) -> Vec<Ours> {
    let names = Names::new(sc);
    let mut dirs: HashMap<(Endpoint, Endpoint), Direction> = HashMap::new();
    let mut out = Vec::new();
    for e in events {
        let (seg, fate, host_send, comment) = match e.kind {
            EventKind::Segment {
                seg,
                from,
                to,
                fate,
            } => {
                let sender = names.node_of_addr(seg.src.addr) == Some(from);
                let arrival = matches!(fate.dropped, Some(Cause::HostDown(_)));
                let comment = fate_text(&names, from, to, &fate).unwrap_or_default();
                (seg, Some(fate), sender && !arrival, comment)
            }
            EventKind::Inject {
                index,
                seg: Some(seg),
                ..
            } => (
                seg,
                None,
                false,
                format!("injected (inject #{})", index + 1),
            ),
            _ => continue,
        };
        let end = seg.seq.0.wrapping_add(seg.seg_len());
        let first_rtt = dirs
            .get(&(seg.src, seg.dst))
            .and_then(|d| d.first_rtt)
            .or_else(|| dirs.get(&(seg.dst, seg.src)).and_then(|d| d.first_rtt));
        let d = dirs.entry((seg.src, seg.dst)).or_default();
        let mut p = Ours {
            seg,
            fate,
            host_send,
            comment,
            retransmission: false,
            keep_alive_like: false,
            soon_after_highest: false,
            below_injected: d.injected.is_some_and(|i| lt(seg.seq.0, i)),
            t: e.t,
        };
        if fate.is_none() {
            // Injected: a claim on the direction's sequence space, not the host's.
            if d.injected.is_none_or(|i| lt(i, end)) {
                d.injected = Some(end);
            }
        } else if host_send {
            if seg.has(Flags::SYN) && d.isn != Some(seg.seq.0) {
                // A new incarnation of the 4-tuple in this direction: count afresh.
                *d = Direction {
                    isn: Some(seg.seq.0),
                    syn_at: Some(e.t),
                    ..Direction::default()
                };
            }
            if d.first_rtt.is_none() && !seg.has(Flags::SYN) && seg.has(Flags::ACK) {
                d.first_rtt = d.syn_at.map(|s| e.t - s);
            }
            // Only segments that occupy sequence space count: a RST's or a bare ACK's
            // sequence number claims nothing (a RST answering an ACK takes its number
            // from that ACK, RFC 9293 §3.10.7.1, and may lie anywhere).
            match d.highest {
                _ if seg.seg_len() == 0 => {}
                Some((h, at)) => {
                    if lt(seg.seq.0, h) {
                        p.retransmission = true;
                        p.keep_alive_like = seg.seg_len() == 1
                            && !seg.has(Flags::SYN)
                            && !seg.has(Flags::FIN)
                            && seg.seq.0.wrapping_add(1) == h;
                        p.soon_after_highest = e.t - at < first_rtt.unwrap_or(OOO_DEFAULT_NS);
                    }
                    if lt(h, end) {
                        d.highest = Some((end, e.t));
                    }
                }
                None => d.highest = Some((end, e.t)),
            }
        }
        out.push(p);
    }
    out
}

/// What one scenario gave.
#[derive(Debug, Default)]
struct Tally {
    packets: usize,
    /// Packets with a wrong TCP checksum (tshark agreeing).
    corrupted: usize,
    /// Retransmissions: ours, tshark's, and those both flagged.
    ours: usize,
    tshark: usize,
    /// tshark's retransmissions (and what it calls out of order, its guess for mid-path
    /// captures) among the segments hosts sent (not re-observed at a later hop, not below
    /// an injected segment), and the run summary's count: the two must be equal.
    tshark_sent: usize,
    summary: u64,
    agreed: usize,
    /// tshark's alone: a later hop's or crashed host's view of a segment, an injected
    /// one, or a host's segment below what an injected one claimed.
    reobserved: usize,
    below_injected: usize,
    /// Ours alone: tshark calls them a keep-alive, out of order, or a zero-window probe
    /// (the probe itself, or the segment resuming at its octet).
    keep_alive: usize,
    out_of_order: usize,
    zero_window_probe: usize,
}

fn check(tshark: &Tshark, sc: &Scenario, name: &str, dir: &Path) -> Result<Tally, String> {
    let mut pcap = PcapWriter::new(Vec::new(), sc).map_err(|e| e.to_string())?;
    let mut events = Vec::new();
    let mut result = Ok(());
    let report = tcpsim::run(sc, SEED, None, &mut |e| {
        if result.is_ok() {
            result = pcap.observe(e);
        }
        events.push(*e);
    });
    result.map_err(|e| e.to_string())?;
    let bytes = pcap.finish().map_err(|e| e.to_string())?;
    let file = dir.join(format!("{}.pcapng", name.replace('/', "__")));
    std::fs::write(&file, &bytes).map_err(|e| e.to_string())?;

    let ours = ours(sc, &events);
    let theirs = tshark.dissect(&file);
    if ours.len() != theirs.len() {
        return Err(format!(
            "{name}: {} packets in the capture, tshark read {}",
            ours.len(),
            theirs.len()
        ));
    }
    let mut errors = Vec::new();
    let mut tally = Tally {
        packets: ours.len(),
        summary: report
            .outcome
            .conns
            .iter()
            .map(|c| c.stats.retransmits)
            .sum(),
        ..Tally::default()
    };
    // (source, destination, sequence number) of what tshark called zero-window probes.
    let mut probes = HashSet::new();
    for (i, (o, d)) in ours.iter().zip(&theirs).enumerate() {
        let key = (o.seg.src, o.seg.dst, o.seg.seq.0);
        if d.zero_window_probe {
            probes.insert(key);
        }
        let probe_related = match o.seg.why {
            Why::WindowProbe => d.zero_window_probe,
            Why::ResumeAfterProbe => probes.contains(&key),
            _ => false,
        };
        let what = format!(
            "{} frame {} (t={} ns, {} > {} [{}] seq={} len={})",
            file.display(),
            d.number,
            o.t,
            o.seg.src.port,
            o.seg.dst.port,
            o.seg.flags,
            o.seg.seq.0,
            o.seg.len
        );
        if d.number != i as u64 + 1 {
            errors.push(format!("{what}: tshark numbered it {}", d.number));
        }
        if d.malformed {
            errors.push(format!("{what}: malformed"));
        }
        // Checksum status: 0 bad, 1 good, 2 unverified.
        if d.ip_checksum != "1" {
            errors.push(format!("{what}: IPv4 checksum status {:?}", d.ip_checksum));
        }
        let corrupted = o.fate.is_some_and(|f| f.corrupted);
        tally.corrupted += corrupted as usize;
        let expected_status = if corrupted { "0" } else { "1" };
        if d.tcp_checksum != expected_status {
            errors.push(format!(
                "{what}: TCP checksum status {:?}, expected {expected_status} (corrupted: {corrupted})",
                d.tcp_checksum
            ));
        }
        let flags = flags_from_tshark(&d.flags);
        if flags != Flags(o.seg.flags.0 & 0x3f) {
            errors.push(format!("{what}: tshark's flags {:?} = [{flags}]", d.flags));
        }
        if d.comment != o.comment {
            errors.push(format!(
                "{what}: comment {:?}, ours {:?}",
                d.comment, o.comment
            ));
        }
        tally.ours += o.retransmission as usize;
        tally.tshark += d.retransmission as usize;
        // A capture at the sender sees no network reordering: every segment a host sent that
        // tshark calls out of order lies below the highest sequence number, a retransmission.
        let resent = d.retransmission || d.out_of_order;
        tally.tshark_sent += (resent && o.host_send && !o.below_injected) as usize;
        match (o.retransmission, d.retransmission) {
            (true, true) => tally.agreed += 1,
            (false, false) => {}
            (false, true) if !o.host_send => tally.reobserved += 1,
            (false, true) if o.below_injected => tally.below_injected += 1,
            (true, false) if o.keep_alive_like && d.keep_alive => tally.keep_alive += 1,
            (true, false) if o.soon_after_highest && d.out_of_order => tally.out_of_order += 1,
            (true, false) if probe_related => tally.zero_window_probe += 1,
            (true, false) => errors.push(format!(
                "{what}: our retransmission, not tshark's (keep-alive {}, out of order {})",
                d.keep_alive, d.out_of_order
            )),
            (false, true) => errors.push(format!("{what}: tshark's retransmission, not ours")),
        }
    }
    if tally.summary != tally.tshark_sent as u64 {
        errors.push(format!(
            "{name}: the summary counts {} retransmissions, tshark {} among the segments hosts sent ({tally})",
            tally.summary, tally.tshark_sent
        ));
    }
    if errors.is_empty() {
        Ok(tally)
    } else {
        errors.truncate(20);
        Err(errors.join("\n"))
    }
}

fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tcpsim-pcap-{label}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} packets, {} corrupted; retransmissions: ours {}, tshark {}, agreed {}; summary {}, tshark's sent {}",
            self.packets,
            self.corrupted,
            self.ours,
            self.tshark,
            self.agreed,
            self.summary,
            self.tshark_sent
        )?;
        for (n, what) in [
            (self.reobserved, "re-observed"),
            (self.below_injected, "below an injected segment"),
            (self.keep_alive, "keep-alive"),
            (self.out_of_order, "out of order"),
            (self.zero_window_probe, "zero-window probe"),
        ] {
            if n > 0 {
                write!(f, ", {what} {n}")?;
            }
        }
        Ok(())
    }
}

#[test]
#[ignore = "needs tshark (apt-get install tshark): cargo test -- --include-ignored, as .ci/run does"]
fn every_scenario_reads_back_in_tshark() {
    let tshark = tshark();
    let dir = temp_dir("sims");
    let mut failures = Vec::new();
    for path in common::sims() {
        let name = common::sim_name(&path);
        let sc = common::load(&path);
        match check(&tshark, &sc, &name, &dir) {
            Ok(t) if t.packets == 0 => failures.push(format!("{name}: no packet at all")),
            Ok(t) => println!("{name}: {t}"),
            Err(e) => failures.push(e),
        }
    }
    // The captures stay behind for a look when something failed.
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// No scenario in `sims/` corrupts a segment: this one does (and drops, duplicates and
/// reorders), so tshark sees bad TCP checksums exactly where the transcript says
/// "corrupted".
const FAULTY: &str = r#"
    [tcp]
    msl = "1s"

    [[host]]
    name = "client"
    [[host]]
    name = "server"
    [[router]]
    name = "r1"

    [[link]]
    a = "client"
    b = "r1"
    delay = "5ms"
    loss = 0.05
    duplicate = 0.05
    corrupt = 0.1
    reorder = 0.05
    [[link]]
    a = "r1"
    b = "server"
    delay = "5ms"
    corrupt = 0.05

    [[server]]
    host = "server"
    port = 80
    reply = 30000

    [[client]]
    host = "client"
    connect = "server:80"
    actions = ["send 30000", "recv 30000", "close"]
"#;

#[test]
#[ignore = "needs tshark (apt-get install tshark): cargo test -- --include-ignored, as .ci/run does"]
fn corrupted_segments_have_bad_checksums_in_tshark() {
    let tshark = tshark();
    let dir = temp_dir("faulty");
    let sc = tcpsim::scenario::load_str(FAULTY, "faulty.toml").expect("valid scenario");
    let tally = check(&tshark, &sc, "faulty", &dir).unwrap_or_else(|e| panic!("{e}"));
    println!("faulty: {tally}");
    assert!(
        tally.corrupted > 0,
        "the scenario corrupts nothing at seed {SEED}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
