//! A host's one interface: a TUN device carrying raw IPv4 packets between its kernel and
//! tcpsim, configured with plain ioctls from a thread inside the host's namespace.
//!
//! The device is opened without `IFF_VNET_HDR`, so the kernel cannot hand it a GSO
//! super-packet or skip a checksum: every packet read is one wire-sized IPv4 packet with
//! its checksums filled in, and every packet written is checked by the receiving stack.
//! [`disable_offloads`] still switches GSO, GRO and TSO off and reads them back (the
//! legacy ethtool ioctls), so a kernel that behaved otherwise would stop the run instead
//! of silently changing what the wire carries.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;

use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};

/// The name of every host's TUN device (each lives in its own namespace).
pub const IFNAME: &str = "tcpsim0";

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const IFF_TUN: i16 = 0x0001;
const IFF_NO_PI: i16 = 0x1000;
const SIOCGIFFLAGS: libc::c_ulong = 0x8913;
const SIOCSIFFLAGS: libc::c_ulong = 0x8914;
const SIOCSIFADDR: libc::c_ulong = 0x8916;
const SIOCSIFNETMASK: libc::c_ulong = 0x891c;
const SIOCSIFMTU: libc::c_ulong = 0x8922;
const SIOCGIFINDEX: libc::c_ulong = 0x8933;
const SIOCETHTOOL: libc::c_ulong = 0x8946;
const IFF_UP: i16 = 0x1;

/// `struct ifreq`: a name and a 24-byte union (flags, MTU, address, index or pointer).
#[repr(C)]
struct IfReq {
    name: [u8; 16],
    data: [u8; 24],
}

impl IfReq {
    fn new(ifname: &str) -> Self {
        let mut name = [0u8; 16];
        let bytes = ifname.as_bytes();
        name[..bytes.len().min(15)].copy_from_slice(&bytes[..bytes.len().min(15)]);
        IfReq {
            name,
            data: [0; 24],
        }
    }

    fn with_i16(ifname: &str, v: i16) -> Self {
        let mut r = IfReq::new(ifname);
        r.data[..2].copy_from_slice(&v.to_ne_bytes());
        r
    }

    fn with_i32(ifname: &str, v: i32) -> Self {
        let mut r = IfReq::new(ifname);
        r.data[..4].copy_from_slice(&v.to_ne_bytes());
        r
    }

    /// A `sockaddr_in` with `addr` (host order) in the union.
    fn with_inet(ifname: &str, addr: u32) -> Self {
        let mut r = IfReq::new(ifname);
        r.data[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        r.data[4..8].copy_from_slice(&addr.to_be_bytes());
        r
    }

    fn i16(&self) -> i16 {
        i16::from_ne_bytes([self.data[0], self.data[1]])
    }

    fn i32(&self) -> i32 {
        i32::from_ne_bytes([self.data[0], self.data[1], self.data[2], self.data[3]])
    }
}

/// One ioctl taking a pointer argument; the error names what was being done.
fn ioctl<T>(fd: i32, request: libc::c_ulong, arg: &mut T, what: &str) -> Result<(), String> {
    // SAFETY: `arg` is a live, exclusively borrowed `repr(C)` value of the layout the
    // request expects (checked by the callers' types), for the duration of the call.
    let rc = unsafe { libc::ioctl(fd, request as _, arg as *mut T) };
    if rc < 0 {
        return Err(format!("{what}: {}", io::Error::last_os_error()));
    }
    Ok(())
}

/// A TUN device's file: read one packet, write one packet (non-blocking).
pub struct Tun {
    file: File,
}

impl Tun {
    /// Creates the device [`IFNAME`] in the calling thread's namespace.
    pub fn create() -> Result<Tun, String> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open("/dev/net/tun")
            .map_err(|e| format!("cannot open /dev/net/tun: {e}"))?;
        let mut req = IfReq::with_i16(IFNAME, IFF_TUN | IFF_NO_PI);
        ioctl(file.as_raw_fd(), TUNSETIFF, &mut req, "TUNSETIFF")?;
        Ok(Tun { file })
    }

    /// The next packet the kernel sent, if any (`None`: nothing waiting).
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match self.file.read(buf) {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Hands a packet to the kernel. The receiving stack processes it during the call
    /// (tun_get_user with bottom halves disabled), so its reaction is visible on return.
    pub fn write(&mut self, packet: &[u8]) -> io::Result<()> {
        self.file.write(packet).map(|_| ())
    }

    pub fn raw_fd(&self) -> i32 {
        self.file.as_raw_fd()
    }
}

/// An AF_INET datagram socket of the calling thread's namespace, for interface ioctls.
fn control_socket() -> Result<OwnedFd, String> {
    socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| format!("cannot open a control socket: {e}"))
}

/// Gives `ifname` the address `addr`/32 and `mtu`, brings it up and returns its index.
/// A /32 makes no subnet route: only the routes tcpsim adds, one per scenario host.
pub fn configure(ifname: &str, addr: u32, mtu: u32) -> Result<u32, String> {
    let sock = control_socket()?;
    let fd = sock.as_raw_fd();
    ioctl(
        fd,
        SIOCSIFMTU,
        &mut IfReq::with_i32(ifname, mtu as i32),
        "set the MTU",
    )?;
    ioctl(
        fd,
        SIOCSIFADDR,
        &mut IfReq::with_inet(ifname, addr),
        "set the address",
    )?;
    ioctl(
        fd,
        SIOCSIFNETMASK,
        &mut IfReq::with_inet(ifname, u32::MAX),
        "set the netmask",
    )?;
    set_up(fd, ifname)?;
    let mut idx = IfReq::new(ifname);
    ioctl(fd, SIOCGIFINDEX, &mut idx, "read the interface index")?;
    Ok(idx.i32() as u32)
}

fn set_up(fd: i32, ifname: &str) -> Result<(), String> {
    let mut flags = IfReq::new(ifname);
    ioctl(fd, SIOCGIFFLAGS, &mut flags, "read the interface flags")?;
    let mut up = IfReq::with_i16(ifname, flags.i16() | IFF_UP);
    ioctl(fd, SIOCSIFFLAGS, &mut up, "bring the interface up")
}

/// `struct ethtool_value`.
#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

const ETHTOOL_GTSO: u32 = 0x1e;
const ETHTOOL_STSO: u32 = 0x1f;
const ETHTOOL_GGSO: u32 = 0x23;
const ETHTOOL_SGSO: u32 = 0x24;
const ETHTOOL_GGRO: u32 = 0x2b;
const ETHTOOL_SGRO: u32 = 0x2c;

fn ethtool(fd: i32, ifname: &str, cmd: u32, data: u32) -> Result<u32, String> {
    let mut value = EthtoolValue { cmd, data };
    let mut req = IfReq::new(ifname);
    let ptr = (&mut value as *mut EthtoolValue as usize).to_ne_bytes();
    req.data[..ptr.len()].copy_from_slice(&ptr);
    ioctl(fd, SIOCETHTOOL, &mut req, "ethtool")?;
    Ok(value.data)
}

/// Switches TSO, GSO and GRO off on `ifname` and checks that all three read back off;
/// an error names the offload still on. (Setting may be refused where the feature is
/// fixed off; only the read-back counts.)
pub fn disable_offloads(ifname: &str) -> Result<(), String> {
    let sock = control_socket()?;
    let fd = sock.as_raw_fd();
    for set in [ETHTOOL_STSO, ETHTOOL_SGSO, ETHTOOL_SGRO] {
        let _ = ethtool(fd, ifname, set, 0);
    }
    for (get, name) in [
        (ETHTOOL_GTSO, "TSO"),
        (ETHTOOL_GGSO, "GSO"),
        (ETHTOOL_GGRO, "GRO"),
    ] {
        let on =
            ethtool(fd, ifname, get, 0).map_err(|e| format!("reading {name} on {ifname}: {e}"))?;
        if on != 0 {
            return Err(format!(
                "{name} is still on for {ifname} after switching it off: segments would not be MSS-sized"
            ));
        }
    }
    Ok(())
}
