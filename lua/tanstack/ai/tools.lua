-- Tool definitions (TanStack's toolDefinition): a definition, then :server(fn) or :client().
local type, error, setmetatable, pairs = type, error, setmetatable, pairs

local _M = {}

local Def = {}
Def.__index = Def

local function copy_def(d, side, execute)
  local t = {}
  for k, v in pairs(d) do t[k] = v end
  t.__toolSide = side
  t.execute = execute
  return setmetatable(t, Def)
end

--- A tool that runs in this process: execute(input, ctx) -> result (any JSON value) or raises.
function Def:server(execute)
  if type(execute) ~= "function" then error("tool '" .. self.name .. "': server(fn) needs a function", 2) end
  return copy_def(self, "server", execute)
end

--- A tool the caller (e.g. the browser) runs; the loop stops and hands the call out.
function Def:client()
  return copy_def(self, "client", nil)
end

--- ai.tool_definition{ name, description, inputSchema, outputSchema, needsApproval }
function _M.definition(config)
  if type(config) ~= "table" then error("tool_definition needs a table", 2) end
  if type(config.name) ~= "string" or not config.name:match("^[%w_%-%.:]+$") or #config.name > 64 then
    error("tool_definition: name must be 1-64 characters of letters, digits, '_', '-', '.' or ':'", 2)
  end
  if type(config.description) ~= "string" then
    error("tool_definition '" .. config.name .. "': description must be a string", 2)
  end
  if config.inputSchema ~= nil and type(config.inputSchema) ~= "table" then
    error("tool_definition '" .. config.name .. "': inputSchema must be a JSON Schema table", 2)
  end
  local d = {}
  for k, v in pairs(config) do d[k] = v end
  d.__toolSide = "definition"
  return setmetatable(d, Def)
end

--- Validate a tools list: tables with unique names. Returns a name -> tool map.
function _M.index(tools)
  local by_name = {}
  if tools == nil then return by_name end
  if type(tools) ~= "table" then error("tools must be an array", 3) end
  for i, t in ipairs(tools) do
    if type(t) ~= "table" or type(t.name) ~= "string" then error("tools[" .. i .. "] must be a tool with a name", 3) end
    if by_name[t.name] then error("duplicate tool name '" .. t.name .. "'", 3) end
    by_name[t.name] = t
  end
  return by_name
end

return _M
