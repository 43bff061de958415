-- One version everywhere: scripts/gen_rockspec.lua sets it; the release rockspec, CHANGELOG.md, both modules'
-- _VERSION, the C core's TAI_VERSION and the loaded core's version agree. LICENSE is the rockspec's license.
local shell = require("helpers.shell")

local function read(path)
  local text = shell.read_file(path)
  assert(text, "cannot read " .. path)
  return text
end

local VERSION = shell.run("lua5.4 scripts/gen_rockspec.lua --version 2>&1"):gsub("%s+$", "")
local RELEASE = "rockspec/cloudflare-tanstack-ai-" .. VERSION .. "-1.rockspec"

describe("the version", function()
  it("is set by scripts/gen_rockspec.lua as MAJOR.MINOR.PATCH", function()
    assert.matches("^%d+%.%d+%.%d+$", VERSION)
  end)

  it("names the release rockspec, whose source is the tag v<version>", function()
    local text = read(RELEASE)
    assert.matches('\nversion = "' .. VERSION:gsub("%.", "%%.") .. '%-1"\n', text)
    assert.truthy(text:find('tag = "v' .. VERSION .. '"', 1, true), "source tag v" .. VERSION)
    assert.truthy(text:find('"lua >= 5.1"', 1, true), "lua >= 5.1: LuaJIT builds from the same rock")
  end)

  it("is the newest release in CHANGELOG.md, below an Unreleased section", function()
    local text = read("CHANGELOG.md")
    local unreleased = text:find("\n## [Unreleased]", 1, true)
    local first = text:match("\n## %[(%d[^%]]*)%] %- %d%d%d%d%-%d%d%-%d%d\n")
    assert.truthy(unreleased, "## [Unreleased]")
    assert.equals(VERSION, first)
    assert.is_true(unreleased < text:find("\n## [" .. VERSION .. "]", 1, true))
    assert.truthy(text:find("[" .. VERSION .. "]: ", 1, true), "a link for [" .. VERSION .. "]")
  end)

  it("is tanstack.ai._VERSION", function()
    assert.equals(VERSION, require("tanstack.ai")._VERSION)
  end)

  it("is cloudflare.tanstack_ai._VERSION", function()
    assert.equals(VERSION, require("cloudflare.tanstack_ai")._VERSION)
  end)

  it("is the C core's TAI_VERSION (csrc/l_core.h) and the loaded core's version", function()
    assert.equals(VERSION, read("csrc/l_core.h"):match('#define TAI_VERSION "([^"]*)"'))
    assert.equals(VERSION, require("tanstack.ai.core").version)
  end)
end)

describe("the license", function()
  it("is MIT in LICENSE and in both rockspecs", function()
    local license = read("LICENSE")
    assert.truthy(license:find("^MIT License\n"), "LICENSE starts with 'MIT License'")
    assert.truthy(license:find("Copyright (c) 2026 the cloudflare-tanstack-ai for Lua authors", 1, true))
    assert.truthy(license:find("Permission is hereby granted, free of charge", 1, true))
    for _, f in ipairs({ "rockspec/cloudflare-tanstack-ai-scm-1.rockspec", RELEASE }) do
      assert.truthy(read(f):find('license = "MIT"', 1, true), f)
    end
  end)
end)
