-- rlua-net: dialect=luanet
--
-- N concurrent echo clients, one act task each, for examples/luanet/echo_server.lua (or
-- any echo server). Every client connects, sends ROUNDS messages of its own, reads each
-- echo back in full and compares it with what it sent. With "quit" as the last argument,
-- one more connection sends "quit" afterwards to stop echo_server.lua.
--
--   rlua-net examples/luanet/echo_server.lua 0 60 &     # prints the port
--   rlua-net examples/luanet/echo_clients.lua PORT [N [ROUNDS [quit]]]
--
-- N defaults to 10 and ROUNDS to 20. It prints one line per client and a summary, and
-- exits with status 1 if any client failed.

local act = require('act')
require('gpoll').set_poller(act)
local inet = require('net.stream.inet')

local PORT = math.tointeger(tonumber(arg[1]))
local N = math.tointeger(tonumber(arg[2] or 10))
local ROUNDS = math.tointeger(tonumber(arg[3] or 20))
local QUIT = arg[4] == 'quit'
if PORT == nil or N == nil or N < 1 or ROUNDS == nil or ROUNDS < 1 then
    io.stderr:write('usage: echo_clients.lua PORT [N [ROUNDS [quit]]]\n')
    os.exit(2)
end

-- Reads exactly #want bytes (echoes may come back in pieces): the bytes, or nil and why.
local function read_echo(sock, want)
    local got = ''
    while #got < #want do
        local s, err, timeout = sock:read(#want - #got)
        if not s then
            return nil, err and tostring(err) or (timeout and 'timed out' or 'closed by the server')
        end
        got = got .. s
    end
    return got
end

local results = {}

local function client(id)
    local sock, err, timeout = inet.client.new('127.0.0.1', PORT, { deadline = 5 })
    if not sock then
        results[id] = 'connect failed: ' .. (err and tostring(err) or 'timed out')
        return
    end
    sock:rcvtimeo(10) -- no echo within 10 s is a failure
    for round = 1, ROUNDS do
        local msg = ('client %d round %d %s\n'):format(id, round, ('x'):rep(id))
        local _, werr = sock:write(msg)
        if werr then
            results[id] = 'write failed: ' .. tostring(werr)
            break
        end
        local echo, rerr = read_echo(sock, msg)
        if not echo then
            results[id] = ('round %d: %s'):format(round, rerr)
            break
        elseif echo ~= msg then
            results[id] = ('round %d: sent %q, got back %q'):format(round, msg, echo)
            break
        end
    end
    results[id] = results[id] or 'ok'
    sock:close()
end

local ok, err = act.run(function()
    for id = 1, N do
        act.spawn(client, id)
    end
end)
if not ok then
    error(err)
end

local failed = 0
for id = 1, N do
    print(('client %d: %s'):format(id, results[id]))
    if results[id] ~= 'ok' then
        failed = failed + 1
    end
end
print(('%d of %d clients got all %d echoes back'):format(N - failed, N, ROUNDS))

if QUIT then
    local sock = assert(inet.client.new('127.0.0.1', PORT, { deadline = 5 }))
    sock:rcvtimeo(5)
    assert(sock:write('quit\n'))
    local reply = sock:read() -- "bye\n", or nil if the server closed at once
    print('sent quit, server said: ' .. (reply and reply:gsub('\n$', '') or 'nothing'))
    sock:close()
end
os.exit(failed == 0 and 0 or 1)
