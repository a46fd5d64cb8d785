//! The server name (SNI) in a TLS ClientHello, read from bytes peeked off a socket.

pub enum Hello {
    Name(String),
    /// More bytes are needed to see the whole hello.
    Incomplete,
    /// Not a TLS ClientHello, or one without a host name.
    NoName,
}

/// A cursor over the hello's bytes; every read is bounds-checked.
struct Cur<'a>(&'a [u8]);

impl<'a> Cur<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<usize> {
        self.take(1).map(|b| b[0] as usize)
    }
    fn u16(&mut self) -> Option<usize> {
        self.take(2).map(|b| ((b[0] as usize) << 8) | b[1] as usize)
    }
    fn u24(&mut self) -> Option<usize> {
        self.take(3).map(|b| ((b[0] as usize) << 16) | ((b[1] as usize) << 8) | b[2] as usize)
    }
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(n)
    }
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(n)
    }
}

/// Finds the host name in the ClientHello at the start of `data` (TLS records as sent).
pub fn server_name(data: &[u8]) -> Hello {
    // Collect the handshake bytes of the leading records (a hello may span several).
    let mut handshake = Vec::new();
    let mut rest = data;
    loop {
        if rest.len() < 5 {
            break;
        }
        if rest[0] != 22 {
            return if handshake.is_empty() { Hello::NoName } else { parse(&handshake, false) };
        }
        let len = ((rest[3] as usize) << 8) | rest[4] as usize;
        if rest.len() < 5 + len {
            break;
        }
        handshake.extend_from_slice(&rest[5..5 + len]);
        rest = &rest[5 + len..];
        if let done @ (Hello::Name(_) | Hello::NoName) = parse(&handshake, true) {
            return done;
        }
    }
    if data.len() >= 5 && data[0] != 22 {
        return Hello::NoName;
    }
    Hello::Incomplete
}

/// `partial`: the handshake bytes may still grow (then a short read means Incomplete).
fn parse(hs: &[u8], partial: bool) -> Hello {
    let short = if partial { Hello::Incomplete } else { Hello::NoName };
    let mut c = Cur(hs);
    let (Some(kind), Some(len)) = (c.u8(), c.u24()) else { return short };
    if kind != 1 {
        return Hello::NoName;
    }
    let Some(body) = c.take(len) else { return short };
    let mut b = Cur(body);
    let found = (|| {
        b.take(2 + 32)?; // version, random
        b.vec8()?; // session id
        b.vec16()?; // cipher suites
        b.vec8()?; // compression methods
        let mut exts = Cur(b.vec16()?);
        while let Some(kind) = exts.u16() {
            let data = exts.vec16()?;
            if kind == 0 {
                let mut list = Cur(data);
                let mut names = Cur(list.vec16()?);
                while let Some(name_type) = names.u8() {
                    let name = names.vec16()?;
                    if name_type == 0 {
                        return Some(Some(String::from_utf8_lossy(name).into_owned()));
                    }
                }
            }
        }
        Some(None)
    })();
    match found {
        Some(Some(name)) => Hello::Name(name),
        _ => Hello::NoName,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(name: Option<&str>) -> Vec<u8> {
        let mut ext = Vec::new();
        if let Some(n) = name {
            let entry_len = 3 + n.len();
            ext.extend_from_slice(&[0, 0]);
            ext.extend_from_slice(&((entry_len + 2) as u16).to_be_bytes());
            ext.extend_from_slice(&(entry_len as u16).to_be_bytes());
            ext.push(0);
            ext.extend_from_slice(&(n.len() as u16).to_be_bytes());
            ext.extend_from_slice(n.as_bytes());
        }
        let mut body = vec![3, 3];
        body.extend_from_slice(&[7; 32]);
        body.push(0); // session id
        body.extend_from_slice(&[0, 2, 0x13, 0x01]); // one suite
        body.extend_from_slice(&[1, 0]); // null compression
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
        let mut hs = vec![1];
        hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&body);
        let mut rec = vec![22, 3, 1];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn finds_the_name_and_knows_when_to_wait() {
        let full = hello(Some("example.org"));
        assert!(matches!(server_name(&full), Hello::Name(n) if n == "example.org"));
        assert!(matches!(server_name(&full[..10]), Hello::Incomplete));
        assert!(matches!(server_name(&hello(None)), Hello::NoName));
        assert!(matches!(server_name(b"GET / HTTP/1.1\r\n"), Hello::NoName));
        assert!(matches!(server_name(&[22, 3, 1, 0xff, 0xff, 1]), Hello::Incomplete));
        // Garbage inside a well-framed record never panics.
        let mut bad = full.clone();
        bad[9] = 0xff;
        let _ = server_name(&bad);
    }
}
