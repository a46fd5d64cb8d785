//! The core networking module, `rluanet.core`: what every dialect is built from.
//! It knows sockets, TLS, DNS, timers and tasks, and nothing about any dialect.
//!
//! Conventions: failures caused by the system or a peer return `nil, message, errno`;
//! misuse by the script (wrong types, bad values) raises an error. Reads return
//! `data`, `false` (would block), `nil` (EOF). Times are seconds (floats).

pub mod addr;
pub mod buffer;
mod common;
mod constants;
pub mod datagram;
pub mod error;
mod fdpass;
mod host;
mod iface;
pub mod listener;
pub mod signal;
mod sni;
pub mod sockopt;
pub mod stream;
pub mod timer;
pub mod tls;
mod x509;

use std::rc::Rc;
use std::time::Instant;

use mlua::{AnyUserData, Function, IntoLuaMulti, Lua, MultiValue, Table, Value};
use socket2::{Domain, SockAddr};

use crate::reactor::{Dir, Family, Reactor, Resume, Waitable, seconds_of, wait_marker};
use error::{fail, fail_msg, misuse};

pub use host::platform;

/// Name under which the module is `require`d.
pub const MODULE: &str = "rluanet.core";

/// The reactor of this Lua state, created on first use.
pub fn reactor_of(lua: &Lua) -> mlua::Result<Rc<Reactor>> {
    if let Some(r) = lua.app_data_ref::<Rc<Reactor>>() {
        return Ok(Rc::clone(&r));
    }
    let r = Reactor::new(lua)?;
    lua.set_app_data(Rc::clone(&r));
    Ok(r)
}

/// The reactor if one was ever created (the runtime asks before running the loop).
pub fn existing_reactor(lua: &Lua) -> Option<Rc<Reactor>> {
    lua.app_data_ref::<Rc<Reactor>>().map(|r| Rc::clone(&r))
}

/// What `core.wait` can wait on.
pub fn waitable_of(lua: &Lua, v: &Value) -> Option<Rc<dyn Waitable>> {
    if let Value::Integer(fd) = v {
        let fd = i32::try_from(*fd).ok()?;
        return existing_reactor(lua)?.source_by_fd(fd).map(|s| s.waitable());
    }
    let Value::UserData(ud) = v else { return None };
    stream::waitable(ud)
        .or_else(|| listener::waitable(ud))
        .or_else(|| datagram::waitable(ud))
        .or_else(|| signal::waitable(ud))
}

fn resume_values(lua: &Lua, r: Resume) -> mlua::Result<MultiValue> {
    match r {
        Resume::Ready => true.into_lua_multi(lua),
        Resume::Timeout | Resume::Args(_) => false.into_lua_multi(lua),
        Resume::Closed => (Value::Nil, "closed").into_lua_multi(lua),
        Resume::Canceled => (Value::Nil, "canceled").into_lua_multi(lua),
    }
}

fn family(v: Option<String>) -> mlua::Result<Family> {
    Ok(match v.as_deref() {
        None | Some("any") => Family::Any,
        Some("inet") | Some("ipv4") => Family::Inet,
        Some("inet6") | Some("ipv6") => Family::Inet6,
        Some(o) => return Err(misuse(format!("address family must be 'inet', 'inet6' or 'any' (got '{o}')"))),
    })
}

/// Counts this process's open descriptors (for leak checks).
fn open_fds() -> i64 {
    let dir = if cfg!(target_os = "linux") { "/proc/self/fd" } else { "/dev/fd" };
    std::fs::read_dir(dir).map(|d| d.count() as i64 - 1).unwrap_or(-1)
}

/// `core.wrap(fd)`: adopts a socket descriptor (it is closed with the object): a stream, a
/// listener (if listening) or a datagram socket, made non-blocking.
fn wrap(lua: &Lua, fd: i32) -> mlua::Result<MultiValue> {
    use std::os::fd::FromRawFd;
    if fd < 0 {
        return fail_msg(lua, "invalid descriptor", libc::EBADF);
    }
    // Check it is an open socket before taking ownership of it.
    let mut ty: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt into a local int; fails harmlessly on a bad descriptor.
    let rc = unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_TYPE, (&raw mut ty).cast(), &mut len) };
    if rc != 0 {
        return fail(lua, &std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is an open socket, and from here on the object owns it.
    let sock = unsafe { socket2::Socket::from_raw_fd(fd) };
    if let Err(e) = sock.set_nonblocking(true) {
        std::mem::forget(sock); // not ours after all: leave it open
        return fail(lua, &e);
    }
    let reactor = reactor_of(lua)?;
    let listening = sock.is_listener().unwrap_or(false);
    match ty {
        libc::SOCK_STREAM if listening => listener::adopt(lua, &reactor, sock),
        libc::SOCK_STREAM => match stream::accepted(lua, &reactor, sock)? {
            Ok(ud) => ud.into_lua_multi(lua),
            Err(e) => fail(lua, &e),
        },
        _ => datagram::adopt(lua, &reactor, sock),
    }
}

/// The descriptor of an open Lua file handle (`io.open`), for sendfile and friends.
fn file_fd(lua: &Lua, f: Value) -> mlua::Result<Option<i32>> {
    let io_type: Function = lua.globals().get::<Table>("io")?.get("type")?;
    if io_type.call::<Option<String>>(&f)?.as_deref() != Some("file") {
        return Err(misuse(format!("open file expected (got {})", f.type_name())));
    }
    // io.type said "file": a live io-library handle, whose userdata block starts with the
    // luaL_Stream { FILE *f; ... } that liolib keeps.
    let stream = f.to_pointer() as *const *mut libc::FILE;
    // SAFETY: see above; the handle is open, so `f` is a valid FILE*.
    let file = unsafe { *stream };
    if file.is_null() {
        return Ok(None);
    }
    // SAFETY: a valid FILE*.
    let fd = unsafe { libc::fileno(file) };
    Ok((fd >= 0).then_some(fd))
}

/// The port of a service name (`"http"` → 80), as getservbyname knows it.
fn service_port(name: &str, proto: Option<&str>) -> Option<u16> {
    let name = std::ffi::CString::new(name).ok()?;
    let proto = proto.map(std::ffi::CString::new).transpose().ok()?;
    // SAFETY: NUL-terminated strings; the result points into static storage we copy from
    // at once (the runtime calls this only from the Lua thread).
    let ent = unsafe { libc::getservbyname(name.as_ptr(), proto.as_ref().map_or(std::ptr::null(), |p| p.as_ptr())) };
    if ent.is_null() {
        return None;
    }
    // SAFETY: non-null servent from getservbyname.
    Some(u16::from_be(unsafe { (*ent).s_port } as u16))
}

/// Builds the module table. The reactor itself is created lazily by the first call that
/// needs it.
pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let core = lua.create_table()?;
    core.set("WAIT", wait_marker())?;

    // Sockets.
    core.set(
        "connect",
        lua.create_function(|lua, (ip, port, opts): (String, i64, Option<Table>)| {
            let a = addr::socket_addr(&ip, port)?;
            stream::connect(lua, a.into(), opts)
        })?,
    )?;
    core.set(
        "connect_unix",
        lua.create_function(|lua, path: String| match SockAddr::unix(&path) {
            Ok(a) => stream::connect(lua, a, None),
            Err(e) => fail(lua, &e),
        })?,
    )?;
    core.set(
        "listen",
        lua.create_function(|lua, (ip, port, opts): (String, i64, Option<Table>)| {
            listener::listen(lua, ip, port, opts)
        })?,
    )?;
    core.set(
        "listen_unix",
        lua.create_function(|lua, (path, opts): (String, Option<Table>)| listener::listen_unix(lua, path, opts))?,
    )?;
    core.set(
        "udp",
        lua.create_function(|lua, fam: Option<String>| {
            let d = match fam.as_deref() {
                None | Some("inet") | Some("ipv4") => Domain::IPV4,
                Some("inet6") | Some("ipv6") => Domain::IPV6,
                Some(o) => return Err(misuse(format!("udp family must be 'inet' or 'inet6' (got '{o}')"))),
            };
            datagram::open(lua, d)
        })?,
    )?;
    core.set("unix_dgram", lua.create_function(|lua, ()| datagram::open(lua, Domain::UNIX))?)?;
    core.set("socketpair", lua.create_function(|lua, ()| stream::socketpair(lua))?)?;
    core.set("dgram_pair", lua.create_function(|lua, ()| datagram::pair(lua))?)?;
    core.set("wrap", lua.create_function(|lua, fd: i32| wrap(lua, fd))?)?;
    // The core object that owns descriptor `fd`, if any.
    core.set(
        "object",
        lua.create_function(|lua, fd: i64| {
            let Some(r) = existing_reactor(lua) else { return Ok(None) };
            let Some(src) = i32::try_from(fd).ok().and_then(|fd| r.source_by_fd(fd)) else { return Ok(None) };
            r.object(src.base().obj)
        })?,
    )?;
    core.set("file_fd", lua.create_function(|lua, f: Value| file_fd(lua, f))?)?;
    core.set(
        "getservbyname",
        lua.create_function(|_, (name, proto): (String, Option<String>)| Ok(service_port(&name, proto.as_deref())))?,
    )?;

    // TLS contexts.
    core.set(
        "tls_client",
        lua.create_function(|lua, opts: Option<Table>| match tls::client(opts)? {
            Ok(c) => lua.create_userdata(c)?.into_lua_multi(lua),
            Err(m) => fail_msg(lua, m, libc::EPROTO),
        })?,
    )?;
    core.set(
        "tls_server",
        lua.create_function(|lua, opts: Table| match tls::server(opts)? {
            Ok(s) => lua.create_userdata(s)?.into_lua_multi(lua),
            Err(m) => fail_msg(lua, m, libc::EPROTO),
        })?,
    )?;

    // DNS.
    core.set(
        "resolve",
        lua.create_function(|lua, (host, cb, fam): (String, Function, Option<String>)| {
            let fam = family(fam)?;
            match reactor_of(lua)?.resolve(host, fam, cb) {
                Ok(()) => true.into_lua_multi(lua),
                Err(e) => fail(lua, &e),
            }
        })?,
    )?;
    core.set("x509_info", lua.create_function(|lua, der: mlua::LuaString| x509::info(lua, der))?)?;
    core.set("is_ip", lua.create_function(|_, s: String| Ok(addr::parse_ip(&s).is_ok()))?)?;
    core.set("errno", error::errno_table(lua)?)?;
    core.set("constants", constants::table(lua)?)?;

    // Time, timers, signals.
    let epoch = Instant::now();
    core.set("now", lua.create_function(move |_, ()| Ok(epoch.elapsed().as_secs_f64()))?)?;
    core.set("timer", lua.create_function(|lua, ()| timer::create(lua))?)?;
    // Blocks the whole process, loop included (firmware-style busy waits).
    core.set(
        "delay",
        lua.create_function(|_, secs: f64| {
            if let Some(d) = seconds_of(&Value::Number(secs)) {
                std::thread::sleep(d.min(std::time::Duration::from_secs(3600)));
            }
            Ok(())
        })?,
    )?;
    core.set("interfaces", lua.create_function(|lua, ()| iface::list(lua))?)?;
    core.set("pid", lua.create_function(|_, ()| Ok(std::process::id()))?)?;
    core.set("platform", host::platform())?;
    core.set("file_info", lua.create_function(|lua, path: String| host::file_info(lua, path))?)?;
    core.set("signal", lua.create_function(|lua, ()| signal::create(lua))?)?;

    // Tasks and the loop.
    core.set(
        "spawn",
        lua.create_function(|lua, (f, args): (Function, MultiValue)| {
            let thread = lua.create_thread(f)?;
            reactor_of(lua)?.spawn(thread.clone(), args);
            Ok(thread)
        })?,
    )?;
    core.set(
        "defer",
        lua.create_function(|lua, (f, args): (Function, MultiValue)| {
            reactor_of(lua)?.defer(f, args);
            Ok(())
        })?,
    )?;
    core.set(
        "block",
        lua.create_function(|lua, (target, dir, timeout): (Value, Option<String>, Value)| {
            let t = waitable_of(lua, &target);
            if t.is_none() && !target.is_nil() {
                return Err(misuse(format!("cannot wait on a {}", target.type_name())));
            }
            let dir = match dir.as_deref() {
                None | Some("r") | Some("read") => Dir::Read,
                Some("w") | Some("write") => Dir::Write,
                Some(o) => return Err(misuse(format!("wait direction must be 'r' or 'w' (got '{o}')"))),
            };
            let r = reactor_of(lua)?.block(lua, t, dir, seconds_of(&timeout))?;
            resume_values(lua, r)
        })?,
    )?;
    core.set("is_waitable", lua.create_function(|lua, v: Value| Ok(waitable_of(lua, &v).is_some()))?)?;
    // Cancels waits on a registered descriptor: they return `nil, "canceled"`.
    core.set(
        "unwait",
        lua.create_function(|lua, (fd, dir): (i64, Option<String>)| {
            let dir = match dir.as_deref() {
                None => None,
                Some("r") | Some("read") => Some(Dir::Read),
                Some("w") | Some("write") => Some(Dir::Write),
                Some(o) => return Err(misuse(format!("unwait direction must be 'r' or 'w' (got '{o}')"))),
            };
            let src = existing_reactor(lua).and_then(|r| r.source_by_fd(i32::try_from(fd).unwrap_or(-1)));
            Ok(match src {
                Some(s) => {
                    s.base().cancel(dir);
                    true
                }
                None => false,
            })
        })?,
    )?;
    core.set("run", lua.create_function(|lua, ()| reactor_of(lua)?.run(lua))?)?;
    core.set(
        "stats",
        lua.create_function(|lua, ()| {
            let t = lua.create_table()?;
            if let Some(r) = existing_reactor(lua) {
                let (sources, anchored, tasks, timers) = r.stats();
                t.set("sources", sources)?;
                t.set("anchored", anchored)?;
                t.set("tasks", tasks)?;
                t.set("timers", timers)?;
                t.set("alive", r.alive())?;
            }
            t.set("fds", open_fds())?;
            Ok(t)
        })?,
    )?;
    let _: Option<AnyUserData> = None;
    Ok(core)
}
