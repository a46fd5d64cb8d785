//! The event loop as a script sees it: timers, tasks, blocking waits, the script's own
//! coroutines, DNS, when the process exits and how uncaught errors end it.

mod common;

use common::{lib, run_lua};

#[test]
fn timers_fire_in_order_of_their_deadlines() {
    let out = run_lua(&lib(r#"
        for _, d in ipairs{0.08, 0.02, 0.0, 0.05, 0.11} do
          local t = core.timer()
          t:on(function(ev) print(ev, d) end)
          t:start(d)
        end
        print("main done")
    "#));
    out.assert_success();
    assert_eq!(out.lines(), ["main done", "timer\t0.0", "timer\t0.02", "timer\t0.05", "timer\t0.08", "timer\t0.11"]);
}

#[test]
fn timers_with_equal_delays_fire_in_arming_order() {
    let out = run_lua(&lib(r#"
        local order = {}
        -- Armed in a shuffled order of names; the firing order must follow arming.
        for _, name in ipairs{"c", "a", "e", "b", "d", "h", "f", "g"} do
          local t = core.timer()
          t:on(function() order[#order + 1] = name end)
          t:start(0.03)
        end
        -- Re-arming replaces the earlier deadline: it fires once, at the new one.
        local late = core.timer()
        late:on(function() order[#order + 1] = "z" end)
        late:start(10)
        late:start(0.03)
        core.run()
        print(table.concat(order, ""))
    "#));
    out.assert_success();
    assert_eq!(out.lines(), ["caebdhfgz"]);
}

#[test]
fn process_exits_zero_once_nothing_is_alive() {
    // Everything here finishes or is released by itself: a one-shot timer, a resolved
    // name, a connection whose peer hangs up, a watched listener closed from a callback,
    // unwatched sockets, and an idle timer that was never started.
    let out = run_lua(&lib(r#"
        local idle_timer = core.timer()
        local unwatched = assert(core.listen("127.0.0.1", 0))
        local u = core.udp()
        local a, b = core.socketpair()
        a:on(function(ev) print("a", ev) end)
        a:watch("data")
        local l = assert(core.listen("127.0.0.1", 0))
        local _, port = l:local_addr()
        l:on(function(ev, s) print("listener", ev); s:close(); l:close() end)
        l:watch(true)
        local c = core.connect("127.0.0.1", port)
        c:on(function(ev) print("client", ev) end)
        local t = core.timer()
        t:on(function() print("timer"); b:close() end)
        t:start(0.02)
        core.resolve("localhost", function(ips) print("resolved", ips ~= nil) end)
        print("main done")
    "#));
    out.assert_success();
    let lines = out.lines();
    assert_eq!(lines[0], "main done", "{}", out.describe());
    for want in ["timer", "a\teof", "listener\taccept", "client\tconnect", "resolved\ttrue"] {
        assert!(lines.contains(&want), "missing '{want}':\n{}", out.describe());
    }
    assert_eq!(lines.len(), 6, "{}", out.describe());
}

#[test]
fn held_socket_keeps_the_process_alive_until_released() {
    let out = run_lua(&lib(r#"
        local a, b = core.socketpair()
        a:hold(true)
        local t = core.timer()
        t:on(function() print("alive", core.stats().alive); a:hold(false) end)
        t:start(0.05)
    "#));
    out.assert_success();
    assert_eq!(out.lines(), ["alive\ttrue"]);
}

#[test]
fn repeating_timer_stops_itself() {
    let out = run_lua(&lib(r#"
        local n = 0
        local t = core.timer()
        t:on(function()
          n = n + 1
          if n == 5 then print("stop", t:stop(), t:is_armed()) end
        end)
        t:start(0.005, 0.01)
        print("armed", t:is_armed())
        core.run()
        print("count", n, core.stats().timers)
        -- A stopped timer can be started again.
        t:start(0.01)
        core.run()
        print("count", n)
    "#));
    out.assert_success();
    assert_eq!(out.lines(), ["armed\ttrue", "stop\ttrue\tfalse", "count\t5\t0", "count\t6"]);
}

#[test]
fn timer_fires_while_a_task_waits_on_a_socket() {
    let out = run_lua(&lib(r#"
        local a, b = core.socketpair()
        local t = core.timer()
        t:on(function() print("timer"); b:send("from timer") end)
        core.spawn(function()
          print("task waits")
          t:start(0.05)
          local r = core.wait(a, "r", WAIT)
          print("task woke", r, a:read())
        end)
        print("main done")
    "#));
    out.assert_success();
    assert_eq!(out.lines(), ["main done", "task waits", "timer", "task woke\ttrue\tfrom timer"]);
}

#[test]
fn blocking_wait_on_main_thread_serves_callbacks_tasks_and_timers() {
    let out = run_lua(&lib(r#"
        local a, b = core.socketpair()
        local log = {}
        -- The main thread is woken once all four things below have happened.
        local function note(s)
          log[#log + 1] = s
          if #log == 4 then b:send("wake") end
        end
        local l = assert(core.listen("127.0.0.1", 0))
        local _, port = l:local_addr()
        l:on(function(ev, s)
          s:on(function(ev, data) if ev == "data" then s:queue(data:upper()) else s:close() end end)
          s:watch("data")
          l:close()
        end)
        l:watch(true)
        core.spawn(function()
          local c = core.connect("127.0.0.1", port)
          assert(connected(c))
          c:queue("ping")
          await(c, "r")
          note("task got " .. c:read())
          c:close()
        end)
        local t1 = core.timer()
        t1:on(function() note("timer 1") end)
        t1:start(0.01)
        local t2 = core.timer()
        t2:on(function() note("timer 2") end)
        t2:start(0.05)
        core.defer(function() note("deferred") end)
        local r = core.wait(a, "r", WAIT)
        print("wait", r, a:read())
        table.sort(log)
        print(table.concat(log, ","))
    "#));
    out.assert_success();
    assert_eq!(out.lines(), ["wait\ttrue\twake", "deferred,task got PING,timer 1,timer 2"]);
}

#[test]
fn main_thread_wait_times_out_and_sleep_returns() {
    let out = run_lua(&lib(r#"
        local a, b = core.socketpair()
        local t0 = core.now()
        print("wait", core.wait(a, "r", 0.05))
        print("waited", core.now() - t0 >= 0.04)
        core.sleep(0.02)
        print("slept", core.now() - t0 >= 0.06)
    "#));
    out.assert_success();
    assert_eq!(out.lines(), ["wait\tfalse", "waited\ttrue", "slept\ttrue"]);
}

/// Reads `what` (a `read_exact` or `read_until` call on `b`) while the 4 MiB it needs is
/// still in `a`'s write queue in the same process, waiting with `core.wait` between
/// attempts. The waits must let the loop run so the queue drains; a wait that returns at
/// once without doing so would spin forever, so the attempts are capped.
fn buffered_read_completes(read: &str, in_task: bool) {
    let body = format!(
        r#"
        local a, b = core.socketpair()
        local blob = pattern(4096, 4)
        a:queue(blob .. "END")
        local attempts, got = 0, false
        while got == false and attempts < 200000 do
          got = {read}
          if got == false then
            attempts = attempts + 1
            core.wait(b, "r", WAIT)
          end
        end
        print("result", got and #got, got == blob .. "END" or got == blob)
        print("gave up", attempts >= 200000)
        a:close() -- drops whatever is still queued, so the process can end
        b:close()
    "#
    );
    let src = if in_task {
        format!(
            "core.spawn(function()
{body}
end)"
        )
    } else {
        body
    };
    let out = run_lua(&lib(&src));
    out.assert_success();
    assert_eq!(out.field("gave up"), ["false"], "the reader never got the data:\n{}", out.describe());
    assert_eq!(out.field("result")[1], "true", "{}", out.describe());
}

#[test]
fn task_read_exact_waits_for_data_still_queued_in_process() {
    buffered_read_completes("b:read_exact(#blob)", true);
}

#[test]
fn main_thread_read_exact_waits_for_data_still_queued_in_process() {
    buffered_read_completes("b:read_exact(#blob)", false);
}

#[test]
fn main_thread_read_until_waits_for_data_still_queued_in_process() {
    buffered_read_completes("b:read_until(\"END\")", false);
}

#[test]
fn script_coroutines_can_wait_and_sleep() {
    let out = run_lua(&lib(r#"
        local a, b = core.socketpair()
        local t = core.timer()
        t:on(function() b:send("data for the coroutine") end)
        t:start(0.03)

        -- coroutine.wrap: waits are served, values still flow in and out.
        local f = coroutine.wrap(function(x)
          core.sleep(0.01)
          local r = core.wait(a, "r", WAIT)
          local got = a:read()
          local y = coroutine.yield(x + 1, got)
          core.sleep(0.001)
          return "done " .. y
        end)
        print("wrap 1", f(41))
        print("wrap 2", f("again"))

        -- coroutine.create/resume, with a plain generator that sleeps between values.
        local gen = coroutine.create(function()
          for i = 1, 3 do core.sleep(0.001); coroutine.yield(i * 10) end
          return "end"
        end)
        local got = {}
        while coroutine.status(gen) ~= "dead" do
          local ok, v = coroutine.resume(gen)
          assert(ok, v)
          got[#got + 1] = tostring(v)
        end
        print("gen", table.concat(got, ","))

        -- An error inside a waiting coroutine comes back through resume.
        local bad = coroutine.create(function() core.sleep(0.001); error("inner failure") end)
        local ok, err = coroutine.resume(bad)
        print("error", ok, tostring(err):match("inner failure"))

        -- The same inside a task: the coroutine's waits yield up to the loop.
        core.spawn(function()
          local g = coroutine.wrap(function() core.sleep(0.01); coroutine.yield("from task"); return "last" end)
          print("task", g(), g())
        end)
    "#));
    out.assert_success();
    assert_eq!(
        out.lines(),
        [
            "wrap 1\t42\tdata for the coroutine",
            "wrap 2\tdone again",
            "gen\t10,20,30,end",
            "error\tfalse\tinner failure",
            "task\tfrom task\tlast"
        ]
    );
}

#[test]
fn waits_end_on_close_signal_and_timeout() {
    let out = run_lua(&lib(r#"
        local a, b = core.socketpair()
        local sig = core.signal()
        core.spawn(function() print("closed", core.wait(a, "r", WAIT)) end)
        core.spawn(function() print("signal", core.wait(sig, "r", WAIT), sig:get()) end)
        core.spawn(function() print("timeout", core.wait(b, "r", 0.01)) end)
        local t = core.timer()
        t:on(function() a:close(); sig:set("v", 2) end)
        t:start(0.05)
        core.run()
        print("main", core.wait(sig, "r", 0), sig:is_set())
        sig:reset()
        print("reset", sig:is_set(), core.wait(sig, "r", 0.01))
    "#));
    out.assert_success();
    let lines = out.lines();
    assert_eq!(lines.len(), 5, "{}", out.describe());
    // The three tasks end on three different causes; their order is not the point.
    let mut tasks = lines[..3].to_vec();
    tasks.sort_unstable();
    assert_eq!(tasks, ["closed\tnil\tclosed", "signal\ttrue\tv\t2", "timeout\tfalse"]);
    assert_eq!(lines[3..], ["main\ttrue\ttrue", "reset\tfalse\tfalse"]);
}

#[test]
fn events_are_never_delivered_inside_the_call_that_caused_them() {
    let out = run_lua(&lib(r#"
        local a, b = core.socketpair()
        local inside = false
        local log = {}
        a:on(function(ev, tag)
          log[#log + 1] = ev .. (tag and ("(" .. tag .. ")") or "") .. (inside and " INSIDE" or "")
        end)
        inside = true
        a:queue("one", "t1")
        a:queue("two", "t2")
        inside = false
        core.run()
        print(table.concat(log, " "))
        print((read_exact(b, 6)))
    "#));
    out.assert_success();
    assert_eq!(out.lines(), ["sent(t1) sent(t2)", "onetwo"]);
}

#[test]
fn resolve_localhost_gives_loopback_addresses_from_the_loop() {
    let out = run_lua(&lib(r#"
        local results = {}
        for _, fam in ipairs{"any", "inet"} do
          core.resolve("localhost", function(ips, msg)
            assert(ips, msg)
            print(fam, #ips, table.concat(ips, " "))
          end, fam)
        end
        core.resolve("127.0.0.1", function(ips) print("literal", #ips, ips[1]) end)
        print("after resolve calls")
    "#));
    out.assert_success();
    assert_eq!(out.lines()[0], "after resolve calls", "{}", out.describe());
    for fam in ["any", "inet"] {
        let f = out.field(fam);
        let n: usize = f[0].parse().expect("count");
        let ips: Vec<std::net::IpAddr> = f[1].split(' ').map(|s| s.parse().expect("an IP address")).collect();
        assert!(n >= 1 && n == ips.len(), "{}", out.describe());
        assert!(ips.iter().all(|ip| ip.is_loopback()), "non-loopback address for localhost:\n{}", out.describe());
        if fam == "inet" {
            assert!(ips.iter().all(|ip| ip.is_ipv4()), "{}", out.describe());
        }
    }
    assert_eq!(out.field("literal"), ["1", "127.0.0.1"]);
}

/// An uncaught error in `body` (the rest of the script must not run on) ends the process
/// with status 1 and `rlua-net: file:line: message` on stderr.
fn assert_uncaught(body: &str, message: &str) {
    let src = format!(
        "local core = require 'rluanet.core'\n{body}\nlocal later = core.timer()\nlater:on(function() print('still running') end)\nlater:start(5)\n"
    );
    let out = run_lua(&src);
    out.assert_code(1);
    let first = out.stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("rlua-net: "), "no 'rlua-net: ' prefix:\n{}", out.describe());
    assert!(first.contains(".lua:2: ") && first.contains(message), "wrong error line:\n{}", out.describe());
    assert!(out.stderr.contains("stack traceback"), "no traceback:\n{}", out.describe());
    assert!(!out.stdout.contains("still running"), "kept running after the error:\n{}", out.describe());
}

#[test]
fn uncaught_error_in_timer_callback_exits_1() {
    assert_uncaught(
        "local t = core.timer(); t:on(function() error('boom in timer') end); t:start(0.01)",
        "boom in timer",
    );
}

#[test]
fn uncaught_error_in_task_exits_1() {
    assert_uncaught("core.spawn(function() core.sleep(0.01); error('boom in task') end)", "boom in task");
}

#[test]
fn uncaught_error_in_socket_callback_exits_1() {
    assert_uncaught(
        "local a, b = core.socketpair(); a:on(function(ev, d) error('bad ' .. d) end); a:watch('data'); b:send('xyz')",
        "bad xyz",
    );
}

#[test]
fn uncaught_error_in_deferred_call_and_dns_callback_exits_1() {
    assert_uncaught("core.defer(function() error('boom deferred') end)", "boom deferred");
    assert_uncaught("core.resolve('localhost', function() error('boom dns') end)", "boom dns");
}

#[test]
fn os_exit_in_callback_ends_the_process_at_once() {
    let out = run_lua(&lib(r#"
        local t = core.timer()
        t:on(function() print("exiting"); os.exit(7) end)
        t:start(0.01)
        local forever = core.timer()
        forever:on(function() print("never") end)
        forever:start(0.05, 0.01)
    "#));
    out.assert_code(7);
    assert_eq!(out.lines(), ["exiting"]);
}

/// A socket the script dropped is closed by the collection the loop runs once it has been
/// idle for a second, though the script allocates nothing that would start one: here the
/// other end's EOF is the only thing that can end the process.
#[test]
fn an_idle_loop_collects_dropped_sockets() {
    let out = run_lua(&lib(r#"
        local a, b = core.socketpair()
        b:on(function(ev) print("b", ev); if ev == "eof" then b:close() end end)
        b:watch("data")
        a = nil
    "#));
    out.assert_success();
    assert_eq!(out.lines(), ["b\teof"]);
}
