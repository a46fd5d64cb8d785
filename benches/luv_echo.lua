-- A TCP echo server written the way a luv (libuv for Lua) user writes one: a peer of the
-- rlua-net echo servers for benches/run.sh. It runs on the stock interpreter, not on
-- rlua-net (Debian: apt-get install lua5.4 lua-luv):
--
--   lua5.4 benches/luv_echo.lua [PORT]
--
-- PORT 0 (the default) lets the system pick a port. The bound port is printed on its own
-- line once the server listens; then uv.run() serves connections until the process is
-- killed. It listens on 127.0.0.1 only (a benchmark has no business on other interfaces).
--
-- The usual shape of a luv TCP server: uv.new_tcp, bind, listen, and for each
-- connection accept into a new handle, read_start, and write every chunk back as it comes.
-- One thing is added that a careful user adds: writes that the socket cannot take at once
-- are queued by libuv, so a client that sends without reading would make that queue grow
-- without bound; once it holds more than HIGH_WATER bytes, reading stops until it has
-- drained. End of stream shuts the write side down once the queued writes are out, then
-- closes; an error (a reset, say) closes at once. Neither stops the server. libuv leaves
-- SIGPIPE alone, so writing to a connection the client has reset would kill the process;
-- a watcher for it (doing nothing) turns that into an EPIPE error on the write.

local uv = require('luv')

local port = math.tointeger(tonumber(arg[1] or '0')) or 0
local BACKLOG = 1024         -- the C reference's (benches/ref/echo_epoll.c)
local HIGH_WATER = 64 * 1024 -- bytes queued for writing before reading pauses

local function log(...)
  io.stderr:write('luv_echo: ', table.concat({ ... }, ' '), '\n')
end

local function serve(client)
  local on_read

  local function close()
    if not client:is_closing() then
      client:close()
    end
  end

  -- Called when the write that was queued behind HIGH_WATER bytes has gone out, so the
  -- whole queue has: read again.
  local function on_drained(err)
    if err then
      return close()
    end
    if not client:is_closing() then
      client:read_start(on_read)
    end
  end

  function on_read(err, chunk)
    if err then
      return close()
    end
    if not chunk then -- end of stream: finish the queued writes, then close
      if not client:shutdown(close) then
        close()
      end
      return
    end
    local ok
    if client:get_write_queue_size() > HIGH_WATER then
      client:read_stop()
      ok = client:write(chunk, on_drained)
    else
      ok = client:write(chunk)
    end
    if not ok then
      close()
    end
  end

  client:read_start(on_read)
end

local sigpipe = uv.new_signal()
sigpipe:start('sigpipe', function() end)
sigpipe:unref() -- it does not keep the loop alive on its own

local server = uv.new_tcp()
assert(server:bind('127.0.0.1', port))
assert(server:listen(BACKLOG, function(err)
  if err then
    return log('listen:', err)
  end
  local client = uv.new_tcp()
  local ok, aerr = server:accept(client)
  if not ok then
    log('accept:', tostring(aerr))
    return client:close()
  end
  serve(client)
end))

print(server:getsockname().port)
io.stdout:flush()

uv.run()
