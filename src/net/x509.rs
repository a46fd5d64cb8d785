//! `core.x509_info(der)`: the fields of a certificate that TLS APIs report (subject, issuer,
//! validity, SHA-256 fingerprint, PEM), parsed with the OpenSSL that native-tls uses.

use mlua::{Lua, Table, Value};

#[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "windows")))]
pub fn info(lua: &Lua, der: mlua::LuaString) -> mlua::Result<(Value, Option<String>)> {
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::x509::{X509, X509NameRef};

    // "/C=../O=../CN=.." as libtls prints names (short names, in order).
    fn name(n: &X509NameRef) -> String {
        let mut out = String::new();
        for e in n.entries() {
            let key = e.object().nid().short_name().unwrap_or("?");
            let value = e.data().to_string().unwrap_or_default();
            out.push('/');
            out.push_str(key);
            out.push('=');
            out.push_str(&value);
        }
        out
    }
    fn epoch(t: &openssl::asn1::Asn1TimeRef) -> i64 {
        let Ok(zero) = openssl::asn1::Asn1Time::from_unix(0) else { return -1 };
        match zero.diff(t) {
            Ok(d) => i64::from(d.days) * 86_400 + i64::from(d.secs),
            Err(_) => -1,
        }
    }

    let cert = match X509::from_der(&der.as_bytes()) {
        Ok(c) => c,
        Err(e) => return Ok((Value::Nil, Some(format!("not a DER certificate: {e}")))),
    };
    let t: Table = lua.create_table()?;
    t.set("subject", name(cert.subject_name()))?;
    t.set("issuer", name(cert.issuer_name()))?;
    t.set("notbefore", epoch(cert.not_before()))?;
    t.set("notafter", epoch(cert.not_after()))?;
    if let Ok(d) = cert.digest(MessageDigest::sha256()) {
        let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
        t.set("hash", format!("SHA256:{hex}"))?;
    }
    if let Ok(pem) = cert.to_pem() {
        t.set("pem", lua.create_string(pem)?)?;
    }
    let names = lua.create_table()?;
    if let Some(cn) = cert.subject_name().entries_by_nid(Nid::COMMONNAME).next() {
        if let Ok(s) = cn.data().to_string() {
            names.push(s.to_string())?;
        }
    }
    if let Some(sans) = cert.subject_alt_names() {
        for san in sans.iter() {
            if let Some(dns) = san.dnsname() {
                names.push(dns.to_string())?;
            } else if let Some(ip) = san.ipaddress() {
                let ip = match ip.len() {
                    4 => <[u8; 4]>::try_from(ip).map(|a| std::net::IpAddr::from(a).to_string()).ok(),
                    16 => <[u8; 16]>::try_from(ip).map(|a| std::net::IpAddr::from(a).to_string()).ok(),
                    _ => None,
                };
                if let Some(ip) = ip {
                    names.push(ip)?;
                }
            }
        }
    }
    t.set("names", names)?;
    Ok((Value::Table(t), None))
}

#[cfg(any(target_os = "macos", target_os = "ios", target_os = "windows"))]
pub fn info(_: &Lua, _: mlua::LuaString) -> mlua::Result<(Value, Option<String>)> {
    Ok((Value::Nil, Some("certificate details are not available with this platform's TLS library".into())))
}
