-- The documentation as the specs read it: README.md and docs/*.md, their fenced code blocks, and which blocks run
-- where (a block for nginx runs in spec/openresty, a block for Neovim in spec/nvim, every other Lua block in
-- spec/docs_examples_spec.lua).
local M = {}

local function read(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end
M.read = read

--- README.md first, then every docs/*.md in name order (paths relative to the repository root).
function M.pages()
  local list = {}
  local p = assert(io.popen("ls docs/*.md 2>/dev/null"))
  for line in p:lines() do list[#list + 1] = line end
  p:close()
  table.sort(list)
  table.insert(list, 1, "README.md")
  return list
end

--- The ```<lang> blocks of a page, in order: { code = "...", line = <line of the opening fence> }.
function M.blocks(path, lang)
  local text = read(path)
  local out = {}
  local pos = 1
  while true do
    local s, e, code = text:find("```" .. lang .. "\n(.-)```", pos)
    if not s then break end
    local _, newlines = text:sub(1, s):gsub("\n", "")
    out[#out + 1] = { code = code, line = newlines + 1 }
    pos = e + 1
  end
  return out
end

--- A block for Neovim: it loads the plugin (`cf_ai`, or its old name `cloudflare_tanstack_ai`).
function M.is_neovim(code)
  return code:find("cloudflare_tanstack_ai", 1, true) ~= nil or code:find("require%s*%(?%s*[\"']cf_ai[\"']") ~= nil
end

--- A block for nginx: it uses the ngx API.
function M.is_nginx(code)
  return code:find("ngx%.") ~= nil
end

return M
