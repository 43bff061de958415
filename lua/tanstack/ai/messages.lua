-- Input messages -> TanStack ModelMessages.
-- Accepts ModelMessages ({role, content, toolCalls, toolCallId}), UIMessages ({role, parts}) and AG-UI wire
-- messages ({role, content, toolCalls}, tool messages with toolCallId) mixed, like TanStack's
-- convertMessagesToModelMessages. Providers then translate ModelMessages to their own wire form.
local json = require("tanstack.ai.json")

local type, ipairs, error, tostring, setmetatable = type, ipairs, error, tostring, setmetatable
local concat = table.concat

local _M = {}

-- The messages normalize made (weak keys): normalized once, they pass through a second normalize as they are
-- (the edge normalizes a posted history to answer 400 early; ai.chat then takes it without a second pass).
local made = setmetatable({}, { __mode = "k" })

--- True for a message normalize made (a ModelMessage already).
function _M.is_normalized(m)
  return made[m] == true
end

local function err(msg) error(msg, 0) end

--- Normalize one content part to TanStack's form ({type="text", content} / {type="image", source}).
local function normalize_part(p, where)
  if type(p) == "string" then return { type = "text", content = p } end
  if type(p) ~= "table" then err(where .. ": content part must be a table or string") end
  local t = p.type
  if t == "text" then
    local text = p.content
    if text == nil then text = p.text end
    if type(text) ~= "string" then err(where .. ": text part needs a string 'content'") end
    return { type = "text", content = text, metadata = p.metadata }
  elseif t == "image" or t == "audio" or t == "video" or t == "document" then
    local s = p.source
    if type(s) ~= "table" then
      -- AG-UI/OpenAI-ish shortcuts: {type="image", url=...} / {type="image", data=..., mimeType=...}
      if p.url then s = { type = "url", value = p.url, mimeType = p.mimeType }
      elseif p.data then s = { type = "data", value = p.data, mimeType = p.mimeType } end
    end
    if type(s) ~= "table" or type(s.value) ~= "string" then
      err(where .. ": " .. t .. " part needs source = { type = 'data'|'url', value = ... }")
    end
    if s.type == "data" and type(s.mimeType) ~= "string" then
      err(where .. ": " .. t .. " part with source.type 'data' needs source.mimeType")
    end
    return { type = t, source = s, metadata = p.metadata }
  elseif t == "image_url" then -- OpenAI form passed through by users
    local url = type(p.image_url) == "table" and p.image_url.url or p.image_url
    return { type = "image", source = { type = "url", value = url } }
  end
  err(where .. ": unsupported content part type '" .. tostring(t) .. "'")
end

local function normalize_content(c, where)
  if c == nil or c == json.null then return nil end
  if type(c) == "string" then return c end
  if type(c) ~= "table" then err(where .. ": content must be a string, nil or an array of parts") end
  local out = {}
  for i, p in ipairs(c) do out[i] = normalize_part(p, where .. ".content[" .. i .. "]") end
  return out
end

local function args_string(a)
  if a == nil or a == json.null then return "{}" end
  if type(a) == "string" then return a end
  return json.encode(a)
end

local function normalize_tool_calls(tcs, where)
  if tcs == nil then return nil end
  local out = {}
  for i, tc in ipairs(tcs) do
    local fn = tc["function"] or {}
    local name = fn.name or tc.name or tc.toolName
    local id = tc.id or tc.toolCallId
    if type(name) ~= "string" or type(id) ~= "string" then
      err(where .. ".toolCalls[" .. i .. "]: needs id and function.name")
    end
    out[i] = { id = id, type = "function", ["function"] = { name = name,
      arguments = args_string(fn.arguments or tc.arguments or tc.input) }, metadata = tc.metadata }
  end
  if #out == 0 then return nil end
  return out
end

-- UIMessage (parts) -> one or more ModelMessages.
-- role: the normalized role (developer -> system).
local function from_ui(m, role, where, out)
  if role == "system" or role == "tool" then
    local texts = {}
    for _, p in ipairs(m.parts) do if p.type == "text" then texts[#texts + 1] = p.content or p.text end end
    if role == "system" then
      out[#out + 1] = { role = "system", content = concat(texts, "\n") }
      return
    end
    local id = m.toolCallId or m.tool_call_id
    if type(id) ~= "string" then err(where .. ": a tool message needs toolCallId") end
    out[#out + 1] = { role = "tool", toolCallId = id, content = concat(texts), name = m.name }
    return
  end
  if role == "user" then
    local content = {}
    for i, p in ipairs(m.parts) do
      if p.type ~= "tool-result" then content[#content + 1] = normalize_part(p, where .. ".parts[" .. i .. "]") end
    end
    if #content == 1 and content[1].type == "text" then content = content[1].content end
    out[#out + 1] = { role = "user", content = content }
    return
  end
  -- assistant: text + tool calls in one message, then tool results (client outputs / results) as tool messages
  local texts, calls, results = {}, {}, {}
  for _, p in ipairs(m.parts) do
    if p.type == "text" then
      texts[#texts + 1] = p.content or p.text
    elseif p.type == "tool-call" then
      calls[#calls + 1] = { id = p.id, type = "function", ["function"] = { name = p.name,
        arguments = args_string(p.arguments or p.input) } }
      if p.output ~= nil then
        results[#results + 1] = { role = "tool", toolCallId = p.id,
          content = type(p.output) == "string" and p.output or json.encode(p.output) }
      end
    elseif p.type == "tool-result" then
      local c = p.content
      results[#results + 1] = { role = "tool", toolCallId = p.toolCallId,
        content = type(c) == "string" and c or json.encode(c) }
    end
  end
  out[#out + 1] = { role = "assistant", content = concat(texts), toolCalls = #calls > 0 and calls or nil }
  -- drop results duplicated by id (a tool-result part and an output on the call)
  local seen = {}
  for _, r in ipairs(results) do
    if not seen[r.toolCallId] then seen[r.toolCallId] = true; out[#out + 1] = r end
  end
end

-- One message (not made here) -> one or more ModelMessages appended to out.
local function normalize_one(m, i, out)
  local where = "messages[" .. i .. "]"
  if type(m) ~= "table" then err(where .. " must be a table") end
  local role = m.role
  if role ~= "user" and role ~= "assistant" and role ~= "tool" and role ~= "system" and role ~= "developer" then
    err(where .. ".role must be 'user', 'assistant', 'tool' or 'system' (got " .. tostring(role) .. ")")
  end
  if role == "developer" then role = "system" end
  if type(m.parts) == "table" and m.content == nil then
    from_ui(m, role, where, out)
  elseif role == "tool" then
    local id = m.toolCallId or m.tool_call_id
    if type(id) ~= "string" then err(where .. ": a tool message needs toolCallId") end
    local c = m.content
    if type(c) ~= "string" then c = json.encode(c == nil and json.null or c) end
    out[#out + 1] = { role = "tool", toolCallId = id, content = c, name = m.name }
  else
    out[#out + 1] = {
      role = role,
      content = normalize_content(m.content, where),
      name = m.name,
      toolCalls = normalize_tool_calls(m.toolCalls or m.tool_calls, where),
      thinking = role == "assistant" and type(m.thinking) == "table" and m.thinking or nil,
    }
  end
end

--- Normalize a list of messages (any of the accepted shapes) to ModelMessages: a new list (the caller's is never
--- appended to). A message normalize made before is taken as it is (normalized once).
--- Raises (programmer error) on a malformed message, naming it.
function _M.normalize(list)
  if list == nil then return {} end
  if type(list) ~= "table" then err("messages must be an array") end
  local out = {}
  for i, m in ipairs(list) do
    if made[m] then
      out[#out + 1] = m
    else
      local from = #out + 1
      normalize_one(m, i, out)
      for k = from, #out do made[out[k]] = true end
    end
  end
  return out
end

--- Text of a content value (string or parts), parts joined with "".
function _M.text_of(content)
  if content == nil then return "" end
  if type(content) == "string" then return content end
  local t = {}
  for _, p in ipairs(content) do if p.type == "text" then t[#t + 1] = p.content end end
  return concat(t)
end

--- System prompts (strings or {content}) -> array of strings.
function _M.system_prompts(list)
  if list == nil then return {} end
  if type(list) == "string" then return { list } end
  local out = {}
  for i, p in ipairs(list) do
    if type(p) == "string" then out[#out + 1] = p
    elseif type(p) == "table" and type(p.content) == "string" then out[#out + 1] = p.content
    else err("systemPrompts[" .. i .. "] must be a string or { content = string }") end
  end
  return out
end

--- A data: URI (or the URL) for an image/audio source.
function _M.source_url(s)
  if s.type == "url" then return s.value end
  if s.value:sub(1, 5) == "data:" then return s.value end
  return "data:" .. s.mimeType .. ";base64," .. s.value
end

return _M
