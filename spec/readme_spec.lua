-- Every ```lua example in README.md runs, against the emulator (credentials and base URLs from the
-- environment, as a user's would be).
local emulator = require("helpers.emulator")
local env = require("helpers.env")

local function blocks()
  local f = assert(io.open("README.md", "r"))
  local text = f:read("*a")
  f:close()
  local out = {}
  for code in text:gmatch("```lua\n(.-)```") do out[#out + 1] = code end
  return out
end

local load_chunk = function(code, name, env_table)
  if setfenv then
    local fn, err = loadstring(code, name)
    if fn then setfenv(fn, env_table) end
    return fn, err
  end
  return load(code, name, "t", env_table)
end

describe("README examples", function()
  local emu
  setup(function() emu = emulator.shared() end)

  local list = blocks()
  it("has examples to run", function() assert.is_true(#list >= 10) end)

  for i, code in ipairs(list) do
    it("example " .. i .. " runs: " .. (code:match("[^\n]+") or ""), function()
      if code:find("cloudflare_tanstack_ai", 1, true) then
        -- a Neovim block (the plugin's setup, lazy.nvim / packer specs) runs inside Neovim: spec/nvim/plugin_spec.lua
        assert.is_function(load_chunk(code, "README example " .. i, {}))
        return
      end
      if code:find("ngx%.") then
        -- a block for nginx runs there (spec/openresty/nginx_test.lua serves README's nginx block); here it must
        -- compile, and every ai.* / cf.* name it uses must exist
        assert.is_function(load_chunk(code, "README example " .. i, {}))
        local ai, cf = require("tanstack.ai"), require("cloudflare.tanstack_ai")
        for name in code:gmatch("[^%w_%.]ai%.([%a_][%w_]*)") do assert.is_function(ai[name], "ai." .. name) end
        for name in code:gmatch("[^%w_%.]cf%.([%a_][%w_]*)") do assert.is_function(cf[name], "cf." .. name) end
        return
      end
      emu:reset()
      local printed = {}
      local written = {} -- files an example writes go to temporary files, checked below
      local sandbox_io = setmetatable({
        open = function(path, mode)
          if path == "speech.mp3" then
            return { read = function() return "ID3\3\0\0\0\0\0\0" .. string.rep("\255\251\144\0", 64) end,
              close = function() end }
          end
          if mode and mode:find("w", 1, true) then
            local tmp = os.tmpname()
            written[path] = tmp
            return io.open(tmp, mode)
          end
          return io.open(path, mode)
        end,
        write = function(...) for _, v in ipairs({ ... }) do printed[#printed + 1] = tostring(v) end end,
      }, { __index = io })
      local ai = require("tanstack.ai")
      local cf = require("cloudflare.tanstack_ai")
      local sandbox = setmetatable({
        print = function(...)
          local t = {}
          for k = 1, select("#", ...) do t[k] = tostring((select(k, ...))) end
          printed[#printed + 1] = table.concat(t, "\t")
        end,
        io = sandbox_io,
      }, { __index = _G })
      env.with({
        CLOUDFLARE_ACCOUNT_ID = "readme-acct", CLOUDFLARE_API_KEY = "readme-key-123456",
        CLOUDFLARE_API_BASE_URL = emu.url .. "/client/v4", CLOUDFLARE_AI_GATEWAY_BASE_URL = emu.url .. "/v1",
      }, function() -- only the variables the README documents
        -- names the examples share, as a reader's program would have them
        sandbox.ai, sandbox.cf = ai, cf
        sandbox.AI = cf.binding({ accountId = "readme-acct", apiKey = "readme-key-123456" })
        sandbox.adapter = cf.create_workers_ai_chat("@cf/meta/llama-4-scout-17b-16e-instruct", {})
        sandbox.gw = sandbox.AI:gateway("my-gateway-id")
        local fn, err = load_chunk(code, "README example " .. i, sandbox)
        assert.is_function(fn, err)
        local ok, rerr = pcall(fn)
        assert.is_true(ok, tostring(rerr))
      end)
      local out = table.concat(printed, "\n")
      -- the files an example writes are what their names say
      local media = require("tanstack.ai.media")
      local WANT = { png = "image/png", mp3 = "audio/mpeg", wav = "audio/wav" }
      for path, tmp in pairs(written) do
        local f = assert(io.open(tmp, "rb"))
        local bytes = f:read("*a")
        f:close()
        os.remove(tmp)
        local ext = path:match("%.(%w+)$")
        assert.is_true(#bytes > 16, path .. " is empty")
        if WANT[ext] then assert.equals(WANT[ext], media.sniff(bytes), path) end
      end
      if code:find("summary = \"short\"", 1, true) then assert.matches("short", out) end
      if code:find("ai.embed", 1, true) then assert.matches("2\t768", out) end
      if code:find("b64Json", 1, true) then assert.is_true(#out > 20) end
      -- every example that talks to a model reached the emulator
      if code:find("ai%.") and not code:find("error%(") then
        assert.is_true(#emu:requests() > 0, "example " .. i .. " sent no request")
      end
    end)
  end
end)
