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
