-- Summarization on top of any chat adapter (provider-neutral), as TanStack's ChatStreamSummarizeAdapter does: a summarizer
-- system prompt (style, focus, maxLength), the text as the user message, the text deltas joined.
local errors = require("tanstack.ai.errors")
local events = require("tanstack.ai.events")

local setmetatable, type, ipairs, tostring, error = setmetatable, type, ipairs, tostring, error
local concat = table.concat

local _M = {}

local STYLE = {
  ["bullet-points"] = "Provide a summary in bullet point format. ",
  paragraph = "Provide a summary in paragraph format. ",
  concise = "Provide a very concise summary in 1-2 sentences. ",
}
local DEFAULT_STYLE = "Provide a clear and concise summary. "

-- modelOptions keys that already bound the answer length (any provider's spelling)
local MAX_KEYS = { "max_tokens", "max_completion_tokens", "maxOutputTokens", "maxCompletionTokens" }

--- The system prompt for opts { style, focus, maxLength } (TanStack's wording). maxLength is in tokens.
function _M.system_prompt(opts)
  local s = { "You are a professional summarizer. " }
  if opts.style ~= nil and STYLE[opts.style] == nil then
    error("summarize: options.style must be 'bullet-points', 'paragraph' or 'concise' (got " ..
      tostring(opts.style) .. ")", 0)
  end
  s[#s + 1] = STYLE[opts.style] or DEFAULT_STYLE
  local focus = opts.focus
  if type(focus) == "string" then focus = { focus } end
  if type(focus) == "table" and #focus > 0 then
    s[#s + 1] = "Focus on the following aspects: " .. concat(focus, ", ") .. ". "
  end
  if opts.maxLength ~= nil then
    if type(opts.maxLength) ~= "number" or opts.maxLength <= 0 then
      error("summarize: options.maxLength must be a positive number of tokens", 0)
    end
    s[#s + 1] = "Keep the summary under " .. string.format("%d", opts.maxLength) .. " tokens. "
  end
  return (concat(s):gsub(" $", ""))
end

local function has_key(mo, keys)
  if type(mo) ~= "table" then return false end
  local gc = type(mo.generationConfig) == "table" and mo.generationConfig or {}
  for _, k in ipairs(keys) do if mo[k] ~= nil or gc[k] ~= nil then return true end end
  return false
end

local Summarize = {}
Summarize.__index = Summarize
Summarize.__tostring = function(a) return (a.label or a.name) .. "SummarizeAdapter(" .. a.model .. ")" end

--- A summarize adapter over a text adapter (anything with chat_stream). label: a name for tostring.
function _M.new(chat, label)
  return setmetatable({ kind = "summarize", name = chat.name, model = chat.model, config = chat.config,
    chat = chat, label = label }, Summarize)
end

--- summarize{ text, maxLength, style, focus, modelOptions, temperature } -> { id, model, summary, usage }
function Summarize:summarize(opts)
  local ok, prompt = pcall(_M.system_prompt, opts)
  if not ok then error(prompt, 2) end
  local mo = opts.modelOptions
  -- no sampling default of ours: models after Claude Opus 4.6 refuse any temperature but 1.0, and each
  -- provider's own default is the one its models are tuned for
  local temperature = opts.temperature
  local max_tokens = nil
  if opts.maxLength ~= nil and not has_key(mo, MAX_KEYS) then max_tokens = opts.maxLength end
  local turn = self.chat:chat_stream({
    messages = { { role = "user", content = opts.text } },
    systemPrompts = { prompt }, modelOptions = mo, temperature = temperature, maxTokens = max_tokens,
  })
  local buf, usage = {}, nil
  while true do
    local ev = turn.next()
    if ev == nil then break end
    if ev.type == "TEXT_MESSAGE_CONTENT" then
      buf[#buf + 1] = ev.delta
    elseif ev.type == "RUN_FINISHED" then
      usage = ev.usage
    elseif ev.type == "RUN_ERROR" then
      turn.close()
      return nil, errors.wrap(ev.error or { message = ev.message, code = ev.code })
    end
  end
  return { id = events.id("summary"), model = self.model, summary = concat(buf), usage = usage }
end

return _M
