-- wrk script for the sessiongw comparison: each thread logs in once with
-- the API key (?apikey=…), keeps the session cookie of the answer and
-- sends every further request with that cookie only, like a browser after
-- Kong's walkthrough. A server that sets no cookie (the bare proxy) keeps
-- getting the key in the query.

local cookie = nil
local withKey = nil
local withCookie = nil
logins = 0    -- requests sent with the key (read by done through thread:get)
setcookie = 0 -- responses that carried Set-Cookie

function init(args)
  withKey = wrk.format(nil, wrk.path .. "?apikey=" .. args[1])
end

function request()
  if withCookie then return withCookie end
  logins = logins + 1
  return withKey
end

function response(status, headers, body)
  local sc = headers["Set-Cookie"]
  if sc then
    setcookie = setcookie + 1
    if not withCookie then
      withCookie = wrk.format(nil, nil, { ["Cookie"] = sc:match("^([^;]+)") })
    end
  end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local l, c = 0, 0
  for _, t in ipairs(threads) do
    l = l + t:get("logins")
    c = c + t:get("setcookie")
  end
  io.write(string.format("lua: key_requests=%d set_cookie_responses=%d\n", l, c))
end
