//! `core.interfaces()`: the host's network interfaces, for dialects that report them.

use mlua::{Lua, Table};

/// `{ {name=, family="inet"|"inet6", ip=, netmask=, loopback=bool, hwaddr=raw bytes?}, ... }`
pub fn list(lua: &Lua) -> mlua::Result<Table> {
    let out = lua.create_table()?;
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below; we only read it meanwhile.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Ok(out);
    }
    let mut hw: Vec<(String, Vec<u8>)> = Vec::new();
    let mut entries = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: a NUL-terminated interface name owned by the list.
        let name = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) }.to_string_lossy().into_owned();
        let loopback = ifa.ifa_flags & (libc::IFF_LOOPBACK as libc::c_uint) != 0;
        // SAFETY: ifa_addr is non-null and points at a sockaddr of the family it names.
        let family = unsafe { (*ifa.ifa_addr).sa_family } as i32;
        match family {
            libc::AF_INET | libc::AF_INET6 => {
                let ip = sockaddr_ip(ifa.ifa_addr);
                let mask = if ifa.ifa_netmask.is_null() { None } else { sockaddr_ip(ifa.ifa_netmask) };
                if let Some(ip) = ip {
                    entries.push((name, family, ip, mask, loopback));
                }
            }
            #[cfg(target_os = "linux")]
            libc::AF_PACKET => {
                // SAFETY: an AF_PACKET address is a sockaddr_ll.
                let ll = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_ll) };
                let len = (ll.sll_halen as usize).min(ll.sll_addr.len());
                hw.push((name, ll.sll_addr[..len].to_vec()));
            }
            _ => {}
        }
    }
    // SAFETY: `head` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    for (i, (name, family, ip, mask, loopback)) in entries.into_iter().enumerate() {
        let t = lua.create_table()?;
        if let Some((_, mac)) = hw.iter().find(|(n, _)| *n == name) {
            t.set("hwaddr", lua.create_string(mac)?)?;
        }
        t.set("name", name)?;
        t.set("family", if family == libc::AF_INET { "inet" } else { "inet6" })?;
        t.set("ip", ip.to_string())?;
        if let Some(m) = mask {
            t.set("netmask", m.to_string())?;
        }
        t.set("loopback", loopback)?;
        out.raw_set(i + 1, t)?;
    }
    Ok(out)
}

fn sockaddr_ip(sa: *const libc::sockaddr) -> Option<std::net::IpAddr> {
    // SAFETY: callers pass a non-null sockaddr from getifaddrs; we read it per its family.
    unsafe {
        match (*sa).sa_family as i32 {
            libc::AF_INET => {
                let v4 = &*(sa as *const libc::sockaddr_in);
                Some(std::net::IpAddr::V4(std::net::Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr))))
            }
            libc::AF_INET6 => {
                let v6 = &*(sa as *const libc::sockaddr_in6);
                Some(std::net::IpAddr::V6(std::net::Ipv6Addr::from(v6.sin6_addr.s6_addr)))
            }
            _ => None,
        }
    }
}
