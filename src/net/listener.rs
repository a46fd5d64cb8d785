//! Listening stream sockets (TCP, Unix). With a handler and `l:watch(true)`, the loop
//! accepts connections and emits `accept`(stream, ip, port | path); otherwise
//! `l:accept()` polls.

use std::cell::{Cell, RefCell};
use std::os::fd::AsRawFd;
use std::rc::Rc;

use mlua::{AnyUserData, IntoLuaMulti, Lua, MultiValue, UserData, UserDataMethods, Value};
use socket2::{Domain, SockAddr, Socket, Type};

use super::common::{self, SocketObject, Step, closed};
use super::error::{fail, would_block};
use super::{addr, reactor_of, stream};
use crate::reactor::{ByFlags, Dir, Pollable, READ_BUDGET, SourceBase, Waitable};

pub struct ListenerSrc {
    base: SourceBase,
    sock: RefCell<Option<Socket>>,
    watching: Cell<bool>,
    handler: Cell<bool>,
    /// A Unix socket path to remove on close.
    path: Option<std::path::PathBuf>,
    /// Accepting ran out of descriptors or memory: reported once, then retried every
    /// `ACCEPT_RETRY` until an accept succeeds.
    starved: Cell<bool>,
    /// A retry is armed.
    retrying: Cell<bool>,
}

/// How long a listener out of descriptors waits before it tries again: the connections
/// queued in the kernel raise no new edge, so without a retry they would wait for the next
/// one to arrive.
const ACCEPT_RETRY: std::time::Duration = std::time::Duration::from_millis(100);

fn out_of_resources(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM))
}

pub struct Listener(pub Rc<ListenerSrc>);

enum Accepted {
    Stream(AnyUserData, addr::Shown),
    Block,
    Fail(std::io::Error),
}

impl ListenerSrc {
    fn update_active(&self) -> mlua::Result<()> {
        let active = !self.base.is_closed() && self.watching.get() && self.handler.get();
        self.base.reactor.set_anchor(self.base.obj, active)
    }

    fn accept_one(&self, lua: &Lua) -> mlua::Result<Accepted> {
        let r = match self.sock.borrow().as_ref() {
            Some(s) => s.accept(),
            None => return Ok(Accepted::Fail(std::io::Error::from_raw_os_error(libc::EBADF))),
        };
        match r {
            Ok((sock, peer)) => {
                if let Err(e) = sock.set_nonblocking(true) {
                    return Ok(Accepted::Fail(e));
                }
                match stream::accepted(lua, &self.base.reactor, sock)? {
                    Ok(ud) => Ok(Accepted::Stream(ud, addr::show(&peer))),
                    Err(e) => Ok(Accepted::Fail(e)),
                }
            }
            Err(e) if would_block(&e) => {
                self.base.clear(Dir::Read);
                Ok(Accepted::Block)
            }
            Err(e) if matches!(e.raw_os_error(), Some(libc::ECONNABORTED) | Some(libc::EINTR)) => Ok(Accepted::Block),
            Err(e) if out_of_resources(&e) => {
                // Waits park until the retry, which counts as a read edge.
                self.base.clear(Dir::Read);
                if !self.retrying.replace(true) {
                    self.base.reactor.again_after(self.base.key, ACCEPT_RETRY);
                }
                Ok(Accepted::Fail(e))
            }
            Err(e) => Ok(Accepted::Fail(e)),
        }
    }

    fn close(&self) -> mlua::Result<()> {
        if self.base.is_closed() {
            return Ok(());
        }
        self.base.close();
        if let Ok(mut s) = self.sock.try_borrow_mut() {
            s.take();
        }
        if let Some(p) = &self.path {
            let _ = std::fs::remove_file(p);
        }
        self.base.reactor.set_anchor(self.base.obj, false)
    }
}

impl Drop for ListenerSrc {
    fn drop(&mut self) {
        if !self.base.is_closed() {
            self.base.close();
            if let Some(p) = &self.path {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

impl Pollable for ListenerSrc {
    fn base(&self) -> &SourceBase {
        &self.base
    }
    fn waitable(self: Rc<Self>) -> Rc<dyn Waitable> {
        Rc::new(ByFlags(self))
    }
    fn on_ready(&self, lua: &Lua, _r: bool, _w: bool) -> mlua::Result<()> {
        self.retrying.set(false);
        if !self.handler.get() {
            return Ok(());
        }
        // Accept errors are reported; running out of descriptors once per shortage (the
        // listener retries by itself until it is over).
        common::deliver(
            lua,
            &self.base,
            READ_BUDGET * 4,
            || self.watching.get(),
            || {
                Ok(match self.accept_one(lua)? {
                    Accepted::Stream(ud, peer) => {
                        self.starved.set(false);
                        let mut args = MultiValue::new();
                        args.push_back(Value::UserData(ud));
                        args.extend(peer.into_lua_multi(lua)?);
                        Step::Emit("accept", args)
                    }
                    Accepted::Block => Step::Block,
                    Accepted::Fail(e) if out_of_resources(&e) && self.starved.replace(true) => Step::Block,
                    Accepted::Fail(e) => Step::Fail(e),
                })
            },
        )
    }
}

impl SocketObject for Listener {
    fn base(&self) -> &SourceBase {
        &self.0.base
    }
    fn set_handler(&self, on: bool) -> mlua::Result<()> {
        self.0.handler.set(on);
        self.0.update_active()
    }
    fn close(&self, _graceful: bool) -> mlua::Result<()> {
        self.0.close()
    }
}

impl UserData for Listener {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        common::add_methods(m);
        m.add_method("watch", |_, l, on: bool| {
            l.0.watching.set(on);
            if on && !l.0.base.is_closed() {
                l.0.base.reactor.again(l.0.base.key);
            }
            l.0.update_active()
        });
        m.add_method("listen", |lua, l, backlog: Option<i32>| {
            let r = match l.0.sock.borrow().as_ref() {
                Some(s) => s.listen(backlog.unwrap_or(libc::SOMAXCONN).max(1)),
                None => return closed(lua),
            };
            match r {
                Ok(()) => true.into_lua_multi(lua),
                Err(e) => fail(lua, &e),
            }
        });
        // A raw accepted descriptor (non-blocking, close-on-exec), for `core.wrap`.
        m.add_method("acceptfd", |lua, l, ()| {
            let r = match l.0.sock.borrow().as_ref() {
                Some(s) => s.accept(),
                None => return closed(lua),
            };
            match r {
                Ok((sock, _)) => match sock.set_nonblocking(true) {
                    Ok(()) => std::os::fd::IntoRawFd::into_raw_fd(sock).into_lua_multi(lua),
                    Err(e) => fail(lua, &e),
                },
                Err(e) if would_block(&e) => {
                    l.0.base.clear(Dir::Read);
                    false.into_lua_multi(lua)
                }
                Err(e) => fail(lua, &e),
            }
        });
        m.add_method("accept", |lua, l, ()| match l.0.accept_one(lua)? {
            Accepted::Stream(ud, peer) => {
                let mut out = MultiValue::new();
                out.push_back(Value::UserData(ud));
                out.extend(peer.into_lua_multi(lua)?);
                Ok(out)
            }
            Accepted::Block => false.into_lua_multi(lua),
            Accepted::Fail(e) => fail(lua, &e),
        });
        m.add_method("local_addr", |lua, l, ()| match l.0.sock.borrow().as_ref().map(|s| s.local_addr()) {
            Some(Ok(a)) => addr::show(&a).into_lua_multi(lua),
            Some(Err(e)) => fail(lua, &e),
            None => closed(lua),
        });
        m.add_meta_method(mlua::MetaMethod::ToString, |_, l, ()| {
            Ok(format!("rluanet.listener: {:p}", Rc::as_ptr(&l.0)))
        });
    }
}

/// Builds, binds and registers a listening socket.
fn listen_on(
    lua: &Lua,
    target: SockAddr,
    backlog: i32,
    opts: Option<&mlua::Table>,
    path: Option<std::path::PathBuf>,
) -> mlua::Result<MultiValue> {
    let reactor = reactor_of(lua)?;
    let domain = target.domain();
    let proto = if domain == Domain::UNIX { None } else { Some(socket2::Protocol::TCP) };
    let sock = match Socket::new(domain, Type::STREAM.nonblocking().cloexec(), proto) {
        Ok(s) => s,
        Err(e) => return fail(lua, &e),
    };
    if domain != Domain::UNIX {
        let reuse = match opts {
            Some(o) => o.get::<Option<bool>>("reuseaddr")?.unwrap_or(true),
            None => true,
        };
        let _ = sock.set_reuse_address(reuse);
        if let Some(o) = opts {
            if let Some(on) = o.get::<Option<bool>>("reuseport")? {
                if let Err(e) = sock.set_reuse_port(on) {
                    return fail(lua, &e);
                }
            }
            if domain == Domain::IPV6 {
                if let Some(on) = o.get::<Option<bool>>("v6only")? {
                    if let Err(e) = sock.set_only_v6(on) {
                        return fail(lua, &e);
                    }
                }
            }
        }
    }
    // `listen = false`: bound only, as lua-net's server.new leaves it until `l:listen()`.
    let listen_now = match opts {
        Some(o) => o.get::<Option<bool>>("listen")?.unwrap_or(true),
        None => true,
    };
    if let Err(e) = sock.bind(&target).and_then(|_| if listen_now { sock.listen(backlog) } else { Ok(()) }) {
        return fail(lua, &e);
    }
    register(lua, &reactor, sock, path)
}

/// Registers a bound (or listening) socket and wraps it in a Lua object.
fn register(
    lua: &Lua,
    reactor: &Rc<crate::reactor::Reactor>,
    sock: Socket,
    path: Option<std::path::PathBuf>,
) -> mlua::Result<MultiValue> {
    let obj = reactor.next_id();
    let fd = sock.as_raw_fd();
    let made = reactor.register(fd, obj, |base| ListenerSrc {
        base,
        sock: RefCell::new(Some(sock)),
        watching: Cell::new(false),
        handler: Cell::new(false),
        path,
        starved: Cell::new(false),
        retrying: Cell::new(false),
    });
    let src = match made {
        Ok(s) => s,
        Err(e) => return fail(lua, &e),
    };
    let ud = lua.create_userdata(Listener(src))?;
    reactor.bind(obj, &ud)?;
    ud.into_lua_multi(lua)
}

/// A listening socket adopted by `core.wrap`.
pub fn adopt(lua: &Lua, reactor: &Rc<crate::reactor::Reactor>, sock: Socket) -> mlua::Result<MultiValue> {
    register(lua, reactor, sock, None)
}

fn backlog(opts: Option<&mlua::Table>) -> mlua::Result<i32> {
    let b = match opts {
        Some(o) => o.get::<Option<i64>>("backlog")?.unwrap_or(1024),
        None => 1024,
    };
    Ok(b.clamp(1, i32::MAX as i64) as i32)
}

/// `core.listen(ip, port [, {backlog=, reuseaddr=, reuseport=, v6only=}])`
pub fn listen(lua: &Lua, ip: String, port: i64, opts: Option<mlua::Table>) -> mlua::Result<MultiValue> {
    let a = addr::socket_addr(&ip, port)?;
    listen_on(lua, a.into(), backlog(opts.as_ref())?, opts.as_ref(), None)
}

/// `core.listen_unix(path [, {backlog=}])`: the socket file is removed again on close.
pub fn listen_unix(lua: &Lua, path: String, opts: Option<mlua::Table>) -> mlua::Result<MultiValue> {
    let target = match SockAddr::unix(&path) {
        Ok(a) => a,
        Err(e) => return fail(lua, &e),
    };
    // `unlink = false` leaves the socket file in place on close, as lua-net expects.
    let unlink = match &opts {
        Some(o) => o.get::<Option<bool>>("unlink")?.unwrap_or(true),
        None => true,
    };
    let path = unlink.then(|| path.into());
    listen_on(lua, target, backlog(opts.as_ref())?, opts.as_ref(), path)
}

pub fn waitable(ud: &AnyUserData) -> Option<Rc<dyn Waitable>> {
    ud.borrow::<Listener>().ok().map(|l| Rc::new(ByFlags(Rc::clone(&l.0) as Rc<dyn Pollable>)) as Rc<dyn Waitable>)
}
