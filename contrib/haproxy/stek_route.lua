-- stek ticket-aware routing for HAProxy (mode tcp, TLS passthrough). Registers the sample
-- fetch lua.stek_key_name: from the start of the connection in the request buffer, it returns
-- the key name of the ticket the ClientHello offers, as 32 lower-case hex digits: the first 16
-- bytes of the TLS 1.3 pre_shared_key extension's first identity, else of the TLS 1.2
-- SessionTicket extension, else of the legacy session id (a STEK-less libstek server starts
-- its session ids with its 16-byte server prefix; a TLS 1.3 client's random id matches no map
-- entry). Anything else (none of them 16 bytes long, an incomplete or malformed hello, a
-- hello split over several records) gives no value, so the connection is balanced as usual.
-- The twin in C++ (src/route/client_hello.cc) follows the same rules and is fuzzed; both
-- are described in docs/routing.md. Load with `lua-load /usr/share/stek/haproxy/stek_route.lua`.

local M = {}

local KEY_NAME = 16          -- bytes of the key name that starts every stek ticket
local MAX_RECORD = 16384     -- a TLS record's plaintext limit (RFC 8446 5.1)
local EXT_TICKET = 35        -- session_ticket (RFC 5077)
local EXT_PSK = 41           -- pre_shared_key (RFC 8446 4.2.11)

local byte = string.byte

local function u16(s, i)
  local a, b = byte(s, i, i + 1)
  return a * 256 + b
end

-- Returns the hex key name, or nil. Every read is bounds-checked against `stop`, the last
-- index of the handshake message, so nothing past the first record is ever trusted.
local function parse(s)
  if #s < 9 then return nil end
  if byte(s, 1) ~= 0x16 or byte(s, 2) ~= 0x03 then return nil end
  local record_len = u16(s, 4)
  if record_len > MAX_RECORD or #s < 5 + record_len then return nil end
  if byte(s, 6) ~= 0x01 then return nil end                  -- ClientHello
  local a, b, c = byte(s, 7, 9)
  local hello_len = a * 65536 + b * 256 + c
  if hello_len + 4 > record_len then return nil end          -- split over records: no route
  local stop = 9 + hello_len                                 -- last byte of the hello
  local p = 10 + 2 + 32                                      -- past version and random
  if p > stop then return nil end
  local sid_len = byte(s, p)
  local sid = (sid_len >= KEY_NAME) and (p + 1) or false     -- session id
  p = p + 1 + sid_len
  if p + 1 > stop then return nil end
  p = p + 2 + u16(s, p)                                      -- cipher suites
  if p > stop then return nil end
  p = p + 1 + byte(s, p)                                     -- compression methods
  local ticket, psk
  if p <= stop then                                          -- the extensions block
    if p + 1 > stop then return nil end
    local ext_end = p + 2 + u16(s, p) - 1
    if ext_end ~= stop then return nil end
    p = p + 2
    while p <= ext_end do
      if p + 3 > ext_end then return nil end
      local kind, len = u16(s, p), u16(s, p + 2)
      local body = p + 4
      if body + len - 1 > ext_end then return nil end
      if kind == EXT_TICKET then
        if ticket ~= nil then return nil end                 -- duplicate: malformed
        ticket = (len >= KEY_NAME) and body or false
      elseif kind == EXT_PSK then
        if psk ~= nil then return nil end
        psk = false
        if len >= 4 then
          local ids_len = u16(s, body)
          local id_len = u16(s, body + 2)
          if ids_len + 2 <= len and id_len + 6 <= ids_len and id_len >= KEY_NAME then
            psk = body + 4
          end
        end
      end
      p = body + len
    end
  elseif p > stop + 1 then                                   -- compression overran the hello
    return nil
  end
  local at = psk or ticket or sid                            -- in this order of precedence
  if not at then return nil end
  local hex = {}
  for i = 0, KEY_NAME - 1 do hex[#hex + 1] = string.format("%02x", byte(s, at + i)) end
  return table.concat(hex)
end

-- Never raises: hostile input gives nil, not a Lua error in the proxy.
function M.key_name(payload)
  if type(payload) ~= "string" then return nil end
  local ok, name = pcall(parse, payload)
  if ok then return name end
  return nil
end

-- A fetch, not a converter: HAProxy 2.6 hands Lua converters binary samples cut at the first
-- NUL byte, and a ClientHello has many.
function M.fetch(txn)
  local ok, data = pcall(function() return txn.req:data(0) end)
  if not ok then return nil end
  return M.key_name(data)
end

if core ~= nil then
  core.register_fetches("stek_key_name", M.fetch)
end

return M
