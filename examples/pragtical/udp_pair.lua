-- rlua-net: dialect=pragtical
-- A UDP receiver and a sender in one script, each a Pragtical-style thread polling its
-- socket. The sender sends a few numbered pings, the receiver answers each with a pong,
-- and the script ends once the sender has all its answers.
--
--   rlua-net examples/pragtical/udp_pair.lua [PORT [COUNT]]
--
-- PORT (default: the first free one from 40400) is where the receiver listens.
local count = math.tointeger(tonumber(arg[2])) or 3
local lo = net.resolve_address("127.0.0.1")

-- A UDP socket cannot tell its own port, so the receiver binds a known one.
local receiver, port
local first = math.tointeger(tonumber(arg[1]))
for p = first or 40400, first or 40499 do
  receiver = net.open_udp(lo, p)
  if receiver then
    port = p
    break
  end
end
if not receiver then
  core.error("no free UDP port to listen on")
  os.exit(1)
end
print(("receiver: listening on 127.0.0.1:%d"):format(port))

-- receive() returns nothing at all while no datagram is waiting.
local function next_datagram(sock)
  while true do
    local dgram, err = sock:receive()
    if dgram then
      return dgram
    elseif err then
      error(err)
    end
    coroutine.yield(0.01)
  end
end

core.add_thread(function()
  for _ = 1, count do
    local dgram = next_datagram(receiver)
    local from, from_port = dgram:get_address(), dgram:get_port()
    print(("receiver: '%s' from %s:%d"):format(dgram:get_data(), from:get_ip(), from_port))
    assert(receiver:send(from, from_port, (dgram:get_data():gsub("ping", "pong"))))
  end
  receiver:close()
end)

core.add_thread(function()
  local sender = assert(net.open_udp(lo, 0))
  for i = 1, count do
    assert(sender:send(lo, port, "ping " .. i))
    print("sender: got '" .. next_datagram(sender):get_data() .. "'")
  end
  sender:close()
end)
