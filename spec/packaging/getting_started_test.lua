-- Getting started, as README.md tells it: make emulator (the export lines, /__emulator/health), the README's own
-- script run the README's way from the checkout, make demo PROMPT=..., make check naming missing tools up front,
-- and the Install section for root without sudo and for a user with it. (make test-packaging)
local util = require("packaging.util")

local README = assert(util.read_file("README.md"))

-- The text of README's "## <title>" section.
local function section(title)
  local s = README:find("\n## " .. title .. "\n", 1, true)
  assert(s, "README has no '## " .. title .. "' section")
  local e = README:find("\n## ", s + 1, true) or #README
  return README:sub(s, e)
end

-- The code blocks of a text, in order: { lang = "sh", code = "..." }.
local function blocks(text)
  local out = {}
  for lang, code in text:gmatch("\n```(%w*)\n(.-)```") do out[#out + 1] = { lang = lang, code = code } end
  return out
end

local NO_CF = "env -u CLOUDFLARE_ACCOUNT_ID -u CLOUDFLARE_API_KEY -u CLOUDFLARE_API_TOKEN " ..
  "-u CLOUDFLARE_API_BASE_URL -u CLOUDFLARE_AI_GATEWAY_BASE_URL "

describe("make emulator", function()
  local port, out_file, launcher, started, output, vars, assignments

  -- wait until the emulator answers; its output so far
  local function wait_listening()
    for _ = 1, 200 do
      local text = util.read_file(out_file) or ""
      if text:find("EMULATOR LISTENING", 1, true) then return text end
      os.execute("sleep 0.05")
    end
    return util.read_file(out_file) or ""
  end

  setup(function()
    port = util.free_port()
    out_file = os.tmpname()
    -- bounded: timeout ends make and the emulator after 120 s even if this process dies first
    launcher = util.must(NO_CF .. "timeout 120 make --no-print-directory emulator PORT=" .. port .. " > " ..
      out_file .. " 2>&1 < /dev/null & echo $!"):match("(%d+)")
    output = wait_listening()
    vars, assignments = util.exports(output)
    started = true
  end)

  teardown(function()
    if not started then return end
    local health = util.get(port, "/__emulator/health")
    local pid = health and health:match('"pid":(%d+)')
    if pid then os.execute("kill " .. pid .. " 2>/dev/null") end
    for _ = 1, 100 do   -- make (under timeout) ends with the emulator
      if select(2, util.sh("kill -0 " .. launcher .. " 2>/dev/null")) ~= 0 then break end
      os.execute("sleep 0.05")
    end
    os.remove(out_file)
  end)

  it("serves on 127.0.0.1:PORT in the foreground and answers /__emulator/health", function()
    assert.truthy(output:find("EMULATOR LISTENING http://127.0.0.1:" .. port, 1, true), output)
    local health = util.get(port, "/__emulator/health")
    assert.truthy(health, "no answer on /__emulator/health")
    assert.matches('"ok":true', health)
  end)

  it("prints the export lines that point a script at it", function()
    local url = "http://127.0.0.1:" .. port
    assert.truthy(vars.CLOUDFLARE_ACCOUNT_ID and vars.CLOUDFLARE_ACCOUNT_ID ~= "", output)
    assert.truthy(vars.CLOUDFLARE_API_KEY and vars.CLOUDFLARE_API_KEY ~= "", output)
    assert.equals(url .. "/client/v4", vars.CLOUDFLARE_API_BASE_URL)
    assert.equals(url .. "/v1", vars.CLOUDFLARE_AI_GATEWAY_BASE_URL)
  end)

  it("defaults to port 8787, the port README's export lines name", function()
    assert.matches("\nPORT %?= 8787\n", util.read_file("Makefile"))
    local gs = section("Getting started")
    assert.truthy(gs:find("export CLOUDFLARE_API_BASE_URL=http://127.0.0.1:8787/client/v4", 1, true))
    assert.truthy(gs:find("export CLOUDFLARE_AI_GATEWAY_BASE_URL=http://127.0.0.1:8787/v1", 1, true))
  end)

  it("runs README's script the README's way from the checkout, through Workers AI and AI Gateway", function()
    local gs = section("Getting started")
    local script, checkout
    for _, b in ipairs(blocks(gs)) do
      if b.lang == "lua" and not script then script = b.code end
      if b.lang == "sh" and b.code:find("export LUA_PATH=", 1, true) then checkout = b.code end
    end
    assert.truthy(script, "Getting started has a lua block (my_script.lua)")
    assert.truthy(checkout, "Getting started has the LUA_PATH / LUA_CPATH lines")
    assert.truthy(checkout:find("lua5.4 my_script.lua", 1, true))
    local dir = util.tmpdir()
    local f = assert(io.open(dir .. "/my_script.lua", "w"))
    f:write(script, [[
local gw = cf.create_openai_chat("gpt-4o", { gatewayId = "my-gateway" })
print(ai.chat({ adapter = gw, stream = false, messages = { { role = "user", content = "through the gateway" } } }))
]])
    f:close()
    -- the block as written, in the checkout's root, with only the script's path spelled out
    local got = util.must("env -u LUA_PATH -u LUA_CPATH " .. assignments .. " sh -c " ..
      util.quote("set -e\n" .. checkout:gsub("my_script%.lua", dir .. "/my_script.lua")))
    util.rm(dir)
    assert.truthy(got:find("Hello from the Workers AI emulator! You said: Hello!", 1, true), got)
    assert.truthy(got:find("Hello from the OpenAI emulator! You said: through the gateway", 1, true), got)
  end)

  it("refuses a PORT that is not a port number, saying so", function()
    local out, status = util.sh("make --no-print-directory emulator PORT=abc")
    assert.is_not.equals(0, status)
    assert.matches("PORT must be a port number", out)
  end)
end)

describe("make demo", function()
  it("takes the prompt from PROMPT=", function()
    local out, status = util.sh(NO_CF .. "timeout 60 make --no-print-directory demo PROMPT='What is a rock, in one line?'")
    assert.equals(0, status, out)
    assert.truthy(out:find("You said: What is a rock, in one line?", 1, true), out)
    assert.matches("talking to the local emulator", out)
  end)

  it("takes the prompt as its first argument, too", function()
    local out, status = util.sh(NO_CF .. "PROMPT=ignored LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' " ..
      "LUA_CPATH='build/lua5.4/?.so;;' timeout 60 lua5.4 examples/demo.lua 'argument prompt'")
    assert.equals(0, status, out)
    assert.truthy(out:find("You said: argument prompt", 1, true), out)
  end)
end)

describe("make check", function()
  it("starts with check-tools", function()
    assert.matches("\ncheck: check%-tools ", util.read_file("Makefile"))
  end)

  it("check-tools names missing node and npm, with the install command, and no stack trace", function()
    local out, status = util.sh("make --no-print-directory check-tools NODE=no-such-node-xyz NPM=no-such-npm-xyz")
    assert.is_not.equals(0, status)
    assert.truthy(out:find("make check needs: no-such-node-xyz no-such-npm-xyz", 1, true), out)
    assert.matches("Node%.js and npm", out)
    assert.matches("sh scripts/setup%.sh", out)
    assert.is_nil(out:find("traceback", 1, true), out)
  end)

  it("check-tools passes here", function()
    local out, status = util.sh("make --no-print-directory check-tools")
    assert.equals(0, status, out)
  end)
end)

describe("README's Install section", function()
  local install = section("Install")

  it("works for root without sudo and for a user with sudo", function()
    local sh_blocks = {}
    for _, b in ipairs(blocks(install)) do
      if b.lang == "sh" then sh_blocks[#sh_blocks + 1] = b.code end
    end
    local first = sh_blocks[1]
    assert.truthy(first:find("\nsh scripts/setup.sh", 1, true) or first:find("^sh scripts/setup.sh"), first)
    assert.truthy(first:find("sudo sh scripts/setup.sh", 1, true), first)
    assert.matches("as root", first)
  end)

  it("names the source rock make dist writes, with the LuaJIT install", function()
    local version = util.must("lua5.4 scripts/gen_rockspec.lua --version"):gsub("%s+$", "")
    local rock = "build/dist/cloudflare-tanstack-ai-" .. version .. "-1.src.rock"
    assert.truthy(install:find("luarocks --lua-version=5.4 install --deps-mode=none " .. rock, 1, true), install)
    assert.truthy(install:find("luarocks --lua-version=5.1 install --deps-mode=none " .. rock, 1, true), install)
    local inc = util.must("pkg-config --variable=includedir luajit"):gsub("%s+$", "")
    assert.truthy(install:find("LUA_INCDIR=" .. inc, 1, true), install)
  end)

  it("scripts/setup.sh, not root, prints the sudo command when something is missing", function()
    -- stubs: dpkg knows no package, the user is not root, sudo exists
    local dir = util.tmpdir()
    util.must("cd " .. dir .. " && printf '#!/bin/sh\\nexit 1\\n' > dpkg && printf '#!/bin/sh\\necho 1000\\n' > id" ..
      " && printf '#!/bin/sh\\nexit 1\\n' > sudo && chmod +x dpkg id sudo")
    local out, status = util.sh("PATH=" .. dir .. ":$PATH sh scripts/setup.sh")
    util.rm(dir)
    assert.equals(1, status, out)
    assert.truthy(out:find("sudo sh scripts/setup.sh", 1, true), out)
  end)
end)
