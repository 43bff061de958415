-- The Neovim plugin (plugin/cf_ai.lua, lua/cf_ai/): every command in a headless
-- Neovim against the emulator, credentials from the environment as a user exports them.
local emulator = require("helpers.emulator")
local nvim = require("nvim.helper")

local WARN, ERROR = 3, 4 -- vim.log.levels

local function find(notes, pattern, level)
  for _, n in ipairs(notes or {}) do
    if n.msg:find(pattern) and (level == nil or n.level == level) then return n end
  end
end

describe("Neovim plugin", function()
  local report, emu, requests
  setup(function()
    if not nvim.have_nvim() then return end
    emu = emulator.shared()
    emu:reset()
    report = nvim.run("plugin_in_nvim.lua", nvim.env(emu))
    requests = emu:requests()
  end)
  before_each(function()
    if not nvim.have_nvim() then pending("nvim is not installed") end
  end)

  local function step(name)
    local s = report.steps[name]
    assert.is_table(s, "no step " .. name)
    assert.is_nil(s.failed, s.failed)
    return s
  end

  it(":CfAiAsk streams the answer into a scratch buffer and leaves the cursor where it was", function()
    if not report then return end
    local s = step("ask")
    assert.equal("Hello from the Workers AI emulator! You said: What is a monad?", s.text)
    assert.is_true(s.stayed)
    assert.equal("nofile", s.buftype)
    assert.truthy(s.name:find("cf-ai://ask/", 1, true))
    assert.equal("sockets", report.async.kind)
  end)

  it(":CfAiChat keeps the conversation in one buffer; each prompt continues it", function()
    if not report then return end
    local s = step("chat")
    local expected = table.concat({
      "# cf-ai chat: @cf/meta/llama-4-scout-17b-16e-instruct (workers-ai)",
      "",
      "## You",
      "first question",
      "",
      "## Assistant",
      "Hello from the Workers AI emulator! You said: first question",
      "",
      "## You",
      "second question",
      "",
      "## Assistant",
      "Hello from the Workers AI emulator! You said: second question",
      "",
      "## You",
      "third, typed in the buffer",
      "",
      "## Assistant",
      "Hello from the Workers AI emulator! You said: third, typed in the buffer",
      "",
      "## You",
      "",
    }, "\n")
    assert.equal(expected, s.text)
    -- the third request carried the whole conversation
    local chats = {}
    for _, r in ipairs(requests) do
      if r.json and r.json.messages then chats[#chats + 1] = r.json.messages end
    end
    local found
    for _, msgs in ipairs(chats) do
      if #msgs == 5 and msgs[5].content == "third, typed in the buffer" then found = msgs end
    end
    assert.is_table(found, "no request with the whole conversation")
    assert.same({ "user", "assistant", "user", "assistant", "user" },
      { found[1].role, found[2].role, found[3].role, found[4].role, found[5].role })
    assert.equal("first question", found[1].content)
    assert.equal("Hello from the Workers AI emulator! You said: second question", found[4].content)
  end)

  it(":'<,'>CfAiSelection asks about the selected lines; a charwise selection sends only its characters", function()
    if not report then return end
    local s = step("selection")
    assert.equal("ret", s.charwise)
    local linewise, charwise
    for _, r in ipairs(requests) do
      local m = r.json and r.json.messages and r.json.messages[#r.json.messages]
      local c = m and type(m.content) == "string" and m.content or ""
      if c:find("What does this do?", 1, true) then linewise = c end
      if c:find("Explain this.", 1, true) then charwise = c end
    end
    assert.is_string(linewise)
    assert.truthy(linewise:find("```lua\nlocal function add(a, b)\n  return a + b\n```", 1, true), linewise)
    assert.is_nil(linewise:find("local x = 1", 1, true))
    assert.is_string(charwise)
    assert.truthy(charwise:find("```lua\nret\n```", 1, true), charwise)
  end)

  it(":CfAiCancel stops a running stream at once and says so", function()
    if not report then return end
    local s = step("cancel")
    assert.is_true(s.done)
    assert.is_true(s.ms < 250, "cancel took " .. s.ms .. " ms")
    assert.truthy(s.text:find("[canceled]", 1, true), s.text)
    assert.is_nil(s.text:find("w12", 1, true))
    assert.truthy(find(s.notes, "canceled"))
  end)

  it("errors are shown with vim.notify and reach on_error, never swallowed", function()
    if not report then return end
    local s = step("error")
    assert.truthy(s.on_error:find("bad model input", 1, true), s.on_error)
    assert.truthy(find(s.notes, "bad model input", ERROR), "no ERROR notification")
    local c = step("config_error")
    assert.is_false(c.job)
    assert.truthy(find(c.notes, "AI Gateway", ERROR), "no notification for the configuration error")
    -- the message names the setup{} key to set, not the library's config field
    assert.truthy(find(c.notes, "setup{ gateway = ", ERROR), "the message does not name setup{ gateway }")
    assert.is_false(c.no_account.job)
    assert.truthy(find(c.no_account.notes, "CLOUDFLARE_ACCOUNT_ID=... or set setup{ config = { accountId = ", ERROR),
      "no account id: " .. require("cjson").encode(c.no_account.notes))
    assert.is_false(c.no_key.job)
    assert.truthy(find(c.no_key.notes, "CLOUDFLARE_API_KEY=... or set setup{ config = { apiKey = ", ERROR),
      "no key: " .. require("cjson").encode(c.no_key.notes))
  end)

  it("setup{} mistakes name the key and the known providers", function()
    if not report then return end
    local s = step("setup_errors")
    assert.truthy(s.key:find("cf_ai.setup: unknown key 'modle' (setup{} takes provider, model,", 1, true), s.key)
    assert.truthy(s.provider:find("unknown provider 'groq' (setup{ provider = ... }: one of workers-ai, openai, " ..
      "anthropic, gemini, grok, openrouter)", 1, true), s.provider)
  end)

  it("callbacks run scheduled on the main loop: the editor API works in them; their errors are shown", function()
    if not report then return end
    local s = step("callbacks")
    assert.is_true(s.calls >= 1)
    for _, fast in ipairs(s.fast) do assert.is_false(fast) end
    assert.truthy(s.scratch:find("callbacks", 1, true), s.scratch)
    assert.is_nil(find(s.notes, "E5560"))
    assert.truthy(find(s.notes, "on_done: .*boom in on_done", ERROR), "the callback's error was not shown")
  end)

  it("takes any adapter: a provider through AI Gateway, or an adapter given to setup", function()
    if not report then return end
    local s = step("providers")
    assert.equal("Hello from the Anthropic emulator! You said: through the gateway", s.anthropic)
    assert.equal("Hello from the Workers AI emulator! You said: given adapter", s.given)
    local anth
    for _, r in ipairs(requests) do
      if r.path:find("/v1/0123456789abcdef0123456789abcdef/gw-test/anthropic/", 1, true) then anth = r end
    end
    assert.is_table(anth, "no request through the gateway")
    assert.equal("claude-test", anth.json.model)
  end)

  it("the docs' Neovim blocks (lazy.nvim, packer, setup; README.md and docs/*.md) run in Neovim", function()
    if not report then return end
    local s = step("readme")
    assert.is_true(#s.ran >= 3, #s.ran .. " blocks")
    assert.is_true(s.commands)
    local providers, pages = {}, {}
    for _, r in ipairs(s.ran) do
      providers[#providers + 1] = r.provider
      pages[r.page] = (pages[r.page] or 0) + 1
    end
    assert.is_true((pages["docs/neovim.md"] or 0) >= 3, "docs/neovim.md's blocks did not all run")
    assert.truthy(table.concat(providers, ","):find("anthropic", 1, true))
  end)

  it("uses vim.uv where Neovim has it (0.10 and newer; vim.loop on 0.7.2 and the rest)", function()
    if not report then return end
    local v = nvim.run("plugin_in_nvim.lua", nvim.env(emu, { CF_TEST_STEPS = "ask" }), { pre = "lua vim.uv = vim.loop" })
    assert.equal("vim.uv", v.uv)
    assert.is_nil(v.steps.ask.failed, v.steps.ask.failed)
    assert.equal("Hello from the Workers AI emulator! You said: What is a monad?", v.steps.ask.text)
  end)

  it(":checkhealth reports the core, the credentials (never their values) and the endpoint", function()
    if not report then return end
    local s = step("health")
    assert.truthy(s.with:find("OK: loaded from [^\n]*build/luajit/tanstack/ai/core.so"), s.with)
    assert.truthy(s.with:find("OK: wakeups driven by libcurl's sockets", 1, true))
    assert.truthy(s.with:find("OK: account id: set", 1, true))
    assert.truthy(s.with:find("OK: API key: set (CLOUDFLARE_API_KEY)", 1, true))
    assert.truthy(s.with:find("OK: http://127.0.0.1:%d+ answers %(HTTP %d+%)"), s.with)
    assert.truthy(s.with:find("^%s*cf_ai: require%(\"cf_ai.health\"%)"), s.with)
    assert.truthy(s.without:find("ERROR: API key: not set", 1, true), s.without)
    for _, text in ipairs({ s.with, s.without }) do
      assert.is_nil(text:find("nvim-secret-key-123", 1, true))
      assert.is_nil(text:find("0123456789abcdef0123456789abcdef", 1, true))
    end
  end)

  it("a bare :checkhealth (every health check, the plugin loaded) reports no failure and no E5108", function()
    if not report then return end
    local text = step("health_all").text
    assert.is_nil(text:find("Failed to run healthcheck", 1, true), text)
    assert.is_nil(text:find("E5108", 1, true), text)
    -- the plugin's own section is there, with the credentials of the environment and nothing wrong
    local from = text:find("\ncf_ai: ", 1, true)
    assert.truthy(from, text)
    local to = text:find("\n[^\n]+\n====", from + 1) -- the next section's title
    local section = text:sub(from, to or -1)
    assert.truthy(section:find("OK: API key: set (CLOUDFLARE_API_KEY)", 1, true), section)
    assert.is_nil(section:find("ERROR", 1, true), section)
    -- the router's circuit breaker is not a health check any more
    assert.is_nil(text:find("cloudflare.tanstack_ai.router", 1, true), text)
  end)

  it("require(\"cloudflare_tanstack_ai\") still works: the same module, one deprecation warning", function()
    if not report then return end
    local s = step("shim")
    assert.is_true(s.same)
    assert.equal(1, #s.notes, require("cjson").encode(s.notes))
    assert.truthy(s.notes[1].msg:find('use require("cf_ai")', 1, true), s.notes[1].msg)
    assert.equal(WARN, s.notes[1].level)
  end)
end)
