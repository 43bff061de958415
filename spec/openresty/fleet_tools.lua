-- Server tools with side effects for spec/openresty/fleet_nginx_test.lua, loaded by the example through
-- CHAT_SERVER_TOOLS: each execution is counted in the example's state store (Redis with REDIS_URL), so that a test
-- reading Redis sees how many times a tool ran across every nginx instance.
local ai = require("tanstack.ai")
local routes = require("routes")

local function count(name)
  local st = routes.state_store()
  if st then st:incr("test:ran:" .. name, 1, 0, 600) end
end

return {
  ai.tool_definition({ name = "delete_file", description = "Delete a file", needsApproval = true,
    inputSchema = { type = "object", properties = { path = { type = "string" } }, required = { "path" } } })
    :server(function(input)
      count("delete_file:" .. tostring(input.path))
      return "deleted " .. tostring(input.path)
    end),
  ai.tool_definition({ name = "charge_card", description = "Charge a card", sideEffects = true,
    inputSchema = { type = "object", properties = { cents = { type = "number" } } } })
    :server(function(input)
      count("charge_card")
      return { charged = input.cents }
    end),
  ai.tool_definition({ name = "db_query", description = "Query the database",
    inputSchema = { type = "object", properties = { q = { type = "string" } } } })
    :server(function()
      error("connect to 10.1.2.3:5432 failed (pool.lua:88)")
    end),
}
