//! IPv4/TCP wire format for [`Segment`]s, so tcpsim's TCP can talk to a real stack.
//!
//! Written from RFC 791 §3.1 (IPv4 header), RFC 9293 §3.1 (TCP header, pseudo-header
//! checksum), RFC 9293 §3.2 (MSS option) and RFC 7323 §2.2 and §3.2 (window scale and
//! timestamps options). A segment carries no payload bytes, only a [`Tag`]; the bytes put
//! on the wire are [`payload_byte`] of each byte's tag, so a receiver can tell which
//! stream and offset every byte it got came from.

use std::fmt;

use crate::tcp::{Endpoint, Flags, SackBlocks, Segment, Seq, Tag};

mod payload;

/// IPv4 header without options (RFC 791 IHL = 5).
pub const IPV4_HEADER_LEN: usize = 20;
/// TCP header without options (RFC 9293 data offset = 5).
pub const TCP_HEADER_LEN: usize = 20;
const PROTO_TCP: u8 = 6;
const TTL: u8 = 64;

const OPT_EOL: u8 = 0;
const OPT_NOP: u8 = 1;
const OPT_MSS: u8 = 2;
const OPT_WSCALE: u8 = 3;
const OPT_SACK_OK: u8 = 4;
const OPT_SACK: u8 = 5;
const OPT_TS: u8 = 8;

/// The multipliers of [`payload_byte`] (shared with the bulk generator in `payload.rs`).
const K1: u64 = 0xff51_afd7_ed55_8ccd;
const K2: u64 = 0xc4ce_b9fe_1a85_ec53;

/// The byte at the position `tag` names: a small multiplicative hash (the 64-bit
/// finalizer of MurmurHash3) of the whole tag, i.e. of stream and offset together, keeping
/// its top byte. Neighbouring offsets, and the same offset of another stream, give
/// unrelated bytes, so a byte delivered one place too early or late, or from the wrong
/// stream, differs from what is expected with probability 255/256 — a misplaced run of a
/// few bytes is caught almost surely.
pub fn payload_byte(tag: Tag) -> u8 {
    let mut x = tag.0;
    x ^= x >> 33;
    x = x.wrapping_mul(K1);
    x ^= x >> 33;
    x = x.wrapping_mul(K2);
    x ^= x >> 33;
    (x >> 56) as u8
}

/// Appends the payload bytes of `len` bytes starting at `tag` to `out`.
pub fn fill_payload(tag: Tag, len: u32, out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + len as usize, 0);
    payload::fill(tag, &mut out[start..]);
}

/// [`fill_payload`], returning the unfolded one's complement sum of the bytes as
/// big-endian 16-bit words (what [`sum_words`] would give, up to folding): the bytes come
/// from the bulk generator, then one pass over them, still in cache, sums them.
fn fill_payload_summed(tag: Tag, len: u32, out: &mut Vec<u8>) -> u64 {
    let start = out.len();
    fill_payload(tag, len, out);
    payload::sum(&out[start..])
}

/// Why a packet could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// Shorter than its headers or than the IPv4 total length says.
    Truncated,
    /// IP version is not 4.
    NotIpv4,
    /// IHL below 5 or beyond the packet.
    BadIhl,
    /// Total length smaller than the headers.
    BadTotalLength,
    /// A fragment (MF set or a fragment offset): reassembly is not supported.
    Fragment,
    /// Protocol is not TCP (6).
    NotTcp,
    /// The IPv4 header checksum does not verify (RFC 791 §3.1).
    BadIpChecksum,
    /// TCP data offset below 5 or beyond the segment (RFC 9293 §3.1).
    BadDataOffset,
    /// The TCP checksum over pseudo-header, header and data does not verify.
    BadTcpChecksum,
    /// An option with a length below 2, past the header, or a known option with the
    /// wrong length (RFC 9293 §3.1 "Options", RFC 7323 §2.2, §3.2).
    BadOption,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl std::error::Error for WireError {}

/// A decoded packet: the segment's header fields (its `tag` left default: the receiver
/// names the bytes) and the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded<'a> {
    pub seg: Segment,
    pub payload: &'a [u8],
}

/// One's complement sum of `data` as big-endian 16-bit words (odd length: zero pad),
/// added to `acc` without folding (a u64 cannot overflow for any IPv4 packet). A plain
/// indexed loop: it is the hot spot of the interop tests, which run unoptimized.
fn sum_words(mut acc: u64, data: &[u8]) -> u64 {
    let mut i = 0;
    while i + 1 < data.len() {
        acc += ((data[i] as u64) << 8) | data[i + 1] as u64;
        i += 2;
    }
    if i < data.len() {
        acc += (data[i] as u64) << 8;
    }
    acc
}

/// Folds carries back in (RFC 1071) and returns the 16-bit one's complement sum.
fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Sum of the TCP pseudo-header (RFC 9293 §3.1): source, destination, zero, PTCL, TCP length.
fn pseudo_header_sum(src: u32, dst: u32, tcp_len: usize) -> u64 {
    let mut acc = 0;
    acc = sum_words(acc, &src.to_be_bytes());
    acc = sum_words(acc, &dst.to_be_bytes());
    acc + PROTO_TCP as u64 + tcp_len as u64
}

/// TCP options of `seg` in the order and layout Linux writes them (`tcp_options_write`),
/// each padded with NOPs to 4 bytes so the total matches [`Segment::wire_len`]: MSS (4);
/// sackOK + timestamps (2 + 10) or NOP NOP + timestamps; NOP NOP + sackOK without
/// timestamps; NOP + window scale (1 + 3); NOP NOP + SACK blocks (2 + 2 + 8 each). The
/// timestamps land 4-byte aligned, as RFC 7323 Appendix A recommends.
fn write_options(seg: &Segment, out: &mut Vec<u8>) {
    if let Some(mss) = seg.mss {
        out.extend([OPT_MSS, 4]);
        out.extend(mss.to_be_bytes());
    }
    if let Some((tsval, tsecr)) = seg.ts {
        if seg.sack_ok {
            out.extend([OPT_SACK_OK, 2, OPT_TS, 10]);
        } else {
            out.extend([OPT_NOP, OPT_NOP, OPT_TS, 10]);
        }
        out.extend(tsval.to_be_bytes());
        out.extend(tsecr.to_be_bytes());
    } else if seg.sack_ok {
        out.extend([OPT_NOP, OPT_NOP, OPT_SACK_OK, 2]);
    }
    if let Some(shift) = seg.wscale {
        out.extend([OPT_NOP, OPT_WSCALE, 3, shift]);
    }
    if !seg.sack.is_empty() {
        out.extend([OPT_NOP, OPT_NOP, OPT_SACK, 2 + 8 * seg.sack.len() as u8]);
        for (l, r) in seg.sack.iter() {
            out.extend(l.0.to_be_bytes());
            out.extend(r.0.to_be_bytes());
        }
    }
}

/// Appends `seg` as an IPv4 packet (20-byte header, TTL 64, DF, protocol 6) carrying a
/// TCP header with its options and `seg.len` payload bytes made by [`payload_byte`].
/// `corrupt`: the TCP checksum is deliberately wrong (as a bit error on the link would
/// leave it), so the receiver must drop the packet.
pub fn encode(seg: &Segment, corrupt: bool, out: &mut Vec<u8>) {
    let start = out.len();
    // Header and options, without the payload; the options are written into `out` below.
    let opts_len = seg.wire_len() as usize - IPV4_HEADER_LEN - TCP_HEADER_LEN - seg.len as usize;
    debug_assert!(opts_len.is_multiple_of(4) && opts_len <= 40);
    let tcp_len = TCP_HEADER_LEN + opts_len + seg.len as usize;
    let total = IPV4_HEADER_LEN + tcp_len;
    let total16 = u16::try_from(total).expect("segment larger than an IPv4 packet");

    // IPv4 header (RFC 791 §3.1).
    out.extend([0x45, 0]); // version 4, IHL 5; TOS 0
    out.extend(total16.to_be_bytes());
    out.extend([0, 0, 0x40, 0]); // identification 0; DF, fragment offset 0
    out.extend([TTL, PROTO_TCP, 0, 0]); // checksum filled below
    out.extend(seg.src.addr.to_be_bytes());
    out.extend(seg.dst.addr.to_be_bytes());
    let ip_sum = !fold(sum_words(0, &out[start..start + IPV4_HEADER_LEN]));
    out[start + 10..start + 12].copy_from_slice(&ip_sum.to_be_bytes());

    // TCP header (RFC 9293 §3.1).
    let tcp = out.len();
    out.extend(seg.src.port.to_be_bytes());
    out.extend(seg.dst.port.to_be_bytes());
    out.extend(seg.seq.0.to_be_bytes());
    out.extend(seg.ack.0.to_be_bytes());
    let data_offset = ((TCP_HEADER_LEN + opts_len) / 4) as u8;
    out.extend([data_offset << 4, seg.flags.0 & 0x3f]);
    out.extend(seg.wnd.to_be_bytes());
    out.extend([0, 0, 0, 0]); // checksum filled below; urgent pointer 0
    write_options(seg, out);
    debug_assert_eq!(out.len() - tcp, TCP_HEADER_LEN + opts_len);

    // The header is a whole number of 32-bit words, so the payload's 16-bit words line
    // up with the segment's and the two sums simply add (RFC 1071 §2(B)).
    let header = sum_words(
        pseudo_header_sum(seg.src.addr, seg.dst.addr, tcp_len),
        &out[tcp..],
    );
    let acc = header + fill_payload_summed(seg.tag, seg.len, out);
    let mut sum = !fold(acc);
    if corrupt {
        // Never equivalent to the right value: 0x0000 and 0xffff are the only pair that
        // verify alike, and no XOR with 0x5555 maps one to the other.
        sum ^= 0x5555;
    }
    out[tcp + 16..tcp + 18].copy_from_slice(&sum.to_be_bytes());
}

/// The options RFC 9293 and RFC 7323 define that a [`Segment`] carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpOptions {
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub ts: Option<(u32, u32)>,
    pub sack_ok: bool,
    pub sack: SackBlocks,
}

/// Parses the option bytes of a TCP header. Unknown options
/// are skipped by their length, as RFC 9293 §3.1 requires ("must be prepared to handle
/// an illegal option length ... without crashing": here an error).
pub fn parse_options(mut opts: &[u8]) -> Result<TcpOptions, WireError> {
    let mut out = TcpOptions::default();
    while let Some(&kind) = opts.first() {
        match kind {
            OPT_EOL => break,
            OPT_NOP => {
                opts = &opts[1..];
                continue;
            }
            _ => {}
        }
        let len = *opts.get(1).ok_or(WireError::BadOption)? as usize;
        if len < 2 || len > opts.len() {
            return Err(WireError::BadOption);
        }
        let body = &opts[2..len];
        match (kind, body.len()) {
            (OPT_MSS, 2) => out.mss = Some(u16::from_be_bytes([body[0], body[1]])),
            (OPT_WSCALE, 1) => out.wscale = Some(body[0]),
            (OPT_TS, 8) => {
                let tsval = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
                let tsecr = u32::from_be_bytes([body[4], body[5], body[6], body[7]]);
                out.ts = Some((tsval, tsecr));
            }
            (OPT_SACK_OK, 0) => out.sack_ok = true,
            // RFC 2018 §3: 8·n + 2 bytes, n ≥ 1; at most four fit in the option space.
            (OPT_SACK, n) if n > 0 && n % 8 == 0 => {
                for b in body.chunks_exact(8) {
                    out.sack.push(Seq(be32(b, 0)), Seq(be32(b, 4)));
                }
            }
            (OPT_MSS | OPT_WSCALE | OPT_TS | OPT_SACK_OK | OPT_SACK, _) => {
                return Err(WireError::BadOption);
            }
            _ => {}
        }
        opts = &opts[len..];
    }
    Ok(out)
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Parses an IPv4 packet carrying a TCP segment, verifying both checksums. Bytes past the
/// IPv4 total length (link padding) are ignored; IPv4 options are skipped.
pub fn decode(bytes: &[u8]) -> Result<Decoded<'_>, WireError> {
    if bytes.len() < IPV4_HEADER_LEN {
        return Err(WireError::Truncated);
    }
    if bytes[0] >> 4 != 4 {
        return Err(WireError::NotIpv4);
    }
    let ihl = (bytes[0] & 0x0f) as usize * 4;
    if ihl < IPV4_HEADER_LEN {
        return Err(WireError::BadIhl);
    }
    if ihl > bytes.len() {
        return Err(WireError::Truncated);
    }
    let total = be16(bytes, 2) as usize;
    if total < ihl + TCP_HEADER_LEN {
        return Err(WireError::BadTotalLength);
    }
    if total > bytes.len() {
        return Err(WireError::Truncated);
    }
    let packet = &bytes[..total];
    if fold(sum_words(0, &packet[..ihl])) != 0xffff {
        return Err(WireError::BadIpChecksum);
    }
    let frag = be16(packet, 6);
    if frag & 0x2000 != 0 || frag & 0x1fff != 0 {
        return Err(WireError::Fragment);
    }
    if packet[9] != PROTO_TCP {
        return Err(WireError::NotTcp);
    }
    let src_addr = be32(packet, 12);
    let dst_addr = be32(packet, 16);

    let tcp = &packet[ihl..];
    let data_offset = (tcp[12] >> 4) as usize * 4;
    if data_offset < TCP_HEADER_LEN || data_offset > tcp.len() {
        return Err(WireError::BadDataOffset);
    }
    let acc = sum_words(pseudo_header_sum(src_addr, dst_addr, tcp.len()), tcp);
    if fold(acc) != 0xffff {
        return Err(WireError::BadTcpChecksum);
    }
    let opts = parse_options(&tcp[TCP_HEADER_LEN..data_offset])?;
    let payload = &tcp[data_offset..];
    let seg = Segment {
        src: Endpoint {
            addr: src_addr,
            port: be16(tcp, 0),
        },
        dst: Endpoint {
            addr: dst_addr,
            port: be16(tcp, 2),
        },
        seq: Seq(be32(tcp, 4)),
        ack: Seq(be32(tcp, 8)),
        // CWR and ECE (RFC 3168) are not modelled; the low six bits are RFC 9293's.
        flags: Flags(tcp[13] & 0x3f),
        wnd: be16(tcp, 14),
        len: payload.len() as u32,
        tag: Tag::default(),
        mss: opts.mss,
        wscale: opts.wscale,
        ts: opts.ts,
        sack_ok: opts.sack_ok,
        sack: opts.sack,
        ..Segment::default()
    };
    Ok(Decoded { seg, payload })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{IpAddress, Ipv4Address, Ipv4Packet, TcpControl, TcpPacket, TcpRepr};

    fn sample(mss: bool, wscale: bool, ts: bool, len: u32) -> Segment {
        Segment {
            src: Endpoint {
                addr: 0xc000_0201,
                port: 49152,
            },
            dst: Endpoint {
                addr: 0xc000_0202,
                port: 80,
            },
            seq: Seq(0xdead_beef),
            ack: Seq(0x0102_0304),
            flags: Flags::ACK | Flags::PSH,
            wnd: 40_000,
            len,
            tag: Tag::new(7, 1_000_003),
            mss: mss.then_some(1460),
            wscale: wscale.then_some(7),
            ts: ts.then_some((123_456, 654_321)),
            why: Default::default(),
            ..Default::default()
        }
    }

    fn all_combinations() -> impl Iterator<Item = Segment> {
        (0..32u8).flat_map(|bits| {
            [0, 1, 3, 1000].map(|len| {
                let mut seg = sample(bits & 1 != 0, bits & 2 != 0, bits & 4 != 0, len);
                seg.sack_ok = bits & 8 != 0;
                if bits & 16 != 0 {
                    // As many blocks as fit beside the other options.
                    let room = if seg.ts.is_some() { 2 } else { 3 };
                    for i in 0..room {
                        let left = Seq(u32::MAX - 10) + 100 * i; // across the wrap
                        seg.sack.push(left, Seq(50 + 100 * i));
                    }
                }
                seg
            })
        })
    }

    fn expected_payload(seg: &Segment) -> Vec<u8> {
        let mut v = Vec::new();
        fill_payload(seg.tag, seg.len, &mut v);
        v
    }

    #[test]
    fn round_trip_every_option_combination() {
        for seg in all_combinations() {
            let mut buf = Vec::new();
            encode(&seg, false, &mut buf);
            assert_eq!(buf.len() as u32, seg.wire_len(), "{seg:?}");
            assert_eq!(buf.len() % 2, seg.len as usize % 2);
            let d = decode(&buf).unwrap();
            assert_eq!(
                d.seg,
                Segment {
                    tag: Tag::default(),
                    ..seg
                }
            );
            assert_eq!(d.payload, expected_payload(&seg));
        }
    }

    #[test]
    fn smoltcp_agrees_with_the_encoding() {
        for seg in all_combinations() {
            let mut buf = Vec::new();
            encode(&seg, false, &mut buf);
            let ip = Ipv4Packet::new_checked(&buf[..]).unwrap();
            assert!(ip.verify_checksum());
            assert_eq!(ip.hop_limit(), 64);
            assert_eq!(ip.src_addr(), Ipv4Address::new(192, 0, 2, 1));
            let (src, dst) = (
                IpAddress::Ipv4(ip.src_addr()),
                IpAddress::Ipv4(ip.dst_addr()),
            );
            let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
            assert!(tcp.verify_checksum(&src, &dst));
            let repr = TcpRepr::parse(&tcp, &src, &dst, &ChecksumCapabilities::default()).unwrap();
            assert_eq!(repr.src_port, seg.src.port);
            assert_eq!(repr.dst_port, seg.dst.port);
            assert_eq!(repr.seq_number.0 as u32, seg.seq.0);
            assert_eq!(repr.ack_number.map(|a| a.0 as u32), Some(seg.ack.0));
            assert_eq!(repr.control, TcpControl::Psh);
            assert_eq!(repr.window_len, seg.wnd);
            assert_eq!(repr.max_seg_size, seg.mss);
            assert_eq!(repr.window_scale, seg.wscale);
            assert_eq!(repr.timestamp.map(|t| (t.tsval, t.tsecr)), seg.ts);
            assert_eq!(repr.sack_permitted, seg.sack_ok);
            let blocks: Vec<_> = seg.sack.iter().map(|(l, r)| (l.0, r.0)).collect();
            let theirs: Vec<_> = repr.sack_ranges.iter().flatten().copied().collect();
            assert_eq!(theirs, blocks);
            assert_eq!(repr.payload, expected_payload(&seg));
        }
    }

    #[test]
    fn corrupt_fails_both_checkers() {
        for seg in all_combinations() {
            let mut buf = Vec::new();
            encode(&seg, true, &mut buf);
            assert_eq!(decode(&buf), Err(WireError::BadTcpChecksum));
            let ip = Ipv4Packet::new_checked(&buf[..]).unwrap();
            let (src, dst) = (
                IpAddress::Ipv4(ip.src_addr()),
                IpAddress::Ipv4(ip.dst_addr()),
            );
            assert!(
                !TcpPacket::new_checked(ip.payload())
                    .unwrap()
                    .verify_checksum(&src, &dst)
            );
        }
    }

    #[test]
    fn any_flipped_bit_is_caught() {
        let seg = sample(true, true, true, 33);
        let mut good = Vec::new();
        encode(&seg, false, &mut good);
        for i in 0..good.len() {
            for bit in 0..8 {
                let mut bad = good.clone();
                bad[i] ^= 1 << bit;
                assert!(decode(&bad).is_err(), "byte {i} bit {bit} went unnoticed");
            }
        }
    }

    #[test]
    fn truncation_is_an_error() {
        let mut good = Vec::new();
        encode(&sample(true, false, true, 10), false, &mut good);
        for n in 0..good.len() {
            assert!(decode(&good[..n]).is_err(), "length {n}");
        }
        // Padding after the IPv4 total length is not payload.
        good.extend([0xaa; 6]);
        assert_eq!(decode(&good).unwrap().payload.len(), 10);
    }

    #[test]
    fn hostile_options_are_errors() {
        assert_eq!(parse_options(&[OPT_MSS]), Err(WireError::BadOption));
        assert_eq!(parse_options(&[OPT_MSS, 3, 0]), Err(WireError::BadOption));
        assert_eq!(parse_options(&[OPT_TS, 40]), Err(WireError::BadOption));
        assert_eq!(parse_options(&[99, 0, 1, 1]), Err(WireError::BadOption));
        assert_eq!(parse_options(&[99, 1]), Err(WireError::BadOption));
        assert_eq!(parse_options(&[OPT_SACK, 2]), Err(WireError::BadOption));
        assert_eq!(
            parse_options(&[OPT_SACK, 6, 0, 0, 0, 0]),
            Err(WireError::BadOption)
        );
        assert_eq!(
            parse_options(&[OPT_SACK_OK, 3, 0]),
            Err(WireError::BadOption)
        );
        // An unknown kind is skipped by its length; EOL ends the list whatever follows.
        assert_eq!(
            parse_options(&[4, 2, 30, 3, 1, OPT_WSCALE, 3, 5, OPT_EOL, 0xff]),
            Ok(TcpOptions {
                wscale: Some(5),
                sack_ok: true,
                ..TcpOptions::default()
            })
        );
    }

    #[test]
    fn payload_bytes_tell_positions_and_streams_apart() {
        let a: Vec<u8> = (0..4096).map(|i| payload_byte(Tag::new(1, i))).collect();
        let b: Vec<u8> = (0..4096).map(|i| payload_byte(Tag::new(2, i))).collect();
        let shifted: Vec<u8> = (1..4097).map(|i| payload_byte(Tag::new(1, i))).collect();
        let same = |x: &[u8], y: &[u8]| x.iter().zip(y).filter(|(p, q)| p == q).count();
        assert!(same(&a, &b) < 64, "streams 1 and 2 look alike");
        assert!(same(&a, &shifted) < 64, "offsets one apart look alike");
    }

    proptest! {
        /// The sum made with the payload equals the plain sum over the bytes it made.
        #[test]
        fn payload_sum_matches_the_plain_sum(stream in any::<u32>(), offset in any::<u64>(), len in 0u32..3000) {
            let mut bytes = vec![0xab; (offset % 5) as usize];
            let before = bytes.len();
            let sum = fill_payload_summed(Tag::new(stream, offset), len, &mut bytes);
            prop_assert_eq!(bytes.len(), before + len as usize);
            prop_assert_eq!(fold(sum), fold(sum_words(0, &bytes[before..])));
            prop_assert_eq!(fold(sum + 0x1234), fold(sum_words(0x1234, &bytes[before..])));
            let plain: Vec<u8> = (0..len as u64).map(|i| payload_byte(Tag::new(stream, offset).advance(i))).collect();
            prop_assert_eq!(&bytes[before..], &plain[..]);
        }
    }

    fn arb_segment() -> impl Strategy<Value = Segment> {
        (
            (any::<u32>(), any::<u16>(), any::<u32>(), any::<u16>()),
            (
                any::<u32>(),
                any::<u32>(),
                0u8..64,
                any::<u16>(),
                0u32..1500,
            ),
            (
                any::<Option<u16>>(),
                any::<Option<u8>>(),
                any::<Option<(u32, u32)>>(),
                any::<u64>(),
            ),
        )
            .prop_map(
                |((sa, sp, da, dp), (seq, ack, flags, wnd, len), (mss, wscale, ts, tag))| Segment {
                    src: Endpoint { addr: sa, port: sp },
                    dst: Endpoint { addr: da, port: dp },
                    seq: Seq(seq),
                    ack: Seq(ack),
                    flags: Flags(flags),
                    wnd,
                    len,
                    tag: Tag(tag),
                    mss,
                    wscale,
                    ts,
                    why: Default::default(),
                    ..Default::default()
                },
            )
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = decode(&bytes);
            let _ = parse_options(&bytes);
        }

        #[test]
        fn arbitrary_segments_round_trip(seg in arb_segment()) {
            let mut buf = Vec::new();
            encode(&seg, false, &mut buf);
            let d = decode(&buf).unwrap();
            prop_assert_eq!(d.seg, Segment { tag: Tag::default(), ..seg });
            prop_assert_eq!(d.payload, &expected_payload(&seg)[..]);
        }

        /// A valid packet with one TCP byte overwritten (checksum then made right again,
        /// so the data offset and option checks are reached) and maybe cut short: an
        /// error or a packet, never a panic.
        #[test]
        fn mutated_packets_never_panic(
            seg in arb_segment(),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut buf = Vec::new();
            encode(&seg, false, &mut buf);
            let tcp = IPV4_HEADER_LEN;
            let i = tcp + at.index(buf.len() - tcp);
            buf[i] = byte;
            buf[tcp + 16..tcp + 18].fill(0);
            let acc = sum_words(pseudo_header_sum(seg.src.addr, seg.dst.addr, buf.len() - tcp), &buf[tcp..]);
            let sum = !fold(acc);
            buf[tcp + 16..tcp + 18].copy_from_slice(&sum.to_be_bytes());
            if i != tcp + 16 && i != tcp + 17 {
                // Only a data offset or option change can make it fail now.
                let r = decode(&buf);
                prop_assert!(matches!(r, Ok(_) | Err(WireError::BadDataOffset | WireError::BadOption)), "{:?}", r);
            }
            let n = cut.index(buf.len() + 1);
            let _ = decode(&buf[..n]);
        }
    }
}
