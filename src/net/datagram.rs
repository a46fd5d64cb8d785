//! Datagram sockets (UDP over IPv4/IPv6, Unix datagram). With a handler and
//! `d:watch(true)` the loop receives and emits `message`(data, ip, port | path).

use std::cell::{Cell, RefCell};
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::rc::Rc;

use mlua::{AnyUserData, IntoLuaMulti, Lua, MultiValue, UserData, UserDataMethods, Value};
use socket2::{Domain, SockAddr, Socket, Type};

use super::error::{fail, fail_msg, misuse, would_block};
use super::{addr, reactor_of, sockopt};
use crate::reactor::{Dir, Pollable, READ_BUDGET, SourceBase, Waitable};

pub struct DgramSrc {
    base: SourceBase,
    sock: RefCell<Option<Socket>>,
    domain: Domain,
    watching: Cell<bool>,
    handler: Cell<bool>,
}

pub struct Datagram(pub Rc<DgramSrc>);

enum Recv {
    Msg(mlua::LuaString, addr::Shown),
    Block,
    Fail(std::io::Error),
}

impl DgramSrc {
    fn update_active(&self) -> mlua::Result<()> {
        let active = !self.base.is_closed() && self.watching.get() && self.handler.get();
        self.base.reactor.set_anchor(self.base.obj, active)
    }

    /// Parses a destination: `ip, port` for UDP, `path` for Unix.
    fn target(&self, a: &Value, port: Option<i64>) -> mlua::Result<SockAddr> {
        let Value::String(s) = a else {
            return Err(misuse(format!("address expected (got {})", a.type_name())));
        };
        let s = s.to_str()?.to_string();
        if self.domain == Domain::UNIX {
            return SockAddr::unix(&s).map_err(|e| misuse(format!("invalid socket path '{s}': {e}")));
        }
        let Some(port) = port else { return Err(misuse("port expected")) };
        let sa = addr::socket_addr(&s, port)?;
        Ok(addr::for_family(sa, self.domain == Domain::IPV6).into())
    }

    fn recv(&self, lua: &Lua) -> mlua::Result<Recv> {
        let reactor = Rc::clone(&self.base.reactor);
        let mut own;
        let mut shared = reactor.scratch.try_borrow_mut();
        let buf: &mut [u8] = match shared.as_mut() {
            Ok(b) => b,
            Err(_) => {
                own = vec![0u8; crate::reactor::SCRATCH_SIZE];
                &mut own
            }
        };
        // SAFETY: viewing initialised bytes as possibly-uninitialised ones is always sound.
        let raw = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
        let r = match self.sock.borrow().as_ref() {
            Some(s) => s.recv_from(raw),
            None => return Ok(Recv::Fail(std::io::Error::from_raw_os_error(libc::EBADF))),
        };
        match r {
            Ok((n, from)) => Ok(Recv::Msg(lua.create_string(&buf[..n])?, addr::show(&from))),
            Err(e) if would_block(&e) || e.kind() == std::io::ErrorKind::Interrupted => {
                self.base.clear(Dir::Read);
                Ok(Recv::Block)
            }
            Err(e) => Ok(Recv::Fail(e)),
        }
    }

    fn close(&self) -> mlua::Result<()> {
        if self.base.is_closed() {
            return Ok(());
        }
        self.base.close();
        self.sock.borrow_mut().take();
        self.base.reactor.set_anchor(self.base.obj, false)
    }
}

impl Drop for DgramSrc {
    fn drop(&mut self) {
        self.base.close();
    }
}

impl Pollable for DgramSrc {
    fn base(&self) -> &SourceBase {
        &self.base
    }
    fn on_ready(&self, lua: &Lua, _r: bool, _w: bool) -> mlua::Result<()> {
        if !(self.watching.get() && self.handler.get()) {
            return Ok(());
        }
        for _ in 0..READ_BUDGET * 4 {
            if self.base.is_closed() || !self.watching.get() {
                return Ok(());
            }
            match self.recv(lua)? {
                Recv::Msg(data, from) => {
                    let mut args = MultiValue::new();
                    args.push_back(Value::String(data));
                    args.extend(from.into_lua_multi(lua)?);
                    self.base.reactor.emit(lua, self.base.obj, "message", args)?;
                }
                Recv::Block => return Ok(()),
                Recv::Fail(e) => {
                    let (m, c) = (super::error::message(&e), super::error::errno(&e));
                    self.base.reactor.emit(lua, self.base.obj, "error", (m, c))?;
                    return Ok(());
                }
            }
        }
        self.base.reactor.again(self.base.key);
        Ok(())
    }
}

impl Waitable for DgramSrc {
    fn poll_ready(&self, dir: Dir) -> Option<bool> {
        self.base.poll_ready(dir)
    }
    fn add_waiter(&self, dir: Dir, task: usize) {
        self.base.add_waiter(dir, task)
    }
    fn remove_waiter(&self, task: usize) {
        self.base.remove_waiter(task)
    }
}

fn this(ud: &AnyUserData) -> mlua::Result<Rc<DgramSrc>> {
    Ok(Rc::clone(&ud.borrow::<Datagram>()?.0))
}

fn closed(lua: &Lua) -> mlua::Result<MultiValue> {
    fail_msg(lua, "socket is closed", libc::EBADF)
}

impl UserData for Datagram {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_method("fd", |_, d, ()| Ok(if d.0.base.is_closed() { -1 } else { d.0.base.fd }));
        m.add_method("is_closed", |_, d, ()| Ok(d.0.base.is_closed()));
        m.add_function("on", |_, (ud, f): (AnyUserData, Option<mlua::Function>)| {
            let d = this(&ud)?;
            d.handler.set(f.is_some());
            ud.set_user_value(f)?;
            d.update_active()
        });
        m.add_method("watch", |_, d, on: bool| {
            d.0.watching.set(on);
            if on && !d.0.base.is_closed() {
                d.0.base.reactor.again(d.0.base.key);
            }
            d.0.update_active()
        });
        m.add_method("bind", |lua, d, (a, port): (Value, Option<i64>)| {
            let target = d.0.target(&a, port.or(Some(0)))?;
            match d.0.sock.borrow().as_ref().map(|s| s.bind(&target)) {
                Some(Ok(())) => true.into_lua_multi(lua),
                Some(Err(e)) => fail(lua, &e),
                None => closed(lua),
            }
        });
        m.add_method("connect", |lua, d, (a, port): (Value, Option<i64>)| {
            let target = d.0.target(&a, port)?;
            match d.0.sock.borrow().as_ref().map(|s| s.connect(&target)) {
                Some(Ok(())) => true.into_lua_multi(lua),
                Some(Err(e)) => fail(lua, &e),
                None => closed(lua),
            }
        });
        m.add_method("sendto", |lua, d, (data, a, port): (mlua::LuaString, Value, Option<i64>)| {
            let target = d.0.target(&a, port)?;
            let r = match d.0.sock.borrow().as_ref() {
                Some(s) => s.send_to(&data.as_bytes(), &target),
                None => return closed(lua),
            };
            match r {
                Ok(n) => n.into_lua_multi(lua),
                Err(e) if would_block(&e) => {
                    d.0.base.clear(Dir::Write);
                    0.into_lua_multi(lua)
                }
                Err(e) => fail(lua, &e),
            }
        });
        m.add_method("send", |lua, d, data: mlua::LuaString| {
            let r = match d.0.sock.borrow().as_ref() {
                Some(s) => s.send(&data.as_bytes()),
                None => return closed(lua),
            };
            match r {
                Ok(n) => n.into_lua_multi(lua),
                Err(e) if would_block(&e) => {
                    d.0.base.clear(Dir::Write);
                    0.into_lua_multi(lua)
                }
                Err(e) => fail(lua, &e),
            }
        });
        m.add_method("recv", |lua, d, ()| match d.0.recv(lua)? {
            Recv::Msg(data, from) => {
                let mut out = MultiValue::new();
                out.push_back(Value::String(data));
                out.extend(from.into_lua_multi(lua)?);
                Ok(out)
            }
            Recv::Block => false.into_lua_multi(lua),
            Recv::Fail(e) => fail(lua, &e),
        });
        m.add_method("local_addr", |lua, d, ()| match d.0.sock.borrow().as_ref().map(|s| s.local_addr()) {
            Some(Ok(a)) => addr::show(&a).into_lua_multi(lua),
            Some(Err(e)) => fail(lua, &e),
            None => closed(lua),
        });
        m.add_method("peer_addr", |lua, d, ()| match d.0.sock.borrow().as_ref().map(|s| s.peer_addr()) {
            Some(Ok(a)) => addr::show(&a).into_lua_multi(lua),
            Some(Err(e)) => fail(lua, &e),
            None => closed(lua),
        });
        m.add_method("setopt", |lua, d, (name, v): (String, Value)| {
            if d.0.base.is_closed() {
                return closed(lua);
            }
            match sockopt::set(d.0.base.fd, &name, &v)? {
                Ok(()) => true.into_lua_multi(lua),
                Err(e) => fail(lua, &e),
            }
        });
        m.add_method("getopt", |lua, d, name: String| {
            if d.0.base.is_closed() {
                return closed(lua);
            }
            match sockopt::get(lua, d.0.base.fd, &name)? {
                Ok(v) => v.into_lua_multi(lua),
                Err(e) => fail(lua, &e),
            }
        });
        m.add_function("close", |_, ud: AnyUserData| {
            let d = this(&ud)?;
            d.close()?;
            d.handler.set(false);
            ud.set_user_value(Value::Nil)?;
            Ok(true)
        });
        m.add_meta_method(mlua::MetaMethod::ToString, |_, d, ()| {
            Ok(format!("rluanet.datagram: {:p}", Rc::as_ptr(&d.0)))
        });
    }
}

/// `core.udp([family])` with family `"inet"` (default) or `"inet6"`, and
/// `core.unix_dgram()`: an unbound datagram socket.
pub fn open(lua: &Lua, domain: Domain) -> mlua::Result<MultiValue> {
    let reactor = reactor_of(lua)?;
    let proto = if domain == Domain::UNIX { None } else { Some(socket2::Protocol::UDP) };
    let sock = match Socket::new(domain, Type::DGRAM.nonblocking().cloexec(), proto) {
        Ok(s) => s,
        Err(e) => return fail(lua, &e),
    };
    if domain == Domain::IPV6 {
        let _ = sock.set_only_v6(false);
    }
    let obj = reactor.next_id();
    let fd = sock.as_raw_fd();
    let made = reactor.register(fd, obj, |base| DgramSrc {
        base,
        sock: RefCell::new(Some(sock)),
        domain,
        watching: Cell::new(false),
        handler: Cell::new(false),
    });
    let src = match made {
        Ok(s) => s,
        Err(e) => return fail(lua, &e),
    };
    let ud = lua.create_userdata(Datagram(src))?;
    reactor.bind(obj, &ud)?;
    ud.into_lua_multi(lua)
}

pub fn waitable(ud: &AnyUserData) -> Option<Rc<dyn Waitable>> {
    ud.borrow::<Datagram>().ok().map(|d| Rc::clone(&d.0) as Rc<dyn Waitable>)
}
