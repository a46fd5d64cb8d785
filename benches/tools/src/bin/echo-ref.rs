//! Reference TCP echo server for the benchmarks: the ceiling the rlua-net echo servers are
//! compared with. Single-threaded, non-blocking, level-triggered epoll, nothing else.
//!
//!   echo-ref [PORT]        (0 or nothing: the kernel picks a port)
//!
//! It listens on 127.0.0.1 only (backlog 4096, capped by net.core.somaxconn), prints the
//! bound port on stdout (one line, flushed) and serves until SIGTERM or SIGINT, then exits
//! 0 (saying on stderr how many connections it served if any failed).
//!
//! Readable: one recv of up to 64 KiB into a buffer shared by all connections, written
//! back at once. What the kernel does not take is copied into the connection's own
//! buffer and the connection waits for EPOLLOUT only: while it has bytes pending it does
//! not read, so a client that sends without reading is throttled by TCP instead of
//! growing memory. An idle connection owns no buffer (its entry is a few words), so the
//! server's RSS per idle connection is the cost of the descriptor table and epoll alone.
//! Level-triggered with one recv per readiness report: a busy connection cannot starve
//! the others, and whatever is left is reported again on the next epoll_wait.
//!
//! Accepted sockets keep the kernel defaults (Nagle on), as rlua-net's accepted sockets
//! do. The descriptor limit is raised for 65,536 connections where the hard limit allows;
//! when it does not, the server serves as many as it can and, once it runs out of
//! descriptors, says so and why on stderr (accept pauses 100 ms at a time rather than
//! spinning). Otherwise it writes to stderr only about errors.

use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use rlua_net_bench::{self as sys, ERR, Epoll, HUP, IN, OUT};

const LISTENER: u64 = u64::MAX;
const BUF_SIZE: usize = 65536;
const WANT_FDS: u64 = 65536 + 64;

struct Conn {
    fd: OwnedFd,
    /// Bytes read but not yet written back, from `head` on.
    pending: Vec<u8>,
    head: usize,
    events: u32,
}

struct Server {
    ep: Epoll,
    /// Indexed by descriptor number (descriptors are small and dense).
    conns: Vec<Option<Conn>>,
    buf: Vec<u8>,
    accepted: u64,
    errors: u64,
    open: usize,
    last_full_note: Option<u64>,
    /// Why the descriptor limit is below WANT_FDS, said when it is reached.
    limit_note: Option<String>,
}

enum Step {
    Keep,
    Close,
    Fail(&'static str, io::Error),
}

impl Server {
    fn close(&mut self, fd: RawFd, why: Option<(&'static str, io::Error)>) {
        if let Some((what, e)) = why {
            if self.errors < 10 {
                eprintln!("echo-ref: connection on fd {fd}: {what}: {e}");
            }
            self.errors += 1;
        }
        // Dropping the descriptor closes it, which also removes it from epoll.
        if let Some(slot) = self.conns.get_mut(fd as usize) {
            if slot.take().is_some() {
                self.open -= 1;
            }
        }
    }

    fn accept_all(&mut self, lfd: RawFd) -> io::Result<bool> {
        loop {
            let fd = match sys::accept(lfd) {
                Ok(fd) => fd,
                Err(e) if sys::would_block(&e) => return Ok(true),
                Err(e) if sys::interrupted(&e) || e.raw_os_error() == Some(libc::ECONNABORTED) => continue,
                Err(e)
                    if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)) =>
                {
                    let now = sys::now_ns();
                    if self.last_full_note.is_none_or(|t| now - t > 10_000_000_000) {
                        self.last_full_note = Some(now);
                        eprintln!(
                            "echo-ref: accept: {e} ({} connections open); accept pauses 100 ms at a time (said at most every 10 s){}",
                            self.open,
                            self.limit_note.as_deref().map(|n| format!("; {n}")).unwrap_or_default()
                        );
                    }
                    return Ok(false);
                }
                Err(e) => return Err(e),
            };
            let raw = fd.as_raw_fd();
            if let Err(e) = self.ep.add(raw, IN, raw as u64) {
                eprintln!("echo-ref: epoll_ctl(ADD): {e}");
                self.errors += 1;
                continue;
            }
            let i = raw as usize;
            if self.conns.len() <= i {
                self.conns.resize_with(i + 1, || None);
            }
            self.conns[i] = Some(Conn { fd, pending: Vec::new(), head: 0, events: IN });
            self.accepted += 1;
            self.open += 1;
        }
    }

    fn conn_event(&mut self, fd: RawFd, events: u32) {
        let step = match self.conns.get_mut(fd as usize) {
            Some(Some(c)) => serve(&self.ep, c, &mut self.buf, events),
            _ => return, // already closed in this batch
        };
        match step {
            Step::Keep => {}
            Step::Close => self.close(fd, None),
            Step::Fail(what, e) => self.close(fd, Some((what, e))),
        }
    }
}

/// Writes out the connection's pending bytes. Ok(true): all gone.
fn flush(c: &mut Conn) -> io::Result<bool> {
    while c.head < c.pending.len() {
        match sys::send(c.fd.as_raw_fd(), &c.pending[c.head..]) {
            Ok(n) => c.head += n,
            Err(e) if sys::interrupted(&e) => {}
            Err(e) if sys::would_block(&e) => return Ok(false),
            Err(e) => return Err(e),
        }
    }
    // Free the buffer: an idle connection holds none.
    c.pending = Vec::new();
    c.head = 0;
    Ok(true)
}

fn serve(ep: &Epoll, c: &mut Conn, buf: &mut [u8], events: u32) -> Step {
    let fd = c.fd.as_raw_fd();
    if c.head < c.pending.len() {
        // Waiting for room to write (EPOLLOUT, or an error/hang-up report).
        match flush(c) {
            Ok(true) => {}
            Ok(false) => return Step::Keep,
            Err(e) => return Step::Fail("send", e),
        }
    } else if events & (IN | HUP | ERR) != 0 {
        let n = loop {
            match sys::recv(fd, buf) {
                Ok(0) => return Step::Close,
                Ok(n) => break n,
                Err(e) if sys::interrupted(&e) => {}
                Err(e) if sys::would_block(&e) => return Step::Keep,
                Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => return Step::Close,
                Err(e) => return Step::Fail("recv", e),
            }
        };
        let mut sent = 0;
        while sent < n {
            match sys::send(fd, &buf[sent..n]) {
                Ok(k) => sent += k,
                Err(e) if sys::interrupted(&e) => {}
                Err(e) if sys::would_block(&e) => break,
                Err(e) if matches!(e.raw_os_error(), Some(libc::ECONNRESET | libc::EPIPE)) => return Step::Close,
                Err(e) => return Step::Fail("send", e),
            }
        }
        if sent < n {
            c.pending = buf[sent..n].to_vec();
            c.head = 0;
        }
    }
    let want = if c.head < c.pending.len() { OUT } else { IN };
    if want != c.events {
        if let Err(e) = ep.modify(fd, want, fd as u64) {
            return Step::Fail("epoll_ctl(MOD)", e);
        }
        c.events = want;
    }
    Step::Keep
}

fn run(port: u16) -> io::Result<()> {
    sys::catch_stop_signals();
    let nofile = sys::raise_nofile(WANT_FDS);

    let listener = sys::tcp_socket()?;
    let lfd = listener.as_raw_fd();
    sys::set_int_opt(lfd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    sys::bind(lfd, Ipv4Addr::LOCALHOST, port)?;
    sys::listen(lfd, 4096)?;
    let bound = sys::local_port(lfd)?;
    {
        let mut out = io::stdout().lock();
        writeln!(out, "{bound}")?;
        out.flush()?;
    }

    let mut srv = Server {
        ep: Epoll::new()?,
        conns: Vec::new(),
        buf: vec![0; BUF_SIZE],
        accepted: 0,
        errors: 0,
        open: 0,
        last_full_note: None,
        limit_note: nofile.shortfall,
    };
    srv.ep.add(lfd, IN, LISTENER)?;
    let mut events = sys::event_buffer(256);
    let mut accept_paused_until: Option<u64> = None;

    while !sys::stop_requested() {
        let timeout = match accept_paused_until {
            Some(t) => ((t.saturating_sub(sys::now_ns())) / 1_000_000) as i32 + 1,
            None => -1,
        };
        let n = srv.ep.wait(&mut events, timeout)?;
        if let Some(t) = accept_paused_until {
            if sys::now_ns() >= t {
                accept_paused_until = None;
                srv.ep.add(lfd, IN, LISTENER)?;
            }
        }
        for e in &events[..n] {
            let (token, ev) = (e.u64, e.events);
            if token == LISTENER {
                if accept_paused_until.is_none() && !srv.accept_all(lfd)? {
                    srv.ep.delete(lfd)?;
                    accept_paused_until = Some(sys::now_ns() + 100_000_000);
                }
            } else {
                srv.conn_event(token as RawFd, ev);
            }
        }
    }
    if srv.errors > 0 || srv.last_full_note.is_some() {
        eprintln!(
            "echo-ref: stopping; {} connections accepted, {} open, {} closed on errors",
            srv.accepted, srv.open, srv.errors
        );
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port = match args.as_slice() {
        [] => Some(0),
        [p] => p.parse::<u16>().ok(),
        _ => None,
    };
    let Some(port) = port else {
        eprintln!("usage: echo-ref [PORT]   (0 or nothing: any free port; serves 127.0.0.1)");
        std::process::exit(2);
    };
    if let Err(e) = run(port) {
        eprintln!("echo-ref: {e}");
        std::process::exit(1);
    }
}
