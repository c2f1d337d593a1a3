//! libFuzzer entry point; the body is `tcpsim::fuzzing::connection`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tcpsim::fuzzing::connection(data));
