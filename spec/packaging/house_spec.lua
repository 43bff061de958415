-- The house's rules (docs/architecture.md), checked over the tree: short functions, one spec per module at
-- the mirrored path, one place that asks whether we run in nginx, one interface between the two packages, and no
-- module Neovim's :checkhealth would take for a health check.
local shell = require("helpers.shell")

local function lines(cmd)
  local out, p = {}, io.popen(cmd)
  for l in p:lines() do out[#out + 1] = l end
  p:close()
  return out
end

local MODULES = lines("cd lua && find . -name '*.lua' | sed 's|^./||' | sort")

describe("the house", function()
  it("has no hand-written Lua function longer than 80 lines (scripts/fn_lengths.lua)", function()
    local out = shell.run("lua5.4 scripts/fn_lengths.lua 80 2>&1")
    assert.truthy(out:find("^0 functions over 80 lines") or out:find("\n0 functions over 80 lines"), out)
  end)

  it("gives every module a spec at the mirrored path (lua/a/b.lua -> spec/a/b_spec.lua)", function()
    local missing = {}
    for _, m in ipairs(MODULES) do
      local spec = "spec/" .. m:gsub("%.lua$", "_spec.lua")
      if not shell.read_file(spec) then missing[#missing + 1] = "lua/" .. m .. " -> " .. spec end
    end
    assert.are.same({}, missing)
  end)

  it("asks whether it runs in nginx in one place (tanstack/ai/host.lua)", function()
    local found = lines("grep -rln 'rawget(_G, \"ngx\")' lua bin plugin examples | sort")
    assert.are.same({ "lua/tanstack/ai/host.lua" }, found)
  end)

  it("lets cloudflare.tanstack_ai use tanstack.ai only through the adapter interface", function()
    -- router/init.lua is the one other door: the provider-neutral router with Cloudflare's constructors registered
    local found = lines("grep -rHoE 'require\\(\"tanstack\\.ai[^\"]*\"\\)' lua/cloudflare | sort -u")
    assert.are.same({
      'lua/cloudflare/tanstack_ai/router/init.lua:require("tanstack.ai.router")',
    }, (function()
      local out = {}
      for _, l in ipairs(found) do if not l:find(':require("tanstack.ai.adapter")', 1, true) then out[#out + 1] = l end end
      return out
    end)())
    assert.is_true(#found > 10)
  end)

  it("has no lua/**/health.lua but the plugin's (Neovim's :checkhealth runs each)", function()
    assert.are.same({ "lua/cf_ai/health.lua" }, lines("find lua -name health.lua -o -path '*/health/init.lua' | sort"))
  end)
end)
