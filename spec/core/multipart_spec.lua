-- multipart/form-data encoder of the C core. Lua 5.1 syntax.
local core = require("tanstack.ai.core")
local shell = require("helpers.shell")

local function all_bytes()
  local t = {}
  for i = 0, 255 do t[#t + 1] = string.char(i) end
  return table.concat(t)
end

-- Minimal RFC 7578 parser for the checks: returns parts { headers=..., body=... }.
local function parse_multipart(body, boundary)
  local delim = "--" .. boundary
  local parts = {}
  assert.equal(delim .. "\r\n", body:sub(1, #delim + 2))
  local pos = #delim + 3
  while true do
    local head_end = assert(body:find("\r\n\r\n", pos, true))
    local head = body:sub(pos, head_end - 1)
    local next_delim = assert(body:find("\r\n" .. delim, head_end + 4, true))
    local part = { headers = {}, body = body:sub(head_end + 4, next_delim - 1) }
    for line in (head .. "\r\n"):gmatch("(.-)\r\n") do
      local k, v = line:match("^([^:]+): (.*)$")
      part.headers[k:lower()] = v
    end
    parts[#parts + 1] = part
    pos = next_delim + 2 + #delim
    local tail = body:sub(pos, pos + 1)
    if tail == "--" then
      assert.equal("--\r\n", body:sub(pos))
      break
    end
    assert.equal("\r\n", tail)
    pos = pos + 2
  end
  return parts
end

describe("core.multipart_encode", function()
  it("encodes fields and files with a random boundary", function()
    local audio = all_bytes() .. "\r\n--\r\n" .. all_bytes()
    local body, ctype = core.multipart_encode({
      { name = "model", value = "whisper-1" },
      { name = "file", filename = "a.mp3", content_type = "audio/mpeg", data = audio },
    })
    local boundary = ctype:match("^multipart/form%-data; boundary=(.+)$")
    assert.truthy(boundary)
    assert.matches("^[%w%-]+$", boundary)
    local parts = parse_multipart(body, boundary)
    assert.equal(2, #parts)
    assert.equal('form-data; name="model"', parts[1].headers["content-disposition"])
    assert.is_nil(parts[1].headers["content-type"])
    assert.equal("whisper-1", parts[1].body)
    assert.equal('form-data; name="file"; filename="a.mp3"', parts[2].headers["content-disposition"])
    assert.equal("audio/mpeg", parts[2].headers["content-type"])
    assert.equal(audio, parts[2].body)
  end)

  it("uses a new boundary each time, never found in the data", function()
    local _, c1 = core.multipart_encode({ { name = "a", value = "x" } })
    local _, c2 = core.multipart_encode({ { name = "a", value = "x" } })
    assert.are_not.equal(c1, c2)
    local data = string.rep(c1:match("boundary=(.+)$"), 3)
    local body, c3 = core.multipart_encode({ { name = "f", filename = "f", data = data } })
    local b3 = c3:match("boundary=(.+)$")
    assert.is_nil(data:find(b3, 1, true))
    assert.equal(data, parse_multipart(body, b3)[1].body)
  end)

  it("defaults a file's content type to application/octet-stream", function()
    local body, ctype = core.multipart_encode({ { name = "file", filename = "x.bin", data = "\0\1" } })
    local parts = parse_multipart(body, ctype:match("boundary=(.+)$"))
    assert.equal("application/octet-stream", parts[1].headers["content-type"])
    assert.equal("\0\1", parts[1].body)
  end)

  it("encodes an empty list as just the closing delimiter", function()
    local body, ctype = core.multipart_encode({})
    assert.equal("--" .. ctype:match("boundary=(.+)$") .. "--\r\n", body)
  end)

  it("raises on CR, LF, NUL or quotes in names and filenames", function()
    for _, bad in ipairs({ "a\rb", "a\nb", 'a"b', "a\0b" }) do
      assert.has_error(function() core.multipart_encode({ { name = bad, value = "v" } }) end)
      assert.has_error(function()
        core.multipart_encode({ { name = "f", filename = bad, data = "v" } })
      end)
    end
    assert.has_error(function()
      core.multipart_encode({ { name = "f", filename = "f", content_type = "a\r\nX: y", data = "v" } })
    end)
  end)

  it("raises on malformed parts", function()
    assert.has_error(function() core.multipart_encode("x") end)
    assert.has_error(function() core.multipart_encode({ "x" }) end)
    assert.has_error(function() core.multipart_encode({ { value = "v" } }) end)
    assert.has_error(function() core.multipart_encode({ { name = "n" } }) end)
    assert.has_error(function() core.multipart_encode({ { name = "n", value = 5 } }) end)
  end)

  it("keeps the part strings alive while a finalizer changes the parts (under make asan)", function()
    -- A chain of finalizers changes every part a few GC cycles into the call, with the GC made
    -- eager. Runs in a fresh interpreter, where GC cycles are short: the one running the specs
    -- (arg[-1]), with the same environment (LUA_CPATH; LD_PRELOAD under make asan).
    local script = os.tmpname()
    local out = os.tmpname()
    shell.write_file(script, [==[
local core = require("tanstack.ai.core")
local n = 200
local parts = {}
local function data(i) return string.rep(string.char(65 + i % 26), 20000 + i) end
for i = 1, n do parts[i] = { name = "p" .. i, data = data(i) } end
local mt
mt = { __gc = function(o)
  if o.depth > 0 then
    setmetatable({ depth = o.depth - 1 }, mt)
    return
  end
  for i = 1, n do parts[i].data, parts[i].name = "x", "y" end
end }
local holder = { setmetatable({ depth = 2 }, mt) }
if _VERSION == "Lua 5.4" then
  collectgarbage("incremental", 1, 1000)
else
  collectgarbage("setpause", 1)
  collectgarbage("setstepmul", 1000)
end
holder[1] = nil
local body = core.multipart_encode(parts)
local count = 0
for name, value in body:gmatch('name="([^"]*)"\r\n\r\n(.-)\r\n%-%-') do
  count = count + 1
  assert(name == "y" or name == "p" .. count, name)
  assert(value == "x" or value == data(count), "part " .. count)
end
assert(count == n, count)
io.write("ok\n")
]==])
    local ok = shell.exec_ok(shell.quote(arg[-1]) .. " " .. shell.quote(script) .. " >" .. shell.quote(out) .. " 2>&1")
    local output = shell.read_file(out) or ""
    os.remove(script)
    os.remove(out)
    assert.is_true(ok, output)
    assert.equal("ok\n", output)
  end)
end)
