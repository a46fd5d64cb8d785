-- rlua-net: dialect=luanet
--
-- An HTTPS GET with lua-libtls: a libtls.config that trusts CAFILE (or the system's roots
-- without one), a client context, ctx:connect(HOST, PORT) (the context makes its own
-- socket, so handshake/read/write wait until done, as libtls does on a blocking socket),
-- an HTTP/1.0 request, and the response read until the server ends it. It prints the
-- peer's certificate subject, the status line and how many bytes came.
--
--   rlua-net examples/libtls/https_get.lua HOST [PORT [CAFILE [PATH]]]
--   rlua-net examples/libtls/https_get.lua example.com 443
--
-- A local server to try it on (a self-signed certificate for localhost and 127.0.0.1,
-- given as CAFILE so that the client trusts it):
--
--   openssl req -x509 -newkey rsa:2048 -nodes -days 1 -keyout key.pem -out cert.pem \
--     -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1
--   openssl s_server -accept 4433 -cert cert.pem -key key.pem -www
--   rlua-net examples/libtls/https_get.lua localhost 4433 cert.pem
--
-- `openssl s_server -www` answers GET / with a status page. Exit status: 0 on a response,
-- 1 on a failure (printed on stderr), 2 on a usage error.

local libtls = require('libtls')
local config = require('libtls.config')

local HOST = arg[1]
local PORT = arg[2] or '443'
local CAFILE = arg[3] ~= '' and arg[3] or nil
local PATH = arg[4] or '/'
if HOST == nil or not PORT:find('^%d+$') then
    io.stderr:write('usage: https_get.lua HOST [PORT [CAFILE [PATH]]]\n')
    os.exit(2)
end

local function fail(what, err)
    io.stderr:write(what, ': ', tostring(err), '\n')
    os.exit(1)
end

local cfg = config.new()
if CAFILE then
    local ok, err = cfg:set_ca_file(CAFILE)
    if not ok then
        fail('set_ca_file', err)
    end
end
local ok, err = cfg:set_protocols(libtls.TLS_v12, libtls.TLS_v13)
if not ok then
    fail('set_protocols', err)
end

local ctx
ctx, err = libtls.client(cfg)
if not ctx then
    fail('libtls.client', err)
end
ok, err = ctx:connect(HOST, PORT)
if not ok then
    fail('connect', err)
end
ok, err = ctx:handshake()
if not ok then
    fail('handshake', err)
end
print('subject: ' .. tostring(ctx:peer_cert_subject()))

local request = ('GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: rlua-net libtls example\r\n\r\n'):format(PATH, HOST)
local n
n, err = ctx:write(request)
if n ~= #request then
    fail('write', err or 'short write')
end

local parts = {}
while true do
    local s, rerr = ctx:read()
    if s then
        parts[#parts + 1] = s
    elseif rerr then
        fail('read', rerr)
    else
        break -- the server ended the response
    end
end
ctx:close()

local response = table.concat(parts)
print('status: ' .. (response:match('^([^\r\n]*)') or ''))
print('bytes: ' .. #response)
