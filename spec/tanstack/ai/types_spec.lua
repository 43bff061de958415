-- tanstack.ai.types: the LuaLS annotations of the public data shapes (docs/api.md is generated from them). The
-- file is never required at run time; what it says must agree with what the code checks (options.lua's tables)
-- and produces.
local options = require("tanstack.ai.options")

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local SOURCE = read("lua/tanstack/ai/types.lua")

-- class name -> { field name -> the rest of its line }, and class name -> { field name -> marked optional (`?`) }
local function classes(src)
  local out, opt, cur, cur_opt = {}, {}, nil, nil
  for line in src:gmatch("[^\n]+") do
    local cls = line:match("^%-%-%-@class ([%w%._]+)")
    if cls then
      cur, cur_opt = {}, {}
      out[cls], opt[cls] = cur, cur_opt
    elseif cur then
      local name, q, rest = line:match("^%-%-%-@field ([%w_]+)(%??)%s+(.*)$")
      if name then
        cur[name], cur_opt[name] = rest, q == "?"
      elseif not line:match("^%-%-%-") then
        cur = nil
      end
    end
  end
  return out, opt
end

local CLASSES, OPTIONAL = classes(SOURCE)

local function keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

local OPTION_CLASSES = {
  chat = "tanstack.ai.ChatOptions", summarize = "tanstack.ai.SummarizeOptions",
  generate_image = "tanstack.ai.ImageOptions", generate_transcription = "tanstack.ai.TranscriptionOptions",
  generate_speech = "tanstack.ai.SpeechOptions", embed = "tanstack.ai.EmbedOptions",
}

describe("types", function()
  it("is a LuaLS meta file that no module requires", function()
    assert.equal("---@meta", SOURCE:match("^[^\n]+"))
    local p = io.popen("grep -rl 'tanstack.ai.types' lua bin plugin 2>/dev/null")
    local users = p:read("*a")
    p:close()
    assert.equal("", users)
  end)

  it("every option an options class names is one the activity's checker accepts", function()
    for activity, cls in pairs(OPTION_CLASSES) do
      assert.is_table(CLASSES[cls], cls)
      local spec = options.SPECS[activity]
      for _, field in ipairs(keys(CLASSES[cls])) do
        assert.is_table(spec[field], cls .. "." .. field .. " is not an option of " .. activity)
      end
    end
  end)

  it("every option the checker accepts is annotated", function()
    for activity, cls in pairs(OPTION_CLASSES) do
      for _, name in ipairs(keys(options.SPECS[activity])) do
        assert.is_string(CLASSES[cls][name], cls .. " lacks " .. name)
      end
    end
  end)

  it("marks exactly the options the checker does not require as optional", function()
    -- embed: input or its twin text is required (activities.embed checks it), so input is shown as required
    local required = { embed = { input = true } }
    for activity, cls in pairs(OPTION_CLASSES) do
      for name, optional in pairs(OPTIONAL[cls]) do
        local req = options.SPECS[activity][name].required or (required[activity] or {})[name] or false
        assert.equal(not req, optional, cls .. "." .. name)
      end
    end
  end)

  it("the enums it lists are the checker's", function()
    assert.matches('@field style? "bullet-points"|"paragraph"|"concise"', SOURCE, 1, true)
    assert.same({ "bullet-points", "paragraph", "concise" }, options.SPECS.summarize.style.values)
    assert.matches('"json"|"text"|"srt"|"verbose_json"|"vtt"', CLASSES["tanstack.ai.TranscriptionOptions"]
      .responseFormat, 1, true)
    assert.same({ "json", "text", "srt", "verbose_json", "vtt" },
      options.SPECS.generate_transcription.responseFormat.values)
  end)

  it("the error kinds it lists include every kind the library produces", function()
    local kinds = CLASSES["tanstack.ai.Error"].kind
    for _, k in ipairs({ "tls", "router", "bad_request" }) do
      assert.matches('"' .. k .. '"', kinds, 1, true)
    end
  end)

  it("the error kinds it lists are exactly README's error table (docs_spec checks that against the code)", function()
    local listed, readme = {}, {}
    for k in CLASSES["tanstack.ai.Error"].kind:match("^(%S+)"):gmatch('"([%w_]+)"') do listed[#listed + 1] = k end
    local tbl = read("README.md"):match("\n| `err%.kind` |.-\n\n")
    for k in tbl:gmatch("\n| `([%w_]+)` |") do readme[#readme + 1] = k end
    table.sort(listed)
    table.sort(readme)
    assert.is_true(#readme >= 15)
    assert.same(readme, listed)
  end)

  it("the event types it lists are the ones the events module is given", function()
    local listed = CLASSES["tanstack.ai.Event"].type
    for _, t in ipairs({ "RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END",
      "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END", "TOOL_CALL_RESULT", "STEP_STARTED", "STEP_FINISHED",
      "STATE_SNAPSHOT", "RUN_FINISHED", "RUN_ERROR" }) do
      assert.matches('"' .. t .. '"', listed, 1, true)
    end
    local p = io.popen("grep -rhoE '\"(RUN|TEXT_MESSAGE|TOOL_CALL|STEP|STATE)_[A-Z_]+\"' lua/tanstack | sort -u")
    local emitted = p:read("*a")
    p:close()
    for t in emitted:gmatch('"([%u_]+)"') do
      assert.matches('"' .. t .. '"', listed, 1, true)
    end
  end)
end)
