//! The core's descriptor-level calls, used by dialects that expose descriptors (lua-net):
//! waits by descriptor and their cancellation, adopting descriptors, passing them over
//! Unix sockets, bind-then-listen, recv flags, sendfile, constants.

mod common;

use common::{TempDir, lib, run_lua, run_lua_in};

#[test]
fn waits_by_descriptor_and_unwait_cancels_them() {
    let out = run_lua(&lib(r#"
        local a, b = core.socketpair()
        local fd = b:fd()
        core.spawn(function() print("task", core.wait(fd, "r", 5)) end)
        core.spawn(function() core.sleep(0.05); print("unwait", core.unwait(fd, "r")) end)
        core.sleep(0.2)
        a:queue("x")
        print("ready", core.wait(fd, "r", 5))
        local t = core.timer(); t:on(function() core.unwait(fd) end); t:start(0.05)
        b:read()
        print("drained", b:read()) -- false: nothing left, the readiness flag is clear
        print("main", core.wait(fd, "r", 5))
        print("unknown fd", core.unwait(987654))
        print("bad wait", (pcall(core.wait, 987654, "r", 1)))
        a:close(); b:close()
    "#));
    out.assert_success();
    assert_eq!(out.field("unwait"), ["true"]);
    assert_eq!(out.field("task"), ["nil", "canceled"]);
    assert_eq!(out.field("ready"), ["true"]);
    assert_eq!(out.field("drained"), ["false"]);
    assert_eq!(out.field("main"), ["nil", "canceled"]);
    assert_eq!(out.field("unknown fd"), ["false"]);
    assert_eq!(out.field("bad wait"), ["false"]);
}

#[test]
fn descriptors_pass_over_unix_sockets_and_can_be_adopted() {
    let out = run_lua(&lib(r#"
        local a, b = core.socketpair()
        local l = assert(core.listen("127.0.0.1", 0, { listen = false }))
        local _, port = l:local_addr()
        -- Bound but not listening yet: a connect is refused.
        local c = core.connect("127.0.0.1", port)
        core.wait(c, "w", 5)
        print("before listen", c:connected())
        c:close()
        print("listen", l:listen(4))
        print("sendfd", a:sendfd(l:fd()))
        local fd
        repeat fd = b:recvfd(); if fd == false then await(b, "r", "a descriptor") end until fd ~= false
        print("received", math.type(fd), fd ~= l:fd())
        local l2 = core.wrap(fd)
        print("same port", select(2, l2:local_addr()) == port)
        local c2 = core.connect("127.0.0.1", port)
        await(l2, "r", "a client on the adopted listener")
        local s = l2:accept()
        print("accepted", s ~= nil and s ~= false)
        print("info", s:socket_info())
        print("eof", (function() a:close(); await(b, "r", "eof"); return b:recvfd() end)())
        for _, x in ipairs { b, l, l2, c2, s } do x:close() end
        print("wrap bad", core.wrap(-1))
    "#));
    out.assert_success();
    assert_eq!(out.field("before listen")[0], "nil");
    assert_eq!(out.field("listen"), ["true"]);
    assert_eq!(out.field("sendfd"), ["1"]);
    assert_eq!(out.field("received"), ["integer", "true"]);
    assert_eq!(out.field("same port"), ["true"]);
    assert_eq!(out.field("accepted"), ["true"]);
    let info = out.field("info");
    assert_eq!(info.len(), 3, "{}", out.describe());
    assert_eq!(out.field("eof"), ["nil"]);
    assert_eq!(out.field("wrap bad")[0], "nil");
}

#[test]
fn recv_with_flags_sendfile_and_constants() {
    let dir = TempDir::new();
    dir.write("data.bin", &(0..=255u8).cycle().take(5000).collect::<Vec<u8>>());
    let out = run_lua_in(
        &dir,
        &lib(r#"
        local C = core.constants
        print("constants", C.AF_INET, C.AF_UNIX, C.SOCK_STREAM, C.SOCK_DGRAM, C.MSG_PEEK ~= nil, C.SHUT_RDWR ~= nil)
        local a, b = core.socketpair()
        a:queue("hello")
        await(b, "r", "data")
        print("peek", b:recv(3, C.MSG_PEEK))
        print("read", b:read())
        local f = assert(io.open("data.bin", "rb"))
        local fd = core.file_fd(f)
        local sent = 0
        while sent < 5000 do
          local n = a:sendfile(fd, sent, 5000 - sent)
          if n == false then await(a, "w", "room") else sent = sent + n end
        end
        print("past eof", a:sendfile(fd, 5000, 100))
        print("position", f:seek())
        local got = {}
        local total = 0
        while total < 5000 do
          local d = b:read()
          if d == false then await(b, "r", "file data") else got[#got + 1] = d; total = total + #d end
        end
        f:seek("set", 0)
        print("same", table.concat(got) == f:read("a"))
        f:close()
        print("file_fd closed", pcall(core.file_fd, f))
        print("servbyname", core.getservbyname("http", "tcp"), core.getservbyname("no-such-service"))
        local d1, d2 = core.dgram_pair()
        d1:send("dgram")
        await(d2, "r", "a datagram")
        print("dgram", (d2:recv()))
        for _, x in ipairs { a, b, d1, d2 } do x:close() end
    "#),
        &[],
    );
    out.assert_success();
    assert_eq!(out.field("constants")[2..], ["1", "2", "true", "true"]);
    assert_eq!(out.field("peek"), ["hel"]);
    assert_eq!(out.field("read"), ["hello"]);
    assert_eq!(out.field("past eof"), ["0"]);
    assert_eq!(out.field("position"), ["0"]);
    assert_eq!(out.field("same"), ["true"]);
    assert_eq!(out.field("file_fd closed")[0], "false");
    assert_eq!(out.field("servbyname"), ["80", "nil"]);
    assert_eq!(out.field("dgram"), ["dgram"]);
}

#[test]
fn the_object_behind_a_descriptor() {
    let out = run_lua(&lib(r#"
        local a, b = core.socketpair()
        print("same", core.object(a:fd()) == a, core.object(b:fd()) == b)
        local fd = a:fd()
        a:close()
        print("after close", core.object(fd))
        print("unknown", core.object(987654))
        b:close()
    "#));
    out.assert_success();
    assert_eq!(out.field("same"), ["true", "true"]);
    assert_eq!(out.field("after close"), ["nil"]);
    assert_eq!(out.field("unknown"), ["nil"]);
}
