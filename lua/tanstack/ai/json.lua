-- JSON for request bodies and wire events.
--
-- Debian's lua-cjson 2.1.0 cannot tell `[]` from `{}` (no empty_array_mt) and
-- prints floats with 14 digits. Decoding goes through a private cjson instance
-- (no global cjson settings are touched); encoding is done here so that:
--   * tables marked with json.array() / json.object() keep their kind when empty,
--   * keys are sorted (stable bodies: cache keys, recorded-request assertions),
--   * numbers round-trip exactly,
--   * strings are UTF-8 (RFC 8259 section 8.1): a byte that is not part of well-formed UTF-8 is written as U+FFFD.
-- Decoding is strict RFC 8259 (json.decode): lua-cjson alone accepts numbers outside section 6's grammar and raw
-- control characters in strings (section 7); the C core's one-pass check (core.json_check) refuses them.
local cjson = require("cjson")
local core = require("tanstack.ai.core")

local type, pairs, tostring, tonumber = type, pairs, tostring, tonumber
local concat, sort = table.concat, table.sort
local format, floor = string.format, math.floor
local setmetatable, getmetatable, rawlen = setmetatable, getmetatable, rawlen or function(t) return #t end

local codec = cjson.new()
local safe_codec = require("cjson.safe").new()
-- Decoding never raises on deep or huge inputs beyond what the caller asked for.
local MAX_DEPTH = 1000
safe_codec.decode_max_depth(MAX_DEPTH)
-- NaN, Infinity, hex and leading zeros refused by cjson itself (a flag: free); "1.", "-.5" and raw control
-- characters it still takes are json_check's.
safe_codec.decode_invalid_numbers(false)
codec.decode_invalid_numbers(false)
local json_check = core.json_check

local _M = {}

_M.null = cjson.null

local array_mt = { __jsontype = "array" }
local object_mt = { __jsontype = "object" }
_M.array_mt, _M.object_mt = array_mt, object_mt

--- Mark a table as a JSON array (so an empty one encodes as `[]`).
function _M.array(t)
  return setmetatable(t or {}, array_mt)
end

--- Mark a table as a JSON object (so an empty one encodes as `{}`, the default).
function _M.object(t)
  return setmetatable(t or {}, object_mt)
end

function _M.is_array(t)
  if type(t) ~= "table" then return false end
  local mt = getmetatable(t)
  if mt == array_mt then return true end
  if mt == object_mt then return false end
  local n = rawlen(t)
  if n == 0 then return false end
  local count = 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k > n or floor(k) ~= k then return false end
    count = count + 1
  end
  return count == n
end

-- Integral numbers as Lua integers (Lua 5.3+): Debian's lua-cjson 2.1.0 decodes every number as a float, so
-- `{"age": 42}` would print as 42.0. JSON has one number type; an integral value within the integer range
-- becomes an integer, anything else stays a float. (LuaJIT has no integers: nothing to do.)
local tointeger = math.tointeger
local function integers(v, depth)
  if depth > 1000 then return v end
  for k, x in pairs(v) do
    local tx = type(x)
    if tx == "number" then
      local i = tointeger(x)
      if i then v[k] = i end
    elseif tx == "table" then
      integers(x, depth + 1)
    end
  end
  return v
end

--- Decode JSON text (integral numbers as integers on Lua 5.3+). Returns value, or nil and a message.
--- Strict RFC 8259: numbers only as section 6 writes them (no NaN, Infinity, hex, "01", "+1", "1."), within the
--- double range (1e400 is refused, as section 6 allows: it would decode to inf, which JSON cannot carry back), no
--- unescaped control character in a string (section 7). Used for posted bodies and whole upstream answers.
function _M.decode(s)
  if type(s) ~= "string" then return nil, "expected a JSON string, got " .. type(s) end
  local v, err = safe_codec.decode(s)
  if v == nil and err then return nil, err end
  -- after cjson (its messages for broken structure stay): one pass over text it took, ~10% of the decode
  local ok, why = json_check(s, MAX_DEPTH)
  if not ok then return nil, why end
  if tointeger then
    if type(v) == "table" then return integers(v, 0) end
    if type(v) == "number" then return tointeger(v) or v end
  end
  return v
end

--- Decode without the error wrapper (hot path for stream events: numbers stay as cjson gives them; the
--- translators convert the counts they report); raises on bad input. cjson's own strictness only (NaN, Infinity,
--- hex refused): the events whose text the C parser picks were checked there in full; the rest come from the
--- provider the adapter chose, never from a client, and a tolerated "1." or raw tab in them costs no extra pass.
_M.decode_fast = codec.decode

local encode_string = core.json_string
--- A Lua string as a JSON string (what encode writes for a string value): escaped as lua-cjson escapes ('"', '\',
--- '/', control characters, DEL), and valid UTF-8 whatever the bytes: each maximal ill-formed subsequence becomes
--- U+FFFD (Unicode section 3.9, as a browser's decoder reads it), so model output that is cut inside a character
--- or is not UTF-8 never makes the wire's text invalid (RFC 8259 section 8.1). One C pass, faster than cjson's.
_M.encode_string = encode_string

local function encode_number(x)
  if x ~= x or x == 1 / 0 or x == -1 / 0 then
    error("cannot encode " .. tostring(x) .. " as JSON", 0)
  end
  if floor(x) == x and x > -2 ^ 53 and x < 2 ^ 53 then
    return format("%d", x)
  end
  local s = format("%.14g", x)
  if tonumber(s) ~= x then s = format("%.17g", x) end
  return s
end

local encode_value

local function encode_table(t, buf, n, depth)
  if depth > 200 then error("cannot encode JSON: nesting too deep (cycle?)", 0) end
  if _M.is_array(t) then
    local len = rawlen(t)
    n = n + 1; buf[n] = "["
    for i = 1, len do
      if i > 1 then n = n + 1; buf[n] = "," end
      n = encode_value(t[i], buf, n, depth + 1)
    end
    n = n + 1; buf[n] = "]"
    return n
  end
  local keys, nk = {}, 0
  for k, v in pairs(t) do
    local tk = type(k)
    if tk == "number" then k = encode_number(k)
    elseif tk ~= "string" then error("cannot encode JSON: object key of type " .. tk, 0) end
    -- functions and userdata (other than null) are skipped, like cjson's strict mode would fail; skipping keeps
    -- adapter objects out of bodies without crashing.
    local tv = type(v)
    if tv ~= "function" and tv ~= "thread" and not (tv == "userdata" and v ~= cjson.null) then
      nk = nk + 1; keys[nk] = k
    end
  end
  sort(keys)
  n = n + 1; buf[n] = "{"
  for i = 1, nk do
    local k = keys[i]
    local v = t[k]
    if v == nil then v = t[tonumber(k)] end
    if i > 1 then n = n + 1; buf[n] = "," end
    n = n + 1; buf[n] = encode_string(k)
    n = n + 1; buf[n] = ":"
    n = encode_value(v, buf, n, depth + 1)
  end
  n = n + 1; buf[n] = "}"
  return n
end

encode_value = function(v, buf, n, depth)
  local tv = type(v)
  if tv == "string" then
    n = n + 1; buf[n] = encode_string(v)
  elseif tv == "number" then
    n = n + 1; buf[n] = encode_number(v)
  elseif tv == "boolean" then
    n = n + 1; buf[n] = v and "true" or "false"
  elseif tv == "nil" or v == cjson.null then
    n = n + 1; buf[n] = "null"
  elseif tv == "table" then
    n = encode_table(v, buf, n, depth)
  else
    error("cannot encode a " .. tv .. " as JSON", 0)
  end
  return n
end

--- Encode a Lua value as JSON text. Raises on values JSON cannot hold (programmer error).
function _M.encode(v)
  local buf = {}
  local n = encode_value(v, buf, 0, 0)
  return concat(buf, "", 1, n)
end

--- Encode, returning nil and a message instead of raising.
function _M.try_encode(v)
  local ok, res = pcall(_M.encode, v)
  if ok then return res end
  return nil, res
end

--- Deep copy a decoded value, keeping array/object markers (used before mutating user tables).
function _M.copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = _M.copy(x) end
  local mt = getmetatable(v)
  if mt == array_mt or mt == object_mt then setmetatable(out, mt) end
  return out
end

--- An integral number as a Lua integer where the VM has them (cjson decodes 3 as 3.0 on 5.3+).
function _M.int(n)
  if type(n) ~= "number" then return n end
  if tointeger then return tointeger(n) or n end
  return n
end

return _M
