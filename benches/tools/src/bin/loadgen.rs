//! Closed-loop TCP load generator for echo servers (benches/run.sh, echo.sh, hs_clients.sh).
//!
//!   loadgen -p PORT [-c CONNS] [-s SIZE] [-d SECS] [-w WARMUP] [-m MODE] [-H HOST] [-a K] [-r RATE]
//!
//! Modes (`-m`):
//!
//! - `pingpong` (default): CONNS connections (default 50) each send one SIZE-byte message
//!   (default 64), wait until all of it has come back, check every byte and send the next:
//!   one message in flight per connection, so the load follows the server's speed. After
//!   WARMUP seconds (default 1) it counts for SECS seconds (default 5) the round trips that
//!   complete and their latency (first byte handed to send() to last byte received). Every
//!   message differs (its bytes derive from the connection and message numbers), so a
//!   stale or misplaced echo is caught. One round trip per connection per wake-up, so no
//!   connection hogs the loop.
//! - `stream`: each connection writes SIZE-byte chunks of a pseudo-random byte stream as
//!   fast as the socket takes them and reads the echo as it comes, checking every byte. A
//!   "round trip" is a chunk whose last byte is back; its latency runs from its first send
//!   attempt (queueing behind earlier chunks included). The figure that counts is MB/s.
//! - `idle`: opens CONNS connections, at most 128 handshakes at a time, each sending one
//!   byte and waiting for its echo (so the server has accepted and served it), prints
//!   `idle_open=N errors=E` once every connection is open or has failed (one that is not
//!   open after 30 s has failed; when none has opened for 30 s, the rest are given up and
//!   counted as failed), then holds them,
//!   silent, until SIGTERM/SIGINT or, with `-d SECS` above 0, for SECS seconds; then prints
//!   `idle_held=N errors=E` (N: still open; a connection the server closed, or that got
//!   data, is an error). When one process may not hold CONNS descriptors (RLIMIT_NOFILE's
//!   hard limit, which only CAP_SYS_RESOURCE can raise), the connections are spread over
//!   worker processes (this program again) and the lines are their sums.
//! - `sink`: a slow reader for the backpressure check. CONNS connections (default 1) send
//!   nothing and read at most RATE bytes per second each (`-r`, default 65536; the receive
//!   buffer is set to 64 KiB before connecting) for SECS seconds, then print
//!   `bytes=N secs=S mbps=M conns=C errors=E` (a connection closed early is an error).
//!
//! `-p` may list several ports (`-p 4000,4001,4002`): connection i then goes to the
//! (i mod n)-th, which lets one run hold more connections than one server process may
//! accept (its own RLIMIT_NOFILE). `-H HOST` is the server's IPv4 address (default 127.0.0.1). `-a K` binds connection i
//! to source address 127.0.0.(1 + i mod K) before connecting (with
//! IP_BIND_ADDRESS_NO_PORT, so ports are picked per destination at connect time): each
//! source address brings its own ephemeral port range (net.ipv4.ip_local_port_range),
//! which is how 50,000 connections to one port fit. Client sockets set TCP_NODELAY.
//!
//! Output for pingpong and stream: readable lines on stderr, then one line on stdout
//!   roundtrips=N secs=S rps=R p50_us=A p99_us=B mean_us=C max_us=D conns=N stalled=K errors=E mbps=M
//! (the C loadgen's line plus `mbps`: megabytes (10^6) per second of echoed payload
//! received back by the client while measuring, one direction). `stalled` counts
//! connections that completed no round trip while measuring. The exit status is 0 only if
//! no connection failed and, for pingpong and stream, at least one round trip completed;
//! errors are counted and the first ten described on stderr. The run ends at WARMUP +
//! SECS plus a short grace for messages in flight (0.2 s, stream 1 s), whatever the
//! server does; SIGTERM/SIGINT end the measurement early.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, BufRead, BufReader, Write};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use rlua_net_bench::{self as sys, ERR, Epoll, HUP, Histogram, IN, OUT};

const USAGE: &str = "usage: loadgen -p PORT [-c CONNS] [-s SIZE] [-d SECS] [-w WARMUP] \
[-m pingpong|stream|idle|sink] [-H HOST] [-a K] [-r RATE]";
const MAX_SIZE: usize = 1 << 20;
const MAX_CONNS: usize = 1_000_000;
/// Handshakes (connect + one-byte echo) in progress at once in idle mode.
const IDLE_WINDOW: usize = 128;
/// An idle connection not open this long after its connect started has failed.
const IDLE_OPEN_TIMEOUT_NS: u64 = 30_000_000_000;
/// When no connection has opened for this long, the rest are given up.
const IDLE_STALL_NS: u64 = 30_000_000_000;
/// Descriptors kept free for stdio, epoll and the like.
const SPARE_FDS: u64 = 64;
const STDIN_TOKEN: u64 = u64::MAX;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    PingPong,
    Stream,
    Idle,
    Sink,
}

struct Opts {
    /// Server ports; connection i goes to ports[i mod len] (one port, as a rule).
    ports: Vec<u16>,
    conns: usize,
    size: usize,
    secs: f64,
    warmup: f64,
    mode: Mode,
    host: Ipv4Addr,
    /// Source addresses to spread over (0: let the kernel choose).
    addrs: usize,
    /// Number of the first connection (worker processes get a share).
    first: usize,
    /// A worker process of idle mode: also stops at end of stdin.
    worker: bool,
    rate: u64,
}

fn usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(2);
}

fn num<T: std::str::FromStr + PartialOrd + Copy>(s: &str, lo: T, hi: T) -> T {
    match s.parse::<T>() {
        Ok(v) if v >= lo && v <= hi => v,
        _ => usage(),
    }
}

fn parse_args() -> Opts {
    let mut o = Opts {
        ports: Vec::new(),
        conns: 0,
        size: 64,
        secs: -1.0,
        warmup: 1.0,
        mode: Mode::PingPong,
        host: Ipv4Addr::LOCALHOST,
        addrs: 0,
        first: 0,
        worker: false,
        rate: 65536,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "-W" {
            o.worker = true;
            continue;
        }
        if a == "-h" || a == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        if !a.starts_with('-') || a.len() < 2 || !a.is_char_boundary(2) {
            usage();
        }
        let (flag, inline) = a.split_at(2);
        let v = if inline.is_empty() { args.next().unwrap_or_else(|| usage()) } else { inline.to_string() };
        match flag {
            "-p" => o.ports = v.split(',').map(|p| num(p, 1u16, 65535)).collect(),
            "-c" => o.conns = num(&v, 1, MAX_CONNS),
            "-s" => o.size = num(&v, 1, MAX_SIZE),
            "-d" => o.secs = num(&v, 0.0, 86400.0),
            "-w" => o.warmup = num(&v, 0.0, 600.0),
            "-a" => o.addrs = num(&v, 1, 254),
            "-i" => o.first = num(&v, 0, MAX_CONNS),
            "-r" => o.rate = num(&v, 1, 1 << 40),
            "-H" => o.host = v.parse().unwrap_or_else(|_| usage()),
            "-m" => {
                o.mode = match v.as_str() {
                    "pingpong" | "ping-pong" => Mode::PingPong,
                    "stream" => Mode::Stream,
                    "idle" => Mode::Idle,
                    "sink" => Mode::Sink,
                    _ => usage(),
                }
            }
            _ => usage(),
        }
    }
    if o.ports.is_empty() {
        usage();
    }
    if o.conns == 0 {
        o.conns = if o.mode == Mode::Sink { 1 } else { 50 };
    }
    if o.secs < 0.0 {
        o.secs = if o.mode == Mode::Idle { 0.0 } else { 5.0 };
    }
    if matches!(o.mode, Mode::PingPong | Mode::Stream | Mode::Sink) && !(0.1..=600.0).contains(&o.secs) {
        eprintln!("loadgen: -d must be 0.1 to 600 seconds in this mode");
        usage();
    }
    o
}

fn ports_arg(o: &Opts) -> String {
    o.ports.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(",")
}

/// Counts failures and describes the first ten.
#[derive(Default)]
struct Errors {
    count: u64,
}

impl Errors {
    fn report(&mut self, conn: usize, what: fmt::Arguments) {
        if self.count < 10 {
            eprintln!("loadgen: connection {conn}: {what}");
        } else if self.count == 10 {
            eprintln!("loadgen: (further errors are only counted)");
        }
        self.count += 1;
    }
}

/// Creates connection `g`'s socket, binds its source address if asked, starts connecting
/// and registers it (writability first: the end of the connect).
fn open_conn(o: &Opts, ep: &Epoll, g: usize, token: u64) -> io::Result<OwnedFd> {
    let fd = sys::tcp_socket()?;
    let raw = fd.as_raw_fd();
    sys::set_int_opt(raw, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1)?;
    if o.mode == Mode::Sink {
        sys::set_int_opt(raw, libc::SOL_SOCKET, libc::SO_RCVBUF, 65536)?;
    }
    if o.addrs > 0 {
        let ip = Ipv4Addr::new(127, 0, 0, (1 + g % o.addrs) as u8);
        sys::bind_source(raw, ip).map_err(|e| io::Error::new(e.kind(), format!("bind {ip}: {e}")))?;
    }
    sys::connect(raw, o.host, o.ports[g % o.ports.len()])?;
    ep.add(raw, OUT, token)?;
    Ok(fd)
}

/// How a connect that epoll reported has ended.
fn connect_result(fd: RawFd, events: u32) -> Result<bool, io::Error> {
    if let Some(e) = sys::socket_error(fd)? {
        return Err(e);
    }
    Ok(events & (OUT | ERR | HUP) != 0)
}

fn check_nofile(o: &Opts, need: u64) -> io::Result<()> {
    let nofile = sys::raise_nofile(need);
    if let Some(why) = nofile.shortfall {
        return Err(io::Error::other(format!(
            "{why}; {} connections need about {need} descriptors (idle mode spreads over processes; this mode cannot)",
            o.conns
        )));
    }
    if nofile.limit < need {
        return Err(io::Error::other(format!("descriptor limit {} is below the {need} needed", nofile.limit)));
    }
    Ok(())
}

struct Summary {
    roundtrips: u64,
    span: f64,
    hist: Histogram,
    bytes: u64,
    conns: usize,
    stalled: u64,
    errors: u64,
}

fn print_summary(o: &Opts, s: &Summary) -> i32 {
    let rps = if s.span > 0.0 { s.roundtrips as f64 / s.span } else { 0.0 };
    let mbps = if s.span > 0.0 { s.bytes as f64 / s.span / 1e6 } else { 0.0 };
    let (p50, p99) = (s.hist.percentile(0.50) / 1e3, s.hist.percentile(0.99) / 1e3);
    let (mean, max) = (s.hist.mean() / 1e3, s.hist.max() as f64 / 1e3);
    let mode = if o.mode == Mode::Stream { "stream" } else { "ping-pong" };
    eprintln!(
        "loadgen: {}:{}, {mode}, {} connections, {}-byte {}, {:.1} s warm-up, {:.2} s measured",
        o.host,
        ports_arg(o),
        s.conns,
        o.size,
        if o.mode == Mode::Stream { "writes" } else { "messages" },
        o.warmup,
        s.span
    );
    eprintln!(
        "loadgen: {} round trips, {rps:.0}/s, {mbps:.2} MB/s echoed; latency p50 {p50:.1} us, p99 {p99:.1} us, mean {mean:.1} us, max {max:.1} us",
        s.roundtrips
    );
    if s.stalled > 0 {
        eprintln!("loadgen: {} connection(s) completed no round trip while measuring", s.stalled);
    }
    if s.errors > 0 {
        eprintln!("loadgen: {} connection(s) failed", s.errors);
    }
    println!(
        "roundtrips={} secs={:.3} rps={rps:.1} p50_us={p50:.1} p99_us={p99:.1} mean_us={mean:.1} max_us={max:.1} conns={} stalled={} errors={} mbps={mbps:.3}",
        s.roundtrips, s.span, s.conns, s.stalled, s.errors
    );
    if s.errors == 0 && s.roundtrips > 0 { 0 } else { 1 }
}

/// The measuring window: warm-up, measure, then stop with a grace period.
struct Phases {
    t_measure: u64,
    t_end: u64,
    grace: u64,
    measuring: bool,
    stopping: bool,
    t_start: u64,
    t_stop: u64,
    t_quit: u64,
}

impl Phases {
    fn new(o: &Opts, grace_ns: u64) -> Self {
        let t0 = sys::now_ns();
        let t_measure = t0 + (o.warmup * 1e9) as u64;
        Phases {
            t_measure,
            t_end: t_measure + (o.secs * 1e9) as u64,
            grace: grace_ns,
            measuring: false,
            stopping: false,
            t_start: 0,
            t_stop: 0,
            t_quit: u64::MAX,
        }
    }

    /// Moves on as time passes; returns the epoll timeout to the next change (ms).
    fn tick(&mut self) -> i32 {
        let now = sys::now_ns();
        if !self.measuring && !self.stopping && now >= self.t_measure {
            self.measuring = true;
            self.t_start = now;
        }
        if !self.stopping && (now >= self.t_end || sys::stop_requested()) {
            if !self.measuring {
                self.t_start = now;
            }
            self.measuring = false;
            self.stopping = true;
            self.t_stop = now;
            self.t_quit = now + self.grace;
        }
        let next = if self.stopping {
            self.t_quit
        } else if self.measuring {
            self.t_end
        } else {
            self.t_measure
        };
        (next.saturating_sub(now) / 1_000_000).min(1000) as i32 + 1
    }

    fn over(&self) -> bool {
        self.stopping && sys::now_ns() >= self.t_quit
    }

    fn span(&self) -> f64 {
        self.t_stop.saturating_sub(self.t_start) as f64 / 1e9
    }
}

// ----- ping-pong ---------------------------------------------------------------------

#[derive(PartialEq, Eq)]
enum PState {
    Connecting,
    Sending,
    Done,
}

struct PConn {
    fd: Option<OwnedFd>,
    state: PState,
    events: u32,
    seq: u64,
    sent: usize,
    got: usize,
    t_start: u64,
    measured: u64,
    msg: Vec<u8>,
}

struct Record {
    hist: Histogram,
    roundtrips: u64,
    bytes: u64,
}

impl Record {
    /// Prints the run's summary (ping-pong and stream alike); the exit status.
    fn report(self, o: &Opts, ph: &Phases, stalled: u64, errors: u64) -> i32 {
        print_summary(
            o,
            &Summary {
                roundtrips: self.roundtrips,
                span: ph.span(),
                hist: self.hist,
                bytes: self.bytes,
                conns: o.conns,
                stalled,
                errors,
            },
        )
    }
}

/// Fills the message for (connection, sequence number): xorshift bytes (the C load generator's formula).
fn make_msg(id: usize, seq: u64, msg: &mut [u8]) {
    let mut x = ((id as u64) << 32) ^ seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    for b in msg.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = (x >> 24) as u8;
    }
}

fn set_interest(ep: &Epoll, fd: RawFd, token: u64, have: &mut u32, want: u32) -> Result<(), String> {
    if *have != want {
        ep.modify(fd, want, token).map_err(|e| format!("epoll_ctl: {e}"))?;
        *have = want;
    }
    Ok(())
}

fn start_msg(id: usize, c: &mut PConn, stopping: bool) {
    if stopping {
        c.state = PState::Done;
        return;
    }
    c.seq += 1;
    make_msg(id, c.seq, &mut c.msg);
    c.sent = 0;
    c.got = 0;
    c.t_start = sys::now_ns();
    c.state = PState::Sending;
}

/// Sends what the kernel takes and reads what has come back; the echo of a large message
/// may start before it is all out, so the connection reads while it expects bytes.
fn pump(
    ep: &Epoll,
    id: usize,
    c: &mut PConn,
    buf: &mut [u8],
    rec: Option<&mut Record>,
    stopping: bool,
) -> Result<(), String> {
    let Some(fd) = c.fd.as_ref().map(|f| f.as_raw_fd()) else { return Ok(()) };
    let size = c.msg.len();
    let mut rec = rec;
    let mut fresh = false; // a message was just started: send it, then back to epoll
    loop {
        if c.state == PState::Sending && c.sent < size {
            match sys::send(fd, &c.msg[c.sent..]) {
                Ok(n) => c.sent += n,
                Err(e) if sys::interrupted(&e) => continue,
                Err(e) if sys::would_block(&e) => {}
                Err(e) => return Err(format!("send: {e}")),
            }
        }
        if c.state != PState::Sending {
            return set_interest(ep, fd, id as u64, &mut c.events, 0);
        }
        if fresh {
            break;
        }
        let outstanding = c.sent - c.got; // never read more than was sent: extra bytes are an error
        let want = outstanding.clamp(1, buf.len());
        match sys::recv(fd, &mut buf[..want]) {
            Ok(0) => return Err("server closed the connection".into()),
            Ok(n) => {
                if n > outstanding {
                    return Err("more bytes echoed than were sent".into());
                }
                if buf[..n] != c.msg[c.got..c.got + n] {
                    return Err("echoed bytes differ from the bytes sent".into());
                }
                c.got += n;
                if c.got == size {
                    let t = sys::now_ns() - c.t_start;
                    if let Some(r) = rec.as_deref_mut() {
                        r.hist.record(t);
                        r.roundtrips += 1;
                        r.bytes += size as u64;
                        c.measured += 1;
                    }
                    start_msg(id, c, stopping);
                    fresh = true;
                }
            }
            Err(e) if sys::interrupted(&e) => {}
            Err(e) if sys::would_block(&e) => break,
            Err(e) => return Err(format!("recv: {e}")),
        }
    }
    let want = IN | if c.sent < size { OUT } else { 0 };
    set_interest(ep, fd, id as u64, &mut c.events, want)
}

fn pingpong(o: &Opts) -> io::Result<i32> {
    check_nofile(o, o.conns as u64 + SPARE_FDS)?;
    let ep = Epoll::new()?;
    let mut errors = Errors::default();
    let mut conns: Vec<PConn> = Vec::with_capacity(o.conns);
    for i in 0..o.conns {
        let mut c = PConn {
            fd: None,
            state: PState::Connecting,
            events: OUT,
            seq: 0,
            sent: 0,
            got: 0,
            t_start: 0,
            measured: 0,
            msg: vec![0; o.size],
        };
        match open_conn(o, &ep, o.first + i, i as u64) {
            Ok(fd) => c.fd = Some(fd),
            Err(e) => {
                errors.report(i, format_args!("connect: {e}"));
                c.state = PState::Done;
            }
        }
        conns.push(c);
    }

    let mut rec = Record { hist: Histogram::new(), roundtrips: 0, bytes: 0 };
    let mut buf = vec![0u8; 65536];
    let mut events = sys::event_buffer(256);
    let mut ph = Phases::new(o, 200_000_000);
    loop {
        let timeout = ph.tick();
        if ph.over() {
            break;
        }
        if ph.stopping && !conns.iter().any(|c| c.fd.is_some() && c.state == PState::Sending) {
            break;
        }
        let n = ep.wait(&mut events, timeout)?;
        for ev in &events[..n] {
            let i = ev.u64 as usize;
            let c = &mut conns[i];
            let Some(fd) = c.fd.as_ref().map(|f| f.as_raw_fd()) else { continue };
            let mut result = Ok(());
            match c.state {
                PState::Done => {
                    // Stopped: only a hang-up or an error can be reported; stop listening.
                    let _ = ep.delete(fd);
                    continue;
                }
                PState::Connecting => match connect_result(fd, ev.events) {
                    Err(e) => result = Err(format!("connect: {e}")),
                    Ok(false) => continue,
                    Ok(true) => start_msg(i, c, ph.stopping),
                },
                PState::Sending => {}
            }
            if result.is_ok() {
                let r = if ph.measuring { Some(&mut rec) } else { None };
                result = pump(&ep, i, c, &mut buf, r, ph.stopping);
            }
            if let Err(why) = result {
                errors.report(
                    i,
                    format_args!("message {}, {}/{} sent, {}/{} back: {why}", c.seq, c.sent, o.size, c.got, o.size),
                );
                c.fd = None;
                c.state = PState::Done;
            }
        }
    }
    let stalled = conns.iter().filter(|c| c.measured == 0).count() as u64;
    drop(conns);
    Ok(rec.report(o, &ph, stalled, errors.count))
}

// ----- stream --------------------------------------------------------------------------

/// Length of the repeating pseudo-random pattern the streams are cut from (a prime, so a
/// shifted or repeated piece does not line up with the pattern again).
const PATTERN: usize = 65_521;

struct SConn {
    fd: Option<OwnedFd>,
    connecting: bool,
    events: u32,
    base: u64,
    sent: u64,
    got: u64,
    chunk_left: usize,
    /// (stream offset one past the chunk's last byte, time of its first send attempt)
    chunks: VecDeque<(u64, u64)>,
    measured: u64,
}

/// What every stream connection shares.
struct StreamCx<'a> {
    ep: &'a Epoll,
    o: &'a Opts,
    pattern: &'a [u8],
}

fn stream_event(
    cx: &StreamCx,
    i: usize,
    c: &mut SConn,
    ev: u32,
    buf: &mut [u8],
    mut rec: Option<&mut Record>,
    stopping: bool,
) -> Result<(), String> {
    let StreamCx { ep, o, pattern } = *cx;
    let Some(fd) = c.fd.as_ref().map(|f| f.as_raw_fd()) else { return Ok(()) };
    if c.connecting {
        match connect_result(fd, ev) {
            Err(e) => return Err(format!("connect: {e}")),
            Ok(false) => return Ok(()),
            Ok(true) => c.connecting = false,
        }
    }
    if ev & (IN | HUP | ERR) != 0 {
        for _ in 0..4 {
            let outstanding = c.sent - c.got;
            let want = (outstanding as usize).clamp(1, buf.len());
            match sys::recv(fd, &mut buf[..want]) {
                Ok(0) => return Err("server closed the connection".into()),
                Ok(n) => {
                    if n as u64 > outstanding {
                        return Err("more bytes echoed than were sent".into());
                    }
                    let mut done = 0;
                    while done < n {
                        let at = ((c.base + c.got + done as u64) % PATTERN as u64) as usize;
                        let k = (n - done).min(PATTERN - at);
                        if buf[done..done + k] != pattern[at..at + k] {
                            return Err(format!(
                                "echoed bytes differ from the bytes sent (stream offset {})",
                                c.got + done as u64
                            ));
                        }
                        done += k;
                    }
                    c.got += n as u64;
                    if let Some(r) = rec.as_deref_mut() {
                        r.bytes += n as u64;
                    }
                    let now = sys::now_ns();
                    while let Some(&(end, t)) = c.chunks.front() {
                        if end > c.got {
                            break;
                        }
                        c.chunks.pop_front();
                        if let Some(r) = rec.as_deref_mut() {
                            r.hist.record(now - t);
                            r.roundtrips += 1;
                            c.measured += 1;
                        }
                    }
                }
                Err(e) if sys::interrupted(&e) => {}
                Err(e) if sys::would_block(&e) => break,
                Err(e) => return Err(format!("recv: {e}")),
            }
        }
    }
    if !stopping && ev & OUT != 0 {
        // At most four chunks per wake-up, so every connection gets its turn.
        for _ in 0..4 {
            if c.chunk_left == 0 {
                c.chunk_left = o.size;
                c.chunks.push_back((c.sent + o.size as u64, sys::now_ns()));
            }
            let at = ((c.base + c.sent) % PATTERN as u64) as usize;
            match sys::send(fd, &pattern[at..at + c.chunk_left]) {
                Ok(n) => {
                    c.sent += n as u64;
                    c.chunk_left -= n;
                    if c.chunk_left > 0 {
                        break;
                    }
                }
                Err(e) if sys::interrupted(&e) => {}
                Err(e) if sys::would_block(&e) => break,
                Err(e) => return Err(format!("send: {e}")),
            }
        }
    }
    let want = if stopping { IN } else { IN | OUT };
    set_interest(ep, fd, i as u64, &mut c.events, want)
}

fn stream(o: &Opts) -> io::Result<i32> {
    check_nofile(o, o.conns as u64 + SPARE_FDS)?;
    let ep = Epoll::new()?;
    let mut errors = Errors::default();
    // The pattern, plus SIZE more bytes so that any chunk is one contiguous slice.
    let mut pattern = vec![0u8; PATTERN + o.size];
    make_msg(0x5eed, 1, &mut pattern[..PATTERN]);
    for k in 0..o.size {
        pattern[PATTERN + k] = pattern[k % PATTERN];
    }
    let mut conns: Vec<SConn> = Vec::with_capacity(o.conns);
    for i in 0..o.conns {
        let fd = match open_conn(o, &ep, o.first + i, i as u64) {
            Ok(fd) => Some(fd),
            Err(e) => {
                errors.report(i, format_args!("connect: {e}"));
                None
            }
        };
        conns.push(SConn {
            fd,
            connecting: true,
            events: OUT,
            base: ((o.first + i) as u64 * 4099) % PATTERN as u64,
            sent: 0,
            got: 0,
            chunk_left: 0,
            chunks: VecDeque::new(),
            measured: 0,
        });
    }
    let mut rec = Record { hist: Histogram::new(), roundtrips: 0, bytes: 0 };
    let mut buf = vec![0u8; 65536];
    let mut events = sys::event_buffer(256);
    let mut ph = Phases::new(o, 1_000_000_000);
    let cx = StreamCx { ep: &ep, o, pattern: &pattern };
    loop {
        let timeout = ph.tick();
        if ph.over() {
            break;
        }
        if ph.stopping && !conns.iter().any(|c| c.fd.is_some() && c.got < c.sent) {
            break;
        }
        let n = ep.wait(&mut events, timeout)?;
        for ev in &events[..n] {
            let i = ev.u64 as usize;
            let c = &mut conns[i];
            let r = if ph.measuring { Some(&mut rec) } else { None };
            if let Err(why) = stream_event(&cx, i, c, ev.events, &mut buf, r, ph.stopping) {
                errors.report(i, format_args!("{} bytes sent, {} back: {why}", c.sent, c.got));
                c.fd = None;
            }
        }
    }
    let stalled = conns.iter().filter(|c| c.measured == 0).count() as u64;
    Ok(rec.report(o, &ph, stalled, errors.count))
}

// ----- idle ----------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum IState {
    Waiting,
    Connecting,
    Pinged,
    Open,
    Failed,
}

struct IConn {
    fd: Option<OwnedFd>,
    state: IState,
    t: u64,
}

struct Idle<'a> {
    o: &'a Opts,
    ep: Epoll,
    conns: Vec<IConn>,
    errors: Errors,
    in_progress: usize,
    open: usize,
}

impl Idle<'_> {
    fn fail(&mut self, i: usize, what: fmt::Arguments) {
        let c = &mut self.conns[i];
        if matches!(c.state, IState::Connecting | IState::Pinged) {
            self.in_progress -= 1;
        }
        if c.state == IState::Open {
            self.open -= 1;
        }
        c.state = IState::Failed;
        c.fd = None;
        self.errors.report(self.o.first + i, what);
    }

    fn start(&mut self, i: usize) {
        match open_conn(self.o, &self.ep, self.o.first + i, i as u64) {
            Ok(fd) => {
                self.conns[i] = IConn { fd: Some(fd), state: IState::Connecting, t: sys::now_ns() };
                self.in_progress += 1;
            }
            Err(e) => self.fail(i, format_args!("connect: {e}")),
        }
    }

    fn event(&mut self, i: usize, ev: u32) {
        let Some(fd) = self.conns[i].fd.as_ref().map(|f| f.as_raw_fd()) else { return };
        match self.conns[i].state {
            IState::Connecting => match connect_result(fd, ev) {
                Err(e) => self.fail(i, format_args!("connect: {e}")),
                Ok(false) => {}
                Ok(true) => match sys::send(fd, b"i") {
                    Ok(1) => {
                        if let Err(e) = self.ep.modify(fd, IN, i as u64) {
                            self.fail(i, format_args!("epoll_ctl: {e}"));
                        } else {
                            self.conns[i].state = IState::Pinged;
                        }
                    }
                    Ok(_) => self.fail(i, format_args!("send: the first byte was not taken")),
                    Err(e) => self.fail(i, format_args!("send: {e}")),
                },
            },
            IState::Pinged => {
                let mut b = [0u8; 2];
                match sys::recv(fd, &mut b) {
                    Ok(1) if b[0] == b'i' => {
                        self.conns[i].state = IState::Open;
                        self.in_progress -= 1;
                        self.open += 1;
                    }
                    Ok(0) => self.fail(i, format_args!("the server closed the connection before echoing")),
                    Ok(_) => self.fail(i, format_args!("wrong echo of the first byte")),
                    Err(e) if sys::would_block(&e) || sys::interrupted(&e) => {}
                    Err(e) => self.fail(i, format_args!("recv: {e}")),
                }
            }
            IState::Open => {
                let mut b = [0u8; 64];
                match sys::recv(fd, &mut b) {
                    Ok(0) => self.fail(i, format_args!("the server closed an idle connection")),
                    Ok(_) => self.fail(i, format_args!("unexpected data on an idle connection")),
                    Err(e) if sys::would_block(&e) || sys::interrupted(&e) => {}
                    Err(e) => self.fail(i, format_args!("recv: {e}")),
                }
            }
            IState::Waiting | IState::Failed => {}
        }
    }
}

fn idle(o: &Opts) -> io::Result<i32> {
    let need = o.conns as u64 + SPARE_FDS;
    let nofile = sys::raise_nofile(need);
    if nofile.limit < need {
        if o.worker {
            eprintln!("loadgen: worker: descriptor limit {} below the {need} needed; expect errors", nofile.limit);
        } else {
            if let Some(why) = &nofile.shortfall {
                eprintln!("loadgen: {why}");
            }
            let per = nofile.limit.saturating_sub(SPARE_FDS).max(1) as usize;
            return idle_workers(o, per);
        }
    }
    let mut st = Idle {
        o,
        ep: Epoll::new()?,
        conns: (0..o.conns).map(|_| IConn { fd: None, state: IState::Waiting, t: 0 }).collect(),
        errors: Errors::default(),
        in_progress: 0,
        open: 0,
    };
    if o.worker {
        st.ep.add(0, IN, STDIN_TOKEN)?;
    }
    let mut events = sys::event_buffer(1024);
    let t0 = sys::now_ns();
    let mut next = 0;
    let mut last_scan = t0;
    let mut last_progress = t0;
    let mut opened = 0;
    let mut stdin_closed = false;
    // Open: at most IDLE_WINDOW handshakes at a time.
    while next < o.conns || st.in_progress > 0 {
        if sys::stop_requested() {
            break;
        }
        while st.in_progress < IDLE_WINDOW && next < o.conns {
            st.start(next);
            next += 1;
        }
        let n = st.ep.wait(&mut events, 100)?;
        for ev in &events[..n] {
            if ev.u64 == STDIN_TOKEN {
                stdin_closed = true;
                continue;
            }
            st.event(ev.u64 as usize, ev.events);
        }
        if stdin_closed {
            break;
        }
        let now = sys::now_ns();
        if st.open > opened {
            opened = st.open;
            last_progress = now;
        } else if now - last_progress > IDLE_STALL_NS {
            // The server has stopped taking connections (out of descriptors, say): give up
            // on the rest instead of timing them out a window at a time.
            let stall = IDLE_STALL_NS / 1_000_000_000;
            for i in 0..next {
                if matches!(st.conns[i].state, IState::Connecting | IState::Pinged) {
                    st.fail(i, format_args!("no connection completed for {stall} s; given up"));
                }
            }
            if next < o.conns {
                eprintln!("loadgen: idle: {} connections not attempted: none completed for {stall} s", o.conns - next);
                st.errors.count += (o.conns - next) as u64;
                next = o.conns;
            }
        }
        if now - last_scan > 1_000_000_000 {
            last_scan = now;
            for i in 0..next {
                let c = &st.conns[i];
                if matches!(c.state, IState::Connecting | IState::Pinged) && now - c.t > IDLE_OPEN_TIMEOUT_NS {
                    let what = if c.state == IState::Connecting { "connect" } else { "echo of the first byte" };
                    st.fail(i, format_args!("{what}: no answer within {} s", IDLE_OPEN_TIMEOUT_NS / 1_000_000_000));
                }
            }
        }
    }
    let took = (sys::now_ns() - t0) as f64 / 1e9;
    eprintln!(
        "loadgen: idle: {} of {} connections open to {}:{} after {took:.2} s{}, {} failed",
        st.open,
        o.conns,
        o.host,
        ports_arg(o),
        if o.addrs > 0 { format!(" (source addresses 127.0.0.1 to 127.0.0.{})", o.addrs) } else { String::new() },
        st.errors.count
    );
    println!("idle_open={} errors={}", st.open, st.errors.count);
    io::stdout().flush()?;

    // Hold until a signal, the end of -d or (worker) the end of stdin.
    let t_hold_end = if o.secs > 0.0 { sys::now_ns() + (o.secs * 1e9) as u64 } else { u64::MAX };
    while !stdin_closed && !sys::stop_requested() && sys::now_ns() < t_hold_end {
        let timeout = ((t_hold_end - sys::now_ns()) / 1_000_000).min(500) as i32 + 1;
        let n = st.ep.wait(&mut events, timeout)?;
        for ev in &events[..n] {
            if ev.u64 == STDIN_TOKEN {
                let mut b = [0u8; 64];
                match sys::read_fd(0, &mut b) {
                    Ok(0) => stdin_closed = true,
                    Ok(_) => {}
                    Err(e) if sys::would_block(&e) || sys::interrupted(&e) => {}
                    Err(_) => stdin_closed = true,
                }
                continue;
            }
            st.event(ev.u64 as usize, ev.events);
        }
    }
    println!("idle_held={} errors={}", st.open, st.errors.count);
    io::stdout().flush()?;
    Ok(if st.errors.count == 0 && st.open == o.conns { 0 } else { 1 })
}

struct Worker {
    child: Child,
    out: BufReader<ChildStdout>,
    count: usize,
}

/// Reads `key=N errors=E` from a worker; None if it printed something else or ended.
fn worker_line(w: &mut Worker, key: &str) -> Option<(u64, u64)> {
    let mut line = String::new();
    if w.out.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut n = None;
    let mut e = None;
    for kv in line.split_whitespace() {
        match kv.split_once('=') {
            Some((k, v)) if k == key => n = v.parse().ok(),
            Some(("errors", v)) => e = v.parse().ok(),
            _ => {}
        }
    }
    Some((n?, e?))
}

/// Idle mode over several processes, each holding at most `per` connections.
fn idle_workers(o: &Opts, per: usize) -> io::Result<i32> {
    let exe = std::env::current_exe()?;
    let k = o.conns.div_ceil(per);
    eprintln!("loadgen: idle: spreading {} connections over {k} worker processes of at most {per}", o.conns);
    let mut workers = Vec::with_capacity(k);
    let mut errors = 0u64;
    for w in 0..k {
        let first = w * per;
        let count = per.min(o.conns - first);
        let mut cmd = Command::new(&exe);
        cmd.args(["-m", "idle", "-W", "-d", "0"]).args(["-p", &ports_arg(o), "-H", &o.host.to_string()]).args([
            "-c",
            &count.to_string(),
            "-i",
            &(o.first + first).to_string(),
        ]);
        if o.addrs > 0 {
            cmd.args(["-a", &o.addrs.to_string()]);
        }
        let mut child = match cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("loadgen: cannot start worker {w}: {e}");
                errors += count as u64;
                continue;
            }
        };
        let Some(out) = child.stdout.take() else {
            eprintln!("loadgen: worker {w}: no stdout pipe");
            errors += count as u64;
            let _ = child.kill();
            let _ = child.wait();
            continue;
        };
        workers.push(Worker { child, out: BufReader::new(out), count });
    }
    let mut open = 0u64;
    for w in workers.iter_mut() {
        match worker_line(w, "idle_open") {
            Some((n, e)) => {
                open += n;
                errors += e;
            }
            None => {
                eprintln!("loadgen: a worker (pid {}) ended without reporting", w.child.id());
                errors += w.count as u64;
            }
        }
    }
    println!("idle_open={open} errors={errors}");
    io::stdout().flush()?;

    let t_hold_end = if o.secs > 0.0 { sys::now_ns() + (o.secs * 1e9) as u64 } else { u64::MAX };
    'hold: while !sys::stop_requested() && sys::now_ns() < t_hold_end {
        for w in workers.iter_mut() {
            if let Ok(Some(status)) = w.child.try_wait() {
                eprintln!("loadgen: worker pid {} ended early ({status})", w.child.id());
                break 'hold;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // The end of their stdin tells the workers to report and go.
    let mut held = 0u64;
    let mut held_errors = 0u64;
    for w in workers.iter_mut() {
        drop(w.child.stdin.take());
    }
    for w in workers.iter_mut() {
        match worker_line(w, "idle_held") {
            Some((n, e)) => {
                held += n;
                held_errors += e;
            }
            None => held_errors += w.count as u64,
        }
        let _ = w.child.wait();
    }
    println!("idle_held={held} errors={}", errors.max(held_errors));
    io::stdout().flush()?;
    Ok(if errors == 0 && held_errors == 0 && held == o.conns as u64 { 0 } else { 1 })
}

// ----- sink ----------------------------------------------------------------------------

fn sink(o: &Opts) -> io::Result<i32> {
    check_nofile(o, o.conns as u64 + SPARE_FDS)?;
    let ep = Epoll::new()?;
    let mut errors = Errors::default();
    let mut fds: Vec<Option<OwnedFd>> = Vec::with_capacity(o.conns);
    for i in 0..o.conns {
        match open_conn(o, &ep, o.first + i, i as u64) {
            Ok(fd) => fds.push(Some(fd)),
            Err(e) => {
                errors.report(i, format_args!("connect: {e}"));
                fds.push(None);
            }
        }
    }
    // Wait for the connects (5 s at most), then read on a 100 ms tick.
    let mut events = sys::event_buffer(256);
    let mut pending = fds.iter().filter(|f| f.is_some()).count();
    let t_connect = sys::now_ns() + 5_000_000_000;
    while pending > 0 && sys::now_ns() < t_connect && !sys::stop_requested() {
        let n = ep.wait(&mut events, 100)?;
        for ev in &events[..n] {
            let i = ev.u64 as usize;
            let Some(fd) = fds[i].as_ref().map(|f| f.as_raw_fd()) else { continue };
            match connect_result(fd, ev.events) {
                Ok(false) => continue,
                Ok(true) => {
                    let _ = ep.delete(fd);
                }
                Err(e) => {
                    errors.report(i, format_args!("connect: {e}"));
                    fds[i] = None;
                }
            }
            pending -= 1;
        }
    }
    let per_tick = (o.rate / 10).max(1) as usize;
    let mut buf = vec![0u8; per_tick.min(1 << 20)];
    let mut bytes = 0u64;
    let t0 = sys::now_ns();
    let t_end = t0 + (o.secs * 1e9) as u64;
    let mut tick = t0;
    while sys::now_ns() < t_end && !sys::stop_requested() {
        for (i, slot) in fds.iter_mut().enumerate() {
            let Some(fd) = slot.as_ref().map(|f| f.as_raw_fd()) else { continue };
            let mut left = per_tick;
            while left > 0 {
                let k = left.min(buf.len());
                match sys::recv(fd, &mut buf[..k]) {
                    Ok(0) => {
                        errors.report(i, format_args!("the server closed the connection"));
                        *slot = None;
                        break;
                    }
                    Ok(n) => {
                        bytes += n as u64;
                        left -= n;
                    }
                    Err(e) if sys::interrupted(&e) => {}
                    Err(e) if sys::would_block(&e) => break,
                    Err(e) => {
                        errors.report(i, format_args!("recv: {e}"));
                        *slot = None;
                        break;
                    }
                }
            }
        }
        tick += 100_000_000;
        let now = sys::now_ns();
        if tick > now {
            std::thread::sleep(Duration::from_nanos((tick - now).min(t_end.saturating_sub(now))));
        }
    }
    let secs = (sys::now_ns() - t0) as f64 / 1e9;
    let mbps = bytes as f64 / secs / 1e6;
    eprintln!(
        "loadgen: sink: {} connections to {}:{}, read {bytes} bytes in {secs:.2} s ({mbps:.3} MB/s, at most {} B/s each)",
        o.conns,
        o.host,
        ports_arg(o),
        o.rate
    );
    println!("bytes={bytes} secs={secs:.3} mbps={mbps:.3} conns={} errors={}", o.conns, errors.count);
    Ok(if errors.count == 0 && bytes > 0 { 0 } else { 1 })
}

fn main() {
    let o = parse_args();
    sys::catch_stop_signals();
    let _ = sys::now_ns();
    let r = match o.mode {
        Mode::PingPong => pingpong(&o),
        Mode::Stream => stream(&o),
        Mode::Idle => idle(&o),
        Mode::Sink => sink(&o),
    };
    match r {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(1);
        }
    }
}
