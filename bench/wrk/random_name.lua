-- wrk script for bench/run: every call carries a different random birth name, so
-- that concurrent calls from one token are never identical (the gateway answers 409
-- to a second identical call while the first is in flight) and never cached.
--
-- Environment:
--   BENCH_PATH     request path and query; "{name}" is replaced by PERSONNE + 8
--                  random capital letters in every call
--   BENCH_HEADERS  request headers, "Name: value" separated by "|"
--
-- At the end it prints one line per HTTP status seen ("STATUS 404 123456") and one
-- machine-readable summary line ("WRK rps=... p50_ms=... p99_ms=... ...").

local path = os.getenv("BENCH_PATH") or "/"
local headers = {}
for pair in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^|]+") do
  local name, value = pair:match("^%s*([^:]+):%s*(.-)%s*$")
  if name then headers[name] = value end
end

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local A = string.byte("A")
counts = {}

function init(args)
  -- One seed per thread (os.time() alone would give every thread the same names).
  math.randomseed(os.time() * 1000 + id * 7919)
  counts = {}
end

local function random_name()
  local letters = {}
  for i = 1, 8 do
    letters[i] = string.char(A + math.random(0, 25))
  end
  return "PERSONNE" .. table.concat(letters)
end

function request()
  local p = path:gsub("{name}", random_name())
  return wrk.format("GET", p, headers)
end

function response(status, hdrs, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local c = thread:get("counts")
    for status, n in pairs(c or {}) do
      total[status] = (total[status] or 0) + n
    end
  end
  local statuses = {}
  for status, n in pairs(total) do
    io.write(string.format("STATUS %d %d\n", status, n))
    table.insert(statuses, string.format("%d:%d", status, n))
  end
  table.sort(statuses)
  local e = summary.errors
  io.write(string.format(
    "WRK rps=%.0f calls=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f socket_errors=%d statuses=%s\n",
    summary.requests / (summary.duration / 1e6), summary.requests,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect + e.read + e.write + e.timeout, table.concat(statuses, ",")))
end
