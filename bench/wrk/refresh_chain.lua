-- wrk script: chained refresh-token rotation, for rotor-server and the Express peer alike.
-- Adapted from ../shared/peer-express/wrk/refresh_chain.lua (same queueing, same requests).
--
-- Usage: wrk -tT -cC ... -s refresh_chain.lua URL -- <tokens_in> <T> <flavor> <final_out>
--   tokens_in: "<user_id> <refresh_token> [ready|inflight]" per line; "inflight" lines (users
--              whose last request was unanswered when a previous run stopped) are not driven.
--   flavor:    rotor (token in data.refreshToken, user in the "sub" claim) or
--              peer  (token in data.newRefreshToken, user in the "_id" claim).
--   final_out: written by done(): every owned user with the last token it received and
--              "ready", or "inflight" if its request was unanswered at the stop.
--
-- Thread k owns the users on lines where (line_index % T) == k. A user leaves its thread's
-- ready queue when a request is built and comes back, with the rotated token from the JSON
-- response, only after a 200, so no two in-flight requests ever carry one user's token.
-- The user of a response is read from the new token's payload, as wrk does not tell
-- response() which request it answers. Every token received is remembered: "dup" counts
-- tokens handed out twice.

local threads = {}
local nthreads_created = 0

function setup(thread)
  thread:set("tid", nthreads_created)
  nthreads_created = nthreads_created + 1
  table.insert(threads, thread)
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local DEC = {}
for i = 1, 64 do DEC[B64:byte(i)] = i - 1 end

local function b64url_decode(s)
  local out, acc, nbits = {}, 0, 0
  for i = 1, #s do
    local v = DEC[s:byte(i)]
    if v then
      acc = acc * 64 + v
      nbits = nbits + 6
      if nbits >= 8 then
        nbits = nbits - 8
        local p = 2 ^ nbits
        out[#out + 1] = string.char(math.floor(acc / p))
        acc = acc % p
      end
    end
  end
  return table.concat(out)
end

local FLAVORS = {
  rotor = { token = '"refreshToken":"([^"]+)"', id = '"sub":"([^"]+)"' },
  peer = { token = '"newRefreshToken":"([^"]+)"', id = '"_id":"([^"]+)"' },
}

function init(args)
  local file = args[1]
  local n = tonumber(args[2] or "1")
  local flavor = FLAVORS[args[3] or "rotor"] or error("flavor must be rotor or peer")
  TOKEN_PAT, ID_PAT = flavor.token, flavor.id
  final_out = args[4]
  tokens, queue, qhead, qtail, seen = {}, {}, 1, 0, {}
  ok, non200, parse_fail, starved, owned, dup = 0, 0, 0, 0, 0, 0
  local i = 0
  for line in io.lines(file) do
    local id, tok, state = line:match("^(%S+)%s+(%S+)%s*(%S*)")
    if id and state ~= "inflight" then
      if i % n == tid then
        tokens[id] = tok
        seen[tok] = true
        qtail = qtail + 1
        queue[qtail] = id
        owned = owned + 1
      end
      i = i + 1
    end
  end
end

local HDRS = { ["Content-Type"] = "application/json" }

function request()
  if qhead > qtail then
    -- every owned user is in flight or lost: does not happen with 10k users and 16 connections
    starved = starved + 1
    return wrk.format("POST", "/refresh-token", HDRS, '{"refreshToken":"starved"}')
  end
  local id = queue[qhead]
  queue[qhead] = nil
  qhead = qhead + 1
  return wrk.format("POST", "/refresh-token", HDRS,
                    '{"refreshToken":"' .. tokens[id] .. '"}')
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1   -- that user's chain is lost (we cannot tell which one)
    return
  end
  local tok = body:match(TOKEN_PAT)
  local payload = tok and tok:match("^[^.]+%.([^.]+)%.")
  local id = payload and b64url_decode(payload):match(ID_PAT)
  if id and tokens[id] then
    if seen[tok] then dup = dup + 1 end
    seen[tok] = true
    tokens[id] = tok
    qtail = qtail + 1
    queue[qtail] = id
    ok = ok + 1
  else
    parse_fail = parse_fail + 1
  end
end

function done(summary, latency, requests)
  local t = { ok = 0, non200 = 0, parse_fail = 0, starved = 0, owned = 0, dup = 0 }
  local final_out = nil
  local lines, ready_n, inflight_n = {}, 0, 0
  for _, th in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + (th:get(k) or 0) end
    final_out = final_out or th:get("final_out")
    local toks, q, h, tl = th:get("tokens"), th:get("queue"), th:get("qhead"), th:get("qtail")
    local ready = {}
    for j = h, tl do if q[j] then ready[q[j]] = true end end
    for id, tok in pairs(toks) do
      if ready[id] then
        ready_n = ready_n + 1
        lines[#lines + 1] = id .. " " .. tok .. " ready"
      else
        inflight_n = inflight_n + 1
        lines[#lines + 1] = id .. " " .. tok .. " inflight"
      end
    end
  end
  if final_out then
    local f = assert(io.open(final_out, "w"))
    f:write(table.concat(lines, "\n"), "\n")
    f:close()
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT case=success rps=%.1f requests=%d secs=%.2f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f " ..
    "ok200=%d non200=%d parse_fail=%d starved=%d dup=%d users=%d ready=%d inflight=%d sock_err=%d timeouts=%d\n",
    summary.requests / secs, summary.requests, secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    t.ok, t.non200, t.parse_fail, t.starved, t.dup, t.owned, ready_n, inflight_n,
    e.connect + e.read + e.write, e.timeout))
end
