-- wrk script: GET /me with one access token (Authorization: Bearer), the access-token check.
-- Usage: wrk ... -s me.lua URL -- <access_token> [label]
local threads = {}
function setup(thread) table.insert(threads, thread) end

function init(args)
  label = args[2] or "me"
  n200, nother = 0, 0
  wrk.method = "GET"
  wrk.path = "/me"
  wrk.headers["Authorization"] = "Bearer " .. args[1]
end

function response(status, headers, body)
  if status == 200 then n200 = n200 + 1 else nother = nother + 1 end
end

function done(summary, latency, requests)
  local a, b, label = 0, 0, "me"
  for _, th in ipairs(threads) do
    a = a + (th:get("n200") or 0)
    b = b + (th:get("nother") or 0)
    label = th:get("label") or label
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT case=%s rps=%.1f requests=%d secs=%.2f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f " ..
    "ok200=%d non200=%d non401=%d sock_err=%d timeouts=%d\n",
    label, summary.requests / secs, summary.requests, secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    a, b, b, e.connect + e.read + e.write, e.timeout))
end
