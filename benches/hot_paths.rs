//! Criterion benchmarks of the simulator's hot paths: the event queue (the timing wheel
//! against the binary heap it replaced), one segment through a link direction and into an
//! established connection, the 4-tuple lookup, and a whole small run. `cargo bench` runs
//! them all in about two minutes; `scripts/bench.sh` times the large scenarios end to end.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use tcpsim::net::LinkDir;
use tcpsim::scenario::model::LinkParams;
use tcpsim::sim::{HeapScheduler, Scheduler};
use tcpsim::tcp::{Config, ConnEvent, Connection, Endpoint, Flags, Segment, Seq, State, Tag};

const MS: u64 = 1_000_000;

/// A small xorshift generator: deterministic delays without touching the simulator's RNGs.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// What the hold-model bench needs of a queue, so the wheel and the heap it replaced run
/// the same loop.
trait Queue<E>: Default {
    fn push(&mut self, time: u64, event: E);
    fn pop(&mut self) -> Option<(u64, E)>;
}

impl<E> Queue<E> for Scheduler<E> {
    fn push(&mut self, time: u64, event: E) {
        Scheduler::push(self, time, event)
    }
    fn pop(&mut self) -> Option<(u64, E)> {
        Scheduler::pop(self)
    }
}

impl<E> Queue<E> for HeapScheduler<E> {
    fn push(&mut self, time: u64, event: E) {
        HeapScheduler::push(self, time, event)
    }
    fn pop(&mut self) -> Option<(u64, E)> {
        HeapScheduler::pop(self)
    }
}

/// The hold model: a queue of `size` pending events (a segment in flight each, as the run
/// loop's arrivals carry); every iteration pops the earliest and schedules one 0–10 ms later.
/// `wheel` is the run loop's queue, `heap` the binary heap it replaced.
fn event_queue(c: &mut Criterion) {
    let mut g = c.benchmark_group("event_queue");
    g.throughput(Throughput::Elements(1));
    for size in [1_000u64, 100_000, 10_000_000] {
        hold::<Scheduler<_>>(&mut g, "wheel", size);
        hold::<HeapScheduler<_>>(&mut g, "heap", size);
    }
    g.finish();
}

type Event = (u32, u32, Segment);

fn hold<Q: Queue<Event>>(g: &mut BenchmarkGroup<'_, WallTime>, name: &str, size: u64) {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut q = Q::default();
    for i in 0..size {
        q.push(rng.next() % (10 * MS), (i as u32, 0u32, Segment::default()));
    }
    g.bench_function(BenchmarkId::new(name, size), |b| {
        b.iter(|| {
            let (t, ev) = q.pop().expect("the queue never empties");
            q.push(t + rng.next() % (10 * MS), black_box(ev));
        })
    });
}

/// A client and a server connection after the 3-way handshake, both ESTABLISHED.
fn established_pair(cfg: &Config) -> (Connection, Connection) {
    let client = Endpoint {
        addr: 0x0a00_0002,
        port: 49152,
    };
    let server = Endpoint {
        addr: 0x0a00_0001,
        port: 80,
    };
    let mut out = Vec::new();
    let mut c = Connection::connect(0, client, server, Seq(1000), cfg, 1);
    c.drain_transmit(&mut out);
    let syn = out.pop().expect("SYN");
    let mut s = Connection::accept(MS, &syn, Seq(5000), cfg, 2);
    s.drain_transmit(&mut out);
    let syn_ack = out.pop().expect("SYN,ACK");
    c.handle_segment(2 * MS, &syn_ack);
    c.drain_transmit(&mut out);
    let ack = out.pop().expect("ACK");
    s.handle_segment(3 * MS, &ack);
    assert_eq!(
        (c.state(), s.state()),
        (State::Established, State::Established)
    );
    (c, s)
}

/// Feeds in-order full-sized segments to an established receiver and drains what it says
/// (ACKs, data events) into reused vectors, as the run loop does.
struct Receiver {
    conn: Connection,
    next: Segment,
    delivered: u64,
    segs: Vec<Segment>,
    events: Vec<ConnEvent>,
}

impl Receiver {
    fn new() -> Self {
        let cfg = Config::default();
        let (client, server) = established_pair(&cfg);
        let next = Segment {
            src: client.local,
            dst: client.remote,
            seq: server.rcv_nxt(),
            ack: server.snd_nxt(),
            flags: Flags::ACK,
            wnd: 65535,
            len: cfg.mss as u32,
            tag: Tag::new(1, 0),
            ..Segment::default()
        };
        Receiver {
            conn: server,
            next,
            delivered: 0,
            segs: Vec::with_capacity(16),
            events: Vec::with_capacity(16),
        }
    }

    fn receive(&mut self, now: u64) {
        self.conn.handle_segment(now, &self.next);
        self.conn.drain_transmit(&mut self.segs);
        self.conn.drain_events(&mut self.events);
        self.delivered += self.conn.read(now, u64::MAX);
        self.segs.clear();
        self.events.clear();
        let len = self.next.len;
        self.next.seq = self.next.seq + len;
        self.next.tag = self.next.tag.advance(len as u64);
    }
}

fn link_params() -> LinkParams {
    LinkParams {
        delay: 10 * MS,
        rate_bps: Some(100_000_000),
        queue: 100,
        reorder_delay: 10 * MS,
        ..LinkParams::default()
    }
}

/// One data segment: through a 100 Mbps link direction, into an established connection,
/// and both steps alone. Virtual time advances by one serialization time per segment so
/// the link's queue stays short, as in a steady transfer.
fn segment_path(c: &mut Criterion) {
    let mut g = c.benchmark_group("segment");
    g.throughput(Throughput::Elements(1));
    let step = 120_000; // 1500 bytes at 100 Mbps, in ns
    let wire_len = 1500;

    let mut link = LinkDir::new(1, std::sync::Arc::new(link_params()), || {
        tcpsim::rng::stream(1, "bench")
    });
    let mut now = 0;
    g.bench_function("link_pass", |b| {
        b.iter(|| {
            now += step;
            black_box(link.pass(now, black_box(wire_len)))
        })
    });

    let mut rx = Receiver::new();
    let mut now = 10 * MS;
    g.bench_function("handle_segment", |b| {
        b.iter(|| {
            now += step;
            rx.receive(now);
        })
    });
    assert!(rx.delivered > 0);

    let mut link = LinkDir::new(1, std::sync::Arc::new(link_params()), || {
        tcpsim::rng::stream(2, "bench")
    });
    let mut rx = Receiver::new();
    let mut now = 10 * MS;
    g.bench_function("link_pass_and_handle_segment", |b| {
        b.iter(|| {
            now += step;
            let passage = link.pass(now, wire_len);
            let at = passage.arrivals[0].expect("a lossless link delivers");
            rx.receive(at);
        })
    });
    g.finish();
}

/// The run loop's connection lookup: a HashMap keyed by (local, remote) endpoints, as a
/// server with `n` clients holds it, probed in a scattered order.
fn conn_lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("conn_lookup");
    g.throughput(Throughput::Elements(1));
    let server = Endpoint {
        addr: 0x0a00_0001,
        port: 80,
    };
    for n in [10_000u32, 100_000] {
        let keys: Vec<(Endpoint, Endpoint)> = (0..n)
            .map(|i| {
                let client = Endpoint {
                    addr: 0x0a01_0000 + i,
                    port: 49152,
                };
                (server, client)
            })
            .collect();
        let table: HashMap<(Endpoint, Endpoint), u32> = keys.iter().copied().zip(0..).collect();
        let mut i = 0usize;
        g.bench_function(BenchmarkId::new("get", n), |b| {
            b.iter(|| {
                i = (i + 7919) % keys.len();
                black_box(table.get(black_box(&keys[i])))
            })
        });
    }
    g.finish();
}

/// A whole run of `sims/handshake.toml` (handshake, request, reply, teardown, TIME_WAIT)
/// with the trace going nowhere.
fn whole_run(c: &mut Criterion) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/sims/handshake.toml");
    let sc = tcpsim::scenario::load_file(path.as_ref()).expect("sims/handshake.toml loads");
    c.bench_function("run/handshake", |b| {
        b.iter(|| black_box(tcpsim::run(&sc, 42, None, &mut |_| {})))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = event_queue, segment_path, conn_lookup, whole_run
}
criterion_main!(benches);
