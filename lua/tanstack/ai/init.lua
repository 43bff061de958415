-- tanstack.ai: the activities (chat, summarize, generate_image, generate_transcription, generate_speech,
-- embed), tools, and the stream/HTTP helpers. snake_case names with TanStack's camelCase aliases.
local _M = { _VERSION = "0.1.0" }

local function lazy(mod, fn)
  return function(...) return require(mod)[fn](...) end
end

_M.chat = lazy("tanstack.ai.chat", "chat")
_M.tool_definition = lazy("tanstack.ai.tools", "definition")
_M.summarize = lazy("tanstack.ai.activities", "summarize")
_M.generate_image = lazy("tanstack.ai.activities", "generate_image")
_M.generate_transcription = lazy("tanstack.ai.activities", "generate_transcription")
_M.generate_speech = lazy("tanstack.ai.activities", "generate_speech")
_M.embed = lazy("tanstack.ai.activities", "embed")
_M.to_server_sent_events = lazy("tanstack.ai.wire", "to_server_sent_events")
_M.to_http_stream = lazy("tanstack.ai.wire", "to_http_stream")
_M.to_server_sent_events_response = lazy("tanstack.ai.wire", "to_server_sent_events_response")
_M.to_http_response = lazy("tanstack.ai.wire", "to_http_response")
_M.chat_params_from_request_body = lazy("tanstack.ai.wire", "chat_params_from_request_body")
_M.merge_agent_tools = lazy("tanstack.ai.wire", "merge_agent_tools")
_M.stream_to_text = function(stream) return stream:text() end
-- bytes <-> base64 (the C core's codec): ai.base64_decode(result.images[1].b64Json) == result.images[1].bytes
_M.base64_encode = function(s) return require("tanstack.ai.core").base64_encode(s) end
_M.base64_decode = function(s) return require("tanstack.ai.core").base64_decode(s) end

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
