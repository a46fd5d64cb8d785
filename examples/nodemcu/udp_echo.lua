#!/usr/bin/env -S rlua-net --dialect nodemcu
-- The NodeMCU docs' UDP echo: rlua-net examples/nodemcu/udp_echo.lua 5000, then
-- `echo -n foo | socat - UDP:127.0.0.1:5000` (or `nc -u -w1 127.0.0.1 5000`).
-- It stops by itself after 60 seconds (or the number of seconds given second).
local port = tonumber(arg and arg[1]) or 5000
local lifetime = tonumber(arg and arg[2]) or 60

local udp = net.createUDPSocket()
udp:listen(port)
udp:on("receive", function(s, data, from_port, from_ip)
  print(("received '%s' from %s:%d"):format(data, from_ip, from_port))
  s:send(from_port, from_ip, "echo: " .. data)
end)
local p, ip = udp:getaddr()
print(("local UDP socket address / port: %s:%d"):format(ip, p))

tmr.create():alarm(lifetime * 1000, tmr.ALARM_SINGLE, function()
  udp:close()
end)
