-- The AG-UI request reader: chatParamsFromRequestBody (the RunAgentInput @tanstack/ai-client posts -> ai.chat's
-- options) and mergeAgentTools. Mirrors @tanstack/ai 0.58 (`chatParamsFromRequestBody`,
-- `convertMessagesToModelMessages` for AG-UI messages). The limits, the body reading and the shape checks are the
-- edge's (edge/ingress.lua, shared with the OpenAI wire); what is AG-UI's is here.
local json = require("tanstack.ai.json")
local errors = require("tanstack.ai.errors")
local ingress = require("tanstack.ai.edge.ingress")

local type, pairs, ipairs, pcall, tostring = type, pairs, ipairs, pcall, tostring
local concat = table.concat
local is_array, is_object = ingress.is_array, ingress.is_object

local _M = {}

local opt = require("tanstack.ai.options").either -- an option in either spelling

local INVALID = "Request body is not a valid AG-UI RunAgentInput. Validation errors: "

local function invalid(reason)
  return nil, errors.new({ message = INVALID .. reason, status = 400, kind = "bad_request",
    code = "invalid_request", retryable = false })
end

--- The limits chat_params_from_request_body applies to what a client posts, each overridable in its opts
--- (same names). Exceeding maxBodyBytes is a 413, any other a 400; err.limit names the limit.
_M.REQUEST_LIMITS = {
  maxBodyBytes = 1048576, -- bytes of the JSON text (1 MiB)
  maxMessages = 1000,     -- entries of messages
  maxToolCalls = 1000,    -- toolCalls over all assistant messages (and entries of resume)
  maxParts = 1000,        -- content parts over all user messages
  maxTools = 128,         -- client tools (tools)
  maxContext = 100,       -- entries of context
  maxDepth = 64,          -- JSON nesting depth of the whole body
}
local LIMIT_SNAKE = { maxBodyBytes = "max_body_bytes", maxMessages = "max_messages",
  maxToolCalls = "max_tool_calls", maxParts = "max_parts", maxTools = "max_tools", maxContext = "max_context",
  maxDepth = "max_depth" }

-- "Request body exceeds a limit: <what>, more than <max> (<limit>)"
local function over_limit(limit, what, max)
  local status = limit == "maxBodyBytes" and 413 or 400
  return nil, errors.new({ message = "Request body exceeds a limit: " .. what .. ", more than " .. tostring(max) ..
    " (" .. limit .. ")", status = status, kind = "bad_request",
    code = status == 413 and "request_too_large" or "limit_exceeded", limit = limit, retryable = false })
end


-- The options of chat_params_from_request_body: limits (defaults from REQUEST_LIMITS) and allowSystemMessages.
local function request_options(opts)
  if opts ~= nil then opts = require("tanstack.ai.options").check("chat_params_from_request_body", opts) end
  local o = { limits = ingress.limits(_M.REQUEST_LIMITS, opts, LIMIT_SNAKE, "chat_params_from_request_body") }
  local allow = opt(opts, "allowSystemMessages", "allow_system_messages")
  if allow ~= nil and type(allow) ~= "boolean" then
    error("chat_params_from_request_body: opts.allowSystemMessages must be a boolean", 3)
  end
  o.allow_system = allow == true
  return o
end

local AGUI_ROLES = { developer = true, system = true, assistant = true, user = true, tool = true, activity = true,
  reasoning = true }

local function check_message(m, at)
  if not is_object(m) then return at .. " must be an object" end
  if type(m.id) ~= "string" then return at .. ".id must be a string" end
  local role = m.role
  if type(role) ~= "string" or not AGUI_ROLES[role] then
    return at .. ".role must be one of developer | system | assistant | user | tool | activity | reasoning"
  end
  if role == "assistant" then
    if m.content ~= nil and type(m.content) ~= "string" then return at .. ".content must be a string" end
    if m.toolCalls ~= nil and not is_array(m.toolCalls) then return at .. ".toolCalls must be an array" end
  elseif role == "user" then
    if type(m.content) ~= "string" and not is_array(m.content) then
      return at .. ".content must be a string or an array of content parts"
    end
  elseif role == "tool" then
    if type(m.content) ~= "string" then return at .. ".content must be a string" end
    if type(m.toolCallId) ~= "string" then return at .. ".toolCallId must be a string" end
  elseif role == "activity" then
    if type(m.activityType) ~= "string" then return at .. ".activityType must be a string" end
    if not is_object(m.content) then return at .. ".content must be an object" end
  else -- developer, system, reasoning
    if type(m.content) ~= "string" then return at .. ".content must be a string" end
  end
  if m.metadata ~= nil and not is_object(m.metadata) then return at .. ".metadata must be an object" end
  return nil
end

local function tanstack_meta(v)
  local m = type(v) == "table" and v.metadata
  if is_object(m) and is_object(m.tanstack) then return m.tanstack end
  return nil
end

local function nonempty(s)
  if type(s) == "string" and s ~= "" then return s end
  return nil
end

local MEDIA = { image = true, audio = true, video = true, document = true }

-- AG-UI user content parts -> TanStack content parts (text {text} -> {content}; binary dropped).
local function user_content(content, at)
  if type(content) == "string" then return content end
  local parts = {}
  for i, p in ipairs(content) do
    local where = at .. ".content[" .. (i - 1) .. "]"
    if not is_object(p) then return nil, where .. " must be an object" end
    if p.type == "text" then
      local text = p.text
      if text == nil then text = p.content end
      if type(text) ~= "string" then return nil, where .. ".text must be a string" end
      parts[#parts + 1] = { type = "text", content = text }
    elseif MEDIA[p.type] then
      parts[#parts + 1] = p
    end -- `binary` and anything that is not a content part are dropped, as TanStack does
  end
  if #parts == 0 then return json.null end
  local all_text = true
  for _, p in ipairs(parts) do if p.type ~= "text" then all_text = false end end
  if all_text then
    local t = {}
    for i, p in ipairs(parts) do t[i] = p.content end
    local s = concat(t)
    if s == "" then return json.null end
    return s
  end
  return parts
end

-- AG-UI wire messages -> TanStack ModelMessages (convertMessagesToModelMessages for AG-UI input).
-- Returns the messages and, for each, the 0-based index of the wire message it came from; or nil, reason.
local function convert_messages(list)
  local out, pending_thinking, origin = {}, {}, {}
  for i, m in ipairs(list) do
    origin[#out + 1] = i - 1
    local at = "messages[" .. (i - 1) .. "]"
    local role = m.role
    if role == "reasoning" then
      local sig = nonempty(m.encryptedValue) or nonempty((tanstack_meta(m) or {}).signature)
      if (m.content ~= nil and m.content ~= "") or sig then
        pending_thinking[#pending_thinking + 1] = { content = m.content or "", signature = sig }
      end
    elseif role == "activity" then
      -- UI-only: dropped
    elseif role == "developer" or role == "system" then
      out[#out + 1] = { role = "system", content = m.content, name = m.name }
    elseif role == "user" then
      local content, err = user_content(m.content, at)
      if err then return nil, err end
      if content == json.null then content = nil end
      out[#out + 1] = { role = "user", content = content or "", name = m.name }
    elseif role == "assistant" then
      local tcs
      if m.toolCalls ~= nil then
        local bag = (tanstack_meta(m) or {}).toolCallMetadata
        tcs = {}
        for j, tc in ipairs(m.toolCalls) do
          local where = at .. ".toolCalls[" .. (j - 1) .. "]"
          if not is_object(tc) then return nil, where .. " must be an object" end
          local fn = tc["function"]
          if type(tc.id) ~= "string" then return nil, where .. ".id must be a string" end
          if not is_object(fn) or type(fn.name) ~= "string" then return nil, where .. ".function.name must be a string" end
          if fn.arguments ~= nil and type(fn.arguments) ~= "string" then
            return nil, where .. ".function.arguments must be a string"
          end
          local meta
          local from_bag = is_object(bag) and bag[tc.id] or nil
          local sig = nonempty(tc.encryptedValue)
          if is_object(from_bag) or sig then
            meta = {}
            if is_object(from_bag) then for k, v in pairs(from_bag) do meta[k] = v end end
            if sig then meta.thoughtSignature = sig end
          end
          tcs[#tcs + 1] = { id = tc.id, type = "function",
            ["function"] = { name = fn.name, arguments = fn.arguments or "{}" }, metadata = meta }
        end
        if #tcs == 0 then tcs = nil end
      end
      local msg = { role = "assistant", content = m.content, name = m.name, toolCalls = tcs }
      if #pending_thinking > 0 then
        msg.thinking = pending_thinking
        pending_thinking = {}
      end
      out[#out + 1] = msg
    elseif role == "tool" then
      out[#out + 1] = { role = "tool", content = m.content, toolCallId = m.toolCallId, name = m.name }
    end
  end
  return out, origin
end

local function check_encodable(v, at)
  if v == nil then return nil end
  local ok, err = json.try_encode(v)
  if not ok then return at .. " is not encodable: " .. tostring(err) end
  return nil
end

-- The body as a decoded RunAgentInput object, or nil, err (the limits of the body itself: size, nesting).
local function read_body(body, limits)
  local decoded, reason, detail = ingress.decode(body, limits)
  if reason == "size" then
    return over_limit("maxBodyBytes", "the body is " .. detail .. " bytes", limits.maxBodyBytes)
  elseif reason == "json" then
    return invalid("body is not JSON (" .. tostring(detail) .. ")")
  elseif reason == "array" then
    return invalid("body must be a JSON object")
  elseif reason == "depth" then
    return over_limit("maxDepth", "the body nests objects and arrays", limits.maxDepth .. " deep")
  elseif reason == "values" then
    return over_limit("maxBodyBytes", "the body holds more values", limits.maxBodyBytes)
  end
  if not is_object(decoded) then return invalid("body must be a JSON object") end
  return decoded
end

local function check_ids(body)
  if type(body.threadId) ~= "string" then return invalid("threadId must be a string") end
  if type(body.runId) ~= "string" then return invalid("runId must be a string") end
  if body.parentRunId ~= nil and type(body.parentRunId) ~= "string" then
    return invalid("parentRunId must be a string")
  end
  return true
end

-- Every message's shape, the roles a client may send, and the limits over all messages.
local function check_messages(list, o)
  local limits = o.limits
  if not is_array(list) then return invalid("messages must be an array") end
  if #list > limits.maxMessages then
    return over_limit("maxMessages", "messages has " .. #list .. " entries", limits.maxMessages)
  end
  local n_calls, n_parts = 0, 0
  for i, m in ipairs(list) do
    local at = "messages[" .. (i - 1) .. "]"
    local reason = check_message(m, at)
    if reason then return invalid(reason) end
    if (m.role == "system" or m.role == "developer") and not o.allow_system then
      return nil, errors.new({ message = "Request refused: " .. at .. " has role '" .. m.role .. "'; system and " ..
        "developer messages come from the server (ai.chat's systemPrompts), not from the client " ..
        "(chat_params_from_request_body's allowSystemMessages = true accepts them)", status = 400,
        kind = "bad_request", code = "role_not_allowed", retryable = false })
    end
    if m.role == "assistant" and m.toolCalls ~= nil then
      n_calls = n_calls + #m.toolCalls
      if n_calls > limits.maxToolCalls then
        return over_limit("maxToolCalls", at .. " brings the tool calls to " .. n_calls, limits.maxToolCalls)
      end
    elseif m.role == "user" and type(m.content) == "table" then
      n_parts = n_parts + #m.content
      if n_parts > limits.maxParts then
        return over_limit("maxParts", at .. " brings the content parts to " .. n_parts, limits.maxParts)
      end
    end
  end
  return true
end

-- The client's tools -> client tool definitions (no execute).
local function read_tools(list, limits)
  if not is_array(list) then return invalid("tools must be an array") end
  if #list > limits.maxTools then
    return over_limit("maxTools", "tools has " .. #list .. " entries", limits.maxTools)
  end
  local tools_mod = require("tanstack.ai.tools")
  local tools, seen = {}, {}
  for i, t in ipairs(list) do
    local at = "tools[" .. (i - 1) .. "]"
    if not is_object(t) then return invalid(at .. " must be an object") end
    if type(t.name) ~= "string" then return invalid(at .. ".name must be a string") end
    if type(t.description) ~= "string" then return invalid(at .. ".description must be a string") end
    if t.parameters ~= nil and not is_object(t.parameters) then return invalid(at .. ".parameters must be an object") end
    local reason = check_encodable(t.parameters, at .. ".parameters")
    if reason then return invalid(reason) end
    if seen[t.name] then return invalid(at .. ".name '" .. t.name .. "' is declared twice") end
    seen[t.name] = true
    local okd, def = pcall(tools_mod.definition, { name = t.name, description = t.description,
      inputSchema = t.parameters })
    if not okd then return invalid(at .. ".name: " .. tostring(def)) end
    tools[#tools + 1] = def:client()
  end
  return tools
end

local function read_context(list, limits)
  if not is_array(list) then return invalid("context must be an array") end
  if #list > limits.maxContext then
    return over_limit("maxContext", "context has " .. #list .. " entries", limits.maxContext)
  end
  local context = {}
  for i, c in ipairs(list) do
    local at = "context[" .. (i - 1) .. "]"
    if not is_object(c) then return invalid(at .. " must be an object") end
    if type(c.description) ~= "string" then return invalid(at .. ".description must be a string") end
    if type(c.value) ~= "string" then return invalid(at .. ".value must be a string") end
    context[i] = { description = c.description, value = c.value }
  end
  return context
end

-- The answers to a paused run's interrupts (absent: false).
local function read_resume(list, limits)
  if list == nil then return false end
  if not is_array(list) then return invalid("resume must be an array") end
  if #list > limits.maxToolCalls then
    return over_limit("maxToolCalls", "resume has " .. #list .. " entries", limits.maxToolCalls)
  end
  local resume = {}
  for i, r in ipairs(list) do
    local at = "resume[" .. (i - 1) .. "]"
    if not is_object(r) then return invalid(at .. " must be an object") end
    if type(r.interruptId) ~= "string" then return invalid(at .. ".interruptId must be a string") end
    if r.status ~= "resolved" and r.status ~= "cancelled" then
      return invalid(at .. '.status must be "resolved" or "cancelled"')
    end
    if r.metadata ~= nil and not is_object(r.metadata) then return invalid(at .. ".metadata must be an object") end
    resume[i] = { interruptId = r.interruptId, status = r.status, payload = r.payload, metadata = r.metadata }
  end
  return resume
end

-- The wire messages as ModelMessages, as ai.chat will normalize them: a message it would reject is a 400 here,
-- not an error later.
local function model_messages(list)
  local converted, origin = convert_messages(list) -- or nil, reason
  if not converted then return invalid(origin) end
  local normalize = require("tanstack.ai.messages").normalize
  local normalized = {}
  for i, m in ipairs(converted) do
    local okn, res = pcall(normalize, { m })
    if not okn then
      local at = "messages[" .. origin[i] .. "]"
      return invalid((tostring(res):gsub("^messages%[1%]", function() return at end)))
    end
    res[1].thinking = m.thinking
    normalized[i] = res[1]
  end
  return normalized
end

--- ai.chat_params_from_request_body(body, opts?): body is the decoded JSON (or the JSON text) that
--- @tanstack/ai-client posts (an AG-UI RunAgentInput). Returns the options for ai.chat:
---   { messages (ModelMessages), threadId, runId, parentRunId, tools (client tools: name, description,
---     inputSchema, no execute), forwardedProps, state, resume, context, aguiContext }
--- or nil, err with err.status == 400 (413 for a body over maxBodyBytes) and a message naming the offending
--- field or limit. opts: the limits of REQUEST_LIMITS (same names), allowSystemMessages (default false: a
--- client's system and developer messages are refused; system prompts are the server's, ai.chat's
--- systemPrompts). Never raises on any body (a bad opts is a programmer error and raises).
function _M.chat_params_from_request_body(body, opts)
  local o = request_options(opts)
  local ok, res, err = pcall(_M._chat_params, body, o)
  if not ok then return invalid("internal validation failure: " .. tostring(res)) end
  return res, err
end

--- The checks and the conversion, in the order a client's mistakes are reported (raises only on a bug:
--- chat_params_from_request_body protects it).
function _M._chat_params(body, o)
  o = o or request_options(nil)
  local limits = o.limits
  local err, ok
  body, err = read_body(body, limits)
  if not body then return nil, err end
  ok, err = check_ids(body)
  if not ok then return nil, err end
  ok, err = check_messages(body.messages, o)
  if not ok then return nil, err end
  local tools, context, resume, messages
  tools, err = read_tools(body.tools, limits)
  if not tools then return nil, err end
  context, err = read_context(body.context, limits)
  if not context then return nil, err end
  resume, err = read_resume(body.resume, limits)
  if resume == nil then return nil, err end
  if body.forwardedProps ~= nil and not is_object(body.forwardedProps) then
    return invalid("forwardedProps must be an object")
  end
  messages, err = model_messages(body.messages)
  if not messages then return nil, err end
  return {
    messages = messages,
    threadId = body.threadId,
    runId = body.runId,
    parentRunId = body.parentRunId,
    tools = tools,
    forwardedProps = body.forwardedProps or json.object(),
    state = body.state,
    resume = resume or nil,
    context = context,
    aguiContext = context,
  }
end

--- TanStack's mergeAgentTools(serverTools, clientTools): server tools win on a name clash.
function _M.merge_agent_tools(server_tools, client_tools)
  local out, seen = {}, {}
  for _, t in ipairs(server_tools or {}) do
    out[#out + 1] = t
    seen[t.name] = true
  end
  for _, t in ipairs(client_tools or {}) do
    if not seen[t.name] then
      seen[t.name] = true
      out[#out + 1] = t
    end
  end
  return out
end

return _M
