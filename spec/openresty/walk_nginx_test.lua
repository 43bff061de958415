-- The walk, measured: a streamed Workers AI chat with one server tool, posted to the example's
-- POST /api/chat in a real nginx (the example config, its router and route table), traced by spec/openresty/walk.lua.
-- It counts the source files the request enters (Lua files whose functions run, and the C files behind the core
-- functions it calls) and the distinct calls that cross between tanstack.ai and cloudflare.tanstack_ai, on a warm
-- worker (a first request loaded the modules). Run by `make test-openresty`.
local json = require("tanstack.ai.json")
local emulator = require("helpers.emulator")
local nginx = require("openresty.nginx")

local read_file = nginx._internal.read_file
local ROOT = nginx.root

-- the house's bound (docs/architecture.md, "The walk, measured"): a ratchet, lowered as files are folded together
local MAX_FILES = 50

describe("the walk: a streamed chat with a tool through the example router", function()
  local emu, srv

  setup(function()
    emu = emulator.start()
    local conf = assert(read_file(ROOT .. "/examples/openresty/nginx.conf"))
    local n
    conf, n = conf:gsub("        location = /healthz {", table.concat({
      "        location = /__walk {",
      "            lua_check_client_abort on;",
      "            client_max_body_size 1m;",
      "            client_body_buffer_size 1m;",
      "            content_by_lua_block {",
      "                local walk = require(\"openresty.walk\")",
      "                walk.start(" .. string.format("%q", ROOT) .. ")",
      "                local ok, err = pcall(assert(loadfile(" .. string.format("%q", ROOT .. "/examples/openresty/chat.lua") .. ")))",
      "                local report = walk.stop()",
      "                report.ok, report.err = ok, err and tostring(err)",
      "                ngx.shared.tanstack_test:set(\"walk\", require(\"tanstack.ai.json\").encode(report))",
      "            }",
      "        }",
      "        location = /__walk_report {",
      "            content_by_lua_block { ngx.print(ngx.shared.tanstack_test:get(\"walk\") or \"null\") }",
      "        }",
      "        location = /healthz {",
    }, "\n"), 1)
    assert(n == 1)
    srv = nginx.start({ base = conf, env = {
      CLOUDFLARE_ACCOUNT_ID = "0123456789abcdef0123456789abcdef",
      CLOUDFLARE_API_KEY = "walk-key",
      CLOUDFLARE_API_BASE_URL = emu.url .. "/client/v4",
      CHAT_MODEL = "@cf/meta/llama-3.1-8b-instruct-fp8",
    } })
  end)

  teardown(function()
    if srv then srv:stop() end
    if emu then emu:stop() end
  end)

  it("enters at most " .. MAX_FILES .. " files and crosses packages only through the adapter interface", function()
    local body = json.encode({ threadId = "t-walk", runId = "r-walk", tools = json.array(), context = json.array(),
      messages = { { id = "m1", role = "user", content = "What is the weather in Paris?" } } })
    -- the first request loads the modules (their main chunks); the walk is the second's: the path of a call
    assert.equals(200, (nginx.http("POST", srv.url .. "/__walk", body)))
    local status, _, out = nginx.http("POST", srv.url .. "/__walk", body)
    assert.equals(200, status, out)
    -- the run did what the walk is about: a tool call, its result, a second turn, the end
    assert.truthy(out:find('"toolCallName":"get_weather"', 1, true), out)
    assert.truthy(out:find('"type":"TOOL_CALL_RESULT"', 1, true), out)
    assert.truthy(out:find('"type":"TOOL_CALL_RESULT".*"type":"TEXT_MESSAGE_CONTENT"'), out) -- the second turn answered
    assert.truthy(out:find('"type":"RUN_FINISHED"', 1, true), out)
    local _, _, raw = nginx.http("GET", srv.url .. "/__walk_report")
    local r = json.decode(raw)
    assert.is_table(r, raw)
    assert.is_true(r.ok, tostring(r.err))
    local report = { "Lua files (" .. #r.lua .. "):" }
    for _, f in ipairs(r.lua) do report[#report + 1] = "  " .. f end
    report[#report + 1] = "C files (" .. #r.c .. "): " .. table.concat(r.c, " ")
    report[#report + 1] = "package crossings (" .. #r.edges .. " distinct):"
    for _, e in ipairs(r.edges) do report[#report + 1] = "  " .. e end
    local text = table.concat(report, "\n")
    io.stderr:write("\n", text, "\n")
    local total = #r.lua + #r.c
    assert.is_true(total <= MAX_FILES, total .. " files entered (at most " .. MAX_FILES .. "):\n" .. text)
    for _, e in ipairs(r.edges) do
      assert.is_nil(e:find("[outside the interface]", 1, true), "cloudflare.tanstack_ai calls tanstack.ai outside "
        .. "tanstack.ai.adapter: " .. e .. "\n" .. text)
    end
  end)
end)
