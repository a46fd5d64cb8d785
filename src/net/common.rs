//! What streams, listeners and datagram sockets share: the Lua methods for handlers,
//! options and closing, and the bounded loop that delivers what is ready.

use std::io;

use mlua::{AnyUserData, Function, IntoLuaMulti, Lua, MultiValue, UserData, UserDataMethods, Value};

use super::error::{errno, fail, fail_msg, message, would_block};
use super::{fdpass, sockopt};
use crate::reactor::{Dir, SourceBase};

fn with_sock<R>(fd: std::os::fd::RawFd, f: impl FnOnce(socket2::SockRef<'_>) -> R) -> R {
    // SAFETY: callers pass the descriptor of an open socket object for the call's duration.
    let bfd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    f(socket2::SockRef::from(&bfd))
}

/// A socket object as the shared Lua methods see it.
pub trait SocketObject: UserData + 'static {
    fn base(&self) -> &SourceBase;
    /// A handler was set (`true`) or removed; the object re-decides whether it is active.
    fn set_handler(&self, on: bool) -> mlua::Result<()>;
    /// Closes the descriptor (idempotent). `graceful`: a stream with queued data closes
    /// once the queue has drained instead of discarding it.
    fn close(&self, graceful: bool) -> mlua::Result<()>;
}

/// `fd`, `is_closed`, `on`, `setopt`, `getopt`, `close`.
pub fn add_methods<T: SocketObject, M: UserDataMethods<T>>(m: &mut M) {
    m.add_method("fd", |_, s, ()| Ok(if s.base().is_closed() { -1 } else { s.base().fd }));
    m.add_method("is_closed", |_, s, ()| Ok(s.base().is_closed()));
    m.add_function("on", |_, (ud, f): (AnyUserData, Option<Function>)| {
        ud.borrow::<T>()?.set_handler(f.is_some())?;
        ud.set_user_value(f)
    });
    m.add_method("setopt", |lua, s, (name, v): (String, Value)| {
        if s.base().is_closed() {
            return closed(lua);
        }
        match sockopt::set(s.base().fd, &name, &v)? {
            Ok(()) => true.into_lua_multi(lua),
            Err(e) => fail(lua, &e),
        }
    });
    m.add_method("getopt", |lua, s, name: String| {
        if s.base().is_closed() {
            return closed(lua);
        }
        match sockopt::get(lua, s.base().fd, &name)? {
            Ok(v) => v.into_lua_multi(lua),
            Err(e) => fail(lua, &e),
        }
    });
    // family, type, protocol as the platform numbers them (core.constants).
    m.add_method("socket_info", |lua, s, ()| {
        if s.base().is_closed() {
            return closed(lua);
        }
        let info = with_sock(s.base().fd, |r| (r.domain(), r.r#type(), r.protocol()));
        match info {
            (Ok(d), Ok(t), p) => {
                let proto = p.ok().flatten().map_or(0, i32::from);
                (i32::from(d), i32::from(t), proto).into_lua_multi(lua)
            }
            (Err(e), _, _) | (_, Err(e), _) => fail(lua, &e),
        }
    });
    // Descriptor passing on Unix sockets: one data byte carries the descriptor.
    m.add_method("sendfd", |lua, s, fd: i32| {
        if s.base().is_closed() {
            return closed(lua);
        }
        match fdpass::send_fd(s.base().fd, fd) {
            Ok(n) => n.into_lua_multi(lua),
            Err(e) if would_block(&e) => {
                s.base().clear(Dir::Write);
                false.into_lua_multi(lua)
            }
            Err(e) => fail(lua, &e),
        }
    });
    // `fd`, `false` (nothing yet, or a byte without a descriptor), `nil` at the end.
    m.add_method("recvfd", |lua, s, ()| {
        if s.base().is_closed() {
            return closed(lua);
        }
        match fdpass::recv_fd(s.base().fd) {
            Ok(Some(fd)) => fd.into_lua_multi(lua),
            Ok(None) => false.into_lua_multi(lua),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Value::Nil.into_lua_multi(lua),
            Err(e) if would_block(&e) => {
                s.base().clear(Dir::Read);
                false.into_lua_multi(lua)
            }
            Err(e) => fail(lua, &e),
        }
    });
    m.add_function("close", |_, (ud, graceful): (AnyUserData, Option<bool>)| {
        {
            let s = ud.borrow::<T>()?;
            s.close(graceful.unwrap_or(false))?;
            s.set_handler(false)?;
        }
        ud.set_user_value(Value::Nil)?;
        Ok(true)
    });
}

/// `nil, "socket is closed", EBADF`.
pub fn closed(lua: &Lua) -> mlua::Result<MultiValue> {
    fail_msg(lua, "socket is closed", libc::EBADF)
}

/// One step of a delivery loop.
pub enum Step {
    /// Emit this event with these arguments, then look again.
    Emit(&'static str, MultiValue),
    /// Nothing more for now.
    Block,
    /// Report `error`(message, errno) and stop for this turn.
    Fail(io::Error),
}

/// Emits what `step` finds until it would block or fails, at most `budget` times; past
/// the budget the source asks for another turn, so one busy source cannot starve the rest.
pub fn deliver(
    lua: &Lua,
    base: &SourceBase,
    budget: usize,
    live: impl Fn() -> bool,
    mut step: impl FnMut() -> mlua::Result<Step>,
) -> mlua::Result<()> {
    for _ in 0..budget {
        if base.is_closed() || !live() {
            return Ok(());
        }
        match step()? {
            Step::Emit(event, args) => base.reactor.emit(lua, base.obj, event, args)?,
            Step::Block => return Ok(()),
            Step::Fail(e) => return base.reactor.emit(lua, base.obj, "error", (message(&e), errno(&e))),
        }
    }
    base.reactor.again(base.key);
    Ok(())
}
