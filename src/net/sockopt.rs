//! Socket options by name, shared by streams, listeners and datagram sockets.

use std::os::fd::{BorrowedFd, RawFd};
use std::time::Duration;

use mlua::{IntoLua, Lua, Value};
use socket2::{SockRef, TcpKeepalive};

use super::error::misuse;

fn with<R>(fd: RawFd, f: impl FnOnce(SockRef<'_>) -> R) -> R {
    // SAFETY: callers pass the descriptor of an open socket they own for the duration.
    let bfd = unsafe { BorrowedFd::borrow_raw(fd) };
    f(SockRef::from(&bfd))
}

/// Options set and read as plain integers: (level, option, reads back as a boolean).
fn raw_option(name: &str) -> Option<(libc::c_int, libc::c_int, bool)> {
    Some(match name {
        "debug" => (libc::SOL_SOCKET, libc::SO_DEBUG, true),
        "dontroute" => (libc::SOL_SOCKET, libc::SO_DONTROUTE, true),
        "timestamp" => (libc::SOL_SOCKET, libc::SO_TIMESTAMP, true),
        "oobinline" => (libc::SOL_SOCKET, libc::SO_OOBINLINE, true),
        "acceptconn" => (libc::SOL_SOCKET, libc::SO_ACCEPTCONN, true),
        "rcvlowat" => (libc::SOL_SOCKET, libc::SO_RCVLOWAT, false),
        "sndlowat" => (libc::SOL_SOCKET, libc::SO_SNDLOWAT, false),
        #[cfg(target_os = "linux")]
        "cork" => (libc::IPPROTO_TCP, libc::TCP_CORK, true),
        #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
        "cork" => (libc::IPPROTO_TCP, libc::TCP_NOPUSH, true),
        _ => return None,
    })
}

fn set_int(fd: RawFd, level: libc::c_int, opt: libc::c_int, v: libc::c_int) -> std::io::Result<()> {
    let size = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: setsockopt reads one int from a local.
    let rc = unsafe { libc::setsockopt(fd, level, opt, (&raw const v).cast(), size) };
    if rc == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

fn get_int(fd: RawFd, level: libc::c_int, opt: libc::c_int) -> std::io::Result<libc::c_int> {
    let mut v: libc::c_int = 0;
    let mut size = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `size` bytes into a local int.
    let rc = unsafe { libc::getsockopt(fd, level, opt, (&raw mut v).cast(), &mut size) };
    if rc == 0 { Ok(v) } else { Err(std::io::Error::last_os_error()) }
}

fn int_or_flag(v: &Value, name: &str) -> mlua::Result<libc::c_int> {
    match v {
        Value::Boolean(b) => Ok(*b as libc::c_int),
        _ => Ok(int(v, name)? as libc::c_int),
    }
}

/// Seconds (fractions allowed); 0 or `nil` turns the timeout off.
fn timeout(v: &Value, name: &str) -> mlua::Result<Option<Duration>> {
    let secs = match v {
        Value::Nil => 0.0,
        Value::Integer(i) => *i as f64,
        Value::Number(n) => *n,
        other => return Err(misuse(format!("option '{name}' expects seconds (got {})", other.type_name()))),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(misuse(format!("option '{name}' expects a finite number of seconds >= 0")));
    }
    Ok((secs > 0.0).then(|| Duration::from_secs_f64(secs)))
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
            "multicast_if" => match v {
                Value::String(ip) => match super::addr::parse_ip(&ip.to_str()?)? {
                    std::net::IpAddr::V4(a) => s.set_multicast_if_v4(&a),
                    std::net::IpAddr::V6(_) => return Err(misuse("option 'multicast_if' expects an IPv4 address")),
                },
                other => {
                    return Err(misuse(format!(
                        "option 'multicast_if' expects an IP address (got {})",
                        other.type_name()
                    )));
                }
            },
            "rcvtimeo" => s.set_read_timeout(timeout(v, name)?),
            "sndtimeo" => s.set_write_timeout(timeout(v, name)?),
            _ => match raw_option(name) {
                Some((level, opt, _)) => set_int(fd, level, opt, int_or_flag(v, name)?),
                None => return Err(misuse(format!("unknown socket option '{name}'"))),
            },
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
            "rcvtimeo" => lua_ok!(s.read_timeout().map(|d| d.map_or(0.0, |d| d.as_secs_f64()))),
            "sndtimeo" => lua_ok!(s.write_timeout().map(|d| d.map_or(0.0, |d| d.as_secs_f64()))),
            _ => match raw_option(name) {
                Some((level, opt, true)) => lua_ok!(get_int(fd, level, opt).map(|n| n != 0)),
                Some((level, opt, false)) => lua_ok!(get_int(fd, level, opt)),
                None => return Err(misuse(format!("unknown socket option '{name}'"))),
            },
        })
    })
}
