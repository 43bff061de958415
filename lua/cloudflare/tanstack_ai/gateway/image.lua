-- Image generation through AI Gateway, in the form each provider really offers it:
--   OpenAI, Grok      images/generations            -> data[].b64_json (or url)
--   OpenRouter        chat/completions + modalities -> choices[1].message.images[].image_url.url (data URIs)
--   Gemini            generateContent, responseModalities IMAGE -> inlineData parts;
--                     Imagen models (imagen-*) :predict -> predictions[].bytesBase64Encoded
-- Result: { id, model, images = {{ b64Json } | { url }, revisedPrompt? }, usage? }.
local adapter = require("tanstack.ai.adapter")
local providers = require("cloudflare.tanstack_ai.providers")
local request = require("cloudflare.tanstack_ai.request")
local json, errors = adapter.json, adapter.errors
local gemini, openai = adapter.format("gemini"), adapter.format("openai")
local raise = adapter.raise -- a mistake, reported at the caller's line

local setmetatable, type, pairs, ipairs, tonumber = setmetatable, type, pairs, ipairs, tonumber

local _M = {}

local function copy(t)
  local o = {}
  if type(t) == "table" then for k, v in pairs(t) do o[k] = v end end
  return o
end

local function no_images(p, model, v)
  return nil, errors.new({ message = p.label .. " image: the response has no image (is " .. model ..
    " an image model?)", kind = "provider", provider = p.slug, body = json.try_encode(v) })
end

-- a data: URI -> { b64Json }, anything else -> { url }
local function image_of_url(url)
  local b64 = type(url) == "string" and url:match("^data:[^;,]*;base64,(.*)$") or nil
  if b64 then return { b64Json = b64 } end
  return { url = url }
end

---------------------------------------------------------------------------------------------------
-- images/generations (OpenAI, Grok)
---------------------------------------------------------------------------------------------------

local function images_api(self, opts)
  local p, model = self.provider, self.model
  local body = copy(opts.modelOptions)
  body.model = model
  body.prompt = opts.prompt
  body.n = opts.numberOfImages or 1
  if opts.size then body.size = opts.size end
  if body.response_format == nil and p.image_response_format then body.response_format = p.image_response_format(model) end
  local r, err = request.call(self.config, { provider = p.slug, gateway_path = p.images_path, body = body,
    label = p.label .. " image" })
  if not r then return nil, err end
  local v = r.value
  if type(v) ~= "table" or type(v.data) ~= "table" or #v.data == 0 then return no_images(p, model, v) end
  local images = {}
  for i, d in ipairs(v.data) do
    local img = type(d.b64_json) == "string" and { b64Json = d.b64_json } or { url = d.url }
    if type(d.revised_prompt) == "string" then img.revisedPrompt = d.revised_prompt end
    images[i] = img
  end
  return { id = adapter.id("img"), model = model, images = images, usage = openai.media_usage(v.usage) }
end

---------------------------------------------------------------------------------------------------
-- chat completions with image output (OpenRouter)
---------------------------------------------------------------------------------------------------

local function images_via_chat(self, opts)
  local p, model = self.provider, self.model
  local want = opts.numberOfImages or 1
  local images = {}
  -- one answer usually carries one image: ask again until there are enough (at most `want` calls)
  for _ = 1, want do
    local body = copy(opts.modelOptions)
    body.model = model
    body.messages = json.array({ { role = "user", content = opts.prompt } })
    body.modalities = body.modalities or json.array({ "image", "text" })
    body.stream = false
    local r, err = request.call(self.config, { provider = p.slug, gateway_path = p.chat_path, body = body,
      label = p.label .. " image" })
    if not r then return nil, err end
    local v = r.value
    local choice = type(v) == "table" and type(v.choices) == "table" and v.choices[1] or nil
    local msg = type(choice) == "table" and choice.message or nil
    local list = type(msg) == "table" and msg.images or nil
    if type(list) ~= "table" or #list == 0 then return no_images(p, model, v) end
    for _, item in ipairs(list) do
      local url = type(item.image_url) == "table" and item.image_url.url or item.url
      if #images < want then images[#images + 1] = image_of_url(url) end
    end
    if #images >= want then break end
  end
  return { id = adapter.id("img"), model = model, images = images }
end

---------------------------------------------------------------------------------------------------
-- Gemini: generateContent with image output, or Imagen's predict
---------------------------------------------------------------------------------------------------

local GEMINI_RATIOS = { "1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9" }
local IMAGEN_RATIOS = { "1:1", "3:4", "4:3", "9:16", "16:9" }

local function gcd(a, b)
  while b ~= 0 do a, b = b, a % b end
  return a
end

--- "1536x1024" -> "3:2" when it is one of the allowed ratios; raises otherwise (programmer error).
function _M.aspect_ratio(size, allowed, label)
  local w, h = size:match("^(%d+)x(%d+)$")
  w, h = tonumber(w), tonumber(h)
  if not w or not h or w == 0 or h == 0 then
    raise(label .. ": size " .. tostring(size) .. " is not WIDTHxHEIGHT with both sides above 0")
  end
  local g = gcd(w, h)
  local ratio = string.format("%d:%d", w / g, h / g)
  for _, r in ipairs(allowed) do if r == ratio then return ratio end end
  raise(label .. ": size " .. size .. " is aspect ratio " .. ratio .. "; this model takes " ..
    table.concat(allowed, ", "))
end

local function imagen(self, opts)
  local p, model = self.provider, self.model
  local params = copy(opts.modelOptions)
  params.sampleCount = opts.numberOfImages or 1
  if opts.size then params.aspectRatio = _M.aspect_ratio(opts.size, IMAGEN_RATIOS, "generate_image") end
  local path = gemini.endpoint(model, false, "predict")
  local r, err = request.call(self.config, { provider = p.slug, gateway_path = path, label = p.label .. " image",
    body = { instances = json.array({ { prompt = opts.prompt } }), parameters = params } })
  if not r then return nil, err end
  local v = r.value
  local images = {}
  for _, pr in ipairs(type(v) == "table" and type(v.predictions) == "table" and v.predictions or {}) do
    if type(pr.bytesBase64Encoded) == "string" then images[#images + 1] = { b64Json = pr.bytesBase64Encoded } end
  end
  if #images == 0 then return no_images(p, model, v) end
  return { id = adapter.id("img"), model = model, images = images }
end

local function gemini_images(self, opts)
  local p, model = self.provider, self.model
  if model:match("^imagen") or model:match("^models/imagen") then return imagen(self, opts) end
  local body = gemini.build_request({ messages = { { role = "user", content = opts.prompt } },
    modelOptions = opts.modelOptions })
  local gen = body.generationConfig or {}
  gen.responseModalities = gen.responseModalities or json.array({ "IMAGE" })
  if opts.size then
    local ic = copy(gen.imageConfig)
    ic.aspectRatio = _M.aspect_ratio(opts.size, GEMINI_RATIOS, "generate_image")
    gen.imageConfig = ic
  end
  body.generationConfig = gen
  local path = gemini.endpoint(model, false)
  local want = opts.numberOfImages or 1
  local images, usage = {}, nil
  -- image models answer one candidate per call: call once per image
  for _ = 1, want do
    local r, err = request.call(self.config, { provider = p.slug, gateway_path = path, body = body,
      label = p.label .. " image" })
    if not r then return nil, err end
    local v = r.value
    local cand = type(v) == "table" and type(v.candidates) == "table" and v.candidates[1] or nil
    local content = type(cand) == "table" and type(cand.content) == "table" and cand.content or {}
    local found = false
    for _, part in ipairs(type(content.parts) == "table" and content.parts or {}) do
      local d = part.inlineData
      if type(d) == "table" and type(d.data) == "string" and #images < want then
        images[#images + 1] = { b64Json = d.data }
        found = true
      end
    end
    if not found then return no_images(p, model, v) end
    usage = gemini.usage(v.usageMetadata)
    if #images >= want then break end
  end
  return { id = adapter.id("img"), model = model, images = images, usage = usage }
end

---------------------------------------------------------------------------------------------------

-- the request form a provider's image_api names (providers/<name>.lua)
local IMAGE_APIS = { images = images_api, chat = images_via_chat, generate_content = gemini_images }

local Adapter = {}
Adapter.__index = Adapter
Adapter.__tostring = function(a) return a.provider.label .. "ImageAdapter(" .. a.model .. ")" end

function Adapter:generate_images(opts)
  local p = self.provider
  if opts.size ~= nil and type(p.image_size) == "string" then
    raise("generate_image: options.size is not supported: " .. p.image_size)
  end
  return IMAGE_APIS[p.image_api](self, opts)
end

function _M.new(provider, model, cfg)
  local p = providers.get(provider)
  return setmetatable({ kind = "image", name = p.name, model = model, config = cfg, provider = p }, Adapter)
end

return _M
