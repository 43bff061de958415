local queue = require("tanstack.ai.queue")

describe("tanstack.ai.queue", function()
  it("is first in, first out, and skips nil", function()
    local q = queue.new()
    q:push(1); q:push(nil); q:push(2)
    local push = q:pusher()
    push(3); push(nil)
    assert.are.equal(3, q:size())
    assert.are.same({ 1, 2, 3 }, { q:shift(), q:shift(), q:shift() })
    assert.is_nil(q:shift())
    assert.is_true(q:empty())
  end)

  it("does not keep what it handed out (no growth over a long stream)", function()
    local q = queue.new()
    for i = 1, 1000 do q:push(i); assert.are.equal(i, q:shift()) end
    local n = 0
    for k in pairs(q) do if type(k) == "number" then n = n + 1 end end
    assert.are.equal(0, n)
  end)

  it("producer: fills on demand, counts pending, ends when the source is over", function()
    local q = queue.new()
    local src, fills = { "a", "b", "c" }, 0
    local p = queue.producer(q, function(qq)
      fills = fills + 1
      local v = table.remove(src, 1)
      if v == nil then return false end
      qq:push(v)
      return true
    end, function() return #src end)
    assert.are.equal(3, p.pending())
    assert.are.equal("a", p.next())
    assert.are.equal(2, p.pending())
    assert.are.equal("b", p.next())
    assert.are.equal("c", p.next())
    assert.is_nil(p.next())
    assert.is_nil(p.next())
    assert.are.equal(4, fills) -- the fill that said "over" is not repeated
  end)

  it("producer: close stops next and runs on_close once", function()
    local closed = 0
    local p = queue.producer(queue.new(), function(q) q:push(1) return true end, nil,
      function() closed = closed + 1 end)
    assert.are.equal(1, p.next())
    p.close(); p.close()
    assert.are.equal(1, closed)
    assert.is_nil(p.next())
    assert.are.equal(0, p.pending())
  end)

  it("of: a fixed list", function()
    local p = queue.of({ "x", "y" })
    assert.are.equal(2, p.pending())
    assert.are.same({ "x", "y" }, { p.next(), p.next() })
    assert.is_nil(p.next())
  end)

  it("join: every string concatenated, the queue emptied and reusable", function()
    local q = queue.new()
    assert.is_nil(q:join())
    q:push("a")
    assert.are.equal("a", q:join())
    q:push("b"); q:push("c"); q:shift(); q:push("d")
    assert.are.equal("cd", q:join())
    assert.is_true(q:empty())
    q:push("e")
    assert.are.equal(1, q.head)
    assert.are.equal("e", q:shift())
  end)
end)

describe("queue.stream (the hot path's producer)", function()
  it("hands out what push queued, fills only when empty, and ends when fill says so", function()
    local fills = 0
    local p, push
    p, push = queue.stream(function()
      fills = fills + 1
      if fills == 1 then push("a") push("b") return true end
      if fills == 2 then push("c") return false end
      error("filled after the end")
    end)
    assert.equal(0, p.pending())
    assert.equal("a", p.next())
    assert.equal(1, fills)
    assert.equal(1, p.pending())
    assert.equal("b", p.next())
    assert.equal("c", p.next())
    assert.is_nil(p.next())
    assert.is_nil(p.next())
    assert.equal(2, fills)
  end)

  it("ignores nil pushes; close calls on_close once and ends next and pending", function()
    local closes = 0
    local p, push = queue.stream(function() return true end, function() closes = closes + 1 end)
    push(nil)
    push("x")
    assert.equal(1, p.pending())
    p.close()
    p.close()
    assert.equal(1, closes)
    assert.is_nil(p.next())
    assert.equal(0, p.pending())
  end)
end)
