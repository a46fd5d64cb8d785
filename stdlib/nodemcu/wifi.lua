-- A `wifi` stub: the host is always "connected", so scripts that wait for an IP before
-- starting their networking run unchanged. The address is the host's (net.ifinfo(0)).
local wifi = {
  NULLMODE = 0, STATION = 1, SOFTAP = 2, STATIONAP = 3,
  STA_IDLE = 0, STA_CONNECTING = 1, STA_WRONGPWD = 2, STA_APNOTFOUND = 3, STA_FAIL = 4, STA_GOTIP = 5,
}

local mode = wifi.STATION

function wifi.setmode(m)
  mode = m or mode
  return mode
end

function wifi.getmode()
  return mode
end

local function info()
  local net = require "nodemcu.net"
  return net.ifinfo(0) or { ip = "127.0.0.1", netmask = "255.0.0.0", hwaddr = string.rep("\0", 6) }
end

wifi.sta = {}

function wifi.sta.status()
  return wifi.STA_GOTIP
end

function wifi.sta.getip()
  local i = info()
  return i.ip, i.netmask, i.gateway or i.ip
end

function wifi.sta.getmac()
  local hw = info().hwaddr or ""
  return (hw:gsub(".", function(c) return ("%02x:"):format(c:byte()) end):gsub(":$", ""))
end

function wifi.sta.config() return true end
function wifi.sta.connect() end
function wifi.sta.disconnect() end
function wifi.sta.autoconnect() end

wifi.eventmon = { register = function() end, unregister = function() end }

return wifi
