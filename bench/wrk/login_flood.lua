-- Wrong-password logins for one account (the flood of bench/flood.sh), counting how many
-- were answered as guesses (401: a password was checked) and how many were refused (429/503).
local account = os.getenv("FLOOD_ACCOUNT") or "victim"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"' .. account .. '","password":"not the password"}'

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init()
  guesses, limited, busy, other = 0, 0, 0, 0
end

function response(status)
  if status == 401 then guesses = guesses + 1
  elseif status == 429 then limited = limited + 1
  elseif status == 503 then busy = busy + 1
  else other = other + 1 end
end

function done(summary)
  local g, l, b, o = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    g = g + t:get("guesses"); l = l + t:get("limited")
    b = b + t:get("busy"); o = o + t:get("other")
  end
  local secs = summary.duration / 1e6
  io.write(string.format("FLOOD requests=%d guesses=%d limited=%d busy=%d other=%d seconds=%.1f\n",
    summary.requests, g, l, b, o, secs))
end
