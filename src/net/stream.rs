//! Stream sockets (TCP and Unix, plain or TLS): non-blocking connect, reads into the
//! reactor's shared buffer, a write queue with per-chunk completion, and the TLS handshake.
//!
//! Events a stream emits to its handler (`s:on(fn)` → `fn(event, ...)`):
//! `connect`, `handshake`, `data`(chunk) or `readable` (per `s:watch`), `eof`,
//! `sent`(tag) per tagged chunk handed to the kernel, `drain` when the queue empties,
//! `error`(message, errno).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::rc::Rc;

use mlua::{AnyUserData, IntoLuaMulti, Lua, MultiValue, UserData, UserDataMethods, Value};
use native_tls::{HandshakeError, MidHandshakeTlsStream, TlsStream};
use socket2::Socket;

use super::buffer::Buffer;
use super::common::{self, SocketObject};
use super::error::{errno, fail, fail_msg, message, misuse, would_block};
use super::{addr, fdpass, reactor_of, tls};
use crate::reactor::{Dir, Pollable, READ_BUDGET, Reactor, SourceBase, Waitable};

/// Default bound on bytes waiting in one stream's write queue.
pub const QUEUE_LIMIT: usize = 64 * 1024 * 1024;
/// Default bound on bytes a delimiter or byte-count read may buffer.
pub const READ_LIMIT: usize = 16 * 1024 * 1024;

/// The socket as native-tls sees it: shared, so a failed handshake cannot close the fd
/// behind the reactor's back.
#[derive(Debug)]
pub struct Shared(Rc<Socket>, Rc<Cell<Option<Dir>>>);

// native-tls only says "would block"; which direction blocked is recorded here, so a TLS
// stream can tell whether it waits to read or to write (`s:tls_want()`).
impl Read for Shared {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = (&*self.0).read(buf);
        if r.as_ref().is_err_and(would_block) {
            self.1.set(Some(Dir::Read));
        }
        r
    }
}
impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = (&*self.0).write(buf);
        if r.as_ref().is_err_and(would_block) {
            self.1.set(Some(Dir::Write));
        }
        r
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Conn {
    Plain,
    Handshaking(MidHandshakeTlsStream<Shared>),
    Tls(Box<TlsStream<Shared>>),
    Dead,
}

enum TlsStart {
    Client(native_tls::TlsConnector, String),
    Server(native_tls::TlsAcceptor),
}

struct Chunk {
    data: Vec<u8>,
    off: usize,
    tag: Option<Value>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Watch {
    Off,
    Data,
    Readable,
}

/// Outcome of one read attempt.
enum Got {
    Data(mlua::LuaString),
    Block,
    Eof,
    Limit,
    Fail(String, i32),
}

impl IntoLuaMulti for Got {
    /// `data` | `false` (would block) | `nil` (EOF) | `nil, message, errno`.
    fn into_lua_multi(self, lua: &Lua) -> mlua::Result<MultiValue> {
        match self {
            Got::Data(s) => s.into_lua_multi(lua),
            Got::Block => false.into_lua_multi(lua),
            Got::Eof => Value::Nil.into_lua_multi(lua),
            Got::Limit => fail_msg(lua, "read buffer limit reached", libc::ENOBUFS),
            Got::Fail(m, c) => fail_msg(lua, m, c),
        }
    }
}

pub struct StreamSrc {
    base: SourceBase,
    sock: RefCell<Option<Rc<Socket>>>,
    conn: RefCell<Conn>,
    connecting: Cell<bool>,
    pending_tls: RefCell<Option<TlsStart>>,
    /// A TLS handshake finished but `handshake` was not emitted yet.
    announce_tls: Cell<bool>,
    failed: RefCell<Option<(String, i32)>>,
    eof: Cell<bool>,
    watch: Cell<Watch>,
    handler: Cell<bool>,
    hold: Cell<bool>,
    inbuf: RefCell<Buffer>,
    outq: RefCell<VecDeque<Chunk>>,
    queued: Cell<usize>,
    queue_limit: Cell<usize>,
    /// `shutdown("w")` asked while data was queued: done once it drains.
    shutdown_after_drain: Cell<bool>,
    /// `close(true)` asked while data was queued: closed once it drains.
    close_after_drain: Cell<bool>,
    /// Tags of chunks written inside `queue` whose `sent` is still to be emitted.
    sent_ready: RefCell<Vec<Value>>,
    /// Whether `sent` events reach the handler (`s:want_sent`); asked when each is due.
    want_sent: Cell<bool>,
    /// Inside `drive`: a `sent` that falls due there is emitted before it returns.
    driving: Cell<bool>,
    /// The last read of a plain socket came back short and nothing has confirmed that it
    /// drained the kernel's queue: the loop probes the socket after its next poll unless an
    /// edge comes first (see `Reactor::verify`). Meanwhile waits treat it as not readable.
    unconfirmed: Cell<bool>,
    /// A TCP stream (not a Unix one).
    tcp: bool,
    /// Since that short read nothing was read: a lazy read (one whose caller waits on the
    /// loop when told "would block") skips the syscall once, as it would find nothing.
    skip_read: Cell<bool>,
    /// The direction the TLS layer last blocked on.
    tls_want: Rc<Cell<Option<Dir>>>,
}

pub struct Stream(pub Rc<StreamSrc>);

impl StreamSrc {
    /// Registers `sock` with the reactor and wraps it in a Lua object.
    pub fn open(
        lua: &Lua,
        reactor: &Rc<Reactor>,
        sock: Socket,
        connecting: bool,
    ) -> mlua::Result<io::Result<AnyUserData>> {
        let obj = reactor.next_id();
        let fd = sock.as_raw_fd();
        let tcp = matches!(sock.domain(), Ok(d) if d == socket2::Domain::IPV4 || d == socket2::Domain::IPV6);
        let sock = Rc::new(sock);
        let made = reactor.register(fd, obj, |base| StreamSrc {
            base,
            sock: RefCell::new(Some(sock)),
            conn: RefCell::new(Conn::Plain),
            connecting: Cell::new(connecting),
            pending_tls: RefCell::new(None),
            announce_tls: Cell::new(false),
            failed: RefCell::new(None),
            eof: Cell::new(false),
            watch: Cell::new(Watch::Off),
            handler: Cell::new(false),
            hold: Cell::new(false),
            inbuf: RefCell::new(Buffer::default()),
            outq: RefCell::new(VecDeque::new()),
            queued: Cell::new(0),
            queue_limit: Cell::new(QUEUE_LIMIT),
            shutdown_after_drain: Cell::new(false),
            close_after_drain: Cell::new(false),
            sent_ready: RefCell::new(Vec::new()),
            want_sent: Cell::new(true),
            driving: Cell::new(false),
            unconfirmed: Cell::new(false),
            tcp,
            skip_read: Cell::new(false),
            tls_want: Rc::new(Cell::new(None)),
        });
        let src = match made {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        let ud = lua.create_userdata(Stream(Rc::clone(&src)))?;
        reactor.bind(obj, &ud)?;
        src.update_active()?;
        Ok(Ok(ud))
    }

    fn socket(&self) -> Option<Rc<Socket>> {
        self.sock.borrow().clone()
    }

    fn handshaking(&self) -> bool {
        self.pending_tls.borrow().is_some() || matches!(*self.conn.borrow(), Conn::Handshaking(_))
    }

    fn is_tls(&self) -> bool {
        !matches!(*self.conn.borrow(), Conn::Plain)
    }

    /// Anchors the object while it has something pending, so it survives being dropped by
    /// the script and keeps the loop alive.
    fn update_active(&self) -> mlua::Result<()> {
        let b = &self.base;
        // A connect or handshake in progress counts only when a handler will hear how it
        // ends; a script that polls holds its own reference (or a waiting task does).
        let active = !b.is_closed()
            && (self.hold.get()
                || !self.outq.borrow().is_empty()
                || (self.handler.get()
                    && (self.connecting.get()
                        || self.handshaking()
                        || (self.watch.get() != Watch::Off && !self.eof.get() && self.failed.borrow().is_none()))));
        b.reactor.set_anchor(b.obj, active)
    }

    /// Records the stream's first failure and reports it, once, as `error` on the next
    /// loop turn, wherever it was found (a read in the loop, or a send inside a handler).
    fn set_failed(&self, msg: String, code: i32) {
        self.eof.set(true);
        if self.failed.borrow().is_none() && !self.base.is_closed() {
            self.base.reactor.defer_error(self.base.obj, msg.clone(), code);
            *self.failed.borrow_mut() = Some((msg, code));
        }
        self.outq.borrow_mut().clear();
        self.queued.set(0);
    }

    fn failure(&self) -> Option<(String, i32)> {
        self.failed.borrow().clone()
    }

    // ----- raw I/O ----------------------------------------------------------------------

    fn io_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(sock) = self.socket() else { return Err(io::Error::from_raw_os_error(libc::EBADF)) };
        let Ok(mut conn) = self.conn.try_borrow_mut() else { return Err(io::ErrorKind::WouldBlock.into()) };
        match &mut *conn {
            Conn::Plain => (&*sock).read(buf),
            Conn::Tls(t) => t.read(buf),
            Conn::Handshaking(_) => Err(io::ErrorKind::WouldBlock.into()),
            Conn::Dead => Err(io::Error::from_raw_os_error(libc::EBADF)),
        }
    }

    fn io_write(&self, buf: &[u8]) -> io::Result<usize> {
        let Some(sock) = self.socket() else { return Err(io::Error::from_raw_os_error(libc::EBADF)) };
        let Ok(mut conn) = self.conn.try_borrow_mut() else { return Err(io::ErrorKind::WouldBlock.into()) };
        match &mut *conn {
            Conn::Plain => (&*sock).write(buf),
            Conn::Tls(t) => t.write(buf),
            Conn::Handshaking(_) => Err(io::ErrorKind::WouldBlock.into()),
            Conn::Dead => Err(io::Error::from_raw_os_error(libc::EBADF)),
        }
    }

    /// Whether writes may go to the kernel now.
    fn open_for_io(&self) -> bool {
        !self.base.is_closed() && !self.connecting.get() && !self.handshaking() && self.failed.borrow().is_none()
    }

    // ----- connect and TLS ---------------------------------------------------------------

    /// `Some(result)` once a pending connect has finished (then TLS, if asked, starts).
    fn finish_connect(&self) -> Option<Result<(), (String, i32)>> {
        if !self.connecting.get() {
            return Some(self.failure().map_or(Ok(()), Err));
        }
        if !self.base.writable() && !self.base.readable() {
            return None;
        }
        let sock = self.socket()?;
        let err = match sock.take_error() {
            Ok(Some(e)) | Err(e) => Some(e),
            Ok(None) => match sock.peer_addr() {
                Ok(_) => None,
                Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => return None,
                Err(e) => Some(e),
            },
        };
        self.connecting.set(false);
        if let Some(e) = err {
            let f = (message(&e), errno(&e));
            self.set_failed(f.0.clone(), f.1);
            return Some(Err(f));
        }
        if let Some(start) = self.pending_tls.borrow_mut().take() {
            if let Some(Err(f)) = self.start_tls(start) {
                return Some(Err(f));
            }
        }
        Some(Ok(()))
    }

    fn start_tls(&self, start: TlsStart) -> Option<Result<(), (String, i32)>> {
        self.announce_tls.set(true);
        let sock = Shared(self.socket()?, Rc::clone(&self.tls_want));
        let r = match start {
            TlsStart::Client(c, name) => c.connect(&name, sock),
            TlsStart::Server(a) => a.accept(sock),
        };
        self.settle(r)
    }

    /// Stores a handshake step's outcome; `None` while it still needs the network.
    fn settle(&self, r: Result<TlsStream<Shared>, HandshakeError<Shared>>) -> Option<Result<(), (String, i32)>> {
        match r {
            Ok(t) => {
                *self.conn.borrow_mut() = Conn::Tls(Box::new(t));
                Some(Ok(()))
            }
            Err(HandshakeError::WouldBlock(mid)) => {
                *self.conn.borrow_mut() = Conn::Handshaking(mid);
                self.base.clear(Dir::Read);
                None
            }
            Err(HandshakeError::Failure(e)) => {
                *self.conn.borrow_mut() = Conn::Dead;
                let f = (format!("TLS handshake failed: {e}"), libc::EPROTO);
                self.set_failed(f.0.clone(), f.1);
                Some(Err(f))
            }
        }
    }

    /// Advances a handshake in progress: `Some(Ok)` when done (or none was running).
    fn progress_handshake(&self) -> Option<Result<(), (String, i32)>> {
        if let Some(f) = self.failure() {
            return Some(Err(f));
        }
        if self.pending_tls.borrow().is_some() {
            return None;
        }
        let Ok(mut conn) = self.conn.try_borrow_mut() else { return None };
        if !matches!(*conn, Conn::Handshaking(_)) {
            return Some(Ok(()));
        }
        let Conn::Handshaking(mid) = std::mem::replace(&mut *conn, Conn::Dead) else { return None };
        drop(conn);
        self.settle(mid.handshake())
    }

    // ----- reading ----------------------------------------------------------------------

    /// Reads up to `max` bytes from the buffer or the socket (`lazy`: see `skip_read`).
    fn read_some(&self, lua: &Lua, max: usize, lazy: bool) -> mlua::Result<Got> {
        if self.base.is_closed() {
            return Ok(Got::Fail("socket is closed".into(), libc::EBADF));
        }
        if !self.inbuf.borrow().is_empty() {
            let bytes = self.inbuf.borrow_mut().take(max);
            return Ok(Got::Data(lua.create_string(bytes)?));
        }
        if self.eof.get() {
            return Ok(match self.failure() {
                Some((m, c)) => Got::Fail(m, c),
                None => Got::Eof,
            });
        }
        self.with_read(max, lazy, |n, bytes| match n {
            Ok(0) => Ok(Got::Eof),
            Ok(_) => Ok(Got::Data(lua.create_string(bytes)?)),
            Err(e) => Ok(e),
        })
    }

    /// One read syscall into the shared buffer (or a private one if it is busy), then `f`
    /// with the byte count (0 = EOF) and the bytes. Flags and EOF are updated here.
    fn with_read<R>(
        &self,
        max: usize,
        lazy: bool,
        f: impl FnOnce(Result<usize, Got>, &[u8]) -> mlua::Result<R>,
    ) -> mlua::Result<R> {
        let reactor = Rc::clone(&self.base.reactor);
        reactor.with_scratch(|buf| self.read_into(buf, max, lazy, f))
    }

    fn read_into<R>(
        &self,
        buf: &mut [u8],
        max: usize,
        lazy: bool,
        f: impl FnOnce(Result<usize, Got>, &[u8]) -> mlua::Result<R>,
    ) -> mlua::Result<R> {
        let len = max.clamp(1, buf.len());
        let plain = matches!(*self.conn.borrow(), Conn::Plain);
        if plain && lazy && self.skip_read.replace(false) {
            return f(Err(Got::Block), &[]);
        }
        self.skip_read.set(false);
        let r = self.io_read(&mut buf[..len]);
        let n = match r {
            Ok(0) => {
                self.eof.set(true);
                Ok(0)
            }
            Ok(n) => {
                if n < len && plain {
                    // A TCP read copies until the queue or the buffer runs out, so a short
                    // one drained it, unless a FIN came with the data (no new edge would
                    // tell) or urgent data stopped it: then, and on Unix streams (a read
                    // stops before bytes that carry descriptors), the read that would prove
                    // it waits for the loop's next poll, whose edge usually makes it needless.
                    self.base.clear(Dir::Read);
                    self.skip_read.set(true);
                    let sure = self.tcp && !self.base.hangup_possible();
                    if !sure && !self.unconfirmed.replace(true) {
                        self.base.reactor.verify(self.base.key);
                    }
                }
                Ok(n)
            }
            Err(e) if would_block(&e) => {
                self.base.clear(Dir::Read);
                self.unconfirmed.set(false);
                Err(Got::Block)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(Got::Block),
            Err(e) => {
                let (m, c) = (message(&e), errno(&e));
                self.set_failed(m.clone(), c);
                Err(Got::Fail(m, c))
            }
        };
        let count = *n.as_ref().unwrap_or(&0);
        f(n, &buf[..count])
    }

    /// Buffers more input: `Ok(true)` if bytes arrived, `Ok(false)` at EOF.
    fn fill(&self, room: usize, lazy: bool) -> mlua::Result<Result<bool, Got>> {
        self.with_read(room, lazy, |n, bytes| {
            Ok(match n {
                Ok(0) => Ok(false),
                Ok(_) => {
                    self.inbuf.borrow_mut().extend(bytes);
                    Ok(true)
                }
                Err(g) => Err(g),
            })
        })
    }

    /// Up to and including `delim`, once buffered; at most `limit` bytes are buffered.
    fn read_until(&self, lua: &Lua, delim: &[u8], limit: usize, lazy: bool) -> mlua::Result<Got> {
        loop {
            let found = self.inbuf.borrow_mut().find(delim);
            if let Some(n) = found {
                let bytes = self.inbuf.borrow_mut().take(n);
                return Ok(Got::Data(lua.create_string(bytes)?));
            }
            let have = self.inbuf.borrow().len();
            if have >= limit {
                return Ok(Got::Limit);
            }
            if self.eof.get() {
                return Ok(self.failure().map_or(Got::Eof, |(m, c)| Got::Fail(m, c)));
            }
            match self.fill(limit - have, lazy)? {
                Ok(true) => {}
                Ok(false) => return Ok(Got::Eof),
                Err(g) => return Ok(g),
            }
        }
    }

    /// Exactly `n` bytes, once buffered.
    fn read_exact(&self, lua: &Lua, n: usize, lazy: bool) -> mlua::Result<Got> {
        loop {
            let have = self.inbuf.borrow().len();
            if have >= n {
                let bytes = self.inbuf.borrow_mut().take(n);
                return Ok(Got::Data(lua.create_string(bytes)?));
            }
            if self.eof.get() {
                return Ok(self.failure().map_or(Got::Eof, |(m, c)| Got::Fail(m, c)));
            }
            match self.fill(n - have, lazy)? {
                Ok(true) => {}
                Ok(false) => return Ok(Got::Eof),
                Err(g) => return Ok(g),
            }
        }
    }

    // ----- writing ----------------------------------------------------------------------

    /// Writes what the kernel takes now, without queueing: bytes written (0 if it would block
    /// or queued data must go first).
    fn send_now(&self, data: &[u8]) -> Result<usize, (String, i32)> {
        if self.base.is_closed() {
            return Err(("socket is closed".into(), libc::EBADF));
        }
        if let Some(f) = self.failure() {
            return Err(f);
        }
        if !self.open_for_io() || !self.outq.borrow().is_empty() {
            return Ok(0);
        }
        let mut done = 0;
        while done < data.len() {
            match self.io_write(&data[done..]) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if would_block(&e) => {
                    self.base.clear(Dir::Write);
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if done > 0 {
                        break;
                    }
                    let f = (message(&e), errno(&e));
                    self.set_failed(f.0.clone(), f.1);
                    return Err(f);
                }
            }
        }
        Ok(done)
    }

    /// Queues `data`; what can be written at once is. Completion of a tagged chunk is
    /// reported as `sent`(tag), never from inside this call.
    fn enqueue(&self, data: &[u8], tag: Option<Value>) -> Result<usize, (String, i32)> {
        if self.base.is_closed() {
            return Err(("socket is closed".into(), libc::EBADF));
        }
        if let Some(f) = self.failure() {
            return Err(f);
        }
        if self.queued.get().saturating_add(data.len()) > self.queue_limit.get() {
            return Err(("write queue full".into(), libc::ENOBUFS));
        }
        let written = if self.outq.borrow().is_empty() { self.send_now(data)? } else { 0 };
        if written == data.len() {
            if let Some(tag) = tag {
                // Reported from the loop, and before any data read after this call: a
                // reply cannot overtake the `sent` of the request that caused it.
                self.sent_ready.borrow_mut().push(tag);
                if !self.driving.get() {
                    self.base.reactor.again(self.base.key);
                }
            }
        } else {
            self.outq.borrow_mut().push_back(Chunk { data: data[written..].to_vec(), off: 0, tag });
            self.queued.set(self.queued.get() + data.len() - written);
        }
        Ok(self.queued.get())
    }

    /// Writes queued chunks until the kernel pushes back. Returns the tags of completed
    /// chunks, whether the queue drained, and a write error.
    fn flush(&self) -> (Vec<Value>, bool, Option<(String, i32)>) {
        let mut tags = Vec::new();
        if self.outq.borrow().is_empty() || !self.open_for_io() {
            return (tags, false, None);
        }
        loop {
            let mut q = self.outq.borrow_mut();
            let Some(front) = q.front_mut() else { break };
            match self.io_write(&front.data[front.off..]) {
                Ok(n) => {
                    front.off += n;
                    self.queued.set(self.queued.get().saturating_sub(n));
                    if front.off >= front.data.len() {
                        if let Some(c) = q.pop_front() {
                            tags.extend(c.tag);
                        }
                    } else if n == 0 {
                        break;
                    }
                }
                Err(e) if would_block(&e) => {
                    self.base.clear(Dir::Write);
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    drop(q);
                    let f = (message(&e), errno(&e));
                    self.set_failed(f.0.clone(), f.1);
                    return (tags, false, Some(f));
                }
            }
        }
        let drained = self.outq.borrow().is_empty();
        if drained && self.shutdown_after_drain.replace(false) {
            if let Some(s) = self.socket() {
                let _ = s.shutdown(std::net::Shutdown::Write);
            }
        }
        (tags, drained, None)
    }

    // ----- closing ----------------------------------------------------------------------

    pub fn close(&self) -> mlua::Result<()> {
        if self.base.is_closed() {
            return Ok(());
        }
        if let Ok(mut conn) = self.conn.try_borrow_mut() {
            if let Conn::Tls(t) = &mut *conn {
                let _ = t.shutdown(); // best-effort close_notify; never waits
            }
            *conn = Conn::Dead;
        }
        self.base.close();
        if let Ok(mut s) = self.sock.try_borrow_mut() {
            s.take();
        }
        self.outq.borrow_mut().clear();
        self.queued.set(0);
        self.base.reactor.set_anchor(self.base.obj, false)
    }

    fn emit(&self, lua: &Lua, event: &'static str, args: impl IntoLuaMulti) -> mlua::Result<bool> {
        self.base.reactor.emit(lua, self.base.obj, event, args)?;
        Ok(!self.base.is_closed())
    }

    /// Emits `sent` for chunks written inside `queue`; false once the handler closed us.
    fn emit_sent_ready(&self, lua: &Lua) -> mlua::Result<bool> {
        loop {
            let next = {
                let mut ready = self.sent_ready.borrow_mut();
                if ready.is_empty() {
                    return Ok(true);
                }
                if !self.want_sent.get() {
                    ready.clear();
                    return Ok(true);
                }
                ready.remove(0)
            };
            if !self.emit(lua, "sent", next)? {
                return Ok(false);
            }
        }
    }

    /// Emits the outcome of a flush; false once the handler closed the stream.
    fn emit_flush(
        &self,
        lua: &Lua,
        (tags, drained, err): (Vec<Value>, bool, Option<(String, i32)>),
    ) -> mlua::Result<bool> {
        for tag in tags {
            if self.want_sent.get() && !self.emit(lua, "sent", tag)? {
                return Ok(false);
            }
        }
        if drained && !self.emit(lua, "drain", ())? {
            return Ok(false);
        }
        // A write error was reported by `set_failed`; nothing more to do this turn.
        Ok(err.is_none())
    }
}

impl Drop for StreamSrc {
    fn drop(&mut self) {
        self.base.close();
    }
}

impl Pollable for StreamSrc {
    fn base(&self) -> &SourceBase {
        &self.base
    }
    fn waitable(self: Rc<Self>) -> Rc<dyn Waitable> {
        self
    }

    fn probe(&self) -> bool {
        if !self.unconfirmed.replace(false) {
            return false; // a read or an edge since then has told
        }
        let mut byte = 0u8;
        // SAFETY: `fd` is open while the source is registered; one byte into `byte`.
        let n = unsafe { libc::recv(self.base.fd, (&raw mut byte).cast(), 1, libc::MSG_PEEK | libc::MSG_DONTWAIT) };
        // Data, an EOF or an error: the next read reports it.
        n >= 0 || !would_block(&io::Error::last_os_error())
    }

    fn on_ready(&self, lua: &Lua, readable: bool, _writable: bool) -> mlua::Result<()> {
        if readable {
            self.unconfirmed.set(false);
            self.skip_read.set(false);
        }
        self.driving.set(true);
        let r = self.drive(lua, readable);
        self.driving.set(false);
        if !self.sent_ready.borrow().is_empty() && !self.base.is_closed() {
            self.base.reactor.again(self.base.key); // queued in a handler after the last check
        }
        self.update_active()?;
        r
    }
}

impl StreamSrc {
    fn drive(&self, lua: &Lua, readable_edge: bool) -> mlua::Result<()> {
        if self.connecting.get() {
            match self.finish_connect() {
                None => return Ok(()),
                Some(Err(_)) => {
                    self.base.mark(true, true);
                    return Ok(());
                }
                Some(Ok(())) => {
                    self.base.mark(true, true);
                    if !self.emit(lua, "connect", ())? {
                        return Ok(());
                    }
                }
            }
        }
        if self.handshaking() {
            match self.progress_handshake() {
                None => return Ok(()),
                Some(Err(_)) => {
                    self.announce_tls.set(false);
                    self.base.mark(true, true);
                    return Ok(());
                }
                Some(Ok(())) => self.base.mark(true, true),
            }
        }
        if self.announce_tls.get() && matches!(*self.conn.borrow(), Conn::Tls(_)) {
            self.announce_tls.set(false);
            if !self.emit(lua, "handshake", ())? {
                return Ok(());
            }
        }
        if !self.emit_sent_ready(lua)? || !self.emit_flush(lua, self.flush())? {
            return Ok(());
        }
        if self.close_after_drain.get() && self.outq.borrow().is_empty() {
            return self.close();
        }
        match self.watch.get() {
            Watch::Off => {}
            Watch::Readable => {
                // Level semantics on our flag: the handler reads until `false` (or stops
                // watching); until then every turn with an event for us says so again.
                if self.base.readable() || (self.eof.get() && readable_edge) {
                    self.emit(lua, "readable", ())?;
                }
            }
            Watch::Data => {
                for _ in 0..READ_BUDGET {
                    if self.base.is_closed() || self.watch.get() != Watch::Data || self.eof.get() {
                        return Ok(());
                    }
                    if !self.emit_sent_ready(lua)? {
                        return Ok(());
                    }
                    if !self.base.readable() && self.inbuf.borrow().is_empty() {
                        // A read already said "would block" and no edge came since: the
                        // kernel has neither data nor an EOF for us, so skip the syscall
                        // (a drive for a write, or for `sent`, would otherwise pay one).
                        return Ok(());
                    }
                    match self.read_some(lua, usize::MAX, true)? {
                        Got::Data(s) => {
                            if !self.emit(lua, "data", s)? {
                                return Ok(());
                            }
                        }
                        // A failure was reported by `set_failed`.
                        Got::Block | Got::Limit | Got::Fail(..) => return Ok(()),
                        Got::Eof => {
                            self.emit(lua, "eof", ())?;
                            return Ok(());
                        }
                    }
                }
                self.base.reactor.again(self.base.key);
            }
        }
        Ok(())
    }
}

impl Waitable for StreamSrc {
    fn poll_ready(&self, dir: Dir) -> Option<bool> {
        if self.base.is_closed() {
            return None;
        }
        if self.failed.borrow().is_some() {
            return Some(true);
        }
        if self.connecting.get() || self.handshaking() {
            return Some(false);
        }
        Some(match dir {
            // Buffered bytes do not count: a read that returned `false` needs the kernel.
            Dir::Read => self.base.readable() || self.eof.get(),
            Dir::Write => self.base.writable(),
        })
    }
    fn add_waiter(&self, dir: Dir, task: usize) {
        self.base.add_waiter(dir, task)
    }
    fn remove_waiter(&self, task: usize) {
        self.base.remove_waiter(task)
    }
    fn cancel_epoch(&self, dir: Dir) -> u64 {
        self.base.cancel_count(dir)
    }
}

impl SocketObject for Stream {
    fn base(&self) -> &SourceBase {
        &self.0.base
    }
    fn set_handler(&self, on: bool) -> mlua::Result<()> {
        self.0.handler.set(on);
        self.0.update_active()
    }
    fn close(&self, graceful: bool) -> mlua::Result<()> {
        let s = &self.0;
        if graceful && !s.base.is_closed() && !s.outq.borrow().is_empty() && s.failure().is_none() {
            // The loop writes the rest, then closes (see `drive`).
            s.close_after_drain.set(true);
            return Ok(());
        }
        s.close()
    }
}

fn byte_count(v: Option<i64>, default: usize, what: &str) -> mlua::Result<usize> {
    match v {
        None => Ok(default),
        Some(n) if n > 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        Some(n) => Err(misuse(format!("{what} must be positive (got {n})"))),
    }
}

impl UserData for Stream {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        common::add_methods(m);
        m.add_method("is_tls", |_, s, ()| Ok(s.0.is_tls()));

        // Callback mode.
        m.add_method("watch", |lua, s, mode: Option<String>| {
            let w = match mode.as_deref() {
                None | Some("off") => Watch::Off,
                Some("data") => Watch::Data,
                Some("readable") => Watch::Readable,
                Some(o) => return Err(misuse(format!("watch mode must be 'data', 'readable' or 'off' (got '{o}')"))),
            };
            let was = s.0.watch.replace(w);
            if w != Watch::Off && was != w && !s.0.base.is_closed() {
                // Data may already be waiting: look again on the next turn.
                s.0.base.reactor.again(s.0.base.key);
            }
            let _ = lua;
            s.0.update_active()
        });
        // Whether `sent` events are emitted; checked when each one is due, so a layer can
        // mirror "is there a sent callback now" without a call into Lua per chunk.
        m.add_method("want_sent", |_, s, on: bool| {
            s.0.want_sent.set(on);
            Ok(())
        });
        m.add_method("hold", |_, s, on: bool| {
            s.0.hold.set(on);
            s.0.update_active()
        });

        // State.
        m.add_method("connected", |lua, s, ()| {
            let s = &s.0;
            match s.finish_connect() {
                None => false.into_lua_multi(lua),
                Some(Ok(())) => {
                    s.update_active()?;
                    true.into_lua_multi(lua)
                }
                Some(Err((m, c))) => {
                    s.update_active()?;
                    fail_msg(lua, m, c)
                }
            }
        });
        m.add_method("starttls", |lua, s, (ctx, name): (AnyUserData, Option<String>)| {
            let s = &s.0;
            if s.is_tls() || s.handshaking() {
                return fail_msg(lua, "TLS already started", libc::EALREADY);
            }
            if s.base.is_closed() {
                return common::closed(lua);
            }
            let start = if let Ok(c) = ctx.borrow::<tls::TlsClient>() {
                TlsStart::Client(c.0.clone(), name.unwrap_or_default())
            } else if let Ok(a) = ctx.borrow::<tls::TlsServer>() {
                TlsStart::Server(a.0.clone())
            } else {
                return Err(misuse("starttls expects a TLS context from core.tls_client or core.tls_server"));
            };
            if s.connecting.get() {
                *s.pending_tls.borrow_mut() = Some(start);
            } else if let Some(Err((m, c))) = s.start_tls(start) {
                s.update_active()?;
                return fail_msg(lua, m, c);
            } else {
                // Completed or in progress: the loop takes it from here.
                s.base.reactor.again(s.base.key);
            }
            s.update_active()?;
            true.into_lua_multi(lua)
        });
        m.add_method("handshake", |lua, s, ()| {
            let s = &s.0;
            if s.connecting.get() {
                return match s.finish_connect() {
                    Some(Err((m, c))) => fail_msg(lua, m, c),
                    _ => false.into_lua_multi(lua),
                };
            }
            let r = s.progress_handshake();
            s.update_active()?;
            match r {
                None => false.into_lua_multi(lua),
                Some(Ok(())) => true.into_lua_multi(lua),
                Some(Err((m, c))) => fail_msg(lua, m, c),
            }
        });
        // Sends close_notify without closing: `true`, `false` (would block: call again when
        // writable), or `nil, msg`. Later writes fail; reads still see the peer's data.
        m.add_method("tls_shutdown", |lua, s, ()| {
            let st = &s.0;
            if st.base.is_closed() {
                return common::closed(lua);
            }
            let Ok(mut conn) = st.conn.try_borrow_mut() else { return false.into_lua_multi(lua) };
            let Conn::Tls(t) = &mut *conn else {
                return fail_msg(lua, "not a TLS stream (or its handshake is not done)", libc::EINVAL);
            };
            match t.shutdown() {
                Ok(()) => true.into_lua_multi(lua),
                Err(e) if would_block(&e) => false.into_lua_multi(lua),
                Err(e) => fail(lua, &e),
            }
        });
        // "r" or "w": what a TLS stream that said "would block" waits for (nil if nothing).
        m.add_method("tls_want", |_, s, ()| Ok(s.0.tls_want.get().map(|d| if d == Dir::Read { "r" } else { "w" })));
        // The server name a TLS client asks for, read from its ClientHello without consuming
        // it (to choose a certificate before the handshake): the name, `false` while the
        // hello is incomplete, `nil` if there is none (or this is not TLS).
        m.add_method("peek_servername", |lua, s, ()| {
            if s.0.base.is_closed() {
                return common::closed(lua);
            }
            let fd = s.0.base.fd;
            let peeked = s.0.base.reactor.with_scratch(|buf| {
                fdpass::recv(fd, buf, libc::MSG_PEEK).map(|n| match n {
                    0 => super::sni::Hello::NoName, // the peer left without a hello
                    n => super::sni::server_name(&buf[..n]),
                })
            });
            match peeked {
                Ok(super::sni::Hello::Name(n)) => n.into_lua_multi(lua),
                Ok(super::sni::Hello::Incomplete) => false.into_lua_multi(lua),
                Ok(super::sni::Hello::NoName) => Value::Nil.into_lua_multi(lua),
                Err(e) if would_block(&e) => {
                    s.0.base.clear(Dir::Read);
                    false.into_lua_multi(lua)
                }
                Err(e) => fail(lua, &e),
            }
        });
        m.add_method("tls_info", |lua, s, ()| {
            // Read everything first: creating Lua values may run finalizers that use `s`.
            let (alpn, der) = match &*s.0.conn.borrow() {
                Conn::Tls(t) => (
                    t.negotiated_alpn().ok().flatten(),
                    t.peer_certificate().ok().flatten().and_then(|c| c.to_der().ok()),
                ),
                _ => return Ok(Value::Nil),
            };
            let info = lua.create_table()?;
            if let Some(p) = alpn {
                info.set("alpn", lua.create_string(p)?)?;
            }
            if let Some(der) = der {
                info.set("peer_certificate", lua.create_string(der)?)?;
            }
            Ok(Value::Table(info))
        });

        // Reading.
        // `lazy`: the caller waits on the loop when told `false`, so a read right after a
        // short one may answer that without the syscall (see `skip_read`).
        m.add_method("read", |lua, s, (max, lazy): (Option<i64>, Option<bool>)| {
            let max = byte_count(max, usize::MAX, "read size")?;
            s.0.read_some(lua, max, lazy == Some(true))
        });
        m.add_method("read_until", |lua, s, (delim, limit, lazy): (mlua::LuaString, Option<i64>, Option<bool>)| {
            let d = delim.as_bytes();
            if d.is_empty() {
                return Err(misuse("read_until: empty delimiter"));
            }
            let limit = byte_count(limit, READ_LIMIT, "read limit")?;
            s.0.read_until(lua, &d, limit, lazy == Some(true))
        });
        m.add_method("read_exact", |lua, s, (n, lazy): (i64, Option<bool>)| {
            let n = byte_count(Some(n), 0, "read size")?;
            s.0.read_exact(lua, n, lazy == Some(true))
        });
        // One read into the buffer, consuming nothing: the bytes now buffered, or `false` /
        // `nil` / `nil, msg` as `read`. Notices EOF while no read is pending, TLS included.
        m.add_method("fill", |lua, s, max: Option<i64>| {
            let src = &s.0;
            let max = byte_count(max, crate::reactor::SCRATCH_SIZE, "read size")?;
            if src.eof.get() {
                return src.failure().map_or(Got::Eof, |(m, c)| Got::Fail(m, c)).into_lua_multi(lua);
            }
            match src.fill(max, false)? {
                Ok(true) => src.inbuf.borrow().len().into_lua_multi(lua),
                Ok(false) => Got::Eof.into_lua_multi(lua),
                Err(g) => g.into_lua_multi(lua),
            }
        });
        m.add_method("buffered", |_, s, ()| Ok(s.0.inbuf.borrow().len()));
        // recv(2) with flags (MSG_PEEK, MSG_OOB, ...) on a plain stream.
        m.add_method("recv", |lua, s, (max, flags): (Option<i64>, Option<i32>)| {
            let src = &s.0;
            if src.is_tls() {
                return Err(misuse("recv with flags is not available on TLS streams"));
            }
            if src.base.is_closed() {
                return common::closed(lua);
            }
            let max = byte_count(max, crate::reactor::SCRATCH_SIZE, "read size")?;
            let fd = src.base.fd;
            src.base.reactor.with_scratch(|buf| {
                let len = max.min(buf.len());
                match fdpass::recv(fd, &mut buf[..len], flags.unwrap_or(0)) {
                    Ok(0) => Value::Nil.into_lua_multi(lua),
                    Ok(n) => lua.create_string(&buf[..n])?.into_lua_multi(lua),
                    Err(e) if would_block(&e) => {
                        src.base.clear(Dir::Read);
                        false.into_lua_multi(lua)
                    }
                    Err(e) => fail(lua, &e),
                }
            })
        });

        // Writing.
        m.add_method("send", |lua, s, (data, flags): (mlua::LuaString, Option<i32>)| {
            let Some(flags) = flags.filter(|&f| f != 0) else {
                return match s.0.send_now(&data.as_bytes()) {
                    Ok(n) => n.into_lua_multi(lua),
                    Err((m, c)) => fail_msg(lua, m, c),
                };
            };
            // send(2) with flags (MSG_OOB, ...): plain streams only, and never ahead of the queue.
            let st = &s.0;
            if st.is_tls() {
                return Err(misuse("send with flags is not available on TLS streams"));
            }
            if st.base.is_closed() {
                return common::closed(lua);
            }
            if !st.open_for_io() || !st.outq.borrow().is_empty() {
                return 0.into_lua_multi(lua);
            }
            match fdpass::send(st.base.fd, &data.as_bytes(), flags) {
                Ok(n) => n.into_lua_multi(lua),
                Err(e) if would_block(&e) => {
                    st.base.clear(Dir::Write);
                    0.into_lua_multi(lua)
                }
                Err(e) => fail(lua, &e),
            }
        });
        m.add_method("queue", |lua, s, (data, tag): (mlua::LuaString, Value)| {
            let tag = if tag.is_nil() { None } else { Some(tag) };
            let r = s.0.enqueue(&data.as_bytes(), tag);
            s.0.update_active()?;
            match r {
                Ok(n) => n.into_lua_multi(lua),
                Err((m, c)) => fail_msg(lua, m, c),
            }
        });
        m.add_method("pending", |_, s, ()| Ok(s.0.queued.get()));
        // Up to `count` bytes of file descriptor `src_fd` from `offset` (its position does
        // not move): bytes sent (0 at the end of the file), `false` if the socket is full.
        m.add_method("sendfile", |lua, s, (src_fd, offset, count): (i32, i64, i64)| {
            let st = &s.0;
            if st.is_tls() {
                return Err(misuse("sendfile is not available on TLS streams (read and write instead)"));
            }
            if st.base.is_closed() {
                return common::closed(lua);
            }
            let offset = u64::try_from(offset).map_err(|_| misuse("sendfile: negative offset"))?;
            let count = byte_count(Some(count), 0, "sendfile count")?;
            if !st.outq.borrow().is_empty() {
                return false.into_lua_multi(lua); // queued data goes first
            }
            match fdpass::sendfile(st.base.fd, src_fd, offset, count) {
                Ok(n) => n.into_lua_multi(lua),
                Err(e) if would_block(&e) => {
                    st.base.clear(Dir::Write);
                    false.into_lua_multi(lua)
                }
                Err(e) => fail(lua, &e),
            }
        });
        m.add_method("set_queue_limit", |_, s, n: i64| {
            s.0.queue_limit.set(byte_count(Some(n), 0, "queue limit")?);
            Ok(())
        });

        // Addresses and options.
        m.add_method("local_addr", |lua, s, ()| match s.0.socket().map(|k| k.local_addr()) {
            Some(Ok(a)) => addr::show(&a).into_lua_multi(lua),
            Some(Err(e)) => fail(lua, &e),
            None => common::closed(lua),
        });
        m.add_method("peer_addr", |lua, s, ()| match s.0.socket().map(|k| k.peer_addr()) {
            Some(Ok(a)) => addr::show(&a).into_lua_multi(lua),
            Some(Err(e)) => fail(lua, &e),
            None => common::closed(lua),
        });
        m.add_method("shutdown", |lua, s, how: Option<String>| {
            let how = match how.as_deref() {
                Some("r") | Some("read") => std::net::Shutdown::Read,
                None | Some("w") | Some("write") => std::net::Shutdown::Write,
                Some("rw") | Some("both") => std::net::Shutdown::Both,
                Some(o) => return Err(misuse(format!("shutdown: 'r', 'w' or 'rw' expected (got '{o}')"))),
            };
            if how == std::net::Shutdown::Write && !s.0.outq.borrow().is_empty() {
                // Queued data goes first; the loop shuts down once it drains.
                s.0.shutdown_after_drain.set(true);
                return true.into_lua_multi(lua);
            }
            match s.0.socket().map(|k| k.shutdown(how)) {
                Some(Ok(())) => true.into_lua_multi(lua),
                Some(Err(e)) => fail(lua, &e),
                None => common::closed(lua),
            }
        });
        m.add_meta_method(mlua::MetaMethod::ToString, |_, s, ()| {
            let state = if s.0.base.is_closed() { "closed".to_string() } else { format!("fd {}", s.0.base.fd) };
            Ok(format!("rluanet.stream ({state}): {:p}", Rc::as_ptr(&s.0)))
        });
    }
}

/// `core.connect(ip, port [, opts])` and `core.connect_unix(path)`: a stream that is
/// connecting; `connect`/`error` (or `s:connected()`) tell how it went.
pub fn connect(lua: &Lua, target: socket2::SockAddr, opts: Option<mlua::Table>) -> mlua::Result<MultiValue> {
    let reactor = reactor_of(lua)?;
    let domain = target.domain();
    let proto = if domain == socket2::Domain::UNIX { None } else { Some(socket2::Protocol::TCP) };
    let sock = match Socket::new(domain, socket2::Type::STREAM.nonblocking().cloexec(), proto) {
        Ok(s) => s,
        Err(e) => return fail(lua, &e),
    };
    if let Some(o) = &opts {
        if let Some(ip) = o.get::<Option<String>>("bind")? {
            let port = o.get::<Option<i64>>("bind_port")?.unwrap_or(0);
            let local = addr::socket_addr(&ip, port)?;
            if let Err(e) = sock.bind(&local.into()) {
                return fail(lua, &e);
            }
        }
        if let Some(true) = o.get::<Option<bool>>("nodelay")? {
            let _ = sock.set_tcp_nodelay(true);
        }
    }
    let connecting = match sock.connect(&target) {
        Ok(()) => false,
        Err(e) if would_block(&e) => true,
        Err(e) => return fail(lua, &e),
    };
    match StreamSrc::open(lua, &reactor, sock, connecting)? {
        Ok(ud) => {
            if !connecting {
                // Connected at once (Unix sockets do): still report it from the loop.
                let obj = ud.borrow::<Stream>()?.0.base.obj;
                reactor.defer_emit(obj, "connect", MultiValue::new());
            }
            ud.into_lua_multi(lua)
        }
        Err(e) => fail(lua, &e),
    }
}

/// `core.socketpair()`: two connected Unix streams.
pub fn socketpair(lua: &Lua) -> mlua::Result<MultiValue> {
    let reactor = reactor_of(lua)?;
    let (a, b) = match Socket::pair(socket2::Domain::UNIX, socket2::Type::STREAM.nonblocking().cloexec(), None) {
        Ok(p) => p,
        Err(e) => return fail(lua, &e),
    };
    let a = match StreamSrc::open(lua, &reactor, a, false)? {
        Ok(ud) => ud,
        Err(e) => return fail(lua, &e),
    };
    let b = match StreamSrc::open(lua, &reactor, b, false)? {
        Ok(ud) => ud,
        Err(e) => return fail(lua, &e),
    };
    (a, b).into_lua_multi(lua)
}

pub fn waitable(ud: &AnyUserData) -> Option<Rc<dyn Waitable>> {
    ud.borrow::<Stream>().ok().map(|s| Rc::clone(&s.0) as Rc<dyn Waitable>)
}

/// A stream accepted by a listener.
pub fn accepted(lua: &Lua, reactor: &Rc<Reactor>, sock: Socket) -> mlua::Result<io::Result<AnyUserData>> {
    StreamSrc::open(lua, reactor, sock, false)
}
