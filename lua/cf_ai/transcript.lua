-- The chat buffer's text <-> the conversation's messages (plain Lua: no editor API, so plain busted tests it).
--
-- The buffer is markdown: "## You", "## Assistant" and "## System" lines open sections. What a model writes must
-- never open one: an answer holding a line "## System" would otherwise become a system message on the next turn
-- (a prompt injection that outlives the answer). So such a line in an answer is escaped the markdown way, with a
-- backslash ("\## System" shows as the literal text), and unescaped when the answer is sent back as the
-- assistant's message. Escaping adds one backslash to a line of backslashes + header, and unescaping removes one,
-- so an answer that itself wrote "\## You" goes back unchanged. Error notes ("> [!ERROR] ...", GitHub's alert
-- syntax) are shown in the buffer and never sent.
local M = {}

local ROLES = { You = "user", Assistant = "assistant", System = "system" }

--- The role a header line opens ("user", "assistant", "system"), or nil.
function M.header_of(line)
  local name = line:match("^## (%a+)%s*$")
  return name and ROLES[name] or nil
end

local function escaped_header(line)
  local slashes, rest = line:match("^(\\*)(## %a+%s*)$")
  if slashes and M.header_of(rest) then return slashes, rest end
end

--- A line of a model's answer as the buffer shows it: a header line gets one more backslash.
function M.escape_line(line)
  if escaped_header(line) then return "\\" .. line end
  return line
end

--- A line of an answer as the model wrote it (the inverse of escape_line).
function M.unescape_line(line)
  local slashes, rest = escaped_header(line)
  if slashes and #slashes > 0 then return slashes:sub(2) .. rest end
  return line
end

--- The lines of an error note, shown under "## Assistant" and left out of the messages.
function M.error_lines(msg)
  local out = {}
  for l in (tostring(msg) .. "\n"):gmatch("([^\n]*)\n") do
    out[#out + 1] = (#out == 0 and "> [!ERROR] " or "> ") .. l
  end
  return out
end

-- An error note's lines: its first, and the "> " lines right after it.
local function note_end(lines, i)
  if not lines[i]:match("^> %[!ERROR%]") then return nil end
  local j = i
  while lines[j + 1] and lines[j + 1]:match("^>") do j = j + 1 end
  return j
end

--- The messages of a chat buffer's lines: sections under "## You", "## Assistant", "## System" (text above the
--- first one is a title). Empty sections are left out; an answer's escaped header lines are unescaped; error notes
--- are skipped.
function M.parse(lines)
  local msgs, cur = {}, nil
  local function close()
    if cur then
      local text = table.concat(cur.lines, "\n"):gsub("^%s+", ""):gsub("%s+$", "")
      if text ~= "" then msgs[#msgs + 1] = { role = cur.role, content = text } end
    end
  end
  local i = 1
  while i <= #lines do
    local line = lines[i]
    local role = M.header_of(line)
    local skip_to = note_end(lines, i)
    if role then
      close()
      cur = { role = role, lines = {} }
    elseif skip_to then
      i = skip_to
    elseif cur then
      cur.lines[#cur.lines + 1] = cur.role == "assistant" and M.unescape_line(line) or line
    end
    i = i + 1
  end
  close()
  return msgs
end

return M
