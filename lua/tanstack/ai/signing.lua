-- Signed tool calls: the server's proof that a tool call in a posted history is one its own model turn produced,
-- with these arguments, in this thread. Stateless (one shared secret serves every worker and host).
--
-- A signed tool call id is  "call_" <10 hex nonce> "_" <24 hex MAC>  (40 characters: the longest tool call id
-- OpenAI accepts), where MAC = HMAC-SHA256(secret, canonical JSON of {v, thread, nonce, name, args}) truncated to
-- 96 bits, compared in constant time. The arguments are canonicalized (TanStack's canonical JSON of the decoded
-- object) so that a client re-serializing them changes nothing, while any change of a value breaks the MAC.
-- The id travels through @tanstack/ai-client verbatim: in the assistant message's tool calls, and inside the
-- interrupt ids (approval_<id>, client_tool_<id>) that a resume echoes.
local core = require("tanstack.ai.core")
local interrupts = require("tanstack.ai.interrupts")
local json = require("tanstack.ai.json")

local type, setmetatable, tostring = type, setmetatable, tostring
local byte, format, rep = string.byte, string.format, string.rep

local _M = {}

_M.VERSION = 1
_M.MIN_SECRET_BYTES = 16
local MAC_HEX = 24

local process_secret -- one random secret per process when the caller gives none

local function hex(s)
  return (s:gsub(".", function(c) return format("%02x", byte(c)) end))
end

local Signer = {}
Signer.__index = Signer
Signer.__tostring = function() return "tanstack.ai.signing.signer" end -- never the secret

--- A signer for a secret (a string of at least 16 bytes), or the per-process random one when secret is nil.
function _M.new(secret)
  if secret == nil then
    process_secret = process_secret or core.random_hex(32)
    secret = process_secret
  end
  if type(secret) ~= "string" or #secret < _M.MIN_SECRET_BYTES then
    error("signingSecret must be a string of at least " .. _M.MIN_SECRET_BYTES .. " bytes", 3)
  end
  return setmetatable({ secret = secret }, Signer)
end

local function mac(secret, thread, nonce, name, args)
  -- through JSON once, so that a marked empty object and a decoded one ({} both) canonicalize alike
  args = json.decode(json.encode(args))
  local msg = interrupts.canonical(json.object({ v = _M.VERSION, thread = thread, nonce = nonce, name = name,
    args = args }))
  return hex(core.hmac_sha256(secret, msg)):sub(1, MAC_HEX)
end

--- The signed id for a call: thread (the caller's thread id, "" when none), the tool name and its arguments
--- (a decoded table).
function Signer:sign(thread, name, args)
  local nonce = core.random_hex(5)
  return "call_" .. nonce .. "_" .. mac(self.secret, thread or "", nonce, tostring(name), args)
end

--- Does `id` carry a valid MAC for this thread, name and arguments? (false for any id this server did not sign)
function Signer:verify(thread, id, name, args)
  if type(id) ~= "string" or type(name) ~= "string" or type(args) ~= "table" then return false end
  local nonce, got = id:match("^call_(%x%x%x%x%x%x%x%x%x%x)_(" .. rep("%x", MAC_HEX) .. ")$")
  if not nonce then return false end
  local ok, want = pcall(mac, self.secret, thread or "", nonce, name, args)
  if not ok then return false end
  return core.timing_safe_equal(want, got)
end

return _M
