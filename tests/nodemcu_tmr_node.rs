//! The NodeMCU `tmr` and `node` modules, callback error routing, the `wifi` stub and the
//! dialect's globals (`--dialect nodemcu`, and NodeMCU's part of the `all` mode).
//! docs: /work/shared/specs/nodemcu.md, B.1, B.4, B.5 and decisions 1, 12, 14, 15.

mod nodemcu_support;

use nodemcu_support::{Script, closed_port};

// ---------------------------------------------------------------- tmr

/// `register`/`alarm`/`interval`/`start` argument checks, with the firmware's messages.
#[test]
fn tmr_register_ranges_and_errors() {
    Script::new(
        r##"
eq(tmr.ALARM_SINGLE, 0, "ALARM_SINGLE")
eq(tmr.ALARM_AUTO, 1, "ALARM_AUTO")
eq(tmr.ALARM_SEMI, 2, "ALARM_SEMI")
local t = tmr.create()
eq(tostring(t):match("^(.-):"), "tmr.timer", "kind")
for _, m in ipairs { "register", "alarm" } do
  local range = "bad argument #1 to '" .. m .. "' (Range: 1-0x68D7A3)"
  raises(range, function() t[m](t, 0, tmr.ALARM_SINGLE, print) end)
  raises(range, function() t[m](t, -1, tmr.ALARM_SINGLE, print) end)
  raises(range, function() t[m](t, 6870948, tmr.ALARM_SINGLE, print) end)
  raises("bad argument #2 to '" .. m .. "' (Invalid mode)", function() t[m](t, 10, 3, print) end)
  raises("bad argument #2 to '" .. m .. "' (Invalid mode)", function() t[m](t, 10, -1, print) end)
  raises("bad argument #3 to '" .. m .. "' (Must be function)", function() t[m](t, 10, tmr.ALARM_AUTO, "f") end)
  raises("bad argument #3 to '" .. m .. "' (Must be function)", function() t[m](t, 10, tmr.ALARM_AUTO) end)
end
eq(t:state(), nil, "state of a timer the failed calls did not register")
raises("bad argument #1 to 'interval' (Range: 1-0x68D7A3)", function() t:interval(0) end)
raises("bad argument #1 to 'interval' (Range: 1-0x68D7A3)", function() t:interval(6870948) end)
show("register max", t:register(6870947, tmr.ALARM_SINGLE, print))
show("state", t:state())
show("register min", t:register(1, tmr.ALARM_AUTO, print))
show("state", t:state())
raises("bad argument #1 to 'start' (boolean expected)", function() t:start(1) end)
raises("bad argument #1 to 'start' (boolean expected)", function() t:start("yes") end)
t:unregister()
"##,
    )
    .run()
    .assert_success()
    .assert_lines(&["1 register max", "3 state false 0", "1 register min", "3 state false 1"]);
}

/// `start` is true when it started the timer, false when already running (unless
/// `restart`) or unregistered; `stop` is true when it stopped a running timer. A stopped
/// or unregistered timer no longer keeps the process alive (it would for 1.9 hours).
#[test]
fn tmr_start_stop_unregister_return_values() {
    Script::new(
        r##"
local t = tmr.create()
show("unregistered", t:start(), t:stop(), t:state())
t:register(6870947, tmr.ALARM_AUTO, print)
show("idle stop", t:stop())
show("start", t:start(), t:start(), t:start(false), t:start(true))
show("running", t:state())
show("stop", t:stop(), t:stop())
show("stopped", t:state())
show("start again", t:start())
show("unregister", t:unregister())
show("after unregister", t:state())
show("start unregistered", t:start(), t:stop())
show("interval ignored", t:interval(5), t:state())
local u = tmr.create()
show("alarm", u:alarm(6870947, tmr.ALARM_SEMI, print))
show("alarm state", u:state())
u:stop()
"##,
    )
    .run()
    .assert_success()
    .assert_lines(&[
        "4 unregistered false false nil",
        "2 idle stop false",
        "5 start true false false true",
        "3 running true 1",
        "3 stop true false",
        "3 stopped false 1",
        "2 start again true",
        "1 unregister",
        "2 after unregister nil",
        "3 start unregistered false false",
        "3 interval ignored nil nil",
        "2 alarm true",
        "3 alarm state true 2",
    ]);
}

/// Firing: SINGLE unregisters itself before its callback (state() nil inside and after);
/// SEMI goes idle and fires again after `start()`; AUTO repeats until stopped, and
/// `interval` re-arms a running timer. Callbacks get the timer; `alarm` on a running
/// timer replaces it.
#[test]
fn tmr_modes_fire_as_documented() {
    Script::new(
        r##"
local steps
local function step() table.remove(steps, 1)() end
steps = {
  function()
    local t = tmr.create()
    t:register(5, tmr.ALARM_SINGLE, function(x)
      show("single", x == t, x:state())
      tmr.create():alarm(1, tmr.ALARM_SINGLE, function()
        show("single after", t:state())
        show("single start", t:start())
        step()
      end)
    end)
    t:start()
  end,
  function()
    local t = tmr.create()
    local n = 0
    t:alarm(5, tmr.ALARM_SEMI, function(x)
      n = n + 1
      show("semi", n, x == t, x:state())
      if n < 3 then show("semi restart", x:start()) else step() end
    end)
  end,
  function()
    local t = tmr.create()
    local n = 0
    -- 1.9 hours: it fires only because interval() re-arms it below.
    t:alarm(6870947, tmr.ALARM_AUTO, function(x)
      n = n + 1
      show("auto", n, x == t, x:state())
      if n == 4 then
        show("auto stop", x:stop())
        show("auto stopped", x:state())
        step()
      end
    end)
    t:interval(3)
  end,
  function()
    local t = tmr.create()
    t:alarm(6870947, tmr.ALARM_AUTO, function() print("replaced alarm fired") end)
    t:alarm(2, tmr.ALARM_SINGLE, function(x) show("new alarm", x:state()) step() end)
  end,
  function() print("done") end,
}
step()
"##,
    )
    .run()
    .assert_success()
    .assert_lines(&[
        "3 single true nil",
        "2 single after nil",
        "2 single start false",
        "5 semi 1 true false 2",
        "2 semi restart true",
        "5 semi 2 true false 2",
        "2 semi restart true",
        "5 semi 3 true false 2",
        "5 auto 1 true true 1",
        "5 auto 2 true true 1",
        "5 auto 3 true true 1",
        "5 auto 4 true true 1",
        "2 auto stop true",
        "3 auto stopped false 1",
        "2 new alarm nil",
        "done",
    ]);
}

/// `now` (µs, 31 bits), `time` (s), `ccount` (32 bits) are integers in range and do not
/// go backwards; `delay` busy-waits and checks its argument; `wdclr` exists.
#[test]
fn tmr_clocks_and_delay() {
    Script::new(
        r##"
local function int_in(v, lo, hi, what) check(math.type(v) == "integer" and v >= lo and v <= hi, what .. " " .. tostring(v)) end
local n1, s1, c1 = tmr.now(), tmr.time(), tmr.ccount()
int_in(n1, 0, 0x7FFFFFFF, "now")
int_in(s1, 0, 0x7FFFFFFF, "time")
int_in(c1, 0, 0xFFFFFFFF, "ccount")
show("delay", tmr.delay(2000))
local n2, s2, c2 = tmr.now(), tmr.time(), tmr.ccount()
int_in(n2, 0, 0x7FFFFFFF, "now")
-- A fresh process is minutes away from the 31-bit wrap (35.8 min).
check(n2 >= n1 + 2000, ("now went from %d to %d over a 2 ms delay"):format(n1, n2))
check(s2 >= s1 and s2 <= n2 // 1000000 + 1, "time")
check(c2 ~= c1, "ccount moved")
raises("bad argument #1 to 'delay' (wrong arg range)", function() tmr.delay(0) end)
raises("bad argument #1 to 'delay' (wrong arg range)", function() tmr.delay(-5) end)
raises("bad argument #1 to 'delay' (number expected, got no value)", function() tmr.delay() end)
show("wdclr", tmr.wdclr())
"##,
    )
    .run()
    .assert_success()
    .assert_lines(&["1 delay", "1 wdclr"]);
}

/// `tmr.softwd(s)`: when it expires the device restarts; here the process exits non-zero.
#[test]
fn softwd_expiry_exits_non_zero() {
    let out = Script::new(
        r##"
tmr.softwd(1)
print("armed")
tmr.create():alarm(100, tmr.ALARM_AUTO, function() end) -- busy, but never feeds it
"##,
    )
    .run();
    out.assert_code(1).assert_lines(&["armed"]);
    assert!(out.stderr.contains("softwd"), "the exit should say why:\n{}", out.describe());
}

/// Calling `softwd` again re-arms it; a negative value disables it.
#[test]
fn softwd_rearms_and_negative_disables() {
    Script::new(
        r##"
tmr.softwd(1)
local n = 0
local feeder = tmr.create()
feeder:alarm(200, tmr.ALARM_AUTO, function(t)
  n = n + 1
  if n < 8 then
    tmr.softwd(1) -- fed: 1.6 s in total outlive the first 1 s
  else
    t:unregister()
    tmr.softwd(-1)
    tmr.create():alarm(1500, tmr.ALARM_SINGLE, function() print("survived") end)
  end
end)
"##,
    )
    .run()
    .assert_success()
    .assert_lines(&["survived"]);
}

// ---------------------------------------------------------------- node

/// `node.task.post([prio], fn)` runs `fn(prio)` after the script's top level, highest
/// priority first; the default is MEDIUM; a bad priority raises "invalid  priority" (sic).
#[test]
fn task_post_priorities() {
    Script::new(
        r##"
eq(node.task.LOW_PRIORITY, 0, "LOW")
eq(node.task.MEDIUM_PRIORITY, 1, "MEDIUM")
eq(node.task.HIGH_PRIORITY, 2, "HIGH")
raises("bad argument #1 to 'post' (invalid  priority)", function() node.task.post(3, print) end)
raises("bad argument #1 to 'post' (invalid  priority)", function() node.task.post(-1, print) end)
raises("bad argument #2 to 'post' (invalid function)", function() node.task.post(1, "print") end)
raises("bad argument #2 to 'post' (invalid function)", function() node.task.post(1) end)
raises("bad argument #1 to 'post' (invalid function)", function() node.task.post() end)
raises("bad argument #1 to 'post' (invalid function)", function() node.task.post("1", print) end)
show("post", node.task.post(node.task.LOW_PRIORITY, function(p) show("low", p) end))
node.task.post(function(p) show("medium (default)", p) end)
node.task.post(node.task.HIGH_PRIORITY, function(p)
  show("high", p)
  node.task.post(node.task.HIGH_PRIORITY, function() print("high, posted by a task") end)
end)
node.task.post(node.task.MEDIUM_PRIORITY, function(p) show("medium", p) end)
print("top level done")
"##,
    )
    .run()
    .assert_success()
    .assert_lines(&[
        "1 post",
        "top level done",
        "2 high 2",
        "high, posted by a task",
        "2 medium (default) 1",
        "2 medium 1",
        "2 low 0",
    ]);
}

/// Decision 12: errors in tmr, task, net, UDP, DNS and TLS callbacks all reach the
/// `node.setonerror` handler (message with traceback), and the script carries on.
#[test]
fn callback_errors_reach_setonerror() {
    let out = Script::new(
        r##"
local seen = {}
node.setonerror(function(msg)
  check(type(msg) == "string" and msg:find("stack traceback", 1, true), "the message has a traceback")
  local what = msg:match("^" .. SCRIPT:gsub("%p", "%%%0") .. ":%d+: (.-)\n")
  print("onerror " .. tostring(what))
end)
local steps
local function step() table.remove(steps, 1)() end
steps = {
  function()
    tmr.create():alarm(1, tmr.ALARM_SINGLE, function() step() error("in tmr") end)
  end,
  function() node.task.post(function() step() error("in task") end) end,
  function()
    local srv = net.createServer()
    srv:listen(0, "127.0.0.1", function(c)
      c:on("receive", function(s, d) s:close() srv:close() step() error("in receive") end)
    end)
    local sk = net.createConnection()
    sk:on("connection", function(s) s:send("x") error("in connection") end)
    sk:connect((srv:getaddr()), "127.0.0.1")
  end,
  function()
    local u = net.createUDPSocket()
    u:listen(0, "127.0.0.1")
    u:on("receive", function(s) s:close() step() error("in udp receive") end)
    local v = net.createUDPSocket()
    v:send((u:getaddr()), "127.0.0.1", "x", function(s) s:close() error("in udp sent") end)
  end,
  function() net.dns.resolve("localhost", function() step() error("in dns") end) end,
  function()
    local t = tls.createConnection()
    t:on("reconnection", function() step() error("in tls reconnection") end)
    t:connect(tonumber(arg[1]), "127.0.0.1")
  end,
  function() print("done") end,
}
step()
"##,
    )
    .arg(closed_port())
    .run();
    out.assert_success().assert_lines(&[
        "onerror in tmr",
        "onerror in task",
        "onerror in connection",
        // Each callback starts the next step before raising; a UDP `sent` is synchronous.
        "onerror in udp sent",
        "onerror in receive",
        "onerror in udp receive",
        "onerror in dns",
        "done",
        "onerror in tls reconnection",
    ]);
}

/// Decision 12: without a handler (or after `setonerror()` with no argument) a callback
/// error prints the traceback to stderr and exits with status 1; output printed before
/// it is flushed and nothing after it runs.
#[test]
fn the_default_error_handler_prints_the_traceback_and_exits_1() {
    let sources = [
        ("tmr", r##"tmr.create():alarm(1, tmr.ALARM_SINGLE, function() error("boom") end)"##),
        ("task", r##"node.task.post(function() error("boom") end)"##),
        (
            "net",
            r##"
local srv = net.createServer()
srv:listen(0, "127.0.0.1", function(c) c:on("receive", function() error("boom") end) end)
local sk = net.createConnection()
sk:on("connection", function(s) s:send("x") end)
sk:connect((srv:getaddr()), "127.0.0.1")
"##,
        ),
        (
            "restored",
            r##"
node.setonerror(function() print("custom handler") end)
node.setonerror()
tmr.create():alarm(1, tmr.ALARM_SINGLE, function() error("boom") end)
"##,
        ),
        (
            // Like the firmware, anything but a function restores the default.
            "restored by a non-function",
            r##"
node.setonerror(function() print("custom handler") end)
node.setonerror(42)
node.task.post(function() error("boom") end)
"##,
        ),
    ];
    for (name, src) in sources {
        let out = Script::new(&format!(
            "io.write('before') -- no newline: must still be flushed\n{src}\n\
             tmr.create():alarm(2000, tmr.ALARM_SINGLE, function() print('still running') end)"
        ))
        .run();
        out.assert_code(1).assert_lines(&["before"]);
        let first = out.stderr.lines().next().unwrap_or("");
        assert!(
            first.starts_with("script") && first.ends_with(": boom"),
            "{name}: the first stderr line is the error:\n{}",
            out.describe()
        );
        assert!(out.stderr.contains("stack traceback:"), "{name}: no traceback:\n{}", out.describe());
    }
}

/// `node.restart()` ends the process with status 0 after flushing what was written, even
/// with servers and timers still active.
#[test]
fn node_restart_exits_zero_after_flushing() {
    Script::new(
        r##"
local srv = net.createServer()
srv:listen(0, "127.0.0.1", function() end)
tmr.create():alarm(1000, tmr.ALARM_AUTO, function() end)
tmr.create():alarm(5, tmr.ALARM_SINGLE, function()
  print("restarting")
  io.write("no newline")
  node.restart()
  print("not reached")
end)
"##,
    )
    .run()
    .assert_success()
    .assert_lines(&["restarting", "no newline"]);
}

/// `heap()` (Lua memory in use), `chipid()`, `info()` shapes.
#[test]
fn node_heap_chipid_info() {
    Script::new(
        r##"
local h = node.heap()
check(math.type(h) == "integer" and h > 0, "heap " .. tostring(h))
local big = {}
for i = 1, 100000 do big[i] = i end
check(node.heap() > h + 100000, "heap follows Lua memory")
big = nil
local id = node.chipid()
check(math.type(id) == "integer" and id >= 0 and id < 1 << 24, "chipid " .. tostring(id))
eq(node.chipid(), id, "chipid is stable")
local info = { node.info() }
eq(#info, 8, "info() values")
for i, v in ipairs(info) do check(math.type(v) == "integer", "info value " .. i) end
eq(info[1], 3, "majorVer")
eq(info[4], id, "info chipid")
eq(node.info("hw").chip_id, id, "info('hw').chip_id")
eq(node.info("sw_version").node_version_major, 3, "sw_version")
eq(type(node.info("build_config")), "table", "build_config")
eq(select("#", node.info("legacy")), 8, "info('legacy') values")
raises("bad argument #1 to 'info' (invalid option 'bogus')", function() node.info("bogus") end)
print("ok")
"##,
    )
    .run()
    .assert_success()
    .assert_lines(&["ok"]);
}

// ---------------------------------------------------------------- globals, wifi

/// Decision 1: under `--dialect nodemcu` the globals are Lua's own plus exactly `net`,
/// `tls`, `tmr`, `node`, `sjson`, `bit`, `wifi` and `unpack`: no other dialect's, and
/// no `core`. (sjson and bit are only named here, not used.)
#[test]
fn globals_under_nodemcu_are_exactly_the_dialect() {
    let out = Script::raw(
        r##"
local names = {}
for k, v in pairs(_G) do names[#names + 1] = k .. "=" .. type(v) end
table.sort(names)
print(table.concat(names, " "))
print(unpack == table.unpack, unpack({ 1, 2, 3 }, 2))
"##,
    )
    .run();
    out.assert_success();
    let lua = "_G=table _VERSION=string arg=table assert=function collectgarbage=function coroutine=table \
               debug=table dofile=function error=function getmetatable=function io=table ipairs=function \
               load=function loadfile=function math=table next=function os=table package=table pairs=function \
               pcall=function print=function rawequal=function rawget=function rawlen=function rawset=function \
               require=function select=function setmetatable=function string=table table=table \
               tonumber=function tostring=function type=function utf8=table warn=function xpcall=function";
    let dialect = "bit=table net=table node=table sjson=table tls=table tmr=table unpack=function wifi=table";
    let mut want: Vec<&str> = lua.split_whitespace().chain(dialect.split_whitespace()).collect();
    want.sort();
    assert_eq!(out.lines(), [want.join(" ").as_str(), "true\t2\t3"], "{}", out.describe());
}

/// In the `all` mode the shared `net` table carries NodeMCU's functions, and they work;
/// `tmr`, `node`, `tls` and `wifi` are globals too.
#[test]
fn all_mode_net_union_has_the_nodemcu_functions() {
    Script::new(
        r##"
for _, k in ipairs { "createConnection", "createServer", "createUDPSocket", "multicastJoin", "multicastLeave", "ifinfo" } do
  eq(type(net[k]), "function", "net." .. k)
end
eq(net.TCP, 1, "net.TCP")
eq(net.UDP, 2, "net.UDP")
eq(type(net.dns.resolve), "function", "net.dns.resolve")
eq(net.cert, tls.cert, "net.cert")
for _, g in ipairs { "tmr", "node", "tls", "wifi" } do eq(type(_G[g]), "table", g) end
local srv = net.createServer()
srv:listen(0, "127.0.0.1", function(c) c:on("receive", function(s, d) s:send("echo " .. d) end) end)
local sk = net.createConnection()
sk:on("connection", function(s) s:send("all") end)
sk:on("receive", function(s, d) print(d) s:close() srv:close() end)
sk:connect((srv:getaddr()), "127.0.0.1")
"##,
    )
    .dialect("all")
    .run()
    .assert_success()
    .assert_lines(&["echo all"]);
}

/// The `wifi` stub: always connected, with an IPv4 address, so scripts that wait for
/// `STA_GOTIP` start their networking.
#[test]
fn wifi_stub_reports_an_address() {
    Script::new(
        r##"
local function dotted(s) return type(s) == "string" and s:match("^%d+%.%d+%.%d+%.%d+$") ~= nil end
eq(wifi.STA_GOTIP, 5, "STA_GOTIP")
eq(wifi.sta.status(), wifi.STA_GOTIP, "status")
local ip, mask, gw = wifi.sta.getip()
check(dotted(ip), "ip " .. tostring(ip))
check(dotted(mask), "netmask " .. tostring(mask))
check(dotted(gw), "gateway " .. tostring(gw))
eq(ip, net.ifinfo(0).ip, "the station's address")
check(wifi.sta.getmac():match("^%x%x:%x%x:%x%x:%x%x:%x%x:%x%x$"), "mac " .. wifi.sta.getmac())
eq(wifi.getmode(), wifi.STATION, "mode")
eq(wifi.setmode(wifi.STATIONAP), wifi.STATIONAP, "setmode")
eq(wifi.getmode(), wifi.STATIONAP, "mode after setmode")
-- The usual wait-for-IP loop starts at once.
local t = tmr.create()
t:alarm(10, tmr.ALARM_AUTO, function()
  if wifi.sta.getip() ~= nil then t:unregister() print("got ip") end
end)
"##,
    )
    .run()
    .assert_success()
    .assert_lines(&["got ip"]);
}

/// Firmware functions rlua-net leaves out raise an error that names them (docs/nodemcu.md).
#[test]
fn unsupported_firmware_functions_name_themselves() {
    Script::new(
        r##"
for name, fn in pairs { ["net.ping"] = net.ping, ["tls.setDebug"] = tls.setDebug, ["node.output"] = node.output,
                        ["node.input"] = node.input, ["node.egc.setmode"] = node.egc.setmode } do
  raises(name .. " is not supported by rlua-net (see docs/nodemcu.md)", function() fn("x") end)
end
print("ok")
"##,
    )
    .run()
    .assert_success()
    .assert_lines(&["ok"]);
}
