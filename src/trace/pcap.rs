//! A run as a pcapng capture, for Wireshark and tshark.
//!
//! [`PcapWriter`] turns the segment events of a run into Enhanced Packet Blocks: Ethernet
//! II frames (fixed MAC addresses derived from node indices) around the real IPv4/TCP
//! bytes of [`crate::wire::encode`], so every capture tool can dissect them, with the
//! virtual time as the timestamp (nanosecond resolution, `if_tsresol` = 9) and what the
//! network did to the segment as the packet comment, in the transcript's words.
//!
//! Each link direction is an interface of its own, named like the transcript names it
//! (`client->server`), in the order of the scenario's links (a->b, then b->a). One more
//! interface, [`UNLINKED`], comes last: it carries segments that are on no link, i.e.
//! injected segments (`[[inject]]`, as they enter the network) and segments dropped at
//! their source for want of a route.
//!
//! What the capture holds is exactly what the event stream holds, no more:
//! - A segment is recorded when a host sends it, on its first link direction, and again
//!   at a later hop (a router's outgoing link, or the destination host being down) only
//!   when something happened to it there. So a segment delivered across several hops
//!   appears once, on its first link, as if captured at the sender.
//! - A segment the network duplicated appears once, with a `duplicated` comment; the
//!   copy is not a packet of its own (nor is a fault's delayed copy, unless something
//!   happens to it later). A delayed segment is stamped with the time it was sent.
//! - A corrupted segment is written as it would arrive: with a wrong TCP checksum.
//! - An injected segment is recorded on [`UNLINKED`] with the comment
//!   `injected (inject #N)`; if its first link then drops, duplicates or delays it, that
//!   is a second packet, on the link.
//!
//! The output depends only on the events: no wall clock, little-endian blocks whatever
//! the machine, so the same run gives the same bytes.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, Write};
use std::time::Duration;

use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::{DataLink, Endianness, PcapError};

use super::text::fate_phrases;
use super::{Event, EventKind, Fate, Names};
use crate::scenario::model::Scenario;
use crate::tcp::Segment;
use crate::wire;

/// The name of the last interface, for segments on no link (injected, or no route).
pub const UNLINKED: &str = "(no link)";

/// Ethernet II header length: destination, source, EtherType.
const ETHERNET_HEADER_LEN: usize = 14;
const ETHERTYPE_IPV4: [u8; 2] = [0x08, 0x00];
/// The largest IPv4 packet (total length is 16 bits).
const MAX_IPV4_LEN: u32 = 65_535;
/// No packet is cut short: every frame fits.
const SNAPLEN: u32 = MAX_IPV4_LEN + ETHERNET_HEADER_LEN as u32;

/// The MAC address of node `i`: locally administered, unicast (`02:00:` + the index,
/// big-endian), so the same scenario always gives the same addresses.
pub fn mac(node: u32) -> [u8; 6] {
    let [a, b, c, d] = node.to_be_bytes();
    [0x02, 0x00, a, b, c, d]
}

/// What the network did to a segment on the link direction `from -> to`, worded as the
/// text transcript words it ("dropped: random loss on client->server"), the parts joined
/// by "; ". None for a segment that simply passed.
pub fn fate_text(names: &Names, from: u32, to: u32, fate: &Fate) -> Option<String> {
    let phrases = fate_phrases(names, from, to, fate);
    (!phrases.is_empty()).then(|| {
        phrases
            .into_iter()
            .map(|(_, p)| p)
            .collect::<Vec<_>>()
            .join("; ")
    })
}

fn io_error(e: PcapError) -> io::Error {
    match e {
        PcapError::IoError(e) => e,
        other => io::Error::other(other),
    }
}

/// Writes a run's segments as pcapng; see the module documentation for what is in it.
///
/// ```
/// # let sc = tcpsim::scenario::load_str(r#"
/// #     [[host]]
/// #     name = "client"
/// #     [[host]]
/// #     name = "server"
/// #     [[link]]
/// #     a = "client"
/// #     b = "server"
/// #     [[server]]
/// #     host = "server"
/// #     port = 80
/// #     [[client]]
/// #     host = "client"
/// #     connect = "server:80"
/// #     actions = ["close"]
/// # "#, "example.toml").unwrap();
/// use tcpsim::trace::pcap::PcapWriter;
///
/// let mut pcap = PcapWriter::new(Vec::new(), &sc)?;
/// let mut result = Ok(());
/// tcpsim::run(&sc, 42, None, &mut |e| {
///     if result.is_ok() {
///         result = pcap.observe(e);
///     }
/// });
/// result?;
/// let bytes: Vec<u8> = pcap.finish()?;
/// assert!(!bytes.is_empty());
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct PcapWriter<W: Write> {
    out: PcapNgWriter<W>,
    names: Names,
    /// Interface of each link direction (from, to).
    dirs: HashMap<(u32, u32), u32>,
    /// Interface for segments on no link.
    unlinked: u32,
    /// Reused frame buffer.
    frame: Vec<u8>,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the Section Header Block and the Interface Description Blocks: one per link
    /// direction of `sc` in link order (a->b, then b->a), then [`UNLINKED`].
    pub fn new(w: W, sc: &Scenario) -> io::Result<Self> {
        let section = SectionHeaderBlock {
            endianness: Endianness::Little,
            options: vec![SectionHeaderOption::UserApplication(Cow::Borrowed(
                concat!("tcpsim ", env!("CARGO_PKG_VERSION")),
            ))],
            ..SectionHeaderBlock::default()
        };
        let mut out = PcapNgWriter::with_section_header(w, section).map_err(io_error)?;
        let names = Names::new(sc);
        let mut dirs = HashMap::new();
        let mut ifaces: Vec<String> = Vec::new();
        for link in &sc.links {
            let (a, b) = (link.a as u32, link.b as u32);
            for (from, to) in [(a, b), (b, a)] {
                dirs.entry((from, to)).or_insert(ifaces.len() as u32);
                ifaces.push(names.link(from, to));
            }
        }
        let unlinked = ifaces.len() as u32;
        ifaces.push(UNLINKED.to_string());
        for name in ifaces {
            let description = if name == UNLINKED {
                "tcpsim: segments on no link (injected, or no route)".to_string()
            } else {
                format!("tcpsim link direction {name}")
            };
            let idb = InterfaceDescriptionBlock {
                linktype: DataLink::ETHERNET,
                snaplen: SNAPLEN,
                options: vec![
                    InterfaceDescriptionOption::IfName(Cow::Owned(name)),
                    InterfaceDescriptionOption::IfDescription(Cow::Owned(description)),
                    InterfaceDescriptionOption::IfTsResol(9),
                ],
            };
            out.write_pcapng_block(idb).map_err(io_error)?;
        }
        Ok(PcapWriter {
            out,
            names,
            dirs,
            unlinked,
            frame: Vec::new(),
        })
    }

    /// Writes one packet for a segment event or an injected segment; ignores every other
    /// event.
    pub fn observe(&mut self, e: &Event) -> io::Result<()> {
        self.observe_packet(e, None)
    }

    /// [`Self::observe`], writing `packet` (the IPv4 packet as it was really sent, from a
    /// `tcpsim kernel` run) instead of encoding the segment, so every option and payload
    /// byte is the real one. A corrupted segment still gets a wrong TCP checksum.
    pub fn observe_packet(&mut self, e: &Event, packet: Option<&[u8]>) -> io::Result<()> {
        match e.kind {
            EventKind::Segment {
                seg,
                from,
                to,
                fate,
            } => {
                let iface = match self.dirs.get(&(from, to)) {
                    Some(&i) if from != to => i,
                    _ => self.unlinked,
                };
                let comment = fate_text(&self.names, from, to, &fate);
                let bytes = Bytes {
                    seg: &seg,
                    packet,
                    corrupt: fate.corrupted,
                };
                self.packet(e.t, iface, bytes, (from, to), comment)
            }
            EventKind::Inject {
                index,
                seg: Some(seg),
                from,
            } => {
                let to = self.names.node_of_addr(seg.dst.addr).unwrap_or(from);
                let comment = format!("injected (inject #{})", u64::from(index) + 1);
                let bytes = Bytes {
                    seg: &seg,
                    packet,
                    corrupt: false,
                };
                self.packet(e.t, self.unlinked, bytes, (from, to), Some(comment))
            }
            _ => Ok(()),
        }
    }

    /// Flushes and gives back the writer.
    pub fn finish(self) -> io::Result<W> {
        let mut w = self.out.into_inner();
        w.flush()?;
        Ok(w)
    }

    fn packet(
        &mut self,
        t: u64,
        interface_id: u32,
        bytes: Bytes,
        (from, to): (u32, u32),
        comment: Option<String>,
    ) -> io::Result<()> {
        self.frame.clear();
        self.frame.extend(mac(to));
        self.frame.extend(mac(from));
        self.frame.extend(ETHERTYPE_IPV4);
        let comment = match bytes.packet {
            Some(p) => {
                let start = self.frame.len();
                self.frame.extend(p);
                if bytes.corrupt {
                    spoil_tcp_checksum(&mut self.frame[start..]);
                }
                comment
            }
            None => self.encode(bytes.seg, bytes.corrupt, comment),
        };
        let epb = EnhancedPacketBlock {
            interface_id,
            timestamp: Duration::from_nanos(t),
            original_len: self.frame.len() as u32,
            data: Cow::Borrowed(&self.frame),
            options: comment
                .map(|c| EnhancedPacketOption::Comment(Cow::Owned(c)))
                .into_iter()
                .collect(),
        };
        self.out.write_pcapng_block(epb).map_err(io_error)?;
        Ok(())
    }

    /// Encodes a simulated segment into the frame; returns the comment, extended when
    /// the payload had to be cut.
    fn encode(&mut self, seg: &Segment, corrupt: bool, comment: Option<String>) -> Option<String> {
        let mut comment = comment;
        let mut seg = *seg;
        // Never larger than an IPv4 packet (`wire::encode` would refuse): only a
        // hand-written inject can ask for that much payload.
        if seg.wire_len() > MAX_IPV4_LEN {
            let headers = seg.wire_len() - seg.len;
            let original = seg.len;
            seg.len = MAX_IPV4_LEN - headers;
            let note = format!("payload cut from {original} to {} bytes", seg.len);
            comment = Some(match comment {
                Some(c) => format!("{c}; {note}"),
                None => note,
            });
        }
        wire::encode(&seg, corrupt, &mut self.frame);
        comment
    }
}

/// What a packet is made from: the segment, or the real bytes when there are any.
struct Bytes<'a> {
    seg: &'a Segment,
    packet: Option<&'a [u8]>,
    corrupt: bool,
}

/// Flips bits of the TCP checksum of an IPv4 packet (as `wire::encode` does for a
/// corrupted segment).
fn spoil_tcp_checksum(packet: &mut [u8]) {
    let ihl = usize::from(packet.first().map_or(5, |b| b & 0x0f)) * 4;
    if let Some(sum) = packet.get_mut(ihl + 16..ihl + 18) {
        sum[0] ^= 0x55;
        sum[1] ^= 0x55;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_str;
    use pcap_file::pcapng::{Block, PcapNgReader};

    /// A lossy, duplicating, corrupting link, a targeted drop and an injected RST.
    const SCENARIO: &str = r#"
        [tcp]
        msl = "1s"

        [[host]]
        name = "client"
        addr = "10.0.0.1"
        [[host]]
        name = "server"
        addr = "10.0.0.2"
        [[host]]
        name = "attacker"
        addr = "10.0.0.66"
        [[router]]
        name = "r1"

        [[link]]
        a = "client"
        b = "r1"
        delay = "5ms"
        loss = 0.1
        duplicate = 0.1
        corrupt = 0.1
        [[link]]
        a = "r1"
        b = "server"
        delay = "5ms"
        [[link]]
        a = "attacker"
        b = "r1"
        delay = "5ms"

        [[server]]
        host = "server"
        port = 80
        reply = 20000

        [[client]]
        host = "client"
        connect = "server:80"
        actions = ["send 20000", "recv 20000", "close"]

        [[fault]]
        name = "drop-first-data"
        action = "drop"
        from = "client"
        payload = true
        nth = 1

        [[inject]]
        at = "10s"
        from = "attacker"
        src = "client:49152"
        dst = "server:80"
        flags = "RST"
        seq = 12345
    "#;

    struct Packet {
        interface: u32,
        t: u64,
        data: Vec<u8>,
        comment: Option<String>,
    }

    fn capture(seed: u64) -> (Vec<Event>, Vec<u8>) {
        let sc = load_str(SCENARIO, "pcap_test.toml").unwrap();
        let mut pcap = PcapWriter::new(Vec::new(), &sc).unwrap();
        let mut events = Vec::new();
        tcpsim_run(&sc, seed, &mut |e| {
            pcap.observe(e).unwrap();
            events.push(*e);
        });
        (events, pcap.finish().unwrap())
    }

    fn tcpsim_run(sc: &Scenario, seed: u64, sink: &mut dyn FnMut(&Event)) {
        crate::run(sc, seed, None, sink);
    }

    fn read(bytes: &[u8]) -> (Vec<String>, Vec<u8>, Vec<Packet>) {
        let mut reader = PcapNgReader::new(bytes).unwrap();
        let mut names = Vec::new();
        let mut resol = Vec::new();
        let mut packets = Vec::new();
        while let Some(block) = reader.next_block() {
            match block.unwrap() {
                Block::InterfaceDescription(idb) => {
                    assert_eq!(idb.linktype, DataLink::ETHERNET);
                    for o in &idb.options {
                        match o {
                            InterfaceDescriptionOption::IfName(n) => names.push(n.to_string()),
                            InterfaceDescriptionOption::IfTsResol(r) => resol.push(*r),
                            _ => {}
                        }
                    }
                }
                Block::EnhancedPacket(epb) => packets.push(Packet {
                    interface: epb.interface_id,
                    t: epb.timestamp.as_nanos() as u64,
                    data: epb.data.to_vec(),
                    comment: epb.options.iter().find_map(|o| match o {
                        EnhancedPacketOption::Comment(c) => Some(c.to_string()),
                        _ => None,
                    }),
                }),
                _ => {}
            }
        }
        (names, resol, packets)
    }

    /// The packets the events should give, in order: (time, fate, injected).
    fn segment_events(events: &[Event]) -> Vec<(u64, Option<Fate>)> {
        events
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::Segment { fate, .. } => Some((e.t, Some(fate))),
                EventKind::Inject { seg: Some(_), .. } => Some((e.t, None)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn parses_back_with_interfaces_packets_times_and_comments() {
        let (events, bytes) = capture(42);
        let (names, resol, packets) = read(&bytes);
        assert_eq!(
            names,
            [
                "client->r1",
                "r1->client",
                "r1->server",
                "server->r1",
                "attacker->r1",
                "r1->attacker",
                UNLINKED
            ]
        );
        assert_eq!(resol, [9; 7]);

        let expected = segment_events(&events);
        assert_eq!(packets.len(), expected.len());
        let (mut dropped, mut duplicated, mut corrupted, mut injected) = (0, 0, 0, 0);
        for (p, (t, fate)) in packets.iter().zip(&expected) {
            assert_eq!(p.t, *t, "timestamp is the event's virtual time");
            assert_eq!(&p.data[12..14], &ETHERTYPE_IPV4);
            let decoded = wire::decode(&p.data[ETHERNET_HEADER_LEN..]);
            let comment = p.comment.as_deref().unwrap_or("");
            match fate {
                None => {
                    injected += 1;
                    assert_eq!(comment, "injected (inject #1)");
                    assert_eq!(p.interface, 6);
                    assert!(decoded.is_ok());
                }
                Some(f) if f.is_pass() => {
                    assert_eq!(p.comment, None);
                    assert!(decoded.is_ok());
                }
                Some(f) => {
                    if f.dropped.is_some() {
                        dropped += 1;
                        assert!(comment.contains("dropped: "), "{comment}");
                    }
                    if f.duplicated.is_some() {
                        duplicated += 1;
                        assert!(comment.contains("duplicated: "), "{comment}");
                    }
                    if f.corrupted {
                        corrupted += 1;
                        assert!(comment.contains("corrupted on "), "{comment}");
                        assert_eq!(decoded.unwrap_err(), wire::WireError::BadTcpChecksum);
                    } else {
                        assert!(decoded.is_ok());
                    }
                }
            }
        }
        assert!(dropped > 0 && duplicated > 0 && corrupted > 0 && injected == 1);
        assert!(
            packets
                .iter()
                .any(|p| p.comment.as_deref() == Some("dropped: drop-first-data"))
        );
    }

    #[test]
    fn same_run_same_bytes() {
        assert_eq!(capture(7).1, capture(7).1);
        assert_ne!(capture(7).1, capture(8).1);
    }

    #[test]
    fn frames_carry_node_macs() {
        let (_, bytes) = capture(42);
        let (_, _, packets) = read(&bytes);
        // The first packet is the client's SYN on client->r1: client is node 0, r1 node 3.
        let first = &packets[0];
        assert_eq!(first.interface, 0);
        assert_eq!(first.data[0..6], mac(3));
        assert_eq!(first.data[6..12], mac(0));
    }
}
