-- rlua-net: dialect=luanet
--
-- A TCP echo server written the way lua-net + lua-act users write one: synchronous-looking
-- code (accept, recv, send), one act task per client, and gpoll turning every wait into a
-- yield, so all the clients are served at once by one thread.
--
--   rlua-net examples/luanet/echo_server.lua [PORT [SECONDS]]
--
-- PORT defaults to 0 (a free port, printed on the first line); the server stops after
-- SECONDS (default 60) or as soon as a client sends the line "quit". It then closes the
-- clients still connected, prints a summary and exits. Try it with
-- `nc 127.0.0.1 PORT`, or with examples/luanet/echo_clients.lua.
--
-- On upstream lua-net the `set_poller` line is what makes the waits yield; in rlua-net the
-- runtime's scheduler is always the poller, so the line is harmless and can be left out.

local act = require('act')
require('gpoll').set_poller(act)
local errno = require('errno')
local inet = require('net.stream.inet')

local PORT = math.tointeger(tonumber(arg[1] or 0))
local SECONDS = tonumber(arg[2] or 60)
if PORT == nil or PORT < 0 or PORT > 65535 or SECONDS == nil or SECONDS < 0 then
    io.stderr:write('usage: echo_server.lua [PORT [SECONDS]]\n')
    os.exit(2)
end

local server
local clients = {} -- the sockets of the clients being served
local served, echoed = 0, 0
local timer_cid -- the task that stops the server after SECONDS
local stop_reason

-- Stops accepting and ends every client's task: closing a socket wakes the task waiting on
-- it (its recv returns nil, ECANCELED).
local function stop(reason)
    if stop_reason then
        return
    end
    stop_reason = reason
    print('stopping: ' .. reason)
    server:close()
    for client in pairs(clients) do
        client:close()
    end
    if timer_cid then
        act.resume(timer_cid) -- wakes the timer's sleep so that act.run can end
    end
end

local function handle_client(client)
    clients[client] = true
    served = served + 1
    local msg, err, timeout = client:recv()
    while msg do
        if msg == 'quit\n' or msg == 'quit\r\n' or msg == 'quit' then
            client:send('bye\n')
            stop('a client sent quit')
            break
        end
        local _
        _, err, timeout = client:send(msg)
        if err or timeout then
            break
        end
        echoed = echoed + #msg
        msg, err, timeout = client:recv()
    end
    clients[client] = nil

    -- A socket closed by stop() reports ECANCELED: that is not an error of the client.
    if err and err.type ~= errno.ECANCELED then
        print('client error: ' .. tostring(err))
    elseif timeout then
        print('client timed out')
    end
    client:close()
end

local function main()
    local err
    server, err = inet.server.new('127.0.0.1', PORT, { reuseaddr = true })
    if not server then
        error(err)
    end
    assert(server:listen())
    print(('listening on 127.0.0.1:%d'):format(server:getsockname():port()))
    io.stdout:flush()

    timer_cid = act.spawn(function()
        act.sleep(SECONDS)
        stop(('%g seconds passed'):format(SECONDS))
    end)

    while true do
        local client
        client, err = server:accept()
        if client then
            act.spawn(handle_client, client)
        else
            -- stop() closed the server (ECANCELED), or accepting failed
            if not stop_reason then
                print('failed to accept: ' .. tostring(err))
                stop('accept failed')
            end
            break
        end
    end
end

local ok, err = act.run(main)
print(('served %d clients, echoed %d bytes'):format(served, echoed))
if not ok then
    error(err)
end
