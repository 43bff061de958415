-- Anthropic through AI Gateway: the Messages API.
local ANTHROPIC_VERSION = "2023-06-01" -- the anthropic-version header (docs.anthropic.com: API versioning)

return {
  name = "anthropic", label = "Anthropic", slug = "anthropic", wire = "anthropic",
  constructor = { snake = "anthropic", camel = "Anthropic" },
  gateway_only = true,
  auth_header = "x-api-key", -- the key itself, no "Bearer"
  key_env = { "ANTHROPIC_API_KEY" },
  activities = { "chat", "summarize" },
  models = { chat = "claude-sonnet-4-5", summarize = "claude-sonnet-4-5" },
  chat_path = "v1/messages",
  api_version = ANTHROPIC_VERSION,
  headers = function(cfg) return { ["anthropic-version"] = cfg.anthropic_version or ANTHROPIC_VERSION } end,
}
