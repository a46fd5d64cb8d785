//! The luanet dialect's `gpoll` and `act` modules on the runtime's scheduler: waits that
//! return the descriptor, time out with `nil, nil, true` or fail with EALREADY/ECANCELED,
//! FIFO locks, pluggable pollers, act tasks, and waits outside any task that keep the
//! loop running. Descriptors come from `core.socketpair()`.
//!
//! Timing is only ever checked from below (a wait did not return before half its
//! deadline); how fast anything is never decides a test.

mod common;

use common::{Output, run_lua};

/// Loads the modules every script uses, and a few helpers.
const PRELUDE: &str = r##"
local core = require "rluanet.core"
local gpoll = require "luanet.gpoll"
local act = require "luanet.act"
local errno = require "luanet.errno"

-- Makes `s` unwritable: its send buffer is full.
local function fill(s)
  local chunk = string.rep("x", 65536)
  while s:send(chunk) > 0 do
  end
end

-- Reads what is there until the read would block (the readiness flag is then clear).
local function drain(s)
  local parts = {}
  while true do
    local d = s:read()
    if not d then
      return table.concat(parts)
    end
    parts[#parts + 1] = d
  end
end

-- Calls f(...) and returns the seconds it took and its results (packed).
local function timed(f, ...)
  local t0 = core.now()
  local r = table.pack(f(...))
  return core.now() - t0, r
end
"##;

fn run(src: &str) -> Output {
    let out = run_lua(&format!("{PRELUDE}\n{src}"));
    out.assert_success();
    out
}

#[test]
fn waits_return_the_descriptor_once_it_is_ready() {
    let out = run(r##"
        local a, b = core.socketpair()
        -- In an act task: the wait yields until the peer writes.
        assert(act.run(function()
          local cid = act.spawn(function()
            local fd, err, timeout = gpoll.wait_readable(a:fd(), 5)
            return fd == a:fd(), err, timeout, drain(a)
          end)
          act.later()
          b:send("hello")
          local st = act.await()
          print("task", st.cid == cid, st.status, st.result[1], st.result[2], st.result[3], st.result[4])
        end))
        -- A fresh socket is writable.
        print("writable", gpoll.wait_writable(b:fd(), 5) == b:fd())
        -- On the main thread: the loop runs (the deferred send happens) until readable.
        core.defer(function() b:send("again") end)
        print("main", gpoll.wait_readable(a:fd(), 5) == a:fd(), drain(a))
        -- In a script's own coroutine, and in a plain core task.
        core.defer(function() b:send("third") end)
        local co = coroutine.wrap(function() return gpoll.wait_readable(a:fd(), 5) end)
        print("coroutine", co() == a:fd(), drain(a))
        core.spawn(function()
          print("core task", act.wait_readable(a:fd(), 5) == a:fd(), drain(a))
        end)
        core.defer(function() b:send("fourth") end)
    "##);
    assert_eq!(
        out.lines(),
        [
            "task\ttrue\tok\ttrue\tnil\tnil\thello",
            "writable\ttrue",
            "main\ttrue\tagain",
            "coroutine\ttrue\tthird",
            "core task\ttrue\tfourth"
        ]
    );
}

#[test]
fn timeouts_return_nil_nil_true_and_not_before_the_deadline() {
    let out = run(r##"
        local a, b = core.socketpair()
        local el, r = timed(gpoll.wait_readable, a:fd(), 0.2)
        print("main", r[1], r[2], r[3], el >= 0.1)
        assert(act.run(function()
          local el, r = timed(gpoll.wait_readable, a:fd(), 0.2)
          print("task", r[1], r[2], r[3], el >= 0.1)
          r = table.pack(gpoll.wait_readable(a:fd(), 0))
          print("zero", r[1], r[2], r[3])
          fill(b)
          el, r = timed(act.wait_writable, b:fd(), 0.2)
          print("act writable", r[1], r[2], r[3], el >= 0.1)
          el, r = timed(gpoll.wait_writable, b:fd(), 0.2)
          print("gpoll writable", r[1], r[2], r[3], el >= 0.1)
        end))
        -- Several descriptors: the first that is ready, or a timeout.
        local c, d = core.socketpair()
        local e = core.socketpair()
        local t = core.timer()
        t:on(function() d:send("x") end)
        t:start(0.05)
        print("first of several", gpoll.wait_readable(e:fd(), 5, c:fd()) == c:fd())
        local g = core.socketpair()
        el, r = timed(gpoll.wait_readable, g:fd(), 0.2, e:fd())
        print("several time out", r[1], r[2], r[3], el >= 0.1)
    "##);
    assert_eq!(
        out.lines(),
        [
            "main\tnil\tnil\ttrue\ttrue",
            "task\tnil\tnil\ttrue\ttrue",
            "zero\tnil\tnil\ttrue",
            "act writable\tnil\tnil\ttrue\ttrue",
            "gpoll writable\tnil\tnil\ttrue\ttrue",
            "first of several\ttrue",
            "several time out\tnil\tnil\ttrue\ttrue"
        ]
    );
}

#[test]
fn a_second_waiter_on_the_same_descriptor_and_direction_gets_ealready() {
    let out = run(r##"
        local a, b = core.socketpair()
        assert(act.run(function()
          act.spawn(function() return gpoll.wait_readable(a:fd(), 5) end)
          act.later()
          local fd, err, timeout = gpoll.wait_readable(a:fd(), 5)
          print("gpoll", fd, err.type == errno.EALREADY, err.op, timeout)
          fd, err, timeout = act.wait_readable(a:fd(), 5)
          print("act", fd, err.type == errno.EALREADY, err.op, timeout)
          -- The other direction is not taken.
          print("writable", gpoll.wait_writable(a:fd(), 5) == a:fd())
          b:send("x")
          local st = act.await()
          print("first waiter", st.result[1] == a:fd(), st.result[2])
          -- Once the first waiter is done, the descriptor can be waited for again.
          print("again", gpoll.wait_readable(a:fd(), 5) == a:fd())
        end))
        -- The main thread waits; a task trying the same descriptor is refused.
        local c, d = core.socketpair()
        core.spawn(function()
          core.sleep(0.02)
          local fd, err = gpoll.wait_readable(c:fd(), 5)
          print("task while main waits", fd, err.type == errno.EALREADY)
          d:send("y")
        end)
        print("main", gpoll.wait_readable(c:fd(), 5) == c:fd())
    "##);
    assert_eq!(
        out.lines(),
        [
            "gpoll\tnil\ttrue\twait_readable\tnil",
            "act\tnil\ttrue\twait_readable\tnil",
            "writable\ttrue",
            "first waiter\ttrue\tnil",
            "again\ttrue",
            "task while main waits\tnil\ttrue",
            "main\ttrue"
        ]
    );
}

#[test]
fn unwait_wakes_the_waiter_with_ecanceled() {
    let out = run(r##"
        local a, b = core.socketpair()
        fill(a) -- a is neither readable nor writable now
        local function waiter(wait, sec)
          return act.spawn(function()
            local fd, err, timeout = wait(a:fd(), sec)
            return fd, err and err.type == errno.ECANCELED, timeout
          end)
        end
        assert(act.run(function()
          for _, case in ipairs{
            { "unwait_readable", gpoll.wait_readable, gpoll.unwait_readable },
            { "unwait_writable", gpoll.wait_writable, gpoll.unwait_writable },
            { "unwait (r)", gpoll.wait_readable, gpoll.unwait },
            { "unwait (w)", gpoll.wait_writable, gpoll.unwait },
            { "act.unwait_readable", act.wait_readable, act.unwait_readable },
            { "act.unwait", act.wait_writable, act.unwait },
          } do
            waiter(case[2], 5)
            act.later()
            local ok = case[3](a:fd())
            local st = act.await()
            print(case[1], ok, st.result[1], st.result[2], st.result[3])
          end
          -- Canceling one direction leaves the other waiting (here: until its timeout).
          waiter(gpoll.wait_writable, 0.2)
          act.later()
          gpoll.unwait_readable(a:fd())
          local st = act.await()
          print("other direction", st.result[1], st.result[2], st.result[3])
          -- Closing the socket cancels its waiters too.
          local c = core.socketpair()
          act.spawn(function()
            local fd, err = gpoll.wait_readable(c:fd(), 5)
            return fd, err.type == errno.ECANCELED
          end)
          act.later()
          c:close()
          st = act.await()
          print("closed", st.result[1], st.result[2])
        end))
        -- A waiting main thread is canceled by a task; unwaiting the other direction
        -- does not cancel it.
        core.spawn(function() core.sleep(0.02); gpoll.unwait_readable(a:fd()) end)
        local el, r = timed(gpoll.wait_writable, a:fd(), 0.2)
        print("main, other direction", r[1], r[2], r[3], el >= 0.1)
        core.spawn(function() core.sleep(0.02); gpoll.unwait_writable(a:fd()) end)
        local fd, err, timeout = gpoll.wait_writable(a:fd(), 5)
        print("main", fd, err.type == errno.ECANCELED, timeout)
    "##);
    assert_eq!(
        out.lines(),
        [
            "unwait_readable\ttrue\tnil\ttrue\tnil",
            "unwait_writable\ttrue\tnil\ttrue\tnil",
            "unwait (r)\ttrue\tnil\ttrue\tnil",
            "unwait (w)\ttrue\tnil\ttrue\tnil",
            "act.unwait_readable\ttrue\tnil\ttrue\tnil",
            "act.unwait\ttrue\tnil\ttrue\tnil",
            "other direction\tnil\tnil\ttrue",
            "closed\tnil\ttrue",
            "main, other direction\tnil\tnil\ttrue\ttrue",
            "main\tnil\ttrue\tnil"
        ]
    );
}

#[test]
fn locks_are_handed_over_in_the_order_they_were_asked_for() {
    let out = run(r##"
        local FD = 7 -- locks are per descriptor number; it need not be open
        local order = {}
        assert(act.run(function()
          assert(gpoll.read_lock(FD))
          print("relock", gpoll.read_lock(FD, 1))
          -- Tasks ask in the order 6, 5, ..., 1 (not their spawning order).
          for i = 1, 6 do
            act.spawn(function()
              act.sleep((7 - i) * 0.01)
              local ok, err, timeout = gpoll.read_lock(FD, 5)
              order[#order + 1] = i
              act.sleep(0.002)
              assert(gpoll.read_unlock(FD))
              return ok, err, timeout
            end)
          end
          -- One asks with a short timeout and gives up: it is skipped.
          act.spawn(function()
            act.sleep(0.035)
            local el, r = timed(act.read_lock, FD, 0.05)
            print("gave up", r[1], r[2], r[3], el >= 0.025)
          end)
          -- The write lock of the same descriptor is a separate lock.
          act.spawn(function()
            print("write lock", gpoll.write_lock(FD, 0.01))
            assert(gpoll.write_unlock(FD))
          end)
          act.sleep(0.2)
          -- Only the holder can unlock.
          act.spawn(function()
            local ok, err = gpoll.read_unlock(FD)
            print("not the holder", ok, err.type == errno.EPERM, act.read_unlock(FD))
          end)
          act.later()
          order[#order + 1] = "main"
          assert(gpoll.read_unlock(FD))
        end))
        print("order", table.concat(order, " "))
        -- An act task that ends holding a lock releases it; the main thread can wait.
        act.spawn(function()
          assert(act.write_lock(FD))
          act.sleep(0.05)
        end)
        act.later()
        local el, r = timed(gpoll.write_lock, FD, 5)
        print("main got it", r[1], el >= 0.025)
        print("main unlocks", gpoll.write_unlock(FD))
    "##);
    assert_eq!(
        out.lines(),
        [
            "relock\ttrue",
            "write lock\ttrue",
            "gave up\tfalse\tnil\ttrue\ttrue",
            "not the holder\tfalse\ttrue\tfalse",
            "order\tmain 6 5 4 3 2 1",
            "main got it\ttrue\ttrue",
            "main unlocks\ttrue"
        ]
    );
}

#[test]
fn set_poller_takes_a_custom_table_and_keeps_defaults_for_the_rest() {
    let out = run(r##"
        local a, b = core.socketpair()
        local calls = {}
        gpoll.set_poller({
          wait_readable = function(fd, sec)
            calls[#calls + 1] = "wait_readable(" .. tostring(sec) .. ")"
            return fd
          end,
          later = function() calls[#calls + 1] = "later"; return "custom" end,
          sleep = function() return nil, "cannot sleep" end,
        })
        print("custom wait", gpoll.wait_readable(a:fd(), 1.5) == a:fd())
        print("custom later", gpoll.later())
        local rem, err = gpoll.sleep(1)
        print("custom sleep", rem, tostring(err):find("cannot sleep", 1, true) ~= nil)
        print("calls", table.concat(calls, " "))
        -- What the table lacks is the runtime's scheduler.
        print("default pollable", gpoll.pollable())
        print("default lock", gpoll.write_lock(a:fd(), 1), gpoll.write_unlock(a:fd()))
        local full = core.socketpair()
        fill(full)
        print("default wait", gpoll.wait_writable(full:fd(), 0.05))
        -- A context is passed first.
        gpoll.set_poller({ pollable = function(ctx) return ctx.answer end }, { answer = "from ctx" })
        print("ctx", gpoll.pollable())
        -- What a poller returns is checked as upstream does.
        gpoll.set_poller({
          wait_readable = function() end,
          wait_writable = function() return nil, nil, true end,
          read_lock = function() return false end,
          read_unlock = function() return false end,
        })
        print("nothing", select("#", gpoll.wait_readable(1)))
        print("timeout", gpoll.wait_writable(1))
        print(pcall(gpoll.read_lock, 1))
        print(pcall(gpoll.read_unlock, 1))
        print(pcall(gpoll.set_poller, { sleep = "soon" }))
        -- nil restores the default.
        gpoll.set_poller()
        print("restored", gpoll.pollable(), gpoll.later())
        -- act as the poller: lua-net code then waits through act.
        gpoll.set_poller(act)
        core.defer(function() b:send("via act") end)
        print("act main", gpoll.wait_readable(a:fd(), 5) == a:fd(), drain(a))
        assert(act.run(function()
          act.spawn(function() return gpoll.wait_readable(a:fd(), 5) end)
          act.later()
          local fd, err = gpoll.wait_readable(a:fd(), 5)
          print("act ealready", fd, err.type == errno.EALREADY)
          gpoll.unwait(a:fd())
          local st = act.await()
          print("act ecanceled", st.result[1], st.result[2].type == errno.ECANCELED)
        end))
        gpoll.set_poller()
    "##);
    assert_eq!(
        out.lines(),
        [
            "custom wait\ttrue",
            "custom later\tcustom",
            "custom sleep\tnil\ttrue",
            "calls\twait_readable(1.5) later",
            "default pollable\ttrue",
            "default lock\ttrue\ttrue",
            "default wait\tnil\tnil\ttrue",
            "ctx\tfrom ctx",
            "nothing\t0",
            "timeout\tnil\tnil\ttrue",
            "false\tread_lock returned false|nil with neither error nor timeout",
            "false\tread_unlock returned false|nil without an error",
            "false\t\"sleep\" is not function: \"string\"",
            "restored\ttrue\ttrue",
            "act main\ttrue\tvia act",
            "act ealready\tnil\ttrue",
            "act ecanceled\tnil\ttrue"
        ]
    );
}

#[test]
fn use_loads_a_poller_module() {
    let out = run(r##"
        package.preload["my.poller"] = function()
          return { pollable = function() return "mine" end }
        end
        gpoll.use("my.poller")
        print("use", gpoll.pollable())
        package.preload["not.a.poller"] = function() return 42 end
        print(pcall(gpoll.use, "not.a.poller"))
        print("still", gpoll.pollable())
        gpoll.set_poller()
        print("default", gpoll.pollable())
    "##);
    assert_eq!(
        out.lines(),
        ["use\tmine", "false\tmodule \"not.a.poller\" must return table", "still\tmine", "default\ttrue"]
    );
}

#[test]
fn act_run_spawn_sleep_and_later() {
    let out = run(r##"
        local log = {}
        local ok, err = act.run(function(x, y)
          log[#log + 1] = "main " .. x .. y
          local cids = {}
          for i = 1, 3 do
            cids[i] = act.spawn(function(n) log[#log + 1] = "child " .. n end, i)
          end
          print("cids", math.type(cids[1]), cids[1] ~= cids[2] and cids[2] ~= cids[3], act.getcid() ~= cids[1])
          log[#log + 1] = "before later"
          print("later", act.later())
          log[#log + 1] = "after later"
          -- Seconds, as in lua-act's current API.
          local el, r = timed(act.sleep, 0.2)
          print("sleep", r[1], el >= 0.1)
          print("nested", act.run(function() end))
          act.spawn(function() act.sleep(0.1); log[#log + 1] = "late child" end)
        end, "x", "y")
        print("run", ok, err)
        print(table.concat(log, ";"))
        -- Sleepers wake in the order of their deadlines.
        assert(act.run(function()
          for _, d in ipairs{ 0.15, 0.05, 0.1 } do
            act.spawn(function() act.sleep(d); return d end)
          end
          local woke = {}
          for _ = 1, 3 do
            woke[#woke + 1] = act.await().result[1]
          end
          print("woke", table.concat(woke, " "))
        end))
        -- Outside act.run: spawn makes a task, sleep runs the loop meanwhile.
        local ran = false
        act.spawn(function() ran = true end)
        local el, r = timed(act.sleep, 0.1)
        print("outside", ran, r[1], el >= 0.05, act.pollable())
    "##);
    assert_eq!(
        out.lines(),
        [
            "cids\tinteger\ttrue\ttrue",
            "later\ttrue",
            "sleep\t0\ttrue",
            "nested\tfalse\tact run already",
            "run\ttrue\tnil",
            "main xy;before later;child 1;child 2;child 3;after later;late child",
            "woke\t0.05 0.1 0.15",
            "outside\ttrue\t0\ttrue\ttrue"
        ]
    );
}

#[test]
fn act_tasks_report_results_errors_exit_and_resume() {
    let out = run(r##"
        local ok, err = act.run(function() error("main boom") end)
        print("main error", ok, tostring(err):find("main boom", 1, true) ~= nil)
        ok, err = act.run(function() act.spawn(function() error("child boom") end) end)
        print("unreceived child error", ok, tostring(err):find("child boom", 1, true) ~= nil)
        print(act.run(function()
          local cid = act.spawn(function() error("received boom") end)
          local st = act.await()
          print("received", st.cid == cid, st.status, tostring(st.error):find("received boom", 1, true) ~= nil)
          cid = act.spawn(function() act.exit("bye", 2); error("not reached") end)
          st = act.await()
          print("exit", st.cid == cid, st.status, st.result[1], st.result[2])
          cid = act.spawn(function() return act.suspend() end)
          act.later()
          print("resume", act.resume(cid, "v1", "v2"), act.resume(cid))
          st = act.await()
          print("suspend", st.result[1], st.result[2], st.result[3])
          print("suspend timeout", act.suspend(0.05))
          cid = act.spawn(function() return act.sleep(5) end)
          act.sleep(0.05)
          act.resume(cid)
          st = act.await()
          print("sleep resumed", st.result[1] > 0 and st.result[1] < 5)
          print("no child", act.await())
          act.spawn(function() act.sleep(5) end)
          local res, timeout = act.await(0.05)
          print("await timeout", res, timeout)
          act.unwait(0) -- nothing waits on descriptor 0: harmless
          -- Finished children are kept for a later await only with a queue size.
          print("awaitq_size", act.awaitq_size(), act.awaitq_size(-1))
          act.spawn(function() return "queued" end)
          act.sleep(0.02)
          print("queued", act.await().result[1])
          -- The 5 second sleeper would keep the run going: wake it.
          for c = 1, 100 do act.resume(c) end
        end))
        print(pcall(act.getcid))
        print(pcall(act.await))
        print(pcall(act.exit))
    "##);
    assert_eq!(
        out.lines(),
        [
            "main error\tfalse\ttrue",
            "unreceived child error\tfalse\ttrue",
            "received\ttrue\terrrun\ttrue",
            "exit\ttrue\tok\tbye\t2",
            "resume\ttrue\tfalse",
            "suspend\ttrue\tv1\tv2",
            "suspend timeout\tfalse\tnil\ttrue",
            "sleep resumed\ttrue",
            "no child\tnil",
            "await timeout\tnil\ttrue",
            "awaitq_size\t0\t-1",
            "queued\tqueued",
            "true",
            "false\tcannot call getcid() at outside of execution context",
            "false\tcannot call await() at outside of execution context",
            "false\tcannot call exit() at outside of execution context"
        ]
    );
}

#[test]
fn a_wait_on_the_main_thread_lets_timers_and_tasks_run() {
    let out = run(r##"
        local a, b = core.socketpair()
        local events = {}
        local t1 = core.timer()
        t1:on(function() events[#events + 1] = "timer" end)
        t1:start(0.03)
        local t2 = core.timer()
        t2:on(function() events[#events + 1] = "send"; b:send("tick") end)
        t2:start(0.1)
        core.spawn(function() core.sleep(0.01); events[#events + 1] = "task" end)
        local fd, err, timeout = gpoll.wait_readable(a:fd(), 10)
        print("woke", fd == a:fd(), err, timeout, table.concat(events, " "))
        -- gpoll.sleep and act.sleep outside tasks keep the loop running too.
        local t3 = core.timer()
        t3:on(function() events[#events + 1] = "during sleep" end)
        t3:start(0.02)
        print("sleep", gpoll.sleep(0.1), events[#events])
    "##);
    assert_eq!(out.lines(), ["woke\ttrue\tnil\tnil\ttask timer send", "sleep\t0\tduring sleep"]);
}

#[test]
fn a_hundred_act_tasks_exchange_data_through_socketpairs() {
    let out = run(r##"
        gpoll.set_poller(act)
        local N, ROUNDS = 100, 10
        local function readn(s, n)
          local buf = ""
          while #buf < n do
            local d = s:read(n - #buf)
            if d == false then
              local fd, err = gpoll.wait_readable(s:fd(), 10)
              if not fd then return nil, tostring(err or "timeout") end
            elseif d == nil then
              return nil, "eof"
            else
              buf = buf .. d
            end
          end
          return buf
        end
        local function sendall(s, data)
          while #data > 0 do
            local n = s:send(data)
            if n == 0 then
              assert(gpoll.wait_writable(s:fd(), 10))
            end
            data = data:sub(n + 1)
          end
        end
        local ok, err = act.run(function()
          act.awaitq_size(-1)
          for i = 1, N do
            local a, b = core.socketpair()
            act.spawn(function() -- echoes back in upper case
              for _ = 1, ROUNDS do
                sendall(b, assert(readn(b, 8)):upper())
              end
              b:close()
              return "echo"
            end)
            act.spawn(function()
              local n = 0
              for r = 1, ROUNDS do
                local m = string.format("t%03dr%03d", i, r)
                sendall(a, m)
                assert(readn(a, 8) == m:upper())
                n = n + 1
              end
              a:close()
              return n
            end)
          end
          local echoes, exchanged, failed = 0, 0, 0
          while true do
            local st = act.await(20)
            if st == nil then break end
            if st.status ~= "ok" then
              failed = failed + 1
              print(st.error)
            elseif st.result[1] == "echo" then
              echoes = echoes + 1
            else
              exchanged = exchanged + st.result[1]
            end
          end
          print("tasks", echoes, exchanged, failed)
        end)
        print("run", ok, err)
    "##);
    assert_eq!(out.lines(), ["tasks\t100\t1000\t0", "run\ttrue\tnil"]);
}

#[test]
fn arguments_are_checked_with_the_upstream_messages() {
    let out = run(r##"
        local function try(f, ...)
          local ok, e = pcall(f, ...)
          print(ok, e)
        end
        try(gpoll.wait_readable, 1, -1)
        try(gpoll.wait_writable, 1, 0 / 0)
        try(gpoll.wait_readable, "x")
        try(gpoll.read_lock, -1)
        try(gpoll.write_lock, 1, math.huge)
        try(gpoll.unwait, 1.5)
        try(gpoll.sleep, -1)
        try(gpoll.sigwait, nil)
        try(act.wait_readable, -1)
        try(act.wait_writable, 1, -1)
        try(act.read_lock, 1, {})
        try(act.unwait_readable, "x")
        try(act.sleep, -1)
        try(act.spawn, 1)
        try(act.run, nil)
        try(act.fork)
        -- A script's call position is named.
        local ok, e = pcall(function() gpoll.wait_readable(1, -1) end)
        print("position", e:match("^[^:]+:%d+: ") ~= nil)
        -- A descriptor that is not one of the runtime's sockets.
        local fd, err, timeout = gpoll.wait_readable(99999, 1)
        print("ebadf", fd, err.type == errno.EBADF, timeout)
        -- Signals cannot be waited for.
        local sig, serr = gpoll.sigwait(1, "SIGINT")
        print("sigwait", sig, serr.type == errno.ENOTSUP, select("#", gpoll.sigwait(1)))
    "##);
    assert_eq!(
        out.lines(),
        [
            "false\tsec must be unsigned number",
            "false\tsec must be unsigned number",
            "false\tfd must be uint",
            "false\tfd must be uint",
            "false\tsec must be unsigned number",
            "false\tfd must be uint",
            "false\tsec must be unsigned number",
            "false\tsec must be unsigned number",
            "false\tfd must be unsigned integer",
            "false\tsec must be unsigned number or nil",
            "false\tsec must be unsigned number or nil",
            "false\tfd must be unsigned integer",
            "false\tsec must be unsigned number",
            "false\tfn must be function",
            "false\tmainfn must be function",
            "false\tact.fork is not supported by rlua-net",
            "position\ttrue",
            "ebadf\tnil\ttrue\tnil",
            "sigwait\tnil\ttrue\t0"
        ]
    );
}
