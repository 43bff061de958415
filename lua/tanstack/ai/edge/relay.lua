-- The response side of the edge, shared by both wires (wire/agui.lua, wire/openai.lua): where a wire's strings
-- come from (a stream in any of its forms), the response table (status, headers, body, cancel) and, inside an
-- nginx content phase, writing it to the client (tanstack.ai.ngx_response: one write and flush per piece).
-- A wire's writer hands out `batches`: every event that arrived in one read of the model stream as one piece.
local host = require("tanstack.ai.host")

local type, pairs, pcall, error, rawget, setmetatable = type, pairs, pcall, error, rawget, setmetatable
local lower = string.lower

local _M = {}

local function none() return 0 end
local function nothing() end

--- A stream in any of its forms -> pull() -> event|nil, cancel() (protected, idempotent at the source's side)
--- and ready() -> how many events pull() hands out without a read (0 when unknown). Accepts a stream object
--- (ai.chat's), a producer {next, close}, an iterator function or an array of events; raises on anything else.
function _M.source(stream)
  local ts = type(stream)
  if ts == "function" then return stream, nothing, none end
  if ts == "table" then
    if type(stream.next) == "function" then
      local function cancel()
        local c = stream.cancel or stream.close
        if type(c) == "function" then pcall(c, stream) end
      end
      local ready = none
      if type(stream.pending) == "function" then ready = function() return stream:pending() end end
      return function() return stream:next() end, cancel, ready
    end
    local i, n = 0, #stream
    return function() i = i + 1; return stream[i] end, nothing, function() return i < n and n - i or 0 end
  end
  error("wire: expected a stream (ai.chat's), an iterator function or an array of events, got " .. ts, 3)
end

-- Header tables keep lower-case names (like transports) and answer any spelling on lookup.
local headers_mt = {
  __index = function(t, k)
    if type(k) == "string" then return rawget(t, lower(k)) end
  end,
}

--- defaults merged with extra (extra wins), lower-case names, any spelling on lookup.
function _M.headers(defaults, extra)
  local h = setmetatable({}, headers_mt)
  for k, v in pairs(defaults) do h[lower(k)] = v end
  if type(extra) == "table" then
    for k, v in pairs(extra) do
      if type(k) == "string" then h[lower(k)] = v end
    end
  end
  return h
end

_M.SSE_HEADERS = { ["content-type"] = "text/event-stream", ["cache-control"] = "no-cache",
  connection = "keep-alive" }
_M.NDJSON_HEADERS = { ["content-type"] = "application/x-ndjson", ["cache-control"] = "no-cache" }

--- OpenAI's rate-limit headers (https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers) from
--- a limiter's admission (router/limiter.lua: { limit, remaining, reset } of the token budget), into h (a table,
--- returned): x-ratelimit-limit-tokens, x-ratelimit-remaining-tokens, x-ratelimit-reset-tokens ("12s"); with
--- retry_after (a refusal), Retry-After. Nothing for an admission without a token limit.
function _M.ratelimit_headers(adm, h)
  h = h or {}
  if type(adm) ~= "table" then return h end
  if adm.limit then
    h["x-ratelimit-limit-tokens"] = string.format("%d", adm.limit)
    h["x-ratelimit-remaining-tokens"] = string.format("%d", adm.remaining or 0)
    h["x-ratelimit-reset-tokens"] = string.format("%ds", adm.reset or 0)
  end
  if adm.ok == false and adm.retry_after then h["retry-after"] = string.format("%d", adm.retry_after) end
  return h
end

--- Is this an nginx content phase (where a response can be written to the client)?
function _M.in_content_phase()
  return host.phase() == "content"
end

--- Send a response: res = { status, headers, body = iterator, cancel }, batches: the same body as pieces.
--- Inside an nginx content phase (unless use_ngx is false) it is written to the client (true, or nil, err);
--- elsewhere res is returned for the caller's server to write.
function _M.respond(res, batches, use_ngx)
  if use_ngx ~= false and _M.in_content_phase() then
    -- the events that arrived together go out as one write (the same bytes; one flush per piece still lets a
    -- slow client push back)
    res.body = batches or res.body
    return require("tanstack.ai.ngx_response").send(res)
  end
  return res
end

return _M
