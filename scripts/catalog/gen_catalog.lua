-- Generate lua/cloudflare/tanstack_ai/workers_ai/catalog.lua from the pinned sources in scripts/catalog/sources:
--   workers-types.json    the AiModels typings of @cloudflare/workers-types (scripts/catalog/extract_typings.js)
--   cloudflare-docs.json  extracts of Cloudflare's model pages (task, properties, input JSON Schema constraints)
-- usage: lua scripts/catalog/gen_catalog.lua [--check] [out]   (make catalog; --check: fail when out differs)
-- loadfile(this)("--text") returns the module text instead of writing it.
local json = require("tanstack.ai.json")

local args = { ... }
local check, text_only = false, false
if args[1] == "--check" then check = true table.remove(args, 1) end
if args[1] == "--text" then text_only = true table.remove(args, 1) end
local OUT = args[1] or "lua/cloudflare/tanstack_ai/workers_ai/catalog.lua"
local SRC = "scripts/catalog/sources/"

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a") or f:read("*a")
  f:close()
  return s
end

local typings = assert(json.decode(read(SRC .. "workers-types.json")))
local docs = assert(json.decode(read(SRC .. "cloudflare-docs.json")))

local TASK_OF_DOCS = {
  ["Text Generation"] = "text-generation", ["Text-to-Image"] = "text-to-image",
  ["Automatic Speech Recognition"] = "speech-recognition", ["Text-to-Speech"] = "text-to-speech",
  ["Summarization"] = "summarization", ["Text Embeddings"] = "text-embeddings",
}
local TASK_OF_CLASS = {
  BaseAiTextGeneration = "text-generation", BaseAiTextToImage = "text-to-image",
  BaseAiTextToSpeech = "text-to-speech", BaseAiSummarization = "summarization",
  BaseAiTextEmbeddings = "text-embeddings", BaseAiAutomaticSpeechRecognition = "speech-recognition",
  BaseAiImageToText = false, BaseAiTextClassification = false, BaseAiImageClassification = false,
  BaseAiObjectDetection = false, BaseAiTranslation = false,
}

local function set(list)
  local s = {}
  for _, v in ipairs(list or {}) do s[v] = true end
  return s
end

local function output_info(m)
  local fields, kinds = {}, {}
  for _, o in ipairs(m.outputs) do
    if o.fields then for _, f in ipairs(o.fields) do fields[f] = true end end
    if o.kind then kinds[o.kind] = true end
  end
  return fields, kinds
end

local function has_field(m, name)
  for _, v in ipairs(m.inputs) do if v[name] then return true end end
  return false
end

-- The task of a model: the docs page's, else its typings class, else the shape of its typed input and output.
local function task_of(name, m)
  local d = docs.models[name]
  if d then return TASK_OF_DOCS[d.task] or false, "docs" end
  local c = TASK_OF_CLASS[m.class]
  if c ~= nil then return c, "typings class" end
  local out, kinds = output_info(m)
  if out.summary then return "summarization", "typings shape" end
  if out.data and out.shape then return "text-embeddings", "typings shape" end
  if has_field(m, "multipart") and out.image then return "text-to-image", "typings shape" end
  if has_field(m, "prompt") and (out.image or ((kinds.string or kinds.bytes) and has_field(m, "width"))) then
    return "text-to-image", "typings shape"
  end
  if has_field(m, "text") and has_field(m, "speaker") and (kinds.string or kinds.bytes or out.audio) then
    return "text-to-speech", "typings shape"
  end
  if (has_field(m, "messages") or has_field(m, "prompt") or has_field(m, "input")) and
     (out.response or out.choices or out.output) then
    return "text-generation", "typings shape"
  end
  if has_field(m, "audio") and (out.text or out.results) then return "speech-recognition", "typings shape" end
  return false, "typings shape"
end

-- The fields of a typed variant, refined by the docs' JSON Schema (ranges, enums, required) where it has them.
local function fields_of(variant, schema)
  local props = schema and schema.properties or {}
  local req = set(schema and schema.required)
  local f = {}
  for k, d in pairs(variant) do
    if k ~= "__kind" then
      local t = d.type
      local e = { type = #t == 1 and t[1] or table.concat(t, "|"), required = d.required or nil, enum = d.enum }
      local p = props[k]
      if type(p) == "table" then
        if p.type == "integer" then e.integer = true end
        e.enum = e.enum or p.enum
        e.minimum, e.maximum = p.minimum, p.maximum
        e.min_length, e.max_length = p.minLength, p.maxLength
        if req[k] then e.required = true end
      end
      f[k] = e
    end
  end
  return f
end

local function variant_with(m, name)
  for _, v in ipairs(m.inputs) do if v[name] then return v end end
end

-- A model on Cloudflare's pages that the typings lack: its variants from the docs' JSON Schema.
local function docs_type(p)
  if type(p) ~= "table" then return { "any" } end
  if p.type == "integer" then return { "number" } end
  if type(p.type) == "string" then return { p.type } end
  if type(p.oneOf) == "table" then
    local ts, seen = {}, {}
    for _, o in ipairs(p.oneOf) do
      local t = docs_type(o)[1]
      if not seen[t] then seen[t] = true ts[#ts + 1] = t end
    end
    table.sort(ts)
    return ts
  end
  return { "any" }
end

local function docs_model(d)
  local variants = {}
  for _, v in ipairs(d.input.oneOf or { d.input }) do
    local req, f = set(v.required), {}
    for k, p in pairs(v.properties or {}) do
      f[k] = { type = docs_type(p), enum = type(p) == "table" and p.enum or nil, required = req[k] or false }
    end
    variants[#variants + 1] = f
  end
  local outputs = { { fields = d.output.fields or {} } }
  if d.output.contentType and not d.output.contentType[1]:find("json", 1, true) then outputs = { { kind = "bytes" } } end
  return { class = "(docs only)", inputs = variants, outputs = outputs }
end

local all = {}
for name, m in pairs(typings.models) do all[name] = m end
for name, d in pairs(docs.models) do
  if not all[name] then all[name] = docs_model(d) end
end

local models, excluded = {}, {}
for name, m in pairs(all) do
  local task, why = task_of(name, m)
  if not task then
    excluded[name] = "task outside the six (" .. m.class .. ", " .. why .. ")"
  else
    local d = docs.models[name]
    local schema = d and d.input
    local props = d and d.properties or {}
    local out, kinds = output_info(m)
    local e = { task = task, task_source = why, typings = m.class }
    if d then e.docs = d.file .. "@" .. d.commit end
    if not typings.models[name] then e.docs_only = true e.typings = nil end
    local v
    if props.realtime == "true" then
      e.input, e.realtime = "realtime", true
      v = m.inputs[1]
    elseif task == "text-generation" then
      local forms = {}
      if variant_with(m, "messages") then forms[#forms + 1] = "messages" end
      if variant_with(m, "prompt") then forms[#forms + 1] = "prompt" end
      if variant_with(m, "input") then forms[#forms + 1] = "responses" end
      e.forms = forms
      e.input = forms[1]
      if not forms[1] then -- neither messages, a prompt nor Responses input (a decision model: clef)
        e.input = "other"
        e.unusable = "its input is not a chat (no messages, prompt or Responses input: " ..
          table.concat((function() local k = {} for f in pairs(m.inputs[1]) do k[#k + 1] = f end table.sort(k)
            return k end)(), ", ") .. "); call it through the binding's run directly"
      end
      v = variant_with(m, "messages") or variant_with(m, "prompt") or variant_with(m, "input")
    elseif has_field(m, "multipart") then
      e.input = "multipart"
      v = variant_with(m, "multipart")
    elseif task == "speech-recognition" then
      local a = variant_with(m, "audio")
      v = a
      local at = a and a.audio and a.audio.type or {}
      local ts = set(at)
      if m.inputs[1].__kind == "string" or m.inputs[1].__kind == "bytes" or (ts.array and #at == 1) then
        e.input = "bytes"         -- a raw body (REST), the byte array (binding)
      elseif ts.string then
        e.input = "base64"        -- audio as a base64 string in JSON
      else
        e.input = "audio-object"  -- {audio = {body, contentType}}: raw bytes + query over REST
      end
    elseif task == "text-embeddings" then
      v = variant_with(m, "text") or m.inputs[1]
      e.input = "json"
      e.batch = has_field(m, "requests") or nil
    else
      v = m.inputs[1]
      e.input = "json"
    end
    e.fields = fields_of(v or {}, schema)
    if schema and schema.additionalProperties == false then e.closed = true end -- no other field is accepted
    if task == "text-generation" then
      local f = e.fields
      e.streaming = f.stream ~= nil
      e.function_calling = f.tools ~= nil
      e.lora = has_field(m, "lora")
      e.vision = has_field(m, "image") or nil
      e.structured = f.response_format and "response_format" or f.guided_json and "guided_json" or nil
      -- a response_format without json_schema ({type?: string}: llama-guard-3-8b) takes JSON mode only
      local rf = v and v.response_format
      if e.structured == "response_format" and type(rf) == "table" and type(rf.members) == "table"
        and not set(rf.members).json_schema then
        e.structured = "json_object"
      end
      e.output = (out.choices and "openai") or (out.output and "responses") or "native"
    else
      e.streaming = false
    end
    -- what comes back
    local cts = d and d.output and d.output.contentType
    if task == "text-to-image" then
      if cts then e.content_type = cts[1] end
      e.output = (out.image and "base64") or "bytes"
      e.content_type = e.content_type or (e.output == "base64" and "application/json" or "image/png")
    elseif task == "text-to-speech" then
      e.output = (kinds.string or kinds.bytes or kinds.any) and "bytes" or "base64"
      if out.audio then e.output = "bytes|base64" end
      e.content_type = cts and cts[#cts] or "audio/mpeg"
    elseif task == "speech-recognition" then
      e.output = e.realtime and "websocket" or (out.results and "deepgram" or "json")
      e.content_type = e.realtime and "websocket" or "application/json"
    elseif task ~= "text-generation" then
      e.output = "json"
      e.content_type = "application/json"
    end
    if task == "text-embeddings" then
      e.multi_output = (has_field(m, "query") or has_field(m, "queries")) or nil
    end
    models[name] = e
  end
end

---------------------------------------------------------------------------------------------------
-- Serialize deterministically
---------------------------------------------------------------------------------------------------

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks, function(a, b) return tostring(a) < tostring(b) end)
  return ks
end

local function ser(v, indent)
  local t = type(v)
  if t == "string" then return string.format("%q", v) end
  if t == "number" then
    if math.type and math.type(v) == "integer" then return tostring(v) end
    if v == math.floor(v) then return string.format("%d", v) end
    return string.format("%.17g", v)
  end
  if t == "boolean" then return tostring(v) end
  if t == "table" then
    if #v > 0 or next(v) == nil then
      local parts = {}
      for i, x in ipairs(v) do parts[i] = ser(x, indent) end
      return "{ " .. table.concat(parts, ", ") .. (#parts > 0 and " }" or "}")
    end
    local parts = {}
    for _, k in ipairs(sorted_keys(v)) do
      local key = k:match("^[%a_][%w_]*$") and k or ("[" .. string.format("%q", k) .. "]")
      parts[#parts + 1] = key .. " = " .. ser(v[k], indent)
    end
    return "{ " .. table.concat(parts, ", ") .. " }"
  end
  return "nil"
end

local lines = {
  "-- GENERATED by scripts/catalog/gen_catalog.lua (make catalog); do not edit.",
  "-- luacheck: no max line length",
  "-- Sources: " .. typings.package .. "@" .. typings.version .. " (AiModels typings) and Cloudflare's model pages",
  "-- (" .. docs.repository .. " " .. docs.folder .. ", extracts in scripts/catalog/sources/cloudflare-docs.json).",
  "-- Per model: task, input form, fields {type, enum, required, minimum, maximum, integer, min_length,",
  "-- max_length}, output form and content type, capabilities (streaming, function_calling, vision, lora,",
  "-- structured: response_format, json_object (a response_format without json_schema: JSON mode only) or",
  "-- guided_json). Models of other tasks are listed in `excluded` with the reason.",
  "local _M = {}",
  "",
  "_M.typings_version = " .. string.format("%q", typings.version),
  "",
  "_M.models = {",
}
for _, name in ipairs(sorted_keys(models)) do
  local e = models[name]
  lines[#lines + 1] = "  [" .. string.format("%q", name) .. "] = {"
  for _, k in ipairs(sorted_keys(e)) do
    if k == "fields" then
      lines[#lines + 1] = "    fields = {"
      for _, fk in ipairs(sorted_keys(e.fields)) do
        lines[#lines + 1] = "      " .. (fk:match("^[%a_][%w_]*$") and fk or ("[" .. string.format("%q", fk) .. "]"))
          .. " = " .. ser(e.fields[fk]) .. ","
      end
      lines[#lines + 1] = "    },"
    else
      lines[#lines + 1] = "    " .. k .. " = " .. ser(e[k]) .. ","
    end
  end
  lines[#lines + 1] = "  },"
end
lines[#lines + 1] = "}"
lines[#lines + 1] = ""
lines[#lines + 1] = "_M.excluded = {"
for _, name in ipairs(sorted_keys(excluded)) do
  lines[#lines + 1] = "  [" .. string.format("%q", name) .. "] = " .. string.format("%q", excluded[name]) .. ","
end
lines[#lines + 1] = "}"
lines[#lines + 1] = ""
lines[#lines + 1] = "return _M"
local text = table.concat(lines, "\n") .. "\n"

-- The emulator's copy (spec/emulator/catalog.json): the same models as JSON, keys sorted.
local function jenc(v)
  local t = type(v)
  if t == "string" then return (string.format("%q", v):gsub("\\\n", "\\n")) end
  if t == "number" or t == "boolean" then return ser(v) end
  if #v > 0 or next(v) == nil then
    local parts = {}
    for i, x in ipairs(v) do parts[i] = jenc(x) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  local parts = {}
  for _, k in ipairs(sorted_keys(v)) do parts[#parts + 1] = jenc(k) .. ":" .. jenc(v[k]) end
  return "{" .. table.concat(parts, ",") .. "}"
end
local jlines = { "{" .. jenc("typings_version") .. ":" .. jenc(typings.version) .. "," .. jenc("models") .. ":{" }
local names = sorted_keys(models)
for i, name in ipairs(names) do
  jlines[#jlines + 1] = jenc(name) .. ":" .. jenc(models[name]) .. (i < #names and "," or "")
end
jlines[#jlines + 1] = "}}"
local jtext = table.concat(jlines, "\n") .. "\n"
local JOUT = "spec/emulator/catalog.json"

if text_only then return text, jtext end -- the catalog spec compares them with the committed files

if check then
  local ok, cur = pcall(read, OUT)
  local jok, jcur = pcall(read, JOUT)
  if not ok or cur ~= text or not jok or jcur ~= jtext then
    io.stderr:write(OUT .. " is not what scripts/catalog/gen_catalog.lua makes of the sources; run make catalog\n")
    os.exit(1)
  end
  print(OUT .. " matches the sources")
else
  local f = assert(io.open(OUT, "wb"))
  f:write(text)
  f:close()
  f = assert(io.open(JOUT, "wb"))
  f:write(jtext)
  f:close()
  local n, per = 0, {}
  for _, e in pairs(models) do n = n + 1 per[e.task] = (per[e.task] or 0) + 1 end
  local s = {}
  for _, k in ipairs(sorted_keys(per)) do s[#s + 1] = k .. " " .. per[k] end
  print("wrote " .. OUT .. ": " .. n .. " models (" .. table.concat(s, ", ") .. ")")
end
