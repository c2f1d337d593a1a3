//! Replays fuzz inputs through a fuzz target's body on any build, without libFuzzer:
//! `cargo run --example fuzz_replay -- TARGET FILE...` (TARGET: scenario, wire or
//! connection). `TCPSIM_FUZZ_TRACE=1` makes the connection target print every step, to
//! triage a crash that `scripts/fuzz.sh` left in `fuzz/artifacts/`.

fn main() {
    let mut args = std::env::args().skip(1);
    let target = args.next().unwrap_or_default();
    let body: fn(&[u8]) = match target.as_str() {
        "scenario" => tcpsim::fuzzing::scenario,
        "wire" => tcpsim::fuzzing::wire,
        "connection" => tcpsim::fuzzing::connection,
        _ => {
            eprintln!("usage: fuzz_replay scenario|wire|connection FILE...");
            std::process::exit(2);
        }
    };
    for path in args {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        body(&data);
        println!("{path}: ok");
    }
}
