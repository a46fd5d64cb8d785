-- A server that writes as fast as the connection takes it, for the backpressure check of
-- benches/run.sh (a slow reader must not make the server's memory grow):
--
--   rlua-net --dialect nodemcu benches/backpressure_nodemcu.lua [PORT [CHUNK]]
--
-- PORT 0 (the default) lets the system pick a port; the bound port is printed on its own
-- line, then the server runs until it is killed, on 127.0.0.1 only. To every client it
-- sends CHUNK-byte strings (default 65536) without end, the NodeMCU way: the next send()
-- from the "sent" callback, which rlua-net fires once the chunk has been handed to the
-- kernel. So the pace is the client's: while it reads slowly, the socket stays full and
-- nothing piles up in the server.

local port = tonumber(arg[1] or "0") or 0
local size = math.tointeger(tonumber(arg[2] or "65536")) or 65536
local chunk = string.rep("0123456789abcdef", size // 16 + 1):sub(1, size)

local srv = net.createServer()
srv:listen(port, "127.0.0.1", function(conn)
  conn:on("sent", function(sck)
    sck:send(chunk)
  end)
  conn:send(chunk)
end)

print((srv:getaddr())) -- getaddr returns port, ip
io.stdout:flush()
