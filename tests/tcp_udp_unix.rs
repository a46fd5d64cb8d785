//! Round trips through `rluanet.core` over plain sockets on loopback: TCP (IPv4, IPv6),
//! UDP, Unix stream and datagram sockets, socketpairs, and real peers written in python3.

mod common;

use std::process::Command;

use common::{TempDir, have_ipv6_loopback, lib, run_lua, run_lua_in, spawn_lua_in, spawn_python};

/// A callback-mode echo server (upper-cases what it gets) and a task-mode client on `ip`:
/// a line, then 1 MiB that must come back intact, with addresses checked on both sides.
fn tcp_round_trip(ip: &str) {
    let out = run_lua(&lib(&format!(
        r#"
        local IP = "{ip}"
        local l = assert(core.listen(IP, 0))
        local lip, port = l:local_addr()
        print("listening", lip, port > 0)
        local server_peer
        l:on(function(ev, s, pip, pport)
          server_peer = pip .. " " .. pport
          s:on(function(ev, data)
            if ev == "data" then s:queue(data:upper())
            elseif ev == "eof" then s:close()
            else print("server event", ev, data) end
          end)
          s:watch("data")
          l:close()
        end)
        l:watch(true)
        local c = core.connect(IP, port, {{nodelay = true}})
        print("connect", connected(c))
        local cip, cport = c:local_addr()
        print("peer", c:peer_addr())
        print("nodelay", c:getopt("nodelay"))
        c:queue("hello, world\n")
        print("line", (read_line(c)))
        local blob = pattern(1024, 7)
        c:queue(blob)
        local back = assert(read_count(c, #blob))
        print("bulk", #back, back == blob:upper())
        print("addresses match", server_peer == cip .. " " .. cport)
        c:close()
    "#
    )));
    out.assert_success();
    assert_eq!(out.field("listening"), [ip, "true"]);
    assert_eq!(out.field("connect"), ["true"]);
    assert_eq!(out.field("peer")[0], ip);
    assert_eq!(out.field("nodelay"), ["true"]);
    assert_eq!(out.field("line"), ["HELLO, WORLD"]);
    assert_eq!(out.field("bulk"), ["1048576", "true"]);
    assert_eq!(out.field("addresses match"), ["true"]);
    assert!(!out.stdout.contains("server event"), "{}", out.describe());
}

#[test]
fn tcp_ipv4_round_trip() {
    tcp_round_trip("127.0.0.1");
}

#[test]
fn tcp_ipv6_round_trip() {
    if !have_ipv6_loopback() {
        eprintln!("skipped: this machine has no ::1");
        return;
    }
    tcp_round_trip("::1");
}

#[test]
fn tcp_connect_to_closed_port_emits_error_event() {
    let out = run_lua(&lib(r#"
        -- A port nobody listens on: bind, note it, close.
        local l = assert(core.listen("127.0.0.1", 0))
        local _, port = l:local_addr()
        l:close()
        local c = core.connect("127.0.0.1", port)
        c:on(function(ev, msg, errno) print("event", ev, msg, errno) end)
    "#));
    out.assert_success();
    assert_eq!(out.lines(), ["event\terror\tConnection refused\t111"]);
}

#[test]
fn tcp_connect_to_closed_port_connected_reports_failure() {
    // `s:connected()` must keep answering `nil, msg, errno` for a refused connection,
    // also after the loop (here: the wait) has seen the failure first.
    let out = run_lua(&lib(r#"
        local l = assert(core.listen("127.0.0.1", 0))
        local _, port = l:local_addr()
        l:close()
        local c = core.connect("127.0.0.1", port)
        print("first", c:connected())
        print("wait", core.wait(c, "w", WAIT))
        print("connected", c:connected())
        print("again", c:connected())
    "#));
    out.assert_success();
    assert_eq!(out.field("first"), ["false"]);
    assert_eq!(out.field("wait"), ["true"]);
    assert_eq!(out.field("connected"), ["nil", "Connection refused", "111"]);
    assert_eq!(out.field("again"), ["nil", "Connection refused", "111"]);
}

#[test]
fn udp_ipv4_round_trip() {
    let out = run_lua(&lib(r#"
        local a = core.udp()
        assert(a:bind("127.0.0.1", 0))
        local aip, aport = a:local_addr()
        local b = core.udp("inet")
        assert(b:bind("127.0.0.1", 0))
        local bip, bport = b:local_addr()
        -- Polling receive.
        print("recv empty", b:recv())
        print("sendto", a:sendto("ping", bip, bport))
        local data, ip, port = recv(b)
        print("recv", data, ip, port == aport)
        -- Callback mode: b answers every datagram upper-cased.
        b:on(function(ev, d, from, fport) b:sendto(d:upper(), from, fport) end)
        b:watch(true)
        assert(a:connect(bip, bport))
        print("peer", a:peer_addr() == bip, select(2, a:peer_addr()) == bport)
        local binary = "\0\1\2zero\255"
        print("send", a:send(binary))
        local back = recv(a)
        print("binary", back == binary:upper())
        a:send("last")
        print("again", (recv(a)))
        b:close()
        a:close()
        print("closed", a:fd(), b:is_closed())
    "#));
    out.assert_success();
    assert_eq!(out.field("recv empty"), ["false"]);
    assert_eq!(out.field("sendto"), ["4"]);
    assert_eq!(out.field("recv"), ["ping", "127.0.0.1", "true"]);
    assert_eq!(out.field("peer"), ["true", "true"]);
    assert_eq!(out.field("send"), ["8"]);
    assert_eq!(out.field("binary"), ["true"]);
    assert_eq!(out.field("again"), ["LAST"]);
    assert_eq!(out.field("closed"), ["-1", "true"]);
}

#[test]
fn udp_ipv6_round_trip() {
    if !have_ipv6_loopback() {
        eprintln!("skipped: this machine has no ::1");
        return;
    }
    let out = run_lua(&lib(r#"
        local a, b = core.udp("inet6"), core.udp("inet6")
        assert(a:bind("::1", 0))
        assert(b:bind("::1", 0))
        local _, bport = b:local_addr()
        print("sendto", a:sendto("six", "::1", bport))
        print("recv", (recv(b)))
    "#));
    out.assert_success();
    assert_eq!(out.field("sendto"), ["3"]);
    assert_eq!(out.field("recv"), ["six"]);
}

#[test]
fn unix_stream_round_trip() {
    let dir = TempDir::new();
    let out = run_lua_in(
        &dir,
        &lib(r#"
        local path = arg[1]
        local l = assert(core.listen_unix(path))
        print("local", l:local_addr() == path)
        print("exists", exists(path))
        local c = core.connect_unix(path)
        await(l, "r", "accept")
        local s, peer = l:accept()
        print("accepted", s ~= nil, peer)
        print("connect", connected(c))
        print("peer", c:peer_addr() == path)
        c:queue("over unix\n")
        print("line", (read_line(s)))
        local blob = pattern(512, 3)
        core.spawn(function()
          s:queue(blob)
          flush(s) -- shutdown is immediate: queued bytes would be cut off
          s:shutdown("w")
        end)
        local all, err = read_all(c)
        print("bulk", #all, all == blob, err)
        c:close()
        s:close()
        print("accept again", l:accept())
        l:close()
        print("removed", not exists(path))
    "#),
        &[&dir.arg("s.sock")],
    );
    out.assert_success();
    assert_eq!(out.field("local"), ["true"]);
    assert_eq!(out.field("exists"), ["true"]);
    assert_eq!(out.field("accepted"), ["true", ""]);
    assert_eq!(out.field("connect"), ["true"]);
    assert_eq!(out.field("peer"), ["true"]);
    assert_eq!(out.field("line"), ["over unix"]);
    assert_eq!(out.field("bulk"), ["524288", "true", "nil"]);
    assert_eq!(out.field("accept again"), ["false"]);
    assert_eq!(out.field("removed"), ["true"]);
}

#[test]
fn unix_datagram_round_trip() {
    let dir = TempDir::new();
    let out = run_lua_in(
        &dir,
        &lib(r#"
        local pa, pb = arg[1], arg[2]
        local a, b = core.unix_dgram(), core.unix_dgram()
        assert(a:bind(pa))
        assert(b:bind(pb))
        print("local", a:local_addr() == pa)
        print("sendto", a:sendto("to b", pb))
        local data, from = recv(b)
        print("recv", data, from == pa)
        b:on(function(ev, d, p) b:sendto("re: " .. d, p) end)
        b:watch(true)
        assert(a:connect(pb))
        a:send("hello")
        local d2, from2 = recv(a)
        print("reply", d2, from2 == pb)
        a:close()
        b:close()
    "#),
        &[&dir.arg("a.sock"), &dir.arg("b.sock")],
    );
    out.assert_success();
    assert_eq!(out.field("local"), ["true"]);
    assert_eq!(out.field("sendto"), ["4"]);
    assert_eq!(out.field("recv"), ["to b", "true"]);
    assert_eq!(out.field("reply"), ["re: hello", "true"]);
}

#[test]
fn socketpair_round_trip_with_read_modes() {
    let out = run_lua(&lib(r#"
        local a, b = core.socketpair()
        print("read empty", a:read())
        b:send("line one\nline two\nrest")
        await(a, "r")
        print("until", a:read_until("\n"))
        print("buffered", a:buffered())
        print("until limit", a:read_until("XYZ", 4))
        print("exact", a:read_exact(4))
        print("read max", a:read(3))
        print("until 2", a:read_until("\n"))
        print("read rest", a:read())
        -- Callback mode: data events, then eof after the peer's shutdown.
        local got, arrived = {}, core.signal()
        a:on(function(ev, d)
          got[#got + 1] = ev == "data" and d or ev
          arrived:set()
          if ev == "eof" then a:close() end
        end)
        a:watch("data")
        b:queue("cb-1")
        await(arrived, "r", "the first chunk")
        b:queue("cb-2")
        b:shutdown("w")
        core.run()
        print("events", table.concat(got, ","))
    "#));
    out.assert_success();
    assert_eq!(out.field("read empty"), ["false"]);
    assert_eq!(out.field("until"), ["line one"]);
    assert_eq!(out.field("buffered"), ["13"]);
    assert_eq!(out.field("until limit"), ["nil", "read buffer limit reached", "105"]);
    assert_eq!(out.field("exact"), ["line"]);
    assert_eq!(out.field("read max"), [" tw"]);
    assert_eq!(out.field("until 2"), ["o"]);
    assert_eq!(out.field("read rest"), ["rest"]);
    assert_eq!(out.field("events"), ["cb-1,cb-2,eof"]);
}

#[test]
fn tagged_writes_report_sent_then_drain() {
    let out = run_lua(&lib(r#"
        local a, b = core.socketpair()
        local log = {}
        a:on(function(ev, tag) log[#log + 1] = tag and (ev .. ":" .. tag) or ev end)
        local big = string.rep("x", 4 * 1024 * 1024)
        print("queued", a:queue(big, "big") > 0, a:pending() > 0)
        a:queue("tail", "tail")
        local total = #assert(read_count(b, #big + 4))
        core.run()
        print("total", total, a:pending())
        print("events", table.concat(log, ","))
        a:set_queue_limit(10)
        print("limit", a:queue(string.rep("y", 11)))
    "#));
    out.assert_success();
    assert_eq!(out.field("queued"), ["true", "true"]);
    assert_eq!(out.field("total"), ["4194308", "0"]);
    assert_eq!(out.field("events"), ["sent:big,sent:tail,drain"]);
    assert_eq!(out.field("limit"), ["nil", "write queue full", "105"]);
}

const PY_ECHO_SERVER: &str = r#"
import socket
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(4)
print(l.getsockname()[1], flush=True)
c, _ = l.accept()
total = 0
while True:
    d = c.recv(65536)
    if not d:
        break
    total += len(d)
    c.sendall(d)
c.close()
print("echoed", total, sep="\t", flush=True)
"#;

#[test]
fn client_against_python_echo_server() {
    let mut peer = spawn_python(PY_ECHO_SERVER, &[]);
    let port = peer.next_line();
    let dir = TempDir::new();
    let out = run_lua_in(
        &dir,
        &lib(r#"
        local c = core.connect("127.0.0.1", tonumber(arg[1]))
        print("connect", connected(c))
        c:queue("first line\n")
        print("line", (read_line(c)))
        -- 4 MiB out while reading the echo back: the queue drains from the loop.
        local blob = pattern(4096, 11)
        c:queue(blob)
        local back = assert(read_count(c, #blob))
        print("echo", #back, back == blob)
        c:shutdown("w")
        local rest, err = read_all(c)
        print("eof", #rest, err)
        c:close()
    "#),
        &[&port],
    );
    out.assert_success();
    assert_eq!(out.field("connect"), ["true"]);
    assert_eq!(out.field("line"), ["first line"]);
    assert_eq!(out.field("echo"), ["4194304", "true"]);
    assert_eq!(out.field("eof"), ["0", "nil"]);
    let peer_out = peer.wait();
    assert!(peer_out.status.success(), "{}", peer_out.describe());
    assert_eq!(peer_out.field("echoed"), ["4194315"]);
}

const PY_CLIENT: &str = r#"
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"question from python\n" + b"z" * 300000 + b"\n")
data = b""
while True:
    d = c.recv(65536)
    if not d:
        break
    data += d
print("reply", repr(data))
"#;

#[test]
fn server_against_python_client() {
    let dir = TempDir::new();
    let mut server = spawn_lua_in(
        &dir,
        &lib(r#"
        io.stdout:setvbuf("line")
        local l = assert(core.listen("127.0.0.1", 0))
        local _, port = l:local_addr()
        print(port)
        l:on(function(ev, s, ip)
          l:close()
          core.spawn(function()
            local q = read_line(s)
            local z = read_line(s)
            s:queue("answer to " .. q:sub(1, -2) .. " with " .. (#z - 1) .. " z\n")
            flush(s)
            s:close()
            print("served", ip)
          end)
        end)
        l:watch(true)
    "#),
        &[],
    );
    let port = server.next_line();
    let mut client = spawn_python(PY_CLIENT, &[&port]);
    let reply = client.next_line();
    assert_eq!(reply, r"reply b'answer to question from python with 300000 z\n'");
    let c = client.wait();
    assert!(c.status.success(), "{}", c.describe());
    let out = server.wait();
    out.assert_success();
    assert_eq!(out.field("served"), ["127.0.0.1"]);
}

/// A listener that runs out of descriptors reports it once, and once descriptors are free
/// again it accepts the connections still queued in the kernel by itself: they raise no new
/// edge, and no new client comes to raise one. rlua-net runs under `ulimit -n 32`, so it
/// holds about two dozen accepted sockets before accept fails with EMFILE; then it closes
/// them, and the rest of the 40 clients must still be answered. The listener starts
/// accepting only once all 40 are queued (the clients write a file when they are).
#[test]
fn a_listener_out_of_descriptors_retries_by_itself() {
    let dir = TempDir::new();
    let script = dir.write(
        "emfile.lua",
        lib(r#"
        local l = assert(core.listen("127.0.0.1", 0))
        local _, port = l:local_addr()
        print("port", port) io.stdout:flush()
        local held, errors, served = {}, 0, 0
        l:on(function(ev, s, msg, code)
          if ev == "accept" then
            s:send("hi")
            served = served + 1
            if errors > 0 then s:close() else held[#held + 1] = s end
            if served == 40 then print("served", served, "errors", errors) l:close() end
          elseif ev == "error" then
            errors = errors + 1
            print("error", s, msg)
            for _, h in ipairs(held) do h:close() end
            held = {}
          end
        end)
        local t = core.timer()
        t:on(function()
          local f = io.open(arg[1])
          if f then f:close() l:watch(true) else t:start(0.02) end
        end)
        t:start(0.02)
    "#)
        .as_bytes(),
    );
    let mut cmd = Command::new("sh");
    let ready = dir.join("queued");
    cmd.arg("-c").arg(r#"ulimit -n 32 && exec "$0" "$1" "$2""#).arg(common::bin()).arg(&script).arg(&ready);
    let mut server = common::spawn(cmd, "rlua-net under ulimit -n 32", None);
    let port = server.next_line();
    let port = port.strip_prefix("port\t").expect("port line").to_string();
    let clients = spawn_python(
        r#"
import socket, sys
port = int(sys.argv[1])
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
open(sys.argv[2], "w").close()
ok = 0
for s in socks:
    s.settimeout(10)
    if s.recv(2) == b"hi":
        ok += 1
print("answered", ok)
"#,
        &[&port, &ready.display().to_string()],
    );
    let out = clients.wait();
    out.assert_success();
    assert_eq!(out.lines(), ["answered 40"], "{}", out.describe());
    let out = server.wait();
    out.assert_success();
    let lines = out.lines();
    assert_eq!(lines.len(), 3, "{}", out.describe());
    assert!(lines[1].starts_with("error\t") && lines[1].ends_with("\t24"), "one EMFILE report:\n{}", out.describe());
    assert_eq!(lines[2], "served\t40\terrors\t1", "{}", out.describe());
}
