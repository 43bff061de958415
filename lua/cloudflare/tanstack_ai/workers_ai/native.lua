-- Workers AI's native answers ({response, tool_calls, usage}, SSE `{"response":"tok","p":"..."}`) as
-- Chat Completions chunks, so one translator (providers/openai.lua) serves both formats on every path.
local json = require("tanstack.ai.json")

local type = type
local null = json.null

local _M = {}

local function is_openai(v)
  return type(v.choices) == "table" and (#v.choices > 0 or v.response == nil)
end

--- Strip the REST `{result, success, errors, messages}` envelope.
function _M.unwrap(v)
  if type(v) == "table" and type(v.result) == "table" and (v.success ~= nil or v.errors ~= nil) then
    return v.result
  end
  return v
end

--- A native stream event or result (a table) -> a Chat Completions chunk (OpenAI-shaped input is returned as is).
function _M.to_chunk(v)
  local choices = v.choices -- is_openai(v), inlined: this runs once per streamed event
  if type(choices) == "table" and (choices[1] ~= nil or v.response == nil) then return v end
  local delta = {}
  local r = v.response
  if r ~= nil and r ~= null then delta.content = r end
  if type(v.tool_calls) == "table" and #v.tool_calls > 0 then delta.tool_calls = v.tool_calls end
  local usage = v.usage
  if usage == null then usage = nil end
  return { choices = { { delta = delta, finish_reason = v.finish_reason } }, usage = usage }
end

--- A whole native result -> a single chunk carrying everything, flagged so Translator:body feeds it.
function _M.to_body(v)
  v = _M.unwrap(v)
  if type(v) ~= "table" or is_openai(v) then return v end
  local c = _M.to_chunk(v)
  c.__chunk = true
  return c
end

return _M
