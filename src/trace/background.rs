//! A writer whose `write` syscalls happen on a thread of their own.
//!
//! A `--pcap` of a 100 MB transfer is over 100 MB of file: the kernel's copying into the
//! page cache takes as long as the whole simulation. [`Background`] hands full chunks to
//! a thread that writes them in order while the run goes on, so the two overlap on a
//! machine with a second core. The bytes, and their order, are exactly those written.

use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Bytes gathered before a chunk goes to the writing thread.
const CHUNK: usize = 1 << 20;
/// Chunks in flight at most: memory stays bounded when the disk is slower than the run.
const IN_FLIGHT: usize = 4;

/// A [`Write`] that forwards its bytes, in `CHUNK`-sized pieces, to `W` on another thread.
/// [`Background::finish`] waits for every byte to be written and returns `W`; a write
/// error on the thread is reported by the next `write` or `flush`, or by `finish`.
pub struct Background<W: Write + Send + 'static> {
    buf: Vec<u8>,
    chunks: Option<SyncSender<Vec<u8>>>,
    /// Chunks the thread has written, emptied, to be filled again (no fresh pages).
    spent: Receiver<Vec<u8>>,
    thread: Option<JoinHandle<io::Result<W>>>,
}

impl<W: Write + Send + 'static> Background<W> {
    pub fn new(w: W) -> Self {
        let (tx, rx) = sync_channel(IN_FLIGHT);
        let (give_back, spent) = sync_channel(IN_FLIGHT + 1);
        let thread = std::thread::spawn(move || drain(w, rx, give_back));
        Background {
            buf: Vec::with_capacity(CHUNK),
            chunks: Some(tx),
            spent,
            thread: Some(thread),
        }
    }

    /// Sends what is buffered; a closed channel means the thread stopped on an error.
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let next = self
            .spent
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let chunk = std::mem::replace(&mut self.buf, next);
        match &self.chunks {
            Some(tx) if tx.send(chunk).is_ok() => Ok(()),
            _ => Err(self.stop().err().unwrap_or_else(stopped)),
        }
    }

    /// Ends the thread and returns its writer (or its error).
    fn stop(&mut self) -> io::Result<W> {
        self.chunks = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the pcap writing thread panicked")),
            None => Err(stopped()),
        }
    }

    /// Writes out everything, flushes `W` and gives it back.
    pub fn finish(mut self) -> io::Result<W> {
        self.send()?;
        let mut w = self.stop()?;
        w.flush()?;
        Ok(w)
    }
}

fn stopped() -> io::Error {
    io::Error::other("the writing thread stopped after an earlier error")
}

/// The thread: writes each chunk as it comes, until the sender is dropped, and hands the
/// emptied chunk back (dropped instead when nobody takes it).
fn drain<W: Write>(
    mut w: W,
    rx: Receiver<Vec<u8>>,
    give_back: SyncSender<Vec<u8>>,
) -> io::Result<W> {
    for mut chunk in rx {
        w.write_all(&chunk)?;
        chunk.clear();
        let _ = give_back.try_send(chunk);
    }
    Ok(w)
}

impl<W: Write + Send + 'static> Write for Background<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    /// Hands the buffer to the thread (the bytes reach `W` later; see [`Self::finish`]).
    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

impl<W: Write + Send + 'static> Drop for Background<W> {
    /// Unfinished: still write out what was written (as a `BufWriter` would on drop).
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.send();
            let _ = self.stop();
        }
    }
}

/// Items handed, in batches, to `each` on a thread of its own, in order: the `--pcap`
/// encoding (payload bytes, checksums) then runs beside the simulation instead of after
/// each of its segments. [`Offload::finish`] waits for the last item and returns the state.
pub struct Offload<T: Send + 'static, S: Send + 'static> {
    batch: Vec<T>,
    batches: Option<SyncSender<Vec<T>>>,
    thread: Option<JoinHandle<S>>,
}

/// Items gathered before a batch goes to the thread.
const BATCH: usize = 1024;

impl<T: Send + 'static, S: Send + 'static> Offload<T, S> {
    pub fn new(mut state: S, each: fn(&mut S, &T)) -> Self {
        let (tx, rx) = sync_channel::<Vec<T>>(IN_FLIGHT);
        let thread = std::thread::spawn(move || {
            for batch in rx {
                batch.iter().for_each(|item| each(&mut state, item));
            }
            state
        });
        Offload {
            batch: Vec::with_capacity(BATCH),
            batches: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn push(&mut self, item: T) {
        self.batch.push(item);
        if self.batch.len() >= BATCH {
            self.send();
        }
    }

    fn send(&mut self) {
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        if let Some(tx) = &self.batches {
            // Only a panicked thread hangs up; `finish` reports that.
            let _ = tx.send(batch);
        }
    }

    /// Waits until every item is handled; the state, or None if the thread panicked.
    pub fn finish(mut self) -> Option<S> {
        self.send();
        self.batches = None;
        self.thread.take()?.join().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offloaded_items_are_handled_in_order() {
        let mut o = Offload::new(Vec::new(), |seen: &mut Vec<u32>, &i| seen.push(i));
        for i in 0..5000 {
            o.push(i);
        }
        assert_eq!(o.finish().unwrap(), (0..5000).collect::<Vec<_>>());
    }

    #[test]
    fn bytes_arrive_whole_and_in_order() {
        let mut w = Background::new(Vec::new());
        let mut want = Vec::new();
        for i in 0..10_000u32 {
            let piece: Vec<u8> = (0..(i % 700)).map(|j| (i + j) as u8).collect();
            w.write_all(&piece).unwrap();
            want.extend(piece);
        }
        assert!(want.len() > 2 * CHUNK);
        assert_eq!(w.finish().unwrap(), want);
    }

    /// A writer that fails after `left` bytes.
    struct Failing {
        left: usize,
    }

    impl Write for Failing {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            if data.len() > self.left {
                return Err(io::Error::other("disk full"));
            }
            self.left -= data.len();
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_write_error_is_reported() {
        let mut w = Background::new(Failing { left: 10 });
        let mut result = Ok(());
        for _ in 0..10 {
            result = result.and_then(|()| w.write_all(&[0; CHUNK]));
        }
        let end = w.finish();
        assert!(result.is_err() || end.is_err());
        assert!(end.is_err());
    }
}
