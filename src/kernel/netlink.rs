//! Just enough netlink for tcpsim: one request, its replies, and route attributes.
//!
//! Two users: [`add_host_route`] (rtnetlink, so a host's routes can carry the metrics
//! that have no sysctl: `initcwnd`, `quickack`) and `observe.rs`'s sock_diag dumps. A
//! netlink socket belongs to the namespace of the thread that opened it and may then be
//! used from any thread, which is how the wire loop polls every namespace from one thread.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_DUMP: u16 = 0x300;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;

pub const NETLINK_ROUTE: i32 = 0;
pub const NETLINK_SOCK_DIAG: i32 = 4;

const RTM_NEWROUTE: u16 = 24;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_METRICS: u16 = 8;
/// `RTAX_*` route metrics (include/uapi/linux/rtnetlink.h).
pub const RTAX_INITCWND: u16 = 11;
pub const RTAX_QUICKACK: u16 = 15;

/// A netlink socket of the namespace it was opened in.
pub struct Netlink {
    fd: OwnedFd,
    seq: u32,
}

/// Appends one attribute (type, payload), padded to 4 bytes.
pub fn attr(buf: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    buf.extend((len as u16).to_ne_bytes());
    buf.extend(kind.to_ne_bytes());
    buf.extend(payload);
    buf.resize(buf.len().next_multiple_of(4), 0);
}

/// The attributes in `data`: (type without flag bits, payload).
pub fn attrs(mut data: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while data.len() >= 4 {
        let len = u16::from_ne_bytes([data[0], data[1]]) as usize;
        let kind = u16::from_ne_bytes([data[2], data[3]]) & 0x3fff;
        if len < 4 || len > data.len() {
            break;
        }
        out.push((kind, &data[4..len]));
        data = &data[len.next_multiple_of(4).min(data.len())..];
    }
    out
}

impl Netlink {
    /// Opens a netlink socket of `protocol` in the calling thread's namespace.
    pub fn open(protocol: i32) -> Result<Netlink, String> {
        // SAFETY: plain socket(2); the result is checked before it is owned.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                protocol,
            )
        };
        if fd < 0 {
            return Err(format!(
                "cannot open a netlink socket: {}",
                io::Error::last_os_error()
            ));
        }
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Netlink { fd, seq: 0 })
    }

    /// Sends one message and returns the payloads of the replies (a dump's entries, or
    /// nothing for an acknowledged request); a netlink error becomes `Err`.
    pub fn request(&mut self, kind: u16, flags: u16, payload: &[u8]) -> io::Result<Vec<Vec<u8>>> {
        self.seq = self.seq.wrapping_add(1);
        let mut msg = Vec::with_capacity(NLMSG_HDRLEN + payload.len());
        msg.extend(((NLMSG_HDRLEN + payload.len()) as u32).to_ne_bytes());
        msg.extend(kind.to_ne_bytes());
        msg.extend(flags.to_ne_bytes());
        msg.extend(self.seq.to_ne_bytes());
        msg.extend(0u32.to_ne_bytes());
        msg.extend(payload);
        // SAFETY: sending a buffer we own, of its own length.
        let sent = unsafe { libc::send(self.fd.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0) };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        self.replies(flags & NLM_F_DUMP == NLM_F_DUMP)
    }

    /// Reads until the dump's DONE, or the request's ACK/error.
    fn replies(&mut self, dump: bool) -> io::Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: receiving into a buffer we own, at most its length.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            let mut data = &buf[..n as usize];
            while data.len() >= NLMSG_HDRLEN {
                let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
                let kind = u16::from_ne_bytes([data[4], data[5]]);
                let seq = u32::from_ne_bytes([data[8], data[9], data[10], data[11]]);
                if len < NLMSG_HDRLEN || len > data.len() {
                    return Err(io::Error::other("truncated netlink message"));
                }
                let body = &data[NLMSG_HDRLEN..len];
                data = &data[len.next_multiple_of(4).min(data.len())..];
                if seq != self.seq {
                    continue;
                }
                match kind {
                    NLMSG_DONE => return Ok(out),
                    NLMSG_ERROR => {
                        let code = body
                            .get(..4)
                            .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                        if code != 0 {
                            return Err(io::Error::from_raw_os_error(-code));
                        }
                        if !dump {
                            return Ok(out);
                        }
                    }
                    _ => out.push(body.to_vec()),
                }
            }
        }
    }
}

/// Adds the route `dst`/32 out of interface `oif` in the calling thread's namespace,
/// with route `metrics` (RTAX_* type, value) when there are any.
pub fn add_host_route(
    nl: &mut Netlink,
    dst: u32,
    oif: u32,
    metrics: &[(u16, u32)],
) -> io::Result<()> {
    let mut msg = vec![
        libc::AF_INET as u8, // family
        32,                  // dst_len
        0,                   // src_len
        0,                   // tos
        254,                 // table: RT_TABLE_MAIN
        4,                   // protocol: RTPROT_STATIC
        253,                 // scope: RT_SCOPE_LINK
        1,                   // type: RTN_UNICAST
    ];
    msg.extend(0u32.to_ne_bytes()); // flags
    attr(&mut msg, RTA_DST, &dst.to_be_bytes());
    attr(&mut msg, RTA_OIF, &oif.to_ne_bytes());
    if !metrics.is_empty() {
        let mut nested = Vec::new();
        for &(kind, value) in metrics {
            attr(&mut nested, kind, &value.to_ne_bytes());
        }
        attr(&mut msg, RTA_METRICS, &nested);
    }
    let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    nl.request(RTM_NEWROUTE, flags, &msg).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::{attr, attrs};

    #[test]
    fn attributes_round_trip_with_padding() {
        let mut buf = Vec::new();
        attr(&mut buf, 1, &[1, 2, 3]);
        attr(&mut buf, 7, &42u32.to_ne_bytes());
        assert_eq!(buf.len(), 8 + 8);
        let got = attrs(&buf);
        assert_eq!(
            got,
            vec![(1, &[1u8, 2, 3][..]), (7, &42u32.to_ne_bytes()[..])]
        );
    }
}
