-- The browser endpoint identifies its clients, so that one client cannot spend everyone's
-- budget (examples/openresty/chat_handler.lua): a session cookie the example issues and signs, or the client's
-- address, believed from X-Forwarded-For only when the connection comes from a configured trusted proxy.
package.path = "examples/openresty/?.lua;" .. package.path

local handler = require("chat_handler")
local env = require("helpers.env")

local SECRET = "a-shared-secret-of-32-bytes-long"

describe("security: who is calling /api/chat", function()
  it("a session cookie is issued, signed, taken back, and a forged or foreign one replaced", function()
    local sid, set_cookie = handler.session(nil, SECRET)
    assert.matches("^%x+$", sid)
    assert.matches("^cf_ai_session=" .. sid .. "%.%x+; Path=/; HttpOnly; SameSite=Lax$", set_cookie)
    local cookie = set_cookie:match("^([^;]+)")
    local again, none = handler.session("theme=dark; " .. cookie, SECRET)
    assert.equals(sid, again)
    assert.is_nil(none)
    -- someone else's id with a made-up MAC, or a cookie of another secret: a new session
    local forged = "cf_ai_session=" .. sid .. "." .. string.rep("0", 24)
    local s2, c2 = handler.session(forged, SECRET)
    assert.not_equals(sid, s2)
    assert.truthy(c2)
    local s3 = handler.session(cookie, "another-secret-of-32-bytes-long!")
    assert.not_equals(sid, s3)
  end)

  it("the client key: the session, else the address; X-Forwarded-For only from trusted proxies", function()
    env.with({ CHAT_CLIENT_KEY = false, CHAT_TRUSTED_PROXIES = "10.0.0.0/8,192.168.1.7" }, function()
    assert.equals("session:abc", handler.client_key({ session = "abc", remote_addr = "203.0.113.9" }))
    assert.equals("addr:203.0.113.9", handler.client_key({ remote_addr = "203.0.113.9" }))
    -- a client's own X-Forwarded-For is not believed
    assert.equals("addr:203.0.113.9", handler.client_key({ remote_addr = "203.0.113.9",
      forwarded_for = "198.51.100.1" }))
    -- behind trusted proxies: the rightmost address that is not one of them (a spoofed left part is ignored)
    assert.equals("addr:198.51.100.7", handler.client_key({ remote_addr = "10.1.2.3",
      forwarded_for = "1.1.1.1, 198.51.100.7, 192.168.1.7" }))
    assert.equals("addr:198.51.100.7", handler.client_key({ remote_addr = "192.168.1.7",
      forwarded_for = "198.51.100.7" }))
    end)
  end)

  it("CHAT_CLIENT_KEY=address counts by address even with a session", function()
    env.with({ CHAT_CLIENT_KEY = "address", CHAT_TRUSTED_PROXIES = false }, function()
      assert.equals("addr:203.0.113.9", handler.client_key({ session = "abc", remote_addr = "203.0.113.9" }))
    end)
  end)
end)
