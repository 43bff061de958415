-- OpenAI's Embeddings API at the edge (POST /v1/embeddings, https://platform.openai.com/docs/api-reference/embeddings):
-- the request ({ model, input, encoding_format, dimensions, user }) read over edge/ingress.lua, and the answer in
-- OpenAI's list shape ({ object = "list", data = {{ object = "embedding", index, embedding }}, model, usage }).
-- `encoding_format = "base64"` (what the official SDKs ask for by default) is the float32 little-endian bytes of
-- each vector, base64-encoded, as OpenAI sends them. Errors: wire/openai.lua's shape.
local json = require("tanstack.ai.json")
local core = require("tanstack.ai.core")
local ingress = require("tanstack.ai.edge.ingress")
local openai = require("tanstack.ai.wire.openai")
local read_body = require("tanstack.ai.wire.openai_request").read_body

local type, ipairs, floor, concat = type, ipairs, math.floor, table.concat

local _M = {}

--- The limits parse_request applies (each overridable in its opts): the body's bytes and nesting, the number of
--- inputs (OpenAI's own cap: 2048) and the bytes of one input.
_M.LIMITS = { maxBodyBytes = 1048576, maxDepth = 8, maxInputs = 2048, maxInputBytes = 65536 }

local function bad(message, param, code)
  return nil, openai.error(400, message, code or "invalid_request", param)
end

local function read_input(input, limits)
  if type(input) == "string" then
    if #input == 0 then return bad("input must not be empty", "input") end
    if #input > limits.maxInputBytes then
      return bad("input is longer than " .. limits.maxInputBytes .. " bytes", "input", "limit_exceeded")
    end
    return { input }
  end
  if not ingress.is_array(input) or #input == 0 then
    return bad("input must be a string or a non-empty array of strings", "input")
  end
  if #input > limits.maxInputs then
    return bad("input has more than " .. limits.maxInputs .. " entries", "input", "limit_exceeded")
  end
  for i, s in ipairs(input) do
    if type(s) ~= "string" then
      -- token arrays need the model's tokenizer, which this edge does not have
      return bad("input[" .. (i - 1) .. "] must be a string (token arrays are not supported)", "input")
    end
    if #s == 0 then return bad("input[" .. (i - 1) .. "] must not be empty", "input") end
    if #s > limits.maxInputBytes then
      return bad("input[" .. (i - 1) .. "] is longer than " .. limits.maxInputBytes .. " bytes", "input",
        "limit_exceeded")
    end
  end
  return input
end

--- Read an embeddings request body (JSON text or a decoded table): { model, input = { strings },
--- encodingFormat = "float" | "base64", dimensions, user } or nil, err (OpenAI's error shape, status 400 / 413).
function _M.parse_request(body, opts)
  local limits = ingress.limits(_M.LIMITS, opts, nil, "openai_embeddings.parse_request")
  local decoded, derr = read_body(body, limits)
  if not decoded then return nil, derr end
  if type(decoded.model) ~= "string" or decoded.model == "" then return bad("model is required", "model") end
  local input, err = read_input(decoded.input, limits)
  if not input then return nil, err end
  local fmt = decoded.encoding_format
  if fmt == nil or fmt == json.null then fmt = "float" end
  if fmt ~= "float" and fmt ~= "base64" then
    return bad("encoding_format must be \"float\" or \"base64\"", "encoding_format")
  end
  local dims = decoded.dimensions
  if dims == json.null then dims = nil end
  if dims ~= nil and (type(dims) ~= "number" or dims < 1 or dims ~= floor(dims)) then
    return bad("dimensions must be a positive integer", "dimensions")
  end
  local user = decoded.user
  if type(user) ~= "string" then user = nil end
  return { model = decoded.model, input = input, encodingFormat = fmt, dimensions = dims, user = user }
end

-- float32 little-endian bytes of a vector: string.pack on Lua 5.3+, the FFI on LuaJIT.
local pack_floats
if string.pack then
  local pack = string.pack
  pack_floats = function(v)
    local parts = {}
    for i, x in ipairs(v) do parts[i] = pack("<f", x) end
    return concat(parts)
  end
else
  local ffi = require("ffi")
  local little = ffi.abi("le")
  pack_floats = function(v)
    local n = #v
    local buf = ffi.new("float[?]", n)
    for i = 1, n do buf[i - 1] = v[i] end
    local s = ffi.string(buf, n * 4)
    if not little then s = s:gsub("(.)(.)(.)(.)", "%4%3%2%1") end
    return s
  end
end
_M.pack_floats = pack_floats

--- OpenAI's answer for an embedding result ({ embeddings = {{...}}, usage }): opts.model (the name the client
--- asked for), opts.encodingFormat ("float" or "base64"), opts.dimensions (vectors cut to that length, as
--- OpenAI's models shorten theirs), opts.promptTokens (when the provider reports none).
function _M.to_response(res, opts)
  opts = opts or {}
  local data = {}
  for i, v in ipairs(res.embeddings or {}) do
    if opts.dimensions and #v > opts.dimensions then
      local cut = {}
      for j = 1, opts.dimensions do cut[j] = v[j] end
      v = cut
    end
    local emb = v
    if opts.encodingFormat == "base64" then emb = core.base64_encode(pack_floats(v)) else emb = json.array(v) end
    data[i] = { object = "embedding", index = i - 1, embedding = emb }
  end
  local u = res.usage or {}
  local prompt = u.inputTokens or u.promptTokens or u.prompt_tokens or opts.promptTokens or 0
  return { object = "list", data = json.array(data), model = opts.model or res.model,
    usage = { prompt_tokens = prompt, total_tokens = prompt } }
end

--- GET /v1/models: a router's routes and aliases (Router:models()) in OpenAI's list shape
--- (https://platform.openai.com/docs/api-reference/models/list). created: a Unix time (the server's start).
function _M.models_list(models, created, owned_by)
  local data = {}
  for i, m in ipairs(models) do
    data[i] = { id = m.id, object = "model", created = created or 0, owned_by = owned_by or "router" }
  end
  return { object = "list", data = json.array(data) }
end

return _M
