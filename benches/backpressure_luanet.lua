-- A server that writes as fast as the connection takes it, for the backpressure check of
-- benches/run.sh (a slow reader must not make the server's memory grow):
--
--   rlua-net --dialect luanet benches/backpressure_luanet.lua [PORT [CHUNK]]
--
-- PORT 0 (the default) lets the system pick a port; the bound port is printed on its own
-- line, then the server runs until it is killed, on 127.0.0.1 only. The lua-net + act
-- shape of benches/luanet_echo.lua: one act task per client, which loops on
-- client:send(CHUNK bytes) (default 65536) until the connection fails. send waits (the
-- task yields) while the socket is full, so the pace is the client's.

local act = require('act')
require('gpoll').set_poller(act)
local inet = require('net.stream.inet')

local port = math.tointeger(tonumber(arg[1] or '0')) or 0
local size = math.tointeger(tonumber(arg[2] or '65536')) or 65536
local chunk = string.rep('0123456789abcdef', size // 16 + 1):sub(1, size)

local function flood(client)
    while client:send(chunk) do
    end
    client:close()
end

local ok, err = act.run(function()
    local server = assert(inet.server.new('127.0.0.1', port, { reuseaddr = true }))
    assert(server:listen())
    print(server:getsockname():port())
    io.stdout:flush()
    while true do
        local client, aerr = server:accept()
        if not client then
            error(aerr)
        end
        act.spawn(flood, client)
    end
end)
if not ok then
    error(err)
end
