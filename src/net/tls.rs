//! TLS contexts (client connectors, server acceptors) built from Lua option tables.
//! Building one loads the system roots, so it happens only when a script first asks.

use mlua::{Table, UserData, Value};
use native_tls::{Certificate, Identity, Protocol, TlsAcceptor, TlsConnector};

use super::error::misuse;

pub struct TlsClient(pub TlsConnector);
pub struct TlsServer(pub TlsAcceptor);

impl UserData for TlsClient {}
impl UserData for TlsServer {}

fn bytes(v: &Value, what: &str) -> mlua::Result<Vec<u8>> {
    match v {
        Value::String(s) => Ok(s.as_bytes().to_vec()),
        other => Err(misuse(format!("TLS option '{what}' must be a string (got {})", other.type_name()))),
    }
}

fn strings(t: &Table, key: &str) -> mlua::Result<Vec<Vec<u8>>> {
    match t.get::<Value>(key)? {
        Value::Nil => Ok(Vec::new()),
        Value::Table(list) => list.sequence_values::<Value>().map(|v| bytes(&v?, key)).collect(),
        v => Ok(vec![bytes(&v, key)?]),
    }
}

fn protocol(t: &Table, key: &str) -> mlua::Result<Option<Protocol>> {
    let v: Option<String> = t.get(key)?;
    Ok(match v.as_deref() {
        None => None,
        Some("1.0") => Some(Protocol::Tlsv10),
        Some("1.1") => Some(Protocol::Tlsv11),
        Some("1.2") => Some(Protocol::Tlsv12),
        Some("1.3") => Some(Protocol::Tlsv13),
        Some(other) => return Err(misuse(format!("TLS option '{key}': unknown version '{other}' (1.0-1.3)"))),
    })
}

/// native-tls takes PKCS#8 keys only; PKCS#1 (`RSA PRIVATE KEY`) and SEC1 (`EC PRIVATE
/// KEY`) PEM keys, which many device and server setups still use, are converted.
fn pkcs8(key: &[u8]) -> mlua::Result<Vec<u8>> {
    let start = key.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(0);
    let key = &key[start..];
    if key.starts_with(b"-----BEGIN PRIVATE KEY-----") {
        return Ok(key.to_vec());
    }
    #[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "windows")))]
    {
        openssl::pkey::PKey::private_key_from_pem(key)
            .and_then(|k| k.private_key_to_pem_pkcs8())
            .map_err(|e| misuse(format!("TLS option 'key': not a usable PEM private key ({e})")))
    }
    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "windows"))]
    {
        Ok(key.to_vec())
    }
}

fn identity(t: &Table) -> mlua::Result<Option<Identity>> {
    let cert: Value = t.get("cert")?;
    let key: Value = t.get("key")?;
    match (&cert, &key) {
        (Value::Nil, Value::Nil) => Ok(None),
        (Value::Nil, _) | (_, Value::Nil) => Err(misuse("TLS options 'cert' and 'key' go together")),
        _ => Identity::from_pkcs8(&bytes(&cert, "cert")?, &pkcs8(&bytes(&key, "key")?)?)
            .map(Some)
            .map_err(|e| misuse(format!("TLS certificate/key: {e}"))),
    }
}

/// `core.tls_client{ verify=true, verify_name=true, ca=pem|{pem...}, ca_only=true,
/// cert=pem, key=pem, alpn={...}, sni=true, min="1.2", max="1.3" }`
pub fn client(opts: Option<Table>) -> mlua::Result<Result<TlsClient, String>> {
    {
        let mut b = TlsConnector::builder();
        if let Some(t) = &opts {
            let verify = t.get::<Option<bool>>("verify")?.unwrap_or(true);
            let verify_name = t.get::<Option<bool>>("verify_name")?.unwrap_or(verify);
            b.danger_accept_invalid_certs(!verify);
            b.danger_accept_invalid_hostnames(!verify_name);
            let cas = strings(t, "ca")?;
            for pem in &cas {
                let certs = Certificate::stack_from_pem(pem).map_err(|e| misuse(format!("TLS option 'ca': {e}")))?;
                if certs.is_empty() {
                    return Err(misuse("TLS option 'ca': no certificate found in PEM"));
                }
                for c in certs {
                    b.add_root_certificate(c);
                }
            }
            if !cas.is_empty() && t.get::<Option<bool>>("ca_only")?.unwrap_or(true) {
                b.disable_built_in_roots(true);
            }
            if let Some(id) = identity(t)? {
                b.identity(id);
            }
            let alpn = strings(t, "alpn")?;
            let alpn: Vec<String> = alpn.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
            if !alpn.is_empty() {
                b.request_alpns(&alpn.iter().map(String::as_str).collect::<Vec<_>>());
            }
            b.use_sni(t.get::<Option<bool>>("sni")?.unwrap_or(true));
            b.min_protocol_version(protocol(t, "min")?.or(Some(Protocol::Tlsv12)));
            b.max_protocol_version(protocol(t, "max")?);
        } else {
            b.min_protocol_version(Some(Protocol::Tlsv12));
        }
        Ok(b.build().map(TlsClient).map_err(|e| e.to_string()))
    }
}

/// `core.tls_server{ cert=pem, key=pem (PKCS#8), alpn={...}, min=, max= }`
pub fn server(t: Table) -> mlua::Result<Result<TlsServer, String>> {
    {
        let Some(id) = identity(&t)? else {
            return Err(misuse("TLS server needs 'cert' and 'key'"));
        };
        let mut b = TlsAcceptor::builder(id);
        let alpn = strings(&t, "alpn")?;
        let alpn: Vec<String> = alpn.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        if !alpn.is_empty() {
            b.accept_alpn(&alpn);
        }
        let min = protocol(&t, "min")?;
        if cfg!(not(any(target_os = "macos", target_os = "ios", target_os = "windows")))
            && matches!(min, Some(Protocol::Tlsv13))
        {
            // native-tls builds OpenSSL acceptors from Mozilla's intermediate profile, which
            // stops at TLS 1.2: a 1.3-only server could never complete a handshake.
            return Ok(Err("a TLS 1.3-only server is not supported by the platform TLS library".into()));
        }
        b.min_protocol_version(min.or(Some(Protocol::Tlsv12)));
        b.max_protocol_version(protocol(&t, "max")?);
        Ok(b.build().map(TlsServer).map_err(|e| e.to_string()))
    }
}
