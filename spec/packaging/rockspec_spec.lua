-- The rockspec lists every module and C source in the tree (LuaRocks' builtin backend installs only those).
describe("rockspec", function()
  it("lists every Lua module and every C source", function()
    local f = assert(io.open("rockspec/cloudflare-tanstack-ai-scm-1.rockspec"))
    local text = f:read("*a")
    f:close()
    local p = io.popen("cd lua && find . -name '*.lua' | sed 's|^./||'")
    local n = 0
    for file in p:lines() do
      n = n + 1
      assert.truthy(text:find('"lua/' .. file .. '"', 1, true), file .. " is missing: run make rockspec")
    end
    p:close()
    assert.is_true(n > 20)
    local c = io.popen("ls csrc/*.c")
    for file in c:lines() do
      assert.truthy(text:find('"' .. file .. '"', 1, true), file .. " is missing: run make rockspec")
    end
    c:close()
  end)
end)
