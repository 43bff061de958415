-- tanstack.ai.wire: TanStack's HTTP wire, both directions, under one name (the names ai.* re-exports and
-- README/specs use). The code lives in the edge's modules:
--   wire/agui.lua          AG-UI events -> the wire form (SSE / NDJSON), the response helpers
--   wire/agui_request.lua  chatParamsFromRequestBody, mergeAgentTools, REQUEST_LIMITS
--   edge/ingress.lua       the limits, body reading and shape checks both wires share
--   edge/relay.lua         the stream source, headers and the nginx writer both wires share
local agui = require("tanstack.ai.wire.agui")
local request = require("tanstack.ai.wire.agui_request")

local pairs = pairs

local _M = {}
for k, v in pairs(agui) do _M[k] = v end
for k, v in pairs(request) do _M[k] = v end

return _M
