-- A TCP echo server written the way a NodeMCU user writes one, for benches/echo.sh:
--
--   rlua-net --dialect nodemcu benches/nodemcu_echo.lua [PORT]
--
-- PORT 0 (the default) lets the system pick a port. The bound port is printed on its own
-- line once the server listens; then the script's top level ends and the event loop
-- serves connections until the process is killed. It listens on 127.0.0.1 only (a
-- benchmark has no business on other interfaces); listen's optional IP argument is part
-- of the NodeMCU API.

local port = tonumber(arg[1] or "0") or 0

local srv = net.createServer()
srv:listen(port, "127.0.0.1", function(conn)
  conn:on("receive", function(sck, data)
    sck:send(data)
  end)
end)

print((srv:getaddr())) -- getaddr returns port, ip
io.stdout:flush()
