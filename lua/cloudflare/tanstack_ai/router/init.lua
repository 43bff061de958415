-- cloudflare.tanstack_ai.router: the provider-neutral router (tanstack.ai.router) with this package's adapter
-- constructors registered by name, so a target may say adapter = "create_workers_ai_chat" (every create_*
-- function of cloudflare.tanstack_ai). opts.constructors, when given, adds to (and wins over) them.
local router = require("tanstack.ai.router")

local type, pairs, setmetatable = type, pairs, setmetatable

local _M = setmetatable({}, { __index = router })

--- cloudflare.tanstack_ai's constructors by name (create_workers_ai_chat, create_openai_chat, ...).
function _M.constructors()
  local cf = require("cloudflare.tanstack_ai")
  local out = {}
  for k, v in pairs(cf) do
    if type(k) == "string" and k:match("^create_") and type(v) == "function" then out[k] = v end
  end
  return out
end

--- router.new with Cloudflare's constructors.
function _M.new(opts)
  if type(opts) ~= "table" or type(opts.routes) ~= "table" then
    error("router: new{ routes = { name = { targets } } }", 2)
  end
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  local c = _M.constructors()
  if type(opts.constructors) == "table" then for k, v in pairs(opts.constructors) do c[k] = v end end
  o.constructors = c
  return router.new(o)
end

return _M
