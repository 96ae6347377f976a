-- wrk script for bench/http_bench.py: one thread (wrk -t1), requests prepared before the clock
-- starts, so wrk spends its time on sockets, not on building requests.
--
-- Arguments (after wrk's `--`): MODE FILE EXPECT
--   MODE  "clients": every request is the one body in FILE from a new client address
--                    (X-Forwarded-For 10.a.b.c, as one trusted proxy would add it);
--         "each":    FILE holds one request per line, "header-value<TAB>body"; each is sent once,
--                    and the thread stops when they run out;
--         "cycle":   the same lines, sent round and round.
--   FILE  the body, or the requests, as above.
--   EXPECT text every 200 answer must contain ("-" for none).
-- The header each line's value goes in, the path and the other headers come from wrk.* (set in
-- init from environment variables, see http_bench.py).
--
-- done() prints one JSON line: requests, seconds, non-200 and unexpected answers, latency
-- percentiles in microseconds.

local mode, requests, index, expect = nil, {}, 0, nil
local before, after, first_client, exhausted = nil, nil, 0, false
bad_status, unexpected = 0, 0 -- globals: done() reads them from the thread with thread:get
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

function init(args)
  mode, expect = args[1], args[3]
  if expect == "-" then expect = nil end
  local path = os.getenv("BENCH_PATH")
  local header = os.getenv("BENCH_HEADER")
  local headers = {}
  for name, value in string.gmatch(os.getenv("BENCH_HEADERS") or "", "([^=;]+)=([^;]*)") do
    headers[name] = value
  end
  if mode == "clients" then
    -- One request with a marker where the address goes, cut in two around it; each request is
    -- the two halves around a new address. BENCH_FIRST_CLIENT keeps runs apart.
    headers["X-Forwarded-For"] = "@CLIENT@"
    local whole = wrk.format("POST", path, headers, read(args[2]))
    local at = string.find(whole, "@CLIENT@", 1, true)
    before, after = string.sub(whole, 1, at - 1), string.sub(whole, at + 8)
    first_client = tonumber(os.getenv("BENCH_FIRST_CLIENT") or "0")
  else
    for line in string.gmatch(read(args[2]), "[^\n]+") do
      local value, body = string.match(line, "^([^\t]*)\t(.*)$")
      headers[header] = value
      requests[#requests + 1] = wrk.format("POST", path, headers, body)
    end
  end
end

function request()
  index = index + 1
  if mode == "clients" then
    local i = first_client + index -- 10.0.0.0/8: 2^24 distinct clients
    return before .. string.format("10.%d.%d.%d", math.floor(i / 65536) % 256,
      math.floor(i / 256) % 256, i % 256) .. after
  end
  if index > #requests then
    if mode == "each" then
      exhausted = true -- answers from here on are not counted: the clock has stopped
      wrk.thread:stop()
      index = #requests
    else
      index = 1
    end
  end
  return requests[index]
end

function response(status, headers, body)
  if exhausted then return end
  if status ~= 200 then
    bad_status = bad_status + 1
  elseif expect and not string.find(body, expect, 1, true) then
    unexpected = unexpected + 1
    if unexpected <= 3 then io.stderr:write("unexpected answer: ", body, " wanted ", tostring(expect), "\n") end
  end
end

function done(summary, latency, _)
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "bad_status": %d, "unexpected": %d, "socket_errors": %d,'
      .. ' "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration / 1e6, threads[1]:get("bad_status"),
    threads[1]:get("unexpected"),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
