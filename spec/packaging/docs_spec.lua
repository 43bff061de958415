-- docs/api.md is what `make docs` prints from the annotations, and every public function is in it.
local gen = dofile("scripts/gen_api.lua")

describe("API reference", function()
  it("docs/api.md is up to date (run make docs)", function()
    local f = assert(io.open("docs/api.md", "r"))
    local committed = f:read("*a")
    f:close()
    assert.equals(gen.generate("."), committed)
  end)

  it("documents every public function of tanstack.ai and every constructor of cloudflare.tanstack_ai", function()
    local text, documented = gen.generate(".")
    local ai = require("tanstack.ai")
    for name, v in pairs(ai) do
      -- snake_case names; the camelCase aliases are the same functions
      if type(v) == "function" and not name:find("%u") then
        assert.is_true(documented["tanstack.ai"][name] == true, "ai." .. name .. " has no annotations")
      end
    end
    local cf = require("cloudflare.tanstack_ai")
    for name, v in pairs(cf) do
      if type(v) == "function" and not name:find("%u") then
        assert.is_truthy(text:find("`" .. name .. "`", 1, true), "cf." .. name .. " is not in docs/api.md")
      end
    end
  end)
end)
