-- rlua-net: dialect=luanet
--
-- Passing a descriptor over a Unix socket (SCM_RIGHTS) with lua-net's sendfd/recvfd: a
-- front end accepts TCP connections and hands each one to a worker, which serves it on
-- its own copy of the descriptor. That is how a pre-forked server or a privilege-separated
-- listener gives connections to its workers; here the front end, the worker and a few
-- TCP clients are act tasks of one script, joined by `net.stream.unix.pair()`. Between
-- two processes the same calls work over a net.stream.unix server and client.
--
--   rlua-net examples/luanet/fd_passing.lua [CLIENTS]
--
-- CLIENTS defaults to 3. Each client sends a line and prints the worker's answer; the
-- script ends when all of them are done.

local act = require('act')
require('gpoll').set_poller(act)
local inet = require('net.stream.inet')
local unix = require('net.stream.unix')

local CLIENTS = math.tointeger(tonumber(arg[1] or 3))
if CLIENTS == nil or CLIENTS < 1 then
    io.stderr:write('usage: fd_passing.lua [CLIENTS]\n')
    os.exit(2)
end

local function check(v, err, timeout)
    if not v then
        error(err and tostring(err) or (timeout and 'timed out' or 'closed'), 2)
    end
    return v
end

-- Accepts CLIENTS connections and passes each one's descriptor to the worker; the
-- front end's own copy is closed once it is sent (the worker's copy stays open).
local function front(server, channel)
    for _ = 1, CLIENTS do
        local conn = check(server:accept())
        local fd = conn:fd()
        check(channel:sendfd(fd) == 0, 'sendfd failed')
        print(('front: accepted a connection on descriptor %d and passed it on'):format(fd))
        conn:close()
    end
    server:close()
    channel:close() -- the worker's recvfd then reports the end of the stream
end

-- Receives descriptors until the front end closes the channel, wraps each in a socket
-- object and serves it: one line in, one line out.
local function worker(channel)
    local served = 0
    while true do
        local fd, err, timeout = channel:recvfd()
        if not fd then
            check(err == nil and not timeout, err, timeout)
            break -- the channel was closed: no more connections
        end
        local conn = check(inet.wrap(fd))
        local peer = conn:getpeername()
        local line = check(conn:read())
        served = served + 1
        check(conn:write(('worker (descriptor %d, peer port %d) got: %s'):format(fd, peer:port(), line)))
        conn:close()
    end
    print(('worker: served %d connections'):format(served))
    channel:close()
end

local function client(port, id)
    local sock = check(inet.client.new('127.0.0.1', port, { deadline = 5 }))
    sock:rcvtimeo(5)
    check(sock:write(('hello from client %d\n'):format(id)))
    local answer = check(sock:read())
    io.write(('client %d: %s'):format(id, answer))
    sock:close()
end

local ok, err = act.run(function()
    local server = check(inet.server.new('127.0.0.1', 0))
    check(server:listen())
    local pair = check(unix.pair()) -- { front end's end, worker's end }
    act.spawn(front, server, pair[1])
    act.spawn(worker, pair[2])
    local port = server:getsockname():port()
    for id = 1, CLIENTS do
        act.spawn(client, port, id)
    end
end)
if not ok then
    error(err)
end
print('done')
