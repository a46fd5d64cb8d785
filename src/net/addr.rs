//! Socket addresses between Lua (`ip, port` or a path) and the system.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use socket2::SockAddr;

use super::error::misuse;

/// Parses an IP literal (IPv6 may be bracketed). Host names are resolved by `core.resolve`
/// first; the core never blocks on DNS.
pub fn parse_ip(s: &str) -> mlua::Result<IpAddr> {
    let t = s.strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap_or(s);
    // Drop an IPv6 zone (`fe80::1%eth0`): std does not parse it, and loopback tests never need it.
    let t = t.split('%').next().unwrap_or(t);
    t.parse::<IpAddr>().map_err(|_| misuse(format!("invalid IP address '{s}' (resolve host names first)")))
}

pub fn socket_addr(ip: &str, port: i64) -> mlua::Result<SocketAddr> {
    let port = u16::try_from(port).map_err(|_| misuse(format!("invalid port {port} (0-65535)")))?;
    Ok(SocketAddr::new(parse_ip(ip)?, port))
}

/// For an IPv6 socket, maps an IPv4 destination to `::ffff:a.b.c.d`.
pub fn for_family(addr: SocketAddr, v6_socket: bool) -> SocketAddr {
    match (addr, v6_socket) {
        (SocketAddr::V4(a), true) => SocketAddr::new(IpAddr::V6(a.ip().to_ipv6_mapped()), a.port()),
        _ => addr,
    }
}

/// `ip, port` for an inet address (IPv4-mapped shown as IPv4), `path` for a Unix one.
pub enum Shown {
    Inet(String, u16),
    Unix(String),
}

pub fn show(a: &SockAddr) -> Shown {
    if let Some(sa) = a.as_socket() {
        let ip = match sa.ip() {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
            ip => ip,
        };
        return Shown::Inet(ip.to_string(), sa.port());
    }
    match a.as_pathname() {
        Some(p) => Shown::Unix(p.to_string_lossy().into_owned()),
        None => Shown::Unix(String::new()),
    }
}

pub fn unspecified(v6: bool) -> IpAddr {
    if v6 { IpAddr::V6(Ipv6Addr::UNSPECIFIED) } else { IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED) }
}

impl mlua::IntoLuaMulti for Shown {
    fn into_lua_multi(self, lua: &mlua::Lua) -> mlua::Result<mlua::MultiValue> {
        match self {
            Shown::Inet(ip, port) => (ip, port).into_lua_multi(lua),
            Shown::Unix(path) => path.into_lua_multi(lua),
        }
    }
}
