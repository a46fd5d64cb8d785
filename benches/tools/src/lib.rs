//! What the two benchmark tools share: epoll, IPv4 TCP sockets, the descriptor limit,
//! SIGTERM/SIGINT as a flag, a monotonic clock and the latency histogram.
//!
//! Everything is a thin layer over libc (Linux only): the tools should spend their time in
//! the kernel's socket paths, as the C programs they replace did, so that a benchmark
//! measures the server and not the client.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

pub const IN: u32 = libc::EPOLLIN as u32;
pub const OUT: u32 = libc::EPOLLOUT as u32;
pub const ERR: u32 = libc::EPOLLERR as u32;
pub const HUP: u32 = libc::EPOLLHUP as u32;

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(r) }
}

fn cvt_size(r: libc::ssize_t) -> io::Result<usize> {
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(r as usize) }
}

/// Nanoseconds since the first call (monotonic).
pub fn now_ns() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// An epoll instance; every registration carries a `u64` token.
pub struct Epoll(OwnedFd);

impl Epoll {
    pub fn new() -> io::Result<Self> {
        // SAFETY: plain system call; the descriptor is owned from here on.
        let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        Ok(Epoll(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: token };
        // SAFETY: `ev` outlives the call.
        cvt(unsafe { libc::epoll_ctl(self.0.as_raw_fd(), op, fd, &mut ev) }).map(|_| ())
    }

    pub fn add(&self, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, events, token)
    }

    pub fn modify(&self, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, events, token)
    }

    pub fn delete(&self, fd: RawFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0)
    }

    /// Waits up to `timeout_ms` (-1: no limit). An interrupted wait returns 0 events.
    pub fn wait(&self, events: &mut [libc::epoll_event], timeout_ms: i32) -> io::Result<usize> {
        let max = events.len().min(i32::MAX as usize) as libc::c_int;
        // SAFETY: the kernel writes at most `max` entries into `events`.
        let r = unsafe { libc::epoll_wait(self.0.as_raw_fd(), events.as_mut_ptr(), max, timeout_ms) };
        match cvt(r) {
            Ok(n) => Ok(n as usize),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(e) => Err(e),
        }
    }
}

/// An empty epoll event array for `Epoll::wait`.
pub fn event_buffer(n: usize) -> Vec<libc::epoll_event> {
    vec![libc::epoll_event { events: 0, u64: 0 }; n]
}

fn sockaddr(ip: Ipv4Addr, port: u16) -> libc::sockaddr_in {
    // SAFETY: sockaddr_in is plain data; all-zero is a valid value.
    let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    sa.sin_family = libc::AF_INET as libc::sa_family_t;
    sa.sin_port = port.to_be();
    sa.sin_addr.s_addr = u32::from(ip).to_be();
    sa
}

const SA_LEN: libc::socklen_t = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;

/// A non-blocking, close-on-exec IPv4 TCP socket.
pub fn tcp_socket() -> io::Result<OwnedFd> {
    let ty = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: plain system call; the descriptor is owned from here on.
    let fd = cvt(unsafe { libc::socket(libc::AF_INET, ty, 0) })?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub fn set_int_opt(fd: RawFd, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` outlives the call and `len` is its size.
    cvt(unsafe { libc::setsockopt(fd, level, name, (&value as *const libc::c_int).cast(), len) }).map(|_| ())
}

/// The pending error of a socket (SO_ERROR): how a non-blocking connect ended.
pub fn socket_error(fd: RawFd) -> io::Result<Option<io::Error>> {
    let mut err: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `err` and `len` outlive the call.
    cvt(unsafe {
        libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_ERROR, (&mut err as *mut libc::c_int).cast(), &mut len)
    })?;
    Ok((err != 0).then(|| io::Error::from_raw_os_error(err)))
}

pub fn bind(fd: RawFd, ip: Ipv4Addr, port: u16) -> io::Result<()> {
    let sa = sockaddr(ip, port);
    // SAFETY: `sa` outlives the call and SA_LEN is its size.
    cvt(unsafe { libc::bind(fd, (&sa as *const libc::sockaddr_in).cast(), SA_LEN) }).map(|_| ())
}

/// Binds the source address only: with IP_BIND_ADDRESS_NO_PORT the port is chosen at
/// connect time, so the same port can serve different destinations and each source
/// address has the whole ephemeral range.
pub fn bind_source(fd: RawFd, ip: Ipv4Addr) -> io::Result<()> {
    set_int_opt(fd, libc::IPPROTO_IP, libc::IP_BIND_ADDRESS_NO_PORT, 1)?;
    bind(fd, ip, 0)
}

/// Starts a connection. Ok(true): connected at once; Ok(false): in progress (wait for
/// writability, then look at `socket_error`).
pub fn connect(fd: RawFd, ip: Ipv4Addr, port: u16) -> io::Result<bool> {
    let sa = sockaddr(ip, port);
    // SAFETY: `sa` outlives the call and SA_LEN is its size.
    match cvt(unsafe { libc::connect(fd, (&sa as *const libc::sockaddr_in).cast(), SA_LEN) }) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn listen(fd: RawFd, backlog: i32) -> io::Result<()> {
    // SAFETY: plain system call.
    cvt(unsafe { libc::listen(fd, backlog) }).map(|_| ())
}

/// The local port a socket is bound to.
pub fn local_port(fd: RawFd) -> io::Result<u16> {
    let mut sa = sockaddr(Ipv4Addr::UNSPECIFIED, 0);
    let mut len = SA_LEN;
    // SAFETY: the kernel writes at most `len` bytes into `sa`.
    cvt(unsafe { libc::getsockname(fd, (&mut sa as *mut libc::sockaddr_in).cast(), &mut len) })?;
    Ok(u16::from_be(sa.sin_port))
}

/// Accepts one connection, non-blocking and close-on-exec.
pub fn accept(fd: RawFd) -> io::Result<OwnedFd> {
    let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: no address is asked for; the descriptor is owned from here on.
    let c = cvt(unsafe { libc::accept4(fd, std::ptr::null_mut(), std::ptr::null_mut(), flags) })?;
    Ok(unsafe { OwnedFd::from_raw_fd(c) })
}

/// send(2) without SIGPIPE.
pub fn send(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: the kernel reads at most `buf.len()` bytes from `buf`.
    cvt_size(unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) })
}

/// recv(2); Ok(0) is the end of the stream.
pub fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
    cvt_size(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) })
}

/// read(2) on any descriptor.
pub fn read_fd(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
    cvt_size(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) })
}

pub fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

pub fn interrupted(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Interrupted
}

/// The outcome of `raise_nofile`.
pub struct NoFile {
    /// The soft limit now in force: how many descriptors this process may hold.
    pub limit: u64,
    /// Set when `want` could not be had, saying why.
    pub shortfall: Option<String>,
}

/// Raises RLIMIT_NOFILE so that `want` descriptors can be open: the soft limit up to the
/// hard one, and the hard one too when the process may (CAP_SYS_RESOURCE).
pub fn raise_nofile(want: u64) -> NoFile {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `lim` outlives the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        let e = io::Error::last_os_error();
        return NoFile { limit: 1024, shortfall: Some(format!("getrlimit(RLIMIT_NOFILE): {e}")) };
    }
    if lim.rlim_cur >= want {
        return NoFile { limit: lim.rlim_cur, shortfall: None };
    }
    let mut shortfall = None;
    if lim.rlim_max < want {
        let both = libc::rlimit { rlim_cur: want, rlim_max: want };
        // SAFETY: `both` outlives the call.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &both) } == 0 {
            return NoFile { limit: want, shortfall: None };
        }
        let e = io::Error::last_os_error();
        shortfall = Some(format!(
            "RLIMIT_NOFILE: {want} descriptors wanted, but the hard limit is {} and raising it failed ({e}; it needs CAP_SYS_RESOURCE, or `ulimit -Hn`/`prlimit` as root beforehand)",
            lim.rlim_max
        ));
    }
    let soft = want.min(lim.rlim_max);
    let new = libc::rlimit { rlim_cur: soft, rlim_max: lim.rlim_max };
    // SAFETY: `new` outlives the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) } != 0 {
        let e = io::Error::last_os_error();
        return NoFile { limit: lim.rlim_cur, shortfall: Some(format!("setrlimit(RLIMIT_NOFILE, {soft}): {e}")) };
    }
    NoFile { limit: soft, shortfall }
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// SIGTERM and SIGINT set a flag (see `stop_requested`) instead of ending the process,
/// and interrupt a blocking epoll_wait; SIGPIPE is ignored.
pub fn catch_stop_signals() {
    // SAFETY: the handler only stores to an atomic; the sigaction value is fully set up.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_stop_signal as *const () as libc::sighandler_t;
        libc::sigemptyset(&mut sa.sa_mask);
        sa.sa_flags = 0; // no SA_RESTART: epoll_wait returns EINTR
        libc::sigaction(libc::SIGTERM, &sa, std::ptr::null_mut());
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

pub fn stop_requested() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// Latency histogram in nanoseconds, log-linear (as the C loadgen's): values below 2^7
/// get a bucket each; above, every power of two is split into 128 buckets, so a bucket is
/// at most 1/128 (0.8%) wide relative to its value.
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    sum: u64,
    max: u64,
}

const SUB_BITS: u32 = 7;
const SUB: u64 = 1 << SUB_BITS;

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    pub fn new() -> Self {
        Histogram { counts: vec![0; ((64 - SUB_BITS + 1) as u64 * SUB) as usize], total: 0, sum: 0, max: 0 }
    }

    fn bucket_of(v: u64) -> usize {
        if v < SUB {
            return v as usize;
        }
        let msb = 63 - v.leading_zeros();
        let shift = msb - SUB_BITS;
        ((shift as u64 + 1) * SUB + ((v >> shift) - SUB)) as usize
    }

    /// The middle of a bucket's range.
    fn bucket_value(b: usize) -> f64 {
        let b = b as u64;
        if b < SUB {
            return b as f64;
        }
        let shift = b / SUB - 1;
        let low = ((b % SUB) + SUB) << shift;
        low as f64 + ((1u64 << shift) as f64 - 1.0) / 2.0
    }

    pub fn record(&mut self, ns: u64) {
        self.counts[Self::bucket_of(ns)] += 1;
        self.total += 1;
        self.sum += ns;
        self.max = self.max.max(ns);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// The p-quantile (0..1) in nanoseconds; 0 when empty.
    pub fn percentile(&self, p: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let rank = ((p * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Self::bucket_value(b);
            }
        }
        0.0
    }

    pub fn mean(&self) -> f64 {
        if self.total == 0 { 0.0 } else { self.sum as f64 / self.total as f64 }
    }

    pub fn max(&self) -> u64 {
        self.max
    }
}
