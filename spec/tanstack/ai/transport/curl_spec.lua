-- The transport conformance suite (spec/openresty/transport_cases.lua) against the libcurl transport.
-- The same cases run inside nginx against the cosocket transport in spec/openresty/nginx_test.lua.
local cases = require("openresty.transport_cases")
local emulator = require("helpers.emulator")

-- luasystem ships with busted (lua-system): wall-clock time and a real sleep
local system = require("system")

describe("transport conformance: libcurl", function()
  local emu, tls, raw, ctx

  setup(function()
    emu = emulator.shared()
    tls = require("openresty.tls").start()
    raw = require("tanstack.ai.transport.raw_server").start()
    ctx = {
      tls = tls,
      raw = function(name) return raw.url .. name end,
      transport = require("tanstack.ai.transport.curl"),
      base = emu.url,
      now_ms = function() return system.gettime() * 1000 end,
      sleep = function(ms) system.sleep(ms / 1000) end,
    }
  end)

  teardown(function()
    if tls then tls:stop() end
    if raw then raw:stop() end
  end)

  for _, name in ipairs(cases.names) do
    it(name, function()
      local ok, err = cases.run(name, ctx)
      assert(ok, err)
    end)
  end
end)
