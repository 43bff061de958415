-- Lists hand-written Lua functions longer than a limit (default 80 lines), longest first, from luac's listing
-- ("function <file:first,last>"). Generated data files are skipped. Exit status 1 when one is over.
--   lua5.4 scripts/fn_lengths.lua [limit] [files...]     (default: lua/ bin/cf-ai plugin/ examples/)
local limit = tonumber(arg[1]) or 80
local files = {}
for i = 2, #arg do files[#files + 1] = arg[i] end
local GENERATED = { ["lua/cloudflare/tanstack_ai/workers_ai/catalog.lua"] = true,
  ["lua/cloudflare/tanstack_ai/workers_ai/model_table.lua"] = true }
if #files == 0 then
  local p = io.popen("find lua plugin examples -name '*.lua' | sort; echo bin/cf-ai")
  for f in p:lines() do if not GENERATED[f] then files[#files + 1] = f end end
  p:close()
end
local over = {}
for _, f in ipairs(files) do
  local src = assert(io.open(f)):read("a")
  if src:sub(1, 2) == "#!" or src:match("^#") then src = "--" .. src end -- a shell preamble line
  local tmp = os.tmpname()
  local h = assert(io.open(tmp, "w")); h:write(src); h:close()
  local p = io.popen("luac5.4 -p -l " .. tmp .. " 2>&1")
  for line in p:lines() do
    local a, b = line:match("^function <[^:]*:(%d+),(%d+)>")
    if a then
      local n = tonumber(b) - tonumber(a) + 1
      if n > limit then over[#over + 1] = { f, tonumber(a), n } end
    end
  end
  p:close()
  os.remove(tmp)
end
table.sort(over, function(x, y) return x[3] > y[3] end)
for _, o in ipairs(over) do print(string.format("%4d lines  %s:%d", o[3], o[1], o[2])) end
print(#over .. " functions over " .. limit .. " lines")
os.exit(#over == 0 and 0 or 1)
