//! Socket options by name, shared by streams, listeners and datagram sockets.

use std::os::fd::{BorrowedFd, RawFd};
use std::time::Duration;

use mlua::{IntoLua, Lua, Value};
use socket2::{SockRef, TcpKeepalive};

use super::error::misuse;

/// The option names `setopt`/`getopt` accept.
pub const NAMES: &[&str] = &[
    "nodelay",
    "keepalive",
    "keepidle",
    "keepintvl",
    "keepcnt",
    "reuseaddr",
    "reuseport",
    "broadcast",
    "rcvbuf",
    "sndbuf",
    "linger",
    "ttl",
    "v6only",
    "multicast_ttl",
    "multicast_loop",
    "error",
    "type",
];

fn with<R>(fd: RawFd, f: impl FnOnce(SockRef<'_>) -> R) -> R {
    // SAFETY: callers pass the descriptor of an open socket they own for the duration.
    let bfd = unsafe { BorrowedFd::borrow_raw(fd) };
    f(SockRef::from(&bfd))
}

fn flag(v: &Value, name: &str) -> mlua::Result<bool> {
    match v {
        Value::Boolean(b) => Ok(*b),
        Value::Integer(i) => Ok(*i != 0),
        Value::Number(n) => Ok(*n != 0.0),
        other => Err(misuse(format!("option '{name}' expects a boolean (got {})", other.type_name()))),
    }
}

fn int(v: &Value, name: &str) -> mlua::Result<u32> {
    let n = match v {
        Value::Integer(i) => *i,
        Value::Number(n) if n.fract() == 0.0 => *n as i64,
        other => return Err(misuse(format!("option '{name}' expects an integer (got {})", other.type_name()))),
    };
    u32::try_from(n).map_err(|_| misuse(format!("option '{name}' out of range: {n}")))
}

/// Sets option `name`; `Ok(Err(io))` is a system refusal, `Err` a misuse.
pub fn set(fd: RawFd, name: &str, v: &Value) -> mlua::Result<std::io::Result<()>> {
    with(fd, |s| -> mlua::Result<std::io::Result<()>> {
        Ok(match name {
            "nodelay" => s.set_tcp_nodelay(flag(v, name)?),
            "keepalive" => s.set_keepalive(flag(v, name)?),
            "keepidle" => {
                s.set_tcp_keepalive(&TcpKeepalive::new().with_time(Duration::from_secs(int(v, name)? as u64)))
            }
            "keepintvl" => {
                s.set_tcp_keepalive(&TcpKeepalive::new().with_interval(Duration::from_secs(int(v, name)? as u64)))
            }
            "keepcnt" => s.set_tcp_keepalive(&TcpKeepalive::new().with_retries(int(v, name)?)),
            "reuseaddr" => s.set_reuse_address(flag(v, name)?),
            "reuseport" => s.set_reuse_port(flag(v, name)?),
            "broadcast" => s.set_broadcast(flag(v, name)?),
            "rcvbuf" => s.set_recv_buffer_size(int(v, name)? as usize),
            "sndbuf" => s.set_send_buffer_size(int(v, name)? as usize),
            "linger" => s.set_linger(match v {
                Value::Nil | Value::Boolean(false) => None,
                _ => Some(Duration::from_secs(int(v, name)? as u64)),
            }),
            "ttl" => s.set_ttl_v4(int(v, name)?),
            "v6only" => s.set_only_v6(flag(v, name)?),
            "multicast_ttl" => s.set_multicast_ttl_v4(int(v, name)?),
            "multicast_loop" => s.set_multicast_loop_v4(flag(v, name)?),
            _ => return Err(misuse(format!("unknown socket option '{name}'"))),
        })
    })
}

/// Reads option `name`.
pub fn get(lua: &Lua, fd: RawFd, name: &str) -> mlua::Result<std::io::Result<Value>> {
    with(fd, |s| -> mlua::Result<std::io::Result<Value>> {
        macro_rules! lua_ok {
            ($e:expr) => {
                match $e {
                    Ok(v) => Ok(v.into_lua(lua)?),
                    Err(e) => Err(e),
                }
            };
        }
        Ok(match name {
            "nodelay" => lua_ok!(s.tcp_nodelay()),
            "keepalive" => lua_ok!(s.keepalive()),
            "keepidle" => lua_ok!(s.tcp_keepalive_time().map(|d| d.as_secs())),
            "keepintvl" => lua_ok!(s.tcp_keepalive_interval().map(|d| d.as_secs())),
            "keepcnt" => lua_ok!(s.tcp_keepalive_retries()),
            "reuseaddr" => lua_ok!(s.reuse_address()),
            "reuseport" => lua_ok!(s.reuse_port()),
            "broadcast" => lua_ok!(s.broadcast()),
            "rcvbuf" => lua_ok!(s.recv_buffer_size()),
            "sndbuf" => lua_ok!(s.send_buffer_size()),
            "linger" => lua_ok!(s.linger().map(|l| l.map(|d| d.as_secs()))),
            "ttl" => lua_ok!(s.ttl_v4()),
            "v6only" => lua_ok!(s.only_v6()),
            "multicast_ttl" => lua_ok!(s.multicast_ttl_v4()),
            "multicast_loop" => lua_ok!(s.multicast_loop_v4()),
            "error" => lua_ok!(s.take_error().map(|e| e.and_then(|e| e.raw_os_error()).unwrap_or(0))),
            "type" => lua_ok!(s.r#type().map(i32::from)),
            _ => return Err(misuse(format!("unknown socket option '{name}'"))),
        })
    })
}
