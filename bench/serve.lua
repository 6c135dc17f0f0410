-- wrk script for bench/serve and bench/scale: GET paths from a file, report JSON.
--
-- Usage (bench/serve and bench/scale build this command line):
--   wrk -t T -c C -d Ds --timeout 10s -s bench/serve.lua http://HOST:PORT -- PATHS_FILE ACCEPT [walk T]
--
-- PATHS_FILE holds one request path per line (already percent-encoded). By default every
-- request picks one at random, so a run spreads over the whole catalogue instead of
-- hitting one cached document. With ``walk T`` (T = wrk's thread count) the paths are
-- walked in file order without repeats instead: thread i takes the i-th of T equal
-- slices, and its connections take the slice's paths one after the other, so each path
-- is asked once (a cold run: every request its page's first); a thread that comes to
-- the end of its slice starts it again and counts every further request in "repeats".
-- ACCEPT is sent as the Accept header of every request.
--
-- wrk counts only statuses >= 400 as errors, so the response() hook counts every
-- non-2xx status itself (and which ones). done() prints one line
--   BENCH_JSON {...}
-- on stdout, which bench/serve parses; wrk's own summary is printed too, for humans.

local threads = {}
local next_id = 0

-- Runs in the main Lua state once per thread, before init().
function setup(thread)
   next_id = next_id + 1
   thread:set("thread_id", next_id)
   table.insert(threads, thread)
end

-- Runs in each thread's own Lua state.
function init(args)
   local file = assert(io.open(args[1], "r"), "cannot open the paths file " .. tostring(args[1]))
   paths = {}
   for line in file:lines() do
      if line ~= "" then
         paths[#paths + 1] = line
      end
   end
   file:close()
   assert(#paths > 0, "the paths file is empty")
   count = #paths
   headers = { Accept = args[2] or "*/*" }
   -- Each thread gets its own seed, so threads do not replay the same sequence.
   math.randomseed(os.time() * 1000 + (thread_id or 0) * 7919)
   non2xx = 0
   statuses = ""
   seen = {}
   repeats = 0
   walk = args[3] == "walk"
   if walk then
      local slices = tonumber(args[4]) or 1
      local size = math.floor(count / slices)
      if size < 1 then
         first, last = 1, count
      else
         first = ((thread_id or 1) - 1) * size + 1
         last = first + size - 1
      end
      cursor = first - 1
   end
end

function request()
   if walk then
      cursor = cursor + 1
      if cursor > last then
         cursor = first
         repeats = repeats + 1
      elseif repeats > 0 then
         repeats = repeats + 1
      end
      return wrk.format("GET", paths[cursor], headers)
   end
   return wrk.format("GET", paths[math.random(count)], headers)
end

function response(status, response_headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
      local key = tostring(status)
      seen[key] = (seen[key] or 0) + 1
      -- thread:get copies plain values reliably; keep the histogram as "status=count,...".
      local parts = {}
      for code, n in pairs(seen) do
         parts[#parts + 1] = code .. "=" .. n
      end
      statuses = table.concat(parts, ",")
   end
end

function done(summary, latency, requests)
   local non2xx_total = 0
   local repeats_total = 0
   local status_parts = {}
   for _, thread in ipairs(threads) do
      non2xx_total = non2xx_total + (thread:get("non2xx") or 0)
      repeats_total = repeats_total + (thread:get("repeats") or 0)
      local s = thread:get("statuses")
      if s and s ~= "" then
         status_parts[#status_parts + 1] = s
      end
   end
   local errors = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"p50_us":%d,"p90_us":%d,"p95_us":%d,"p99_us":%d,"p999_us":%d,"mean_us":%.1f,"max_us":%d,' ..
      '"non2xx":%d,"statuses":"%s","connect_errors":%d,"read_errors":%d,' ..
      '"write_errors":%d,"status_errors":%d,"timeouts":%d,"repeats":%d}\n',
      summary.requests, summary.duration, summary.bytes,
      latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
      latency:percentile(99.9), latency.mean, latency.max,
      non2xx_total, table.concat(status_parts, ","), errors.connect, errors.read,
      errors.write, errors.status, errors.timeout, repeats_total))
end
