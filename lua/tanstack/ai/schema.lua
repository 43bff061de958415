-- JSON Schema values from Lua tables: mark which keywords are arrays and which are objects, so an
-- empty `required = {}` is sent as `[]` and an empty `properties = {}` as `{}` (lua-cjson cannot tell).
local json = require("tanstack.ai.json")

local type, pairs = type, pairs

local _M = {}

local ARRAY_KEYS = { required = true, enum = true, anyOf = true, oneOf = true, allOf = true, prefixItems = true,
  examples = true }
local MAP_KEYS = { properties = true, ["$defs"] = true, definitions = true, patternProperties = true,
  dependentSchemas = true }

local function walk(s, depth)
  if type(s) ~= "table" or depth > 64 then return s end
  local out = {}
  for k, v in pairs(s) do
    if ARRAY_KEYS[k] and type(v) == "table" then
      local a = json.array()
      for i = 1, #v do a[i] = walk(v[i], depth + 1) end
      out[k] = a
    elseif MAP_KEYS[k] and type(v) == "table" then
      local m = json.object()
      for name, sub in pairs(v) do m[name] = walk(sub, depth + 1) end
      out[k] = m
    elseif k == "type" and type(v) == "table" then
      out[k] = json.array(json.copy(v))
    elseif k == "items" and type(v) == "table" and json.is_array(v) then
      local a = json.array()
      for i = 1, #v do a[i] = walk(v[i], depth + 1) end
      out[k] = a
    elseif type(v) == "table" then
      out[k] = walk(v, depth + 1)
    else
      out[k] = v
    end
  end
  return json.object(out)
end

--- A copy of a JSON Schema with array/object keywords marked. nil stays nil.
function _M.normalize(s)
  if s == nil then return nil end
  if type(s) ~= "table" then error("a JSON Schema must be a table", 0) end
  return walk(s, 0)
end

--- The schema for a tool input: the given one, or an empty object schema.
function _M.tool_input(s)
  if s == nil then
    return json.object({ type = "object", properties = json.object(), required = json.array() })
  end
  local out = walk(s, 0)
  if out.type == nil and out.properties ~= nil then out.type = "object" end
  if out.type == "object" then
    out.properties = out.properties or json.object()
    out.required = out.required or json.array()
  end
  return out
end

return _M
