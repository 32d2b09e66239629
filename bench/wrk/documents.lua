-- wrk script for bench/documents.sh, in one of two modes.
--
-- Attestations (BENCH_TOKENS set): GET BENCH_PATH with "{siren}" replaced at every
-- call by a new SIREN (BENCH_SIREN_PREFIX, a counter, the Luhn digit): the gateway
-- answers 409 to a second identical call of one token while the first runs. The
-- calls go round the JWTs of the file BENCH_TOKENS (one a line), since API
-- Entreprise allows a token 100 attestations a minute. Each 200 must carry a
-- well-formed signed link (/documents/<32 hex>?expires=<unix>&sig=<64 hex>); the
-- links are written to BENCH_LINKS_OUT when set.
--
-- Downloads (BENCH_LINKS_IN set): GET each link of that file in turn (only their
-- paths: the host is wrk's); each body must be BENCH_PDF_BYTES long and a PDF.
--
-- At the end: "WRK rps=... calls=... p50_ms=... p99_ms=... statuses=... links_ok=...
-- links_bad=... bodies_ok=... bodies_bad=... links_total=...".

local tokens_file = os.getenv("BENCH_TOKENS")
local links_in = os.getenv("BENCH_LINKS_IN")
local links_out = os.getenv("BENCH_LINKS_OUT")
local pdf_bytes = tonumber(os.getenv("BENCH_PDF_BYTES") or "0")
local path = os.getenv("BENCH_PATH") or "/"
local prefix = os.getenv("BENCH_SIREN_PREFIX") or "998"

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local function read_lines(file)
  local lines = {}
  for line in io.lines(file) do
    if line ~= "" then table.insert(lines, line) end
  end
  return lines
end

counts = {}
links = {}
links_ok, links_bad, bodies_ok, bodies_bad = 0, 0, 0, 0
local tokens, paths = {}, {}
local n, free_digits

function init(args)
  math.randomseed(os.time() * 1000 + id * 7919)
  if tokens_file then tokens = read_lines(tokens_file) end
  if links_in then
    for _, link in ipairs(read_lines(links_in)) do
      table.insert(paths, (link:gsub("^https?://[^/]+", "")))
    end
  end
  free_digits = 8 - #prefix
  -- Each run starts somewhere else in the range: no two runs ask for the same companies.
  n = math.random(0, 10 ^ free_digits - 1)
end

-- The digit that makes the 8 digits before it pass Luhn's check.
local function luhn_digit(digits)
  local sum = 0
  for i = #digits, 1, -1 do
    local d = tonumber(digits:sub(i, i))
    if (#digits - i) % 2 == 0 then
      d = d * 2
      if d > 9 then d = d - 9 end
    end
    sum = sum + d
  end
  return (10 - sum % 10) % 10
end

function request()
  n = n + 1
  if links_in then
    return wrk.format("GET", paths[(n % #paths) + 1])
  end
  local digits = prefix .. string.format("%0" .. free_digits .. "d", n % 10 ^ free_digits)
  local p = path:gsub("{siren}", digits .. luhn_digit(digits))
  local headers = { ["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1], ["Cache-Control"] = "no-cache" }
  return wrk.format("GET", p, headers)
end

function response(status, hdrs, body)
  counts[status] = (counts[status] or 0) + 1
  if status ~= 200 then return end
  if links_in then
    if #body == pdf_bytes and body:sub(1, 5) == "%PDF-" then
      bodies_ok = bodies_ok + 1
    else
      bodies_bad = bodies_bad + 1
    end
    return
  end
  local link = body:match('"document_url":"([^"]*)"')
  local id, sig = (link or ""):match("^https?://[^/]+/documents/(%x+)%?expires=%d+&sig=(%x+)$")
  if id and #id == 32 and #sig == 64 then
    links_ok = links_ok + 1
    if links_out then table.insert(links, link) end
  else
    links_bad = links_bad + 1
  end
end

function done(summary, latency, requests)
  local total, sums, all_links = {}, { links_ok = 0, links_bad = 0, bodies_ok = 0, bodies_bad = 0 }, {}
  for _, thread in ipairs(threads) do
    for status, c in pairs(thread:get("counts") or {}) do
      total[status] = (total[status] or 0) + c
    end
    for k in pairs(sums) do sums[k] = sums[k] + (thread:get(k) or 0) end
    for _, link in ipairs(thread:get("links") or {}) do table.insert(all_links, link) end
  end
  if links_out then
    local f = assert(io.open(links_out, "w"))
    f:write(table.concat(all_links, "\n"), "\n")
    f:close()
  end
  local statuses = {}
  for status, c in pairs(total) do table.insert(statuses, string.format("%d:%d", status, c)) end
  table.sort(statuses)
  local links_total = 0
  if links_in then links_total = #read_lines(links_in) end
  local e = summary.errors
  io.write(string.format(
    "WRK rps=%.0f calls=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f socket_errors=%d statuses=%s links_ok=%d links_bad=%d bodies_ok=%d bodies_bad=%d links_total=%d bytes=%d\n",
    summary.requests / (summary.duration / 1e6), summary.requests,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect + e.read + e.write + e.timeout, table.concat(statuses, ","),
    sums.links_ok, sums.links_bad, sums.bodies_ok, sums.bodies_bad, links_total, summary.bytes))
end
