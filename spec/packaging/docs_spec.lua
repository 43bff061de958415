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

-- The error kinds: every kind the code produces is a row of README's error table, and every row is a kind the code
-- produces. A kind is found as a string literal where an error value is built: `kind = "x"` inside the arguments of
-- errors.new / errors.wrap (any module's), a transport's failure(message, "x"), `<err>.kind = "x"`, and the C core's
-- set_failure(r, "x") / r->kind = "x".
local docs = require("helpers.docs")

local function lines_of(cmd)
  local out = {}
  local p = assert(io.popen(cmd))
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  return out
end

-- Lua source with comments dropped and the text of string literals blanked (so parentheses inside messages do not
-- unbalance %b()), keeping literals that are a bare name ("network").
local function sanitize(src)
  src = src:gsub("%-%-%[%[.-%]%]", ""):gsub("%-%-[^\n]*", "")
  local function blank(q)
    return function(s)
      if s:match("^" .. q .. "[%w_]+" .. q .. "$") then return s end
      return q .. string.rep("x", #s - 2) .. q
    end
  end
  src = src:gsub('"[^"\n]*"', blank('"'))
  src = src:gsub("'[^'\n]*'", blank("'"))
  return src
end

local function kinds_in_code()
  local found = {} -- kind -> where
  local function add(kind, where) found[kind] = found[kind] or where end
  for _, path in ipairs(lines_of("find lua -name '*.lua' | sort")) do
    local src = sanitize(docs.read(path))
    local calls = { "errors%.[%w_]+%s*(%b())" }
    -- inside an errors module, its own constructors (_M.new, M.new)
    if path:find("error", 1, true) then calls[2] = "%f[%w_]_?M%.[%w_]+%s*(%b())" end
    for _, call in ipairs(calls) do
      for args in src:gmatch(call) do
        for k in args:gmatch("kind%s*=%s*\"([%w_]+)\"") do add(k, path) end
        for k in args:gmatch("kind%s*=%s*[%w_%.]+%s+or%s+\"([%w_]+)\"") do add(k, path) end
      end
    end
    for args in src:gmatch("failure%s*(%b())") do
      local k = args:match(",%s*\"([%w_]+)\"%s*%)$")
      if k then add(k, path) end
    end
    for k in src:gmatch("%f[%w_]e[r]*%.kind%s*=%s*\"([%w_]+)\"") do add(k, path) end
  end
  for _, path in ipairs(lines_of("ls csrc/*.c")) do
    local src = docs.read(path)
    for k in src:gmatch("set_failure%s*%(%s*r%s*,%s*\"([%w_]+)\"") do add(k, path) end
    for k in src:gmatch("r%->kind%s*=%s*\"([%w_]+)\"") do add(k, path) end
  end
  return found
end

-- README's error table: kind -> its row's cells; rows about a code only ("(code `x`)") in codes.
local function error_table()
  local readme = docs.read("README.md")
  local s = assert(readme:find("\n## Errors\n", 1, true), "README has no '## Errors' section")
  local e = readme:find("\n## ", s + 1, true) or #readme
  local kinds, codes = {}, {}
  for row in readme:sub(s, e):gmatch("\n(|[^\n]+|)") do
    local cells = {}
    for cell in row:gmatch("|([^|]*)") do cells[#cells + 1] = cell:match("^%s*(.-)%s*$") end
    if #cells > 0 and cells[#cells] == "" then cells[#cells] = nil end
    local first = cells[1]
    if first ~= "`err.kind`" and not first:match("^%-+$") then
      local into = first:find("(code", 1, true) and codes or kinds
      for name in first:gmatch("`([%w_]+)`") do into[name] = cells end
    end
  end
  return kinds, codes
end

describe("README's error table", function()
  local produced = kinds_in_code()
  local listed, codes = error_table()

  it("finds the kinds where the code builds errors (the scan itself works)", function()
    for _, k in ipairs({ "http", "provider", "network", "timeout", "tls", "too_large", "internal", "router",
      "bad_request" }) do
      assert.is_string(produced[k], "the scan missed kind " .. k)
    end
    assert.is_nil(produced.text, "an adapter's kind is not an error kind")
    assert.is_table(codes.invalid_tool_call)
  end)

  it("lists every kind the code produces", function()
    local missing = {}
    for k, where in pairs(produced) do
      if not listed[k] then missing[#missing + 1] = k .. " (" .. where .. ")" end
    end
    table.sort(missing)
    assert.same({}, missing)
  end)

  it("lists no kind the code does not produce, and says for each what it means and whether it is retryable", function()
    for k, cells in pairs(listed) do
      assert.is_string(produced[k], "README lists kind " .. k .. " but no code produces it")
      assert.equals(5, #cells, k)
      for i = 2, 5 do assert.is_true(cells[i] ~= "", k .. ": column " .. i .. " is empty") end
      assert.truthy(cells[4]:match("^yes") or cells[4]:match("^no") or cells[4]:find(": yes", 1, true), k .. ": " ..
        cells[4])
    end
  end)
end)

-- GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens.
local function slug(heading)
  return (heading:lower():gsub("[^%w%- _]", ""):gsub(" ", "-"))
end

-- The anchors of a page (its headings outside code blocks).
local function anchors(path)
  local text = docs.read(path):gsub("\n```.-\n```", "\n")
  local out = {}
  for heading in ("\n" .. text):gmatch("\n#+%s+([^\n]+)") do out[slug(heading)] = true end
  return out
end

local function dir_of(path) return path:match("^(.*)/") or "." end

local function exists(path)
  local f = io.open(path, "r")
  if f then f:close() end
  return f ~= nil
end

describe("the docs as a set of pages", function()
  local pages = docs.pages()

  it("README is a front door: at most 300 lines", function()
    local _, n = docs.read("README.md"):gsub("\n", "")
    assert.is_true(n <= 300, "README.md has " .. n .. " lines")
  end)

  it("README's two commands are the ones CI runs (.ci/run: the setup script, then make check)", function()
    local ci = docs.read(".ci/run")
    local readme = docs.read("README.md")
    local s = assert(readme:find("\n## The two commands\n", 1, true), "README has no '## The two commands' section")
    local section = readme:sub(s, readme:find("\n## ", s + 1, true))
    local block = assert(section:match("```sh\n(.-)```"), "no sh block in 'The two commands'")
    local ran = {}
    for line in ci:gmatch("[^\n]+") do
      if not line:match("^%s*#") then
        for target in line:gmatch("%f[%w]make ([%w%-]+)") do ran[#ran + 1] = target end
        if line:find("sh scripts/setup.sh", 1, true) then
          assert.truthy(section:find("sh scripts/setup.sh", 1, true), "README does not name the setup command")
        end
      end
    end
    assert.same({ "check" }, ran)
    assert.truthy(block:find("\nmake check ", 1, true) or block:find("^make check "), block)
    assert.truthy(block:find("\nmake demo ", 1, true), block)
  end)

  it("README's map links every page of docs/ and the :help file", function()
    local readme = docs.read("README.md")
    local s = assert(readme:find("\n## Documentation\n", 1, true), "README has no '## Documentation' section")
    local map = readme:sub(s)
    for _, page in ipairs(pages) do
      if page ~= "README.md" then assert.truthy(map:find("(" .. page .. ")", 1, true), page .. " is not in the map") end
    end
    assert.truthy(map:find("(doc/cf_ai.txt)", 1, true))
  end)

  it("every relative link of README.md and docs/*.md reaches a file, and its #anchor a heading there", function()
    local broken = {}
    for _, page in ipairs(pages) do
      local text = docs.read(page):gsub("\n```.-\n```", "\n")
      for target in text:gmatch("%]%(([^)%s]+)%)") do
        if not target:match("^%a[%w+.-]*:") then -- not https:, mailto:
          local file, anchor = target:match("^([^#]*)#?(.*)$")
          local path = file == "" and page or (dir_of(page) .. "/" .. file):gsub("^%./", "")
          while path:find("[^/]+/%.%./") do path = path:gsub("[^/]+/%.%./", "", 1) end
          if not exists(path) then
            broken[#broken + 1] = page .. ": " .. target .. " (no file " .. path .. ")"
          elseif anchor ~= "" and path:match("%.md$") and not anchors(path)[anchor] then
            broken[#broken + 1] = page .. ": " .. target .. " (no heading #" .. anchor .. " in " .. path .. ")"
          end
        end
      end
    end
    assert.same({}, broken)
  end)

  it("every path of the tree a page names in `code` exists (README.md and the pages not owned elsewhere)", function()
    local others = { ["docs/api.md"] = true, ["docs/architecture.md"] = true, ["docs/security.md"] = true }
    local TOP = { lua = true, spec = true, csrc = true, bench = true, examples = true, scripts = true, bin = true,
      plugin = true, doc = true, docs = true, rockspec = true }
    local missing = {}
    for _, page in ipairs(pages) do
      if not others[page] then
        for path in docs.read(page):gmatch("`([%w_%-%./]+)`") do
          local top = path:match("^([%w_]+)/")
          if top and TOP[top] and not path:find("..", 1, true) then
            local ok = os.execute("test -e '" .. path .. "'")
            if ok ~= true and ok ~= 0 then missing[#missing + 1] = page .. ": " .. path end
          end
        end
      end
    end
    assert.same({}, missing)
  end)

  it("make bench writes its table into docs/performance.md, between one pair of markers", function()
    local perf = docs.read("docs/performance.md")
    local b1, b2 = perf:find("<!-- bench:begin -->\n", 1, true)
    local e1 = perf:find("<!-- bench:end -->", 1, true)
    assert.truthy(b1 and e1 and b2 < e1, "docs/performance.md has no bench:begin / bench:end block")
    assert.is_nil(perf:find("<!-- bench:begin -->", b2, true), "two bench:begin markers")
    assert.truthy(perf:sub(b2, e1):find("| figure | Lua 5.4 | LuaJIT |", 1, true))
    assert.is_nil(docs.read("README.md"):find("bench:begin", 1, true), "README.md still holds the bench block")
    local run = docs.read("bench/run.lua")
    assert.truthy(run:find('"/docs/performance.md"', 1, true), "bench/run.lua does not write docs/performance.md")
    assert.is_nil(run:find('"/README.md"', 1, true), "bench/run.lua still writes README.md")
  end)
end)

describe("doc/cf_ai.txt (:help cf_ai)", function()
  local help = docs.read("doc/cf_ai.txt")
  local tags = {}
  for tag in help:gmatch("%*([^%s*|]+)%*") do tags[tag] = true end

  it("is a help file: its name tag first, a modeline last", function()
    assert.truthy(help:match("^%*cf_ai%.txt%*"), "the first line names the file")
    assert.truthy(tags.cf_ai and tags["cf_ai-commands"] and tags["cf_ai-setup"] and tags["cf_ai.setup()"])
    assert.truthy(help:match("vim:[^\n]*ft=help[^\n]*\n?$"), "no help modeline at the end")
  end)

  it("has a tag for every command the plugin defines", function()
    local cmds = {}
    for _, path in ipairs(lines_of("grep -rhoE '\"CfAi[A-Za-z]*\"' lua plugin | sort -u")) do
      cmds[#cmds + 1] = path:sub(2, -2)
    end
    assert.is_true(#cmds >= 4, table.concat(cmds, " "))
    for _, c in ipairs(cmds) do assert.is_true(tags[":" .. c] == true, ":" .. c .. " has no help tag") end
  end)

  it("every |link| names a tag of the file or of Neovim's own help", function()
    local builtin = { [":checkhealth"] = true }
    for link in help:gmatch("|([^|%s]+)|") do
      assert.is_true(tags[link] == true or builtin[link] == true, "|" .. link .. "| has no tag")
    end
  end)
end)
