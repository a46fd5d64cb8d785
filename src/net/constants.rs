//! `core.constants`: the socket API's integer constants as this platform defines them
//! (AF_*, SOCK_*, IPPROTO_*, MSG_*, SHUT_*, AI_*, NI_*, SOL_*, SO_*, SCM_*), for dialects
//! that expose numbers (lua-net's `net` table).

use mlua::{Lua, Table};

pub fn table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    macro_rules! put {
        ($($name:ident),* $(,)?) => {
            $( t.set(stringify!($name), libc::$name as i64)?; )*
        };
    }
    put!(
        AF_UNSPEC,
        AF_INET,
        AF_INET6,
        AF_UNIX,
        AF_LOCAL,
        SOCK_STREAM,
        SOCK_DGRAM,
        SOCK_RAW,
        SOCK_SEQPACKET,
        IPPROTO_IP,
        IPPROTO_IPV6,
        IPPROTO_TCP,
        IPPROTO_UDP,
        IPPROTO_ICMP,
        IPPROTO_RAW,
        MSG_OOB,
        MSG_PEEK,
        MSG_DONTROUTE,
        MSG_WAITALL,
        MSG_TRUNC,
        MSG_CTRUNC,
        MSG_EOR,
        MSG_DONTWAIT,
        SHUT_RD,
        SHUT_WR,
        SHUT_RDWR,
        AI_PASSIVE,
        AI_CANONNAME,
        AI_NUMERICHOST,
        AI_NUMERICSERV,
        AI_V4MAPPED,
        AI_ALL,
        AI_ADDRCONFIG,
        NI_NUMERICHOST,
        NI_NUMERICSERV,
        NI_NOFQDN,
        NI_NAMEREQD,
        NI_DGRAM,
        SOL_SOCKET,
        SO_REUSEADDR,
        SO_REUSEPORT,
        SO_KEEPALIVE,
        SO_BROADCAST,
        SO_LINGER,
        SO_RCVBUF,
        SO_SNDBUF,
        SO_RCVLOWAT,
        SO_SNDLOWAT,
        SO_RCVTIMEO,
        SO_SNDTIMEO,
        SO_ERROR,
        SO_TYPE,
        SO_DEBUG,
        SO_DONTROUTE,
        SO_OOBINLINE,
        SO_ACCEPTCONN,
        SO_TIMESTAMP,
        SCM_RIGHTS,
        SOMAXCONN,
        TCP_NODELAY,
    );
    #[cfg(target_os = "linux")]
    put!(MSG_NOSIGNAL, MSG_CMSG_CLOEXEC, SCM_CREDENTIALS, TCP_CORK, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT);
    Ok(t)
}
