-- wrk script of the hook benchmark (tests/benchmarks/wrk.py): each request carries a client JWT used once,
-- and every answer is checked. Arguments (after "--"):
--   1 tokens file (one JWT per line, or "-" for none), 2 body file (or "-" for a GET), 3 number of wrk
--   threads, 4 run number, 5 card topic every 200 answer must carry (or "-"), 6 and 7 the topic codes of the
--   data-unavailable and analysis-pending cards (counted when an answer carries them).
-- Thread k takes the tokens on lines k, k + n, k + 2n, ... so that no token is sent twice. A thread that
-- runs out stops and counts it ("exhausted"); the harness then fails the row rather than replay a token.
-- Every "@HOOK_INSTANCE@" of the body is replaced by a UUID unique per request (the hookInstance, and in the
-- distinct-prefetch row also a field of a prefetched resource). done() prints one line,
-- "BENCH_JSON {...}", with the counts, statuses and latency percentiles (microseconds).

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("thread_id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

counts = { ok = 0, non200 = 0, unavailable = 0, pending = 0, unexpected = 0, exhausted = 0, sent = 0 }
statuses = {}

local tokens, n_tokens, used = {}, 0, 0
local with_tokens = false
local head, pieces = nil, nil
local run, sequence = 0, 0
local expect = nil
local unavailable_topic, pending_topic = nil, nil

local function read_file(path)
   local file = assert(io.open(path, "rb"))
   local text = file:read("*a")
   file:close()
   return text
end

function init(args)
   local n_threads = tonumber(args[3])
   run = tonumber(args[4])
   if args[5] ~= "-" then
      expect = '"' .. args[5] .. '"'
   end
   unavailable_topic = '"' .. args[6] .. '"'
   pending_topic = '"' .. args[7] .. '"'
   if args[1] ~= "-" then
      with_tokens = true
      local line_no = 0
      for line in io.lines(args[1]) do
         if line_no % n_threads == thread_id then
            n_tokens = n_tokens + 1
            tokens[n_tokens] = line
         end
         line_no = line_no + 1
      end
   end
   if args[2] ~= "-" then
      local body = read_file(args[2])
      pieces = {}
      local start = 1
      while true do
         local first, last = body:find("@HOOK_INSTANCE@", start, true)
         if first == nil then
            break
         end
         table.insert(pieces, body:sub(start, first - 1))
         start = last + 1
      end
      table.insert(pieces, body:sub(start))
      head = pieces[1]
   end
end

function request()
   local headers = {}
   if with_tokens then
      used = used + 1
      if used > n_tokens then
         counts.exhausted = counts.exhausted + 1
         wrk.thread:stop()
         return wrk.format("GET", "/healthz", {})
      end
      headers["Authorization"] = "Bearer " .. tokens[used]
   end
   counts.sent = counts.sent + 1
   if head == nil then
      return wrk.format("GET", nil, headers)
   end
   sequence = sequence + 1
   headers["Content-Type"] = "application/json"
   local instance = string.format("%08x-%04x-4000-8000-%012x", run, thread_id, sequence)
   return wrk.format("POST", nil, headers, table.concat(pieces, instance))
end

function response(status, headers, body)
   if counts.exhausted > 0 then
      return
   end
   if status ~= 200 then
      counts.non200 = counts.non200 + 1
      local key = tostring(status)
      statuses[key] = (statuses[key] or 0) + 1
      return
   end
   counts.ok = counts.ok + 1
   if body:find(unavailable_topic, 1, true) then
      counts.unavailable = counts.unavailable + 1
   end
   if body:find(pending_topic, 1, true) then
      counts.pending = counts.pending + 1
   end
   if expect ~= nil and not body:find(expect, 1, true) then
      counts.unexpected = counts.unexpected + 1
   end
end

function done(summary, latency, requests)
   local totals, codes = {}, {}
   for _, thread in ipairs(threads) do
      for name, value in pairs(thread:get("counts")) do
         totals[name] = (totals[name] or 0) + value
      end
      for code, value in pairs(thread:get("statuses")) do
         codes[code] = (codes[code] or 0) + value
      end
   end
   local parts = {}
   for name, value in pairs(totals) do
      table.insert(parts, string.format('"%s": %d', name, value))
   end
   local status_parts = {}
   for code, value in pairs(codes) do
      table.insert(status_parts, string.format('"%s": %d', code, value))
   end
   local errors = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "counts": {%s}, "statuses": {%s}, '
         .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
         .. '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
      summary.requests, summary.duration, table.concat(parts, ", "), table.concat(status_parts, ", "),
      errors.connect, errors.read, errors.write, errors.status, errors.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
