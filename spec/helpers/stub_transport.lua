-- A scripted transport (the `transport` config field: a table with request(req)) that records every request and
-- answers from a list, so an adapter's spec sees exactly what it sent without a server.
--   local t = stub.new({ { status = 200, headers = {...}, body = "..." }, ... })
--   cfg = { accountId = "acct", apiKey = "key", transport = t }
--   t.requests[1].url, t.requests[1].body (the bytes sent), t:json(1) (the body decoded)
-- An answer is used once, in order; the last one answers every request after it.
local json = require("tanstack.ai.json")

local M = {}

local Stub = {}
Stub.__index = Stub

function M.new(answers)
  local t = setmetatable({ name = "stub", answers = answers or {}, requests = {} }, Stub)
  -- called as transport.request(req), not as a method
  t.request = function(req) return Stub.answer(t, req) end
  return t
end

--- A 200 answer of JSON (a table, encoded) or of bytes with a content type.
function M.json(v, status)
  return { status = status or 200, headers = { ["content-type"] = "application/json" }, body = json.encode(v) }
end

function M.bytes(data, content_type)
  return { status = 200, headers = { ["content-type"] = content_type }, body = data }
end

function Stub:answer(req)
  self.requests[#self.requests + 1] = req
  local a = self.answers[#self.requests] or self.answers[#self.answers]
  if a == nil then error("stub transport: no answer scripted", 0) end
  local left = a.body
  return { status = a.status, headers = a.headers or {},
    read = function()
      local b = left
      left = nil
      if b == "" then return nil end
      return b
    end,
    close = function() left = nil end }
end

--- The body of request i, decoded.
function Stub:json(i)
  local r = self.requests[i or #self.requests]
  return r and json.decode(r.body)
end

return M
