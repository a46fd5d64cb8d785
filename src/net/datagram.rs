//! Datagram sockets (UDP over IPv4/IPv6, Unix datagram). With a handler and
//! `d:watch(true)` the loop receives and emits `message`(data, ip, port | path).

use std::cell::{Cell, RefCell};
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::rc::Rc;

use mlua::{AnyUserData, IntoLuaMulti, Lua, MultiValue, UserData, UserDataMethods, Value};
use socket2::{Domain, SockAddr, Socket, Type};

use super::common::{self, SocketObject, Step, closed};
use super::error::{fail, misuse, would_block};
use super::{addr, reactor_of};
use crate::reactor::{ByFlags, Dir, Pollable, READ_BUDGET, SourceBase, Waitable};

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

    /// One datagram (at most `max` bytes of it, the rest is lost as with recvfrom), with
    /// optional flags such as MSG_PEEK.
    fn recv(&self, lua: &Lua, max: Option<i64>, flags: Option<i32>) -> mlua::Result<Recv> {
        let max = max.map_or(usize::MAX, |m| usize::try_from(m.max(0)).unwrap_or(usize::MAX));
        self.base.reactor.with_scratch(|buf| {
            // SAFETY: viewing initialised bytes as possibly-uninitialised ones is always sound.
            let len = max.clamp(1, buf.len());
            let raw = unsafe { &mut *(&mut buf[..len] as *mut [u8] as *mut [MaybeUninit<u8>]) };
            let flags = flags.unwrap_or(0);
            let r = match self.sock.borrow().as_ref() {
                Some(s) => s.recv_from_with_flags(raw, flags),
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
        })
    }

    fn close(&self) -> mlua::Result<()> {
        if self.base.is_closed() {
            return Ok(());
        }
        self.base.close();
        if let Ok(mut s) = self.sock.try_borrow_mut() {
            s.take();
        }
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
    fn waitable(self: Rc<Self>) -> Rc<dyn Waitable> {
        Rc::new(ByFlags(self))
    }
    fn on_ready(&self, lua: &Lua, _r: bool, _w: bool) -> mlua::Result<()> {
        if !self.handler.get() {
            return Ok(());
        }
        common::deliver(
            lua,
            &self.base,
            READ_BUDGET * 4,
            || self.watching.get(),
            || {
                Ok(match self.recv(lua, None, None)? {
                    Recv::Msg(data, from) => {
                        let mut args = MultiValue::new();
                        args.push_back(Value::String(data));
                        args.extend(from.into_lua_multi(lua)?);
                        Step::Emit("message", args)
                    }
                    Recv::Block => Step::Block,
                    Recv::Fail(e) => Step::Fail(e),
                })
            },
        )
    }
}

impl SocketObject for Datagram {
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

/// Joins or leaves multicast `group` on interface address `iface` (default: any).
fn membership(lua: &Lua, d: &DgramSrc, group: &str, iface: Option<String>, join: bool) -> mlua::Result<MultiValue> {
    let group = addr::parse_ip(group)?;
    let guard = d.sock.borrow();
    let Some(s) = guard.as_ref() else { return closed(lua) };
    let r = match group {
        std::net::IpAddr::V4(g) => {
            let ifa = match iface.as_deref() {
                None | Some("") => std::net::Ipv4Addr::UNSPECIFIED,
                Some(i) => match addr::parse_ip(i)? {
                    std::net::IpAddr::V4(a) => a,
                    _ => return Err(misuse("an IPv4 group needs an IPv4 interface address")),
                },
            };
            if join { s.join_multicast_v4(&g, &ifa) } else { s.leave_multicast_v4(&g, &ifa) }
        }
        std::net::IpAddr::V6(g) => {
            if join {
                s.join_multicast_v6(&g, 0)
            } else {
                s.leave_multicast_v6(&g, 0)
            }
        }
    };
    match r {
        Ok(()) => true.into_lua_multi(lua),
        Err(e) => fail(lua, &e),
    }
}

/// What a send reports: bytes sent, 0 when the kernel has no room, or the failure.
fn sent(lua: &Lua, d: &DgramSrc, r: std::io::Result<usize>) -> mlua::Result<MultiValue> {
    match r {
        Ok(n) => n.into_lua_multi(lua),
        Err(e) if would_block(&e) => {
            d.base.clear(Dir::Write);
            0.into_lua_multi(lua)
        }
        Err(e) => fail(lua, &e),
    }
}

impl UserData for Datagram {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        common::add_methods(m);
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
            sent(lua, &d.0, r)
        });
        m.add_method("send", |lua, d, data: mlua::LuaString| {
            let r = match d.0.sock.borrow().as_ref() {
                Some(s) => s.send(&data.as_bytes()),
                None => return closed(lua),
            };
            sent(lua, &d.0, r)
        });
        m.add_method("join", |lua, d, (group, iface): (String, Option<String>)| {
            membership(lua, &d.0, &group, iface, true)
        });
        m.add_method("leave", |lua, d, (group, iface): (String, Option<String>)| {
            membership(lua, &d.0, &group, iface, false)
        });
        m.add_method("shutdown", |lua, d, how: Option<String>| {
            let how = match how.as_deref() {
                Some("r") | Some("read") => std::net::Shutdown::Read,
                None | Some("w") | Some("write") => std::net::Shutdown::Write,
                Some("rw") | Some("both") => std::net::Shutdown::Both,
                Some(o) => return Err(misuse(format!("shutdown: 'r', 'w' or 'rw' expected (got '{o}')"))),
            };
            match d.0.sock.borrow().as_ref().map(|s| s.shutdown(how)) {
                Some(Ok(())) => true.into_lua_multi(lua),
                Some(Err(e)) => fail(lua, &e),
                None => closed(lua),
            }
        });
        m.add_method("recv", |lua, d, (max, flags): (Option<i64>, Option<i32>)| match d.0.recv(lua, max, flags)? {
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
    register(lua, &reactor, sock, domain)
}

/// A datagram socket adopted by `core.wrap`.
pub fn adopt(lua: &Lua, reactor: &Rc<crate::reactor::Reactor>, sock: Socket) -> mlua::Result<MultiValue> {
    let domain = sock.domain().unwrap_or(Domain::IPV4);
    register(lua, reactor, sock, domain)
}

/// `core.dgram_pair()`: two connected Unix datagram sockets.
pub fn pair(lua: &Lua) -> mlua::Result<MultiValue> {
    let reactor = reactor_of(lua)?;
    let (a, b) = match Socket::pair(Domain::UNIX, Type::DGRAM.nonblocking().cloexec(), None) {
        Ok(p) => p,
        Err(e) => return fail(lua, &e),
    };
    let mut out = register(lua, &reactor, a, Domain::UNIX)?;
    out.extend(register(lua, &reactor, b, Domain::UNIX)?);
    Ok(out)
}

fn register(
    lua: &Lua,
    reactor: &Rc<crate::reactor::Reactor>,
    sock: Socket,
    domain: Domain,
) -> mlua::Result<MultiValue> {
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
    ud.borrow::<Datagram>().ok().map(|d| Rc::new(ByFlags(Rc::clone(&d.0) as Rc<dyn Pollable>)) as Rc<dyn Waitable>)
}
