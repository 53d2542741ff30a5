-- wrk script: constant request with a refresh token that must be rejected (401 path).
-- Copied unchanged from ../shared/peer-express/wrk/invalid_token.lua, so both servers get the same load.
-- Usage: wrk ... -s invalid_token.lua URL -- <token> [label]
local threads = {}
function setup(thread) table.insert(threads, thread) end

function init(args)
  label = args[2] or "invalid"
  n401, nother = 0, 0
  wrk.method = "POST"
  wrk.path = "/refresh-token"
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = '{"refreshToken":"' .. args[1] .. '"}'
end

function response(status, headers, body)
  if status == 401 then n401 = n401 + 1 else nother = nother + 1 end
end

function done(summary, latency, requests)
  local a, b, label = 0, 0, "invalid"
  for _, th in ipairs(threads) do
    a = a + (th:get("n401") or 0)
    b = b + (th:get("nother") or 0)
    label = th:get("label") or label
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT case=%s rps=%.1f requests=%d secs=%.2f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f " ..
    "status401=%d non401=%d non200=%d sock_err=%d timeouts=%d\n",
    label, summary.requests / secs, summary.requests, secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    a, b, a + b, e.connect + e.read + e.write, e.timeout))
end
