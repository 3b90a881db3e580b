-- wrk script for the counter load test: every connection-sized slot keeps
-- one session, like a browser.
--
-- Each wrk thread has its own Lua state. Until it holds `want` session
-- cookies (wrk passes connections/threads after "--"), a thread sends
-- requests without a cookie and keeps the session cookie of each response
-- (each of those starts a new session). Then it cycles through its cookies,
-- one prepared request per session, so every further request continues an
-- existing session. A server that sets no cookie (the bare counter) is
-- simply sent cookieless requests throughout.

local want = 16
local cookies = {}
local reqs = {}
local i = 0
fresh = 0   -- requests sent without a cookie (read by done through thread:get)
held = 0    -- sessions this thread holds
setcookie = 0 -- responses that carried Set-Cookie

function init(args)
  if args[1] then want = tonumber(args[1]) end
end

function request()
  if held < want then
    fresh = fresh + 1
    return wrk.format()
  end
  i = i % held + 1
  return reqs[i]
end

function response(status, headers, body)
  local sc = headers["Set-Cookie"]
  if sc then setcookie = setcookie + 1 end
  if held >= want then return end
  if sc then
    local c = sc:match("^([^;]+)")
    table.insert(cookies, c)
    table.insert(reqs, wrk.format(nil, nil, { ["Cookie"] = c }))
    held = #cookies
  end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local f, h, c = 0, 0, 0
  for _, t in ipairs(threads) do
    f = f + t:get("fresh")
    h = h + t:get("held")
    c = c + t:get("setcookie")
  end
  io.write(string.format("lua: cookieless_requests=%d sessions_held=%d set_cookie_responses=%d\n", f, h, c))
end
