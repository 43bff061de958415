-- tanstack.ai.adapter: the one interface a provider package uses (cloudflare.tanstack_ai requires nothing else of
-- tanstack.ai). An adapter *describes* a request as data; a pipeline made once per adapter config sends it
-- (the one retry loop, through the transport) and turns the answer into one response form: AG-UI events for a
-- chat turn (SSE or a whole JSON answer), a whole answer (decoded JSON or bytes) for everything else.
--
-- The provider supplies one hook table:
--   send(cfg, d)          -> a transport request { method, url, headers, body, ... } that the pipeline sends, or
--                            a response (a binding's answer: { status, headers, body | read | value }), or nil, err.
--                            Called once per attempt.
--   classify(...)         the provider's error classifier (tanstack/ai/errors.lua documents it)
--   unwrap(v) -> v        an envelope around whole JSON answers, removed (optional)
--   payload_error(v, provider) -> err | nil   an error report inside a 2xx JSON answer (optional)
--   prepare(cfg, d) -> err | nil              refuses a description before anything is sent (optional)
--
-- A description d (data only): provider, model, label (named in errors), stream (the answer is expected as SSE),
-- and whatever the provider's send hook reads (body, paths, headers, ...).
--
-- Helpers adapters legitimately need, re-exported here by name (see each field below): json, errors, the wire
-- formats by name, media sniffing and WAV wrapping, ids, base64 and multipart, raise, the structured-output parser,
-- summarize on a chat adapter.
local json = require("tanstack.ai.json")
local errors = require("tanstack.ai.errors")
local events = require("tanstack.ai.events")
local formats = require("tanstack.ai.formats")
local http = require("tanstack.ai.http")
local turn = require("tanstack.ai.turn")
local media = require("tanstack.ai.media")
local options = require("tanstack.ai.options")
local core = require("tanstack.ai.core")

local type, setmetatable = type, setmetatable

local _M = {}

---------------------------------------------------------------------------------------------------
-- Helpers, by name
---------------------------------------------------------------------------------------------------

--- JSON (tanstack/ai/json.lua): encode, decode, try_encode, array, object, is_array, null.
_M.json = json
--- Error values (tanstack/ai/errors.lua): new, wrap, is_error, from_http, from_payload, is_payload,
--- retryable_status, register_secret.
_M.errors = errors
--- A wire format by name ("openai", "anthropic", "gemini"), checked against the interface of formats/init.lua.
_M.format = formats.get
--- Media (tanstack/ai/media.lua): sniff(bytes) -> mime type, wav(pcm, rate, channels, bits).
_M.media = media
--- A fresh id with a prefix ("run", "img", ...).
_M.id = events.id
--- Base64 (RFC 4648) and multipart/form-data (RFC 7578) encoding, from the C core.
_M.base64_encode, _M.base64_decode = core.base64_encode, core.base64_decode
_M.multipart_encode = core.multipart_encode
--- Raise a programmer's mistake at the caller's line (a bad option, a bad constructor argument).
_M.raise = options.raise
--- The known name nearest to `name` among the keys of `spec` (either spelling), or nil: "did you mean ...?".
_M.nearest = options.nearest

--- Parse structured output text into a table: (text, provider, label) -> table, text | nil, err.
function _M.parse_structured(text, provider, label)
  return require("tanstack.ai.structured").parse(text, provider, label)
end

--- Summarize on top of a chat adapter (TanStack's summarize activity for providers without their own).
function _M.summarizer(chat_adapter, label)
  return require("tanstack.ai.summarize").new(chat_adapter, label)
end

---------------------------------------------------------------------------------------------------
-- Reading answers (the one reader, tanstack/ai/http.lua)
---------------------------------------------------------------------------------------------------

--- Everything left in a response, as bytes; nil, err (kind "network") when a read fails.
_M.read_all = http.read_all
--- A whole answer: { value, headers } or { bytes, content_type, headers }; see http.read_whole for opts.
_M.read_whole = http.read_whole
--- A JSON answer read and decoded: { status, headers, value } | nil, err.
_M.decoded = http.decoded
--- "value" | "sse" | "json" | "bytes": what a 2xx answer is (streamed: read by a chat turn).
_M.answer_kind = http.answer_kind
--- A non-2xx response read into an error value (at most http.ERROR_BODY_MAX bytes of it).
_M.http_error = http.http_error
--- The running activity's progress callback (a transport request carries it as on_progress), or nil.
_M.current_progress = http.current_progress
--- The transport for this request: an explicit one, the nginx one where cosockets may be used, else libcurl.
_M.transport = http.transport

--- One transport request with the retry loop (opts: max_retries, provider, classify, transport): a 2xx
--- response or nil, err. For a plain download (the CLI fetching an image URL) as for anything else.
_M.request = http.request

--- A whole download: request(req, opts), then every byte of the 2xx answer (the response closed). Returns the
--- bytes and the response (status, headers), or nil, err (a non-2xx answer is an error value, kind "http").
function _M.fetch(req, opts)
  local res, err = http.request(req, opts)
  if not res then return nil, err end
  local bytes, rerr = http.read_all(res)
  http.close(res)
  if not bytes then return nil, rerr end
  return bytes, res
end

---------------------------------------------------------------------------------------------------
-- The pipeline
---------------------------------------------------------------------------------------------------

---@class tanstack.ai.Pipeline
---@field cfg table        the adapter's resolved config (transport, max_retries, ...)
---@field hooks table      the provider's hook table
local Pipeline = {}
Pipeline.__index = Pipeline
_M.Pipeline = Pipeline -- the methods below are part of the interface

--- A pipeline for one adapter config and the provider's hooks (made once per config, see the provider).
---@param cfg table { transport = <explicit transport>?, max_retries = n? }
---@param hooks table { send, classify, unwrap?, payload_error?, prepare?, explain? }
---@return tanstack.ai.Pipeline
function _M.pipeline(cfg, hooks)
  if type(hooks) ~= "table" or type(hooks.send) ~= "function" then
    _M.raise("adapter.pipeline: hooks.send must be a function")
  end
  return setmetatable({ cfg = cfg, hooks = hooks }, Pipeline)
end

-- One attempt: the hook describes (or answers) it, the transport sends a described HTTP request. `sent` keeps the
-- URL of the last request for the explain hook.
local function attempt(self, d, t, sent)
  local r, err = self.hooks.send(self.cfg, d)
  if r == nil then return nil, err end
  if r.url ~= nil then
    sent.url = r.url
    return t.request(r)
  end
  return r
end

--- Send a description with the one retry loop: a 2xx response (shapes: http.lua) or nil, err (err.label set).
function Pipeline:send(d)
  local hooks = self.hooks
  if hooks.prepare then
    local bad = hooks.prepare(self.cfg, d)
    if bad then return nil, bad end
  end
  local t = http.transport(self.cfg.transport)
  local sent = {}
  local res, err = http.with_retries(function() return attempt(self, d, t, sent) end, {
    max_retries = self.cfg.max_retries, provider = d.provider, transport = t, classify = hooks.classify,
  })
  if not res and type(err) == "table" then
    if err.label == nil then err.label = d.label end
    -- what to do about it (a refused key's variable, a base URL's source, the path of a 404): err.hint
    if hooks.explain then hooks.explain(self.cfg, d, err, sent.url) end
  end
  return res, err
end

--- Read a whole (2xx) answer with this provider's envelope and error-report rules.
function Pipeline:read(res, label, provider)
  local hooks = self.hooks
  return http.read_whole(res, { label = label, provider = provider, unwrap = hooks.unwrap,
    payload_error = hooks.payload_error })
end

--- Send a description and read the whole answer: { value, headers } | { bytes, content_type, headers } | nil, err.
function Pipeline:call(d)
  local res, err = self:send(d)
  if not res then return nil, err end
  return self:read(res, d.label, d.provider)
end

--- One chat turn as AG-UI events: a producer { next, pending, close } (tanstack/ai/turn.lua).
--- ctx: format (a wire format), model, runId, threadId, used_ids, strict; open (optional: () -> res | nil, err,
--- when the provider reads the first answer itself, e.g. to ask again); provider defaults to d.provider.
function Pipeline:stream(d, ctx)
  local open = ctx.open or function() return self:send(d) end
  return turn.new(open, {
    format = ctx.format, model = ctx.model, strict = ctx.strict, runId = ctx.runId, threadId = ctx.threadId,
    used_ids = ctx.used_ids, provider = ctx.provider or (d and d.provider), classify = self.hooks.classify,
  })
end

return _M
