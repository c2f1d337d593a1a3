//! The per-segment path allocates nothing: a transfer of 8 MB makes no more heap
//! allocations than one of 1 MB (bar a small constant), although it carries ~6,300 more
//! segments. A counting global allocator (this test binary only) wraps the system one.
//!
//! To find a per-segment allocation, run with `TCPSIM_ALLOC_BACKTRACE=K`: the backtraces of
//! five allocations made during the 8 MB run, after the first K, go to stderr. Pick K past
//! the setup (the 1 MB run's count, printed by the test, is a good start):
//!
//! ```sh
//! TCPSIM_ALLOC_BACKTRACE=2000 cargo test --test no_alloc -- --nocapture
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
/// Set while a run whose allocations should be traced is under way.
static TRACING: AtomicBool = AtomicBool::new(false);
/// Allocations to skip before tracing, and how many to trace after that.
static TRACE_SKIP: AtomicU64 = AtomicU64::new(0);
const TRACE_COUNT: u64 = 5;

thread_local! {
    /// Capturing a backtrace allocates: don't count or trace those allocations.
    static IN_TRACE: Cell<bool> = const { Cell::new(false) };
}

fn note_alloc() {
    let n = ALLOCS.fetch_add(1, Relaxed);
    if !TRACING.load(Relaxed) {
        return;
    }
    let skip = TRACE_SKIP.load(Relaxed);
    if n < skip || n >= skip + TRACE_COUNT {
        return;
    }
    IN_TRACE.with(|t| {
        if t.replace(true) {
            return;
        }
        eprintln!(
            "allocation #{n}:\n{}",
            std::backtrace::Backtrace::force_capture()
        );
        t.set(false);
    });
}

fn counted() -> bool {
    !IN_TRACE.with(Cell::get)
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counted() {
            note_alloc();
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if counted() {
            note_alloc();
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counted() {
            note_alloc();
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// One client sends `bytes` to a server over a loss-free 100 Mbps, 5 ms link, NewReno on.
fn transfer(bytes: u64) -> tcpsim::scenario::Scenario {
    let text = format!(
        r#"
        duration = "60s"
        [tcp]
        msl = "1s"
        congestion_control = true
        [[host]]
        name = "client"
        [[host]]
        name = "server"
        [[link]]
        a = "client"
        b = "server"
        delay = "5ms"
        rate = "100Mbps"
        [[server]]
        host = "server"
        port = 80
        [[client]]
        host = "client"
        connect = "server:80"
        actions = ["send {bytes}", "close"]
        [[expect]]
        conn = "server:80"
        delivered = {bytes}
        final = "CLOSED"
        "#
    );
    tcpsim::scenario::load_str(&text, "no_alloc.toml").expect("the scenario loads")
}

/// Runs the transfer with tracing off; returns (allocations during the run, segments
/// carried). With `trace`, the backtraces of allocations `trace..trace + 5` of the run go
/// to stderr.
fn allocations(bytes: u64, trace: Option<u64>) -> (u64, u64) {
    let sc = transfer(bytes);
    let before = ALLOCS.load(Relaxed);
    if let Some(skip) = trace {
        TRACE_SKIP.store(before + skip, Relaxed);
        TRACING.store(true, Relaxed);
    }
    let report = tcpsim::run(&sc, 1, None, &mut |_| {});
    let n = ALLOCS.load(Relaxed) - before;
    TRACING.store(false, Relaxed);
    assert!(report.passed(), "{:?}", report.failures());
    (n, report.outcome.stats.segments)
}

#[test]
fn allocations_do_not_grow_with_segments() {
    let trace = std::env::var("TCPSIM_ALLOC_BACKTRACE")
        .ok()
        .map(|k| k.parse().expect("TCPSIM_ALLOC_BACKTRACE=number"));
    let (small, small_segs) = allocations(1_000_000, None);
    let (large, large_segs) = allocations(8_000_000, trace);
    eprintln!(
        "1 MB: {small} allocations, {small_segs} segments; 8 MB: {large} allocations, {large_segs} segments"
    );
    assert!(
        large_segs - small_segs > 5_000,
        "the runs differ by too few segments"
    );
    assert!(
        large.saturating_sub(small) < 50,
        "8 MB made {} more allocations than 1 MB for {} more segments: something allocates per segment",
        large.saturating_sub(small),
        large_segs - small_segs
    );
}
