-- tanstack.ai: the activities (chat, summarize, generate_image, generate_transcription, generate_speech,
-- embed), tools, and the stream/HTTP helpers. snake_case names with TanStack's camelCase aliases.
-- The annotations (LuaLS) are the API reference: `make docs` renders them into docs/api.md.
local _M = { _VERSION = "0.2.0" }

local function lazy(mod, fn)
  return function(...) return require(mod)[fn](...) end
end

---Chat with a model: a stream of AG-UI events (default), the whole text (`stream = false`), or the decoded object
---(`outputSchema`). Runs the agent loop over server tools; a client tool or an approval ends the run with an
---interrupt that a later call resumes.
---@param opts tanstack.ai.ChatOptions
---@return tanstack.ai.Stream|string|table|nil result a stream; the text; the structured object
---@return tanstack.ai.Error? err a runtime failure (`stream = false`, structured output)
function _M.chat(opts) return require("tanstack.ai.chat").chat(opts) end

---A tool definition; `:server(fn)` makes a tool that runs here, `:client()` one the caller runs.
---@param def tanstack.ai.ToolDefinition
---@return tanstack.ai.Tool
function _M.tool_definition(def) return require("tanstack.ai.tools").definition(def) end

---Summarize a text.
---@param opts tanstack.ai.SummarizeOptions
---@return tanstack.ai.SummarizeResult|nil result
---@return tanstack.ai.Error? err
function _M.summarize(opts) return require("tanstack.ai.activities").summarize(opts) end

---Generate images.
---@param opts tanstack.ai.ImageOptions
---@return tanstack.ai.ImageResult|nil result
---@return tanstack.ai.Error? err
function _M.generate_image(opts) return require("tanstack.ai.activities").generate_image(opts) end

---Transcribe audio.
---@param opts tanstack.ai.TranscriptionOptions
---@return tanstack.ai.TranscriptionResult|nil result
---@return tanstack.ai.Error? err
function _M.generate_transcription(opts) return require("tanstack.ai.activities").generate_transcription(opts) end

---Speak a text.
---@param opts tanstack.ai.SpeechOptions
---@return tanstack.ai.SpeechResult|nil result
---@return tanstack.ai.Error? err
function _M.generate_speech(opts) return require("tanstack.ai.activities").generate_speech(opts) end

---Embed texts.
---@param opts tanstack.ai.EmbedOptions
---@return tanstack.ai.EmbedResult|nil result
---@return tanstack.ai.Error? err
function _M.embed(opts) return require("tanstack.ai.activities").embed(opts) end

---A stream's events as Server-Sent Events lines (`data: {...}\n\n`), TanStack's wire form.
---@param stream tanstack.ai.Stream
---@param opts? table
---@return fun(): string|nil iterator
_M.to_server_sent_events = lazy("tanstack.ai.wire", "to_server_sent_events")

---A stream's events as NDJSON lines, TanStack's `toHttpStream` form.
---@param stream tanstack.ai.Stream
---@param opts? table
---@return fun(): string|nil iterator
_M.to_http_stream = lazy("tanstack.ai.wire", "to_http_stream")

---An HTTP response of Server-Sent Events: inside nginx's content phase it is written to the client at once
---(`true` or `nil, err`); elsewhere a table `{status, headers, body = iterator}`.
---@param stream tanstack.ai.Stream
---@param init? table status, headers, and the wire options
---@return table|boolean|nil response
---@return tanstack.ai.Error|string? err
_M.to_server_sent_events_response = lazy("tanstack.ai.wire", "to_server_sent_events_response")

---An HTTP response of NDJSON (`fetchHttpStream` clients); as `to_server_sent_events_response`.
---@param stream tanstack.ai.Stream
---@param init? table
---@return table|boolean|nil response
---@return tanstack.ai.Error|string? err
_M.to_http_response = lazy("tanstack.ai.wire", "to_http_response")

---Read a posted RunAgentInput (`@tanstack/ai-client`'s request body) into chat options; a malformed or hostile
---body gives `nil, err` with `err.status` (400, 413) and a message naming what is wrong.
---@param body string the request body
---@param opts? table limits and `allowSystemMessages`
---@return {messages: table, threadId: string, runId: string, parentRunId?: string, resume?: table, tools: table}|nil params
---@return {status: integer, message: string}? err
_M.chat_params_from_request_body = lazy("tanstack.ai.wire", "chat_params_from_request_body")

---Server tools first, then the client's declared tools (a name the server defines stays the server's).
---@param server_tools tanstack.ai.Tool[]
---@param client_tools? table[]
---@return tanstack.ai.Tool[]
_M.merge_agent_tools = lazy("tanstack.ai.wire", "merge_agent_tools")

---Drain a stream into its text.
---@param stream tanstack.ai.Stream
---@return string|nil text
---@return tanstack.ai.Error? err
function _M.stream_to_text(stream) return stream:text() end

---Bytes to base64 (the C core's codec).
---@param bytes string
---@return string base64
function _M.base64_encode(bytes) return require("tanstack.ai.core").base64_encode(bytes) end

---Base64 to bytes: `ai.base64_decode(image.b64Json) == image.bytes`.
---@param base64 string
---@return string|nil bytes nil when the input is not base64
function _M.base64_decode(base64) return require("tanstack.ai.core").base64_decode(base64) end

---The media type of bytes from their magic numbers (PNG, JPEG, WebP, WAV, MP3, Ogg, FLAC, WebM, MP4), or nil:
---what an image or a speech result really holds, whatever the answer's content type said.
---@param bytes string
---@return string|nil media_type "image/png", "audio/mpeg", ...
function _M.media_type(bytes) return require("tanstack.ai.media").sniff(bytes) end

---GET a URL's bytes (an image result's `url`, for one) over the transport of the host (libcurl, or cosockets
---inside nginx), with the library's retries. A non-2xx answer or a network failure is an error value.
---@param url string
---@param opts? table `timeout` (ms, default 120000), `max_bytes` (the largest body accepted)
---@return {bytes: string, contentType: string|nil, status: integer}|nil response
---@return tanstack.ai.Error? err
function _M.fetch(url, opts)
  opts = opts or {}
  local bytes, res = require("tanstack.ai.adapter").fetch({ method = "GET", url = url,
    timeout = opts.timeout or 120000, max_response_bytes = opts.max_bytes })
  if not bytes then return nil, res end
  local headers = res.headers or {}
  return { bytes = bytes, contentType = headers["content-type"] or headers["Content-Type"], status = res.status }
end

-- camelCase aliases, exactly as TanStack names them
_M.toolDefinition = _M.tool_definition
_M.generateImage = _M.generate_image
_M.generateTranscription = _M.generate_transcription
_M.generateSpeech = _M.generate_speech
_M.toServerSentEvents = _M.to_server_sent_events
_M.toHttpStream = _M.to_http_stream
_M.toServerSentEventsResponse = _M.to_server_sent_events_response
_M.toHttpResponse = _M.to_http_response
_M.chatParamsFromRequestBody = _M.chat_params_from_request_body
_M.streamToText = _M.stream_to_text
_M.mergeAgentTools = _M.merge_agent_tools

return _M
