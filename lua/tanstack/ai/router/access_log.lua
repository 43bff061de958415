-- One structured (JSON) access line per request at the edge, from a router's usage record (Run:record(), what
-- onUsage receives) or from a request refused before any run (401, 429, ...). Only the named fields below are
-- written: never the request's context, messages, keys or headers (the record's `context` holds the caller's
-- ctx and is left out).
local json = require("tanstack.ai.json")

local type, tostring, ipairs = type, tostring, ipairs

local _M = {}

-- The fields of a line, in this order (JSON objects are unordered; the order keeps lines easy to read).
_M.FIELDS = { "time", "requestId", "endpoint", "consumer", "route", "target", "model", "status", "outcome",
  "error", "inputTokens", "outputTokens", "ttftMs", "latencyMs", "cacheStatus", "estimated", "attempts" }

local function outcome(rec)
  if rec.outcome then return rec.outcome end
  if rec.ok then return "ok" end
  local st = tonumber(rec.status)
  if st == 499 then return "client_gone" end
  if st and st >= 400 and st < 500 and rec.target == nil then return "refused" end
  return "error"
end

--- The line (a JSON object, no newline) for a usage record or a refusal { requestId, endpoint, consumer, route,
--- status, error }. extra: fields that win over the record's (consumer = "browser:...", ...). now: seconds since
--- the epoch (the line's `time`, ISO 8601 UTC with milliseconds).
function _M.line(rec, extra, now)
  rec = rec or {}
  local v = {}
  for _, k in ipairs(_M.FIELDS) do v[k] = rec[k] end
  if type(extra) == "table" then
    for _, k in ipairs(_M.FIELDS) do
      if extra[k] ~= nil then v[k] = extra[k] end
    end
  end
  v.outcome = outcome(v.outcome and v or rec)
  if type(rec.attempts) == "table" and #rec.attempts > 1 then
    local tried = {}
    for i, a in ipairs(rec.attempts) do tried[i] = tostring(a.target) .. (a.error and (":" .. a.error) or "") end
    v.attempts = tried
  else
    v.attempts = nil
  end
  now = now or os.time()
  v.time = os.date("!%Y-%m-%dT%H:%M:%S", math.floor(now)) .. string.format(".%03dZ", math.floor((now % 1) * 1000))
  if v.error ~= nil then v.error = tostring(v.error) end
  local parts = {}
  for _, k in ipairs(_M.FIELDS) do
    if v[k] ~= nil then parts[#parts + 1] = json.encode(k) .. ":" .. json.encode(v[k]) end
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

return _M
