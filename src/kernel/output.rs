//! What a kernel run adds to the simulator's renderers: each segment's real TCP options
//! in tcpdump's words (the transcript and JSON show them; a simulated segment only
//! knows its MSS, window scale and timestamps), its real bytes for the pcapng, and the
//! table of sockets left in the namespaces when the run ended, as `ss -tan` shows them.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use super::observe::ss_name;
use super::{End, KernelRun};
use crate::tcp::{Endpoint, State};
use crate::trace::{Event, EventKind, Names, TextRenderer, json as json_trace};

/// Each direction's ISN, from its SYN, to show SACK blocks relative as tcpdump does.
#[derive(Default)]
pub struct Options {
    isn: HashMap<(Endpoint, Endpoint), u32>,
}

impl Options {
    /// tcpdump's option list of the segment event `e` carrying `packet` (None when the
    /// event has no real packet: the renderer then shows what the segment knows).
    pub fn of(&mut self, e: &Event, packet: Option<&[u8]>) -> Option<String> {
        let (EventKind::Segment { seg, .. }, Some(p)) = (e.kind, packet) else {
            return None;
        };
        if seg.flags.contains(crate::tcp::Flags::SYN) {
            self.isn.insert((seg.src, seg.dst), seg.seq.0);
        }
        let base = self.isn.get(&(seg.dst, seg.src)).copied().unwrap_or(0);
        tcp_options(p).map(|opts| describe(opts, base))
    }
}

/// The option bytes of the TCP header of an IPv4 packet.
fn tcp_options(p: &[u8]) -> Option<&[u8]> {
    let ihl = usize::from(p.first()? & 0x0f) * 4;
    let offset = usize::from(p.get(ihl + 12)? >> 4) * 4;
    p.get(ihl + 20..ihl + offset)
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// The list as tcpdump prints it, e.g. "mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7".
fn describe(mut opts: &[u8], sack_base: u32) -> String {
    let mut parts: Vec<String> = Vec::new();
    while let Some(&kind) = opts.first() {
        match kind {
            0 => {
                parts.push("eol".into());
                break;
            }
            1 => {
                parts.push("nop".into());
                opts = &opts[1..];
                continue;
            }
            _ => {}
        }
        let len = usize::from(*opts.get(1).unwrap_or(&0));
        if len < 2 || len > opts.len() {
            parts.push(format!("bad opt {kind}"));
            break;
        }
        let body = &opts[2..len];
        parts.push(match (kind, body.len()) {
            (2, 2) => format!("mss {}", u16::from_be_bytes([body[0], body[1]])),
            (3, 1) => format!("wscale {}", body[0]),
            (4, 0) => "sackOK".into(),
            (5, n) if n % 8 == 0 => {
                let blocks: Vec<String> = (body.chunks(8))
                    .map(|b| {
                        let (l, r) = (be32(&b[..4]), be32(&b[4..]));
                        format!(
                            "{{{}:{}}}",
                            l.wrapping_sub(sack_base),
                            r.wrapping_sub(sack_base)
                        )
                    })
                    .collect();
                format!("sack {} {}", n / 8, blocks.join(""))
            }
            (8, 8) => format!("TS val {} ecr {}", be32(&body[..4]), be32(&body[4..])),
            _ => format!(
                "opt-{kind}:{}",
                body.iter().map(|b| format!("{b:02x}")).collect::<String>()
            ),
        });
        opts = &opts[len..];
    }
    parts.join(",")
}

/// The transcript lines of a kernel run (segment lines with the real options).
pub fn transcript_lines(run: &KernelRun, names: &Names, explain: bool) -> Vec<String> {
    let mut r = TextRenderer::new(names).explained(explain);
    let mut opts = Options::default();
    (run.trace.events.iter().zip(&run.trace.packets))
        .map(|(e, p)| {
            let o = opts.of(e, p.as_deref());
            r.line_with_options(e, o.as_deref())
        })
        .collect()
}

/// The JSON lines of a kernel run's events (segments gain an `options` field).
pub fn json_lines(run: &KernelRun, names: &Names) -> Vec<Value> {
    let mut opts = Options::default();
    (run.trace.events.iter().zip(&run.trace.packets))
        .map(|(e, p)| {
            let mut v = json_trace::event(names, e);
            if let Some(o) = opts.of(e, p.as_deref()) {
                v["options"] = json!(o);
            }
            v
        })
        .collect()
}

/// One socket in `ss -tan` terms: state, queues, ends, and its timer.
fn ss_line(names: &Names, node: u32, s: &super::Sock) -> (String, String, String, String) {
    let peer = if s.state == State::Listen {
        "*".to_string()
    } else {
        names.endpoint(s.remote)
    };
    let timer = match s.timer {
        1 => format!("timer:(on,{})", secs(s.expires_ms)),
        3 => format!("timer:(timewait,{})", secs(s.expires_ms)),
        4 => format!("timer:(persist,{})", secs(s.expires_ms)),
        _ => String::new(),
    };
    let _ = node;
    (
        ss_name(s.state).to_string(),
        names.endpoint(s.local),
        peer,
        timer,
    )
}

fn secs(ms: u32) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

/// Why the run ended, in words.
pub fn end_text(end: End) -> &'static str {
    match end {
        End::Quiet => {
            "the traffic was over (nothing in flight, no retransmission pending, no application step scheduled)"
        }
        End::Time => "the requested time was reached",
        End::Limit => {
            "the 120 s limit was reached with traffic still going (use --until to run longer)"
        }
    }
}

/// The table of sockets left when the run ended, one line per socket.
pub fn sockets_text(run: &KernelRun, names: &Names) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "--- kernel sockets when the run ended, as `ss -tan` shows them ---"
    );
    let _ = writeln!(s, "the run ended because {}", end_text(run.end));
    if run.sockets.is_empty() {
        let _ = writeln!(s, "  (none)");
    }
    let _ = writeln!(
        s,
        "  {:<10} {:<11} {:>6} {:>6}  {:<22} {:<22} timer",
        "host", "State", "Recv-Q", "Send-Q", "Local", "Peer"
    );
    for (node, sock) in &run.sockets {
        let (state, local, peer, timer) = ss_line(names, *node, sock);
        let _ = writeln!(
            s,
            "  {:<10} {state:<11} {:>6} {:>6}  {local:<22} {peer:<22} {timer}",
            names.node(*node),
            sock.recv_q,
            sock.send_q
        );
    }
    s
}

/// The same table as JSON, one object.
pub fn sockets_json(run: &KernelRun, names: &Names) -> Value {
    let list: Vec<Value> = (run.sockets.iter())
        .map(|(node, sock)| {
            let (state, local, peer, timer) = ss_line(names, *node, sock);
            json!({"host": names.node(*node), "state": state, "recv_q": sock.recv_q,
                   "send_q": sock.send_q, "local": local, "peer": peer, "timer": timer})
        })
        .collect();
    json!({"kind": "kernel_sockets", "end": end_text(run.end), "sockets": list})
}

/// The wire's own figures, for stderr: packets, and how late packets were delivered.
pub fn wire_text(run: &KernelRun) -> String {
    let w = &run.wire;
    let mut late = w.lateness.clone();
    late.sort_unstable();
    let pct = |q: f64| -> u64 {
        late.get(((late.len() as f64 - 1.0) * q).round().max(0.0) as usize)
            .copied()
            .unwrap_or(0)
    };
    format!(
        "kernel: {} namespaces; wire read {} packets (largest {} bytes, {} over the MTU, {} not IPv4/TCP), wrote {}; delivery lateness median {} us, p99 {} us, max {} us",
        run.namespaces.len(),
        w.read,
        w.largest,
        w.oversize,
        w.ignored,
        w.written,
        pct(0.5) / 1000,
        pct(0.99) / 1000,
        late.last().copied().unwrap_or(0) / 1000
    )
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn options_read_like_tcpdump() {
        let syn = [
            2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 7, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        assert_eq!(
            describe(&syn, 0),
            "mss 1460,sackOK,TS val 7 ecr 0,nop,wscale 7"
        );
        let sack = [1, 1, 5, 10, 0, 0, 0, 110, 0, 0, 0, 210];
        assert_eq!(describe(&sack, 100), "nop,nop,sack 1 {10:110}");
    }
}
