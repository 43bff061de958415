-- What the adapters know of a Workers AI model, from the generated catalog (workers_ai/catalog.lua, make catalog):
-- its entry, the fields its typed input has, and the local check of the options its schema constrains.
-- A model missing from the catalog (newer than the data) has no entry: the adapters use the task's common form.
local catalog = require("cloudflare.tanstack_ai.workers_ai.catalog")
local NULL = require("tanstack.ai.adapter").json.null

local type, pairs, ipairs, tostring, setmetatable = type, pairs, ipairs, tostring, setmetatable
local table_concat, math_floor, string_gsub = table.concat, math.floor, string.gsub

local _M = { catalog = catalog }

local ORDER = setmetatable({}, { __mode = "k" }) -- entry -> its field names, sorted

--- The catalog entry of a model, or nil.
function _M.entry(model)
  return catalog.models[model]
end

-- The catalog's tasks, as the activity of the adapter that drives them and the task's name in Cloudflare's docs.
local TASK_ACTIVITY = {
  ["text-generation"] = { "chat", "Text Generation" }, ["summarization"] = { "summarize", "Summarization" },
  ["text-to-image"] = { "image", "Text-to-Image" },
  ["speech-recognition"] = { "transcription", "Automatic Speech Recognition" },
  ["text-to-speech"] = { "tts", "Text-to-Speech" }, ["text-embeddings"] = { "embedding", "Text Embeddings" },
}

--- Why a catalog model cannot back an adapter of `activity` (its task is another's), naming the constructor to
--- use; nil when it can, or when the catalog does not know the model (newer than the data: its answer tells).
function _M.task_mismatch(model, activity)
  local e = catalog.models[model]
  if e == nil then
    local why = catalog.excluded and catalog.excluded[model]
    if why then return model .. " is a model of a task this library has no adapter for (" .. why .. ")" end
    return nil
  end
  local t = TASK_ACTIVITY[e.task]
  if t == nil or t[1] == activity then return nil end
  local camel = { chat = "Chat", summarize = "Summarize", image = "Image", transcription = "Transcription",
    tts = "Tts", embedding = "Embedding" }
  local article = t[2]:find("^[AEIOU]") and " is an " or " is a "
  return model .. article .. t[2] .. " model; use create_workers_ai_" .. t[1] .. " (createWorkersAi" .. camel[t[1]] .. ")"
end

-- Levenshtein distance (bytes): for the names nearest to an unknown model.
local function distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur, ca = { [0] = i }, a:byte(i)
    for j = 1, #b do
      local d = prev[j] + 1
      if cur[j - 1] + 1 < d then d = cur[j - 1] + 1 end
      local sub = prev[j - 1] + (ca == b:byte(j) and 0 or 1)
      if sub < d then d = sub end
      cur[j] = d
    end
    prev = cur
  end
  return prev[#b]
end

--- The n catalog models nearest to a name the catalog does not have (Cloudflare's 5007 "No such model").
function _M.nearest(model, n)
  local scored = {}
  for name in pairs(catalog.models) do
    -- a name that extends the one asked for (a quantized or fast variant: -fp8, -awq, -fast) comes first
    local d = name:sub(1, #model) == model and 0 or distance(model, name)
    scored[#scored + 1] = { name, d }
  end
  table.sort(scored, function(x, y) return x[2] < y[2] or (x[2] == y[2] and x[1] < y[1]) end)
  local names = {}
  for i = 1, math.min(n or 3, #scored) do names[i] = scored[i][1] end
  return names
end

--- The refusal of a model that cannot work over this API (realtime, websocket-only), or nil.
function _M.unusable(model, entry)
  if entry and entry.unusable then return model .. " cannot be driven by this adapter: " .. entry.unusable end
  if entry and entry.realtime then
    return model .. " is a realtime (websocket) model: Workers AI answers it over a websocket session, not " ..
      "over AI.run or the REST API this library uses; use a batch speech model (@cf/openai/whisper-large-v3-turbo, " ..
      "@cf/deepgram/nova-3)"
  end
end

--- Does the model's typed input have this field? (true for a model without an entry: the common form)
function _M.has(entry, field)
  return entry == nil or entry.fields[field] ~= nil
end

local function list(t)
  local out = {}
  for i, v in ipairs(t) do out[i] = tostring(v) end
  return table_concat(out, ", ")
end

-- A string's length as JSON Schema counts it: characters, i.e. code points (Validation, section 6.3.1; RFC 8259
-- section 8.1: the text is UTF-8), not bytes: the bytes that start one, every byte but the continuation bytes
-- 0x80-0xBF (exact for UTF-8; one C pass, no table).
local function chars(s)
  local _, cont = string_gsub(s, "[\128-\191]", "")
  return #s - cont
end

local function type_ok(kind, v)
  local tv = type(v)
  for k in kind:gmatch("[^|]+") do
    if k == "any" or k == "object" and tv == "table" or k == "array" and tv == "table" or k == tv then return true end
    if k == "bytes" and tv == "string" then return true end
  end
  return false
end

--- Check inputs against the model's constraints (types, enums, ranges, lengths, required fields).
--- Returns nil, or a message naming the option, the model and what is allowed. `names` maps a field to the
--- option name the caller used (size -> width, voice -> speaker). constraints_only: enums, ranges and lengths of
--- the fields present, no types and no required fields (a chat body, whose shape the adapter makes).
function _M.check(model, entry, inputs, label, names, constraints_only)
  if not entry then return nil end
  names = names or {}
  local function name(f)
    return names[f] and (names[f] .. " (" .. f .. ")") or f
  end
  local order = ORDER[entry]
  if not order then -- the fields in name order: the first problem named is always the same one
    order = {}
    for f in pairs(entry.fields) do order[#order + 1] = f end
    table.sort(order)
    ORDER[entry] = order
  end
  for _, f in ipairs(order) do
    local d = entry.fields[f]
    local v = inputs[f]
    if v == nil or (constraints_only and v == NULL) then
      if d.required and f ~= "multipart" and not constraints_only then
        return label .. ": " .. model .. " requires " .. name(f)
      end
    else
      if not constraints_only and not type_ok(d.type, v) then
        return label .. ": " .. name(f) .. " of " .. model .. " must be a " .. d.type .. " (got " .. type(v) .. ")"
      end
      if d.enum and type(v) == "string" then
        local ok = false
        for _, e in ipairs(d.enum) do if e == v then ok = true break end end
        if not ok then
          return label .. ": " .. name(f) .. " '" .. v .. "' is not accepted by " .. model .. " (allowed: " ..
            list(d.enum) .. ")"
        end
      end
      if type(v) == "number" then
        if d.integer and v ~= math_floor(v) then
          return label .. ": " .. name(f) .. " of " .. model .. " must be an integer (got " .. tostring(v) .. ")"
        end
        if (d.minimum and v < d.minimum) or (d.maximum and v > d.maximum) then
          return label .. ": " .. name(f) .. " " .. tostring(v) .. " is out of range for " .. model .. " (allowed: " ..
            (d.minimum and tostring(d.minimum) or "any") .. " to " .. (d.maximum and tostring(d.maximum) or "any") .. ")"
        end
      end
      local n = type(v) == "string" and (d.min_length or d.max_length) and chars(v)
      if n and ((d.min_length and n < d.min_length) or (d.max_length and n > d.max_length)) then
        return label .. ": " .. name(f) .. " of " .. model .. " must be " .. tostring(d.min_length or 0) .. " to " ..
          tostring(d.max_length or "any") .. " characters long (got " .. n .. ")"
      end
    end
  end
  return nil
end

return _M
