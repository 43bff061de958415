-- The OpenAI Chat Completions request reader: a request (the JSON text or the decoded table) -> ai.chat's options,
-- or an error in OpenAI's shape (wire/openai.lua's error). The limits, the body reading and the shape checks are
-- the edge's (edge/ingress.lua, shared with the AG-UI wire); what is OpenAI's is here.
local json = require("tanstack.ai.json")
local ingress = require("tanstack.ai.edge.ingress")
local openai = require("tanstack.ai.wire.openai")

local type, ipairs, tostring, pcall, floor = type, ipairs, tostring, pcall, math.floor
local concat = table.concat
local is_array, is_object = ingress.is_array, ingress.is_object

local _M = {}

--- The limits parse_request applies, each overridable in its opts (same names). Over maxBodyBytes: a 413;
--- any other: a 400.
_M.LIMITS = {
  maxBodyBytes = 1048576, -- bytes of the JSON text
  maxMessages = 1000,
  maxTools = 128,
  maxParts = 1000,        -- content parts over all messages
  maxDepth = 64,          -- JSON nesting depth of the whole body (as the AG-UI wire's)
}

local function bad(message, param, code)
  return nil, openai.error(400, message, code or "invalid_request", param)
end

-- an image_url part -> TanStack's image part (data: URIs become source.type "data")
local function image_part(p, at)
  local iu = p.image_url
  local url = type(iu) == "table" and iu.url or iu
  if type(url) ~= "string" or url == "" then return nil, at .. ".image_url.url must be a string" end
  local mime, data = url:match("^data:([%w%.%+%-]+/[%w%.%+%-]+);base64,(.*)$")
  if mime then return { type = "image", source = { type = "data", value = data, mimeType = mime } } end
  if not (url:match("^https?://")) then return nil, at .. ".image_url.url must be an http(s) URL or a data: URI" end
  return { type = "image", source = { type = "url", value = url } }
end

local function content_of(c, at, role, budget)
  if c == nil or c == json.null then return nil end
  if type(c) == "string" then return c end
  if not is_array(c) then return nil, at .. " must be a string or an array of content parts" end
  local parts = {}
  local texts = {}
  for i, p in ipairs(c) do
    local pat = at .. "[" .. (i - 1) .. "]"
    budget.parts = budget.parts + 1
    if budget.parts > budget.max then return nil, "the request has more than " .. budget.max .. " content parts" end
    if not is_object(p) then return nil, pat .. " must be an object" end
    if p.type == "text" then
      if type(p.text) ~= "string" then return nil, pat .. ".text must be a string" end
      parts[#parts + 1] = { type = "text", content = p.text }
      texts[#texts + 1] = p.text
    elseif p.type == "image_url" and role == "user" then
      local part, err = image_part(p, pat)
      if not part then return nil, err end
      parts[#parts + 1] = part
    else
      return nil, pat .. ".type '" .. tostring(p.type) .. "' is not supported here"
    end
  end
  if role ~= "user" then return concat(texts) end
  return parts
end

local function convert_message(m, at, budget, allow_system)
  if not is_object(m) then return nil, at .. " must be an object" end
  local role = m.role
  if role == "system" or role == "developer" then
    if not allow_system then return nil, at .. " has role '" .. role .. "', which this server does not accept" end
    local c, err = content_of(m.content, at .. ".content", role, budget)
    if err then return nil, err end
    return { role = "system", content = c or "" }
  elseif role == "user" then
    local c, err = content_of(m.content, at .. ".content", role, budget)
    if err then return nil, err end
    if c == nil then return nil, at .. ".content is required" end
    return { role = "user", content = c }
  elseif role == "assistant" then
    local c, err = content_of(m.content, at .. ".content", role, budget)
    if err then return nil, err end
    local calls
    if m.tool_calls ~= nil and m.tool_calls ~= json.null then
      if not is_array(m.tool_calls) then return nil, at .. ".tool_calls must be an array" end
      calls = {}
      for i, tc in ipairs(m.tool_calls) do
        local tat = at .. ".tool_calls[" .. (i - 1) .. "]"
        local fn = type(tc) == "table" and tc["function"] or nil
        if type(tc) ~= "table" or type(tc.id) ~= "string" or type(fn) ~= "table" or type(fn.name) ~= "string" then
          return nil, tat .. " needs id and function.name"
        end
        local args = fn.arguments
        if args == nil or args == json.null then args = "{}" end
        if type(args) ~= "string" then return nil, tat .. ".function.arguments must be a string" end
        calls[i] = { id = tc.id, type = "function", ["function"] = { name = fn.name, arguments = args } }
      end
      if #calls == 0 then calls = nil end
    end
    return { role = "assistant", content = c or "", toolCalls = calls }
  elseif role == "tool" then
    if type(m.tool_call_id) ~= "string" then return nil, at .. ".tool_call_id must be a string" end
    local c, err = content_of(m.content, at .. ".content", role, budget)
    if err then return nil, err end
    return { role = "tool", toolCallId = m.tool_call_id, content = c or "" }
  end
  return nil, at .. ".role must be one of system, developer, user, assistant, tool"
end

local function absent(v) return v == nil or v == json.null end

--- An OpenAI request body (JSON text or a decoded table) as a decoded object within `limits`, or nil, err in
--- OpenAI's error shape (413 too large, 400 too deep, not JSON, not an object). Every OpenAI endpoint reads its
--- body here.
local function read_body(body, limits)
  local decoded, reason = ingress.decode(body, limits)
  if reason == "size" then
    return nil, openai.error(413, "the request body is larger than " .. limits.maxBodyBytes .. " bytes",
      "request_too_large")
  elseif reason == "depth" or reason == "values" then
    return bad("the request body nests objects and arrays more than " .. limits.maxDepth .. " deep", nil,
      "limit_exceeded")
  elseif reason ~= nil or (type(body) == "string" and type(decoded) ~= "table") then
    return bad("We could not parse the JSON body of your request.", nil, "invalid_json")
  end
  if not is_object(decoded) then return bad("the body must be a JSON object") end
  return decoded
end
_M.read_body = read_body

local function read_messages(body, limits, allow_system)
  if not is_array(body.messages) or #body.messages == 0 then
    return bad("messages must be a non-empty array", "messages")
  end
  if #body.messages > limits.maxMessages then
    return bad("messages has more than " .. limits.maxMessages .. " entries", "messages")
  end
  if not absent(body.n) and body.n ~= 1 then return bad("only n = 1 is supported", "n") end
  local budget = { parts = 0, max = limits.maxParts }
  local msgs = {}
  for i, m in ipairs(body.messages) do
    local cm, err = convert_message(m, "messages[" .. (i - 1) .. "]", budget, allow_system)
    if not cm then return bad(err, "messages") end
    msgs[i] = cm
  end
  return msgs
end

-- The request's tools -> client tool definitions (no execute).
local function read_tools(list, limits)
  local tools = {}
  if list == nil or list == json.null then return tools end
  if not is_array(list) then return bad("tools must be an array", "tools") end
  if #list > limits.maxTools then return bad("tools has more than " .. limits.maxTools .. " entries", "tools") end
  local defs = require("tanstack.ai.tools")
  local seen = {}
  for i, t in ipairs(list) do
    local at = "tools[" .. (i - 1) .. "]"
    local fn = type(t) == "table" and t["function"] or nil
    if type(t) ~= "table" or t.type ~= "function" or type(fn) ~= "table" or type(fn.name) ~= "string" then
      return bad(at .. " must be {type = \"function\", function = {name, description, parameters}}", "tools")
    end
    if seen[fn.name] then return bad(at .. ".function.name '" .. fn.name .. "' is declared twice", "tools") end
    seen[fn.name] = true
    if fn.parameters ~= nil and not is_object(fn.parameters) then
      return bad(at .. ".function.parameters must be an object", "tools")
    end
    local ok, def = pcall(defs.definition, { name = fn.name, description = type(fn.description) == "string"
      and fn.description or fn.name, inputSchema = fn.parameters or { type = "object", properties = json.object() } })
    if not ok then return bad(at .. ".function.name: " .. tostring(def), "tools") end
    tools[#tools + 1] = def:client()
  end
  return tools
end

-- temperature, max_tokens (or max_completion_tokens), stream and response_format, checked.
local function read_settings(body)
  local s = {}
  if not absent(body.temperature) then
    local t = body.temperature
    if type(t) ~= "number" or t < 0 or t > 2 then return bad("temperature must be a number from 0 to 2", "temperature") end
    s.temperature = t
  end
  local max_tokens = body.max_completion_tokens
  if absent(max_tokens) then max_tokens = body.max_tokens end
  if not absent(max_tokens) then
    if type(max_tokens) ~= "number" or max_tokens < 1 or floor(max_tokens) ~= max_tokens then
      return bad("max_tokens must be a positive integer", "max_tokens")
    end
    s.maxTokens = floor(max_tokens)
  end
  if not absent(body.stream) and type(body.stream) ~= "boolean" then
    return bad("stream must be a boolean", "stream")
  end
  local rf = body.response_format
  if not absent(rf) then
    if not is_object(rf) or (rf.type ~= "text" and rf.type ~= "json_object" and rf.type ~= "json_schema") then
      return bad("response_format.type must be text, json_object or json_schema", "response_format")
    end
    if rf.type == "json_schema" and (not is_object(rf.json_schema) or not is_object(rf.json_schema.schema)) then
      return bad("response_format.json_schema.schema must be an object", "response_format")
    end
    s.responseFormat = rf
  end
  return s
end

-- request fields that reach the provider as they are
local PASS = { "tool_choice", "stop", "response_format", "top_p", "seed", "presence_penalty", "frequency_penalty",
  "parallel_tool_calls" }

local function model_options(body)
  local out
  for _, k in ipairs(PASS) do
    local v = body[k]
    if not absent(v) then
      out = out or {}
      out[k] = v
    end
  end
  if out and out.response_format and out.response_format.type == "text" then out.response_format = nil end
  return out
end

--- Read an OpenAI Chat Completions request (the JSON text or the decoded table). Returns
---   { model, messages (ModelMessages), tools (client tools), temperature, maxTokens, modelOptions, stream,
---     includeUsage, responseFormat, user }
--- or nil, err (err.status 400, or 413 for a body over maxBodyBytes; err.param names the field).
--- opts: the limits of LIMITS (same names); allowSystemMessages (default true: system and developer messages are
--- part of the OpenAI API; false refuses them).
function _M.parse_request(body, opts)
  opts = opts or {}
  local limits = ingress.limits(_M.LIMITS, opts, nil, "openai_compat.parse_request")
  local err
  body, err = read_body(body, limits)
  if not body then return nil, err end
  if type(body.model) ~= "string" or body.model == "" then
    return bad("you must provide a model parameter", "model", "missing_model")
  end
  local allow_system = opts.allowSystemMessages
  if allow_system == nil then allow_system = true end
  local msgs, tools, settings
  msgs, err = read_messages(body, limits, allow_system)
  if not msgs then return nil, err end
  tools, err = read_tools(body.tools, limits)
  if not tools then return nil, err end
  settings, err = read_settings(body)
  if not settings then return nil, err end
  local so = body.stream_options
  return {
    model = body.model,
    messages = msgs,
    tools = tools,
    temperature = settings.temperature,
    maxTokens = settings.maxTokens,
    modelOptions = model_options(body),
    stream = body.stream == true,
    includeUsage = type(so) == "table" and so.include_usage == true,
    responseFormat = settings.responseFormat,
    user = type(body.user) == "string" and body.user or nil,
  }
end

return _M
