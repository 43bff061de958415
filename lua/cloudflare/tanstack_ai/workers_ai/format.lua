-- Workers AI chat answers, a wire format (tanstack/ai/formats/init.lua documents the interface): requests are
-- OpenAI Chat Completions; answers come as OpenAI chunks/completions or as Workers AI's native form
-- ({response, tool_calls, usage}; SSE `{"response":"tok","p":"..."}`), on every path, sometimes inside the
-- API envelope. Both decode straight into canonical deltas.
local json = require("tanstack.ai.json")
local errors = require("tanstack.ai.errors")
local openai = require("tanstack.ai.formats.openai")
local request = require("cloudflare.tanstack_ai.request")
local cf_errors = require("cloudflare.tanstack_ai.errors")

local type = type
local null = json.null

local _M = { name = "workers-ai", done_marker = openai.done_marker, build_request = openai.build_request }

local function is_openai(v)
  local choices = v.choices
  return type(choices) == "table" and (choices[1] ~= nil or v.response == nil)
end

-- A native event or result -> deltas.
local function native(v, out)
  local usage = v.usage
  if usage ~= nil and usage ~= null then out:usage(openai.usage(usage)) end
  local r = v.response
  if r ~= nil and r ~= null then out:text(r) end
  if type(v.tool_calls) == "table" then openai.tool_calls(v.tool_calls, out) end
  local fr = v.finish_reason
  if fr ~= nil and fr ~= null and fr ~= "" then out:finish_reason(openai.FINISH_MAP[fr] or fr) end
end

local function is_error(v)
  return v.choices == nil and cf_errors.is_payload(v)
end

function _M.decode_event(_, v, out)
  if is_openai(v) then return openai.decode_event(nil, v, out) end -- the hot path: OpenAI chunks
  if is_error(v) then return out:fail_payload(v) end
  native(v, out)
end

function _M.decode_body(_, v, out)
  if type(v) == "table" and is_error(v) then return out:fail_payload(v) end
  v = request.unwrap(v)
  if type(v) ~= "table" or is_openai(v) or v.choices ~= nil then return openai.decode_body(nil, v, out) end
  native(v, out)
end

--- The structured answer: an OpenAI completion's message content, or the native `response`.
function _M.structured(v, provider)
  provider = provider or "workers-ai"
  if type(v) == "table" and is_error(v) then return nil, cf_errors.from_payload(v, provider) end
  v = request.unwrap(v)
  if type(v) == "table" and type(v.choices) == "table" then
    return openai.structured(v, provider, cf_errors.classify)
  end
  if type(v) ~= "table" or v.response == nil or v.response == null then
    return nil, errors.new({ message = "Workers AI structured output returned no content", kind = "provider",
      provider = provider, body = json.try_encode(v) })
  end
  return require("tanstack.ai.structured").parse(v.response, provider, "Workers AI structured output")
end

return _M
