-- The request side of the edge, shared by both wires (wire/agui_request.lua: AG-UI's RunAgentInput,
-- wire/openai_request.lua: OpenAI's Chat Completions): the limits on what a client posts, reading the body
-- (size, JSON, nesting) and the shape checks of decoded JSON. Each wire words its own errors (its protocol's
-- shape); what is checked, and how strictly, is decided here once. The edge is hostile (docs/security.md).
local json = require("tanstack.ai.json")

local type, pairs, next, getmetatable, floor = type, pairs, next, getmetatable, math.floor

local _M = {}

-- The two wires used to disagree here (the old wire.lua: a table json.is_array accepts or not; openai_compat.lua: whether
-- v[1] is set, so a marked [] was an object). The strictest reading is kept: an object has string keys only, an
-- array the keys 1..n only, and a marked [] / {} never passes for the other kind.

--- A decoded JSON array: a sequence 1..n with no other key, or an empty table not marked as an object
--- (Debian's cjson decodes [] and {} alike).
function _M.is_array(v)
  if type(v) ~= "table" then return false end
  if next(v) == nil then return getmetatable(v) ~= json.object_mt end
  return json.is_array(v)
end

--- A decoded JSON object: string keys only, or an empty table not marked as an array.
function _M.is_object(v)
  if type(v) ~= "table" then return false end
  if next(v) == nil then return getmetatable(v) ~= json.array_mt end
  for k in pairs(v) do
    if type(k) ~= "string" then return false end
  end
  return true
end

--- The limits of one request: defaults (name -> positive integer) overridden by opts (camelCase, or the
--- snake_case name in snake). who: the function named in the error. Raises on a limit that is not a positive
--- integer (a programmer error).
function _M.limits(defaults, opts, snake, who)
  local out = {}
  for name, default in pairs(defaults) do
    local v
    if type(opts) == "table" then
      v = opts[name]
      if v == nil and snake and snake[name] then v = opts[snake[name]] end
    end
    if v ~= nil and (type(v) ~= "number" or v < 1 or v ~= v or floor(v) ~= v) then
      error(who .. ": opts." .. name .. " must be a positive integer", 3)
    end
    out[name] = v or default
  end
  return out
end

-- Is a value nested deeper than max (the body itself is depth 1)? A budget of visited values bounds the walk
-- of a caller's table that shares subtables. nil, "depth" or "values".
local function too_deep(v, max, budget)
  local function walk(x, d)
    budget = budget - 1
    if budget < 0 then return "values" end
    if d > max then return "depth" end
    for _, c in pairs(x) do
      if type(c) == "table" then
        local r = walk(c, d + 1)
        if r then return r end
      end
    end
    return nil
  end
  return walk(v, 1)
end
_M.too_deep = too_deep

--- Read a request body: the JSON text (or a table a caller decoded) -> the decoded value, or nil, reason, detail:
---   "size"   the text is over limits.maxBodyBytes (detail: its length)
---   "json"   the text is not JSON (detail: the decoder's message)
---   "array"  the text is a top-level array (cjson decodes [] and {} alike: the text tells)
---   "depth"  nested deeper than limits.maxDepth
---   "values" more values than limits.maxBodyBytes (a caller's table sharing subtables)
--- The value may be any JSON value: the wire checks that it is an object (is_object) and words that error.
function _M.decode(body, limits)
  if type(body) == "string" then
    if #body > limits.maxBodyBytes then return nil, "size", #body end
    local ok, decoded, derr = pcall(json.decode, body)
    if not ok then return nil, "json", decoded end
    if decoded == nil then return nil, "json", derr end
    if body:match("^%s*%[") then return nil, "array" end
    body = decoded
  end
  if type(body) == "table" and limits.maxDepth then
    local deep = too_deep(body, limits.maxDepth, limits.maxBodyBytes)
    if deep then return nil, deep end
  end
  return body
end

--- A request's id: the client's X-Request-Id when it is 1-128 characters of [A-Za-z0-9._:-] (anything else is
--- replaced: it reaches logs and AI Gateway's metadata), else `fallback` (nginx's $request_id) or 32 random hex
--- digits.
function _M.request_id(value, fallback)
  if type(value) == "string" and #value >= 1 and #value <= 128 and not value:find("[^%w%._:%-]") then
    return value
  end
  if type(fallback) == "string" and fallback:match("^%x+$") then return fallback end
  return require("tanstack.ai.events").random_hex(16)
end

return _M
