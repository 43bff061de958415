-- Run a function with extra environment variables visible through os.getenv (Lua cannot setenv).
local M = {}

function M.with(vars, fn)
  local real = os.getenv
  os.getenv = function(name) -- luacheck: ignore
    local v = vars[name]
    if v == false then return nil end
    if v ~= nil then return v end
    return real(name)
  end
  local ok, err = pcall(fn)
  os.getenv = real -- luacheck: ignore
  if not ok then error(err, 0) end
end

return M
