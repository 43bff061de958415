-- The rockspecs list every module and C source in the tree (LuaRocks' builtin backend installs only those), and
-- are exactly what scripts/gen_rockspec.lua writes (make rockspec).
local shell = require("helpers.shell")

local VERSION = shell.run("lua5.4 scripts/gen_rockspec.lua --version"):gsub("%s+$", "")
local ROCKSPECS = {
  "cloudflare-tanstack-ai-scm-1.rockspec",
  "cloudflare-tanstack-ai-" .. VERSION .. "-1.rockspec",
}

describe("rockspec", function()
  it("lists every Lua module and every C source", function()
    for _, name in ipairs(ROCKSPECS) do
      local text = assert(shell.read_file("rockspec/" .. name), name)
      local p = io.popen("cd lua && find . -name '*.lua' | sed 's|^./||'")
      local n = 0
      for file in p:lines() do
        n = n + 1
        assert.truthy(text:find('"lua/' .. file .. '"', 1, true), file .. " is missing from " .. name ..
          ": run make rockspec")
      end
      p:close()
      assert.is_true(n > 20)
      local c = io.popen("ls csrc/*.c")
      for file in c:lines() do
        assert.truthy(text:find('"' .. file .. '"', 1, true), file .. " is missing from " .. name ..
          ": run make rockspec")
      end
      c:close()
    end
  end)

  it("are what make rockspec writes, and nothing else is in rockspec/", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert.is_true(shell.exec_ok("lua5.4 scripts/gen_rockspec.lua --out " .. shell.quote(dir) .. " >/dev/null"))
    for _, name in ipairs(ROCKSPECS) do
      assert.equals(shell.read_file(dir .. "/" .. name), shell.read_file("rockspec/" .. name),
        "rockspec/" .. name .. " is stale: run make rockspec")
    end
    shell.exec_ok("rm -rf " .. shell.quote(dir))
    local listed, wanted = {}, { ROCKSPECS[1], ROCKSPECS[2] }
    for f in shell.run("ls rockspec"):gmatch("[^\n]+") do listed[#listed + 1] = f end
    table.sort(listed)
    table.sort(wanted)
    assert.same(wanted, listed)
  end)
end)
