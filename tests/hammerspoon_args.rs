//! LuaSkin's argument count check on every `hs.socket` and `hs.socket.udp` function that
//! upstream checks: one argument too many raises "incorrect number of arguments" with the
//! counts (`self` included), explicit trailing nils count, and the full count still works.
//! Type errors are covered in tests/hammerspoon.rs.

mod common;

use common::{TempDir, run_lua_in};

#[test]
fn one_argument_too_many_raises_with_the_counts() {
    let dir = TempDir::new();
    let out = run_lua_in(
        &dir,
        r#"-- rlua-net: dialect=hammerspoon
local function extra(what, f, ...)
  local ok, err = pcall(f, ...)
  print(what, ok, err)
end
local s = hs.socket.new()
local u = hs.socket.udp.new()
extra("new", hs.socket.new, nil, 1)
extra("parseAddress", hs.socket.parseAddress, "x", nil)
extra("connect", s.connect, s, "127.0.0.1", 1, nil, 5)
extra("listen", s.listen, s, 0, 1)
extra("disconnect", s.disconnect, s, nil)
extra("read", s.read, s, "\n", 1, 2)
extra("receive", s.receive, s, 4, 1, 2)
extra("write", s.write, s, "x", 1, nil, nil)
extra("setCallback", s.setCallback, s, nil, 1)
extra("setTimeout", s.setTimeout, s, 1, 1)
extra("connected", s.connected, s, 1)
extra("connections", s.connections, s, 1)
extra("info", s.info, s, 1)
extra("startTLS", s.startTLS, s, true, nil)
extra("udp.new", hs.socket.udp.new, nil, nil)
extra("udp.listen", u.listen, u, 0, 1)
extra("udp.connect", u.connect, u, "127.0.0.1", 9, nil, 1)
extra("udp.close", u.close, u, 1)
extra("udp.pause", u.pause, u, 1)
extra("udp.receive", u.receive, u, nil, 1)
extra("udp.receiveOne", u.receiveOne, u, nil, 1)
extra("udp.send", u.send, u, "x", "127.0.0.1", 9, 1, nil, 7)
extra("udp.broadcast", u.broadcast, u, true, 1)
extra("udp.reusePort", u.reusePort, u, true, 1)
extra("udp.enableIPv", u.enableIPv, u, 4, true, 1)
extra("udp.preferIPv", u.preferIPv, u, 4, 1)
extra("udp.setBufferSize", u.setBufferSize, u, 1024, 4, 1)
extra("udp.setCallback", u.setCallback, u, nil, 1)
extra("udp.setTimeout", u.setTimeout, u, 1, 1)
extra("udp.connected", u.connected, u, 1)
extra("udp.closed", u.closed, u, 1)
extra("udp.info", u.info, u, 1)
-- The full count is fine.
print("full", s:setTimeout(2) == s, u:setBufferSize(1024, 4) == u, u:enableIPv(6, true) == u)
"#,
        &[],
    );
    out.assert_no_panic().assert_success();
    let expected = [
        ("new", 1),
        ("parseAddress", 1),
        ("connect", 4),
        ("listen", 2),
        ("disconnect", 1),
        ("read", 3),
        ("receive", 3),
        ("write", 4),
        ("setCallback", 2),
        ("setTimeout", 2),
        ("connected", 1),
        ("connections", 1),
        ("info", 1),
        ("startTLS", 2),
        ("udp.new", 1),
        ("udp.listen", 2),
        ("udp.connect", 4),
        ("udp.close", 1),
        ("udp.pause", 1),
        ("udp.receive", 2),
        ("udp.receiveOne", 2),
        ("udp.send", 6),
        ("udp.broadcast", 2),
        ("udp.reusePort", 2),
        ("udp.enableIPv", 3),
        ("udp.preferIPv", 2),
        ("udp.setBufferSize", 3),
        ("udp.setCallback", 2),
        ("udp.setTimeout", 2),
        ("udp.connected", 1),
        ("udp.closed", 1),
        ("udp.info", 1),
    ];
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), expected.len() + 1, "{}", out.describe());
    for (line, (what, max)) in lines.iter().zip(expected) {
        let want = format!("{what}\tfalse\tERROR: incorrect number of arguments. Expected {max}, got {}", max + 1);
        assert_eq!(*line, want, "{}", out.describe());
    }
    assert_eq!(lines[expected.len()], "full\ttrue\ttrue\ttrue", "{}", out.describe());
}
