-- A TCP echo server written the way a lua-net user writes one (lua-net + lua-act), for
-- benches/echo.sh:
--
--   rlua-net --dialect luanet benches/luanet_echo.lua [PORT]
--
-- PORT 0 (the default) lets the system pick a port. The bound port is printed on its own
-- line once the server listens; then it serves connections until the process is killed.
-- It listens on 127.0.0.1 only (a benchmark has no business on other interfaces).
--
-- The shape of lua-act's example/echoserver.lua: server.new + listen, an accept loop in
-- the act.run main task, one act task per client that reads (recv, 4096 bytes at most, the
-- default) and writes back (send) until the end of the stream. gpoll.set_poller(act) is
-- what makes those waits yield on upstream; rlua-net's runtime scheduler is the poller
-- anyway, so the line only keeps the script as upstream users write it.

local act = require('act')
require('gpoll').set_poller(act)
local inet = require('net.stream.inet')

local port = math.tointeger(tonumber(arg[1] or '0')) or 0

local function handle_client(client)
    local msg, err = client:recv()
    while msg do
        local _
        _, err = client:send(msg)
        if err then
            break
        end
        msg, err = client:recv()
    end
    if err then
        io.stderr:write('client: ', tostring(err), '\n')
    end
    client:close()
end

local function main()
    local server = assert(inet.server.new('127.0.0.1', port, { reuseaddr = true }))
    assert(server:listen())
    print(server:getsockname():port())
    io.stdout:flush()
    while true do
        local client, err = server:accept()
        if client then
            act.spawn(handle_client, client)
        else
            error(err)
        end
    end
end

local ok, err = act.run(main)
if not ok then
    error(err)
end
