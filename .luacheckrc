-- luacheck: the library must run on Lua 5.1/LuaJIT (OpenResty, Neovim) and 5.4
std = "max"
globals = { "ngx" }   -- ngx.header / ngx.status are written in nginx handlers
read_globals = { "vim" }
max_line_length = 140
ignore = {
  "212/self",  -- methods that do not need self
  "311",       -- initial values replaced on every path (state reset in closures)
  "331",
  "542",       -- an empty branch that documents a case
}
files["spec"] = { std = "+busted", max_line_length = false, ignore = { "212", "311", "331", "542", "211", "213" } }
files["bench"] = { max_line_length = false }
-- annotation lines (LuaLS types of unions and function shapes) are as long as their types
files["lua/tanstack/ai/types.lua"] = { max_line_length = false }
