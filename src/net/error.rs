//! How the core reports failures to Lua: `nil, message, errno` for anything the system or a
//! peer caused; a raised Lua error only for misuse by the script (wrong types, bad values).

use mlua::{IntoLuaMulti, Lua, MultiValue, Value};

/// The `strerror` text of an I/O error, without Rust's " (os error N)" suffix.
pub fn message(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The errno of an I/O error (`EIO` when the error did not come from the OS).
pub fn errno(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

/// `nil, message, errno`.
pub fn fail(lua: &Lua, e: &std::io::Error) -> mlua::Result<MultiValue> {
    (Value::Nil, message(e), errno(e)).into_lua_multi(lua)
}

/// `nil, message, code` for failures that are not `io::Error`s (TLS, DNS, limits).
pub fn fail_msg(lua: &Lua, msg: impl Into<String>, code: i32) -> mlua::Result<MultiValue> {
    (Value::Nil, msg.into(), code).into_lua_multi(lua)
}

/// Script misuse: raised as an error whose text is exactly the message.
#[derive(Debug)]
pub struct Misuse(pub String);

impl std::fmt::Display for Misuse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Misuse {}

/// A raised error for script misuse.
pub fn misuse(msg: impl Into<String>) -> mlua::Error {
    mlua::Error::external(Misuse(msg.into()))
}

pub fn would_block(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::EINPROGRESS)
}

/// `core.errno`: this platform's errno values by name, so Lua code never hard-codes numbers.
pub fn errno_table(lua: &Lua) -> mlua::Result<mlua::Table> {
    let t = lua.create_table()?;
    for (name, code) in [
        ("EPERM", libc::EPERM),
        ("ENOENT", libc::ENOENT),
        ("EINTR", libc::EINTR),
        ("EIO", libc::EIO),
        ("EBADF", libc::EBADF),
        ("EAGAIN", libc::EAGAIN),
        ("EWOULDBLOCK", libc::EWOULDBLOCK),
        ("ENOMEM", libc::ENOMEM),
        ("EACCES", libc::EACCES),
        ("EFAULT", libc::EFAULT),
        ("EBUSY", libc::EBUSY),
        ("EEXIST", libc::EEXIST),
        ("ENOTDIR", libc::ENOTDIR),
        ("EISDIR", libc::EISDIR),
        ("EINVAL", libc::EINVAL),
        ("ENFILE", libc::ENFILE),
        ("EMFILE", libc::EMFILE),
        ("ENOSPC", libc::ENOSPC),
        ("EPIPE", libc::EPIPE),
        ("ERANGE", libc::ERANGE),
        ("ENAMETOOLONG", libc::ENAMETOOLONG),
        ("ENOSYS", libc::ENOSYS),
        ("ENOTSOCK", libc::ENOTSOCK),
        ("EDESTADDRREQ", libc::EDESTADDRREQ),
        ("EMSGSIZE", libc::EMSGSIZE),
        ("EPROTOTYPE", libc::EPROTOTYPE),
        ("ENOPROTOOPT", libc::ENOPROTOOPT),
        ("EPROTONOSUPPORT", libc::EPROTONOSUPPORT),
        ("EOPNOTSUPP", libc::EOPNOTSUPP),
        ("ENOTSUP", libc::ENOTSUP),
        ("EAFNOSUPPORT", libc::EAFNOSUPPORT),
        ("EADDRINUSE", libc::EADDRINUSE),
        ("EADDRNOTAVAIL", libc::EADDRNOTAVAIL),
        ("ENETDOWN", libc::ENETDOWN),
        ("ENETUNREACH", libc::ENETUNREACH),
        ("ENETRESET", libc::ENETRESET),
        ("ECONNABORTED", libc::ECONNABORTED),
        ("ECONNRESET", libc::ECONNRESET),
        ("ENOBUFS", libc::ENOBUFS),
        ("EISCONN", libc::EISCONN),
        ("ENOTCONN", libc::ENOTCONN),
        ("ESHUTDOWN", libc::ESHUTDOWN),
        ("ETIMEDOUT", libc::ETIMEDOUT),
        ("ECONNREFUSED", libc::ECONNREFUSED),
        ("EHOSTDOWN", libc::EHOSTDOWN),
        ("EHOSTUNREACH", libc::EHOSTUNREACH),
        ("EALREADY", libc::EALREADY),
        ("EINPROGRESS", libc::EINPROGRESS),
        ("ECANCELED", libc::ECANCELED),
        ("EPROTO", libc::EPROTO),
        ("ELOOP", libc::ELOOP),
    ] {
        t.set(name, code)?;
    }
    Ok(t)
}
