-- Structured output: the model's answer (JSON text, or an already decoded object) -> a Lua table.
-- The one parser every wire format's structured reader ends in.
local json = require("tanstack.ai.json")
local errors = require("tanstack.ai.errors")

local type, tostring = type, tostring

local _M = {}

--- content: a JSON string or a decoded table. Returns data, raw_json | nil, err.
function _M.parse(content, provider, what)
  if type(content) == "table" then return content, json.encode(content) end
  if content == nil or content == json.null then
    return nil, errors.new({ message = (what or "structured output") .. " returned no content", kind = "provider",
      provider = provider })
  end
  local data, derr
  if type(content) == "string" then data, derr = json.decode(content) end
  if type(data) ~= "table" then
    return nil, errors.new({ message = (what or "structured output") .. " is not a JSON object: " ..
      tostring(derr or content), kind = "decode", provider = provider })
  end
  return data, content
end

return _M
