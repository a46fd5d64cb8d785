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
