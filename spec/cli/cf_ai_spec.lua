-- bin/cf-ai: every subcommand against the emulator, its output files, --json, the exit statuses (0 / 1 runtime /
-- 2 usage) and the progress bar under a pseudo-terminal. The CLI runs on the interpreter running this spec
-- (CF_AI_LUA), so both Lua 5.4 and LuaJIT are covered by make test.
local emulator = require("helpers.emulator")
local shell = require("helpers.shell")
local cjson = require("cjson")

local LUA = jit and "luajit" or "lua5.4"

local function root()
  local src = debug.getinfo(1, "S").source:sub(2)
  local dir = src:match("^(.*)/spec/cli/") or "."
  if dir:sub(1, 1) ~= "/" then dir = os.getenv("PWD") .. "/" .. dir end
  return dir
end
local ROOT = root()
local CLI = ROOT .. "/bin/cf-ai"

local function have(cmd) return shell.run("command -v " .. cmd .. " 2>/dev/null") ~= "" end

-- Run the CLI: args (a shell-quoted string is built from a table), env (table), stdin (string or nil).
-- Returns { out, err, status }.
-- The keys file and the logs of these runs: a directory of their own (XDG_CONFIG_HOME, XDG_DATA_HOME).
local HOME = os.tmpname()
os.remove(HOME)

local function cf_ai(args, env, stdin)
  local q = {}
  for _, a in ipairs(args) do q[#q + 1] = shell.quote(a) end
  local e = { "env", "-u", "CLOUDFLARE_ACCOUNT_ID", "-u", "CLOUDFLARE_API_KEY", "-u", "CLOUDFLARE_API_TOKEN",
    "-u", "CLOUDFLARE_API_BASE_URL", "-u", "CLOUDFLARE_AI_GATEWAY_BASE_URL", "CF_AI_LUA=" .. LUA,
    "XDG_CONFIG_HOME=" .. shell.quote(HOME .. "/config"), "XDG_DATA_HOME=" .. shell.quote(HOME .. "/data") }
  for k, v in pairs(env or {}) do e[#e + 1] = k .. "=" .. shell.quote(v) end
  local out, err, rc = os.tmpname(), os.tmpname(), os.tmpname()
  local input = "/dev/null"
  if stdin then
    input = os.tmpname()
    shell.write_file(input, stdin)
  end
  shell.exec_ok(table.concat(e, " ") .. " " .. shell.quote(CLI) .. " " .. table.concat(q, " ") ..
    " <" .. shell.quote(input) .. " >" .. shell.quote(out) .. " 2>" .. shell.quote(err) .. "; echo $? >" ..
    shell.quote(rc))
  local r = { out = shell.read_file(out), err = shell.read_file(err),
    status = tonumber((shell.read_file(rc) or ""):match("%d+")) }
  for _, f in ipairs({ out, err, rc }) do os.remove(f) end
  if stdin then os.remove(input) end
  return r
end

describe("cf-ai", function()
  local emu, env
  setup(function()
    emu = emulator.shared()
    env = { CLOUDFLARE_ACCOUNT_ID = "0123456789abcdef0123456789abcdef", CLOUDFLARE_API_KEY = "cli-secret-key",
      CLOUDFLARE_API_BASE_URL = emu.url .. "/client/v4", CLOUDFLARE_AI_GATEWAY_BASE_URL = emu.url .. "/v1" }
  end)
  before_each(function() emu:reset() end)

  local function ok(r)
    assert.equal(0, r.status, "exit " .. tostring(r.status) .. "; stderr: " .. tostring(r.err))
    assert.equal("", r.err) -- quiet when stderr is not a terminal
    return r
  end
  local function ok_err(r) -- status 0, with a note on stderr
    assert.equal(0, r.status, "exit " .. tostring(r.status) .. "; stderr: " .. tostring(r.err))
    return r
  end
  teardown(function() os.execute("rm -rf " .. shell.quote(HOME)) end)

  describe("chat", function()
    it("streams the answer to stdout, credentials from the environment", function()
      local r = ok(cf_ai({ "chat", "Why", "is", "the", "sky", "blue?" }, env))
      assert.equal("Hello from the Workers AI emulator! You said: Why is the sky blue?\n", r.out)
      local req = emu:last_request("/ai/")
      assert.truthy(req.path:find("/client/v4/accounts/0123456789abcdef0123456789abcdef/ai/", 1, true), req.path)
      assert.equal("Bearer cli-secret-key", req.headers.authorization)
      assert.equal("@cf/meta/llama-4-scout-17b-16e-instruct", req.json.model or req.path:match("/ai/run/(.*)$"))
      assert.is_true(req.json.stream)
    end)

    it("reads the prompt from stdin; -s is the system prompt; -m the model", function()
      local r = ok(cf_ai({ "chat", "-s", "Answer in French.", "-m", "@cf/mistral/mistral-7b-instruct-v0.1" }, env,
        "a question from stdin\n"))
      assert.equal("Hello from the Workers AI emulator! You said: a question from stdin\n", r.out)
      local req = emu:last_request("/ai/")
      assert.equal("@cf/mistral/mistral-7b-instruct-v0.1", req.json.model or req.path:match("/ai/run/(.*)$"))
      assert.same({ role = "system", content = "Answer in French." }, req.json.messages[1])
      assert.same({ role = "user", content = "a question from stdin" }, req.json.messages[2])
    end)

    it("\"-\" inserts stdin after the words", function()
      local r = ok(cf_ai({ "chat", "Summarize:", "-" }, env, "the text\n"))
      assert.equal("Hello from the Workers AI emulator! You said: Summarize:\n\nthe text\n", r.out)
    end)

    it("reaches a provider through AI Gateway (--provider, --gateway)", function()
      local r = ok(cf_ai({ "chat", "--provider", "anthropic", "--gateway", "auth-gw", "-m", "claude-test", "hi" },
        env))
      assert.equal("Hello from the Anthropic emulator! You said: hi\n", r.out)
      local req = emu:last_request("/anthropic/")
      assert.equal("/v1/0123456789abcdef0123456789abcdef/auth-gw/anthropic/v1/messages", req.path)
      assert.equal("Bearer cli-secret-key", req.headers["cf-aig-authorization"])
      assert.equal("claude-test", req.json.model)
    end)

    it("takes the provider's default model and its key variable from its provider file", function()
      local e = { OPENAI_API_KEY = "sk-openai-cli" }
      for k, v in pairs(env) do e[k] = v end
      local r = ok(cf_ai({ "chat", "--provider", "openai", "--gateway", "gw", "hi" }, e))
      assert.truthy(r.out:find("hi", 1, true), r.out)
      local req = emu:last_request("/openai/")
      assert.equal("/v1/0123456789abcdef0123456789abcdef/gw/openai/chat/completions", req.path)
      assert.equal("gpt-4o-mini", req.json.model)
      assert.equal("Bearer sk-openai-cli", req.headers.authorization)
      assert.equal("Bearer cli-secret-key", req.headers["cf-aig-authorization"])
    end)

    it("-v says on stderr how it finished", function()
      local r = cf_ai({ "-v", "chat", "hi" }, env)
      assert.equal(0, r.status)
      assert.truthy(r.err:find("^cf%-ai: @cf/meta/llama%-4%-scout%-17b%-16e%-instruct finished %(stop%), %d+ prompt %+ %d+ completion tokens\n$"), r.err)
      local file = os.tmpname()
      r = cf_ai({ "image", "--verbose", "-o", file, "x" }, env)
      os.remove(file)
      assert.equal("cf-ai: wrote " .. file .. " (" .. r.err:match("%((%d+) bytes") .. " bytes, image/png)\n", r.err)
    end)

    it("--json: one document with the text, the finish reason and the usage", function()
      local r = ok(cf_ai({ "--json", "chat", "hi" }, env))
      local j = cjson.decode(r.out)
      assert.equal("Hello from the Workers AI emulator! You said: hi", j.text)
      assert.equal("stop", j.finishReason)
      assert.equal("@cf/meta/llama-4-scout-17b-16e-instruct", j.model)
      assert.is_number(j.usage.totalTokens)
      assert.truthy(r.out:find('"@cf/meta/llama', 1, true), "slashes unescaped")
    end)
  end)

  describe("image", function()
    it("-o writes the PNG", function()
      local file = os.tmpname() .. ".png"
      local r = ok(cf_ai({ "image", "-o", file, "a", "cat", "in", "space" }, env))
      assert.equal("", r.out)
      local bytes = shell.read_file(file)
      os.remove(file)
      assert.equal("\137PNG\r\n\26\n", bytes:sub(1, 8))
      assert.equal("a cat in space", emu:last_request("/ai/run/").json.prompt)
    end)

    it("--json names the file, its size and type; without -o the bytes go to a redirected stdout", function()
      local file = os.tmpname() .. ".png"
      local r = ok(cf_ai({ "image", "--json", "-o", file, "--size", "512x384", "a cat" }, env))
      local j = cjson.decode(r.out)
      assert.equal(file, j.file)
      assert.equal("image/png", j.contentType)
      assert.equal(#shell.read_file(file), j.bytes)
      os.remove(file)
      local req = emu:last_request("/ai/run/")
      assert.equal(512, req.json.width)
      assert.equal(384, req.json.height)
      local raw = ok(cf_ai({ "image", "a cat" }, env))
      assert.equal("\137PNG\r\n\26\n", raw.out:sub(1, 8))
    end)
  end)

  describe("speak", function()
    it("-o out.mp3 writes an MP3; -o out.wav asks for WAV", function()
      local mp3 = os.tmpname() .. ".mp3"
      ok(cf_ai({ "speak", "-o", mp3, "Hello", "world" }, env))
      local bytes = shell.read_file(mp3)
      os.remove(mp3)
      local id3 = bytes:sub(1, 3) == "ID3"
      local frame = bytes:byte(1) == 0xFF and bytes:byte(2) >= 0xE0
      assert.is_true(id3 or frame, "not an MP3 header")
      assert.equal("Hello world", emu:last_request("/ai/run/").json.text)
      local wav = os.tmpname() .. ".wav"
      ok(cf_ai({ "speak", "-o", wav, "--voice", "luna", "Hi" }, env))
      bytes = shell.read_file(wav)
      os.remove(wav)
      assert.equal("RIFF", bytes:sub(1, 4))
      assert.equal("WAVE", bytes:sub(9, 12))
      local req = emu:last_request("/ai/run/")
      assert.equal("luna", req.json.speaker)
    end)

    it("--json without -o carries the audio in base64", function()
      local r = ok(cf_ai({ "speak", "--json", "Hello" }, env, nil))
      local j = cjson.decode(r.out)
      assert.equal("audio/mpeg", j.contentType)
      assert.is_string(j.audio)
      assert.is_nil(j.file)
    end)
  end)

  describe("transcribe", function()
    it("prints the text of an audio file; --json the whole result", function()
      local audio = os.tmpname()
      shell.write_file(audio, string.rep("\255\251\144\0", 1000))
      local r = ok(cf_ai({ "transcribe", audio }, env))
      assert.equal("transcribed 4000 bytes\n", r.out)
      r = ok(cf_ai({ "transcribe", "--json", audio }, env))
      os.remove(audio)
      local j = cjson.decode(r.out)
      assert.equal("transcribed 4000 bytes", j.text)
      assert.equal("@cf/openai/whisper-large-v3-turbo", j.model)
    end)
  end)

  describe("summarize", function()
    it("summarizes stdin", function()
      local text = "one two three four five six seven eight nine ten eleven twelve thirteen"
      local r = ok(cf_ai({ "summarize" }, env, text .. "\n"))
      assert.equal("one two three four five six seven eight nine ten\n", r.out)
      r = ok(cf_ai({ "summarize", "--json", "--max-length", "3" }, env, text))
      assert.equal("one two three", cjson.decode(r.out).summary)
    end)
  end)

  describe("embed", function()
    it("one JSON array per text; --json with the dimensions", function()
      local r = ok(cf_ai({ "embed", "first text", "second text" }, env))
      local lines = {}
      for line in r.out:gmatch("[^\n]+") do lines[#lines + 1] = cjson.decode(line) end
      assert.equal(2, #lines)
      assert.equal(768, #lines[1])
      r = ok(cf_ai({ "embed", "--json" }, env, "line one\nline two\nline three\n"))
      local j = cjson.decode(r.out)
      assert.equal(768, j.dimensions)
      assert.equal(3, #j.embeddings)
      assert.same({ "line one", "line two", "line three" }, emu:last_request("/ai/run/").json.text)
    end)
  end)

  describe("exit status", function()
    it("names the provider's missing activity and the provider list in usage errors", function()
      local r = cf_ai({ "speak", "--provider", "grok", "--gateway", "g", "-o", "/dev/null", "x" }, env)
      assert.equal(2, r.status)
      assert.truthy(r.err:find("^cf%-ai: grok has no speak model %(tts%)\n"), r.err)
      r = cf_ai({ "chat", "--provider", "groq", "--gateway", "g", "x" }, env)
      assert.truthy(r.err:find("unknown provider 'groq' (one of workers-ai, openai, anthropic, gemini, grok, openrouter)",
        1, true), r.err)
      r = cf_ai({ "chat", "--provider", "gemini", "x" }, env)
      assert.truthy(r.err:find("--provider gemini goes through AI Gateway: give --gateway ID", 1, true), r.err)
    end)

    it("2 for usage mistakes, with the reason on stderr", function()
      for _, args in ipairs({
        {},
        { "chat", "-o", "out.txt", "x" },
        { "summarize", "--voice", "luna", "x" },
        { "chat", "--max-tokens", "-5", "x" },
        { "chat", "--max-tokens", "2.5", "x" },
        { "chat", "--temperature", "-1", "x" },
        { "embed", "--cid", "x", "y" },
        { "logs", "-m", "m" },
        { "keys", "bogus" },
        { "models", "--task", "dancing" },
        { "chat", "--bogus", "x" },
        { "chat", "-m" },
        { "transcribe" },
        { "chat", "--provider", "openai", "hi" },
        { "chat", "--provider", "nope", "--gateway", "g", "hi" },
        { "embed", "--provider", "anthropic", "--gateway", "g", "x" }, -- (OpenAI embeds through the gateway)
        { "speak", "--provider", "anthropic", "--gateway", "g", "-o", "/dev/null", "x" },
        { "chat", "-m", "bad model name", "hi" },
        { "chat", "--temperature", "hot", "hi" },
      }) do
        local r = cf_ai(args, env)
        assert.equal(2, r.status, table.concat(args, " ") .. ": " .. tostring(r.err))
        assert.truthy(r.err:find("^cf%-ai: "), r.err)
        assert.is_nil(r.err:find("%.lua:%d"), "a library file path: " .. r.err)
        assert.equal("", r.out)
      end
      -- no credentials at all: the library's message, and still a usage error
      local r = cf_ai({ "chat", "hi" }, {})
      assert.equal(2, r.status)
      assert.truthy(r.err:find("CLOUDFLARE_ACCOUNT_ID", 1, true), r.err)
    end)

    it("1 for runtime failures; --json puts the error on stdout", function()
      emu:next({ status = 400, message = "bad input for the model" })
      local r = cf_ai({ "chat", "hi" }, env)
      assert.equal(1, r.status)
      assert.truthy(r.err:find("bad input for the model", 1, true), r.err)
      emu:next({ status = 401, message = "nope" })
      r = cf_ai({ "image", "--json", "-o", "/dev/null", "x" }, env)
      assert.equal(1, r.status)
      local j = cjson.decode(r.out)
      assert.equal(401, j.error.status)
      assert.equal("http", j.error.kind)
      assert.equal(1, j.error.exitStatus)
      r = cf_ai({ "transcribe", "/nonexistent/audio.mp3" }, env)
      assert.equal(1, r.status)
      assert.truthy(r.err:find("cannot read /nonexistent/audio.mp3", 1, true), r.err)
      -- nothing listens there
      r = cf_ai({ "chat", "hi" }, { CLOUDFLARE_ACCOUNT_ID = "0123456789abcdef0123456789abcdef", CLOUDFLARE_API_KEY = "k",
        CLOUDFLARE_API_BASE_URL = "http://127.0.0.1:9/client/v4" })
      assert.equal(1, r.status)
      assert.is_nil(r.err:find("k\n", 1, true))
    end)

    it("0 and the usage for --help; the version for --version", function()
      local r = ok(cf_ai({ "--help" }, env))
      assert.truthy(r.out:find("usage: cf-ai", 1, true))
      for _, c in ipairs({ "chat", "image", "speak", "transcribe", "summarize", "embed" }) do
        assert.truthy(r.out:find("\n  " .. c .. " ", 1, true), c)
      end
      -- one line per provider file: its name, its key variable, its commands
      assert.truthy(r.out:find("\n  gemini +GEMINI_API_KEY +chat, summarize, image, speak\n"), r.out)
      assert.truthy(r.out:find("\n  workers%-ai +CLOUDFLARE_API_KEY +chat, image, transcribe, speak, summarize, embed\n"),
        r.out)
      r = ok(cf_ai({ "--version" }, env))
      assert.truthy(r.out:match("^cf%-ai %d+%.%d+%.%d+\n$"), r.out)
    end)
  end)

  describe("the habits of llm", function()
    local function chat_requests()
      local out = {}
      for _, r in ipairs(emu:requests("/ai/")) do
        if r.json and r.json.messages then out[#out + 1] = r.json end
      end
      return out
    end

    it("cf-ai PROMPT runs a chat (a first word that is not a command is the prompt)", function()
      local r = ok(cf_ai({ "Why is the sky blue?" }, env))
      assert.equal("Hello from the Workers AI emulator! You said: Why is the sky blue?\n", r.out)
      r = ok(cf_ai({ "-s", "Be brief." }, env, "a question on stdin\n"))
      assert.equal("Hello from the Workers AI emulator! You said: a question on stdin\n", r.out)
      r = ok(cf_ai({ "dance" }, env))
      assert.equal("Hello from the Workers AI emulator! You said: dance\n", r.out)
      r = ok(cf_ai({ "-s", "Be brief.", "--", "models" }, env))
      assert.equal("Hello from the Workers AI emulator! You said: models\n", r.out)
      assert.same({ role = "system", content = "Be brief." }, emu:last_request("/ai/").json.messages[1])
    end)

    it("logs each conversation; -c continues the latest, --cid a given one, with its system prompt", function()
      local first = ok(cf_ai({ "--json", "-s", "You are terse.", "first turn" }, env))
      local cid = cjson.decode(first.out).conversation
      assert.truthy(cid:match("^%d+%-%d+%-%x+$"), cid)
      ok(cf_ai({ "--no-log", "unlogged" }, env))
      ok(cf_ai({ "-c", "second turn" }, env))
      local reqs = chat_requests()
      local msgs = reqs[#reqs].messages
      assert.same({ "system", "user", "assistant", "user" }, { msgs[1].role, msgs[2].role, msgs[3].role, msgs[4].role })
      assert.equal("You are terse.", msgs[1].content)
      assert.equal("first turn", msgs[2].content)
      assert.equal("Hello from the Workers AI emulator! You said: first turn", msgs[3].content)
      assert.equal("second turn", msgs[4].content)
      ok(cf_ai({ "--cid", cid, "-m", "@cf/mistral/mistral-7b-instruct-v0.1", "third turn" }, env))
      reqs = chat_requests()
      assert.equal(6, #reqs[#reqs].messages)
      local last = emu:last_request("/ai/")
      assert.equal("@cf/mistral/mistral-7b-instruct-v0.1", last.json.model or last.path:match("/ai/run/(.*)$"))
      -- where they are: one JSON Lines file per conversation, readable by its owner only
      local path = HOME .. "/data/cf-ai/logs/" .. cid .. ".jsonl"
      assert.equal(path:match("^(.*)/"), ok(cf_ai({ "logs", "path" }, env)).out:gsub("\n$", ""))
      assert.equal("-rw-------", shell.run("stat -c %A " .. shell.quote(path)):gsub("%s+$", ""))
      local lines = {}
      for line in shell.read_file(path):gmatch("[^\n]+") do lines[#lines + 1] = cjson.decode(line) end
      assert.equal(4, #lines)
      assert.equal("conversation", lines[1].type)
      assert.equal("third turn", lines[4].prompt)
      -- logs lists them, newest first; logs ID shows one
      local list = cjson.decode(ok(cf_ai({ "logs", "--json" }, env)).out)
      assert.equal(cid, list.conversations[1].id)
      assert.equal(3, list.conversations[1].responses)
      assert.equal("first turn", list.conversations[1].prompt)
      local shown = ok(cf_ai({ "logs", cid }, env)).out
      assert.truthy(shown:find("\n## You  %(@cf/meta/llama%-4%-scout%-17b%-16e%-instruct, [%dT:Z-]+%)\n\nsecond turn\n"),
        shown)
      local r = cf_ai({ "--cid", "nope", "x" }, env)
      assert.equal(2, r.status)
      assert.truthy(r.err:find("no conversation nope", 1, true), r.err)
    end)

    it("failures say what to do: a refused key names its variable, a dead base URL the variable it came from", function()
      emu:next({ status = 401, code = 10000, message = "Authentication error" })
      local r = cf_ai({ "hi" }, env)
      assert.equal(1, r.status)
      assert.truthy(r.err:find("Authentication error; check CLOUDFLARE_API_KEY, or store it: cf-ai keys set workers-ai",
        1, true), r.err)
      r = cf_ai({ "hi" }, { CLOUDFLARE_ACCOUNT_ID = "0123456789abcdef0123456789abcdef", CLOUDFLARE_API_KEY = "k",
        CLOUDFLARE_API_BASE_URL = "http://127.0.0.1:9/client/v4" })
      assert.equal(1, r.status)
      assert.truthy(r.err:find("; the base URL http://127.0.0.1:9/client/v4 comes from CLOUDFLARE_API_BASE_URL\n",
        1, true), r.err)
      r = cf_ai({ "hi" }, {})
      assert.equal(2, r.status)
      assert.truthy(r.err:find("(or store it: cf-ai keys set CLOUDFLARE_ACCOUNT_ID)", 1, true), r.err)
    end)

    it("--no-stream prints the answer once it is whole: a stream cut halfway prints nothing", function()
      local r = ok(cf_ai({ "--no-stream", "whole" }, env))
      assert.equal("Hello from the Workers AI emulator! You said: whole\n", r.out)
      emu:next({ drop_after = 3 })
      r = cf_ai({ "cut short" }, env)
      assert.equal(1, r.status)
      assert.truthy(#r.out > 1, "streamed: the part before the cut is printed")
      emu:next({ drop_after = 3 })
      r = cf_ai({ "--no-stream", "cut short" }, env)
      assert.equal(1, r.status)
      assert.equal("", r.out)
    end)

    it("-a attaches an image (its type from its bytes); a file of another kind is refused", function()
      local png = ok(cf_ai({ "image", "--json", "-o", os.tmpname() .. ".png", "x" }, env))
      local file = cjson.decode(png.out).file
      local r = ok(cf_ai({ "-m", "@cf/meta/llama-4-scout-17b-16e-instruct", "-a", file, "what is this?" }, env))
      assert.truthy(r.out:find("what is this?", 1, true), r.out)
      local body = emu:last_request("/ai/").body
      local b64 = shell.run("base64 -w0 " .. shell.quote(file))
      os.remove(file)
      assert.truthy(body:find(b64:sub(1, 40), 1, true), "the image's base64 is in the request")
      local txt = os.tmpname()
      shell.write_file(txt, "plain text")
      r = cf_ai({ "-a", txt, "x" }, env)
      os.remove(txt)
      assert.equal(2, r.status)
      assert.truthy(r.err:find("not an image or audio file", 1, true), r.err)
    end)

    it("--option NAME VALUE sets a model option (JSON values parsed)", function()
      ok(cf_ai({ "--option", "top_k", "5", "--option", "seed", "42", "x" }, env))
      local req = emu:last_request("/ai/").json
      assert.equal(5, req.top_k)
      assert.equal(42, req.seed)
    end)

    it("keys set NAME stores a key 0600 under XDG_CONFIG_HOME; it serves when the variable is unset", function()
      local r = ok_err(cf_ai({ "keys", "set", "workers-ai" }, {}, "stored-secret\n"))
      assert.truthy(r.err:find("stored CLOUDFLARE_API_KEY in " .. HOME .. "/config/cf-ai/keys.json", 1, true), r.err)
      ok_err(cf_ai({ "keys", "set", "CLOUDFLARE_ACCOUNT_ID" }, {}, "fedcba9876543210fedcba9876543210\n"))
      local path = HOME .. "/config/cf-ai/keys.json"
      assert.equal("-rw-------", shell.run("stat -c %A " .. shell.quote(path)):gsub("%s+$", ""))
      assert.equal("CLOUDFLARE_ACCOUNT_ID\nCLOUDFLARE_API_KEY\n", ok(cf_ai({ "keys", "list" }, {})).out)
      ok(cf_ai({ "from keys" }, { CLOUDFLARE_API_BASE_URL = env.CLOUDFLARE_API_BASE_URL }))
      local req = emu:last_request("/ai/")
      assert.equal("Bearer stored-secret", req.headers.authorization)
      assert.truthy(req.path:find("/accounts/fedcba9876543210fedcba9876543210/", 1, true), req.path)
      -- the environment wins
      ok(cf_ai({ "from env" }, env))
      assert.equal("Bearer cli-secret-key", emu:last_request("/ai/").headers.authorization)
      ok_err(cf_ai({ "keys", "unset", "workers-ai" }, {}))
      ok_err(cf_ai({ "keys", "unset", "CLOUDFLARE_ACCOUNT_ID" }, {}))
      assert.equal("", ok(cf_ai({ "keys", "list" }, {})).out)
    end)

    it("keys set on a terminal: typed without echo", function()
      if not have("script") then pending("script (util-linux) is not installed") return end
      local log = os.tmpname()
      local inner = "env CF_AI_LUA=" .. LUA .. " XDG_CONFIG_HOME=" .. shell.quote(HOME .. "/tty-config") .. " " ..
        shell.quote(CLI) .. " keys set openai"
      shell.exec_ok("(sleep 1; printf 'typed-secret\\n') | script -qfec " .. shell.quote(inner) .. " /dev/null >" ..
        shell.quote(log) .. " 2>&1")
      local tty = shell.read_file(log)
      os.remove(log)
      assert.truthy(tty:find("Enter OPENAI_API_KEY: ", 1, true), tty)
      assert.is_nil(tty:find("typed-secret", 1, true), "the key was echoed: " .. tty)
      local stored = cjson.decode(shell.read_file(HOME .. "/tty-config/cf-ai/keys.json"))
      assert.equal("typed-secret", stored.OPENAI_API_KEY)
    end)

    it("models lists the catalog: --task filters, with aliases and capabilities; -m takes an alias", function()
      local r = ok(cf_ai({ "models", "--task", "chat" }, env))
      assert.truthy(r.out:find("\n@cf/meta/llama%-4%-scout%-17b%-16e%-instruct +text%-generation +alias " ..
        "llama%-4%-scout%-17b%-16e%-instruct  %[streaming, tools, structured%]  %(default for chat%)\n"), r.out)
      assert.truthy(r.out:find("\n@cf/meta/llama%-3%.2%-11b%-vision%-instruct +text%-generation +alias " ..
        "llama%-3%.2%-11b%-vision%-instruct  %[streaming, tools, vision, lora%]\n"), r.out)
      assert.is_nil(r.out:find("text-embeddings", 1, true))
      local j = cjson.decode(ok(cf_ai({ "models", "--json", "--task", "embed" }, env)).out)
      assert.is_true(#j.models > 1)
      for _, m in ipairs(j.models) do assert.equal("text-embeddings", m.task) end
      ok(cf_ai({ "-m", "mistral-7b-instruct-v0.1", "alias" }, env))
      local req = emu:last_request("/ai/")
      assert.equal("@cf/mistral/mistral-7b-instruct-v0.1", req.json.model or req.path:match("/ai/run/(.*)$"))
    end)

    it("an output path that cannot be written is refused before anything is asked", function()
      local r = cf_ai({ "image", "-o", "/nonexistent/dir/cat.png", "a cat" }, env)
      assert.equal(1, r.status)
      assert.truthy(r.err:find("cannot write /nonexistent/dir/cat.png", 1, true), r.err)
      assert.equal(0, #emu:requests("/ai/"))
    end)

    it("speak -o x.wav when the model answers MP3 says so and does not write MP3 bytes into the .wav", function()
      local base = os.tmpname()
      local mp3 = "ID3\3\0\0\0\0\0\0" .. string.rep("\255\251\144\0", 64)
      emu:next({ raw_base64 = require("tanstack.ai").base64_encode(mp3),
        content_type = "audio/mpeg" })
      local r = cf_ai({ "speak", "-o", base .. ".wav", "hello" }, env)
      assert.equal(1, r.status)
      assert.truthy(r.err:find("answered audio/mpeg, not the WAV " .. base .. ".wav asks for: wrote it to " ..
        base .. ".mp3 instead", 1, true), r.err)
      assert.is_nil(io.open(base .. ".wav"))
      assert.equal(mp3, shell.read_file(base .. ".mp3"))
      os.remove(base .. ".mp3")
      os.remove(base)
      -- a format the model does not offer is refused before it is asked: a usage error, no library path
      r = cf_ai({ "speak", "-m", "@cf/myshell-ai/melotts", "-o", base .. ".wav", "hello" }, env)
      assert.equal(2, r.status)
      assert.equal("cf-ai: generate_speech: format 'wav' is not supported by @cf/myshell-ai/melotts " ..
        "(allowed: mp3)\nTry 'cf-ai --help'.\n", r.err)
    end)

    it("Ctrl-C during a stream: status 130, the partial answer kept, no traceback", function()
      emu:next({ drip_ms = 300 })
      local out, err = os.tmpname(), os.tmpname()
      local e = { "CF_AI_LUA=" .. LUA, "XDG_DATA_HOME=" .. shell.quote(HOME .. "/data") }
      for k, v in pairs(env) do e[#e + 1] = k .. "=" .. shell.quote(v) end
      -- the sh preamble execs the interpreter: $! is the Lua process, which gets SIGINT as from a terminal
      local status = shell.run("env " .. table.concat(e, " ") .. " " .. shell.quote(CLI) .. " 'a long story' >" ..
        shell.quote(out) .. " 2>" .. shell.quote(err) .. " </dev/null & p=$!; sleep 1.2; kill -INT $p; wait $p; echo $?")
      local text, msg = shell.read_file(out), shell.read_file(err)
      os.remove(out)
      os.remove(err)
      assert.equal("130", status:gsub("%s+$", ""), msg)
      assert.equal("cf-ai: interrupted\n", msg)
      assert.truthy(#text > 1 and ("Hello from the Workers AI emulator! You said: a long story\n"):find(
        text:gsub("\n$", ""), 1, true) == 1, string.format("%q", text))
      assert.is_true(#text < #"Hello from the Workers AI emulator! You said: a long story\n")
    end)

    it("shows a terminal's control sequences in the answer instead of sending them; a pipe gets them as sent", function()
      local evil = "x\27]52;c;aGk=\7\27]0;title\7\27[2J\194\155y"
      local piped = ok(cf_ai({ evil }, env))
      assert.equal("Hello from the Workers AI emulator! You said: " .. evil .. "\n", piped.out)
      assert.truthy(ok(cf_ai({ "--json", evil }, env)).out:find("\\u001b]52;c;aGk=", 1, true))
      if not have("script") then pending("script (util-linux) is not installed") return end
      local log = os.tmpname()
      local e = { "CF_AI_LUA=" .. LUA, "TERM=xterm" }
      for k, v in pairs(env) do e[#e + 1] = k .. "=" .. shell.quote(v) end
      local inner = "env " .. table.concat(e, " ") .. " " .. shell.quote(CLI) .. " -q --no-log " .. shell.quote(evil)
      shell.exec_ok("script -qfec " .. shell.quote(inner) .. " /dev/null >" .. shell.quote(log) .. " 2>&1 </dev/null")
      local tty = shell.read_file(log)
      os.remove(log)
      assert.equal("Hello from the Workers AI emulator! You said: x^[]52;c;aGk=^G^[]0;title^G^[[2J<U+009B>y\r\n", tty)
    end)
  end)

  it("started by lua5.1 (LuaRocks' wrapper after the LuaJIT rock) it runs again on LuaJIT or Lua 5.4", function()
    if not have("lua5.1") then pending("lua5.1 is not installed") return end
    local out = shell.run("env -u CF_AI_LUA CLOUDFLARE_ACCOUNT_ID=0123456789abcdef0123456789abcdef CLOUDFLARE_API_KEY=k " ..
      "CLOUDFLARE_API_BASE_URL=" .. shell.quote(env.CLOUDFLARE_API_BASE_URL) .. " XDG_DATA_HOME=" ..
      shell.quote(HOME .. "/data") .. " lua5.1 " .. shell.quote(CLI) .. " 'from lua5.1' 2>&1; echo \"rc=$?\"")
    assert.equal("Hello from the Workers AI emulator! You said: from lua5.1\nrc=0\n", out)
    out = shell.run("env -u CF_AI_LUA lua5.1 " .. shell.quote(CLI) .. " chat --max-tokens 0 x 2>&1; echo \"rc=$?\"")
    assert.truthy(out:find("rc=2\n$"), out)
  end)

  it("--emulator labels its answers as placeholders (on a terminal, or with -v)", function()
    local r = cf_ai({ "-v", "--emulator", "--no-log", "offline" }, {})
    assert.equal(0, r.status, r.err)
    assert.truthy(r.err:find("^cf%-ai: talking to the local emulator at http://127%.0%.0%.1:%d+: its answers are " ..
      "placeholders, not a model's\n"), r.err)
  end)

  it("--emulator refuses as Cloudflare does: an unknown model, a malformed account id", function()
    local r = cf_ai({ "--emulator", "--no-log", "-m", "@cf/meta/llama-3.1-8b-instruct", "hi" }, {})
    assert.equal(1, r.status)
    assert.truthy(r.err:find("No such model @cf/meta/llama-3.1-8b-instruct or task; the nearest catalog models: " ..
      "@cf/meta/llama-3-8b-instruct, ", 1, true), r.err)
    r = cf_ai({ "--emulator", "--no-log", "hi" }, { CLOUDFLARE_ACCOUNT_ID = "my-account" })
    assert.equal(1, r.status)
    assert.truthy(r.err:find("perhaps your object identifier is invalid?", 1, true), r.err)
  end)

  it("--emulator starts the local emulator: no credentials needed", function()
    local r = ok(cf_ai({ "--emulator", "chat", "offline" }, {}))
    assert.equal("Hello from the Workers AI emulator! You said: offline\n", r.out)
  end)

  describe("progress bar", function()
    it("is drawn on stderr under a terminal, then cleared; the answer is untouched", function()
      if not have("script") then pending("script (util-linux) is not installed") return end
      emu:next({ head_delay_ms = 700 })
      local file = os.tmpname() .. ".png"
      local log = os.tmpname()
      local e = { "CF_AI_LUA=" .. LUA, "TERM=xterm" }
      for k, v in pairs(env) do e[#e + 1] = k .. "=" .. shell.quote(v) end
      -- script gives the command a pseudo-terminal for stdin, stdout and stderr; what it printed lands in log
      local inner = "env " .. table.concat(e, " ") .. " " .. shell.quote(CLI) .. " image -o " .. shell.quote(file) ..
        " a slow cat"
      assert.is_true(shell.exec_ok("script -qfec " .. shell.quote(inner) .. " /dev/null >" .. shell.quote(log) ..
        " 2>&1 </dev/null"))
      local tty = shell.read_file(log)
      local bytes = shell.read_file(file)
      os.remove(log)
      os.remove(file)
      assert.equal("\137PNG\r\n\26\n", bytes:sub(1, 8))
      local frames = 0
      for _ in tty:gmatch("\rimage  waiting for the model [|/\\-]  %d+%.%ds\27%[K") do frames = frames + 1 end
      assert.is_true(frames >= 3, "frames: " .. frames .. " in " .. string.format("%q", tty))
      assert.truthy(tty:find("\r\27[K", 1, true), "the bar is not cleared")
      assert.equal("\r\27[K", tty:sub(-4), "something after the bar: " .. string.format("%q", tty:sub(-80)))
    end)

    it("chat: the bar waits with you, then leaves the terminal to the text", function()
      if not have("script") then pending("script (util-linux) is not installed") return end
      emu:next({ head_delay_ms = 500 })
      local log = os.tmpname()
      local e = { "CF_AI_LUA=" .. LUA, "TERM=xterm" }
      for k, v in pairs(env) do e[#e + 1] = k .. "=" .. shell.quote(v) end
      local inner = "env " .. table.concat(e, " ") .. " " .. shell.quote(CLI) .. " chat tell me"
      assert.is_true(shell.exec_ok("script -qfec " .. shell.quote(inner) .. " /dev/null >" .. shell.quote(log) ..
        " 2>&1 </dev/null"))
      local tty = shell.read_file(log)
      os.remove(log)
      local bar_end = tty:find("\r\27[KHello", 1, true)
      assert.truthy(bar_end, string.format("%q", tty))
      assert.truthy(tty:sub(1, bar_end):find("chat  waiting for the model", 1, true))
      assert.equal("Hello from the Workers AI emulator! You said: tell me\r\n", tty:sub(bar_end + 4))
    end)

    it("is not drawn when stderr is not a terminal, nor with -q", function()
      emu:next({ head_delay_ms = 300 })
      local r = ok(cf_ai({ "chat", "quiet" }, env))
      assert.equal("", r.err)
      if have("script") then
        local log = os.tmpname()
        local inner = "env CF_AI_LUA=" .. LUA .. " CLOUDFLARE_ACCOUNT_ID=0123456789abcdef0123456789abcdef CLOUDFLARE_API_KEY=k " ..
          "CLOUDFLARE_API_BASE_URL=" .. shell.quote(emu.url .. "/client/v4") .. " " .. shell.quote(CLI) .. " -q chat hi"
        shell.exec_ok("script -qfec " .. shell.quote(inner) .. " /dev/null >" .. shell.quote(log) .. " 2>&1 </dev/null")
        local tty = shell.read_file(log)
        os.remove(log)
        assert.equal("Hello from the Workers AI emulator! You said: hi\r\n", tty)
      end
    end)
  end)
end)
