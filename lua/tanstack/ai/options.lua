-- The options of every activity, as data: each option's canonical (TanStack camelCase) name, its snake_case
-- twin, its type and range. One checker reads a caller's table into canonical names, refuses unknown keys with the
-- nearest known name, and raises pointing at the caller's line (the first stack frame outside this library).
local type, pairs, ipairs, tostring, error, setmetatable = type, pairs, ipairs, tostring, error, setmetatable
local floor, huge = math.floor, math.huge
local concat, sort = table.concat, table.sort

local _M = {}

---------------------------------------------------------------------------------------------------
-- Errors at the caller's line
---------------------------------------------------------------------------------------------------

-- A frame of this library: its source lies under the tree this file was loaded from (lua/ of a checkout, or the
-- rock's share/lua/5.x/), in tanstack/ai/ or cloudflare/tanstack_ai/.
local ROOT = (debug.getinfo(1, "S").source or ""):match("^@(.*)tanstack/ai/options%.lua$")
local function is_library(source)
  if ROOT == nil or source:sub(1, 1) ~= "@" then return false end
  local path = source:sub(2)
  if path:sub(1, #ROOT) ~= ROOT then return false end
  local rest = path:sub(#ROOT + 1)
  return rest:sub(1, 12) == "tanstack/ai/" or rest:sub(1, 23) == "cloudflare/tanstack_ai/"
end

--- The level, for error(), of the first caller outside the library (2 when called from the library's entry
--- point directly would name the library; this names the user's line).
function _M.caller_level()
  local level = 2
  while true do
    local info = debug.getinfo(level + 1, "S")
    if info == nil then return level end
    if info.what ~= "C" and not is_library(info.source or "") then return level end
    level = level + 1
  end
end

--- Raise a programmer mistake at the caller's line.
function _M.raise(message)
  error(message, _M.caller_level())
end

---------------------------------------------------------------------------------------------------
-- Option tables
---------------------------------------------------------------------------------------------------

-- kinds: "string", "nonempty", "number", "integer", "boolean", "table", "array", "function", "any",
-- "callable" (a function or a table with __call), "adapter:<method>"
local function opt(kind, extra)
  local o = extra or {}
  o.kind = kind
  return o
end

_M.SPECS = {
  chat = {
    adapter = opt("adapter:chat_stream", { required = true, what = "a text adapter" }),
    messages = opt("array"), systemPrompts = opt("array"), tools = opt("array"), modelOptions = opt("table"),
    temperature = opt("number", { min = 0, max = 2 }), maxTokens = opt("integer", { min = 1 }),
    stream = opt("boolean"), outputSchema = opt("table"),
    runId = opt("nonempty"), threadId = opt("nonempty"), parentRunId = opt("nonempty"), resume = opt("array"),
    maxIterations = opt("integer", { min = 1, max = 100 }), agentLoopStrategy = opt("callable"),
    context = opt("any"), state = opt("any"),
    signingSecret = opt("string"), trustHistory = opt("boolean"),
    -- the once-only ledger (signing.lua): a state store, the approval lifetime, the server-issued conversation id
    ledger = opt("table"), approvalTtl = opt("number", { min = 1 }), conversationId = opt("nonempty"),
    logErrors = opt("any"),
  },
  summarize = {
    adapter = opt("adapter:summarize", { required = true, what = "a summarize adapter" }),
    text = opt("nonempty", { required = true }), maxLength = opt("integer", { min = 1 }),
    style = opt("enum", { values = { "bullet-points", "paragraph", "concise" } }), focus = opt("any"),
    temperature = opt("number", { min = 0, max = 2 }), modelOptions = opt("table"),
  },
  generate_image = {
    adapter = opt("adapter:generate_images", { required = true, what = "an image adapter" }),
    prompt = opt("nonempty", { required = true }), numberOfImages = opt("integer", { min = 1, max = 10 }),
    size = opt("size"), modelOptions = opt("table"), onProgress = opt("callable"),
  },
  generate_transcription = {
    adapter = opt("adapter:transcribe", { required = true, what = "a transcription adapter" }),
    audio = opt("nonempty", { required = true, what = "a non-empty string of bytes" }), language = opt("nonempty"),
    prompt = opt("string"), responseFormat = opt("enum", { values = { "json", "text", "srt", "verbose_json", "vtt" } }),
    modelOptions = opt("table"), onProgress = opt("callable"),
  },
  generate_speech = {
    adapter = opt("adapter:generate_speech", { required = true, what = "a text-to-speech adapter" }),
    text = opt("nonempty", { required = true }), voice = opt("nonempty"), format = opt("nonempty"),
    speed = opt("number", { min = 0.25, max = 4 }), modelOptions = opt("table"), onProgress = opt("callable"),
  },
  -- the wire helpers: to_server_sent_events(stream, opts), to_http_stream(stream, opts)
  wire = {
    exposeErrorDetails = opt("boolean"), logErrors = opt("any"),
  },
  -- to_server_sent_events_response(stream, init), to_http_response(stream, init)
  response = {
    status = opt("integer", { min = 100, max = 599 }), headers = opt("table"), ngx = opt("boolean"),
    exposeErrorDetails = opt("boolean"), logErrors = opt("any"),
  },
  chat_params_from_request_body = {
    allowSystemMessages = opt("boolean"),
    maxBodyBytes = opt("integer", { min = 1 }), maxMessages = opt("integer", { min = 1 }),
    maxToolCalls = opt("integer", { min = 1 }), maxParts = opt("integer", { min = 1 }),
    maxTools = opt("integer", { min = 1 }), maxContext = opt("integer", { min = 1 }),
    maxDepth = opt("integer", { min = 1 }),
  },
  embed = {
    adapter = opt("adapter:embed", { required = true, what = "an embedding adapter" }),
    input = opt("input"), text = opt("input"), modelOptions = opt("table"),
  },
}

-- camelCase -> snake_case (maxTokens -> max_tokens, numberOfImages -> number_of_images)
local function snake(name)
  return (name:gsub("(%u)", function(c) return "_" .. c:lower() end))
end
_M.snake = snake

---------------------------------------------------------------------------------------------------
-- Suggestions
---------------------------------------------------------------------------------------------------

-- Levenshtein distance, case-insensitive (short names: a plain table is fine)
local function distance(a, b)
  a, b = a:lower(), b:lower()
  local la, lb = #a, #b
  local prev = {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    local cur = { [0] = i }
    local ca = a:byte(i)
    for j = 1, lb do
      local cost = ca == b:byte(j) and 0 or 1
      local d = prev[j] + 1
      if cur[j - 1] + 1 < d then d = cur[j - 1] + 1 end
      if prev[j - 1] + cost < d then d = prev[j - 1] + cost end
      cur[j] = d
    end
    prev = cur
  end
  return prev[lb]
end

--- The known name nearest to `name` (canonical spelling), or nil when nothing is close.
function _M.nearest(name, spec)
  local best, best_d = nil, huge
  local names = {}
  for k in pairs(spec) do names[#names + 1] = k end
  sort(names)
  for _, k in ipairs(names) do
    local d = distance(name, k)
    local ds = distance(name, snake(k))
    if ds < d then d = ds end
    if d < best_d then best, best_d = k, d end
  end
  if best and best_d <= math.max(2, floor(#name / 3)) then return best end
  return nil
end

---------------------------------------------------------------------------------------------------
-- Checking
---------------------------------------------------------------------------------------------------

local function is_callable(v)
  if type(v) == "function" then return true end
  local mt = type(v) == "table" and getmetatable(v) or nil
  return mt ~= nil and type(mt.__call) == "function"
end

-- nil when v fits, else what it should be
local function misfit(o, v)
  local k = o.kind
  local tv = type(v)
  if k == "any" then return nil end
  if k == "string" then return tv ~= "string" and "a string" or nil end
  if k == "nonempty" then return (tv ~= "string" or v == "") and (o.what or "a non-empty string") or nil end
  if k == "boolean" then return tv ~= "boolean" and "a boolean (true or false)" or nil end
  if k == "table" then return tv ~= "table" and "a table" or nil end
  if k == "array" then return tv ~= "table" and "an array (a table)" or nil end
  if k == "function" then return tv ~= "function" and "a function" or nil end
  if k == "callable" then return not is_callable(v) and "a function" or nil end
  if k == "input" then
    return (tv ~= "string" and tv ~= "table") and "a string or an array of strings" or nil
  end
  if k == "size" then
    return (tv ~= "string" or not v:match("^%d+x%d+$")) and "a size like '1024x768'" or nil
  end
  if k == "enum" then
    for _, x in ipairs(o.values) do if v == x then return nil end end
    return "one of '" .. concat(o.values, "', '") .. "'"
  end
  if k == "number" or k == "integer" then
    local lo, hi = o.min, o.max
    local want = k == "integer" and "an integer" or "a number"
    if lo and hi then want = want .. " from " .. lo .. " to " .. hi
    elseif lo then want = want .. " of at least " .. lo
    elseif hi then want = want .. " of at most " .. hi end
    if tv ~= "number" or v ~= v or (k == "integer" and floor(v) ~= v) then return want end
    if (lo and v < lo) or (hi and v > hi) then return want end
    return nil
  end
  local method = k:match("^adapter:(.+)$")
  if method then
    local ok = tv == "table" and type(v[method]) == "function"
    return not ok and (o.what or "an adapter") .. " (an object with a " .. method .. " method)" or nil
  end
  return nil
end

local function describe(v)
  local tv = type(v)
  if tv == "string" then return "string " .. string.format("%q", #v > 40 and (v:sub(1, 40) .. "...") or v) end
  if tv == "number" or tv == "boolean" then return tv .. " " .. tostring(v) end
  return tv
end

--- An option of a (possibly nil) table in either spelling, camelCase first (false is an answer, not an absence).
function _M.either(o, camel, snake_name)
  if type(o) ~= "table" then return nil end
  local v = o[camel]
  if v == nil then v = o[snake_name] end
  return v
end

--- Read `user` (the caller's options) against SPECS[activity]: a new table with canonical names. Raises at the
--- caller's line for a non-table, an unknown key (with the nearest known name), a key given in both spellings
--- with different values, a wrong type or range, a missing required option.
function _M.check(activity, user)
  local spec = _M.SPECS[activity]
  if type(user) ~= "table" then _M.raise(activity .. ": options must be a table, got " .. type(user)) end
  local out = {}
  for k, v in pairs(user) do
    if type(k) ~= "string" then _M.raise(activity .. ": option names must be strings, got " .. type(k)) end
    local canon = spec[k] and k or nil
    if not canon then
      for name in pairs(spec) do if snake(name) == k then canon = name break end end
    end
    if not canon then
      local near = _M.nearest(k, spec)
      _M.raise(activity .. ": unknown option '" .. k .. "'" .. (near and (" (did you mean " .. near .. "?)") or ""))
    end
    if out[canon] ~= nil and out[canon] ~= v then
      _M.raise(activity .. ": options." .. canon .. " and options." .. snake(canon) ..
        " are both set, to different values")
    end
    local bad = misfit(spec[canon], v)
    if bad then _M.raise(activity .. ": options." .. canon .. " must be " .. bad .. " (got " .. describe(v) .. ")") end
    out[canon] = v
  end
  for name, o in pairs(spec) do
    if o.required and out[name] == nil then
      _M.raise(activity .. ": options." .. name .. " is required (" .. (misfit(o, nil) or "missing") .. ")")
    end
  end
  return setmetatable(out, nil)
end

return _M
